#!/usr/bin/env python3
# examples/test/push_clients.py: drive examples/push_server.cpp with Python asyncio subscribers.
# SPDX-License-Identifier: BSL-1.0
#
#   push_clients.py PUSH_SERVER_BINARY
#
# Starts the server (publishing every 5 ms) on a free loopback port, keeps it by its process
# (pid), and connects SUBSCRIBERS subscribers. Then, one at a time, some of them leave: half-
# close (FIN; one of them sends a line first, which the server must ignore) or reset (SO_LINGER
# 0, then close: RST). Checks:
#  - the server logs each one gone, as closed or reset as it was, at most 100 ms after it left
#    (the log's time is the steady clock, CLOCK_MONOTONIC, the same clock as time.monotonic());
#  - nobody else is reported gone; a half-closed subscriber gets exactly the messages the server
#    says it sent it, then end of stream: nothing is sent to it once it is noticed;
#  - after SIGTERM, every remaining subscriber has received every message from the one the
#    server subscribed it at to the last one published, in order, with no gap, then end of
#    stream; the server exits 0, having printed "closed" and nothing on stderr.
# Every wait is bounded; exits 0 when every check passed.
import asyncio
import re
import signal
import socket
import struct
import sys
import time

HOST = "127.0.0.1"
SUBSCRIBERS = 8
LEAVERS = [(1, "fin"), (2, "rst"), (4, "fin+data"), (5, "rst"), (7, "fin")]  # (index, how)
NOTICE_WITHIN = 0.100  # seconds
STEP = 10  # seconds any single wait may take


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what)


class Server:
    def __init__(self):
        self.lines = []
        self.changed = asyncio.Event()

    async def start(self, binary):
        self.proc = await asyncio.create_subprocess_exec(
            binary, "0", "5", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        first = (await asyncio.wait_for(self.proc.stdout.readline(), STEP)).decode()
        m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", first)
        if not m:
            raise AssertionError(f"push_server did not report its port: {first!r}")
        self.port = int(m.group(1))
        print(f"push_server (pid {self.proc.pid}) listening on port {self.port}")
        self.stderr = asyncio.ensure_future(self.proc.stderr.read())
        self.reading = asyncio.ensure_future(self._read())

    async def _read(self):
        while line := (await self.proc.stdout.readline()).decode():
            self.lines.append(line.rstrip("\n"))
            self.changed.set()

    async def wait_for_line(self, pattern, what):
        """The first log line matching pattern (a regular expression), waited for."""
        deadline = time.monotonic() + STEP
        while True:
            for line in self.lines:
                if m := re.search(pattern, line):
                    return m
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())
            except asyncio.TimeoutError:
                raise AssertionError(f"the server did not log {what} within {STEP} s") from None


class Subscriber:
    async def connect(self, port):
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), STEP)
        self.name = "%s:%d" % self.writer.get_extra_info("sockname")[:2]
        self.first = self.last = None  # numbers of the first and last message received
        self.received = 0
        self.got_message = asyncio.Event()
        self.receiving = asyncio.ensure_future(self._receive())

    async def _receive(self):
        """Reads to end of stream, checking that the messages come in order, with no gap."""
        while line := (await self.reader.readline()).decode():
            m = re.fullmatch(r"message (\d+)\n", line)
            if not m:
                raise AssertionError(f"{self.name}: unexpected line {line!r}")
            n = int(m.group(1))
            if self.last is not None and n != self.last + 1:
                raise AssertionError(f"{self.name}: message {n} after message {self.last}")
            if self.first is None:
                self.first = n
            self.last, self.received = n, self.received + 1
            self.got_message.set()

    def leave(self, how):
        """Leaves as `how` says; returns the time it did, on the server's clock."""
        if how == "fin+data":
            self.writer.write(b"a subscriber's line, which the server ignores\n")
        if how.startswith("fin"):
            # shutdown(SHUT_WR), not close(): Linux answers the close() of a socket with unread
            # input with a RST, and messages keep arriving. We close once the server has.
            left = time.monotonic()
            self.writer.write_eof()  # shutdown(SHUT_WR) at once: a FIN; we go on reading
        else:
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if self.receiving.done():
                self.receiving.result()  # what it found wrong so far, if anything
            self.receiving.cancel()
            left = time.monotonic()
            self.writer.transport.abort()  # closes the socket with linger 0: a RST
        return left


async def main(binary):
    server = Server()
    await server.start(binary)
    try:
        await run(server)
    finally:
        if server.proc.returncode is None:
            server.proc.kill()  # by its pid: a failed check left it running
            await server.proc.wait()


async def run(server):
    subs = [Subscriber() for _ in range(SUBSCRIBERS)]
    for s in subs:
        await s.connect(server.port)
    start = {}
    for s in subs:
        m = await server.wait_for_line(rf"\] {re.escape(s.name)} subscribed, from message (\d+)$", f"{s.name} subscribed")
        start[s.name] = int(m.group(1))
        await asyncio.wait_for(s.got_message.wait(), STEP)
    check(all(s.first == start[s.name] for s in subs),
          f"{SUBSCRIBERS} subscribers, each receiving from the message the server subscribed it at")

    for index, how in LEAVERS:
        await asyncio.sleep(0.05)
        s = subs[index]
        left = s.leave(how)
        kind = "reset" if how == "rst" else r"closed \(end of stream\)"
        m = await server.wait_for_line(
            rf"^\[([0-9.]+)\] {re.escape(s.name)} gone: {kind}.*, after (\d+) messages$", f"{s.name} gone ({how})")
        delay = float(m.group(1)) - left
        check(-0.001 <= delay <= NOTICE_WITHIN,
              f"{s.name} ({how}) was noticed gone after {delay * 1000:.1f} ms (at most {NOTICE_WITHIN * 1000:.0f})")
        if how.startswith("fin"):
            await asyncio.wait_for(s.receiving, STEP)  # the server closes its side: end of stream
            check(s.received == int(m.group(2)),
                  f"{s.name} received the {s.received} messages the server says it sent, then end of stream")
            s.writer.close()

    await asyncio.sleep(0.2)
    left_names = {subs[i].name for i, _ in LEAVERS}
    wrongly_gone = [line for line in server.lines if " gone: " in line and line.split()[1] not in left_names]
    check(not wrongly_gone, f"no other subscriber was reported gone {wrongly_gone}")

    server.proc.send_signal(signal.SIGTERM)
    status = await asyncio.wait_for(server.proc.wait(), STEP)
    await asyncio.wait_for(server.reading, STEP)
    m = await server.wait_for_line(r"\] published (\d+) messages$", "how many messages it published")
    published = int(m.group(1))
    stayed = [s for i, s in enumerate(subs) if i not in dict(LEAVERS)]
    await asyncio.wait_for(asyncio.gather(*(s.receiving for s in stayed)), STEP)
    for s in stayed:
        s.writer.close()
        check(s.last == published - 1 and s.received == published - start[s.name],
              f"{s.name} received messages {start[s.name]} to {published - 1} in order, no gap, then end of stream")
    stderr = (await asyncio.wait_for(server.stderr, STEP)).decode()
    check(status == 0 and server.lines[-1] == "closed" and not stderr,
          f"push_server exited 0 on SIGTERM, having printed 'closed' and nothing on stderr {stderr!r}")


if __name__ == "__main__":
    try:
        asyncio.run(asyncio.wait_for(main(sys.argv[1]), 60))
    except (AssertionError, asyncio.TimeoutError, OSError) as e:
        print(f"FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
    print("push_server example: ok")
