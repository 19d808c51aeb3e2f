#!/usr/bin/env bash
# examples/test/run_chat.sh: start chat_server on a free port, drive it with Python asyncio
# clients (chat_clients.py, which also sends it SIGTERM by its pid), check it shut down gracefully.
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
server_bin=$1
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$out"' EXIT

"$server_bin" 0 >"$out" &
pid=$!
for _ in $(seq 200); do
  grep -q '^listening on' "$out" && break
  sleep 0.05
done
port=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
[ -n "$port" ] || { echo "chat_server did not report its port"; cat "$out"; exit 1; }
echo "chat_server (pid $pid) listening on port $port"

timeout 30 python3 "$here/chat_clients.py" "$port" "$pid" || { echo "server output:"; cat "$out"; exit 1; }

# chat_clients.py sent SIGTERM: the server must exit by itself within 10 s, with status 0.
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then echo "chat_server did not stop on SIGTERM"; exit 1; fi
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || { echo "chat_server exited with status $status"; cat "$out"; exit 1; }
grep -q 'is too slow: disconnected$' "$out" ||
  { echo "chat_server did not report the slow client"; cat "$out"; exit 1; }
grep -q '^closed$' "$out" || { echo "chat_server did not close gracefully"; cat "$out"; exit 1; }
echo "ok: chat_server reported the slow client and exited 0 after a graceful close"
echo "chat example: ok"
