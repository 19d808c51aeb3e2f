# tests/integration/tls_peer.py: a Python asyncio TLS peer (stdlib only) for tls_test.cpp.
# SPDX-License-Identifier: BSL-1.0
#
#   tls_peer.py server CERT KEY           serve one connection on 127.0.0.1 (port printed first):
#                                         answer each line with "py:" + line until end of stream
#   tls_peer.py client PORT CA HOSTNAME   connect, verify, send "ping\n", print the reply, close
#   tls_peer.py starttls CERT KEY         plain server: on "STARTTLS\n" answer "GO\n", upgrade,
#                                         then answer one line with "py-tls:" + line
# Every mode gives up after 20 seconds.
import asyncio
import ssl
import sys


def server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve_one(handler, ssl_context):
    done = asyncio.get_running_loop().create_future()

    async def on_client(reader, writer):
        try:
            await handler(reader, writer)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, ssl.SSLError):
                pass
            if not done.done():
                done.set_result(None)

    server = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=ssl_context)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await done


async def echo(reader, writer):
    while line := await reader.readline():
        writer.write(b"py:" + line)
        await writer.drain()


async def client(port, ca, hostname):
    ctx = ssl.create_default_context(cafile=ca)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=hostname)
    writer.write(b"ping\n")
    await writer.drain()
    reply = await reader.readline()
    print(reply.decode(), end="", flush=True)
    writer.close()
    await writer.wait_closed()
    print("closed", flush=True)


async def starttls(cert, key):
    async def upgrade(reader, writer):
        line = await reader.readline()
        if line != b"STARTTLS\n":
            return
        writer.write(b"GO\n")
        await writer.drain()
        await writer.start_tls(server_context(cert, key))
        line = await reader.readline()
        writer.write(b"py-tls:" + line)
        await writer.drain()

    await serve_one(upgrade, None)


async def main():
    mode = sys.argv[1]
    if mode == "server":
        await serve_one(echo, server_context(sys.argv[2], sys.argv[3]))
    elif mode == "client":
        await client(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif mode == "starttls":
        await starttls(sys.argv[2], sys.argv[3])


asyncio.run(asyncio.wait_for(main(), 20))
