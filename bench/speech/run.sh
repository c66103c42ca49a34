#!/usr/bin/env bash
# Speech benchmarks (issue 5): real-time factor per engine, end of speech -> final text through
# the real server, and how many simultaneous speakers 2 cores sustain in real time.
#
#   bench/speech/run.sh            # the full run, about 6-8 minutes on 2 cores (plus builds)
#   QUICK=1 bench/speech/run.sh    # smoke run, about 1-2 minutes (plus builds)
#
# 1. parley-speech-bench (bench/speech/engines_bench.cpp, built from Parley's own speech modules
#    into build/bench-speech): pocketsphinx RTF (fast and default settings, 1 and 2 threads),
#    sandboxed webm/opus decoding, VAD, espeak-ng, OpenAI client overhead (local fake only).
# 2. stream_bench.mjs: the release `parley serve` on 127.0.0.1, N speakers streaming webm/opus
#    in real time over socket.io-client, for N in SPEAKERS.
# Audio is made by prepare_audio.mjs (flite's slt voice + ffmpeg; pocketsphinx-testdata
# recordings when installed). Results: bench/speech/results/<stamp>/ (engines.jsonl,
# streams.jsonl, run.log).
#
# env (defaults in brackets):
#   SPEAKERS ["1 2 4 6 8"]   simultaneous real-time speakers, one fresh server per N
#   STREAM_REPEAT [2]        times each speaker streams the 19 s, 6-sentence recording per N
#   REPEAT [3]               passes over the recordings in the engine benchmarks
#   MODES ["fast default"]   pocketsphinx settings (fast = -fwdflat no -bestpath no, Parley's)
#   PARLEY_THREADS [1]       Parley's network threads (speech threads keep the default: cores)
#   GAP_MS [1200]            silence between sentences in the streamed recording
#   BUILD_JOBS [nproc]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BENCH=$ROOT/bench/speech

if [[ "${QUICK:-}" == 1 ]]; then
  SPEAKERS=${SPEAKERS:-"1 4"}
  STREAM_REPEAT=${STREAM_REPEAT:-1}
  REPEAT=${REPEAT:-1}
  MODES=${MODES:-"fast"}
fi
SPEAKERS=${SPEAKERS:-"1 2 4 6 8"}
STREAM_REPEAT=${STREAM_REPEAT:-2}
REPEAT=${REPEAT:-3}
MODES=${MODES:-"fast default"}
GAP_MS=${GAP_MS:-1200}
BUILD_JOBS=${BUILD_JOBS:-$(nproc)}
export PARLEY_THREADS=${PARLEY_THREADS:-1}
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
for tool in flite ffmpeg ffprobe node; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed (scripts/install-deps.sh test)" >&2; exit 1; }
done
[[ -d node_modules/socket.io-client ]] || quietly "npm ci (socket.io-client)" npm ci --no-audit --no-fund

# --- build: never the asan build; the release preset, and the bench in its own folder ---------
quietly "configuring parley (release)" cmake --preset release
quietly "building parley" cmake --build build/release --target parley parley-audio-decoder -j "$BUILD_JOBS"
quietly "configuring parley-speech-bench" \
  cmake -S "$BENCH" -B build/bench-speech -G Ninja -DCMAKE_BUILD_TYPE=Release
quietly "building parley-speech-bench" cmake --build build/bench-speech --target parley-speech-bench -j "$BUILD_JOBS"

mkdir -p "$RESULTS_DIR"
LOG=$RESULTS_DIR/run.log
WORK=$(mktemp -d)
FAKE_PID=""
cleanup() {
  if [[ -n "$FAKE_PID" ]]; then kill "$FAKE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

{
  echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ has uncommitted changes)')"
  echo "# $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# SPEAKERS='$SPEAKERS' STREAM_REPEAT=$STREAM_REPEAT REPEAT=$REPEAT MODES='$MODES' PARLEY_THREADS=$PARLEY_THREADS GAP_MS=$GAP_MS"
} | tee "$LOG"

node "$BENCH/prepare_audio.mjs" "$WORK/audio" "$GAP_MS" >/dev/null
MANIFEST=$WORK/audio/manifest.json
mapfile -t UTTS < <(node -e 'const m=require(process.argv[1]);for(const u of m.utterances)console.log(u.wav+"="+u.text)' "$MANIFEST")
UTT_ARGS=()
for u in "${UTTS[@]}"; do UTT_ARGS+=(--utt "$u"); done

# The OpenAI fake (tests/fakes/openai.mjs) on a free port of 127.0.0.1, for the client overhead.
OPENAI_ARGS=()
node tests/fakes/openai.mjs >"$WORK/fake.out" 2>&1 &
FAKE_PID=$!
for _ in $(seq 50); do
  if grep -q '^listening' "$WORK/fake.out"; then break; fi
  sleep 0.1
done
if FAKE_PORT=$(sed -n 's/^listening //p' "$WORK/fake.out") && [[ -n "$FAKE_PORT" ]]; then
  OPENAI_ARGS=(--openai-url "http://127.0.0.1:$FAKE_PORT/v1")
fi

echo "## engines (parley-speech-bench)" | tee -a "$LOG"
timeout 600 build/bench-speech/parley-speech-bench "${UTT_ARGS[@]}" --webm "$WORK/audio/stream.webm" \
  --decoder build/release/parley-audio-decoder --repeat "$REPEAT" --modes "${MODES// /,}" \
  "${OPENAI_ARGS[@]}" >"$RESULTS_DIR/engines.jsonl" 2> >(tee -a "$LOG" >&2)
kill "$FAKE_PID" 2>/dev/null || true
wait "$FAKE_PID" 2>/dev/null || true
FAKE_PID=""

echo "## live streams (stream_bench.mjs, release parley, speech threads = cores)" | tee -a "$LOG"
timeout 900 node "$BENCH/stream_bench.mjs" --binary build/release/parley --manifest "$MANIFEST" \
  --speakers "${SPEAKERS// /,}" --repeat "$STREAM_REPEAT" --max-seconds $((60 + 45 * STREAM_REPEAT)) \
  >"$RESULTS_DIR/streams.jsonl" 2> >(tee -a "$LOG" >&2)
echo "results: $RESULTS_DIR" | tee -a "$LOG"
