#!/usr/bin/env bash
# Side-by-side benchmark of the real-time layer: Parley against a reference server on the
# official Node `socket.io` 4.8 package (peers/node-socketio), both driven by the compiled load
# generator (loadgen/) with the same bytes, plus this machine's loopback floor. Reproducible:
# builds everything it runs, starts every server fresh for every scenario (server pinned to
# SERVER_CPUS, generator to GEN_CPUS), stops it, and prints a table. See README.md here.
#
#   bench/realtime/run.sh                  # the full run (about 8 minutes on 2 cores)
#   QUICK=1 bench/realtime/run.sh          # smoke run, about 1-2 minutes
#   SERVERS=parley SHAPES=1x1000 bench/realtime/run.sh
#
# env (defaults in brackets):
#   SERVERS ["parley node-socketio"]     which servers, in this order
#   SERVER_CPUS [0]  GEN_CPUS [1]        taskset CPU lists; empty = unpinned
#   PARLEY_THREADS [1]                   Parley's network threads (workers: Parley's default)
#   SHAPES ["100x10 10x100 1x1000@50"]   fan-out rooms x members[@p99 limit in ms]; one sender
#                                        per room
#   FANOUT_DELIVERIES [10000 ... 200000] the ladder, in offered deliveries/s; a shape's ladder
#                                        stops at the first step not sustained (loss, or p99
#                                        at or above its limit, P99_LIMIT_MS [10] by default)
#   DURATION [5] WARMUP [1]              seconds per step; the warm-up is not measured
#   CONNS [10000] CONNECT_CONCURRENCY [1000]   the idle-connections scenario
#   CHURN_RATES ["200 500 1000 2000 4000 8000"] offered joins/s (each then leaves)
#   (an empty SHAPES, CONNS or CHURN_RATES skips that scenario)
#   QUIET_WAIT [5]                       s to wait for other tenants' CPU use to calm down
#   BUILD_JOBS [nproc]                   parallel compile jobs
#   RESULTS_DIR [bench/realtime/results/<stamp>]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BENCH=$ROOT/bench/realtime

FLOOR_CONNECTIONS=500
FLOOR_ROUNDS=400
# QUICK=1: a smoke run; it changes the defaults, not what the environment sets.
if [[ "${QUICK:-}" == 1 ]]; then
  SHAPES=${SHAPES-"10x100"}
  FANOUT_DELIVERIES=${FANOUT_DELIVERIES:-"10000 40000"}
  DURATION=${DURATION:-3}
  CONNS=${CONNS-1000}
  CHURN_RATES=${CHURN_RATES-200}
  QUIET_WAIT=${QUIET_WAIT:-0}
  FLOOR_ROUNDS=100
fi
SERVERS=${SERVERS:-"parley node-socketio"}
SERVER_CPUS=${SERVER_CPUS-0}
GEN_CPUS=${GEN_CPUS-1}
# One message to 1000 members is 1000 frames written one after the other on one core: the last
# member gets it 10-20 ms after the first, so that room's ladder is judged against 50 ms.
SHAPES=${SHAPES-"100x10 10x100 1x1000@50"}
FANOUT_DELIVERIES=${FANOUT_DELIVERIES:-"10000 20000 30000 40000 50000 60000 70000 80000 100000 120000 150000 200000"}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS-10000}
CONNECT_CONCURRENCY=${CONNECT_CONCURRENCY:-1000}
CHURN_RATES=${CHURN_RATES-"200 500 1000 2000 4000 8000"}
QUIET_WAIT=${QUIET_WAIT:-5}
P99_LIMIT_MS=${P99_LIMIT_MS:-10}
BUILD_JOBS=${BUILD_JOBS:-$(nproc)}
export PARLEY_THREADS=${PARLEY_THREADS:-1}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/$(date +%Y%m%d-%H%M%S)}
LOADGEN=$ROOT/build/bench-realtime/parley-loadgen
FLOOR=$ROOT/build/bench-realtime/loopback_floor

# --- build --------------------------------------------------------------------------------------
# Quiet unless a step fails: then its output and the step are shown.
quietly() { # quietly WHAT CMD...
  local what=$1 output
  shift
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    echo "run.sh: $what failed" >&2
    exit 1
  fi
}
# The generator needs only what Parley's build needs (g++, cmake, ninja, Boost 1.81 JSON and
# System); nodejs/npm run the reference peer.
quietly "installing build dependencies" scripts/install-deps.sh build
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "run.sh: node and npm are needed for the reference peer (scripts/install-deps.sh test)" >&2
  exit 1
fi
quietly "npm ci (the reference peer)" npm ci --prefix "$BENCH" --no-audit --no-fund
quietly "configuring parley" cmake --preset release
quietly "building parley" cmake --build build/release --target parley -j "$BUILD_JOBS"
quietly "configuring the load generator" \
  cmake -S "$BENCH/loadgen" -B build/bench-realtime -G Ninja -DCMAKE_BUILD_TYPE=Release
quietly "building the load generator" cmake --build build/bench-realtime -j "$BUILD_JOBS"
quietly "building the loopback floor" gcc -O2 -o "$FLOOR" "$BENCH/floor/loopback_floor.c"

# --- plumbing -----------------------------------------------------------------------------------
# One descriptor per connection, on both sides of the 10k-connection scenario.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$RESULTS_DIR"
OUT=$RESULTS_DIR/results.jsonl
LOG=$RESULTS_DIR/run.log
: >"$OUT"
# Parley's databases live in memory (tmpfs) when the machine has /dev/shm: the benchmark
# measures the server, not the disk, though Parley still stores every message (synchronous=FULL)
# before delivering it.
if [[ -d /dev/shm && -w /dev/shm ]]; then WORK=$(mktemp -d -p /dev/shm parley-rt.XXXXXX); else WORK=$(mktemp -d); fi
PORT=${PORT_BASE:-5800}
SPID=""

pin() { # pin CPUS cmd... : exec cmd under taskset when CPUS is set
  local cpus=$1
  shift
  if [[ -n "$cpus" ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# shellcheck source=bench/settle.sh
source "$ROOT/bench/settle.sh"

start_server() { # name: starts it fresh on a free port; sets SPID and PORT
  local name=$1
  while port_open "$PORT"; do PORT=$((PORT + 1)); done
  case "$name" in
    parley)
      mkdir -p "$WORK/$PORT"
      (
        export DATABASE_URL="sqlite:///$WORK/$PORT/bench.db" UPLOAD_DIR="$WORK/$PORT/uploads" \
          PARLEY_PORT="$PORT" PARLEY_ENV_FILE=/dev/null LOG_LEVEL=WARNING PARLEY_WEB_DIR="$ROOT/web" \
          PARLEY_GUESTS_PER_HOUR=1000000 PARLEY_SOCKET_EVENTS_PER_SECOND=1000000 \
          PARLEY_SOCKET_MAX_BUFFERED_BYTES=$((64 * 1024 * 1024))
        pin "$SERVER_CPUS" "$ROOT/build/release/parley" serve
      ) >>"$LOG" 2>&1 &
      ;;
    node-socketio)
      (pin "$SERVER_CPUS" node "$BENCH/peers/node-socketio/server.js" "$PORT") >>"$LOG" 2>&1 &
      ;;
    *)
      echo "run.sh: unknown server '$name' (parley, node-socketio)" >&2
      return 1
      ;;
  esac
  SPID=$! # the subshell exec'd into taskset and then the server: this is the server's PID
  for _ in $(seq 1 150); do
    if port_open "$PORT"; then
      wait_until_settled "$SPID"
      return 0
    fi
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  echo "run.sh: $name did not start listening on $PORT (see $LOG)" >&2
  stop_server
  return 1
}

stop_server() {
  [[ -z "$SPID" ]] && return 0
  kill -TERM "$SPID" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SPID" 2>/dev/null || true # by PID: only the server this script started
  wait "$SPID" 2>/dev/null || true
  SPID=""
  rm -rf "${WORK:?}/$PORT"
  PORT=$((PORT + 1)) # a fresh port per step: no TIME_WAIT or late packets from the last one
}

cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# step NAME GENERATOR-ARGS...: a fresh server, one generator run, the server stopped.
step() {
  local name=$1
  shift
  if ! start_server "$name"; then
    echo "{\"label\":\"$name\",\"error\":\"server did not start\"}" >>"$OUT"
    return 0
  fi
  # The generator's JSON lines go to the results, its progress lines to the log and here.
  (pin "$GEN_CPUS" timeout 300 "$LOADGEN" --port "$PORT" --server-pid "$SPID" --label "$name" \
    --quiet-wait "$QUIET_WAIT" --p99-limit-ms "$P99_LIMIT_MS" --max-seconds 240 "$@") \
    >>"$OUT" 2> >(tee -a "$LOG" >&2) ||
    echo "run.sh: the generator failed (exit $?); see $LOG" >&2
  stop_server
}

joined() { # joined SEP WORDS...: the words of a list variable, joined by SEP
  local IFS=$1
  shift
  echo "$*"
}

# --- run ----------------------------------------------------------------------------------------
T0=$(date +%s)
node -e 'console.log(JSON.stringify({scenario: "meta", date: new Date().toISOString(),
  git: process.argv[1], machine: process.argv[2], kernel: process.argv[3], node: process.version,
  socket_io: require(process.argv[4] + "/node_modules/socket.io/package.json").version,
  parley_threads: Number(process.argv[5]), server_cpus: process.argv[6], gen_cpus: process.argv[7],
  quick: process.argv[8] === "1"}))' \
  "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
  "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(uname -r)" \
  "$BENCH" "$PARLEY_THREADS" "$SERVER_CPUS" "$GEN_CPUS" "${QUICK:-0}" >>"$OUT"
echo "results -> $OUT (server cpus: ${SERVER_CPUS:-any}, generator cpus: ${GEN_CPUS:-any})" >&2

# The floor: sender CPU per ~150-byte frame over loopback TCP, one write() per frame (batch 1)
# and one writev() of 8 queued frames (batch 8). It pins itself to CPUs 0 (sender) and 1.
for batch in 1 8; do
  line=$(timeout 120 "$FLOOR" "$FLOOR_CONNECTIONS" "$FLOOR_ROUNDS" "$batch")
  echo "floor: $line" >&2
  echo "$line" | awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}
    sub("s$", "", v["wall"])
    printf "{\"scenario\":\"floor\",\"connections\":%d,\"batch\":%d,\"deliveries\":%d,", v["n"], v["batch"], v["deliveries"]
    printf "\"sender_cpu_us_per_delivery\":%s,\"wall_s\":%s}\n", v["sender_cpu_us_per_delivery"], v["wall"]}' >>"$OUT"
done

for name in $SERVERS; do
  echo "=== $name" >&2
  for spec in $SHAPES; do
    shape=${spec%@*}
    limit=$P99_LIMIT_MS
    [[ "$spec" == *@* ]] && limit=${spec#*@}
    rooms=${shape%x*}
    members=${shape#*x}
    # One sender per room: offered deliveries/s = rooms x rate x members.
    rates=$(for d in $FANOUT_DELIVERIES; do awk -v d="$d" -v n=$((rooms * members)) 'BEGIN {print d / n}'; done)
    # shellcheck disable=SC2086 # the list is split into words on purpose
    step "$name" --scenario fanout --rooms "$rooms" --members "$members" --senders "$rooms" \
      --rate "$(joined , $rates)" --duration "$DURATION" --warmup "$WARMUP" --p99-limit-ms "$limit"
  done
  for conns in $CONNS; do
    step "$name" --scenario conns --conns "$conns" --connect-concurrency "$CONNECT_CONCURRENCY" \
      --idle 3 --users 100
  done
  if [[ -n "$CHURN_RATES" ]]; then
    # shellcheck disable=SC2086 # the list is split into words on purpose
    step "$name" --scenario churn --churn-rate "$(joined , $CHURN_RATES)" --duration "$DURATION" \
      --warmup "$WARMUP"
  fi
done
echo "total $(($(date +%s) - T0)) s" >&2
node "$BENCH/report.js" "$OUT" | tee "$RESULTS_DIR/report.txt"
