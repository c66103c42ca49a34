#!/usr/bin/env bash
# Runs every test of a built preset against real services: a throw-away PostgreSQL server is
# started on 127.0.0.1 for the duration (scripts/with-postgres.sh) and always stopped after.
set -euo pipefail
preset=${1:-asan}
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
scripts/lint.sh
scripts/with-postgres.sh ctest --preset "$preset" --timeout 300 -j 2
# Parsers of untrusted input, fuzzed for a bounded time (FUZZ_SECONDS per target).
scripts/run-fuzzers.sh "${FUZZ_SECONDS:-15}"
