# tests/integration/asyncio_close_detection.py: what asyncio does when a peer resets or closes
# while the client handler awaits something else, and when a waiting drain meets a clean close.
# Prints one "scenario.key=value" line per outcome; continuous_read_test.cpp runs the same
# scenarios on costream and compares line by line.
# SPDX-License-Identifier: BSL-1.0
import asyncio
import socket
import struct

LIMIT = 64 * 1024

async def scenario_reset():
    out = {}
    done = asyncio.Event()
    async def handler(reader, writer):
        await asyncio.sleep(0.15)  # the handler awaits a timer, never its socket
        out['is_closing'] = writer.is_closing()
        try:
            await asyncio.wait_for(writer.wait_closed(), 0.001)
            out['wait_closed'] = 'completed'
        except asyncio.TimeoutError:
            out['wait_closed'] = 'timeout'
        except ConnectionResetError:
            out['wait_closed'] = 'connection_reset'
        try:
            d = await reader.read(100)
            out['read'] = 'data' if d else 'end'
        except ConnectionResetError:
            out['read'] = 'connection_reset'
        try:
            writer.write(b'x')
            await writer.drain()
            out['drain'] = 'ok'
        except ConnectionResetError:
            out['drain'] = 'connection_reset'
        done.set()
    srv = await asyncio.start_server(handler, '127.0.0.1', 0)
    port = srv.sockets[0].getsockname()[1]
    s = socket.create_connection(('127.0.0.1', port))
    await asyncio.sleep(0.05)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
    await asyncio.wait_for(done.wait(), 5)
    srv.close()
    return out

async def scenario_fin():
    out = {}
    done = asyncio.Event()
    async def handler(reader, writer):
        await asyncio.sleep(0.15)
        out['at_eof'] = reader.at_eof()
        out['is_closing'] = writer.is_closing()
        try:
            await asyncio.wait_for(writer.wait_closed(), 0.05)
            out['wait_closed'] = 'completed'
        except asyncio.TimeoutError:
            out['wait_closed'] = 'timeout'
        writer.write(b'still writable\n')
        await writer.drain()
        out['read'] = 'data' if await reader.read(100) else 'end'
        done.set()
        writer.close()
    srv = await asyncio.start_server(handler, '127.0.0.1', 0)
    port = srv.sockets[0].getsockname()[1]
    s = socket.create_connection(('127.0.0.1', port))
    await asyncio.sleep(0.05)
    s.shutdown(socket.SHUT_WR)
    await asyncio.wait_for(done.wait(), 5)
    s.settimeout(2)
    out['peer_got'] = s.recv(100).decode().strip()
    s.close()
    srv.close()
    return out

async def scenario_drain_clean_close():
    out = {}
    done = asyncio.Event()
    async def handler(reader, writer):
        writer.transport.set_write_buffer_limits(high=1024)
        writer.write(b'x' * (8 * 1024 * 1024))
        async def aborter():
            await asyncio.sleep(0.1)
            writer.transport.abort()  # connection_lost(None) while drain waits
        asyncio.ensure_future(aborter())
        try:
            await writer.drain()
            out['waiting_drain_after_abort'] = 'returned'
        except ConnectionResetError:
            out['waiting_drain_after_abort'] = 'connection_reset'
        try:
            await writer.drain()
            out['drain_after_loss'] = 'returned'
        except ConnectionResetError:
            out['drain_after_loss'] = 'connection_reset'
        done.set()
    srv = await asyncio.start_server(handler, '127.0.0.1', 0)
    port = srv.sockets[0].getsockname()[1]
    s = socket.create_connection(('127.0.0.1', port))  # never reads
    await asyncio.wait_for(done.wait(), 5)
    s.close(); srv.close()
    return out

async def main():
    res = {}
    res['reset'] = await scenario_reset()
    res['fin'] = await scenario_fin()
    res['drain'] = await scenario_drain_clean_close()
    for scenario, outcomes in res.items():
        for key, value in outcomes.items():
            print(f"{scenario}.{key}={str(value).lower()}")

asyncio.run(main())
