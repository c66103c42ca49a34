#!/usr/bin/env bash
# Translation benchmarks: translations/s and latency per engine on short chat sentences, and the
# durable queue's overhead per job, side by side in one run.
#
#   bench/translation/run.sh                            # the full run, about 1.5 minutes (plus build)
#   QUICK=1 bench/translation/run.sh                    # smoke run, 15-35 s (plus build)
#   PARLEY_BENCH_POSTGRES=1 bench/translation/run.sh    # the queue on PostgreSQL too
#
# parley-translation-bench (bench/translation/translation_bench.cpp, built from Parley's own
# translate, store, outbound and core modules into build/bench-translation) measures:
#   langid    CLD2 language detection through LanguageDetector;
#   apertium  ApertiumTranslator (Debian pairs): first use of a route, then latency and
#             translations/s with 1 and 2 threads, CPU per translation by pipeline stage;
#   openai    OpenAiTranslator + CurlHttpClient against the local fake tests/fakes/openai.mjs
#             (127.0.0.1) answering at once and after OPENAI_LATENCY_MS, 1/4/8 callers; the
#             client-side rate limit (120 requests per 1 s window);
#   queue     TranslationQueue + QueueWorker on SQLite files (WAL, synchronous=FULL) on disk and
#             on tmpfs, and on a throw-away PostgreSQL when PARLEY_BENCH_POSTGRES=1
#             (scripts/with-postgres.sh: fsync off).
# Results: bench/translation/results/<stamp>/ (translation.jsonl, table.txt, run.log).
#
# env (defaults in brackets):
#   QUICK [0]                  1: fewer passes and requests, one cold start per route
#   ONLY [langid,apertium,openai,queue]
#   OPENAI_LATENCY_MS [300]    the fake's scripted answer delay for the "realistic service" step
#   PARLEY_BENCH_POSTGRES [0]  1: run the binary under scripts/with-postgres.sh (adds a database)
#   DISK_DIR [mktemp -d]       where the on-disk SQLite file goes (default: under $TMPDIR or /tmp)
#   BUILD_JOBS [nproc]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BENCH=$ROOT/bench/translation

QUICK_ARGS=()
if [[ "${QUICK:-}" == 1 ]]; then QUICK_ARGS=(--quick); fi
ONLY=${ONLY:-langid,apertium,openai,queue}
OPENAI_LATENCY_MS=${OPENAI_LATENCY_MS:-300}
BUILD_JOBS=${BUILD_JOBS:-$(nproc)}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/$(date +%Y%m%d-%H%M%S)}

quietly() { # quietly WHAT CMD...: output only if it fails
  local what=$1 output
  shift
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    echo "run.sh: $what failed" >&2
    exit 1
  fi
}
command -v node >/dev/null || { echo "run.sh: node is needed (scripts/install-deps.sh)" >&2; exit 1; }
if [[ ! -d /usr/share/apertium/modes ]]; then
  echo "run.sh: no Apertium pairs installed; the apertium step will be skipped" >&2
fi

# --- build: the bench in its own folder, with the release preset's flags -----------------------
quietly "configuring parley-translation-bench" \
  cmake -S "$BENCH" -B build/bench-translation -G Ninja -DCMAKE_BUILD_TYPE=Release
quietly "building parley-translation-bench" \
  cmake --build build/bench-translation --target parley-translation-bench -j "$BUILD_JOBS"

mkdir -p "$RESULTS_DIR"
LOG=$RESULTS_DIR/run.log
WORK=$(mktemp -d)
DISK_DIR=${DISK_DIR:-$WORK}
SHM=$(mktemp -d -p /dev/shm parley-bench-translation.XXXXXX)
FAKE_PID=""
cleanup() {
  if [[ -n "$FAKE_PID" ]]; then kill "$FAKE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK" "$SHM"
  rm -f "$DISK_DIR"/translation-queue.db*
}
trap cleanup EXIT

{
  echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ has uncommitted changes)')"
  echo "# $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# QUICK=${QUICK:-0} ONLY=$ONLY OPENAI_LATENCY_MS=$OPENAI_LATENCY_MS PARLEY_BENCH_POSTGRES=${PARLEY_BENCH_POSTGRES:-0}"
  echo "# apertium $(dpkg-query -W -f='${Version}' apertium 2>/dev/null || echo '?'), pairs: $(ls /usr/share/apertium/modes 2>/dev/null | grep -E '^[a-z]{2,3}-[a-z]{2,3}\.mode$' | sed 's/\.mode$//' | tr '\n' ' ')"
  echo "# disk SQLite in $DISK_DIR ($(df --output=fstype "$DISK_DIR" | tail -1)), tmpfs SQLite in $SHM"
} | tee "$LOG"

# The OpenAI fake on a free port of 127.0.0.1 (from the repository root).
OPENAI_ARGS=()
node tests/fakes/openai.mjs >"$WORK/fake.out" 2>&1 &
FAKE_PID=$!
for _ in $(seq 50); do
  if grep -q '^listening' "$WORK/fake.out"; then break; fi
  sleep 0.1
done
if FAKE_PORT=$(sed -n 's/^listening //p' "$WORK/fake.out") && [[ -n "$FAKE_PORT" ]]; then
  OPENAI_ARGS=(--openai-url "http://127.0.0.1:$FAKE_PORT/v1" --openai-pid "$FAKE_PID"
    --openai-latency-ms "$OPENAI_LATENCY_MS")
else
  echo "run.sh: the OpenAI fake did not start; the openai step will be skipped" | tee -a "$LOG" >&2
fi

WRAP=()
if [[ "${PARLEY_BENCH_POSTGRES:-0}" == 1 ]]; then WRAP=(scripts/with-postgres.sh); fi

timeout 900 "${WRAP[@]}" build/bench-translation/parley-translation-bench "${QUICK_ARGS[@]}" \
  --only "$ONLY" --sentences "$BENCH/sentences.tsv" "${OPENAI_ARGS[@]}" \
  --db "sqlite-disk=sqlite:///$DISK_DIR/translation-queue.db" \
  --db "sqlite-tmpfs=sqlite:///$SHM/translation-queue.db" \
  --jsonl "$RESULTS_DIR/translation.jsonl" \
  2> >(tee -a "$LOG" >&2) | tee "$RESULTS_DIR/table.txt"
cat "$RESULTS_DIR/table.txt" >>"$LOG"
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG"
echo "results: $RESULTS_DIR" | tee -a "$LOG"
