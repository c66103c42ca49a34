#!/usr/bin/env bash
# Nearby-query latency with 100k located rooms, SQLite and PostgreSQL side by side in one run,
# each next to a full scan of the same rooms (the cost without the spatial index).
#
#   bench/discovery/run.sh                 # 100k rooms, 400 queries per radius (a few minutes)
#   ROOMS=20000 QUERIES=100 bench/discovery/run.sh
#
# parley-discovery-bench (nearby_bench.cpp) is built from Parley's own modules into
# build/bench-discovery with the release preset's flags; PostgreSQL is a throw-away server from
# scripts/with-postgres.sh (fsync off). Results: bench/discovery/results/<stamp>.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOMS=${ROOMS:-100000}
QUERIES=${QUERIES:-400}
cmake -S bench/discovery -B build/bench-discovery -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/bench-discovery --target parley-discovery-bench -j "${BUILD_JOBS:-$(nproc)}" >/dev/null
mkdir -p bench/discovery/results
OUT=bench/discovery/results/$(date +%Y%m%d-%H%M%S).txt
scripts/with-postgres.sh sh -c 'exec build/bench-discovery/parley-discovery-bench --rooms "$0" --queries "$1" --postgres "$PARLEY_TEST_POSTGRES_URL"' \
  "$ROOMS" "$QUERIES" | tee "$OUT"
echo "written: $OUT"
