#!/usr/bin/env bash
# examples/test/run_http_headers.sh: run http_headers against the http_server example (plain
# HTTP) and against `openssl s_server -WWW` (HTTPS) with certificates made here by the openssl
# tool, and check: the status line and headers are printed (exit 0); a refused connection, a
# certificate for another name or address, and an unknown CA each end in exit 1 with a clear
# message, the certificate being refused in the handshake. Every server is stopped by its pid.
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
headers_bin=$1 http_bin=$2
source "$(cd "$(dirname "$0")" && pwd)/lib_server.sh"
command -v openssl >/dev/null || { echo "FAIL: the openssl command-line tool is not installed"; exit 1; }

# run NAME ARG...: runs http_headers; its stdout in $tmp/NAME.out, its stderr in NAME_err and
# its exit status in NAME_status.
run() {
  local name=$1 status=0
  shift
  timeout 30 "$headers_bin" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || status=$?
  printf -v "${name}_status" %s "$status"
  printf -v "${name}_err" %s "$(cat "$tmp/$name.err")"
  echo "--- http_headers $* (exit $status):"
  cat "$tmp/$name.out" "$tmp/$name.err"
}

# ---- (a) plain HTTP: the http_server example -------------------------------------------------------
start http "$http_bin" 0
run head "http://127.0.0.1:$http_port/"  # http_server answers HEAD with 405: a status line all the same
expect "HEAD: exit 0" 0 "$head_status"
expect "HEAD: the status line and the headers, exactly" \
  $'HTTP/1.1 405 Method Not Allowed\nContent-Type: text/plain\nContent-Length: 0\nConnection: close' "$(cat "$tmp/head.out")"
run get --get "http://localhost:$http_port/"
expect "GET (--get, host localhost): exit 0" 0 "$get_status"
expect "GET: the status line and the headers, not the body" \
  $'HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 20\nConnection: close' "$(cat "$tmp/get.out")"
stop http
run refused "http://127.0.0.1:$http_port/"
expect "nobody listening: exit 1" 1 "$refused_status"
check "nobody listening: the message says so" grep -q "^http_headers: .*127\.0\.0\.1:$http_port: Connection refused$" "$tmp/refused.err"

# ---- certificates: two CAs; server certificates signed by the first ---------------------------------
# ossl and new_ca come from lib_server.sh.
new_server_cert() {  # new_server_cert NAME SAN SERIAL: NAME.pem and NAME.key, signed by ca
  ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=${2#*:}" \
    -keyout "$tmp/$1.key" -out "$tmp/$1.csr"
  printf '%s\n' "basicConstraints = CA:FALSE" "subjectAltName = $2" "extendedKeyUsage = serverAuth" >"$tmp/$1.ext"
  ossl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial "$3" -days 1 \
    -extfile "$tmp/$1.ext" -out "$tmp/$1.pem"
}
new_ca ca
new_ca other_ca
new_server_cert localhost DNS:localhost 2          # a name only: no IP address in it
new_server_cert elsewhere DNS:www.example.invalid 3  # neither localhost nor 127.0.0.1
ossl verify -CAfile "$tmp/ca.pem" -verify_hostname localhost "$tmp/localhost.pem" >/dev/null
echo "ok: the server certificates verify against the CA"

# ---- HTTPS: openssl s_server -WWW serves the files of $tmp/www ---------------------------------------
mkdir "$tmp/www"
echo "served over TLS" >"$tmp/www/index.txt"
# s_server NAME CERT: starts it on a free loopback port; sets NAME_pid and NAME_port.
s_server() {
  local name=$1 port=
  : >"$tmp/$name.out"
  (cd "$tmp/www" && exec timeout 100 openssl s_server -WWW -accept 127.0.0.1:0 \
    -cert "$tmp/$2.pem" -key "$tmp/$2.key") >"$tmp/$name.out" 2>"$tmp/$name.err" &
  printf -v "${name}_pid" %s "$!"
  pids+=("$!")
  for _ in $(seq 200); do
    port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "FAIL: s_server $name did not report its port"; cat "$tmp/$name.out" "$tmp/$name.err"; exit 1; }
  printf -v "${name}_port" %s "$port"
}
# alerts NAME N: waits (10 s at most) until s_server NAME has logged N refused handshakes.
alerts() {
  for _ in $(seq 200); do [ "$(grep -c 'SSL alert number' "$tmp/$1.err")" -ge "$2" ] && return 0; sleep 0.05; done
  return 1
}
s_server tls localhost
s_server tls_elsewhere elsewhere
url=https://localhost:$tls_port/index.txt

# (b) trusting the CA, host localhost: served. s_server -WWW answers GET only.
run good --get --cafile "$tmp/ca.pem" "$url"
expect "https, CA trusted, host localhost: exit 0" 0 "$good_status"
expect "https: s_server's status line and header" $'HTTP/1.0 200 ok\nContent-type: text/plain' "$(cat "$tmp/good.out")"
check "s_server served the file (its log, on stderr)" grep -q 'FILE:index.txt$' "$tmp/tls.err"

# (c) the same server by its IP address, which its certificate does not name; another server
# whose certificate names another host.
run by_ip --get --cafile "$tmp/ca.pem" "https://127.0.0.1:$tls_port/index.txt"
expect "https://127.0.0.1 with a certificate for localhost only: exit 1" 1 "$by_ip_status"
expect "the message: IP address mismatch" "http_headers: certificate verify failed for 127.0.0.1: IP address mismatch" "$by_ip_err"
run other_name --get --cafile "$tmp/ca.pem" "https://localhost:$tls_elsewhere_port/index.txt"
expect "https://localhost with a certificate for www.example.invalid: exit 1" 1 "$other_name_status"
expect "the message: hostname mismatch" "http_headers: certificate verify failed for localhost: hostname mismatch" "$other_name_err"

# (d) an unknown CA: the system's CAs (no --cafile), then another CA.
run system_cas --get "$url"
expect "https with the system's CAs only: exit 1" 1 "$system_cas_status"
expect "the message: unknown issuer" "http_headers: certificate verify failed for localhost: unable to get local issuer certificate" "$system_cas_err"
run other_ca --get --cafile "$tmp/other_ca.pem" "$url"
expect "https trusting another CA: exit 1" 1 "$other_ca_status"
expect "the message: unknown issuer" "http_headers: certificate verify failed for localhost: unable to get local issuer certificate" "$other_ca_err"

check "s_server saw the three refusals as TLS alerts from the client" alerts tls 3
check "the other s_server saw its refusal as a TLS alert" alerts tls_elsewhere 1
check "no request reached s_server after a refusal" [ "$(grep -c 'FILE:' "$tmp/tls.err")" -eq 1 ]
run again --get --cafile "$tmp/ca.pem" "$url"
expect "s_server serves on: exit 0" 0 "$again_status"

for name in tls tls_elsewhere; do
  var=${name}_pid
  kill -TERM "${!var}"
  wait "${!var}" || true  # s_server has no graceful exit: killed by the signal
done
pids=()
finish "http_headers example"
