#!/usr/bin/env bash
# examples/test/run_resp.sh: start resp_server on a free port and drive it with the real Redis
# clients, redis-cli (commands, a pipelined batch with --pipe) and redis-benchmark; stop it by pid.
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
resp_bin=$1
source "$(cd "$(dirname "$0")" && pwd)/lib_server.sh"

start resp "$resp_bin" 0
# Not on a terminal, redis-cli prints replies raw: a bulk string as its bytes, an error as its text.
cli() { timeout 30 redis-cli -p "$resp_port" "$@" 2>&1; }

expect "PING answers PONG" "PONG" "$(cli PING)"
expect "SET answers OK" "OK" "$(cli SET greeting 'hello world')"
expect "GET returns what SET stored" "hello world" "$(cli GET greeting)"
expect "GET of a missing key is the null bulk string (empty)" "" "$(cli GET missing)"
expect "INCR of a missing key counts from 0" "1" "$(cli INCR counter)"
expect "INCR counts on" "2" "$(cli INCR counter)"
expect "INCR of a non-integer is a RESP error" "ERR value is not an integer or out of range" "$(cli INCR greeting)"
expect "DEL answers how many keys it removed" "2" "$(cli DEL greeting counter nosuchkey)"
expect "ECHO returns a payload that contains CRLF (readexactly, not readuntil)" \
  $'one\r\ntwo' "$(cli ECHO $'one\r\ntwo')"
expect "an unknown command is a RESP error" "ERR unknown command 'FLY'" "$(cli FLY)"
expect "a wrong number of arguments is a RESP error" \
  "ERR wrong number of arguments for 'GET' command" "$(cli GET)"

# A value larger than the reader's limit (64 KiB): bulk payloads are read with readexactly,
# which the limit does not bound.
head -c 100000 /dev/zero | tr '\0' v >"$tmp/value"
expect "SET of a 100000-byte value (over the 64 KiB line limit)" "OK" "$(cli -x SET big <"$tmp/value")"
cli GET big >"$tmp/got"
check "GET returns the 100000-byte value intact" cmp -s <(cat "$tmp/value"; echo) "$tmp/got"

# Several commands on one connection: redis-cli reads them from stdin, one line each.
expect "several commands on one connection" $'OK\n11\n11' \
  "$(printf 'SET n 10\nINCR n\nGET n\n' | cli)"

# Pipelining: 1000 commands sent in one go; the replies coalesce into few writes.
for _ in $(seq 1000); do printf '*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n'; done >"$tmp/batch"
pipe=$(timeout 30 redis-cli -p "$resp_port" --pipe <"$tmp/batch" 2>&1 || true)
echo "$pipe" | sed 's/^/  redis-cli --pipe: /'
check "redis-cli --pipe: 1000 pipelined commands, 1000 replies, no error" \
  grep -q 'errors: 0, replies: 1000$' <<<"$pipe"
expect "the 1000 pipelined INCRs all counted" "1000" "$(cli GET hits)"

# A malformed frame gets a RESP error, then the server closes the connection.
exec 3<>"/dev/tcp/127.0.0.1/$resp_port"
printf '*1\r\n+PING\r\n' >&3
reply=$(timeout 10 cat <&3 || true)
exec 3<&-
expect "a malformed frame: a protocol error, then the connection closes" \
  $'-ERR Protocol error: expected \'$\', got \'+\'\r' "$reply"

# redis-benchmark: 20 clients, 16 commands pipelined each, 20000 requests per test.
bench=$(timeout 60 redis-benchmark -p "$resp_port" -t ping,set,get,incr -n 20000 -c 20 -P 16 -q 2>&1 |
  tr '\r' '\n' | grep -e 'requests per second' -e WARNING || true)
echo "$bench" | sed 's/^/  redis-benchmark: /'  # the WARNING: this server has no CONFIG command
for t in PING_INLINE PING_MBULK SET GET INCR; do
  check "redis-benchmark completed $t and reported its requests per second" \
    grep -Eq "^$t: [0-9.]+ requests per second" <<<"$bench"
done
expect "the server still answers after the benchmark" "PONG" "$(cli PING)"

stop resp
finish "resp_server example"
