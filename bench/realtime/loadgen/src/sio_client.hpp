#pragma once
// A lean Socket.IO v5 / Engine.IO v4 client over a WebSocket on a bare Asio TCP socket: just what
// the benchmark's clients send and receive (text frames, events, acks, heartbeat), so that the
// generator spends clearly less CPU per received message than the server under test. It is not
// a general client: no polling transport, no binary attachments, no compression, no reconnects.
//
// Packets (WebSocket text frames):
//   server "0{sid,pingInterval,...}"  Engine.IO open        client "40{"token":...}" CONNECT
//   server "40{"sid":...}"            CONNECT accepted      server "44{...}"  CONNECT_ERROR
//   server "2"                        ping                  client "3"        pong
//   client "42<id>[event,args]"       EVENT asking an ack   server "43<id>[args]" its ACK
//   server "42[event,args...]"        EVENT                 server "41" / "1" disconnect / close

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace parley::loadgen {

/// Microseconds of the steady clock (CLOCK_MONOTONIC): the one time base of the generator.
using Micros = std::int64_t;
inline Micros now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

enum class AckKind : std::uint8_t { join, send };

/// An event sent with an ack id, waiting for the server's answer.
struct PendingAck {
  std::uint64_t id = 0;
  AckKind kind = AckKind::send;
  std::int64_t room = 0;
  Micros sent_at = 0;
};

class SioClient;

/// What a client reports. Every call comes from the client's own thread.
class ClientListener {
 public:
  virtual void on_connected(SioClient& client) = 0;
  virtual void on_connect_failed(SioClient& client, std::string_view reason) = 0;
  /// A server event: its name and the JSON of its arguments without the enclosing brackets
  /// (`{...},"00000000000000000042"` for a Parley room broadcast).
  virtual void on_event(SioClient& client, std::string_view name, std::string_view args) = 0;
  /// The server's answer to emit_with_ack; `args` is the JSON array of the ack's arguments.
  virtual void on_ack(SioClient& client, const PendingAck& ack, std::string_view args) = 0;
  /// An established connection ended, and not through close().
  virtual void on_disconnected(SioClient& client, std::string_view reason) = 0;

 protected:
  ~ClientListener() = default;
};

/// Where and how every client of a run connects.
struct ConnectTarget {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string upgrade_request;  ///< the HTTP upgrade request, the same bytes for every client
  std::chrono::milliseconds timeout{20'000};
};
/// The upgrade request for `path` on `endpoint` (websocket transport only, no compression).
std::string make_upgrade_request(const boost::asio::ip::tcp::endpoint& endpoint,
                                 std::string_view path);

class SioClient {
 public:
  /// `read_buffer_bytes` is the initial receive buffer; it grows to fit any frame (16 MB at
  /// most). `index` is the owner's handle for this client.
  SioClient(boost::asio::io_context& io, ClientListener& listener, std::uint32_t index,
            std::size_t read_buffer_bytes);
  SioClient(const SioClient&) = delete;
  SioClient& operator=(const SioClient&) = delete;
  ~SioClient();

  /// Opens the TCP connection, upgrades to WebSocket and sends the Socket.IO CONNECT packet
  /// `connect_packet` when the Engine.IO open arrives. Ends in on_connected or
  /// on_connect_failed. `target` must outlive the client.
  void connect(const ConnectTarget& target, std::string connect_packet);
  /// `42<ack id>["<event>",<args>]`; the answer arrives in ClientListener::on_ack.
  std::uint64_t emit_with_ack(AckKind kind, std::int64_t room, std::string_view event,
                              std::string_view args, Micros now);
  /// `42["<event>",<args>]`, no ack.
  void emit(std::string_view event, std::string_view args);
  /// Closes the connection at once (no close handshake); no listener call follows.
  void close();

  bool connected() const { return state_ == State::connected; }
  std::uint32_t index() const { return index_; }
  Micros connect_started() const { return connect_started_; }
  std::size_t pending_acks() const { return acks_.size(); }

 private:
  enum class State : std::uint8_t {
    idle,
    connecting,      // TCP connect and upgrade request in flight
    upgrading,       // waiting for "101 Switching Protocols"
    opening,         // waiting for the Engine.IO open packet
    authenticating,  // CONNECT sent, waiting for its answer
    connected,
    closed,
  };
  enum class Progress : std::uint8_t { need_more, done, failed };

  void on_tcp_connected(const boost::system::error_code& ec);
  void read_more();
  void on_read(const boost::system::error_code& ec, std::size_t bytes);
  Progress parse_upgrade_response();
  /// Handles every complete frame in the buffer; false once the connection has ended.
  bool parse_frames();
  bool on_frame(bool fin, unsigned opcode, std::string_view payload);
  bool on_packet(std::string_view packet);
  void on_ack_packet(std::string_view packet);
  void send_text(std::string_view payload) { send_frame(0x1, payload); }
  void send_frame(unsigned opcode, std::string_view payload);
  void flush();
  /// The connection is over: tells the listener (failed connect or lost connection) once.
  void end(std::string_view reason);
  void close_socket();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer connect_timer_;
  ClientListener& listener_;
  const ConnectTarget* target_ = nullptr;
  std::string connect_packet_;
  const std::uint32_t index_;
  State state_ = State::idle;
  Micros connect_started_ = 0;

  // Receive buffer: bytes [in_begin_, in_end_) are unparsed.
  std::unique_ptr<char[]> in_;
  std::size_t in_size_;
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::string fragments_;  // a fragmented text message being reassembled
  bool in_fragment_ = false;

  // Frames queued while a write is in flight go out together with the next write.
  std::string out_pending_;
  std::string out_writing_;
  bool writing_ = false;
  std::string scratch_;  // packet text being framed

  std::uint64_t next_ack_id_ = 0;
  std::vector<PendingAck> acks_;  // in the order sent; answers usually come in that order
  std::uint32_t mask_state_;      // xorshift32 for the frame masks clients must apply
};

}  // namespace parley::loadgen
