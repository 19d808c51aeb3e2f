#!/usr/bin/env bash
# examples/test/run_netcat.sh: run netcat against a Python asyncio server (line_server.py) and
# against the echo_server example, with stdin from a pipe and from a regular file.
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
netcat=$1 echo_server=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# start <output file> <command...>: runs the command in the background, sets pid and port
# from the "listening on 127.0.0.1:PORT" line it prints first.
start() {
  local out=$1
  shift
  "$@" >"$out" &
  pid=$!
  for _ in $(seq 200); do
    grep -q '^listening on' "$out" && break
    sleep 0.05
  done
  port=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
  [ -n "$port" ] || { echo "$* did not report its port"; cat "$out"; exit 1; }
}

# expect <name> <expected file> <actual file>
expect() {
  if cmp -s "$2" "$3"; then echo "ok: $1"; else echo "FAILED: $1"; diff "$2" "$3" | head -20; exit 1; fi
}

# 1. A Python asyncio server: greeting, upper-cased lines, and "bye" after our half-close.
start "$tmp/py.out" timeout 30 python3 "$here/line_server.py"
printf 'a\nb\n' | timeout 30 "$netcat" 127.0.0.1 "$port" >"$tmp/got"
printf 'hello from python\nA\nB\nbye\n' >"$tmp/want"
expect "netcat printed the Python server's greeting, answers, and its reply to our half-close" "$tmp/want" "$tmp/got"
wait "$pid" || { echo "line_server failed:"; cat "$tmp/py.out"; exit 1; }
pid=
grep -qF "received [b'a\n', b'b\n'], then end of stream" "$tmp/py.out" ||
  { echo "line_server did not receive a, b, then end of stream:"; cat "$tmp/py.out"; exit 1; }
echo "ok: the Python server received 'a', 'b', then end of stream"

# 2. Nobody listens on that port any more: netcat reports the failure and exits 1.
status=0
timeout 30 "$netcat" 127.0.0.1 "$port" </dev/null >/dev/null 2>"$tmp/err" || status=$?
[ "$status" -eq 1 ] || { echo "netcat to a closed port exited $status, not 1"; exit 1; }
echo "ok: netcat to a closed port exits 1: $(cat "$tmp/err")"

# 3. The echo_server example: a pipe, then 1.3 MB from a regular file (both directions at once).
start "$tmp/echo.out" "$echo_server" 0
printf 'one\ntwo\n' | timeout 30 "$netcat" 127.0.0.1 "$port" >"$tmp/got"
printf 'one\ntwo\n' >"$tmp/want"
expect "netcat | echo_server echoed a pipe's lines" "$tmp/want" "$tmp/got"
head -c 1000000 /dev/urandom | base64 >"$tmp/big"
timeout 30 "$netcat" 127.0.0.1 "$port" <"$tmp/big" >"$tmp/got"
expect "netcat <file | echo_server echoed $(wc -c <"$tmp/big") bytes from a regular file" "$tmp/big" "$tmp/got"
kill -TERM "$pid"
wait "$pid" || { echo "echo_server did not exit cleanly on SIGTERM"; exit 1; }
pid=
echo "netcat example: ok"
