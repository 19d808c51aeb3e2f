#!/usr/bin/env python3
# examples/test/chat_clients.py: drive examples/chat_server.cpp with Python asyncio clients.
# SPDX-License-Identifier: BSL-1.0
#
#   chat_clients.py PORT SERVER_PID
#
# Three fast clients each send ROUNDS x LINES lines of about 1 KiB and check that they receive
# every line of the other two, in order, with the right sender prefix, and none of their own.
# A fourth, slow client connects and never reads while the others send several MiB in total:
# the server must disconnect it (it sees end of stream; the others get "* <it> left (too
# slow)") without slowing the fast ones. Last, SIGTERM to the server: every fast client gets the shutdown
# notice, then end of stream. Every wait is bounded; exits 0 when every check passed.
import asyncio
import os
import signal
import sys
import time

HOST = "127.0.0.1"
FAST = ["alice", "bob", "carol"]
LINES = 64         # lines of about 1 KiB per client per round
PAYLOAD = "x" * 1000
STEP = 10          # seconds any single wait may take


def rounds():
    """Enough rounds that the slow client's share overflows the server's bound (1 MiB) on top
    of what the kernel holds for it: mostly the server's send buffer, which Linux lets grow to
    tcp_wmem's maximum (4 MiB by default). 48 rounds (about 9 MiB in all) at least."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            wmem_max = int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        wmem_max = 4 << 20
    per_round = len(FAST) * LINES * (len(PAYLOAD) + 30)
    return max(48, -(-(wmem_max + (4 << 20)) // per_round))


ROUNDS = rounds()


def check(condition, what):
    if not condition:
        raise AssertionError(what)


class FastClient:
    def __init__(self, ident):
        self.ident = ident
        self.counts = {other: 0 for other in FAST}
        self.notices = []
        self.eof = False
        self.error = None  # what receive() found wrong; every wait reports it
        self.changed = asyncio.Condition()

    async def connect(self, port):
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), STEP)
        self.name = "%s:%d" % self.writer.get_extra_info("sockname")[:2]

    async def receive(self, names):
        try:
            await self._receive(names)
        except (AssertionError, asyncio.TimeoutError, OSError) as e:
            self.error = e
        self.eof = True
        async with self.changed:
            self.changed.notify_all()

    async def _receive(self, names):
        """Reads until end of stream, checking every chat line as it arrives."""
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), 3 * STEP)).decode()
            if not line:
                break
            if line.startswith("* "):
                self.notices.append(line)
            else:
                check(line.startswith("[") and "] " in line, f"{self.ident}: malformed line {line[:60]!r}")
                prefix, text = line[1:].split("] ", 1)
                sender, seq, payload = text.split(" ")
                check(sender != self.ident, f"{self.ident} received its own line {text[:40]!r}")
                check(prefix == names[sender], f"{self.ident}: {sender}'s line prefixed {prefix}")
                check(int(seq) == self.counts[sender], f"{self.ident}: {sender}'s line {seq} out of order")
                check(payload == PAYLOAD + "\n", f"{self.ident}: {sender}'s line {seq} damaged")
                self.counts[sender] += 1
            async with self.changed:
                self.changed.notify_all()

    async def wait_until(self, predicate, what):
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.error or predicate()), STEP)
            except asyncio.TimeoutError:
                raise AssertionError(f"{self.ident}: no {what} within {STEP} s") from None
        if self.error:
            raise self.error

    async def send(self):
        """Sends LINES lines per round, then waits for the others' lines of that round: a
        client that keeps up with the room, as a well-behaved fast reader does."""
        others = [o for o in FAST if o != self.ident]
        for r in range(ROUNDS):
            for i in range(r * LINES, (r + 1) * LINES):
                self.writer.write(f"{self.ident} {i} {PAYLOAD}\n".encode())
            await asyncio.wait_for(self.writer.drain(), STEP)
            target = (r + 1) * LINES
            await self.wait_until(lambda: all(self.counts[o] >= target for o in others), f"round {r} of the others")


async def main(port, server_pid):
    fast = [FastClient(ident) for ident in FAST]
    for c in fast:
        await c.connect(port)
    names = {c.ident: c.name for c in fast}
    receivers = [asyncio.ensure_future(c.receive(names)) for c in fast]
    slow_reader, slow_writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), STEP)
    slow_name = "%s:%d" % slow_writer.get_extra_info("sockname")[:2]

    # Everyone is in the room once the first client has seen the others join.
    joined = [f"* {n} joined\n" for n in [c.name for c in fast[1:]] + [slow_name]]
    await fast[0].wait_until(lambda: all(j in fast[0].notices for j in joined), "join notices")
    print(f"ok: {len(fast)} fast clients and a slow one ({slow_name}) joined")

    start = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(c.send() for c in fast)), 3 * STEP)
    total = ROUNDS * LINES * (len(PAYLOAD) + 30) * len(fast)
    print(f"ok: each fast client received all {2 * ROUNDS * LINES} lines of the other two, in order, "
          f"none of its own ({total / 2**20:.1f} MiB for the slow client, {time.monotonic() - start:.1f} s)")

    left = f"* {slow_name} left (too slow)\n"
    for c in fast:
        await c.wait_until(lambda c=c: left in c.notices, "notice that the slow client left")
    print(f"ok: every fast client was told {left.strip()!r}")

    # The slow client finally reads: what the kernel had accepted for it, then end of stream.
    received = lines = 0
    try:
        while data := await asyncio.wait_for(slow_reader.read(1 << 20), STEP):
            received += len(data)
            lines += data.count(b"\n")
    except ConnectionResetError:
        pass
    sent = ROUNDS * LINES * len(fast)
    check(lines < sent, f"the slow client received all {sent} lines")
    print(f"ok: the slow client was disconnected; it had received {lines} of {sent} lines "
          f"({received / 2**20:.1f} MiB), then end of stream")
    slow_writer.close()

    # Graceful shutdown: SIGTERM, then every fast client hears about it and sees end of stream.
    os.kill(server_pid, signal.SIGTERM)
    for c in fast:
        await c.wait_until(lambda c=c: c.eof, "end of stream after SIGTERM")
        check("* server shutting down\n" in c.notices, f"{c.ident}: no shutdown notice")
    await asyncio.wait_for(asyncio.gather(*receivers), STEP)
    for c in fast:
        c.writer.close()
    print("ok: after SIGTERM every fast client got the shutdown notice, then end of stream")


if __name__ == "__main__":
    try:
        asyncio.run(asyncio.wait_for(main(int(sys.argv[1]), int(sys.argv[2])), 30))
    except (AssertionError, asyncio.TimeoutError, OSError) as e:
        print(f"FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
