#!/usr/bin/env bash
# Benchmark of the HTTP core: GET /healthz and the small JSON endpoint GET /api/config over
# keep-alive connections, measured with wrk. Reproducible: builds the release preset, starts
# parley on a free port with a throw-away SQLite database, runs wrk, prints the figures, stops.
#
#   bench/http/run.sh                 # defaults below
#   DURATION=20s CONNECTIONS=128 PARLEY_THREADS=2 bench/http/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-1}
export PARLEY_THREADS=${PARLEY_THREADS:-1}

scripts/install-deps.sh build bench >/dev/null
cmake --preset release >/dev/null
cmake --build build/release --target parley >/dev/null

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
DATABASE_URL="sqlite:///$work/bench.db" UPLOAD_DIR="$work/uploads" PARLEY_PORT=0 \
  PARLEY_ENV_FILE=/dev/null LOG_LEVEL="${LOG_LEVEL:-WARNING}" PARLEY_WEB_DIR=web \
  build/release/parley serve >"$work/out.log" 2>&1 &
pid=$!
# LOG_LEVEL defaults to WARNING so the access log (one line per request at INFO) is not measured;
# the port is read from the listening socket, which works at any log level.
for _ in $(seq 1 100); do
  port=$(ss -ltnp 2>/dev/null | awk -v p="pid=$pid," '$0 ~ p {split($4, a, ":"); print a[length(a)]}' | head -n1)
  [ -n "${port:-}" ] && break
  sleep 0.1
done
[ -n "${port:-}" ] || { echo "parley did not start"; cat "$work/out.log"; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "parley threads: $PARLEY_THREADS, wrk threads: $WRK_THREADS, connections: $CONNECTIONS, duration: $DURATION"
for path in /healthz /api/config; do
  echo
  echo "== GET $path"
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port$path" |
    awk '/Requests\/sec/ {print "requests/s: " $2}
         /^ +50%/ {print "latency p50: " $2}
         /^ +75%/ {print "latency p75: " $2}
         /^ +90%/ {print "latency p90: " $2}
         /^ +99%/ {print "latency p99: " $2}
         /Non-2xx/ {print "NON-2xx responses: " $NF}
         /Socket errors/ {print "socket errors: " $0}'
done
