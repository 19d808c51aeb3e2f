#!/usr/bin/env bash
# examples/test/run_http.sh: start http_server on a free port and drive it with curl (keep-alive,
# Content-Length and chunked bodies, 400, 413), raw bytes for malformed requests, and a short wrk
# load run; stop it by pid.
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
http_bin=$1
source "$(cd "$(dirname "$0")" && pwd)/lib_server.sh"

start http "$http_bin" 0
url=http://127.0.0.1:$http_port
c() { timeout 30 curl -sS "$@" 2>&1; }
# raw BYTES: sends BYTES (printf escapes) on a fresh connection through bash's /dev/tcp, reads
# the answer to end of stream and prints its status line.
raw() {
  local answer status=0
  exec 3<>"/dev/tcp/127.0.0.1/$http_port"
  printf "$1" >&3
  answer=$(timeout 10 cat <&3) || status=$?
  exec 3<&-
  head -n 1 <<<"$answer" | tr -d '\r'
  [ "$status" -eq 0 ] || echo "(the server did not close the connection)"
}

expect "GET / answers 200 with the static text" $'Hello from costream\n200' "$(c "$url/" -w '%{http_code}')"
expect "GET of another path answers 404" "404" "$(c "$url/nope" -o /dev/null -w '%{http_code}')"
expect "POST /echo returns a Content-Length body" "hello body 200" \
  "$(c "$url/echo" --data-binary 'hello body' -w ' %{http_code}')"
head -c 300000 /dev/urandom >"$tmp/body"
c "$url/echo" -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/body" -o "$tmp/echoed" -v >"$tmp/chunked.log"
check "curl sent the body chunked" grep -q '^> Transfer-Encoding: chunked' "$tmp/chunked.log"
check "POST /echo returns a 300000-byte chunked body intact" cmp -s "$tmp/body" "$tmp/echoed"
head -c $((2 << 20)) /dev/urandom >"$tmp/big"
c "$url/echo" --data-binary @"$tmp/big" -o "$tmp/big.echoed" -v >"$tmp/continue.log"
check "a 2 MiB POST: curl asked 'Expect: 100-continue' and got '100 Continue'" \
  grep -q '^< HTTP/1.1 100 Continue' "$tmp/continue.log"
check "POST /echo returns the 2 MiB body intact" cmp -s "$tmp/big" "$tmp/big.echoed"

# Two requests on one connection: curl says it re-used the connection.
c -v "$url/" "$url/" >"$tmp/keepalive.log"
check "two requests on one keep-alive connection" grep -q 'Re-using existing connection' "$tmp/keepalive.log"
expect "both answered" 2 "$(grep -c '^Hello from costream' "$tmp/keepalive.log")"
check "HTTP/1.0 without keep-alive gets Connection: close" grep -qi '^Connection: close' <(c -0 -i "$url/")

# Malformed requests: 400, then the server closes the connection.
expect "a request line without a version: 400" "HTTP/1.1 400 Bad Request" "$(raw 'NONSENSE\r\n\r\n')"
expect "an unknown HTTP version: 400" "HTTP/1.1 400 Bad Request" "$(raw 'GET / HTTP/2.5\r\n\r\n')"
expect "a header line without a colon: 400" "HTTP/1.1 400 Bad Request" "$(raw 'GET / HTTP/1.1\r\nNoColon\r\n\r\n')"
expect "a Content-Length that is not a number: 400" "HTTP/1.1 400 Bad Request" \
  "$(raw 'POST /echo HTTP/1.1\r\nContent-Length: ten\r\n\r\n')"
expect "a bad chunk size: 400" "HTTP/1.1 400 Bad Request" \
  "$(raw 'POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')"

# Over the limits: a header line over 8 KiB (limit_overrun_error), a body over 16 MiB: 413.
big_header="X-Big: $(head -c 10000 /dev/zero | tr '\0' a)"
expect "a 10000-byte header line: 413" "413" "$(c "$url/" -H "$big_header" -o /dev/null -w '%{http_code}')"
expect "a Content-Length over 16 MiB: 413" "HTTP/1.1 413 Content Too Large" \
  "$(raw 'POST /echo HTTP/1.1\r\nContent-Length: 20000000\r\n\r\n')"
expect "the server still answers" $'Hello from costream\n200' "$(c "$url/" -w '%{http_code}')"

# Load: 2 threads, 16 keep-alive connections, 3 seconds.
load=$(timeout 30 wrk -t2 -c16 -d3s "$url/" 2>&1 || true)
echo "$load" | sed 's/^/  wrk: /'
requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' <<<"$load")
check "wrk made requests (${requests:-none})" [ "${requests:-0}" -gt 0 ]
check "wrk saw no socket errors" [ -z "$(grep 'Socket errors' <<<"$load" || true)" ]
check "wrk saw only 2xx answers" [ -z "$(grep 'Non-2xx' <<<"$load" || true)" ]

stop http
finish "http_server example"
