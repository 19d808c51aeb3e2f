#!/usr/bin/env bash
# bench/run.sh: builds the `bench` preset and runs every workload (see bench/README.md) against
# costream, the hand-written Asio baseline, the C epoll loop and the Go and tokio servers (when
# go and cargo are here), in interleaved rounds.
# SPDX-License-Identifier: BSL-1.0
#
#   ./bench/run.sh                  full run (its wall time goes into RESULTS.md), writes bench/RESULTS.md
#   BENCH_QUICK=1 ./bench/run.sh    smoke run: small counts, 1 round, RESULTS.md left alone
#
# Prints ONE Markdown table on stdout (medians over rounds, ratios of costream to each other
# column), then the "threads" table; progress goes to stderr, logs and raw figures to build/bench/logs/<stamp>/.
# Only 127.0.0.1 is used. Every client run is bounded in count and time (and by `timeout`);
# every server is started here, its pid kept, and stopped by that pid (SIGTERM, then SIGKILL).
#
# Knobs (environment): BENCH_QUICK, BENCH_ROUNDS (3), BENCH_BULK_ROUNDS (5), BENCH_TARGET_S (2:
# seconds per measured run), BENCH_URING=0 (no io_uring row), BENCH_WORKLOADS (subset of: ping lcping churn echo bulk fanin
# threads inmemory), BENCH_PEERS (go tokio: the peer servers to build and run; "" for none),
# BENCH_SKIP_BUILD=1 (use the binaries as they are), BENCH_BEFORE=PATH (a costream_server built
# from an earlier commit: a column "before" beside costream, so that a change is measured in the
# same interleaved run).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/build/bench/bench
STAMP=$(date +%Y%m%d-%H%M%S)
LOG=$ROOT/build/bench/logs/$STAMP

QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
  ROUNDS=${BENCH_ROUNDS:-1}
  BULK_ROUNDS=${BENCH_BULK_ROUNDS:-1}
  TARGET_S=${BENCH_TARGET_S:-0.5}
  BULK_BYTES=$((128 << 20))
  FANIN_SIZES="100 1000"
  INMEMORY_ARGS="0.05 1"
else
  ROUNDS=${BENCH_ROUNDS:-3}
  BULK_ROUNDS=${BENCH_BULK_ROUNDS:-5}
  TARGET_S=${BENCH_TARGET_S:-2}
  BULK_BYTES=$((1 << 30))
  FANIN_SIZES="1000 10000"
  INMEMORY_ARGS="0.3 5"
fi
WORKLOADS=${BENCH_WORKLOADS:-ping lcping echo bulk fanin churn threads inmemory}
PEERS=${BENCH_PEERS-go tokio}
if [ -n "${BENCH_BEFORE:-}" ]; then
  [ -x "$BENCH_BEFORE" ] || { echo "BENCH_BEFORE: $BENCH_BEFORE is not an executable" >&2; exit 1; }
fi
BEFORE_IMPL=()
[ -n "${BENCH_BEFORE:-}" ] && BEFORE_IMPL=(before)
PEER_IMPLS=() # the peers that built: appended to IMPLS below

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# ---- build -----------------------------------------------------------------------------------
mkdir -p "$ROOT/build"
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  # What the bench builds and drives (scripts/lib.sh: bench_packages), installed when missing.
  source "$ROOT/scripts/lib.sh"
  ensure_packages "${bench_packages[@]}" >&2
  log "configuring and building the bench preset"
  mkdir -p "$ROOT/build/bench"
  { cmake --preset bench && cmake --build --preset bench -j2; } >"$ROOT/build/bench-build.log" 2>&1 ||
    { tail -40 "$ROOT/build/bench-build.log" >&2; die "build failed (log: build/bench-build.log)"; }
fi
for p in costream_server asio_server epoll_server load_client inmemory; do
  [ -x "$BIN/$p" ] || die "missing $BIN/$p"
done

# ---- the peers: Go and tokio, each a column when its toolchain is here ------------------------------
command -v cargo >/dev/null || PATH=$PATH:$HOME/.cargo/bin # rustup's place
# peer_toolchain PEER: fails, saying what is missing, when PEER cannot be built here.
peer_toolchain() {
  case $1 in
    go) command -v go >/dev/null || { echo "go not found (Debian: golang-go)"; return 1; } ;;
    tokio)
      command -v cargo >/dev/null || { echo "cargo not found (Debian: cargo)"; return 1; }
      compgen -G "/usr/share/cargo/registry/tokio-1.*" >/dev/null ||
        { echo "tokio is not in /usr/share/cargo/registry (Debian: librust-tokio-dev)"; return 1; }
      ;;
  esac
}
# build_PEER: outputs stay under build/bench/.
build_go() { # Debian's golang-go; standard library only: no modules, no network
  GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE=$ROOT/build/bench/go-cache \
    go build -o "$BIN/go_server" "$ROOT/bench/peers/go_server.go"
}
build_tokio() { # Debian's librust-tokio-dev, resolved offline (bench/peers/tokio_server/.cargo/config.toml)
  (cd "$ROOT/bench/peers/tokio_server" && cargo build --release --offline --quiet --target-dir "$ROOT/build/bench/tokio") &&
    cp "$ROOT/build/bench/tokio/release/tokio_server" "$BIN/tokio_server"
}
for p in $PEERS; do
  case $p in go | tokio) ;; *) die "BENCH_PEERS: unknown peer $p (known: go tokio)" ;; esac
  if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
    why=$(peer_toolchain "$p") || { log "$why: the $p column is skipped"; continue; }
    log "building the $p server"
    "build_$p" >>"$ROOT/build/bench-build.log" 2>&1 ||
      { log "warn: the $p server did not build (log: build/bench-build.log): its column is skipped"; continue; }
  fi
  [ -x "$BIN/${p}_server" ] || { log "no $BIN/${p}_server: the $p column is skipped"; continue; }
  PEER_IMPLS+=("$p")
done
# costream on io_uring instead of epoll (costream_uring_server: the same program, built with
# COSTREAM_USE_IO_URING's macros when liburing is here; BENCH_URING=0 leaves it out): a row beside
# costream's in every workload.
URING_IMPL=()
if [ "${BENCH_URING:-1}" != 0 ]; then
  if [ -x "$BIN/costream_uring_server" ]; then
    URING_IMPL=(costream_uring)
  else
    log "no $BIN/costream_uring_server (Debian: liburing-dev): the io_uring row is skipped"
  fi
fi
VARIANT_IMPLS=("${BEFORE_IMPL[@]}" "${URING_IMPL[@]}") # costream's other builds, each a row of its own
IMPLS=(costream "${VARIANT_IMPLS[@]}" asio epoll "${PEER_IMPLS[@]}")
command -v redis-benchmark >/dev/null || die "redis-benchmark not found (Debian: apt-get install redis-tools)"
command -v python3 >/dev/null || die "python3 not found"
mkdir -p "$LOG"
RAW=$LOG/raw.csv
echo "workload,round,impl,value,cpu_per_unit,extra" >"$RAW"

# Fan-in needs a descriptor per connection in the server and in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
FD_LIMIT=$(ulimit -n)

# ---- servers, stopped by pid only ---------------------------------------------------------------
declare -A SPID SPORT
stop_server() { # IMPL
  local pid=${SPID[$1]:-} i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && { log "warn: $1 server (pid $pid) ignored SIGTERM; SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
  wait "$pid" 2>/dev/null
  unset "SPID[$1]" "SPORT[$1]"
}
stop_all() {
  local s
  for s in "${!SPID[@]}"; do stop_server "$s"; done
}
CLIENT_PID=
cleanup() {
  [ -n "$CLIENT_PID" ] && kill -TERM "$CLIENT_PID" 2>/dev/null
  stop_all
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# start_server IMPL MODE [KEY [ARG...]]: runs IMPL_server MODE ARG..., waits (at most 10 s) for
# "listening on 127.0.0.1:PORT" on its first stdout line; sets SPID[KEY] and SPORT[KEY] (KEY
# defaults to IMPL).
start_server() {
  local impl=$1 mode=$2 key=${3:-$1}
  shift $(($# < 3 ? $# : 3))
  local out=$LOG/server-$key-$mode.out port i
  local binary=$BIN/${impl}_server
  [ "$impl" = before ] && binary=$BENCH_BEFORE
  "$binary" "$mode" "$@" >"$out" 2>>"$LOG/server-$key-$mode.err" &
  SPID[$key]=$!
  for i in $(seq 100); do
    port=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$out" 2>/dev/null)
    [ -n "$port" ] && { SPORT[$key]=$port; return 0; }
    kill -0 "${SPID[$key]}" 2>/dev/null || break
    sleep 0.1
  done
  log "warn: $impl server did not start in mode $mode $* (see $LOG/server-$key-$mode.err)"
  stop_server "$key"
  return 1
}
start_all() { # MODE
  local s
  for s in "${IMPLS[@]}"; do start_server "$s" "$1" || die "cannot start the $s server ($1)"; done
}

# cpu_ticks PID: utime + stime of the whole process (all threads), in clock ticks.
cpu_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  set -- ${stat##*) }
  echo $((${12} + ${13}))
}
HZ=$(getconf CLK_TCK)
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null; }
kv() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2"; }
alive() { kill -0 "${SPID[$1]}" 2>/dev/null; }

# record WORKLOAD ROUND IMPL VALUE CPU_TICKS UNITS SCALE [EXTRA]: one raw row; the CPU figure is
# server CPU-seconds per SCALE units (1e6 requests, 2^30 bytes, ...).
record() {
  local cpu
  cpu=$(awk -v t="$5" -v hz="$HZ" -v u="$6" -v s="$7" 'BEGIN { if (u > 0) printf "%.4f", t / hz / (u / s) }')
  echo "$1,$2,$3,$4,$cpu,${8:-}" >>"$RAW"
}

# measure WORKLOAD ROUND IMPL SCALE TIMEOUT CMD...: runs a load_client command against a server,
# the server's CPU read before and after; records rate= and units= of its output.
measure() {
  local w=$1 r=$2 s=$3 scale=$4 limit=$5 out c0 c1
  shift 5
  if ! alive "$s"; then
    log "warn: $w round $r: the $s server is gone"
    echo "$w,$r,$s,,," >>"$RAW"
    return 1
  fi
  c0=$(cpu_ticks "${SPID[$s]}")
  if out=$(timeout "$limit" "$@" 2>>"$LOG/client.err"); then
    c1=$(cpu_ticks "${SPID[$s]}")
    record "$w" "$r" "$s" "$(kv rate "$out")" $((c1 - c0)) "$(kv units "$out")" "$scale"
    log "$w round $r $s: $out server_cpu_s=$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}')"
  else
    echo "$w,$r,$s,,," >>"$RAW"
    log "warn: $w round $r $s failed (see $LOG/client.err)"
  fi
}

LC=$BIN/load_client

# ---- ping: redis-benchmark -t ping_inline -------------------------------------------------------
# redis_ping IMPL C P N: prints "rps ticks" or fails.
redis_ping() {
  local s=$1 out c0 c1 rps
  c0=$(cpu_ticks "${SPID[$s]}")
  out=$(timeout 120 redis-benchmark -h 127.0.0.1 -p "${SPORT[$s]}" -t ping_inline -n "$4" -c "$2" -P "$3" --csv \
    2>/dev/null | grep '^"PING_INLINE"')
  c1=$(cpu_ticks "${SPID[$s]}")
  rps=$(cut -d, -f2 <<<"$out" | tr -d '"')
  [ -n "$rps" ] || return 1
  echo "$rps $((c1 - c0))"
}

# costream runs twice, as in the line echo: readline(), and (costream_try) try_readline() first.
run_ping() {
  log "ping (redis-benchmark): starting the ping servers"
  start_all ping
  start_server costream ping-try costream_try || die "cannot start the costream server (ping-try)"
  start_server costream ping-drain costream_drain || die "cannot start the costream server (ping-drain)"
  local cfg c p nprobe nmax s r res w impls=(costream costream_try costream_drain "${VARIANT_IMPLS[@]}" asio epoll "${PEER_IMPLS[@]}")
  declare -A N
  for cfg in "1 1 4000 200000" "50 1 20000 1000000" "50 32 100000 20000000"; do
    set -- $cfg
    c=$1 p=$2 nprobe=$3 nmax=$4
    w="ping_c${c}_p${p}"
    for s in "${impls[@]}"; do # warm-up probe; its rate sizes N for a run of about TARGET_S
      if [ -n "$QUICK" ]; then
        N[$s]=$nprobe
        continue
      fi
      res=$(redis_ping "$s" "$c" "$p" "$nprobe") || { log "warn: $w probe failed on $s"; N[$s]=$nprobe; continue; }
      N[$s]=$(awk -v r="${res%% *}" -v t="$TARGET_S" -v lo="$nprobe" -v hi="$nmax" \
        'BEGIN {n = int(r * t / 1000) * 1000; if (n < lo) n = lo; if (n > hi) n = hi; print n}')
    done
    for r in $(seq "$ROUNDS"); do
      for s in "${impls[@]}"; do
        if alive "$s" && res=$(redis_ping "$s" "$c" "$p" "${N[$s]}"); then
          set -- $res
          record "$w" "$r" "$s" "$1" "$2" "${N[$s]}" 1e6
          log "$w round $r $s: $1 req/s (n=${N[$s]}, server CPU $(awk -v t="$2" -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}') s)"
        else
          echo "$w,$r,$s,,," >>"$RAW"
          log "warn: $w round $r $s failed"
        fi
      done
    done
  done
  stop_all
}

# ---- ping through load_client (a client that is not the bottleneck) and churn -----------------
run_lcping() {
  log "ping (load_client -c 50 -P 32): starting the ping servers"
  start_all ping
  start_server costream ping-try costream_try || die "cannot start the costream server (ping-try)"
  start_server costream ping-drain costream_drain || die "cannot start the costream server (ping-drain)"
  local s r impls=(costream costream_try costream_drain "${VARIANT_IMPLS[@]}" asio epoll "${PEER_IMPLS[@]}")
  for s in "${impls[@]}"; do timeout 30 "$LC" ping -p "${SPORT[$s]}" -n 1000000000 -c 50 -P 32 -t 0.3 >/dev/null 2>&1; done
  for r in $(seq "$ROUNDS"); do
    for s in "${impls[@]}"; do
      measure lcping_c50_p32 "$r" "$s" 1e6 60 "$LC" ping -p "${SPORT[$s]}" -n 1000000000 -c 50 -P 32 -t "$TARGET_S"
    done
  done
  stop_all
}

run_churn() {
  log "churn: starting the ping servers"
  start_all ping
  local s r
  for s in "${IMPLS[@]}"; do timeout 30 "$LC" churn -p "${SPORT[$s]}" -c 16 -t 0.2 >/dev/null 2>&1; done
  for r in $(seq "$ROUNDS"); do
    for s in "${IMPLS[@]}"; do
      measure churn "$r" "$s" 1e6 60 "$LC" churn -p "${SPORT[$s]}" -c 16 -t "$TARGET_S"
    done
  done
  stop_all
}

# ---- line echo ------------------------------------------------------------------------------------
# costream runs three times: the plain readline() server, (as impl costream_try) the one that takes
# buffered lines as views with try_readline(), and (costream_drain) the README's idiom with
# co_await drain() after every write.
run_echo() {
  log "line echo: starting the echo servers"
  start_all echo
  start_server costream echo-try costream_try || die "cannot start the costream server (echo-try)"
  start_server costream echo-drain costream_drain || die "cannot start the costream server (echo-drain)"
  local conns s r impls=(costream costream_try costream_drain "${VARIANT_IMPLS[@]}" asio epoll "${PEER_IMPLS[@]}")
  for conns in 1 16; do
    for s in "${impls[@]}"; do timeout 30 "$LC" echo -p "${SPORT[$s]}" -n 200000 -c "$conns" -t 0.3 >/dev/null 2>&1; done
    for r in $(seq "$ROUNDS"); do
      for s in "${impls[@]}"; do
        measure "echo_c$conns" "$r" "$s" 1e6 60 "$LC" echo -p "${SPORT[$s]}" -n 100000000 -c "$conns" -t "$TARGET_S" -w 262144
      done
    done
  done
  stop_all
}

# ---- bulk: sink and echo --------------------------------------------------------------------------
run_bulk() {
  local mode client w s r
  for mode in sink bulk-echo; do
    if [ $mode = sink ]; then client=bulk w=bulk_sink; else client=bulk-echo w=bulk_echo; fi
    log "bulk ($mode): starting the $mode servers"
    start_all $mode
    for s in "${IMPLS[@]}"; do timeout 30 "$LC" $client -p "${SPORT[$s]}" -b $((64 << 20)) -t 2 >/dev/null 2>&1; done
    for r in $(seq "$BULK_ROUNDS"); do
      for s in "${IMPLS[@]}"; do
        measure $w "$r" "$s" 1073741824 60 "$LC" $client -p "${SPORT[$s]}" -b "$BULK_BYTES" -t 10
      done
    done
    stop_all
  done
}

# ---- fan-in: RSS per idle connection, a fresh echo server per measurement ---------------------------
fanin_one() { # IMPL CONNS ROUND
  local s=$1 n=$2 r=$3 out=$LOG/fanin-client.out rss0 rss1 i ready=
  start_server "$s" echo || { echo "fanin_$n,$r,$s,,," >>"$RAW"; return 1; }
  sleep 0.5 # start-up allocations settle before the baseline sample
  rss0=$(rss_kib "${SPID[$s]}")
  : >"$out"
  "$LC" fanin -p "${SPORT[$s]}" -c "$n" -t 120 >"$out" 2>>"$LOG/client.err" &
  CLIENT_PID=$!
  for i in $(seq 900); do # at most 90 s to open them all
    grep -q '^ready' "$out" && { ready=1; break; }
    kill -0 "$CLIENT_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$ready" ]; then
    sleep 0.3 # deferred work (closing sockets, freeing frames) settles before sampling
    rss1=$(rss_kib "${SPID[$s]}")
    record "fanin_$n" "$r" "$s" "$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN {printf "%.2f", (b - a) / n}')" 0 1 1 "$rss0->$rss1"
    log "fanin_$n round $r $s: RSS $rss0 -> $rss1 KiB, $(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN {printf "%.2f", (b - a) / n}') KiB/conn"
  else
    echo "fanin_$n,$r,$s,,," >>"$RAW"
    log "warn: fanin_$n round $r $s: the client did not get ready (see $LOG/client.err)"
  fi
  kill -TERM "$CLIENT_PID" 2>/dev/null
  wait "$CLIENT_PID" 2>/dev/null
  CLIENT_PID=
  stop_server "$s"
}

run_fanin() {
  local n s r
  for n in $FANIN_SIZES; do
    if [ "$FD_LIMIT" != unlimited ] && [ "$FD_LIMIT" -lt $((n + 64)) ]; then
      log "warn: ulimit -n is $FD_LIMIT: fan-in with $n connections skipped"
      continue
    fi
    for r in $(seq "$ROUNDS"); do
      for s in "${IMPLS[@]}"; do fanin_one "$s" "$n" "$r"; done
    done
  done
}

# ---- more than one core: costream on 1 and 2 threads, both ways -----------------------------------
# reuse-port N: N threads, each with its own io_context and server on the one port (the kernel
# spreads the connections); shared N: one io_context and server run by N threads, a strand per
# connection. Beside them, in the same rounds: the hand-written Asio server (1 thread: the
# ratio's base) and the peers, which use every core by default. load_client is one thread: on a
# 2-core machine a 2-thread server shares the second core with it.
run_threads() {
  local mode w l n s r impls client_args
  for mode in ping echo; do
    if [ $mode = ping ]; then w=threads_lcping_c50_p32 client_args=(ping -n 1000000000 -c 50 -P 32)
    else w=threads_echo_c16 client_args=(echo -n 100000000 -c 16 -w 262144); fi
    log "threads ($mode): starting the servers"
    impls=()
    for l in reuse-port shared; do
      for n in 1 2; do
        start_server costream $mode "costream_${l%%-*}$n" $l $n || die "cannot start the costream server ($mode $l $n)"
        impls+=("costream_${l%%-*}$n")
      done
    done
    start_server asio $mode || die "cannot start the asio server ($mode)"
    impls+=(asio)
    for s in "${PEER_IMPLS[@]}"; do
      start_server "$s" $mode || die "cannot start the $s server ($mode)"
      impls+=("$s")
    done
    for s in "${impls[@]}"; do timeout 30 "$LC" "${client_args[0]}" -p "${SPORT[$s]}" "${client_args[@]:1}" -t 0.3 >/dev/null 2>&1; done
    for r in $(seq "$ROUNDS"); do
      for s in "${impls[@]}"; do
        measure $w "$r" "$s" 1e6 60 "$LC" "${client_args[0]}" -p "${SPORT[$s]}" "${client_args[@]:1}" -t "$TARGET_S"
      done
    done
    stop_all
  done
}

# ---- in-memory ------------------------------------------------------------------------------------
run_inmemory() {
  log "in-memory: $BIN/inmemory $INMEMORY_ARGS"
  # shellcheck disable=SC2086
  timeout 300 "$BIN/inmemory" $INMEMORY_ARGS >"$LOG/inmemory.txt" 2>>"$LOG/inmemory.err" || log "warn: inmemory failed"
  cat "$LOG/inmemory.txt" >&2
}

# ---- run ------------------------------------------------------------------------------------------
LOAD_BEFORE=$(uptime | sed 's/.*load average: //')
T0=$(date +%s)
log "rounds $ROUNDS (bulk $BULK_ROUNDS), ${TARGET_S} s per run, workloads: $WORKLOADS${QUICK:+ (BENCH_QUICK)}"
for w in $WORKLOADS; do
  declare -F "run_$w" >/dev/null || die "unknown workload $w"
  "run_$w"
done
T1=$(date +%s)
LOAD_AFTER=$(uptime | sed 's/.*load average: //')

# ---- the table ------------------------------------------------------------------------------------
TABLE=$LOG/table.md
python3 - "$RAW" "$LOG/inmemory.txt" >"$TABLE" <<'PY' || die "could not make the table"
import csv, os, statistics, sys

raw, inmemory = sys.argv[1], sys.argv[2]
rows = {}
with open(raw) as f:
    for r in csv.DictReader(f):
        rows.setdefault(r["workload"], {}).setdefault(r["impl"], []).append(r)

def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None

def med(w, impl, field):
    vals = [num(r[field]) for r in rows.get(w, {}).get(impl, []) if num(r[field]) is not None]
    return statistics.median(vals) if vals else None

def fmt(v, digits):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"

def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "n/a"

# workload, label, figure, figure digits, cpu label (None: no CPU row)
WORKLOADS = [
    ("ping_c1_p1", "ping c1 P1 (redis-benchmark)", "req/s ↑", 0, "server CPU-s / M req ↓"),
    ("ping_c50_p1", "ping c50 P1 (redis-benchmark)", "req/s ↑", 0, "server CPU-s / M req ↓"),
    ("ping_c50_p32", "ping c50 P32 (redis-benchmark)", "req/s ↑", 0, "server CPU-s / M req ↓"),
    ("lcping_c50_p32", "ping c50 P32 (load_client)", "req/s ↑", 0, "server CPU-s / M req ↓"),
    ("churn", "churn, 16 loops", "conn/s ↑", 0, "server CPU-s / M conn ↓"),
    ("echo_c1", "line echo, 1 conn", "lines/s ↑", 0, "server CPU-s / M lines ↓"),
    ("echo_c16", "line echo, 16 conns", "lines/s ↑", 0, "server CPU-s / M lines ↓"),
    ("bulk_sink", "bulk sink, 64 KiB chunks", "MiB/s ↑", 0, "server CPU-s / GiB ↓"),
    ("bulk_echo", "bulk echo, 64 KiB chunks", "MiB/s ↑", 0, "server CPU-s / GiB ↓"),
]
for w in sorted((w for w in rows if w.startswith("fanin_")), key=lambda w: int(w.split("_")[1])):
    WORKLOADS.append((w, f"fan-in, {int(w.split('_')[1]):,} idle conns", "server KiB / conn ↓", 2, None))

# The peers (Go, tokio) have columns when they ran (run.sh skips one whose toolchain is missing).
PEERS = [p for p in ("go", "tokio") if any(p in byimpl for w, byimpl in rows.items() if not w.startswith("threads_"))]
OTHERS = ["asio", "epoll"] + PEERS
print("| workload | figure | costream | " + " | ".join(OTHERS) + " | " + " | ".join(f"costream/{o}" for o in OTHERS) + " |")
print("|---|---|" + "---:|" * (1 + 2 * len(OTHERS)))
for w, label, fig, digits, cpu in WORKLOADS:
    if w not in rows:
        continue
    lines = [(fig, "value", digits)]
    if cpu:
        lines.append((cpu, "cpu_per_unit", 3))
    # the plain row; costream_server built before the change being measured (BENCH_BEFORE); the
    # same workload served with try_readline's views (ping, echo)
    for first, suffix in (("costream", ""), ("before", ", before"), ("costream_uring", ", on io_uring"),
                          ("costream_drain", ", drain() after every write"), ("costream_try", ", try_readline view")):
        if first not in rows[w]:
            continue
        for name, field, d in lines:
            c = med(w, first, field)
            o = [med(w, i, field) for i in OTHERS]
            print(f"| {label}{suffix} | {name} | {fmt(c, d)} | " + " | ".join(fmt(x, d) for x in o) + " | "
                  + " | ".join(ratio(c, x) for x in o) + " |")

if os.path.exists(inmemory):
    for line in open(inmemory):
        kv = dict(p.split("=", 1) for p in line.split())
        if kv.get("op") == "floor":
            continue
        op = {"readline": "readline()", "readuntil": 'readuntil("\\r\\n")', "readexactly": "readexactly(n)",
              "try_readline": "try_readline() view"}[kv["op"]]
        print(f"| in-memory {op}, {kv['size']} B records | ns / op ↓, allocations / op | "
              f"{float(kv['ns_per_op']):.1f} ns, {float(kv['allocs_per_op']):.2f} |" + " — |" * (2 * len(OTHERS)))

# More than one core: costream on 1 and 2 threads both ways, the hand-written Asio server on one
# thread (the ratio's base) and the peers on their default runtimes, in the same rounds.
THREADS = [("threads_lcping_c50_p32", "ping c50 P32 (load_client)", "req/s ↑", "server CPU-s / M req ↓"),
           ("threads_echo_c16", "line echo, 16 conns", "lines/s ↑", "server CPU-s / M lines ↓")]
SERVERS = [("costream_reuse1", "costream, reuse_port", "1"), ("costream_reuse2", "costream, reuse_port", "2"),
           ("costream_shared1", "costream, shared io_context + strands", "1"),
           ("costream_shared2", "costream, shared io_context + strands", "2"),
           ("asio", "hand-written Asio", "1"), ("go", "Go (GOMAXPROCS default)", str(os.cpu_count())),
           ("tokio", "tokio multi-thread runtime", str(os.cpu_count()))]
if any(w in rows for w, *_ in THREADS):
    print()
    print("More than one core (workload `threads`): server threads, rate, server CPU per unit, rate / hand-written Asio's")
    print()
    print("| workload | server | threads | figure | server CPU | x asio |")
    print("|---|---|---:|---:|---:|---:|")
    for w, label, fig, cpu in THREADS:
        if w not in rows:
            continue
        base = med(w, "asio", "value")
        for key, name, n in SERVERS:
            if key not in rows[w]:
                continue
            v = med(w, key, "value")
            print(f"| {label} | {name} | {n} | {fmt(v, 0)} {fig} | {fmt(med(w, key, 'cpu_per_unit'), 3)} {cpu} | {ratio(v, base)} |")
PY

cat "$TABLE"

# ---- RESULTS.md -----------------------------------------------------------------------------------
RESULTS=$LOG/RESULTS.md
{
  echo "# costream benchmarks: results"
  echo
  echo "Written by \`./bench/run.sh\`${QUICK:+ (BENCH_QUICK=1: a smoke run, not a measurement)}; see bench/README.md for what each row measures."
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); wall time $((T1 - T0)) s; rounds: $ROUNDS (bulk $BULK_ROUNDS), interleaved costream, asio, epoll${PEER_IMPLS:+$(printf ', %s' "${PEER_IMPLS[@]}")} (and costream with try_readline for ping and line echo); figure = median; ${TARGET_S} s per timed run"
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "- load average (1, 5, 15 min): before $LOAD_BEFORE; after $LOAD_AFTER (the machine is shared: compare ratios, not absolute figures)"
  echo "- compilers: $(g++ --version | head -1); $(cmake --version | head -1);$(command -v go >/dev/null && echo " $(go version | cut -d' ' -f3);")$(command -v cargo >/dev/null && echo " $(rustc --version | cut -d' ' -f1-2), tokio $(ls -d /usr/share/cargo/registry/tokio-1.* 2>/dev/null | sed 's/.*tokio-//' | head -1);") asio $(sed -n 's/^#define ASIO_VERSION \([0-9]*\).*/\1/p' /usr/include/asio/version.hpp 2>/dev/null); $(redis-benchmark --version 2>/dev/null | head -1)"
  echo "- client and servers share the same cores; all traffic on 127.0.0.1; ulimit -n $FD_LIMIT"
  echo
  cat "$TABLE"
  echo
  python3 - "$RAW" "$LOG/inmemory.txt" <<'PY'
import csv, os, statistics, sys
raw, inmemory = sys.argv[1], sys.argv[2]
rows = {}
with open(raw) as f:
    for r in csv.DictReader(f):
        rows.setdefault(r["workload"], {}).setdefault(r["impl"], []).append(r)
def med(w, impl, field="value"):
    vals = []
    for r in rows.get(w, {}).get(impl, []):
        try:
            vals.append(float(r[field]))
        except ValueError:
            pass
    return statistics.median(vals) if vals else None
def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "**missed**")
def r(a, b):
    return a / b if a is not None and b else None
def f(v, spec):
    return "n/a" if v is None else format(v, spec)

# A Go bufio line-echo server measured on 2026-11-24 on this kind of machine with the same
# client method: the fallback when this run has no go column (go not installed).
GO_FIXED = {"echo_c1": 8712261, "echo_c16": 15575304}
GO = {w: med(w, "go") or GO_FIXED[w] for w in GO_FIXED}
GO_WHEN = {w: "this run" if med(w, "go") else "2026-11-24" for w in GO_FIXED}
print("## Targets")
print()
print("| target | figure | verdict |")
print("|---|---|---|")
x = r(med("ping_c50_p32", "costream"), med("ping_c50_p32", "epoll"))
print(f"| ping c50 P32 ≥ 0.8x epoll | {f(x, '.2f')}x | {verdict(None if x is None else x >= 0.8)} |")
x = med("ping_c50_p32", "costream", "cpu_per_unit")
print(f"| ping c50 P32 ≤ 0.3 CPU-s / M req | {f(x, '.3f')} | {verdict(None if x is None else x <= 0.3)} |")
x = med("ping_c50_p32", "costream_try", "cpu_per_unit")
print(f"| ping c50 P32 ≤ 0.3 CPU-s / M req, try_readline view | {f(x, '.3f')} | {verdict(None if x is None else x <= 0.3)} |")
for w in ("echo_c1", "echo_c16"):
    x = r(med(w, "costream"), GO[w])
    print(f"| line echo ({w[5:]}) ≥ 1.5x Go bufio ({GO[w]:,.0f} lines/s, {GO_WHEN[w]}) | {f(med(w, 'costream'), ',.0f')} lines/s = {f(x, '.2f')}x | {verdict(None if x is None else x >= 1.5)} |")
for w in ("echo_c1", "echo_c16"):
    x = r(med(w, "costream_try"), med(w, "epoll"))
    print(f"| line echo ({w[5:]}) with the zero-copy view (try_readline) ≥ 0.5x epoll | {f(med(w, 'costream_try'), ',.0f')} lines/s = {f(x, '.2f')}x | {verdict(None if x is None else x >= 0.5)} |")
for w in ("bulk_sink", "bulk_echo"):
    best = max([v for v in (med(w, "asio"), med(w, "epoll")) if v is not None], default=None)
    x = r(med(w, "costream"), best)
    print(f"| {w.replace('_', ' ')} ≥ 0.9x best of epoll/asio | {f(x, '.2f')}x | {verdict(None if x is None else x >= 0.9)} |")
for w, label in (("ping_c1_p1", "ping c1 P1"), ("ping_c50_p1", "ping c50 P1"), ("churn", "churn")):
    x = r(med(w, "costream", "cpu_per_unit"), med(w, "epoll", "cpu_per_unit"))
    print(f"| {label}: CPU per request within 10% of epoll | {f(x, '.2f')}x | {verdict(None if x is None else x <= 1.10)} |")
for w in sorted((w for w in rows if w.startswith("fanin_")), key=lambda w: int(w.split("_")[1])):
    x = med(w, "costream")
    print(f"| idle connection ≤ 2 KiB ({int(w.split('_')[1]):,} conns) | {f(x, '.2f')} KiB | {verdict(None if x is None else x <= 2.0)} |")
if os.path.exists(inmemory):
    for line in open(inmemory):
        kv = dict(p.split("=", 1) for p in line.split())
        if kv.get("op") == "readline" and kv.get("size") == "64":
            ns, al = float(kv["ns_per_op"]), float(kv["allocs_per_op"])
            print(f"| in-memory 64-byte readline < 50 ns, one allocation | {ns:.1f} ns, {al:.2f} allocations | {verdict(ns < 50 and al <= 1.0)} |")
# Round three: the idiom exactly as the README teaches it (co_await drain() after every write),
# idle memory, connection rate.
print()
print("Round three (the README's idiom: `co_await drain()` after every write; the `drain() after every write` rows):")
print()
print("| target | figure | verdict |")
print("|---|---|---|")
for w in ("echo_c1", "echo_c16"):
    x = r(med(w, "costream_drain"), med(w, "epoll"))
    print(f"| line echo ({w[5:]}), the idiom, ≥ 0.6x epoll | {f(med(w, 'costream_drain'), ',.0f')} lines/s = {f(x, '.2f')}x | {verdict(None if x is None else x >= 0.6)} |")
    x = r(med(w, "costream_drain", "cpu_per_unit"), med(w, "costream_try", "cpu_per_unit"))
    print(f"| line echo ({w[5:]}), the idiom: CPU per line ≤ 1.5x the try_readline view's | {f(x, '.2f')}x | {verdict(None if x is None else x <= 1.5)} |")
for w, label in (("ping_c1_p1", "ping c1 P1"), ("ping_c50_p1", "ping c50 P1")):
    c = med(w, "costream_drain", "cpu_per_unit")
    xa, xe = r(c, med(w, "asio", "cpu_per_unit")), r(c, med(w, "epoll", "cpu_per_unit"))
    print(f"| {label}, the idiom: CPU per request within 10% of hand-written Asio | {f(xa, '.2f')}x | {verdict(None if xa is None else xa <= 1.10)} |")
    print(f"| {label}, the idiom: CPU per request within 20% of epoll | {f(xe, '.2f')}x | {verdict(None if xe is None else xe <= 1.20)} |")
if os.path.exists(inmemory):
    for line in open(inmemory):
        kv = dict(p.split("=", 1) for p in line.split())
        if kv.get("op") == "readline" and kv.get("size") == "64":
            ns = float(kv["ns_per_op"])
            print(f"| in-memory 64-byte readline < 40 ns | {ns:.1f} ns | {verdict(ns < 40)} |")
for w in sorted((w for w in rows if w.startswith("fanin_")), key=lambda w: int(w.split("_")[1])):
    x = med(w, "costream")
    print(f"| idle connection ≤ 1.5 KiB ({int(w.split('_')[1]):,} conns) | {f(x, '.2f')} KiB | {verdict(None if x is None else x <= 1.5)} |")
x = r(med("churn", "costream"), med("churn", "asio"))
print(f"| churn ≥ 1.0x hand-written Asio's rate | {f(x, '.2f')}x | {verdict(None if x is None else x >= 1.0)} |")
x = r(med("churn", "costream", "cpu_per_unit"), med("churn", "epoll", "cpu_per_unit"))
print(f"| churn: CPU per connection within 10% of epoll | {f(x, '.2f')}x | {verdict(None if x is None else x <= 1.10)} |")
print()
print("## In-memory detail (thread CPU time; floor = memchr + a fresh std::string per record)")
print()
print("```")
if os.path.exists(inmemory):
    print(open(inmemory).read().rstrip())
print("```")
print()
print("## Every round")
print()
print("| workload | impl | figure per round | CPU per unit per round |")
print("|---|---|---|---|")
for w, byimpl in rows.items():
    for impl, rs in byimpl.items():
        cpu = "—" if w.startswith("fanin_") else ", ".join(r["cpu_per_unit"] or "-" for r in rs)
        print(f"| {w} | {impl} | {', '.join(r['value'] or 'failed' for r in rs)} | {cpu} |")
PY
} >"$RESULTS"
if [ -z "$QUICK" ]; then
  cp "$RESULTS" "$ROOT/bench/RESULTS.md"
  log "wrote bench/RESULTS.md (logs in $LOG)"
else
  log "BENCH_QUICK: results in $RESULTS (bench/RESULTS.md left alone)"
fi
