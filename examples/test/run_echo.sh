#!/usr/bin/env bash
# examples/test/run_echo.sh: start echo_server on a free port, run echo_client against it,
# stop the server with SIGTERM (by its pid) and check that it shut down gracefully.
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
server_bin=$1 client_bin=$2
out=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT

"$server_bin" 0 >"$out" &
pid=$!
for _ in $(seq 100); do
  grep -q '^listening on' "$out" && break
  sleep 0.05
done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
[ -n "$port" ] || { echo "echo_server did not report its port"; cat "$out"; exit 1; }

"$client_bin" "$port" hello "two words" "" costream
kill -TERM "$pid"
# The server must exit by itself within 10 s and report a graceful close.
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then echo "echo_server did not stop on SIGTERM"; exit 1; fi
wait "$pid"
grep -q '^closed$' "$out" || { echo "echo_server did not close gracefully"; cat "$out"; exit 1; }
echo "echo example: ok"
