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

# Every variable the configuration reads is documented in docs/configuration.md.
for name in $(grep -ohE '"(PARLEY_[A-Z0-9_]+|[A-Z][A-Z0-9]*_[A-Z0-9_]+)"' src/core/config.cpp | tr -d '"' | sort -u); do
  if ! grep -q "\`$name\`" docs/configuration.md; then
    echo "lint: $name is read by src/core/config.cpp but not documented in docs/configuration.md" >&2
    status=1
  fi
done

# The C++ is clang-formatted (.clang-format); `make format` fixes what this finds.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  sources=$(git ls-files '*.cpp' '*.hpp')
else
  sources=$(find src tests bench -name '*.cpp' -o -name '*.hpp' | grep -v node_modules)
fi
if ! echo "$sources" | xargs clang-format --dry-run --Werror; then
  echo "lint: the files above are not clang-formatted (make format)" >&2
  status=1
fi

exit $status
