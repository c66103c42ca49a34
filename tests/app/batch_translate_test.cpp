// `parley batch-translate`, run as the real executable: the embedded Apertium engine (Debian's
// apertium-eng-spa), a temporary SQLite database holding the durable queue, and for retries the
// OpenAI-compatible engine against tests/fakes/openai.mjs. Plus the line parser, in process.

#include "app/batch_translate.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/clock.hpp"
#include "store/database.hpp"
#include "support/child_process.hpp"
#include "support/fake_service.hpp"
#include "translate/queue/translation_queue.hpp"

namespace parley {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::run_to_completion;
using namespace std::chrono_literals;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::vector<std::string> keys_of(const json::object& object) {
  std::vector<std::string> keys;
  for (const auto& entry : object) keys.emplace_back(entry.key());
  return keys;
}

class BatchTranslateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("parley-batch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string database_url() const { return "sqlite:///" + (dir_ / "queue.db").string(); }

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> vars{
        {"PATH", "/usr/bin:/bin"},
        {"DATABASE_URL", database_url()},
        {"PARLEY_ENV_FILE", (dir_ / "none.env").string()},
        {"PARLEY_TRANSLATION_ENGINE", "apertium"},
    };
    if (const char* asan = std::getenv("ASAN_OPTIONS")) vars["ASAN_OPTIONS"] = asan;
    for (auto& [k, v] : extra) vars[k] = v;
    return vars;
  }

  fs::path write_input(const std::string& name, const std::string& content) const {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  static std::vector<json::object> parse_lines(const std::string& text) {
    std::vector<json::object> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      lines.push_back(json::parse(line).as_object());
    }
    return lines;
  }

  static std::string read_file(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  }

  /// The queue's counters, read from the database the command used.
  translate::QueueStats queue_stats() const {
    auto database = store::open_database(database_url());
    EXPECT_TRUE(database) << database.error().message;
    core::SystemClock clock;
    translate::TranslationQueue queue(**database, clock);
    auto stats = queue.stats();
    EXPECT_TRUE(stats) << stats.error().message;
    return *stats;
  }

  fs::path dir_;
};

TEST_F(BatchTranslateTest, TranslatesThroughTheQueueInInputOrderAndReportsFailedLines) {
  const auto in = write_input("in.jsonl",
                              "{\"id\": 1, \"text\": \"The house is big.\"}\n"
                              "{\"id\": \"b\", \"text\": \"Hello\", \"source\": \"en\"}\n"
                              "\n"
                              "{\"id\": 3, \"text\": oops}\n"
                              "{\"id\": [4], \"text\": \"La casa es grande y bonita.\"}\n"
                              "\"Where is the train station?\"\n");
  const auto out = dir_ / "out.jsonl";
  auto run = run_to_completion(
      {PARLEY_BINARY, "batch-translate", in.string(), out.string(), "--target", "es"}, env(), 60s);
  EXPECT_EQ(run.exit_code, 1) << run.err;  // one line failed
  EXPECT_EQ(run.out, "");
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));

  const auto lines = parse_lines(read_file(out));
  ASSERT_EQ(lines.size(), 5U) << read_file(out);
  using Keys = std::vector<std::string>;
  const Keys translated{"id", "line", "text", "translation", "source", "target", "engine", "via"};

  // Line 1: source detected (English), translated by Apertium.
  EXPECT_EQ(keys_of(lines[0]), translated);
  EXPECT_EQ(lines[0].at("id"), 1);
  EXPECT_EQ(lines[0].at("line"), 1);
  EXPECT_EQ(lines[0].at("text"), "The house is big.");
  EXPECT_TRUE(contains(lines[0].at("translation").as_string(), "casa")) << lines[0];
  EXPECT_EQ(lines[0].at("source"), "en");
  EXPECT_EQ(lines[0].at("target"), "es");
  EXPECT_EQ(lines[0].at("engine"), "apertium");
  EXPECT_EQ(lines[0].at("via"), json::array());

  // Line 2: the line's own source (a single word is too short to detect reliably).
  EXPECT_EQ(keys_of(lines[1]), translated);
  EXPECT_EQ(lines[1].at("id"), "b");
  EXPECT_EQ(lines[1].at("line"), 2);
  EXPECT_EQ(lines[1].at("translation"), "Hola");
  EXPECT_EQ(lines[1].at("source"), "en");

  // Line 4 (line 3 is blank): not JSON. It fails alone; the batch goes on.
  EXPECT_EQ(lines[2], json::parse(R"({"line":4,"error":{"code":"validation_failed",)"
                                  R"j("message":"the line is not valid JSON (syntax error)"}})j"));

  // Line 5: already Spanish, never passed off as a translation.
  EXPECT_EQ(lines[3], json::parse(R"({"id":[4],"line":5,"text":"La casa es grande y bonita.",)"
                                  R"("source":"es","target":"es",)"
                                  R"("skipped":"already in the target language"})"));
  EXPECT_EQ(keys_of(lines[3]), (Keys{"id", "line", "text", "source", "target", "skipped"}));

  // Line 6: a bare JSON string is the text; no id.
  EXPECT_EQ(keys_of(lines[4]),
            (Keys{"line", "text", "translation", "source", "target", "engine", "via"}));
  EXPECT_EQ(lines[4].at("line"), 6);
  EXPECT_EQ(lines[4].at("text"), "Where is the train station?");
  EXPECT_EQ(lines[4].at("source"), "en");
  EXPECT_FALSE(lines[4].at("translation").as_string().empty());

  EXPECT_TRUE(contains(run.err, "batch-translate: finished 5 lines")) << run.err;
  EXPECT_TRUE(contains(run.err, "3 translated, 1 already in the target language, 1 failed"))
      << run.err;

  // The three translations were durable jobs, finished and marked delivered.
  const auto stats = queue_stats();
  EXPECT_EQ(stats.done, 3);
  EXPECT_EQ(stats.dead, 0);
  EXPECT_EQ(stats.queued + stats.running, 0);
  EXPECT_EQ(stats.undelivered, 0);
}

TEST_F(BatchTranslateTest, WritesStandardOutputWithPerLineValidationAndThreads) {
  const std::string too_long(translate::kMaxTranslationBytes + 1, 'a');
  const auto in = write_input("in.jsonl",
                              "{\"id\": 7, \"text\": \"12345 !!!\"}\n"
                              "{\"text\": \"" +
                                  too_long +
                                  "\"}\n"
                                  "{\"id\": 9}\n"
                                  "{\"text\": \"Good morning, my friend.\"}");
  auto run = run_to_completion({PARLEY_BINARY, "batch-translate", in.string(), "-", "--target=es",
                                "--source", "en-GB", "--threads", "3"},
                               env(), 60s);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  const auto lines = parse_lines(run.out);
  ASSERT_EQ(lines.size(), 4U) << run.out;
  // --source applies to lines without their own: detection is not needed for line 1.
  EXPECT_EQ(lines[0].at("id"), 7);
  EXPECT_EQ(lines[0].at("source"), "en");
  EXPECT_EQ(lines[0].at("engine"), "apertium");
  EXPECT_EQ(lines[1], json::parse(R"({"line":2,"error":{"code":"validation_failed",)"
                                  R"("message":"the text is too long to translate )"
                                  R"j((at most 16384 bytes)"}})j"));
  EXPECT_EQ(lines[2], json::parse(R"({"id":9,"line":3,"error":{"code":"validation_failed",)"
                                  R"("message":"the line has no \"text\""}})"));
  EXPECT_EQ(lines[3].at("translation"), "Buenos días, mi amigo.");
  EXPECT_EQ(lines[3].at("source"), "en");
}

TEST_F(BatchTranslateTest, UndetectableTextFailsAloneAndAsksForASource) {
  const auto in = write_input("in.jsonl", "{\"id\": 7, \"text\": \"12345 !!!\"}\n\"Hello\"\n");
  auto run = run_to_completion(
      {PARLEY_BINARY, "batch-translate", in.string(), "-", "--target", "es"}, env(), 60s);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  const auto lines = parse_lines(run.out);
  ASSERT_EQ(lines.size(), 2U) << run.out;
  EXPECT_EQ(lines[0],
            json::parse(R"({"id":7,"line":1,"text":"12345 !!!","target":"es",)"
                        R"("error":{"code":"validation_failed",)"
                        R"("message":"the language could not be detected; give source"}})"));
}

TEST_F(BatchTranslateTest, EveryLineTranslatedExitsZero) {
  const auto in = write_input("in.jsonl", "{\"id\": 1, \"text\": \"The house is big.\"}\n");
  auto run = run_to_completion(
      {PARLEY_BINARY, "batch-translate", in.string(), "-", "--target", "es"}, env(), 60s);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "\"engine\":\"apertium\"")) << run.out;
}

TEST_F(BatchTranslateTest, UsageErrorsExitTwoWithTheUsageText) {
  const auto in = write_input("in.jsonl", "\"Hello\"\n");
  const std::string out = (dir_ / "out.jsonl").string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{}, "give an input and an output file"},
      {{in.string(), out}, "--target is required"},
      {{in.string(), out, "--target"}, "--target needs a language code"},
      {{in.string(), out, "--target", "spanish!"}, "--target needs a language code"},
      {{in.string(), out, "--target", "es", "--threads", "0"}, "--threads needs a number"},
      {{in.string(), out, "--target", "es", "--threads", "65"}, "--threads needs a number"},
      {{in.string(), out, "--target", "es", "--source", "??"}, "--source needs a language code"},
      {{in.string(), out, "--target", "es", "--frobnicate"}, "unknown option --frobnicate"},
      {{in.string(), out, "extra", "--target", "es"}, "unexpected argument \"extra\""},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv{PARLEY_BINARY, "batch-translate"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto run = run_to_completion(argv, env());
    EXPECT_EQ(run.exit_code, 2) << message;
    EXPECT_TRUE(contains(run.err, "parley batch-translate: " + message)) << run.err;
    EXPECT_TRUE(contains(run.err, "usage: parley batch-translate")) << run.err;
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(dir_ / "queue.db")) << "usage errors touch no database";

  auto help = run_to_completion({PARLEY_BINARY, "batch-translate", "--help"}, env());
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "usage: parley batch-translate")) << help.out;
  EXPECT_TRUE(contains(help.out, "submits every line again")) << help.out;
  auto top = run_to_completion({PARLEY_BINARY, "--help"}, env());
  EXPECT_TRUE(contains(top.out, "batch-translate IN.jsonl OUT.jsonl")) << top.out;
}

TEST_F(BatchTranslateTest, SetUpErrorsExitTwoAndWriteNothing) {
  const std::string out = (dir_ / "out.jsonl").string();
  auto missing = run_to_completion(
      {PARLEY_BINARY, "batch-translate", (dir_ / "missing.jsonl").string(), out, "--target", "es"},
      env());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "cannot read " + (dir_ / "missing.jsonl").string() +
                                        ": No such file or directory"))
      << missing.err;

  std::string many;
  for (std::size_t i = 0; i <= app::kMaxBatchLines; ++i) many += "\"x\"\n";
  const auto big = write_input("big.jsonl", many);
  auto too_many = run_to_completion(
      {PARLEY_BINARY, "batch-translate", big.string(), out, "--target", "es"}, env());
  EXPECT_EQ(too_many.exit_code, 2);
  EXPECT_TRUE(contains(too_many.err, "more than 100000 lines; split it")) << too_many.err;

  const auto in = write_input("in.jsonl", "\"Hello\"\n");
  auto unwritable =
      run_to_completion({PARLEY_BINARY, "batch-translate", in.string(),
                         (dir_ / "no" / "such" / "out.jsonl").string(), "--target", "es"},
                        env());
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_TRUE(contains(unwritable.err, "cannot create")) << unwritable.err;

  auto no_database =
      run_to_completion({PARLEY_BINARY, "batch-translate", in.string(), out, "--target", "es"},
                        env({{"DATABASE_URL", "postgresql://parley:x@127.0.0.1:1/parley"}}));
  EXPECT_EQ(no_database.exit_code, 2);
  EXPECT_TRUE(contains(no_database.err, "the database is unavailable")) << no_database.err;
  EXPECT_FALSE(fs::exists(out + ".tmp")) << "the temporary file is removed";

  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(dir_ / "queue.db"));
}

// The OpenAI-compatible engine, failing the way a busy service does: the engine's own retries
// give up, the queue runs the job again after its backoff, and the last word is the queue's.
class BatchTranslateOpenAiTest : public BatchTranslateTest {
 protected:
  static constexpr const char* kKey = "sk-parley-batch-0123456789abcdef";

  static void SetUpTestSuite() {
    fake_ = new testing::FakeService(
        {NODE_BINARY, FAKE_OPENAI},
        {{"PATH", "/usr/bin:/bin"}, {"FAKE_OPENAI_KEY", kKey}, {"FAKE_OPENAI_COMPLETION", "Hola"}});
  }
  static void TearDownTestSuite() {
    delete fake_;
    fake_ = nullptr;
  }
  void SetUp() override {
    BatchTranslateTest::SetUp();
    fake_->reset();
  }

  std::map<std::string, std::string> openai_env(std::map<std::string, std::string> extra) const {
    extra.emplace("PARLEY_TRANSLATION_ENGINE", "openai");
    extra.emplace("OPENAI_API_KEY", kKey);
    extra.emplace("OPENAI_BASE_URL", fake_->base_url() + "/v1");
    extra.emplace("PARLEY_TRANSLATION_BACKOFF_MS", "20");
    return env(std::move(extra));
  }

  /// `count` failures with `status`; the engine may retry at once (retry-after-ms: 1).
  static json::array failures(int status, int count) {
    json::array replies;
    for (int i = 0; i < count; ++i) {
      replies.push_back(
          json::object{{"status", status},
                       {"headers", json::object{{"retry-after-ms", "1"}}},
                       {"body", json::object{{"error", json::object{{"message", "try again later"},
                                                                    {"type", "server_error"},
                                                                    {"param", nullptr},
                                                                    {"code", nullptr}}}}}});
    }
    return replies;
  }

  static inline testing::FakeService* fake_ = nullptr;
};

TEST_F(BatchTranslateOpenAiTest, The429sAnd500sAreRetriedByTheQueue) {
  // 1 + 3 engine attempts per queue run: run 1 ends on 429s, run 2 on 500s, run 3 succeeds.
  json::array replies = failures(429, 4);
  for (auto& reply : failures(500, 4)) replies.push_back(reply);
  fake_->script(json::serialize(json::object{{"responses", replies}}));

  const auto in = write_input("in.jsonl", "{\"id\": 1, \"text\": \"Hello\", \"source\": \"en\"}\n");
  auto run = run_to_completion(
      {PARLEY_BINARY, "batch-translate", in.string(), "-", "--target", "es", "--threads", "1"},
      openai_env({}), 60s);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "{\"id\":1,\"line\":1,\"text\":\"Hello\",\"translation\":\"Hola\",\"source\":\"en\","
            "\"target\":\"es\",\"engine\":\"openai\",\"via\":[]}\n");
  EXPECT_EQ(fake_->requests().size(), 9U);
  EXPECT_TRUE(contains(run.err,
                       "1 translated, 0 already in the target language, 0 failed, "
                       "1 retried"))
      << run.err;
}

TEST_F(BatchTranslateOpenAiTest, AJobOutOfAttemptsIsReportedWithTheLastError) {
  json::array replies = failures(500, 4);
  for (auto& reply : failures(500, 4)) replies.push_back(reply);
  fake_->script(json::serialize(json::object{{"responses", replies}}));

  const auto in = write_input("in.jsonl", "{\"id\": \"x\", \"text\": \"Hello\"}\n");
  auto run = run_to_completion(
      {PARLEY_BINARY, "batch-translate", in.string(), "-", "--target", "es", "--source", "en"},
      openai_env({{"PARLEY_TRANSLATION_MAX_ATTEMPTS", "2"}}), 60s);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  const auto lines = parse_lines(run.out);
  ASSERT_EQ(lines.size(), 1U) << run.out;
  EXPECT_EQ(keys_of(lines[0]),
            (std::vector<std::string>{"id", "line", "text", "source", "target", "error"}));
  EXPECT_EQ(lines[0].at("id"), "x");
  EXPECT_EQ(lines[0].at("text"), "Hello");
  EXPECT_EQ(lines[0].at("error").at("code"), "unavailable") << lines[0];
  EXPECT_FALSE(lines[0].at("error").at("message").as_string().empty());
  EXPECT_EQ(fake_->requests().size(), 8U);
  EXPECT_TRUE(contains(run.err, "0 translated, 0 already in the target language, 1 failed"))
      << run.err;
  // A failed line is valid input again, as it is.
  auto again = app::parse_batch_line(json::serialize(lines[0]));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->text, "Hello");
  EXPECT_EQ(again->source, "en");
}

TEST(BatchTranslateLine, ParsesObjectsAndStrings) {
  auto object = app::parse_batch_line(R"({"id": {"row": 5}, "text": "Hi", "source": "en-US"})");
  ASSERT_TRUE(object) << object.error().message;
  EXPECT_EQ(object->id, json::value(json::object{{"row", 5}}));
  EXPECT_EQ(object->text, "Hi");
  EXPECT_EQ(object->source, "en");
  auto bare = app::parse_batch_line(R"("Hola")");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->id);
  EXPECT_EQ(bare->text, "Hola");
  EXPECT_FALSE(bare->source);
  auto no_source = app::parse_batch_line(R"({"text": "Hi", "source": null})");
  ASSERT_TRUE(no_source);
  EXPECT_FALSE(no_source->source);

  for (const char* bad :
       {"{", "42", "[\"a\"]", "{\"text\": 5}", "{\"text\": \"\"}", "\"\"", "{\"id\": 1}",
        "{\"text\": \"a\", \"source\": 3}", "{\"text\": \"a\", \"source\": \"und\"}", "\"\xff\""}) {
    auto parsed = app::parse_batch_line(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, Errc::validation_failed) << bad;
  }
}

}  // namespace
}  // namespace parley
