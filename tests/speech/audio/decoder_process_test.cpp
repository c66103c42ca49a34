// The sandboxed decoder as the server uses it: a parley-audio-decoder child fed through pipes,
// whole files and MediaRecorder-style live WebM chunks, bad inputs, and misbehaving children.

#include "speech/audio/decoder_process.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "speech/audio/decoder.hpp"
#include "test_audio.hpp"

namespace parley::speech::audio {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

SandboxOptions sandbox() {
  SandboxOptions options;
  options.decoder_path = PARLEY_AUDIO_DECODER;
  options.deadline = 20s;
  return options;
}

TEST(DecoderProcess, WholeFilesMatchInProcessDecoding) {
  TempDir dir;
  const auto original = testing::goforward();
  for (const auto& [args, ext] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"-c:a", "libmp3lame"}, "mp3"},
           {{"-c:a", "aac"}, "m4a"},
           {{"-ar", "44100", "-ac", "2"}, "wav"},
           {{"-c:a", "libopus", "-f", "ogg"}, "ogg"}}) {
    const auto file = testing::encode(original, dir.path(), args, ext);
    auto sandboxed = decode_sandboxed(sandbox(), file);
    ASSERT_TRUE(sandboxed) << ext << ": " << sandboxed.error().message;
    auto direct = decode_all(file, InputFormat::probe, {});
    ASSERT_TRUE(direct);
    // From a pipe the MP3 demuxer cannot read the trailing tags it reads from memory, so the
    // lengths may differ by a frame; the rest is the same decoder on the same bytes.
    EXPECT_NEAR(static_cast<double>(sandboxed->samples.size()),
                static_cast<double>(direct->samples.size()), 1152.0)
        << ext;
    if (ext != "mp3") {
      EXPECT_EQ(sandboxed->samples, direct->samples) << ext;
    }
    EXPECT_GT(testing::envelope_similarity(original, sandboxed->samples), 0.9) << ext;
  }
}

TEST(DecoderProcess, M4aWithIndexAtTheEndDecodesFromAPipe) {
  TempDir dir;
  const auto original = testing::goforward();
  // Without +faststart the moov atom trails the data: the child must buffer and seek back.
  const auto file = testing::encode(original, dir.path(), {"-c:a", "aac", "-f", "mp4"}, "m4a");
  ASSERT_NE(file.find("moov"), std::string::npos);
  ASSERT_GT(file.find("moov"), file.find("mdat"));
  auto pcm = decode_sandboxed(sandbox(), file, InputFormat::m4a);
  ASSERT_TRUE(pcm) << pcm.error().message;
  EXPECT_NEAR(static_cast<double>(pcm->samples.size()), static_cast<double>(original.size()),
              80 * 16.0);
}

TEST(DecoderProcess, LiveWebmChunksStreamPcmBeforeTheEnd) {
  TempDir dir;
  // Two sentences, so the stream lasts long enough to see audio flow before finish().
  auto original = testing::goforward();
  const auto more = testing::goforward();
  original.insert(original.end(), more.begin(), more.end());
  const auto webm = testing::encode(
      original, dir.path(),
      {"-c:a", "libopus", "-f", "webm", "-live", "1", "-cluster_time_limit", "250"}, "webm");

  auto process = DecoderProcess::start(sandbox(), InputFormat::webm);
  ASSERT_TRUE(process) << process.error().message;
  std::vector<std::int16_t> pcm;
  std::size_t before_finish = 0;
  for (std::size_t offset = 0; offset < webm.size(); offset += 4096) {
    auto got = process->feed(std::string_view(webm).substr(offset, 4096));
    ASSERT_TRUE(got) << got.error().message;
    pcm.insert(pcm.end(), got->begin(), got->end());
    std::this_thread::sleep_for(30ms);  // chunks arrive over time, as from a browser
  }
  before_finish = pcm.size();
  auto rest = process->finish();
  ASSERT_TRUE(rest) << rest.error().message;
  pcm.insert(pcm.end(), rest->begin(), rest->end());

  EXPECT_GT(before_finish, original.size() / 4) << "PCM must flow while chunks arrive";
  EXPECT_NEAR(static_cast<double>(pcm.size()), static_cast<double>(original.size()), 80 * 16.0);
  EXPECT_GT(testing::envelope_similarity(original, pcm), 0.9);
}

TEST(DecoderProcess, EachLiveClusterComesBackWithTheFeedThatCarriedIt) {
  TempDir dir;
  const auto original = testing::goforward();
  const auto webm = testing::encode(
      original, dir.path(),
      {"-c:a", "libopus", "-f", "webm", "-live", "1", "-cluster_time_limit", "250"}, "webm");
  // MediaRecorder hands over whole clusters: split at each Cluster element (ID 1F 43 B6 75).
  const std::string cluster_id("\x1f\x43\xb6\x75", 4);
  std::vector<std::size_t> starts;
  for (auto at = webm.find(cluster_id); at != std::string::npos;
       at = webm.find(cluster_id, at + 4)) {
    starts.push_back(at);
  }
  ASSERT_GE(starts.size(), 4u);
  starts.push_back(webm.size());
  // The property is "with the feed that carried it", not a latency: on a loaded machine (ASan,
  // a parallel build) the child may start later than the 40 ms default and be paused mid-chunk
  // for longer than the 3 ms default.
  auto options = sandbox();
  options.settle = 2s;
  options.settle_pause = 100ms;
  auto process = DecoderProcess::start(options, InputFormat::webm);
  ASSERT_TRUE(process) << process.error().message;
  std::size_t previous = 0;
  std::vector<std::size_t> per_feed;
  for (std::size_t i = 0; i + 1 < starts.size(); ++i) {
    // The header and first cluster together, then one cluster per feed, without pauses.
    const auto end = starts[i + 1];
    auto got = process->feed(std::string_view(webm).substr(previous, end - previous));
    previous = end;
    ASSERT_TRUE(got) << got.error().message;
    per_feed.push_back(got->size());
  }
  // A cluster holds ~240 ms (3840 samples). The first feed may return nothing (the demuxer
  // reads ahead to learn the stream), but from then on every cluster's audio must come back
  // with the feed that carried it, not with the next one a quarter second later.
  for (std::size_t i = 1; i + 1 < per_feed.size(); ++i) {
    EXPECT_GE(per_feed[i], 3000u) << "feed " << i << " returned " << per_feed[i] << " samples";
  }
  auto rest = process->finish();
  ASSERT_TRUE(rest) << rest.error().message;
}

Error sandbox_error(std::string_view bytes, InputFormat format = InputFormat::probe,
                    SandboxOptions options = sandbox()) {
  auto pcm = decode_sandboxed(options, bytes, format);
  EXPECT_FALSE(pcm);
  return pcm ? Error{} : pcm.error();
}

TEST(DecoderProcess, ChildErrorsComeBackWithTheirCode) {
  TempDir dir;
  const auto original = testing::goforward();
  std::string garbage(20000, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7919 % 251);
  EXPECT_EQ(sandbox_error(garbage).code, Errc::unsupported_media_type);
  EXPECT_EQ(sandbox_error("").code, Errc::validation_failed);

  const auto mp3 = testing::encode(original, dir.path(), {"-c:a", "libmp3lame"}, "mp3");
  const auto mismatch = sandbox_error(mp3, InputFormat::webm);
  EXPECT_EQ(mismatch.code, Errc::unsupported_media_type);
  EXPECT_EQ(mismatch.message, "declared webm but the data is mp3");

  auto options = sandbox();
  options.limits.max_duration = 1s;
  const auto webm = testing::encode(original, dir.path(),
                                    {"-c:a", "libopus", "-f", "webm", "-live", "1"}, "webm");
  const auto too_long = sandbox_error(webm, InputFormat::webm, options);
  EXPECT_EQ(too_long.code, Errc::payload_too_large);
  EXPECT_EQ(too_long.message, "audio is longer than the 1 s limit");
}

TEST(DecoderProcess, ErrorSurfacesWhileStreaming) {
  TempDir dir;
  const auto mp3 = testing::encode(testing::goforward(), dir.path(), {"-c:a", "libmp3lame"}, "mp3");
  auto process = DecoderProcess::start(sandbox(), InputFormat::webm);
  ASSERT_TRUE(process);
  std::optional<Error> error;
  for (std::size_t offset = 0; offset < mp3.size() && !error; offset += 4096) {
    auto got = process->feed(std::string_view(mp3).substr(offset, 4096));
    if (!got) error = got.error();
  }
  if (!error) {
    auto rest = process->finish();
    ASSERT_FALSE(rest);
    error = rest.error();
  }
  EXPECT_EQ(error->code, Errc::unsupported_media_type);
  // Later calls repeat the failure.
  auto again = process->feed("more");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::unsupported_media_type);
}

TEST(DecoderProcess, HeaderClaimingGigabytesIsRefusedNotAllocated) {
  // Found by the fuzzer: FFmpeg's WAV demuxer allocates a LIST/INFO chunk's claimed size.
  TempDir dir;
  auto wav = testing::encode(testing::goforward(), dir.path(), {"-c:a", "pcm_s16le"}, "wav");
  const auto data_at = wav.find("data");
  ASSERT_NE(data_at, std::string::npos);
  wav.insert(data_at, std::string("LIST\x7f\x7f\x7f\x7fINFOINAM\x7f\x7f\x7f\x7f", 20));
  const auto error = sandbox_error(wav, InputFormat::wav);
  EXPECT_EQ(error.code, Errc::validation_failed) << error.message;
}

TEST(DecoderProcess, MissingExecutableIsUnavailable) {
  auto options = sandbox();
  options.decoder_path = "/nonexistent/parley-audio-decoder";
  auto process = DecoderProcess::start(options, InputFormat::webm);
  ASSERT_FALSE(process);
  EXPECT_EQ(process.error().code, Errc::unavailable);
  EXPECT_EQ(sandbox_error("abc", InputFormat::probe, options).code, Errc::unavailable);
}

// Stand-ins for a decoder gone wrong: shell scripts at the decoder path.
std::string script(const TempDir& dir, const std::string& name, const std::string& body) {
  const auto path = dir.path() / name;
  testing::write_file(path, "#!/bin/sh\n" + body + "\n");
  ::chmod(path.c_str(), 0755);
  return path.string();
}

TEST(DecoderProcess, HungChildHitsTheDeadline) {
  TempDir dir;
  auto options = sandbox();
  options.decoder_path = script(dir, "hang.sh", "exec /bin/sleep 30");
  options.deadline = 300ms;
  const auto started = std::chrono::steady_clock::now();
  const auto error = sandbox_error("data", InputFormat::probe, options);
  EXPECT_EQ(error.code, Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(DecoderProcess, CrashingChildIsAValidationFailure) {
  TempDir dir;
  auto options = sandbox();
  options.decoder_path = script(dir, "crash.sh", "kill -SEGV $$");
  const auto error = sandbox_error("data", InputFormat::probe, options);
  EXPECT_EQ(error.code, Errc::validation_failed);
  EXPECT_NE(error.message.find("signal 11"), std::string::npos) << error.message;
}

TEST(DecoderProcess, CpuLimitStopsASpinningChild) {
  TempDir dir;
  auto options = sandbox();
  options.decoder_path = script(dir, "spin.sh", "while :; do :; done");
  options.cpu_limit = 1s;
  options.deadline = 10s;
  const auto error = sandbox_error("data", InputFormat::probe, options);
  EXPECT_EQ(error.code, Errc::validation_failed);
  EXPECT_NE(error.message.find("CPU"), std::string::npos) << error.message;
}

TEST(DecoderProcess, ChildSeesAnEmptyEnvironmentAndNoExtraFiles) {
  TempDir dir;
  auto options = sandbox();
  // The script reports what it sees as its error line (FSIZE=0 forbids writing files).
  options.decoder_path = script(
      dir, "inspect.sh",
      "echo \"validation_failed env=[$(env | grep -v -e '^PWD=' -e '^[A-Z]*SAN_OPTIONS=' | tr "
      "'\\n' ',')] fds=[$(ls /proc/$$/fd | tr '\\n' ' ')] files=$(ulimit -f)\" >&2; exit 2");
  const auto error = sandbox_error("data", InputFormat::probe, options);
  EXPECT_EQ(error.code, Errc::validation_failed);
  EXPECT_NE(error.message.find("env=[]"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("files=0"), std::string::npos) << error.message;
  // stdin, stdout and stderr, plus the shell's handle on its script (10) and ls's directory (3):
  // nothing of the parent's.
  const auto fds_at = error.message.find("fds=[");
  ASSERT_NE(fds_at, std::string::npos);
  std::istringstream fds(
      error.message.substr(fds_at + 5, error.message.find(']', fds_at) - fds_at - 5));
  std::set<int> seen;
  for (int fd = 0; fds >> fd;) seen.insert(fd);
  EXPECT_TRUE(seen.contains(0) && seen.contains(1) && seen.contains(2)) << error.message;
  for (const int fd : seen) EXPECT_TRUE(fd <= 3 || fd == 10) << error.message;
}

TEST(DecoderProcess, DestroyingARunningProcessReturnsPromptly) {
  const auto started = std::chrono::steady_clock::now();
  {
    auto process = DecoderProcess::start(sandbox(), InputFormat::webm);
    ASSERT_TRUE(process);
    // Half an EBML header: the child now blocks reading stdin.
    auto got = process->feed("\x1a\x45\xdf\xa3");
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->empty());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
}  // namespace parley::speech::audio
