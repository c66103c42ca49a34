#pragma once
// One generator thread's share of the simulated clients, and everything they count. Every
// method runs on the shard's own io_context thread (the coordinator reaches it through
// LoopPool::run_on_all), so nothing here takes a lock; only the delivery counter is atomic, so
// that the coordinator can watch a drain without stopping the thread.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "sio_client.hpp"

namespace parley::loadgen {

/// One simulated client to connect: its global id and its Socket.IO CONNECT packet.
struct ConnectJob {
  std::uint32_t gid = 0;
  std::string connect_packet;  // 40{"token":"..."}
};

/// One socket to put into a room with join_room (the user is already a member over REST).
struct RoomJob {
  std::uint32_t local = 0;  // the client's index in its shard (gid / threads)
  std::int64_t room_id = 0;
  std::uint32_t room_index = 0;
};

/// A client that sends messages in the fan-out scenario.
struct SenderPlan {
  std::uint32_t local = 0;
  std::uint32_t sender = 0;  // global sender number k (in room k % rooms)
  std::int64_t room_id = 0;
  std::uint32_t room_index = 0;
  double spread = 0;  // where in one sending period it sends (0..1), so senders are spread out
};

/// Start and end of a measured step (steady-clock microseconds).
struct StepTiming {
  Micros start = 0;         // sending begins
  Micros window_start = 0;  // after the warm-up: figures count from here
  Micros window_end = 0;    // sending ends
};

/// Everything a shard counts during one step; merged over shards by the coordinator.
struct ShardStats {
  // connect / join phases
  std::uint64_t connected = 0;
  std::uint64_t connect_failed = 0;
  std::map<std::string, std::uint64_t> connect_errors;
  Histogram connect_latency;
  std::uint64_t joined = 0;
  std::uint64_t join_refused = 0;
  std::uint64_t join_timeouts = 0;
  // deliveries (fan-out)
  std::uint64_t received = 0;
  std::uint64_t received_in_window = 0;
  std::uint64_t bad_payload = 0;
  std::uint64_t wrong_room = 0;
  std::uint64_t out_of_order = 0;
  Histogram latency;      // new_message: receipt - send, for sends inside the window
  Histogram ack_latency;  // send_message acks, for sends inside the window
  // With several servers (--url): per server the clients connect to (client gid % servers).
  std::vector<std::uint64_t> received_by_target;
  std::vector<Histogram> latency_by_target;
  std::uint64_t sent = 0;
  std::uint64_t sent_while_disconnected = 0;
  std::uint64_t send_acks = 0;
  std::uint64_t send_refused = 0;
  std::vector<std::uint64_t> sent_per_room;
  // presence and churn
  std::uint64_t presence = 0;
  std::uint64_t presence_in_window = 0;
  std::uint64_t room_errors = 0;
  std::uint64_t joins_issued = 0;
  std::uint64_t joins_skipped = 0;  // no idle churner: the server fell behind
  std::uint64_t joins_completed = 0;
  std::uint64_t joins_completed_in_window = 0;
  std::uint64_t churn_join_refused = 0;
  std::uint64_t churn_join_timeouts = 0;
  Histogram join_latency;
  // health
  std::uint64_t disconnects = 0;
  std::map<std::string, std::uint64_t> disconnect_reasons;
  Histogram tick_lag;  // how late the sending timer woke: the generator's own scheduling delay

  void merge(const ShardStats& other);
};

class Shard final : public ClientListener {
 public:
  /// Client gid connects to targets[gid % targets.size()].
  Shard(boost::asio::io_context& io, std::vector<ConnectTarget> targets, Micros epoch_offset);

  /// Creates a client per job and connects them, at most `concurrency` handshakes at a time;
  /// calls `done` when every one has connected or failed.
  void connect_all(std::vector<ConnectJob> jobs, std::size_t concurrency, std::size_t read_buffer,
                   std::function<void()> done);
  /// join_room for each job, at most `concurrency` at a time; `done` after every ack, or at
  /// `timeout` (the rest then count as timed out).
  void join_rooms(std::vector<RoomJob> jobs, std::size_t concurrency, Micros timeout,
                  std::function<void()> done);

  /// Fan-out: who sends, what text, and how many senders a room has (for the order check).
  void configure_fanout(std::vector<SenderPlan> senders, std::size_t rooms,
                        std::size_t senders_per_room, std::string text);
  /// Sends open-loop at `rate` msgs/s per sender from timing.start to timing.window_end, then
  /// calls `done`. Resets the step's figures first.
  void start_sending(StepTiming timing, double rate, std::function<void()> done);
  /// Deliveries this shard's clients should have received, given what was sent to each room.
  std::uint64_t expected_deliveries(const std::vector<std::uint64_t>& sent_per_room) const;
  /// The same, per server (only with several servers).
  std::vector<std::uint64_t> expected_by_target(
      const std::vector<std::uint64_t>& sent_per_room) const;

  /// Churn: idle churners join a random room of `room_ids` at `rate` joins/s (this shard's
  /// share), each leaving again once its join is acked. `done` once the step has ended and the
  /// joins in flight have completed or timed out.
  void start_churn(std::vector<std::uint32_t> churners, std::vector<std::int64_t> room_ids,
                   double rate, StepTiming timing, Micros join_timeout, std::uint64_t seed,
                   std::function<void()> done);

  /// Resets the per-step figures (not the connect and join counts).
  void reset_step(StepTiming timing);
  const ShardStats& stats() const { return stats_; }
  std::uint64_t received_total() const { return received_.load(std::memory_order_relaxed); }
  std::size_t connected_count() const;
  void close_all();

  // ClientListener
  void on_connected(SioClient& client) override;
  void on_connect_failed(SioClient& client, std::string_view reason) override;
  void on_event(SioClient& client, std::string_view name, std::string_view args) override;
  void on_ack(SioClient& client, const PendingAck& ack, std::string_view args) override;
  void on_disconnected(SioClient& client, std::string_view reason) override;

 private:
  enum class Phase : std::uint8_t { idle, connecting, joining, sending, churning };
  struct Member {
    std::unique_ptr<SioClient> client;
    std::int64_t room_id = 0;  // 0: in no room
    std::uint32_t room_index = 0;
    std::vector<std::int64_t> last_seq;  // per sender of the room: the order check
    Micros join_started = 0;             // churn: a join in flight since then
    std::int64_t churn_room = 0;
    std::uint32_t target = 0;  // index of the server it is connected to
  };
  struct Sender {
    SenderPlan plan;
    std::uint64_t next_seq = 0;  // client_id sequence, unique over the whole run
    std::uint64_t sent_in_step = 0;
    Micros phase = 0;         // spread times the period at the step's rate
    std::string args_prefix;  // {"room":ID,"text":"...","client_id":"
  };

  void launch_connects();
  void connect_finished();
  void launch_joins();
  void join_finished();
  void finish_phase();
  void on_new_message(Member& member, std::string_view args, Micros now);
  void schedule_tick();
  void on_send_tick();
  void send_one(Sender& sender, Micros now);
  void on_churn_tick();
  void start_churn_join(std::uint32_t local, Micros now);
  bool in_window(Micros t) const { return t >= timing_.window_start && t <= timing_.window_end; }

  boost::asio::io_context& io_;
  const std::vector<ConnectTarget> targets_;
  const Micros epoch_offset_;  // steady microseconds + this = Unix epoch microseconds
  Phase phase_ = Phase::idle;
  std::function<void()> phase_done_;
  boost::asio::steady_timer timer_;
  Micros next_tick_ = 0;

  std::vector<Member> members_;
  ShardStats stats_;
  std::atomic<std::uint64_t> received_{0};
  StepTiming timing_;

  // connect and join phases
  std::vector<ConnectJob> connect_jobs_;
  std::vector<RoomJob> room_jobs_;
  std::size_t next_job_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t finished_jobs_ = 0;
  std::size_t concurrency_ = 1;
  std::size_t read_buffer_ = 4096;
  Micros phase_deadline_ = 0;

  // fan-out
  std::vector<Sender> senders_;
  std::size_t rooms_ = 0;
  std::string text_;
  std::string scratch_;
  double rate_ = 0;

  // churn
  std::vector<std::int64_t> churn_rooms_;
  std::vector<std::uint32_t> idle_churners_;
  std::deque<std::pair<std::uint32_t, Micros>> pending_joins_;  // in the order started
  double churn_rate_ = 0;
  Micros join_timeout_ = 0;
  std::uint64_t random_state_ = 1;
};

}  // namespace parley::loadgen
