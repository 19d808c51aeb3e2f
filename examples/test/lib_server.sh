# examples/test/lib_server.sh: sourced by run_resp.sh, run_http.sh and run_proxy.sh. Starts example
# servers on free loopback ports, checks results, stops the servers by pid with SIGTERM.
# SPDX-License-Identifier: BSL-1.0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/costream-examples.XXXXXX")
pids=()
failures=0
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME COMMAND...: runs COMMAND in the background, waits (20 s at most: sanitizer builds
# start slowly) for its first line "listening on 127.0.0.1:PORT", sets NAME_pid and NAME_port.
start() {
  local name=$1 pid port=
  shift
  : >"$tmp/$name.out"  # now: the background job opens its redirections only when it gets to run
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 400); do
    port=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "FAIL: $name did not report its port"; cat "$tmp/$name.out" "$tmp/$name.err"; exit 1; }
  printf -v "${name}_pid" %s "$pid"
  printf -v "${name}_port" %s "$port"
  echo "$name (pid $pid) listening on port $port"
}

# stop NAME: sends SIGTERM to NAME_pid; the server must exit by itself within 10 s with status 0,
# having printed "closed" (a graceful shutdown) and nothing on stderr (no escaped exception, no
# sanitizer report).
stop() {
  local name=$1 var=${1}_pid status=0 p kept=()
  local pid=${!var}
  kill -TERM "$pid"
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: $name did not stop on SIGTERM"
    failures=$((failures + 1))
    return
  fi
  wait "$pid" || status=$?
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  pids=("${kept[@]}")
  if [ "$status" -eq 0 ] && grep -q '^closed$' "$tmp/$name.out" && [ ! -s "$tmp/$name.err" ]; then
    echo "ok: $name closed gracefully on SIGTERM, exit status 0, nothing on stderr"
  else
    echo "FAIL: $name exited with status $status; its stdout and stderr:"
    cat "$tmp/$name.out" "$tmp/$name.err"
    failures=$((failures + 1))
  fi
}

# expect WHAT WANT GOT: compares two strings and prints the check.
expect() {
  if [ "$2" == "$3" ]; then
    echo "ok: $1"
  else
    echo "FAIL: $1"
    printf '  want: %q\n  got:  %q\n' "${2:0:300}" "${3:0:300}"
    failures=$((failures + 1))
  fi
}

# check WHAT COMMAND...: runs COMMAND as a test (e.g. grep -q, cmp -s, [ ... ]).
check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

# finish NAME: the script's verdict.
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$1: $failures check(s) failed"
    exit 1
  fi
  echo "$1: ok"
}

# ---- certificates (tests of TLS examples) -----------------------------------------------------------
# ossl ARG...: the openssl tool, bounded in time; a failure shows its stderr and ends the test.
ossl() {
  timeout 30 openssl "$@" 2>"$tmp/openssl.err" || { echo "FAIL: openssl $*"; cat "$tmp/openssl.err"; exit 1; }
}
# new_ca NAME: a self-signed P-256 CA, $tmp/NAME.pem and $tmp/NAME.key, valid for two days.
new_ca() {
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=costream test $1" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$tmp/$1.key" -out "$tmp/$1.pem"
}
