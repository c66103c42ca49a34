#pragma once
// Chat messages in every listener's language. For each message the real-time layer hands over
// (with the languages its listeners read), the translator answers what it can at once from the
// cache, stores it, and queues the rest in the durable queue; its workers translate them and
// hand each result to the TranslationSink, which delivers it and then settles it (marks the job
// delivered). Socket-agnostic: who listens is the sink's business.
//
// Guarantees: a message is translated at most once per target language (the queue's
// (message, target) key, and the cache for the same text in other messages); a job accepted
// survives a crash (start() redelivers results finished but not delivered, and the queue runs
// what was queued or in flight); a pair no engine serves is reported as an error, never the
// source text passed off as a translation.
//
// Thread-safety: every method is thread-safe. Methods marked BLOCKING use the database or an
// engine: call them on workers.

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/quotas.hpp"
#include "translate/cache/translation_cache.hpp"
#include "translate/glossary/glossary_text.hpp"
#include "translate/queue/message_translations.hpp"
#include "translate/queue/queue_worker.hpp"
#include "translate/queue/translation_queue.hpp"
#include "translate/translation_engines.hpp"

namespace parley::translate {

/// The message a translation belongs to.
struct MessageRef {
  std::int64_t message_id = 0;
  std::int64_t room_id = 0;
};

/// Receives the results of queued translations (implemented by the real-time layer). Called on
/// the translator's worker threads, possibly concurrently; must not throw.
class TranslationSink {
 public:
  virtual ~TranslationSink() = default;
  /// `translation` of the message into translation.target is stored. Deliver it to the
  /// listeners, then call `settle` once (it marks the delivery done in the database; BLOCKS),
  /// under whatever lock orders deliveries against catch-up reads.
  virtual void translation_ready(const MessageRef& message, const Translation& translation,
                                 const std::function<void()>& settle) = 0;
  /// The message will not be translated into `target` (dead-lettered: `error` says why).
  virtual void translation_failed(const MessageRef& message, std::string_view target,
                                  const Error& error) = 0;
};

/// What can be said about one target at once, without I/O (see preview()).
struct TargetPreview {
  enum class State { ready, pending, refused };
  State state = State::pending;
  std::optional<Translation> translation;  ///< ready: from the in-memory cache
  std::optional<Error> error;              ///< refused: e.g. unsupported pair
};

/// The answer to a request for one message's translation (request()).
struct RequestOutcome {
  std::optional<MessageTranslation> settled;  ///< already delivered: here it is
  bool pending = false;                       ///< queued or running: the sink will deliver it
};

struct MessageTranslatorOptions {
  std::size_t threads = 2;
  std::string worker_name = "parley";
  /// See QueueWorkerOptions::lease.
  std::chrono::milliseconds lease{120'000};
  core::Logger* logger = nullptr;  ///< optional; must outlive the translator
  /// Whose plan pays for what (nullptr: nothing is limited); must outlive the translator. The
  /// payer of a message's translations is its sender; of a request, the one who asks. Each
  /// translation an engine makes counts the text's characters (cache hits are free), and the
  /// cloud engine needs Entitlement::cloud_engines.
  core::Quotas* quotas = nullptr;
  /// Rooms' glossaries (issue 11), honoured by every message translation (nullptr: none). A
  /// text a glossary applies to is never served from, nor stored in, the shared cache.
  GlossarySource* glossary = nullptr;
};

class MessageTranslator {
 public:
  /// Everything referenced must outlive the translator. Workers start with start().
  MessageTranslator(TranslationEngines& engines, TranslationQueue& queue, TranslationCache& cache,
                    MessageTranslations& stored, MessageTranslatorOptions options);
  ~MessageTranslator();
  MessageTranslator(const MessageTranslator&) = delete;
  MessageTranslator& operator=(const MessageTranslator&) = delete;

  /// Sets the sink and starts the workers; first hands the sink every result that finished
  /// before a crash but was never delivered (BLOCKING). Call once.
  Result<void> start(TranslationSink& sink);
  /// Stops the workers (jobs in flight are abandoned under their lease and run again later).
  void stop();

  /// The language of a chat text: CLD2, or `declared` for short or ambiguous text. ~100 us.
  std::string detect(std::string_view text, std::string_view declared) const;

  /// NON-BLOCKING (memory only): for each target other than `source`, whether the translation
  /// is known now (in-memory cache), will follow (pending) or cannot be made (refused).
  std::map<std::string, TargetPreview> preview(std::string_view text, std::string_view source,
                                               const std::set<std::string>& targets,
                                               std::int64_t room_id = 0) const;

  /// BLOCKING. Translates `text` (the message's, in `source`) into every target other than the
  /// source: cached translations are stored with the message at once (and handed to the sink,
  /// unless `announced` says the listeners already got them with the message); the others are
  /// queued. Targets no engine serves are skipped (preview() reported them). Errors: storage.
  /// `payer`: the sender (nullopt: nobody is charged). A target the payer's plan does not cover
  /// is handed to the sink as failed (quota_exceeded).
  /// `request_id`: what caused it (the HTTP request id, or "<socket id>:<event seq>"), kept
  /// with the queued jobs so that their log lines carry it; empty for none.
  Result<void> translate_message(const MessageRef& message, std::string_view text,
                                 std::string_view source, const std::set<std::string>& targets,
                                 const std::set<std::string>& announced,
                                 std::optional<std::int64_t> payer = std::nullopt,
                                 std::string_view request_id = {});

  /// BLOCKING. One message's translation into `target` on request: the settled translation when
  /// there is one, else the job is queued (once) and the sink will deliver it.
  /// Errors: validation_failed (target is the source), unsupported (no engine for the pair),
  /// the job's last error when it was dead-lettered, storage errors.
  /// `payer` is charged only when this request makes the translation (no job existed for it).
  /// `request_id`: as for translate_message().
  Result<RequestOutcome> request(const MessageRef& message, std::string_view text,
                                 std::string_view source, std::string_view target,
                                 std::optional<std::int64_t> payer = std::nullopt,
                                 std::string_view request_id = {});

  /// BLOCKING. A text that is not a message, translated now (through the cache).
  /// Errors: as Translator::translate.
  Result<Translation> translate_text(std::string_view text, std::string_view source,
                                     std::string_view target,
                                     std::optional<std::int64_t> payer = std::nullopt);

  /// BLOCKING. Settled translations of these messages into `language` (catch-up after a
  /// reconnect), see MessageTranslations::find_settled.
  Result<std::vector<MessageTranslation>> settled(std::span<const std::int64_t> message_ids,
                                                  std::string_view language);

  [[nodiscard]] TranslationEngines& engines() noexcept { return engines_; }

  /// Pauses or resumes this process's queue workers (the server is overloaded): queued jobs
  /// wait, durably, and run when resumed (or on another process). Thread-safe.
  void set_paused(bool paused);

 private:
  Result<Translation> run_job(const Job& job);
  bool glossary_applies(std::int64_t room_id, std::string_view text) const;
  /// Charges `payer` for translating `text` with `engine` (nothing without quotas or payer).
  Result<void> charge(std::optional<std::int64_t> payer, const Translator& engine,
                      std::string_view text);
  void refund(std::optional<std::int64_t> payer, std::string_view text) noexcept;
  void job_done(const Job& job, const Translation& translation);
  void job_dead(const Job& job, const Error& error);
  void log_warning(std::string_view event, boost::json::object fields) const;

  TranslationEngines& engines_;
  TranslationQueue& queue_;
  TranslationCache& cache_;
  MessageTranslations& stored_;
  MessageTranslatorOptions options_;
  TranslationSink* sink_ = nullptr;
  std::atomic<bool> paused_{false};
  std::unique_ptr<QueueWorker> worker_;  // last: stopped before the rest goes
};

/// `{"language","text","source","engine","via"}`: a translation as events and history show it.
boost::json::object to_json(const Translation& translation);

/// "pt-BR", "PT" and "pt" are the same listener language: the primary subtag, lower case
/// (normalize_language_tag), or the tag itself when it is not one.
std::string listener_language(std::string_view tag);

}  // namespace parley::translate
