#!/usr/bin/env bash
# examples/test/run_multicore.sh: multicore_server both ways (--reuse-port 2, --shared 2), each
# driven by 16 concurrent Python asyncio clients whose echoes are checked; stopped by pid.
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
multicore_bin=$1
source "$(cd "$(dirname "$0")" && pwd)/lib_server.sh"

# clients PORT: 16 connections at once, each pipelining 200 lines of its own (some longer than a
# socket read) and checking every echo; prints "echoed N lines" or the first error. 30 s at most.
clients() {
  timeout 60 python3 - "$1" <<'PY' 2>&1
import asyncio, sys

async def client(port, n):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"client {n} line {i} ".encode() + b"x" * ((n * 37 + i * 101) % 5000) + b"\n" for i in range(200)]
    writer.write(b"".join(lines))
    await writer.drain()
    for want in lines:
        got = await reader.readline()
        if got != want:
            raise AssertionError(f"client {n}: got {got[:60]!r}, want {want[:60]!r}")
    writer.close()
    await writer.wait_closed()
    return len(lines)

async def main(port):
    counts = await asyncio.wait_for(asyncio.gather(*(client(port, n) for n in range(16))), 30)
    print(f"echoed {sum(counts)} lines")

try:
    asyncio.run(main(int(sys.argv[1])))
except Exception as e:
    print(f"{type(e).__name__}: {e}")
PY
}

for way in reuse-port shared; do
  name=${way%%-*}
  start "$name" "$multicore_bin" "--$way" 2 0
  port_var=${name}_port pid_var=${name}_pid
  threads=$(ls "/proc/${!pid_var}/task" | wc -l)
  check "--$way 2: the process runs at least 3 threads (main and two that run io_contexts)" [ "$threads" -ge 3 ]
  expect "--$way 2: 16 connections echo 3,200 lines" "echoed 3200 lines" "$(clients "${!port_var}")"
  stop "$name"
  # The servers' tallies: 2 servers with reuse_port (the kernel's spread, any), 1 shared; 16 in all.
  total=$(sed -n 's/^server [0-9]*: \([0-9]*\) connections$/\1/p' "$tmp/$name.out" | awk '{ s += $1 } END { print s + 0 }')
  servers=$(grep -c '^server [0-9]*: ' "$tmp/$name.out" || true)
  expect "--$way 2: the servers took 16 connections in all" 16 "$total"
  expect "--$way 2: number of servers" "$([ $way = reuse-port ] && echo 2 || echo 1)" "$servers"
done
finish "multicore_server example"
