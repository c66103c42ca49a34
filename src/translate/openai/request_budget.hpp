#pragma once
// Client-side rate limits for a metered API: requests per window AND tokens per window (OpenAI
// enforces both, per key and model). Keeping under them ourselves beats being refused with 429s:
// a refused request still costs a round trip, and a burst of them can get the key throttled.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "core/error.hpp"

namespace parley::translate {

struct BudgetLimits {
  /// Requests allowed in any `window`; 0: no limit.
  std::uint32_t requests = 0;
  /// Tokens allowed in any `window`; 0: no limit.
  std::uint64_t tokens = 0;
  /// The limits' period: a minute for OpenAI's RPM/TPM; shorter in tests.
  std::chrono::milliseconds window{std::chrono::minutes(1)};
};

/// A sliding-window log: every admitted request is remembered with its tokens until it leaves
/// the window, so "at most N in ANY window" holds exactly (a fixed window would allow 2N around
/// its boundary, and a token bucket a burst after idling, which the service counts otherwise).
/// Memory is bounded by the requests admitted in one window.
///
/// Thread-safe: any number of workers may acquire() at once. Waiters re-check after sleeping,
/// so admission is not strictly first-come first-served.
class RequestBudget {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using NowFunction = std::function<TimePoint()>;
  using SleepFunction = std::function<void(std::chrono::milliseconds)>;

  /// `now` defaults to std::chrono::steady_clock::now, `sleep` to std::this_thread::sleep_for;
  /// tests inject a manual clock whose sleep advances it.
  explicit RequestBudget(BudgetLimits limits, NowFunction now = {}, SleepFunction sleep = {});
  RequestBudget(const RequestBudget&) = delete;
  RequestBudget& operator=(const RequestBudget&) = delete;

  /// Admits one request expected to use `tokens`, blocking until both limits allow it. A request
  /// larger than the whole token limit is admitted once the window holds no tokens (refusing it
  /// forever would help nobody; the service decides). Errors: rate_limited, with retry_after,
  /// when admission would come after `deadline` (nothing is counted then).
  Result<void> acquire(std::size_t tokens, TimePoint deadline);

  /// Replaces the estimate charged by the last acquire() of this caller with the real usage
  /// (the reply's usage.total_tokens): more is charged now, less is refunded from the newest
  /// requests still in the window.
  void correct(std::size_t estimated, std::size_t actual);

  /// How long an acquire(tokens) would wait now (0: it would be admitted at once). Counts nothing.
  std::chrono::milliseconds wait_time(std::size_t tokens);

  const BudgetLimits& limits() const noexcept { return limits_; }
  /// The budget's clock: deadlines given to acquire() are on it.
  TimePoint now() const { return now_(); }

 private:
  struct Entry {
    TimePoint at;
    std::uint32_t requests;  // 1 for a request, 0 for a later correction
    std::uint64_t tokens;
  };
  // Under mutex_: forgets entries that left the window, then returns when a request of `tokens`
  // would be admitted (<= now: at once).
  TimePoint admission_time(TimePoint now, std::uint64_t tokens);

  const BudgetLimits limits_;
  const NowFunction now_;
  const SleepFunction sleep_;
  std::mutex mutex_;
  std::deque<Entry> entries_;  // oldest first
  std::uint64_t requests_in_window_ = 0;
  std::uint64_t tokens_in_window_ = 0;
};

}  // namespace parley::translate
