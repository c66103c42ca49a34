#!/usr/bin/env bash
# Project-specific checks that the compiler does not make. Exits non-zero on a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

# g++ 12.2 destroys a capturing lambda temporary inside a co_await expression twice
# (docs/architecture.md, "Coroutine rules"). Flag `co_await ...([` on one line.
if grep -rnE 'co_await[^;]*\(\s*\[[^]]+\]' --include='*.cpp' --include='*.hpp' src tests; then
  echo "lint: a capturing lambda inside a co_await expression (name it first; see docs/architecture.md)" >&2
  status=1
fi

exit $status
