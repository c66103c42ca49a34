#include "shard.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace parley::loadgen {

namespace {

constexpr Micros kTickMicros = 1000;  // the sending and churn timers' period

bool is_error_reply(std::string_view args) { return args.starts_with("[{\"error\""); }

// Parses the unsigned decimal at text[at], advancing `at`; false when there is none.
bool parse_digits(std::string_view text, std::size_t& at, std::int64_t& value) {
  const char* begin = text.data() + at;
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec != std::errc() || end == begin) return false;
  at += static_cast<std::size_t>(end - begin);
  return true;
}

bool expect(std::string_view text, std::size_t& at, char c) {
  if (at >= text.size() || text[at] != c) return false;
  ++at;
  return true;
}

// The fields of a new_message the generator checks. The payload is a JSON object with a
// known shape; a string value cannot contain `"client_id":"` or `"room":` unescaped, so plain
// searches find the real keys without a full JSON parse (which would cost more than the rest
// of the receive path together).
struct Delivery {
  std::int64_t room = 0;
  std::int64_t sender = 0;
  std::int64_t seq = 0;
  Micros sent_epoch_us = 0;
};

bool parse_delivery(std::string_view args, Delivery& out) {
  constexpr std::string_view kRoom = "\"room\":";
  constexpr std::string_view kClientId = "\"client_id\":\"";
  auto at = args.find(kRoom);
  if (at == std::string_view::npos) return false;
  at += kRoom.size();
  if (!parse_digits(args, at, out.room)) return false;
  at = args.find(kClientId, at);
  if (at == std::string_view::npos) return false;
  at += kClientId.size();
  // client_id = "<sender>:<seq>:<epoch ms>.<µs, 3 digits>"
  std::int64_t ms = 0;
  std::int64_t micros = 0;
  if (!parse_digits(args, at, out.sender) || !expect(args, at, ':') ||
      !parse_digits(args, at, out.seq) || !expect(args, at, ':') || !parse_digits(args, at, ms) ||
      !expect(args, at, '.')) {
    return false;
  }
  const std::size_t fraction_at = at;
  if (!parse_digits(args, at, micros) || at - fraction_at != 3 || !expect(args, at, '"')) {
    return false;
  }
  out.sent_epoch_us = ms * 1000 + micros;
  return true;
}

std::string room_args(std::int64_t room) { return "{\"room\":" + std::to_string(room) + "}"; }

}  // namespace

void ShardStats::merge(const ShardStats& o) {
  connected += o.connected;
  connect_failed += o.connect_failed;
  for (const auto& [reason, n] : o.connect_errors) connect_errors[reason] += n;
  connect_latency.merge(o.connect_latency);
  joined += o.joined;
  join_refused += o.join_refused;
  join_timeouts += o.join_timeouts;
  received += o.received;
  received_in_window += o.received_in_window;
  bad_payload += o.bad_payload;
  wrong_room += o.wrong_room;
  out_of_order += o.out_of_order;
  latency.merge(o.latency);
  ack_latency.merge(o.ack_latency);
  if (received_by_target.size() < o.received_by_target.size()) {
    received_by_target.resize(o.received_by_target.size());
    latency_by_target.resize(o.latency_by_target.size());
  }
  for (std::size_t i = 0; i < o.received_by_target.size(); ++i) {
    received_by_target[i] += o.received_by_target[i];
    latency_by_target[i].merge(o.latency_by_target[i]);
  }
  sent += o.sent;
  sent_while_disconnected += o.sent_while_disconnected;
  send_acks += o.send_acks;
  send_refused += o.send_refused;
  if (sent_per_room.size() < o.sent_per_room.size()) sent_per_room.resize(o.sent_per_room.size());
  for (std::size_t i = 0; i < o.sent_per_room.size(); ++i) sent_per_room[i] += o.sent_per_room[i];
  presence += o.presence;
  presence_in_window += o.presence_in_window;
  room_errors += o.room_errors;
  joins_issued += o.joins_issued;
  joins_skipped += o.joins_skipped;
  joins_completed += o.joins_completed;
  joins_completed_in_window += o.joins_completed_in_window;
  churn_join_refused += o.churn_join_refused;
  churn_join_timeouts += o.churn_join_timeouts;
  join_latency.merge(o.join_latency);
  disconnects += o.disconnects;
  for (const auto& [reason, n] : o.disconnect_reasons) disconnect_reasons[reason] += n;
  tick_lag.merge(o.tick_lag);
}

Shard::Shard(boost::asio::io_context& io, std::vector<ConnectTarget> targets, Micros epoch_offset)
    : io_(io), targets_(std::move(targets)), epoch_offset_(epoch_offset), timer_(io) {}

// --- connecting --------------------------------------------------------------------------------

void Shard::connect_all(std::vector<ConnectJob> jobs, std::size_t concurrency,
                        std::size_t read_buffer, std::function<void()> done) {
  phase_ = Phase::connecting;
  phase_done_ = std::move(done);
  connect_jobs_ = std::move(jobs);
  next_job_ = in_flight_ = finished_jobs_ = 0;
  concurrency_ = std::max<std::size_t>(concurrency, 1);
  read_buffer_ = read_buffer;
  // No reallocation while clients report back: their Member entries stay where they are.
  members_.reserve(members_.size() + connect_jobs_.size());
  if (connect_jobs_.empty()) {
    finish_phase();
    return;
  }
  launch_connects();
}

void Shard::launch_connects() {
  while (in_flight_ < concurrency_ && next_job_ < connect_jobs_.size()) {
    ConnectJob& job = connect_jobs_[next_job_++];
    // Clients are dealt out round-robin (gid % threads), so gid / threads is the local index.
    const auto local = static_cast<std::uint32_t>(members_.size());
    Member member;
    member.client = std::make_unique<SioClient>(io_, *this, local, read_buffer_);
    member.target = static_cast<std::uint32_t>(job.gid % targets_.size());
    members_.push_back(std::move(member));
    ++in_flight_;
    members_.back().client->connect(targets_[members_.back().target],
                                    std::move(job.connect_packet));
  }
}

void Shard::connect_finished() {
  --in_flight_;
  if (++finished_jobs_ == connect_jobs_.size()) {
    connect_jobs_.clear();
    finish_phase();
  } else {
    launch_connects();
  }
}

void Shard::on_connected(SioClient& client) {
  if (phase_ != Phase::connecting) return;
  ++stats_.connected;
  stats_.connect_latency.add(now_micros() - client.connect_started());
  connect_finished();
}

void Shard::on_connect_failed(SioClient&, std::string_view reason) {
  if (phase_ != Phase::connecting) return;
  ++stats_.connect_failed;
  ++stats_.connect_errors[std::string(reason)];
  connect_finished();
}

// --- joining rooms -------------------------------------------------------------------------

void Shard::join_rooms(std::vector<RoomJob> jobs, std::size_t concurrency, Micros timeout,
                       std::function<void()> done) {
  phase_ = Phase::joining;
  phase_done_ = std::move(done);
  room_jobs_ = std::move(jobs);
  next_job_ = in_flight_ = finished_jobs_ = 0;
  concurrency_ = std::max<std::size_t>(concurrency, 1);
  if (room_jobs_.empty()) {
    finish_phase();
    return;
  }
  timer_.expires_after(std::chrono::microseconds(timeout));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || phase_ != Phase::joining) return;
    stats_.join_timeouts += room_jobs_.size() - finished_jobs_;
    finish_phase();
  });
  launch_joins();
}

void Shard::launch_joins() {
  while (in_flight_ < concurrency_ && next_job_ < room_jobs_.size()) {
    const RoomJob& job = room_jobs_[next_job_++];
    Member& member = members_[job.local];
    if (!member.client->connected()) {
      ++stats_.join_refused;
      ++finished_jobs_;
      continue;
    }
    member.room_id = job.room_id;
    member.room_index = job.room_index;
    ++in_flight_;
    member.client->emit_with_ack(AckKind::join, job.room_id, "join_room", room_args(job.room_id),
                                 now_micros());
  }
  if (finished_jobs_ == room_jobs_.size()) join_finished();
}

void Shard::join_finished() {
  timer_.cancel();
  room_jobs_.clear();
  finish_phase();
}

void Shard::finish_phase() {
  phase_ = Phase::idle;
  auto done = std::move(phase_done_);
  phase_done_ = nullptr;
  if (done) done();
}

// --- acks, events, disconnects ---------------------------------------------------------------

void Shard::on_ack(SioClient& client, const PendingAck& ack, std::string_view args) {
  const Micros now = now_micros();
  Member& member = members_[client.index()];
  switch (ack.kind) {
    case AckKind::send:
      ++stats_.send_acks;
      if (is_error_reply(args)) ++stats_.send_refused;
      if (in_window(ack.sent_at)) stats_.ack_latency.add(now - ack.sent_at);
      return;
    case AckKind::join:
      break;
  }
  if (phase_ == Phase::joining) {
    if (is_error_reply(args)) {
      ++stats_.join_refused;
      member.room_id = 0;
    } else {
      ++stats_.joined;
    }
    --in_flight_;
    if (++finished_jobs_ == room_jobs_.size()) {
      join_finished();
    } else {
      launch_joins();
    }
    return;
  }
  if (phase_ != Phase::churning || member.join_started != ack.sent_at) return;  // timed out
  if (is_error_reply(args)) {
    ++stats_.churn_join_refused;
  } else {
    ++stats_.joins_completed;
    if (in_window(now)) {
      ++stats_.joins_completed_in_window;
      stats_.join_latency.add(now - ack.sent_at);
    }
  }
  member.join_started = 0;
  client.emit("leave_room", room_args(member.churn_room));
  idle_churners_.push_back(client.index());
}

void Shard::on_event(SioClient& client, std::string_view name, std::string_view args) {
  const Micros now = now_micros();
  if (name == "new_message") {
    on_new_message(members_[client.index()], args, now);
  } else if (name == "user_joined" || name == "user_left") {
    ++stats_.presence;
    if (in_window(now)) ++stats_.presence_in_window;
  } else if (name == "room_error") {
    ++stats_.room_errors;
  }
}

void Shard::on_disconnected(SioClient&, std::string_view reason) {
  ++stats_.disconnects;
  ++stats_.disconnect_reasons[std::string(reason)];
}

void Shard::on_new_message(Member& member, std::string_view args, Micros now) {
  ++stats_.received;
  received_.store(stats_.received, std::memory_order_relaxed);
  if (in_window(now)) ++stats_.received_in_window;
  Delivery delivery;
  if (!parse_delivery(args, delivery)) {
    ++stats_.bad_payload;
    return;
  }
  if (delivery.room != member.room_id) ++stats_.wrong_room;
  const Micros sent_at = delivery.sent_epoch_us - epoch_offset_;
  if (in_window(sent_at)) stats_.latency.add(now - sent_at);
  if (targets_.size() > 1) {
    if (stats_.received_by_target.size() < targets_.size()) {
      stats_.received_by_target.resize(targets_.size());
      stats_.latency_by_target.resize(targets_.size());
    }
    ++stats_.received_by_target[member.target];
    if (in_window(sent_at)) stats_.latency_by_target[member.target].add(now - sent_at);
  }
  // Socket.IO keeps one sender's order to each receiver: sender k is the (k / rooms)-th
  // sender of its room.
  const auto slot = static_cast<std::size_t>(delivery.sender) / std::max<std::size_t>(rooms_, 1);
  if (slot < member.last_seq.size()) {
    if (delivery.seq <= member.last_seq[slot]) {
      ++stats_.out_of_order;
    } else {
      member.last_seq[slot] = delivery.seq;
    }
  }
}

// --- fan-out ---------------------------------------------------------------------------------

void Shard::configure_fanout(std::vector<SenderPlan> senders, std::size_t rooms,
                             std::size_t senders_per_room, std::string text) {
  rooms_ = rooms;
  text_ = std::move(text);
  for (auto& member : members_) member.last_seq.assign(senders_per_room, -1);
  senders_.clear();
  for (auto& plan : senders) {
    Sender sender;
    sender.plan = plan;
    sender.args_prefix = "{\"room\":" + std::to_string(plan.room_id) + ",\"text\":\"" + text_ +
                         "\",\"client_id\":\"";
    senders_.push_back(std::move(sender));
  }
}

void Shard::reset_step(StepTiming timing) {
  ShardStats fresh;
  fresh.connected = stats_.connected;
  fresh.connect_failed = stats_.connect_failed;
  fresh.connect_errors = stats_.connect_errors;
  fresh.connect_latency = stats_.connect_latency;
  fresh.joined = stats_.joined;
  fresh.join_refused = stats_.join_refused;
  fresh.join_timeouts = stats_.join_timeouts;
  fresh.sent_per_room.assign(rooms_, 0);
  stats_ = std::move(fresh);
  received_.store(0, std::memory_order_relaxed);
  timing_ = timing;
}

void Shard::start_sending(StepTiming timing, double rate, std::function<void()> done) {
  reset_step(timing);
  phase_ = Phase::sending;
  phase_done_ = std::move(done);
  rate_ = rate;
  for (auto& sender : senders_) {
    sender.sent_in_step = 0;
    sender.phase = rate > 0 ? static_cast<Micros>(sender.plan.spread * 1e6 / rate) : 0;
  }
  next_tick_ = timing.start - kTickMicros;
  schedule_tick();
}

void Shard::schedule_tick() {
  next_tick_ += kTickMicros;
  // Behind schedule (the thread was busy): the next tick is now, not a burst of missed ones;
  // the open-loop senders catch up by themselves (they send whatever is due).
  next_tick_ = std::max(next_tick_, now_micros());
  timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::microseconds(next_tick_)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    if (phase_ == Phase::sending) on_send_tick();
    if (phase_ == Phase::churning) on_churn_tick();
  });
}

void Shard::on_send_tick() {
  const Micros now = now_micros();
  stats_.tick_lag.add(now - next_tick_);
  const Micros until = std::min(now, timing_.window_end);
  for (auto& sender : senders_) {
    const Micros elapsed = until - timing_.start - sender.phase;
    if (elapsed < 0) continue;
    const auto due = static_cast<std::uint64_t>(static_cast<double>(elapsed) * rate_ / 1e6) + 1;
    while (sender.sent_in_step < due) send_one(sender, now);
  }
  if (now >= timing_.window_end) {
    finish_phase();
    return;
  }
  schedule_tick();
}

void Shard::send_one(Sender& sender, Micros now) {
  ++sender.sent_in_step;
  Member& member = members_[sender.plan.local];
  if (!member.client->connected()) {
    ++stats_.sent_while_disconnected;
    return;
  }
  // client_id = "<sender>:<seq>:<epoch ms>.<µs>": unique per message (Parley deduplicates
  // retries by client_id) and carries the send time for the latency.
  const Micros epoch_us = now + epoch_offset_;
  const auto append_number = [this](std::int64_t value) {
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof digits, value);
    scratch_.append(digits, result.ptr);
  };
  scratch_.assign(sender.args_prefix);
  append_number(sender.plan.sender);
  scratch_ += ':';
  append_number(static_cast<std::int64_t>(sender.next_seq++));
  scratch_ += ':';
  append_number(epoch_us / 1000);
  scratch_ += '.';
  const auto micros = static_cast<int>(epoch_us % 1000);
  scratch_ += static_cast<char>('0' + micros / 100);
  scratch_ += static_cast<char>('0' + micros / 10 % 10);
  scratch_ += static_cast<char>('0' + micros % 10);
  scratch_ += "\"}";
  member.client->emit_with_ack(AckKind::send, sender.plan.room_id, "send_message", scratch_, now);
  ++stats_.sent;
  ++stats_.sent_per_room[sender.plan.room_index];
}

std::uint64_t Shard::expected_deliveries(const std::vector<std::uint64_t>& sent_per_room) const {
  std::uint64_t expected = 0;
  for (const auto& member : members_) {
    if (member.room_id != 0 && member.room_index < sent_per_room.size()) {
      expected += sent_per_room[member.room_index];
    }
  }
  return expected;
}

std::vector<std::uint64_t> Shard::expected_by_target(
    const std::vector<std::uint64_t>& sent_per_room) const {
  std::vector<std::uint64_t> expected(targets_.size());
  for (const auto& member : members_) {
    if (member.room_id != 0 && member.room_index < sent_per_room.size()) {
      expected[member.target] += sent_per_room[member.room_index];
    }
  }
  return expected;
}

// --- churn -----------------------------------------------------------------------------------

void Shard::start_churn(std::vector<std::uint32_t> churners, std::vector<std::int64_t> room_ids,
                        double rate, StepTiming timing, Micros join_timeout, std::uint64_t seed,
                        std::function<void()> done) {
  reset_step(timing);
  phase_ = Phase::churning;
  phase_done_ = std::move(done);
  churn_rooms_ = std::move(room_ids);
  idle_churners_.clear();
  for (auto local : churners) {
    if (members_[local].client->connected()) idle_churners_.push_back(local);
  }
  pending_joins_.clear();
  churn_rate_ = rate;
  join_timeout_ = join_timeout;
  random_state_ = seed | 1;
  next_tick_ = timing.start - kTickMicros;
  schedule_tick();
}

void Shard::start_churn_join(std::uint32_t local, Micros now) {
  // xorshift64: a reproducible choice of rooms for a given seed
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  Member& member = members_[local];
  member.churn_room = churn_rooms_[random_state_ % churn_rooms_.size()];
  member.join_started = now;
  member.client->emit_with_ack(AckKind::join, member.churn_room, "join_room",
                               room_args(member.churn_room), now);
  pending_joins_.emplace_back(local, now);
}

void Shard::on_churn_tick() {
  const Micros now = now_micros();
  stats_.tick_lag.add(now - next_tick_);
  if (now <= timing_.window_end && now >= timing_.start && !churn_rooms_.empty()) {
    const auto due =
        static_cast<std::uint64_t>(static_cast<double>(now - timing_.start) * churn_rate_ / 1e6) +
        1;
    while (stats_.joins_issued < due) {
      ++stats_.joins_issued;
      if (idle_churners_.empty()) {
        ++stats_.joins_skipped;
        continue;
      }
      const auto local = idle_churners_.back();
      idle_churners_.pop_back();
      start_churn_join(local, now);
    }
  }
  // Joins answered are dropped from the front; joins too old time out (the churner leaves
  // and becomes idle again).
  while (!pending_joins_.empty()) {
    const auto [local, started] = pending_joins_.front();
    Member& member = members_[local];
    if (member.join_started != started) {
      pending_joins_.pop_front();
      continue;
    }
    if (now - started < join_timeout_) break;
    ++stats_.churn_join_timeouts;
    member.join_started = 0;
    member.client->emit("leave_room", room_args(member.churn_room));
    idle_churners_.push_back(local);
    pending_joins_.pop_front();
  }
  if (now > timing_.window_end && pending_joins_.empty()) {
    finish_phase();
    return;
  }
  schedule_tick();
}

// --- the rest --------------------------------------------------------------------------------

std::size_t Shard::connected_count() const {
  return static_cast<std::size_t>(std::count_if(
      members_.begin(), members_.end(), [](const Member& m) { return m.client->connected(); }));
}

void Shard::close_all() {
  timer_.cancel();
  phase_ = Phase::idle;
  phase_done_ = nullptr;
  for (auto& member : members_) member.client->close();
}

}  // namespace parley::loadgen
