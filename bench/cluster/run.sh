#!/usr/bin/env bash
# Fan-out across processes, side by side in one run (issue 8): the same fan-out ladder against
#   A  one Parley process on PostgreSQL, no Redis (the baseline);
#   B  one Parley process on PostgreSQL + Redis (every room broadcast is also PUBLISHed);
#   C  two Parley processes on one PostgreSQL + Redis, the clients split half/half between them
#      (client i on process i % 2: every sender on process 1, receivers on both), so half of the
#      deliveries cross processes through Redis.
# Driven by bench/realtime's compiled load generator (its --url list and --watch). Everything is
# started fresh per configuration and shape (a new database, a new Redis, new Parley processes)
# and stopped afterwards; the table is printed at the end. See README.md here.
#
#   bench/cluster/run.sh              # the full run, about 4-6 minutes on 2 cores
#   QUICK=1 bench/cluster/run.sh      # smoke run, about 2 minutes
#   CONFIGS="A C" SHAPES=10x100 FANOUT_DELIVERIES="20000 40000" bench/cluster/run.sh
#   node bench/cluster/report.js bench/cluster/results/<stamp>/results.jsonl   # table again
#
# env (defaults in brackets):
#   CONFIGS ["A B C"]                  which configurations, in this order (D: like C with the
#                                      second process on SERVER2_CPUS_D [1], next to the generator)
#   SERVER_CPUS [0]                    Parley process 1 (taskset list; empty = unpinned)
#   SERVER2_CPUS [0]                   Parley process 2 of C: the same core by default, so that
#                                      A, B and C get the same server CPU budget
#   GEN_CPUS [1]  AUX_CPUS [1]         the generator; Redis and PostgreSQL
#   PARLEY_THREADS [1]                 network threads per Parley process
#   SHAPES ["10x100 100x10:2000,...]   rooms x members[@p99 limit ms][:own ladder]; one sender
#                                      per room
#   FANOUT_DELIVERIES [10000 ... 60000] offered deliveries/s; a ladder stops at the first step
#                                      not sustained (loss, < 97 % delivered, p99 >= P99_LIMIT_MS)
#   P99_LIMIT_MS [50]                  not bench/realtime's 10 ms: every message is stored in
#                                      PostgreSQL first, whose tail alone passes 10 ms at 30k/s  DURATION [5]  WARMUP [1]  QUIET_WAIT [5]
#   PARLEY_BIN [build/release/parley, built here]   a prebuilt parley: skips building it
#   BUILD_JOBS [nproc]  RESULTS_DIR [bench/cluster/results/<stamp>]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BENCH=$ROOT/bench/cluster
LOADGEN_SRC=$ROOT/bench/realtime/loadgen
LOADGEN_BUILD=$ROOT/build/bench-cluster/loadgen
LOADGEN=$LOADGEN_BUILD/parley-loadgen
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

if [[ "${QUICK:-}" == 1 ]]; then
  SHAPES=${SHAPES-"10x100"}
  FANOUT_DELIVERIES=${FANOUT_DELIVERIES:-"10000 30000 40000"}
  DURATION=${DURATION:-4}
  QUIET_WAIT=${QUIET_WAIT:-0}
fi
CONFIGS=${CONFIGS:-"A B C"}
SERVER_CPUS=${SERVER_CPUS-0}
SERVER2_CPUS=${SERVER2_CPUS-$SERVER_CPUS}
SERVER2_CPUS_D=${SERVER2_CPUS_D-1}
GEN_CPUS=${GEN_CPUS-1}
AUX_CPUS=${AUX_CPUS-1}
# Rooms of 10 store ten times as many messages per delivery: on PostgreSQL they top out near
# 6k deliveries/s (about 600 messages/s), so they get a ladder of their own.
SHAPES=${SHAPES-"10x100 100x10:2000,4000,6000,8000"}
FANOUT_DELIVERIES=${FANOUT_DELIVERIES:-"10000 20000 30000 40000 50000 60000"}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
QUIET_WAIT=${QUIET_WAIT:-5}
P99_LIMIT_MS=${P99_LIMIT_MS:-50}
BUILD_JOBS=${BUILD_JOBS:-$(nproc)}
export PARLEY_THREADS=${PARLEY_THREADS:-1}

# --- build (once, before PostgreSQL is started) ---------------------------------------------------
quietly() { # quietly WHAT CMD...: quiet unless the command fails
  local what=$1 output
  shift
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    echo "run.sh: $what failed" >&2
    exit 1
  fi
}
if [[ -z "${BENCH_CLUSTER_INNER:-}" ]]; then
  for tool in redis-server "$PG_BIN/createdb" taskset node; do
    command -v "$tool" >/dev/null || {
      echo "run.sh: $tool not found (redis-server, postgresql-15, util-linux, nodejs)" >&2
      exit 1
    }
  done
  if [[ -z "${PARLEY_BIN:-}" ]]; then
    quietly "configuring parley" cmake --preset release
    quietly "building parley" cmake --build build/release --target parley -j "$BUILD_JOBS"
  fi
  quietly "configuring the load generator" \
    cmake -S "$LOADGEN_SRC" -B "$LOADGEN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
  quietly "building the load generator" cmake --build "$LOADGEN_BUILD" -j "$BUILD_JOBS"
  # A throw-away PostgreSQL for the whole run (stopped and removed by with-postgres.sh).
  BENCH_CLUSTER_INNER=1 exec scripts/with-postgres.sh "$0" "$@"
fi
PARLEY_BIN=${PARLEY_BIN:-$ROOT/build/release/parley}
[[ "$PARLEY_BIN" == /* ]] || PARLEY_BIN=$ROOT/$PARLEY_BIN

# --- plumbing -------------------------------------------------------------------------------------
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS_DIR/logs"
OUT=$RESULTS_DIR/results.jsonl
LOG=$RESULTS_DIR/run.log
: >"$OUT"
if [[ -d /dev/shm && -w /dev/shm ]]; then WORK=$(mktemp -d -p /dev/shm parley-cluster.XXXXXX); else WORK=$(mktemp -d); fi

PG_URL=${PARLEY_TEST_POSTGRES_URL:?run.sh: no PostgreSQL (expected from scripts/with-postgres.sh)}
PG_HOSTPORT=${PG_URL#*@}
PG_HOSTPORT=${PG_HOSTPORT%%/*}
PG_PORT=${PG_HOSTPORT##*:}
# The postmaster (listening on PG_PORT): pinned to AUX_CPUS with its children, so that backends
# forked later inherit the mask; its whole tree is measured.
PG_PID=$(ss -Hltnp "sport = :$PG_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
if [[ -n "$PG_PID" && -n "$AUX_CPUS" ]]; then
  for pid in "$PG_PID" $(pgrep -P "$PG_PID" || true); do
    taskset -a -cp "$AUX_CPUS" "$pid" >/dev/null 2>&1 || true
  done
fi

SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
JWT_SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# Identical on every process: tokens issued by one are accepted by the others only when the
# key and the issuer (BACKEND_URL, by default http://localhost:<own port>) are the same.
export SECRET_KEY JWT_SECRET_KEY BACKEND_URL=http://localhost:5000 FRONTEND_URL=http://localhost:5000

PORT=${PORT_BASE:-5900}
PIDS=() # everything this script started (servers, Redis): stopped by PID
REDIS_PID=""
DBN=0

pin() { # pin CPUS cmd...: exec cmd under taskset when CPUS is set
  local cpus=$1
  shift
  if [[ -n "$cpus" ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
next_port() {
  PORT=$((PORT + 1))
  while port_open "$PORT"; do PORT=$((PORT + 1)); done
}
wait_listening() { # wait_listening PORT PID WHAT
  for _ in $(seq 1 300); do
    port_open "$1" && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "run.sh: $3 did not start listening on $1 (see $LOG and $RESULTS_DIR/logs)" >&2
  return 1
}

# shellcheck source=bench/settle.sh
source "$ROOT/bench/settle.sh"

stop_all() { # the servers first, newest first, then Redis (it was started first)
  local pid i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[$i]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true # by PID: only what this script started
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  REDIS_PID=""
}
cleanup() {
  stop_all
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

start_redis() { # sets REDIS_PID, REDIS_PORT
  next_port
  REDIS_PORT=$PORT
  (pin "$AUX_CPUS" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
    --appendonly no --logfile "$RESULTS_DIR/logs/$1-redis.log") >>"$LOG" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  wait_listening "$REDIS_PORT" "$REDIS_PID" redis
}

start_parley() { # start_parley TAG NODE CPUS DATABASE_URL REDIS_URL: appends to SERVER_PIDS/PORTS
  local tag=$1 node=$2 cpus=$3 db=$4 redis=$5
  next_port
  mkdir -p "$WORK/$PORT/uploads"
  (
    export DATABASE_URL="$db" UPLOAD_DIR="$WORK/$PORT/uploads" PARLEY_PORT="$PORT" \
      PARLEY_ENV_FILE=/dev/null LOG_LEVEL=WARNING PARLEY_WEB_DIR="$ROOT/web" \
      PARLEY_NODE_ID="$node" PARLEY_GUESTS_PER_HOUR=1000000 \
      PARLEY_SOCKET_EVENTS_PER_SECOND=1000000 \
      PARLEY_SOCKET_MAX_BUFFERED_BYTES=$((64 * 1024 * 1024))
    unset REDIS_URL
    [[ -n "$redis" ]] && export REDIS_URL="$redis"
    pin "$cpus" "$PARLEY_BIN" serve
  ) >>"$RESULTS_DIR/logs/$tag-$node.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  SERVER_PIDS+=("$pid")
  SERVER_PORTS+=("$PORT")
  wait_listening "$PORT" "$pid" "parley $node" || return 1
  wait_until_settled "$pid"
}

# run_config CONFIG ROOMS MEMBERS LIMIT RATES: fresh database, Redis and servers; one ladder.
run_config() {
  local cfg=$1 rooms=$2 members=$3 limit=$4 rates=$5 tag procs=1 redis_url="" cpus2=$SERVER2_CPUS
  tag="$cfg-${rooms}x$members"
  case "$cfg" in
    A) ;;
    B) redis_url=yes ;;
    C) redis_url=yes procs=2 ;;
    D) redis_url=yes procs=2 cpus2=$SERVER2_CPUS_D ;;
    *) echo "run.sh: unknown configuration '$cfg' (A, B, C, D)" >&2; return 1 ;;
  esac
  DBN=$((DBN + 1))
  local db="bench_${DBN}_${cfg,,}"
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"
  local db_url="postgresql://postgres@127.0.0.1:$PG_PORT/$db"
  SERVER_PIDS=()
  SERVER_PORTS=()
  local watch="" urls=""
  if [[ -n "$redis_url" ]]; then
    start_redis "$tag" || return 0
    redis_url="redis://127.0.0.1:$REDIS_PORT"
  fi
  # The first process applies the migrations: the second starts once it listens.
  start_parley "$tag" node-1 "$SERVER_CPUS" "$db_url" "$redis_url" || { stop_all; return 0; }
  if ((procs == 2)); then
    start_parley "$tag" node-2 "$cpus2" "$db_url" "$redis_url" || { stop_all; return 0; }
  fi
  local i
  for i in "${!SERVER_PIDS[@]}"; do
    urls+="${urls:+,}http://127.0.0.1:${SERVER_PORTS[$i]}"
    watch+="${watch:+,}parley$((i + 1)):${SERVER_PIDS[$i]}"
  done
  [[ -n "$REDIS_PID" ]] && watch+=",redis:$REDIS_PID"
  [[ -n "$PG_PID" ]] && watch+=",postgres:$PG_PID"
  echo "=== $cfg: ${rooms}x$members, $procs Parley process(es)${redis_url:+ + Redis}; $urls" >&2
  (pin "$GEN_CPUS" timeout 300 "$LOADGEN" --url "$urls" --server-pid "${SERVER_PIDS[0]}" \
    --watch "$watch" --label "$cfg" --quiet-wait "$QUIET_WAIT" --max-seconds 280 \
    --scenario fanout --rooms "$rooms" --members "$members" --senders "$rooms" --rate "$rates" \
    --duration "$DURATION" --warmup "$WARMUP" --p99-limit-ms "$limit") \
    >>"$OUT" 2> >(tee -a "$LOG" >&2) ||
    echo "run.sh: the generator failed (exit $?); see $LOG" >&2
  # Redis' own counters: what went over the bus.
  if [[ -n "$REDIS_PID" ]]; then
    redis-cli -p "$REDIS_PORT" info stats 2>/dev/null | tr -d '\r' |
      grep -E '^(total_commands_processed|total_net_input_bytes|total_net_output_bytes|pubsub_channels)' |
      sed "s/^/redis $tag: /" >>"$LOG" || true
  fi
  # What the servers logged (LOG_LEVEL=WARNING: every line is a warning or worse), during the
  # run and while stopping.
  local f during=()
  for f in "$RESULTS_DIR/logs/$tag"-node-*.log; do during+=("$(grep -c . "$f" || true)"); done
  stop_all
  i=0
  for f in "$RESULTS_DIR/logs/$tag"-node-*.log; do
    local events
    events=$(head -n "${during[$i]}" "$f" | grep -o '"event":"[^"]*"' | cut -d'"' -f4 | sort |
      uniq -c | awk '{printf "%s\"%s\":%d", (NR > 1 ? "," : ""), $2, $1}' || true)
    echo "{\"scenario\":\"server_log\",\"label\":\"$cfg\",\"file\":\"$(basename "$f")\",\"lines_during_run\":${during[$i]},\"events_during_run\":{$events},\"lines_at_shutdown\":$(($(grep -c . "$f" || true) - during[i]))}" >>"$OUT"
    i=$((i + 1))
  done
}

# --- run ------------------------------------------------------------------------------------------
T0=$(date +%s)
node -e 'console.log(JSON.stringify({scenario: "meta", date: new Date().toISOString(),
  git: process.argv[1], machine: process.argv[2], kernel: process.argv[3],
  parley_threads: Number(process.argv[4]), server_cpus: process.argv[5],
  server2_cpus: process.argv[6], gen_cpus: process.argv[7], aux_cpus: process.argv[8],
  quick: process.argv[9] === "1", redis: process.argv[10], postgres: process.argv[11]}))' \
  "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
  "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(uname -r)" \
  "$PARLEY_THREADS" "$SERVER_CPUS" "$SERVER2_CPUS" "$GEN_CPUS" "$AUX_CPUS" "${QUICK:-0}" \
  "$(redis-server --version | grep -o 'v=[0-9.]*')" "$("$PG_BIN/postgres" --version)" >>"$OUT"
echo "results -> $OUT (parley cpus: ${SERVER_CPUS:-any}/${SERVER2_CPUS:-any}, generator: ${GEN_CPUS:-any}, redis+postgres: ${AUX_CPUS:-any})" >&2

for spec in $SHAPES; do
  ladder=$FANOUT_DELIVERIES
  if [[ "$spec" == *:* ]]; then
    ladder=${spec#*:}
    ladder=${ladder//,/ }
    spec=${spec%%:*}
  fi
  shape=${spec%@*}
  limit=$P99_LIMIT_MS
  [[ "$spec" == *@* ]] && limit=${spec#*@}
  rooms=${shape%x*}
  members=${shape#*x}
  rates=$(for d in $ladder; do awk -v d="$d" -v n=$((rooms * members)) 'BEGIN {print d / n}'; done | paste -sd,)
  for cfg in $CONFIGS; do
    run_config "$cfg" "$rooms" "$members" "$limit" "$rates"
  done
done
echo "total $(($(date +%s) - T0)) s" >&2

node "$BENCH/report.js" "$OUT" | tee "$RESULTS_DIR/report.txt"
