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

# The C++ is clang-formatted (.clang-format); `make format` fixes what this finds. The file
# list comes from git in a checkout of this project, else from the source folders.
if ! command -v clang-format >/dev/null 2>&1; then
  echo "lint: clang-format is missing (scripts/install-deps.sh test installs it)" >&2
  status=1
else
  if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
    list_sources() { git ls-files -z '*.cpp' '*.hpp'; }
  else
    list_sources() {
      find src tests bench -path '*/node_modules' -prune -o \( -name '*.cpp' -o -name '*.hpp' \) \
        -print0 2>/dev/null || true
    }
  fi
  if [ -z "$(list_sources | tr -d '\0')" ]; then
    echo "lint: found no C++ files to check" >&2
    status=1
  elif ! list_sources | xargs -0 clang-format --dry-run --Werror; then
    echo "lint: the files above are not clang-formatted (make format)" >&2
    status=1
  fi
fi

exit $status
