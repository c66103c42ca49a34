#!/usr/bin/env bash
# Installs the Debian 12 packages Parley needs, and only those that are missing.
# Usage: scripts/install-deps.sh [build] [test] [web] [bench]   (default: build)
# Idempotent: when everything is present it changes nothing and needs no network.
set -euo pipefail

declare -A WHY=(
  # --- build: compiling and linking parley -----------------------------------------------
  [g++]="the C++20 compiler (g++ 12)"
  [cmake]="the build system (presets need >= 3.25)"
  [ninja-build]="the generator named by CMakePresets.json"
  [pkg-config]="locating C libraries"
  [libboost1.81-dev]="Boost.Asio and Boost.Beast 1.81 headers (networking, HTTP, WebSocket)"
  [libboost-json1.81-dev]="Boost.JSON: every request and response body"
  [libboost-url1.81-dev]="Boost.URL: request targets and configured URLs"
  [libboost-system1.81-dev]="Boost.System: error codes and result<T>"
  [libsqlite3-dev]="SQLite, the embedded default database"
  [libpq-dev]="libpq, the PostgreSQL client for production deployments"
  [libssl-dev]="OpenSSL: the CSPRNG for ids and secrets"
  [libgtest-dev]="GoogleTest, linked by the test binaries (built with the project)"
  [libcrypt-dev]="libxcrypt: bcrypt password hashes (crypt_rn), compatible with Flask-Bcrypt's"
  [libavformat-dev]="FFmpeg demuxers: webm, ogg, wav, mp3, m4a and flac uploads and streams"
  [libavcodec-dev]="FFmpeg codecs: opus, vorbis, mp3, aac, flac decoding; opus and mp3 encoding"
  [libswresample-dev]="FFmpeg resampling to the recognizers' 16 kHz mono"
  [libavutil-dev]="FFmpeg's shared utilities (frames, channel layouts, options)"
  [libpocketsphinx-dev]="pocketsphinx: the embedded, offline en-US speech recognizer"
  [pocketsphinx-en-us]="pocketsphinx's en-US acoustic model, language model and dictionary"
  [libespeak-ng-dev]="espeak-ng: the embedded text-to-speech engine (many languages)"
  [libwebrtc-audio-processing-dev]="WebRTC's voice activity detector, which splits speech into utterances"
  [libcld2-dev]="CLD2: language detection of messages"
  [apertium]="Apertium's tools: the embedded, offline translation engine"
  [apertium-eng-spa]="Apertium English<->Spanish data"
  [apertium-eng-cat]="Apertium English<->Catalan data"
  [apertium-spa-cat]="Apertium Spanish<->Catalan data (also a pivot for other pairs)"
  [apertium-spa-ita]="Apertium Spanish<->Italian data (Italian through Spanish)"
  [apertium-en-gl]="Apertium English<->Galician data"
  [libhiredis-dev]="hiredis: the Redis client (broadcasts, presence, rate limits across processes)"
  # --- test: what make test starts or calls ------------------------------------------------
  [postgresql]="a real PostgreSQL 15 server that the tests start on 127.0.0.1"
  [curl]="HTTP checks in the shell-level tests"
  [clang]="clang 14 builds the libFuzzer targets (scripts/run-fuzzers.sh)"
  [clang-format]="scripts/lint.sh checks that the C++ is formatted as .clang-format says"
  [libclang-rt-14-dev]="libFuzzer and the sanitizer runtimes for clang"
  [libcurl4-openssl-dev]="libcurl: outbound HTTPS (Google sign-in, later OpenAI, ElevenLabs, Stripe)"
  [ffmpeg]="the ffmpeg CLI makes the tests' webm/opus, ogg, mp3, m4a and flac inputs"
  [pocketsphinx-testdata]="real recorded speech for the speech-to-text tests"
  [flite]="flite's slt voice speaks the tests' reference sentences"
  [nodejs]="Node.js builds the web client (esbuild) and runs the test tools: a local OpenID provider, socket.io-client, validators"
  [npm]="installs esbuild, socket.io-client and the Node test tools from package-lock.json"
  [chromium]="the real browser that the web client's tests drive (playwright-core, headless)"
  [fonts-wqy-microhei]="CJK glyphs, so that the Chinese interface in the browser tests' screenshots is legible"
  [redis-server]="a real Redis 7 server that the multi-process tests start on 127.0.0.1"
  [nginx]="nginx in front of two processes in the scale-out test; tests/deploy/check.sh runs nginx -t"
  [python3]="tests/deploy's live nginx check and its stand-in processes (also pulled in by build deps)"
  # --- bench ---------------------------------------------------------------------------------
  [wrk]="HTTP load generator used by bench/http"
)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build)

packages=()
for group in "${groups[@]}"; do
  case "$group" in
    build) packages+=(g++ cmake ninja-build pkg-config libboost1.81-dev libboost-json1.81-dev
                      libboost-url1.81-dev libboost-system1.81-dev libsqlite3-dev libpq-dev
                      libssl-dev libgtest-dev libcrypt-dev libcurl4-openssl-dev
                      libavformat-dev libavcodec-dev libswresample-dev libavutil-dev
                      libpocketsphinx-dev pocketsphinx-en-us libespeak-ng-dev
                      libwebrtc-audio-processing-dev libcld2-dev apertium apertium-eng-spa
                      apertium-eng-cat apertium-spa-cat apertium-spa-ita apertium-en-gl
                      libhiredis-dev) ;;
    test)  packages+=(postgresql curl clang clang-format libclang-rt-14-dev ffmpeg pocketsphinx-testdata flite
                      redis-server nginx python3 chromium fonts-wqy-microhei) ;;
    # A machine may already have Node from elsewhere (e.g. /usr/local); only without any `node`
    # and `npm` on PATH are Debian's packages needed.
    web)   command -v node >/dev/null 2>&1 || packages+=(nodejs)
           command -v npm >/dev/null 2>&1 || packages+=(npm) ;;
    bench) packages+=(wrk curl) ;;
    *) echo "install-deps: unknown group '$group' (build, test, web, bench)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  [ -n "${WHY[$pkg]:-}" ] || { echo "install-deps: $pkg has no reason listed" >&2; exit 2; }
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
