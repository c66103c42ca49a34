#pragma once
// The Socket.IO v5 server over Engine.IO: namespaces, CONNECT with an auth payload, events and
// acks (binary ones with attachments), rooms and broadcasts, connection state recovery.
// Application events are handled by a SocketApplication (events/), which knows nothing of
// packets and says which namespaces it serves (Parley's chat: "/" only). Rooms are server-wide
// names; only Parley's main namespace uses them.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/cluster.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/rate_limiter.hpp"
#include "realtime/engineio/server.hpp"
#include "realtime/protocol/socketio_packet.hpp"

namespace parley::realtime {

class SocketIoServer;

/// Binary attachments of an event or ack, in order; the JSON arguments reference them with
/// `{"_placeholder":true,"num":N}`.
using Attachments = std::vector<std::string>;

/// A socket id as a number, for the recovery history (a hash: ids are random tokens).
inline std::uint64_t recovery_key(std::string_view socket_id) {
  return std::hash<std::string_view>{}(socket_id);
}

/// A client connected to one namespace.
class Socket : public std::enable_shared_from_this<Socket> {
 public:
  Socket(std::string id, std::string private_id, std::string nsp,
         std::shared_ptr<EngineIoSession> session, std::int64_t user_id, SocketIoServer& server)
      : id_(std::move(id)),
        private_id_(std::move(private_id)),
        nsp_(std::move(nsp)),
        session_(std::move(session)),
        user_id_(user_id),
        recovery_key_(recovery_key(id_)),
        server_(server) {}

  const std::string& id() const { return id_; }
  const std::string& nsp() const { return nsp_; }
  std::int64_t user_id() const { return user_id_; }
  /// Application data attached at connect (the user's display fields, session id, ...).
  boost::json::object& data() { return data_; }

  /// Emits `event` with `args` (a JSON array of the arguments); with attachments, a
  /// BINARY_EVENT whose args hold the placeholders. Thread-safe.
  void emit(std::string_view event, const boost::json::array& args,
            const Attachments& attachments = {});
  /// Sends an already encoded packet (broadcast path). Thread-safe.
  void send(const SharedPacket& packet) { session_->send(packet); }
  /// Removes the client from the namespace with a DISCONNECT packet and closes the transport.
  void disconnect(const std::string& reason);

  std::set<std::string> rooms() const;
  /// The event being handled, as "<socket id>:<seq>" (seq counts this socket's events from 1):
  /// the request id that ties the event's log lines and the jobs it causes together. Valid
  /// inside SocketApplication::on_event (events are handled one at a time per socket).
  std::string event_id() const { return id_ + ":" + std::to_string(event_seq_); }
  /// Removed from the server (disconnected, by any path): nothing it joins sticks.
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  friend class SocketIoServer;
  const std::string id_;
  const std::string private_id_;  // "pid": proves ownership of the id when recovering
  const std::string nsp_;
  std::shared_ptr<EngineIoSession> session_;
  const std::int64_t user_id_;
  const std::uint64_t recovery_key_;
  SocketIoServer& server_;
  boost::json::object data_;
  mutable std::mutex mutex_;
  std::set<std::string> rooms_;
  // Events are handled one at a time, in arrival order (a chat's order must hold).
  // A vector, not a deque: an idle socket (the common case) then holds no memory for it.
  std::vector<SioPacket> inbox_;
  bool draining_ = false;
  std::uint64_t event_seq_ = 0;  // written by the draining coroutine only
  std::size_t refused_events_ = 0;
  // Set when the socket is removed: a join that runs later (from a worker) must not put a gone
  // socket back into a room.
  bool closed_ = false;
};

using SocketPtr = std::shared_ptr<Socket>;
/// Replies to an event that asked for an ack, with `args` (a JSON array) and, for a
/// BINARY_ACK, attachments. Empty (false) when the client asked for no ack.
class AckReply {
 public:
  using Send = std::function<void(const boost::json::array& args, const Attachments&)>;
  AckReply() = default;
  explicit AckReply(Send send) : send_(std::move(send)) {}
  explicit operator bool() const { return static_cast<bool>(send_); }
  void operator()(const boost::json::array& args, const Attachments& attachments = {}) const {
    if (send_) send_(args, attachments);
  }

 private:
  Send send_;
};

/// What the application provides.
class SocketApplication {
 public:
  virtual ~SocketApplication() = default;
  /// Whether clients may CONNECT to `nsp`; others get CONNECT_ERROR "Invalid namespace".
  virtual bool serves_namespace(std::string_view nsp) const { return nsp == "/"; }
  /// Checks the CONNECT auth payload (`{token}`); returns the user id. Errors become a
  /// CONNECT_ERROR with the error's message.
  virtual boost::asio::awaitable<Result<std::int64_t>> authenticate(boost::json::value auth) = 0;
  /// authenticate()'s answer when it is known without waiting (a session checked moments ago),
  /// or nullopt: the CONNECT is then answered on the spot, without a coroutine.
  virtual std::optional<Result<std::int64_t>> authenticate_at_once(const boost::json::value&) {
    return std::nullopt;
  }
  /// A socket connected; `auth` is its CONNECT payload (`{}` when none), not kept afterwards:
  /// it carries the access token.
  virtual void on_connect(const SocketPtr& socket, const boost::json::value& auth) = 0;
  /// One event; `attachments` are its binary arguments (empty for a plain EVENT); `ack` is empty
  /// unless the client asked for an ack. Awaited before the socket's next event is handled.
  virtual boost::asio::awaitable<void> on_event(SocketPtr socket, std::string name,
                                                boost::json::array args, Attachments attachments,
                                                AckReply ack) = 0;
  virtual void on_disconnect(const SocketPtr& socket, const std::string& reason) = 0;
  /// A dropped connection came back within the recovery window: same socket id, same rooms,
  /// missed room events already replayed.
  virtual void on_recovered(const SocketPtr& socket) = 0;
};

struct SocketIoOptions {
  std::chrono::milliseconds connect_timeout{45'000};
  SioLimits limits;
  std::size_t max_rooms_per_socket = 100;
  /// Connection state recovery (socket.io >= 4.6): how long a dropped connection's state is
  /// kept (0 turns recovery off: no offsets, no pid), and how many recent broadcasts per room
  /// are kept to replay to it.
  std::chrono::milliseconds recovery_window{120'000};
  std::size_t recovery_events_per_room = 2000;
  /// Events per socket: past this rate events are refused (acked with rate_limited); a socket
  /// that keeps going past `max_refused_events` refusals is disconnected.
  core::RateLimit event_rate{50, std::chrono::seconds(1), 100};
  std::size_t max_refused_events = 50;
};

/// Counters for metrics.
struct SocketIoStats {
  std::size_t connections = 0;  ///< connected sockets (all namespaces)
  std::size_t rooms = 0;        ///< rooms with a member on this process
  std::uint64_t events_received = 0;
  std::uint64_t events_sent = 0;  ///< packets queued to clients (a broadcast counts each one)
  std::uint64_t broadcasts_relayed = 0;  ///< broadcasts that came from other processes
};

/// A broadcast whose arguments depend on the recipient, in a form that can travel to other
/// processes: each socket gets the arguments of its variant key (see set_variant_key), else
/// `fallback` (nothing when null).
struct KeyedArguments {
  std::map<std::string, boost::json::array> variants;
  const boost::json::array* fallback = nullptr;
  /// What a connection that is away (and recovers later) gets replayed; may be null.
  const boost::json::array* for_recovery = nullptr;
};

class SocketIoServer final : public EngineIoListener {
 public:
  SocketIoServer(boost::asio::io_context& io, SocketIoOptions options,
                 SocketApplication& application, core::Logger& log);

  /// With several processes: room broadcasts also go to the other processes through `bus`, and
  /// theirs come here (to this process's members). Call before serving; `bus` outlives this.
  void attach_bus(core::ClusterBus& bus);
  /// The key that picks a socket's variant of a keyed broadcast in `room` (Parley: the language
  /// the socket listens to there). Called under the server's lock: quick, non-blocking.
  using VariantKey = std::function<std::string(const Socket&, const std::string& room)>;
  void set_variant_key(VariantKey key) { variant_key_ = std::move(key); }
  /// Sends each socket of `room` on every process its variant (see KeyedArguments).
  void broadcast_keyed(const std::string& room, std::string_view event,
                       const KeyedArguments& arguments, const Socket* except = nullptr);
  SocketIoStats stats() const;

  // Rooms: a socket joins and leaves; broadcasts reach every socket in the room.
  /// Thread-safe (callable from any thread). Errors: Errc::rate_limited when the socket is in
  /// too many rooms; Errc::conflict when the socket is already disconnected.
  Result<void> join(const SocketPtr& socket, const std::string& room);
  void leave(const SocketPtr& socket, const std::string& room);
  /// Sends `event` with `args` to every socket in `room` (on every process when a bus is
  /// attached), except `except` (may be null). The packet is encoded once and shared by every
  /// recipient.
  void broadcast(const std::string& room, std::string_view event, const boost::json::array& args,
                 const Socket* except = nullptr);
  /// Picks the arguments a socket gets (nullptr: the socket gets nothing). Called under the
  /// server's lock: it must be quick, must not block and must not call the server.
  using ArgumentsFor = std::function<const boost::json::array*(const Socket&)>;
  /// Like broadcast(), but each socket in `room` on this process only gets the arguments
  /// `args_for` picks, e.g. a
  /// message with the translation into its own language. Each distinct argument array is
  /// encoded once; with recovery each is kept in the room's history for exactly the sockets it
  /// went to, and `for_recovery` (when not null) for the room's sockets that were away (dropped
  /// connections that recover later get it replayed).
  void broadcast_each(const std::string& room, std::string_view event, const ArgumentsFor& args_for,
                      const boost::json::array* for_recovery = nullptr,
                      const Socket* except = nullptr);
  /// The sockets of a user, in every namespace (for kicks, bans, account deletion).
  std::vector<SocketPtr> sockets_of(std::int64_t user_id) const;
  /// This process's sockets in `room`.
  std::vector<SocketPtr> sockets_in(const std::string& room) const;
  /// The rooms with a member on this process.
  std::vector<std::string> room_names() const;
  std::size_t socket_count() const;

  // EngineIoListener
  void on_open(const std::shared_ptr<EngineIoSession>& session) override;
  void on_message(const std::shared_ptr<EngineIoSession>& session, std::string data,
                  bool binary) override;
  void on_close(const std::shared_ptr<EngineIoSession>& session, std::string reason) override;

 private:
  struct Client;  // per Engine.IO session: connect state, binary reassembly, its sockets
  std::shared_ptr<Client> client_of(const std::string& session_id) const;
  boost::asio::awaitable<void> connect(std::shared_ptr<Client> client,
                                       std::shared_ptr<EngineIoSession> session, SioPacket packet);
  /// finish_connect(), closing the connection if it throws.
  void finish_connect_or_close(const std::shared_ptr<Client>& client,
                               const std::shared_ptr<EngineIoSession>& session,
                               const SioPacket& packet, const Result<std::int64_t>& user);
  /// The CONNECT once `user` is known (on the session's strand).
  void finish_connect(const std::shared_ptr<Client>& client,
                      const std::shared_ptr<EngineIoSession>& session, const SioPacket& packet,
                      const Result<std::int64_t>& user);
  void handle_packet(const std::shared_ptr<Client>& client,
                     const std::shared_ptr<EngineIoSession>& session, SioPacket packet);
  void enqueue_event(const SocketPtr& socket, SioPacket packet);
  boost::asio::awaitable<void> drain(SocketPtr socket);
  void expect_connect(const std::shared_ptr<Client>& client,
                      const std::shared_ptr<EngineIoSession>& session);
  void remove_socket(const std::shared_ptr<Client>& client, const SocketPtr& socket,
                     const std::string& reason);
  bool recovery_enabled() const { return options_.recovery_window.count() > 0; }
  /// From now on joins of `socket` are refused (it is being removed, by any path).
  static void mark_closed(Socket& socket);

  // Broadcasts queue their packets on the recipients' sessions under mutex_, in the order of
  // their offsets, whichever network threads make them: a client gets every room's events in
  // offset order (it resumes from the last offset it got). The writes they start and the
  // closes of slow consumers wait until mutex_ is released (finish_sends).
  using Unfinished =
      std::vector<std::pair<std::shared_ptr<EngineIoSession>, EngineIoSession::Queued>>;
  static void queue_locked(const Socket& socket, std::span<const SharedPacket> packets,
                           Unfinished& unfinished);
  static void finish_sends(const Unfinished& unfinished);

  // Connection state recovery.
  struct RoomEvent {
    std::uint64_t offset;
    std::int64_t at_ms;
    SharedPacket packet;
    std::string except_sid;  // the broadcast skipped this socket: never replay it there
    // broadcast_each(): the sockets this variant went to (null: everyone but except_sid), or
    // the sockets its recovery variant is not for (those that got a variant live). Sorted
    // recovery keys (recovery_key()): a set of ids per broadcast cost an allocation and
    // string comparisons per recipient, on every broadcast, for the rare recovery.
    std::shared_ptr<const std::vector<std::uint64_t>> audience;
    std::shared_ptr<const std::vector<std::uint64_t>> excluded;
  };

  struct Dropped {
    std::string sid;
    std::string nsp;
    std::int64_t user_id;
    std::set<std::string> rooms;
    boost::json::object data;
    std::int64_t at_ms;
  };
  static std::int64_t now_ms();
  std::string next_offset_locked();
  /// What a dropped socket's recovery needs, read before the application forgets it; its rooms'
  /// histories are kept from now on.
  Dropped prepare_drop(Socket& socket);
  /// Makes the dropped socket recoverable (for the recovery window).
  void remember_dropped(const std::string& private_id, Dropped dropped);
  /// Restores a dropped socket; returns it with the events to replay, or null.
  /// Registers the socket on `client` (handing back its connect timer) before its CONNECT reply
  /// is queued: the client may send events as soon as it has the reply.
  SocketPtr recover(Client& client, const std::shared_ptr<EngineIoSession>& session,
                    const std::string& nsp, std::int64_t user_id, const std::string& pid,
                    const std::string& offset, Unfinished& unfinished,
                    std::shared_ptr<boost::asio::steady_timer>& connect_timer);
  /// Registers a connected socket on its client; hands back the connect timer to cancel.
  /// Nothing (and nothing registered) when the client's transport has closed.
  static std::optional<std::shared_ptr<boost::asio::steady_timer>> register_socket(
      Client& client, const SocketPtr& socket);

  boost::asio::io_context& io_;
  SocketIoOptions options_;
  core::SystemClock clock_;
  core::InMemoryRateLimiter event_limiter_{clock_};
  std::uint64_t offset_counter_ = 0;                             // guarded by mutex_
  std::map<std::string, std::deque<RoomEvent>> room_events_;     // idem
  std::map<std::string, Dropped> dropped_;                       // by pid; idem
  std::deque<std::pair<std::int64_t, std::string>> drop_order_;  // (at_ms, pid); idem
  std::map<std::string, std::uint64_t> trimmed_through_;         // room -> last offset forgotten
  SocketApplication& application_;
  core::Logger& log_;
  mutable std::mutex mutex_;
  // By Engine.IO session id; hashed, as it is looked up on every incoming packet.
  std::unordered_map<std::string, std::shared_ptr<Client>> clients_;
  // Members in no particular order: a broadcast copies them out in one sweep of contiguous
  // memory (joins and leaves scan a room; broadcasts are far more frequent).
  std::map<std::string, std::vector<SocketPtr>> rooms_;
  void add_member_locked(const std::string& room, const SocketPtr& socket);

  friend class Socket;  // counts its emits in events_sent_

  // Several processes.
  void local_broadcast(const std::string& room, std::string_view event,
                       const boost::json::array& args, const Socket* except);
  void local_keyed(const std::string& room, std::string_view event, const KeyedArguments& arguments,
                   const Socket* except);
  void relay(const std::string& room, std::string_view event, const boost::json::array* args,
             const KeyedArguments* keyed);
  void on_relayed(std::string_view payload);
  core::ClusterBus* bus_ = nullptr;
  VariantKey variant_key_;
  std::atomic<std::uint64_t> events_received_{0};
  std::atomic<std::uint64_t> events_sent_{0};
  std::atomic<std::uint64_t> relayed_{0};
};

}  // namespace parley::realtime
