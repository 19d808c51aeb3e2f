#!/usr/bin/env python3
# tests/integration/asyncio_peer.py: a Python asyncio peer for python_interop_test.cpp (standard library only).
# SPDX-License-Identifier: BSL-1.0
"""A small line-and-blob protocol spoken over asyncio streams.

    asyncio_peer.py server PORT   listen on 127.0.0.1:PORT (0: any free port), print the
                                  port as the first line of stdout, serve one client,
                                  print a summary line and exit (after 20 s at the latest)
    asyncio_peer.py client PORT   connect to 127.0.0.1:PORT, run the script below, print
                                  "OK ..." or "FAIL ..." and exit 0 or 1

The protocol (the C++ side of the test implements it too):
    "LINE <text>\\n"          -> "echo: <text>\\n"
    "BLOB <n>\\n" + n bytes   -> "BLOB <n>\\n" + the n bytes reversed   (read with readexactly)
    "QUIT\\n"                 -> "BYE <lines> <blobs>\\n"; the client then half-closes and the
                               server reads to end of stream and closes
A blob of n bytes is pattern(n, n % 256), so each side checks what it receives.
"""

import asyncio
import sys

TIMEOUT = 20.0
HOST = "127.0.0.1"
TEXTS = [b"hello", "h\u00e9llo w\u00f6rld".encode("utf-8"), b"x" * 10000]
BLOB_SIZES = [0, 1, 1000, 100000, 1048576]
PIPELINED = [b"p%d" % i for i in range(5)]
EXPECTED_LINES = len(TEXTS) + len(PIPELINED)
EXPECTED_BLOBS = len(BLOB_SIZES)


def pattern(n, seed):
    """The same bytes as costream::test::pattern(n, seed)."""
    return bytes((i * 7 + 3 + seed) % 256 for i in range(n))


class ProtocolError(Exception):
    pass


def expect(what, got, wanted):
    if got != wanted:
        shown = got if len(got) < 80 else got[:80] + b"..."
        raise ProtocolError("%s: got %r (%d bytes)" % (what, shown, len(got)))


async def serve_protocol(reader, writer):
    lines = blobs = 0
    while True:
        header = await reader.readline()
        if not header:
            return "FAIL end of stream before QUIT (lines=%d blobs=%d)" % (lines, blobs)
        command, _, argument = header.rstrip(b"\n").partition(b" ")
        if command == b"LINE":
            writer.write(b"echo: " + argument + b"\n")
            lines += 1
        elif command == b"BLOB":
            n = int(argument)
            data = await reader.readexactly(n)
            if data != pattern(n, n % 256):
                return "FAIL blob of %d bytes arrived damaged" % n
            writer.write(b"BLOB %d\n" % n + data[::-1])
            blobs += 1
        elif command == b"QUIT":
            writer.write(b"BYE %d %d\n" % (lines, blobs))
            await writer.drain()
            rest = await reader.read()
            return "SERVED lines=%d blobs=%d eof=%s" % (lines, blobs, rest == b"")
        else:
            return "FAIL unknown command %r" % header
        await writer.drain()


async def run_server(port):
    done = asyncio.get_running_loop().create_future()

    async def handle(reader, writer):
        try:
            result = await serve_protocol(reader, writer)
        except Exception as e:  # reported on stdout, checked by the C++ test
            result = "FAIL %r" % (e,)
        writer.close()
        try:
            await writer.wait_closed()
        except Exception:
            pass
        if not done.done():
            done.set_result(result)

    server = await asyncio.start_server(handle, HOST, port)
    print(server.sockets[0].getsockname()[1], flush=True)
    try:
        result = await asyncio.wait_for(done, TIMEOUT)
    except asyncio.TimeoutError:
        print("TIMEOUT", flush=True)
        return 2
    finally:
        server.close()
        await server.wait_closed()
    print(result, flush=True)
    return 0 if result.startswith("SERVED") else 1


async def client_script(port):
    reader, writer = await asyncio.open_connection(HOST, port)
    for text in TEXTS:
        writer.write(b"LINE " + text + b"\n")
        await writer.drain()
        expect("LINE reply", await reader.readline(), b"echo: " + text + b"\n")
    for n in BLOB_SIZES:
        payload = pattern(n, n % 256)
        writer.write(b"BLOB %d\n" % n + payload)
        await writer.drain()
        expect("BLOB header", await reader.readline(), b"BLOB %d\n" % n)
        expect("BLOB %d payload" % n, await reader.readexactly(n), payload[::-1])
    writer.writelines([b"LINE " + p + b"\n" for p in PIPELINED])
    await writer.drain()
    for p in PIPELINED:
        expect("pipelined reply", await reader.readline(), b"echo: " + p + b"\n")
    writer.write(b"QUIT\n")
    expect("BYE", await reader.readline(), b"BYE %d %d\n" % (EXPECTED_LINES, EXPECTED_BLOBS))
    writer.write_eof()
    expect("end of stream", await reader.read(), b"")
    writer.close()
    await writer.wait_closed()
    return "OK lines=%d blobs=%d" % (EXPECTED_LINES, EXPECTED_BLOBS)


async def run_client(port):
    try:
        result = await asyncio.wait_for(client_script(port), TIMEOUT)
    except asyncio.TimeoutError:
        result = "FAIL timeout"
    except Exception as e:
        result = "FAIL %r" % (e,)
    print(result, flush=True)
    return 0 if result.startswith("OK") else 1


def main(argv):
    if len(argv) != 3 or argv[1] not in ("server", "client"):
        print("usage: asyncio_peer.py server|client PORT", file=sys.stderr)
        return 64
    port = int(argv[2])
    run = run_server if argv[1] == "server" else run_client
    return asyncio.run(run(port))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
