#!/usr/bin/env bash
# examples/test/run_tls_echo.sh: make a throwaway CA and a server certificate for localhost and
# 127.0.0.1 with the openssl tool, start `tls_echo server` on a free port, and check: tls_echo's
# client trusting that CA is served; openssl s_client verifies the server and gets its line
# echoed; a client trusting an unrelated CA refuses the server (exit 1, the verification error)
# and the server serves on; it stops gracefully on SIGTERM.
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
tls_bin=$1
source "$(cd "$(dirname "$0")" && pwd)/lib_server.sh"
command -v openssl >/dev/null || { echo "FAIL: the openssl command-line tool is not installed"; exit 1; }

# ---- certificates: a CA, a server certificate it signs, and an unrelated CA ----------------------
# ossl and new_ca come from lib_server.sh.
new_ca ca
new_ca other_ca
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$tmp/server.key" -out "$tmp/server.csr"
printf '%s\n' "basicConstraints = CA:FALSE" "subjectAltName = DNS:localhost, IP:127.0.0.1" \
  "extendedKeyUsage = serverAuth" >"$tmp/server.ext"
ossl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 2 -days 1 \
  -extfile "$tmp/server.ext" -out "$tmp/server.pem"
ossl verify -CAfile "$tmp/ca.pem" -verify_hostname localhost -verify_ip 127.0.0.1 "$tmp/server.pem" >/dev/null
echo "ok: the server certificate verifies against the CA, for localhost and for 127.0.0.1"

# ---- the server -----------------------------------------------------------------------------------
# --foreground: timeout relays our SIGTERM to the server once. Without it, timeout also sends it to
# its process group, and that second SIGTERM can land after the server has shut down gracefully and
# dropped its handler, killing it (status 143).
start server timeout --foreground 100 "$tls_bin" server "$tmp/server.pem" "$tmp/server.key" 0

# client NAME ARG...: runs tls_echo's client; its output in $tmp/NAME.out, its status in NAME_status.
client() {
  local name=$1 status=0
  shift
  timeout 30 "$tls_bin" client "$@" >"$tmp/$name.out" 2>&1 || status=$?
  printf -v "${name}_status" %s "$status"
}
words=(hello "two words" "" costream)
echoes=$'sent hello, got hello\nsent two words, got two words\nsent , got \nsent costream, got costream'

# (a) trusting the CA, checking the name "localhost".
client good "$tmp/ca.pem" localhost "$server_port" "${words[@]}"
expect "tls_echo client (CA trusted, host localhost) exits 0" 0 "$good_status"
check "it reports TLS 1.2 or 1.3 and a cipher" grep -Eq '^connected: TLSv1\.[23], [A-Z0-9_-]+$' "$tmp/good.out"
expect "every line comes back" "$echoes" "$(grep '^sent ' "$tmp/good.out")"

# (b) openssl s_client verifies the chain and the host name and aborts on failure. -quiet would
# ignore the end of its input, -no_ign_eof restores it: the input stays open until the echo is
# back, then its end makes s_client send close_notify and exit.
line="ping from openssl s_client"
s_status=0
{
  printf '%s\n' "$line"
  for _ in $(seq 400); do grep -qx "$line" "$tmp/s_client.out" 2>/dev/null && break; sleep 0.05; done
} | timeout 30 openssl s_client -connect "127.0.0.1:$server_port" -CAfile "$tmp/ca.pem" -verify_return_error \
  -verify_hostname localhost -quiet -no_ign_eof >"$tmp/s_client.out" 2>"$tmp/s_client.err" || s_status=$?
expect "openssl s_client exits 0" 0 "$s_status"
expect "openssl s_client gets its line echoed" "$line" "$(cat "$tmp/s_client.out")"
check "openssl s_client verified the chain (verify return:1)" grep -q '^verify return:1$' "$tmp/s_client.err"
expect "openssl s_client reports no verify error" "" "$(grep -i 'verify error' "$tmp/s_client.err" || true)"
[ "$s_status" -eq 0 ] || cat "$tmp/s_client.err"

# (c) trusting an unrelated CA: the certificate is refused, typed, before any byte is sent.
client refused "$tmp/other_ca.pem" localhost "$server_port" never
expect "tls_echo client trusting another CA exits 1" 1 "$refused_status"
expect "it reports the verification error" \
  "tls_echo: certificate verify failed: unable to get local issuer certificate" "$(cat "$tmp/refused.out")"
refusal='^a client failed: .*unknown ca'  # the client's alert, as OpenSSL names it
for _ in $(seq 200); do grep -q "$refusal" "$tmp/server.out" && break; sleep 0.05; done
check "the server logs the failed handshake (alert unknown ca)" grep -q "$refusal" "$tmp/server.out"

# (d) the server serves on; this client checks the IP address against the certificate.
client again "$tmp/ca.pem" 127.0.0.1 "$server_port" "${words[@]}"
expect "another tls_echo client afterwards (host 127.0.0.1) exits 0" 0 "$again_status"
expect "every line comes back again" "$echoes" "$(grep '^sent ' "$tmp/again.out")"

stop server
for name in good refused again; do echo "--- tls_echo client ($name):"; cat "$tmp/$name.out"; done
echo "--- tls_echo server:"
cat "$tmp/server.out"
finish "tls_echo example"
