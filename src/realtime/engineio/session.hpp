#pragma once
// One Engine.IO v4 session: its transport (HTTP long-polling, then possibly WebSocket), its
// outgoing queue, heartbeat and close. All state sits behind one mutex: polling requests arrive
// on other connections' strands, WebSocket reads and timers on the session's own strand.
//
// Idle WebSockets are parked: most connections are idle most of the time, and Beast's state for
// one WebSocket (about 2.6 KB with its read buffer, plus a pending read) would be most of what
// an idle connection costs. Once a message has been read and Beast holds no further bytes, the
// WebSocket object is dropped and the socket alone waits to become readable; the object is
// made again (see reopen()) when the client sends; a client that sends often keeps it (see
// EngineIoOptions::busy_gap). Server-to-client frames never needed it:
// uncompressed frames are written directly (websocket_frame.hpp). Connections that negotiate
// compression keep their WebSocket, whose compression state must persist.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "realtime/engineio/corked_stream.hpp"

namespace parley::realtime {

struct EioPacket;

struct EngineIoOptions {
  std::chrono::milliseconds ping_interval{25'000};
  std::chrono::milliseconds ping_timeout{20'000};
  std::chrono::milliseconds upgrade_timeout{10'000};
  std::size_t max_payload = 1'000'000;
  /// A client that stops reading is closed once this much waits for it (slow consumers must
  /// never make the server's memory grow without bound).
  std::size_t max_buffered_bytes = 4 * 1024 * 1024;
  /// Negotiate WebSocket permessage-deflate when the client offers it.
  bool permessage_deflate = false;
  /// One thread runs the io_context: sessions need no strand of their own.
  bool single_threaded = false;
  /// Parking (see above): the first messages of a WebSocket always park it (its CONNECT and
  /// joins, after which most connections go quiet); a later one parks it only when the one
  /// before came at least `busy_gap` earlier. A client that sends often keeps its WebSocket
  /// object instead of paying for its remaking per message; it parks at its first message after
  /// a quiet spell, at the latest its next heartbeat pong.
  unsigned always_park_messages = 4;
  std::chrono::milliseconds busy_gap{1000};
};

/// One outgoing Engine.IO packet, already encoded for both transports. Shared by every
/// recipient of a broadcast: encoded once, referenced many times.
struct OutgoingPacket {
  std::string text;    ///< the WebSocket text frame / polling segment ("4..." or "b<base64>")
  std::string binary;  ///< raw bytes for a WebSocket binary frame (binary messages only)
  bool is_binary = false;
};
using SharedPacket = std::shared_ptr<const OutgoingPacket>;

/// Makes a message packet (type 4) from text, or a binary message from bytes.
SharedPacket make_message(std::string text);
/// Wraps text that is already a complete Engine.IO frame (e.g. "42[...]" from encode_event).
SharedPacket make_encoded(std::string engineio_text);
SharedPacket make_binary_message(std::string bytes);

class EngineIoSession;

/// The writes the one network thread of the single-threaded mode starts at the end of its
/// current turn, each connection's queue in one gathered write. A handler that queues packets
/// (a broadcast, an ack) leaves the writing to one handler posted behind whatever is already
/// waiting to run, so everything queued for a connection in between leaves together: the ack
/// and the sender's own copy of a message, or, when a stored batch's messages are delivered one
/// after the other, all of them to each member of a room (one system call per member, not one
/// per member and message). Used on the network thread only; the posted handler shares the
/// list, so it may outlive this object.
class EndOfTurnWriter {
 public:
  explicit EndOfTurnWriter(boost::asio::any_io_executor network);
  EndOfTurnWriter(const EndOfTurnWriter&) = delete;
  EndOfTurnWriter& operator=(const EndOfTurnWriter&) = delete;

  /// Writes the session's queue at the end of the turn; the session's writer is claimed.
  void schedule(std::shared_ptr<EngineIoSession> session);

 private:
  struct Due {
    std::vector<std::shared_ptr<EngineIoSession>> waiting;
    std::vector<std::shared_ptr<EngineIoSession>> writing;  // swapped: both keep their capacity
    bool posted = false;
  };
  static void write_due(Due& due);

  boost::asio::any_io_executor network_;
  std::shared_ptr<Due> due_;
};

/// What the layer above (Socket.IO) receives. Calls come from arbitrary threads but never
/// concurrently for one session (each session delivers under its own lock order).
class EngineIoListener {
 public:
  virtual ~EngineIoListener() = default;
  virtual void on_open(const std::shared_ptr<EngineIoSession>& session) = 0;
  virtual void on_message(const std::shared_ptr<EngineIoSession>& session, std::string data,
                          bool binary) = 0;
  virtual void on_close(const std::shared_ptr<EngineIoSession>& session, std::string reason) = 0;
};

class EngineIoSession : public std::enable_shared_from_this<EngineIoSession> {
 public:
  using WebSocket = boost::beast::websocket::stream<SharedCorkedStream>;

  /// `end_of_turn` (single-threaded mode) must outlive the session, as `options` and `listener`.
  EngineIoSession(std::string id, boost::asio::any_io_executor strand,
                  const EngineIoOptions& options, EngineIoListener& listener,
                  EndOfTurnWriter& end_of_turn);

  const std::string& id() const { return id_; }
  boost::asio::any_io_executor strand() const { return strand_; }
  /// True when the caller runs on strand(): work meant for it may be done inline.
  bool on_strand() const;

  /// Queues a packet; thread-safe. Returns false (and closes the session) when the client is
  /// not reading fast enough, or false when the session is closed.
  bool send(const SharedPacket& packet);
  /// Queues several packets back to back, with nothing from other senders between them (a
  /// binary Socket.IO packet and its attachments). Same result as send().
  bool send_all(std::span<const SharedPacket> packets);
  /// What queue() leaves to its caller: start the writer (on the network thread: at the end of
  /// its turn, see EndOfTurnWriter), or close a slow consumer.
  enum class Queued : std::uint8_t { nothing, write, overflow, refused /* closed */ };
  /// send_all() in two steps, for a caller that queues under its own lock (and so fixes the
  /// order of packets across connections) but must not write or close under it: queue() only
  /// queues (thread-safe); finish_queued() does the rest once that lock is released.
  Queued queue(std::span<const SharedPacket> packets);
  void finish_queued(Queued queued);

  /// Closes with a reason (no more packets are accepted). Thread-safe, idempotent.
  void close(const std::string& reason);
  bool closed() const;

  // --- used by the server ------------------------------------------------------------------
  /// Starts the heartbeat (the first ping after ping_interval).
  void start();
  /// A long-polling GET: waits until something is queued (or the session closes) and returns
  /// the encoded payload. Errors: an overlapping GET closes the session (empty optional).
  boost::asio::awaitable<std::optional<std::string>> poll();
  /// Packets POSTed by a polling client. Returns false on a protocol error (the session is
  /// then closed); a close packet is not an error.
  bool receive_payload(std::string_view body);
  /// Hands over a WebSocket that probed this session (`upgrading`) or opened it: runs the
  /// upgrade, then starts the WebSocket transport, which carries on by itself until it closes.
  boost::asio::awaitable<void> run_websocket(std::shared_ptr<WebSocket> ws, bool upgrading);
  bool upgraded() const;
  /// True while the session's WebSocket is parked: idle, its WebSocket object dropped.
  bool parked() const;

 private:
  bool handle_packet(EioPacket packet);
  bool handle_frame(std::string_view frame, bool binary_frame);
  void wake_poller_locked();
  /// True when sends may start the writer inline: single-threaded mode, on that thread.
  bool on_network_thread() const;
  using Clock = boost::asio::steady_timer::clock_type;
  void wait_for_ping(Clock::time_point since);
  void send_ping();
  void read_frame();
  /// After a message: drops the WebSocket object when it holds nothing unread and the client
  /// is not busy (see above).
  bool park();
  void readable(boost::beast::error_code ec);
  /// The WebSocket again, on the same open connection (parked or not).
  std::shared_ptr<WebSocket> reopen();
  friend class EndOfTurnWriter;
  void write_batch();
  /// Writes one queued batch; true when it left at once and the next may follow.
  bool write_one_batch();
  /// After a batch was written: true when the next may be written now (else a flush of Beast's
  /// control frames runs first and continues).
  bool batch_done();
  void batch_written(boost::beast::error_code ec);
  void write_packet(std::shared_ptr<WebSocket> ws, std::shared_ptr<std::vector<SharedPacket>> batch,
                    std::size_t index);

  const std::string id_;
  boost::asio::any_io_executor strand_;
  const EngineIoOptions& options_;
  EngineIoListener& listener_;
  EndOfTurnWriter& end_of_turn_;

  mutable std::mutex mutex_;
  std::vector<SharedPacket> queue_;  // handed over whole to each write; empty costs nothing
  std::size_t queued_bytes_ = 0;
  bool closed_ = false;
  std::string close_reason_;
  bool websocket_ = false;     // packets now flow over the WebSocket
  bool upgrading_ = false;     // a WebSocket probe succeeded: polling GETs answer noop
  bool poll_pending_ = false;  // a GET is waiting
  bool awaiting_pong_ = false;
  std::shared_ptr<boost::asio::steady_timer> poll_waiter_;  // wakes the pending GET
  bool writer_busy_ = false;  // a WebSocket write batch is scheduled or in flight
  // The code of the WebSocket close frame the writer sends once the session is closed.
  boost::beast::websocket::close_code close_code_ = boost::beast::websocket::close_code::normal;
  std::shared_ptr<CorkedStream> transport_;  // the WebSocket's connection, parked or not
  std::shared_ptr<WebSocket> ws_;            // null while parked
  boost::asio::steady_timer heartbeat_timer_;
  // The WebSocket's strand only: reading, and the batch being written with its frame headers
  // and gather list.
  boost::beast::flat_buffer read_buffer_;
  std::uint64_t consumed_ = 0;  // bytes of the frames Beast has returned since it was (re)opened
  Clock::time_point last_message_at_{};
  unsigned messages_read_ = 0;  // counts up to options_.always_park_messages
  std::vector<SharedPacket> writing_;
  std::string frame_headers_;
  std::vector<boost::asio::const_buffer> gather_;
};

}  // namespace parley::realtime
