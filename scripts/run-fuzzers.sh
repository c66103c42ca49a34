#!/usr/bin/env bash
# Builds every libFuzzer target in tests/fuzz/*_fuzz.cpp with clang (ASan + UBSan) and runs each
# for a bounded time. Exits non-zero if a target fails to build or finds a crash, leak, timeout or
# undefined behaviour.
#
# Usage: scripts/run-fuzzers.sh [seconds-per-target] [target...]
#   seconds-per-target  default 20
#   target              e.g. "multipart"; default: every tests/fuzz/*_fuzz.cpp
# Environment: FUZZ_CXX overrides the compiler (default clang++, else clang++-14).
# Needs (Debian 12): clang libclang-rt-14-dev, plus the project's libboost1.81-dev headers.
#
# Each target names the project sources it needs in its header comment:
#   // fuzz-sources: src/net/multipart.cpp src/core/error.cpp
#   // fuzz-libs: -lboost_json        (optional)
set -euo pipefail

seconds=${1:-20}
if [[ $# -gt 0 ]]; then shift; fi
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "run-fuzzers: seconds-per-target must be a positive integer, got '$seconds'" >&2
  echo "usage: $0 [seconds-per-target] [target...]" >&2
  exit 2
fi

cd "$(dirname "$0")/.."
root=$PWD
out=$root/build/fuzz

cxx=${FUZZ_CXX:-}
if [[ -z $cxx ]]; then
  for candidate in clang++ clang++-14; do
    if command -v "$candidate" >/dev/null; then cxx=$candidate; break; fi
  done
fi
if [[ -z $cxx ]] || ! command -v "$cxx" >/dev/null; then
  echo "run-fuzzers: clang++ not found; install it with: apt-get install clang libclang-rt-14-dev" >&2
  exit 2
fi

mkdir -p "$out"
# libFuzzer and the sanitizer runtimes ship separately from the compiler on Debian; check them
# once with a trivial target so a missing package gives a clear message instead of a link error.
probe_src=$out/.probe.cpp
printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
  'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' \
  >"$probe_src"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe_src" -o "$out/.probe" 2>"$out/.probe.log"; then
  cat "$out/.probe.log" >&2
  echo "run-fuzzers: $cxx cannot link -fsanitize=fuzzer,address,undefined;" \
    "install: apt-get install clang libclang-rt-14-dev" >&2
  exit 2
fi

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for file in tests/fuzz/*_fuzz.cpp; do
    name=${file##*/}
    targets+=("${name%_fuzz.cpp}")
  done
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "run-fuzzers: no targets in tests/fuzz/*_fuzz.cpp" >&2
  exit 2
fi

# Same language level and macros as the CMake build; -O1 -g keeps reports readable.
cxxflags=(-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -Wall -Wextra -I"$root/src"
  -DBOOST_ASIO_NO_DEPRECATED -DBOOST_BEAST_USE_STD_STRING_VIEW)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for name in "${targets[@]}"; do
  src=tests/fuzz/${name}_fuzz.cpp
  if [[ ! -f $src ]]; then
    echo "run-fuzzers: no such target: $src" >&2
    failed+=("$name (missing)")
    continue
  fi
  read -r -a sources <<<"$(sed -n 's|^// fuzz-sources:||p' "$src" | tr '\n' ' ')"
  read -r -a libs <<<"$(sed -n 's|^// fuzz-libs:||p' "$src" | tr '\n' ' ')"
  for source in "${sources[@]}"; do
    if [[ ! -f $source ]]; then
      echo "run-fuzzers: $src lists '$source', which does not exist" >&2
      failed+=("$name (build)")
      continue 2
    fi
  done

  echo "== $name: building with $cxx"
  if ! "$cxx" "${cxxflags[@]}" "$src" "${sources[@]}" -o "$out/$name" "${libs[@]}"; then
    echo "run-fuzzers: $name failed to build" >&2
    failed+=("$name (build)")
    continue
  fi

  # New inputs go to build/fuzz/corpus/<name>; the committed seeds are only read.
  work=$out/corpus/$name
  artifacts=$out/artifacts/$name
  mkdir -p "$work" "$artifacts"
  seeds=()
  if [[ -d tests/fuzz/corpus/$name ]]; then seeds+=("tests/fuzz/corpus/$name"); fi
  dict=()
  if [[ -f tests/fuzz/$name.dict ]]; then dict+=("-dict=tests/fuzz/$name.dict"); fi
  log=$out/$name.log

  echo "== $name: fuzzing for ${seconds}s (log: ${log#"$root"/})"
  if "$out/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
      "$work" "${seeds[@]}" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done ' "$log" | sed "s/^/   /" || true
  else
    status=$?
    tail -n 60 "$log" >&2
    echo "run-fuzzers: $name FAILED (exit $status); reproducers in ${artifacts#"$root"/}/:" >&2
    ls -1 "$artifacts" >&2 || true
    failed+=("$name")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run-fuzzers: failed: ${failed[*]}" >&2
  exit 1
fi
echo "run-fuzzers: all ${#targets[@]} target(s) ran ${seconds}s without findings"
