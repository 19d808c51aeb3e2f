#!/usr/bin/env python3
# examples/test/line_server.py: a Python asyncio server for one client, to test netcat against.
# SPDX-License-Identifier: BSL-1.0
#
# Prints "listening on 127.0.0.1:PORT" first. To its one client it sends a greeting, answers
# each line upper-cased, and after the client's end of stream (a half-close) still sends "bye"
# before closing: a client that half-closes must go on reading. Then prints what it received
# and exits 0; exits 1 if no client came within 20 s or the client misbehaved.
import asyncio
import sys


async def main():
    done = asyncio.get_running_loop().create_future()

    async def serve(reader, writer):
        lines = []
        try:
            writer.write(b"hello from python\n")
            while line := await asyncio.wait_for(reader.readline(), 10):
                lines.append(line)
                writer.write(line.upper())
                await writer.drain()
            writer.write(b"bye\n")  # after the client's half-close: it must still get this
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        except Exception as e:  # report anything, then fail
            print(f"line_server: {type(e).__name__}: {e}", flush=True)
        if not done.done():
            done.set_result(lines)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        lines = await asyncio.wait_for(done, 20)
    except asyncio.TimeoutError:
        print("line_server: no client within 20 s", flush=True)
        return 1
    finally:
        server.close()
    print(f"line_server received {lines!r}, then end of stream", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
