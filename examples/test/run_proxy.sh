#!/usr/bin/env bash
# examples/test/run_proxy.sh: put proxy in front of resp_server and of http_server, drive both
# through it with redis-cli and curl and check the results are byte for byte those of direct
# access; a 4 MiB body through the proxy, and half-close in both directions. Stops all by pid.
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
proxy_bin=$1 resp_bin=$2 http_bin=$3
source "$(cd "$(dirname "$0")" && pwd)/lib_server.sh"

start resp "$resp_bin" 0
start http "$http_bin" 0
start resp_proxy "$proxy_bin" 0 "$resp_port"
start http_proxy "$proxy_bin" 0 "$http_port"

# The same redis-cli session, direct and through the proxy (it leaves no key behind).
session=$'PING\nSET k hello\nGET k\nINCR n\nECHO "two words"\nINCR k\nFLY\nDEL k n\nGET k\n'
direct=$(timeout 30 redis-cli -p "$resp_port" <<<"$session" 2>&1)
proxied=$(timeout 30 redis-cli -p "$resp_proxy_port" <<<"$session" 2>&1)
echo "$proxied" | sed 's/^/  redis-cli through the proxy: /'
check "redis-cli: a session through the proxy answers what it answers direct" [ "$direct" == "$proxied" ]
# (redis-cli prints an empty line after an error, and nil as an empty line.)
expect "redis-cli: the session's replies" \
  $'PONG\nOK\nhello\n1\ntwo words\nERR value is not an integer or out of range\n\nERR unknown command \'FLY\'\n\n2' "$proxied"

for _ in $(seq 1000); do printf '*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n'; done >"$tmp/batch"
pipe=$(timeout 30 redis-cli -p "$resp_proxy_port" --pipe <"$tmp/batch" 2>&1 || true)
check "redis-cli --pipe through the proxy: 1000 replies, no error" grep -q 'errors: 0, replies: 1000$' <<<"$pipe"

# curl, direct and through the proxy: answers with their headers, byte for byte.
for args in "/" "/nope" "/echo --data-binary hello" "/echo -H Transfer-Encoding:chunked --data-binary chunked"; do
  read -r path opts <<<"$args"
  # shellcheck disable=SC2086  # opts is split on purpose
  d=$(timeout 30 curl -sS -i "http://127.0.0.1:$http_port$path" $opts 2>&1)
  # shellcheck disable=SC2086
  p=$(timeout 30 curl -sS -i "http://127.0.0.1:$http_proxy_port$path" $opts 2>&1)
  check "curl $args: the same answer through the proxy ($(head -n 1 <<<"$p" | tr -d '\r'))" [ "$d" == "$p" ]
done
timeout 30 curl -sS -v "http://127.0.0.1:$http_proxy_port/" "http://127.0.0.1:$http_proxy_port/" >"$tmp/keepalive.log" 2>&1 || true
check "curl: two requests on one keep-alive connection through the proxy" \
  grep -q 'Re-using existing connection' "$tmp/keepalive.log"

# 4 MiB through the proxy and back: write -> drain backpressure in both directions.
head -c $((4 << 20)) /dev/urandom >"$tmp/big"
timeout 30 curl -sS --data-binary @"$tmp/big" "http://127.0.0.1:$http_proxy_port/echo" -o "$tmp/big.echoed" || true
check "a 4 MiB body POSTed through the proxy to /echo comes back identical" cmp -s "$tmp/big" "$tmp/big.echoed"

# Half-close from the client: it sends one command and shuts down its sending side; the
# proxy passes the end of stream on, resp_server answers and closes, and the answer arrives.
half=$(timeout 10 python3 - "$resp_proxy_port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"*2\r\n$4\r\nECHO\r\n$3\r\nbye\r\n")
s.shutdown(socket.SHUT_WR)
data = b""
while chunk := s.recv(65536):
    data += chunk
print(repr(data))
PY
)
expect "half-close from the client: the answer, then end of stream" "b'\$3\\r\\nbye\\r\\n'" "$half"

# Half-close from the server: a 413 is answered, then http_server half-closes and reads on until
# the client closes; through the proxy the client still gets the whole answer.
big_header="X-Big: $(head -c 10000 /dev/zero | tr '\0' a)"
expect "half-close from the server: 413 through the proxy" "413" \
  "$(timeout 30 curl -sS "http://127.0.0.1:$http_proxy_port/" -H "$big_header" -o /dev/null -w '%{http_code}' 2>&1)"

# A reset from the client travels through: the proxy aborts its connection to resp_server too.
# Seen in /proc/net/tcp: no established connection to resp_server's port is left.
reset=$(timeout 20 python3 - "$resp_proxy_port" "$resp_port" <<'PY'
import socket, struct, sys, time
proxy_port, target_port = int(sys.argv[1]), int(sys.argv[2])
def established_to_target():
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for r in rows if r[3] == "01" and int(r[2].split(":")[1], 16) == target_port)
s = socket.create_connection(("127.0.0.1", proxy_port))
s.sendall(b"*2\r\n$4\r\nECHO\r\n$3\r\nb")  # half a command
time.sleep(0.3)
before = established_to_target()
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # with linger 0: a reset
for _ in range(100):
    if established_to_target() == 0:
        break
    time.sleep(0.05)
print(before, established_to_target())
PY
)
expect "a reset from the client: the proxy's connection to the server opened, then went away" "1 0" "$reset"
expect "the proxy still works after the reset" "PONG" "$(timeout 30 redis-cli -p "$resp_proxy_port" PING 2>&1)"

stop resp_proxy
stop http_proxy
stop resp
stop http
finish "proxy example"
