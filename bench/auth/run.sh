#!/usr/bin/env bash
# Benchmark of the accounts endpoints with wrk: login throughput (bound by bcrypt: reported as
# hashes/s per worker core) and an authenticated GET /api/me (JWT check + session lookup).
# Builds the release preset and runs parley on a free port with a throw-away SQLite database.
#
#   bench/auth/run.sh
#   DURATION=20s PARLEY_WORKERS=2 PARLEY_BCRYPT_COST=12 bench/auth/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
export PARLEY_THREADS=${PARLEY_THREADS:-1}
export PARLEY_WORKERS=${PARLEY_WORKERS:-1}
export PARLEY_BCRYPT_COST=${PARLEY_BCRYPT_COST:-12}

scripts/install-deps.sh build bench >/dev/null
cmake --preset release >/dev/null
cmake --build build/release --target parley >/dev/null

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
DATABASE_URL="sqlite:///$work/bench.db" UPLOAD_DIR="$work/uploads" PARLEY_PORT=0 \
  PARLEY_ENV_FILE=/dev/null LOG_LEVEL=WARNING PARLEY_LOGIN_PER_MINUTE=1000000 \
  PARLEY_REGISTER_PER_HOUR=1000 JWT_SECRET_KEY=bench-secret-0123456789abcdef0123456789 \
  build/release/parley serve >"$work/out.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  port=$(ss -ltnp 2>/dev/null | awk -v p="pid=$pid," '$0 ~ p {split($4, a, ":"); print a[length(a)]}' | head -n1)
  [ -n "${port:-}" ] && break
  sleep 0.1
done
[ -n "${port:-}" ] || { echo "parley did not start"; cat "$work/out.log"; exit 1; }
base="http://127.0.0.1:$port"

body='{"email":"bench@example.test","username":"bench","password":"a long bench passphrase"}'
token=$(curl -sf -H 'Content-Type: application/json' -d "$body" "$base/api/register" |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')
[ -n "$token" ] || { echo "registration failed"; exit 1; }

cat >"$work/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.test","password":"a long bench passphrase"}'
LUA

report() {
  awk '/Requests\/sec/ {print "requests/s: " $2}
       /^ +50%/ {print "latency p50: " $2}
       /^ +99%/ {print "latency p99: " $2}
       /Non-2xx/ {print "NON-2xx responses: " $NF}'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "network threads: $PARLEY_THREADS, worker threads: $PARLEY_WORKERS, bcrypt cost: $PARLEY_BCRYPT_COST"
echo
echo "== POST /api/login (one bcrypt verification per request)"
# Two requests in flight per worker keep every worker busy without queueing past wrk's timeout.
login=$(wrk -t1 -c"$((PARLEY_WORKERS * 2))" -d"$DURATION" --timeout 30s --latency \
  -s "$work/login.lua" "$base/api/login" | report)
echo "$login"
rate=$(echo "$login" | awk '/requests\/s/ {print $2}')
awk -v r="$rate" -v w="$PARLEY_WORKERS" 'BEGIN {printf "bcrypt hashes/s per worker core: %.1f\n", r / w}'
echo
echo "== GET /api/me (bearer token: JWT verification + session lookup)"
wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" "$base/api/me" |
  report
