#include "translate/openai/request_budget.hpp"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

namespace parley::translate {
namespace {

std::chrono::milliseconds ceil_ms(RequestBudget::TimePoint::duration d) {
  return std::max(std::chrono::ceil<std::chrono::milliseconds>(d), std::chrono::milliseconds(1));
}

}  // namespace

RequestBudget::RequestBudget(BudgetLimits limits, NowFunction now, SleepFunction sleep)
    : limits_(limits),
      now_(now ? std::move(now) : NowFunction([] { return std::chrono::steady_clock::now(); })),
      sleep_(sleep ? std::move(sleep) : SleepFunction([](std::chrono::milliseconds d) {
        std::this_thread::sleep_for(d);
      })) {}

RequestBudget::TimePoint RequestBudget::admission_time(TimePoint now, std::uint64_t tokens) {
  while (!entries_.empty() && entries_.front().at + limits_.window <= now) {
    requests_in_window_ -= entries_.front().requests;
    tokens_in_window_ -= entries_.front().tokens;
    entries_.pop_front();
  }
  const auto fits = [&](std::uint64_t requests, std::uint64_t used) {
    const bool requests_ok = limits_.requests == 0 || requests < limits_.requests;
    const bool tokens_ok = limits_.tokens == 0 || used == 0 || used + tokens <= limits_.tokens;
    return requests_ok && tokens_ok;
  };
  if (fits(requests_in_window_, tokens_in_window_)) return now;
  // Time passing drops the oldest entries first: the first point where what remains fits is
  // when the entry just dropped leaves the window.
  std::uint64_t requests = requests_in_window_;
  std::uint64_t used = tokens_in_window_;
  for (const Entry& entry : entries_) {
    requests -= entry.requests;
    used -= entry.tokens;
    if (fits(requests, used)) return entry.at + limits_.window;
  }
  return now;  // not reached: an empty window always fits
}

Result<void> RequestBudget::acquire(std::size_t tokens, TimePoint deadline) {
  for (;;) {
    std::unique_lock lock(mutex_);
    const TimePoint now = now_();
    const TimePoint when = admission_time(now, tokens);
    if (when <= now) {
      entries_.push_back(Entry{now, 1, tokens});
      requests_in_window_ += 1;
      tokens_in_window_ += tokens;
      return {};
    }
    if (when > deadline) {
      const auto after = ceil_ms(when - now);
      return Error(Errc::rate_limited,
                   "the translation engine's rate limit is reached; try again in " +
                       std::to_string((after.count() + 999) / 1000) + " s",
                   after);
    }
    lock.unlock();
    // Sleep outside the lock so that other workers can be admitted or refused meanwhile; then
    // check again: another waiter may have taken the slot.
    sleep_(ceil_ms(when - now));
  }
}

void RequestBudget::correct(std::size_t estimated, std::size_t actual) {
  std::lock_guard lock(mutex_);
  const TimePoint now = now_();
  admission_time(now, 0);  // forget what left the window first
  if (actual > estimated) {
    const std::uint64_t extra = actual - estimated;
    entries_.push_back(Entry{now, 0, extra});
    tokens_in_window_ += extra;
    return;
  }
  std::uint64_t refund = estimated - actual;
  for (auto it = entries_.rbegin(); it != entries_.rend() && refund > 0; ++it) {
    const std::uint64_t take = std::min(refund, it->tokens);
    it->tokens -= take;
    tokens_in_window_ -= take;
    refund -= take;
  }
}

std::chrono::milliseconds RequestBudget::wait_time(std::size_t tokens) {
  std::lock_guard lock(mutex_);
  const TimePoint now = now_();
  const TimePoint when = admission_time(now, tokens);
  return when <= now ? std::chrono::milliseconds(0) : ceil_ms(when - now);
}

}  // namespace parley::translate
