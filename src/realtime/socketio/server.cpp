#include "realtime/socketio/server.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdio>

#include "core/random.hpp"

namespace parley::realtime {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// "[a,b]" -> "a,b": the arguments part that encode_event expects.
std::string args_without_brackets(const json::array& args) {
  std::string text = json::serialize(args);
  return text.size() >= 2 ? text.substr(1, text.size() - 2) : std::string();
}

SharedPacket sio_packet(SioPacket packet) { return make_encoded(encode_message(packet)); }

SharedPacket connect_error(std::string_view nsp, std::string_view message) {
  SioPacket packet;
  packet.type = SioType::connect_error;
  packet.nsp = nsp;
  packet.data = json::object{{"message", message}};
  return sio_packet(std::move(packet));
}

// A packet and its binary attachments, in the order they must go out.
std::vector<SharedPacket> with_attachments(const SioPacket& packet) {
  std::vector<SharedPacket> out;
  out.reserve(1 + packet.attachments.size());
  out.push_back(sio_packet(packet));
  for (const auto& attachment : packet.attachments) out.push_back(make_binary_message(attachment));
  return out;
}

}  // namespace

struct SocketIoServer::Client {
  std::mutex mutex;
  std::set<std::string> connecting;          // namespaces whose CONNECT is being checked
  std::map<std::string, SocketPtr> sockets;  // by namespace, once CONNECT succeeded
  BinaryReassembler binary;
  // connectTimeout; on the session's strand. Cancelled and dropped (under `mutex`) once a
  // namespace is connected, so that the waiting coroutine (and the session it holds) and the
  // timer go away.
  std::shared_ptr<asio::steady_timer> connect_timer;
  // Set when the transport closed; from then on no socket is registered (a CONNECT whose
  // authentication finished after the close must not leave a socket behind).
  bool closed = false;
};

namespace {

void cancel_on_strand(const std::shared_ptr<asio::steady_timer>& timer) {
  if (timer) asio::post(timer->get_executor(), [timer] { timer->cancel(); });
}

}  // namespace

// --- Socket ----------------------------------------------------------------------------------

void Socket::emit(std::string_view event, const json::array& args, const Attachments& attachments) {
  server_.events_sent_.fetch_add(1, std::memory_order_relaxed);
  if (attachments.empty()) {
    send(make_encoded(encode_event(nsp_, event, args_without_brackets(args))));
    return;
  }
  SioPacket packet;
  packet.type = SioType::binary_event;
  packet.nsp = nsp_;
  json::array data;
  data.reserve(args.size() + 1);
  data.emplace_back(event);
  for (const auto& arg : args) data.push_back(arg);
  packet.data = std::move(data);
  packet.attachments = attachments;
  session_->send_all(with_attachments(packet));
}

void Socket::disconnect(const std::string& reason) {
  SioPacket packet;
  packet.type = SioType::disconnect;
  packet.nsp = nsp_;
  session_->send(sio_packet(std::move(packet)));
  session_->close(reason);
}

std::set<std::string> Socket::rooms() const {
  std::lock_guard lock(mutex_);
  return rooms_;
}

// --- server ----------------------------------------------------------------------------------

SocketIoServer::SocketIoServer(asio::io_context& io, SocketIoOptions options,
                               SocketApplication& application, core::Logger& log)
    : io_(io), options_(options), application_(application), log_(log) {}

std::shared_ptr<SocketIoServer::Client> SocketIoServer::client_of(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second;
}

void SocketIoServer::on_open(const std::shared_ptr<EngineIoSession>& session) {
  auto client = std::make_shared<Client>();
  client->connect_timer =
      std::make_shared<asio::steady_timer>(session->strand(), options_.connect_timeout);
  {
    std::lock_guard lock(mutex_);
    clients_.emplace(session->id(), client);
  }
  if (session->on_strand()) {
    expect_connect(client, session);
  } else {
    asio::post(session->strand(), [this, client, session] { expect_connect(client, session); });
  }
}

// A transport that never sends CONNECT holds resources for nothing: close it after
// connect_timeout (Socket.IO's connectTimeout). A plain wait, not a coroutine: every
// connection starts one.
void SocketIoServer::expect_connect(const std::shared_ptr<Client>& client,
                                    const std::shared_ptr<EngineIoSession>& session) {
  std::shared_ptr<asio::steady_timer> timer;
  {
    std::lock_guard lock(client->mutex);
    timer = client->connect_timer;
  }
  if (!timer) return;  // connected or closed already
  timer->async_wait([timer, client, session](const boost::system::error_code&) {
    bool connected = false;
    {
      std::lock_guard lock(client->mutex);
      connected = !client->sockets.empty() || !client->connecting.empty();
    }
    if (!connected && !session->closed()) session->close("connect timeout");
  });
}

void SocketIoServer::on_message(const std::shared_ptr<EngineIoSession>& session, std::string data,
                                bool binary) {
  auto client = client_of(session->id());
  if (!client) return;
  if (binary) {
    std::unique_lock lock(client->mutex);
    if (!client->binary.in_progress()) {
      lock.unlock();
      session->close("unexpected binary attachment");
      return;
    }
    auto done = client->binary.add(std::move(data));
    lock.unlock();
    if (!done) {
      session->close("invalid binary attachment");
    } else if (*done) {
      handle_packet(client, session, std::move(**done));
    }
    return;
  }
  bool attachments_pending = false;
  {
    std::lock_guard lock(client->mutex);
    attachments_pending = client->binary.in_progress();
  }
  // Attachments announced by a binary packet must come before anything else. (close() calls
  // back into on_close, so never under the client's lock.)
  if (attachments_pending) {
    session->close("text packet while binary attachments are pending");
    return;
  }
  auto decoded = decode(data, options_.limits);
  if (!decoded) {
    log_.debug("socketio_protocol_error", {{"reason", decoded.error().message}});
    session->close("parse error");
    return;
  }
  if (!decoded->complete()) {
    bool started = false;
    {
      std::lock_guard lock(client->mutex);
      started = client->binary.start(std::move(*decoded)).has_value();
    }
    if (!started) session->close("invalid binary packet");
    return;
  }
  handle_packet(client, session, std::move(decoded->packet));
}

void SocketIoServer::handle_packet(const std::shared_ptr<Client>& client,
                                   const std::shared_ptr<EngineIoSession>& session,
                                   SioPacket packet) {
  if (!application_.serves_namespace(packet.nsp)) {
    if (packet.type == SioType::connect) {
      session->send(connect_error(packet.nsp, "Invalid namespace"));
      return;
    }
    session->close("packet for a namespace not joined");
    return;
  }
  SocketPtr socket;
  bool second_connect = false;
  {
    std::lock_guard lock(client->mutex);
    if (auto it = client->sockets.find(packet.nsp); it != client->sockets.end()) {
      socket = it->second;
    }
    if (packet.type == SioType::connect) {
      second_connect = socket || client->connecting.contains(packet.nsp);
      client->connecting.insert(packet.nsp);
    }
  }
  if (second_connect) {
    session->close("second CONNECT");
    return;
  }
  switch (packet.type) {
    case SioType::connect:
      // A token whose session is known is answered at once; others wait for the database.
      if (session->on_strand()) {
        if (auto user = application_.authenticate_at_once(packet.data)) {
          finish_connect_or_close(client, session, packet, *user);
          return;
        }
      }
      asio::co_spawn(session->strand(), connect(client, session, std::move(packet)),
                     asio::detached);
      return;
    case SioType::disconnect: {
      if (!socket) return;
      remove_socket(client, socket, "client namespace disconnect");
      // The last namespace gone: nothing is left to carry, the transport ends too.
      bool idle = false;
      {
        std::lock_guard lock(client->mutex);
        idle = client->sockets.empty() && client->connecting.empty();
      }
      if (idle) session->close("client namespace disconnect");
      return;
    }
    case SioType::event:
    case SioType::binary_event:
      if (!socket) {
        session->close("event before CONNECT");
        return;
      }
      enqueue_event(socket, std::move(packet));
      return;
    case SioType::ack:
    case SioType::binary_ack:
      // Parley's server never asks clients for acks: an ack is for an unknown id.
      session->close("ack for an unknown id");
      return;
    case SioType::connect_error:
      session->close("CONNECT_ERROR from a client");
      return;
  }
}

asio::awaitable<void> SocketIoServer::connect(std::shared_ptr<Client> client,
                                              std::shared_ptr<EngineIoSession> session,
                                              SioPacket packet) {
  json::value auth = packet.data.is_object() ? packet.data : json::value(json::object());
  const auto user = co_await application_.authenticate(std::move(auth));
  finish_connect_or_close(client, session, packet, user);
}

void SocketIoServer::finish_connect_or_close(const std::shared_ptr<Client>& client,
                                             const std::shared_ptr<EngineIoSession>& session,
                                             const SioPacket& packet,
                                             const Result<std::int64_t>& user) {
  // A CONNECT left half done would hold the transport open with no namespace and no answer
  // (the connect timeout counts it as connecting), and inline in the transport's read an
  // exception would stop the reads: the connection ends instead.
  try {
    finish_connect(client, session, packet, user);
  } catch (const std::exception& e) {
    log_.error("socketio_connect_failed", {{"reason", e.what()}});
    session->close("internal error");
  }
}

void SocketIoServer::finish_connect(const std::shared_ptr<Client>& client,
                                    const std::shared_ptr<EngineIoSession>& session,
                                    const SioPacket& packet, const Result<std::int64_t>& user) {
  // A recovering client adds {"pid","offset"} to its auth payload.
  const std::string& nsp = packet.nsp;
  std::string pid;
  std::string offset;
  if (packet.data.is_object()) {
    const auto& auth = packet.data.as_object();
    if (const auto* p = auth.if_contains("pid"); p && p->is_string()) pid = p->as_string();
    if (const auto* o = auth.if_contains("offset"); o && o->is_string()) offset = o->as_string();
  }
  if (!user) {
    {
      std::lock_guard lock(client->mutex);
      client->connecting.erase(nsp);
    }
    session->send(connect_error(nsp, user.error().message));
    return;
  }
  SocketPtr socket;
  Unfinished replayed;  // a recovered socket's CONNECT reply and missed events, queued
  std::shared_ptr<asio::steady_timer> connect_timer;
  if (recovery_enabled() && !pid.empty() && !offset.empty()) {
    socket = recover(*client, session, nsp, *user, pid, offset, replayed, connect_timer);
  }
  const bool recovered = socket != nullptr;
  if (!socket) {
    socket = std::make_shared<Socket>(core::random_token(15), core::random_token(15), nsp, session,
                                      *user, *this);
    auto registered = register_socket(*client, socket);
    if (!registered) return;  // the transport closed while the CONNECT was checked
    connect_timer = std::move(*registered);
  }
  cancel_on_strand(connect_timer);
  if (recovered) {
    finish_sends(replayed);
    application_.on_recovered(socket);
    return;
  }
  SioPacket reply;
  reply.type = SioType::connect;
  reply.nsp = nsp;
  // The private id lets the client recover this socket later; without recovery there is none.
  json::object handshake{{"sid", socket->id()}};
  if (recovery_enabled()) handshake["pid"] = socket->private_id_;
  reply.data = std::move(handshake);
  session->send(sio_packet(std::move(reply)));
  application_.on_connect(socket,
                          packet.data.is_object() ? packet.data : json::value(json::object()));
}

std::optional<std::shared_ptr<asio::steady_timer>> SocketIoServer::register_socket(
    Client& client, const SocketPtr& socket) {
  std::lock_guard lock(client.mutex);
  client.connecting.erase(socket->nsp());
  if (client.closed) return std::nullopt;
  client.sockets[socket->nsp()] = socket;
  return std::move(client.connect_timer);  // done with: freed with its wait
}

std::int64_t SocketIoServer::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string SocketIoServer::next_offset_locked() {
  // Fixed width, so that offsets also compare as strings.
  char text[24];
  std::snprintf(text, sizeof text, "%020llu", static_cast<unsigned long long>(++offset_counter_));
  return text;
}

SocketIoServer::Dropped SocketIoServer::prepare_drop(Socket& socket) {
  Dropped dropped{socket.id(),    socket.nsp(),  socket.user_id(),
                  socket.rooms(), socket.data(), now_ms()};
  std::lock_guard lock(mutex_);
  // Its rooms keep a history even with no member left here, so that broadcasts relayed from
  // other processes are kept for its recovery (see on_relayed).
  for (const auto& room : dropped.rooms) room_events_[room];
  return dropped;
}

void SocketIoServer::remember_dropped(const std::string& private_id, Dropped dropped) {
  std::lock_guard lock(mutex_);
  const auto cutoff = now_ms() - options_.recovery_window.count();
  // Expired entries leave in drop order, oldest first: amortized O(1) per drop, so that a mass
  // disconnect (a network blip, a restarting proxy) is not quadratic.
  while (!drop_order_.empty() && drop_order_.front().first < cutoff) {
    auto expired = dropped_.find(drop_order_.front().second);
    if (expired != dropped_.end() && expired->second.at_ms < cutoff) dropped_.erase(expired);
    drop_order_.pop_front();
  }
  drop_order_.emplace_back(dropped.at_ms, private_id);
  dropped_[private_id] = std::move(dropped);
}

SocketPtr SocketIoServer::recover(Client& client, const std::shared_ptr<EngineIoSession>& session,
                                  const std::string& nsp, std::int64_t user_id,
                                  const std::string& pid, const std::string& offset,
                                  Unfinished& unfinished,
                                  std::shared_ptr<asio::steady_timer>& connect_timer) {
  std::lock_guard lock(mutex_);
  auto it = dropped_.find(pid);
  if (it == dropped_.end()) return nullptr;
  // Read in place: the entry is used up only once the socket is registered.
  const Dropped& dropped = it->second;
  const auto now = now_ms();
  std::uint64_t last_seen = 0;
  auto [end, ec] = std::from_chars(offset.data(), offset.data() + offset.size(), last_seen);
  if (dropped.user_id != user_id || dropped.nsp != nsp ||
      dropped.at_ms < now - options_.recovery_window.count() || ec != std::errc() ||
      end != offset.data() + offset.size()) {
    dropped_.erase(it);
    return nullptr;
  }
  // Every room must still hold everything after the client's offset, or events would be lost:
  // then a plain new connection (and a history fetch) is the honest answer.
  std::vector<const RoomEvent*> missed;
  const auto key = recovery_key(dropped.sid);
  for (const auto& room : dropped.rooms) {
    if (auto trimmed = trimmed_through_.find(room);
        trimmed != trimmed_through_.end() && trimmed->second > last_seen) {
      dropped_.erase(it);
      return nullptr;
    }
    auto events = room_events_.find(room);
    if (events == room_events_.end()) continue;
    for (const auto& event : events->second) {
      if (event.offset <= last_seen || event.except_sid == dropped.sid) continue;
      if (event.audience &&
          !std::binary_search(event.audience->begin(), event.audience->end(), key)) {
        continue;
      }
      if (event.excluded &&
          std::binary_search(event.excluded->begin(), event.excluded->end(), key)) {
        continue;
      }
      missed.push_back(&event);
    }
  }
  std::sort(missed.begin(), missed.end(),
            [](const RoomEvent* a, const RoomEvent* b) { return a->offset < b->offset; });
  auto socket = std::make_shared<Socket>(dropped.sid, pid, nsp, session, user_id, *this);
  socket->data_ = dropped.data;
  socket->rooms_ = dropped.rooms;
  // The CONNECT reply and the missed events are queued before the socket is back in its
  // rooms, under the lock broadcasts queue under: live events follow them, in offset order.
  std::vector<SharedPacket> replay;
  replay.reserve(missed.size() + 1);
  SioPacket reply;
  reply.type = SioType::connect;
  reply.nsp = nsp;
  reply.data = json::object{{"sid", socket->id()}, {"pid", socket->private_id_}};
  replay.push_back(sio_packet(std::move(reply)));
  for (const auto* event : missed) replay.push_back(event->packet);
  // Nested in mutex_, as in sockets_of(). A transport that closed while the CONNECT was
  // checked gets nothing, and the drop stays recoverable for the client's next attempt.
  auto registered = register_socket(client, socket);
  if (!registered) return nullptr;
  connect_timer = std::move(*registered);
  const std::set<std::string> rooms = std::move(it->second.rooms);
  dropped_.erase(it);
  queue_locked(*socket, replay, unfinished);
  for (const auto& room : rooms) add_member_locked(room, socket);
  return socket;
}

void SocketIoServer::enqueue_event(const SocketPtr& socket, SioPacket packet) {
  events_received_.fetch_add(1, std::memory_order_relaxed);
  if (!event_limiter_.acquire(socket->id(), options_.event_rate).allowed) {
    std::size_t refused = 0;
    {
      std::lock_guard lock(socket->mutex_);
      refused = ++socket->refused_events_;
    }
    if (refused > options_.max_refused_events) {
      socket->disconnect("event rate limit exceeded");
      return;
    }
    if (packet.id) {
      SioPacket answer;
      answer.type = SioType::ack;
      answer.nsp = socket->nsp();
      answer.id = packet.id;
      answer.data = json::array{json::object{
          {"error", json::object{{"code", "rate_limited"}, {"message", "too many events"}}}}};
      socket->send(sio_packet(std::move(answer)));
    }
    return;
  }
  bool start = false;
  {
    std::lock_guard lock(socket->mutex_);
    socket->inbox_.push_back(std::move(packet));
    start = !socket->draining_;
    socket->draining_ = true;
  }
  if (start) asio::co_spawn(socket->session_->strand(), drain(socket), asio::detached);
}

asio::awaitable<void> SocketIoServer::drain(SocketPtr socket) {
  for (;;) {
    SioPacket packet;
    {
      std::lock_guard lock(socket->mutex_);
      if (socket->inbox_.empty()) {
        socket->draining_ = false;
        co_return;
      }
      packet = std::move(socket->inbox_.front());
      socket->inbox_.erase(socket->inbox_.begin());
      if (socket->inbox_.empty()) std::vector<SioPacket>().swap(socket->inbox_);
    }
    auto& args = packet.data.as_array();
    std::string name = args.front().is_string() ? std::string(args.front().as_string())
                                                : json::serialize(args.front());
    json::array rest(args.begin() + 1, args.end());
    ++socket->event_seq_;
    AckReply ack;
    if (packet.id) {
      ack = AckReply([session = socket->session_, nsp = socket->nsp(), id = *packet.id](
                         const json::array& reply, const Attachments& attachments) {
        SioPacket answer;
        answer.type = attachments.empty() ? SioType::ack : SioType::binary_ack;
        answer.nsp = nsp;
        answer.id = id;
        answer.data = reply;
        answer.attachments = attachments;
        session->send_all(with_attachments(answer));
      });
    }
    try {
      co_await application_.on_event(socket, std::move(name), std::move(rest),
                                     std::move(packet.attachments), std::move(ack));
    } catch (const std::exception& e) {
      log_.error(
          "socket_event_failed",
          {{"socket", socket->id()}, {"request_id", socket->event_id()}, {"what", e.what()}});
    }
  }
}

Result<void> SocketIoServer::join(const SocketPtr& socket, const std::string& room) {
  // Both locks (the server's first, the only order they are ever nested in): a removal that
  // marks the socket closed either comes before (the join is refused) or sees the room in the
  // socket's list and takes it out of the server's again.
  std::lock_guard lock(mutex_);
  std::lock_guard socket_lock(socket->mutex_);
  if (socket->closed_) return fail(Errc::conflict, "the connection is closed");
  if (socket->rooms_.size() >= options_.max_rooms_per_socket && !socket->rooms_.count(room)) {
    return fail(Errc::rate_limited, "too many rooms on one connection");
  }
  socket->rooms_.insert(room);
  add_member_locked(room, socket);
  return {};
}

void SocketIoServer::add_member_locked(const std::string& room, const SocketPtr& socket) {
  auto& members = rooms_[room];
  if (std::find(members.begin(), members.end(), socket) == members.end()) {
    members.push_back(socket);
  }
}

void SocketIoServer::leave(const SocketPtr& socket, const std::string& room) {
  {
    std::lock_guard lock(socket->mutex_);
    socket->rooms_.erase(room);
  }
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  auto& members = it->second;
  if (auto member = std::find(members.begin(), members.end(), socket); member != members.end()) {
    *member = std::move(members.back());
    members.pop_back();
  }
  if (members.empty()) rooms_.erase(it);
}

void SocketIoServer::broadcast(const std::string& room, std::string_view event,
                               const json::array& args, const Socket* except) {
  local_broadcast(room, event, args, except);
  if (bus_ != nullptr) relay(room, event, &args, nullptr);
}

void SocketIoServer::local_broadcast(const std::string& room, std::string_view event,
                                     const json::array& args, const Socket* except) {
  std::string arguments = args_without_brackets(args);
  Unfinished unfinished;
  {
    // One lock for offset, history and the recipients' queues: a recovering socket either is a
    // recipient or finds the event in the history, never neither nor both, and every client
    // gets events in offset order.
    std::lock_guard lock(mutex_);
    if (recovery_enabled()) {
      const std::string offset = next_offset_locked();
      if (!arguments.empty()) arguments += ',';
      arguments += '"' + offset + '"';
    }
    // Encoded once; every recipient's queue holds a reference to the same bytes.
    const SharedPacket packet = make_encoded(encode_event("/", event, arguments));
    if (recovery_enabled()) {
      auto& history = room_events_[room];
      const auto now = now_ms();
      history.push_back(RoomEvent{offset_counter_, now, packet,
                                  except ? except->id() : std::string(), nullptr, nullptr});
      while (history.size() > options_.recovery_events_per_room ||
             (!history.empty() && history.front().at_ms < now - options_.recovery_window.count())) {
        trimmed_through_[room] = history.front().offset;
        history.pop_front();
      }
    }
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    unfinished.reserve(it->second.size());  // no allocation between queue() and its record
    std::uint64_t sent = 0;
    for (const auto& socket : it->second) {
      if (socket.get() == except) continue;
      queue_locked(*socket, std::span<const SharedPacket>(&packet, 1), unfinished);
      ++sent;
    }
    events_sent_.fetch_add(sent, std::memory_order_relaxed);
  }
  finish_sends(unfinished);
}

void SocketIoServer::queue_locked(const Socket& socket, std::span<const SharedPacket> packets,
                                  Unfinished& unfinished) {
  const auto queued = socket.session_->queue(packets);
  if (queued == EngineIoSession::Queued::write || queued == EngineIoSession::Queued::overflow) {
    unfinished.emplace_back(socket.session_, queued);
  }
}

void SocketIoServer::finish_sends(const Unfinished& unfinished) {
  // Writes start and slow consumers close here, with no lock held: a close's callbacks
  // broadcast (user_left) and leave rooms. Writes first: whatever a close's callbacks do, no
  // writer claimed by queue() is left unstarted.
  for (const auto& [session, queued] : unfinished) {
    if (queued == EngineIoSession::Queued::write) session->finish_queued(queued);
  }
  for (const auto& [session, queued] : unfinished) {
    if (queued != EngineIoSession::Queued::write) session->finish_queued(queued);
  }
}

void SocketIoServer::broadcast_each(const std::string& room, std::string_view event,
                                    const ArgumentsFor& args_for, const json::array* for_recovery,
                                    const Socket* except) {
  struct Variant {
    std::string arguments;
    std::vector<const Socket*> recipients;  // alive: queued to under the lock
    std::vector<std::uint64_t> audience;
    SharedPacket packet;
  };
  std::map<const json::array*, Variant> variants;
  Unfinished unfinished;
  {
    // As broadcast(): recipients, offsets, history and queues under one lock.
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room);
    const bool keep_for_absent = recovery_enabled() && for_recovery != nullptr;
    if (it == rooms_.end() && !keep_for_absent) return;
    static const std::vector<SocketPtr> kNobody;
    const auto& members = it == rooms_.end() ? kNobody : it->second;
    std::vector<std::uint64_t> present;
    if (keep_for_absent) {
      present.reserve(members.size() + 1);
      if (except != nullptr) present.push_back(except->recovery_key_);
    }
    for (const auto& socket : members) {
      if (keep_for_absent) present.push_back(socket->recovery_key_);
      if (socket.get() == except) continue;
      const json::array* args = args_for(*socket);
      if (args == nullptr) continue;
      auto& variant = variants[args];
      variant.recipients.push_back(socket.get());
      if (recovery_enabled()) variant.audience.push_back(socket->recovery_key_);
    }
    const auto now = now_ms();
    const auto sorted = [](std::vector<std::uint64_t> keys) {
      std::sort(keys.begin(), keys.end());
      return std::make_shared<const std::vector<std::uint64_t>>(std::move(keys));
    };
    const auto remember = [&](SharedPacket packet,
                              std::shared_ptr<const std::vector<std::uint64_t>> audience,
                              std::shared_ptr<const std::vector<std::uint64_t>> excluded) {
      auto& history = room_events_[room];
      history.push_back(RoomEvent{offset_counter_, now, std::move(packet), std::string(),
                                  std::move(audience), std::move(excluded)});
      while (history.size() > options_.recovery_events_per_room ||
             (!history.empty() && history.front().at_ms < now - options_.recovery_window.count())) {
        trimmed_through_[room] = history.front().offset;
        history.pop_front();
      }
    };
    if (keep_for_absent) {
      std::string arguments = args_without_brackets(*for_recovery);
      const std::string offset = next_offset_locked();
      if (!arguments.empty()) arguments += ',';
      arguments += '"' + offset + '"';
      remember(make_encoded(encode_event("/", event, arguments)), nullptr,
               sorted(std::move(present)));
    }
    for (auto& [args, variant] : variants) {
      variant.arguments = args_without_brackets(*args);
      if (recovery_enabled()) {
        const std::string offset = next_offset_locked();
        if (!variant.arguments.empty()) variant.arguments += ',';
        variant.arguments += '"' + offset + '"';
      }
      variant.packet = make_encoded(encode_event("/", event, variant.arguments));
      if (recovery_enabled())
        remember(variant.packet, sorted(std::move(variant.audience)), nullptr);
    }
    unfinished.reserve(members.size());  // no allocation between queue() and its record
    std::uint64_t sent = 0;
    for (const auto& [args, variant] : variants) {
      for (const auto* socket : variant.recipients) {
        queue_locked(*socket, std::span<const SharedPacket>(&variant.packet, 1), unfinished);
      }
      sent += variant.recipients.size();
    }
    events_sent_.fetch_add(sent, std::memory_order_relaxed);
  }
  finish_sends(unfinished);
}

// --- several processes -----------------------------------------------------------------------

void SocketIoServer::attach_bus(core::ClusterBus& bus) {
  bus_ = &bus;
  bus.subscribe("sio", [this](std::string_view payload) { on_relayed(payload); });
}

void SocketIoServer::broadcast_keyed(const std::string& room, std::string_view event,
                                     const KeyedArguments& arguments, const Socket* except) {
  local_keyed(room, event, arguments, except);
  if (bus_ != nullptr) relay(room, event, nullptr, &arguments);
}

void SocketIoServer::local_keyed(const std::string& room, std::string_view event,
                                 const KeyedArguments& arguments, const Socket* except) {
  const auto pick = [&](const Socket& socket) -> const json::array* {
    if (variant_key_ && !arguments.variants.empty()) {
      auto it = arguments.variants.find(variant_key_(socket, room));
      if (it != arguments.variants.end()) return &it->second;
    }
    return arguments.fallback;
  };
  broadcast_each(room, event, pick, arguments.for_recovery, except);
}

// One JSON object per broadcast: {"r": room, "e": event, "a": args} or, keyed,
// {"r", "e", "v": {key: args}, "f": fallback, "k": for_recovery}.
void SocketIoServer::relay(const std::string& room, std::string_view event, const json::array* args,
                           const KeyedArguments* keyed) {
  json::object message{{"r", room}, {"e", event}};
  if (args != nullptr) message["a"] = *args;
  if (keyed != nullptr) {
    json::object variants;
    for (const auto& [key, value] : keyed->variants) variants[key] = value;
    message["v"] = std::move(variants);
    if (keyed->fallback != nullptr) message["f"] = *keyed->fallback;
    if (keyed->for_recovery != nullptr) message["k"] = *keyed->for_recovery;
  }
  bus_->publish("sio", json::serialize(message));
}

void SocketIoServer::on_relayed(std::string_view payload) {
  // From another process of this deployment (not from a client), yet checked: a bad message
  // is logged and dropped, never trusted into a crash.
  boost::system::error_code ec;
  auto parsed = json::parse(payload, ec);
  const auto* message = parsed.if_object();
  const json::string* room = nullptr;
  const json::string* event = nullptr;
  if (!ec && message != nullptr) {
    if (const auto* r = message->if_contains("r")) room = r->if_string();
    if (const auto* e = message->if_contains("e")) event = e->if_string();
  }
  if (room == nullptr || event == nullptr) {
    log_.warning("relayed_broadcast_invalid", {{"bytes", payload.size()}});
    return;
  }
  relayed_.fetch_add(1, std::memory_order_relaxed);
  const std::string room_name(*room);
  {
    // Nobody here, now or recovering: nothing to deliver and nothing worth keeping (a room
    // name from the bus never grows this process's history by itself).
    std::lock_guard lock(mutex_);
    if (rooms_.count(room_name) == 0 && room_events_.count(room_name) == 0) return;
  }
  if (const auto* args = message->if_contains("a"); args != nullptr && args->is_array()) {
    local_broadcast(room_name, *event, args->get_array(), nullptr);
    return;
  }
  KeyedArguments keyed;
  if (const auto* variants = message->if_contains("v"); variants && variants->is_object()) {
    for (const auto& [key, value] : variants->get_object()) {
      if (value.is_array()) keyed.variants.emplace(std::string(key), value.get_array());
    }
  }
  if (const auto* fallback = message->if_contains("f"); fallback && fallback->is_array()) {
    keyed.fallback = &fallback->get_array();
  }
  if (const auto* recovery = message->if_contains("k"); recovery && recovery->is_array()) {
    keyed.for_recovery = &recovery->get_array();
  }
  local_keyed(room_name, *event, keyed, nullptr);
}

SocketIoStats SocketIoServer::stats() const {
  SocketIoStats out;
  out.connections = socket_count();
  {
    std::lock_guard lock(mutex_);
    out.rooms = rooms_.size();
  }
  out.events_received = events_received_.load(std::memory_order_relaxed);
  out.events_sent = events_sent_.load(std::memory_order_relaxed);
  out.broadcasts_relayed = relayed_.load(std::memory_order_relaxed);
  return out;
}

std::vector<SocketPtr> SocketIoServer::sockets_in(const std::string& room) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<std::string> SocketIoServer::room_names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.reserve(rooms_.size());
  for (const auto& [name, members] : rooms_) {
    if (!members.empty()) out.push_back(name);
  }
  return out;
}

std::vector<SocketPtr> SocketIoServer::sockets_of(std::int64_t user_id) const {
  std::vector<SocketPtr> out;
  std::lock_guard lock(mutex_);
  for (const auto& [id, client] : clients_) {
    std::lock_guard client_lock(client->mutex);
    for (const auto& [nsp, socket] : client->sockets) {
      if (socket->user_id() == user_id) out.push_back(socket);
    }
  }
  return out;
}

std::size_t SocketIoServer::socket_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, client] : clients_) {
    std::lock_guard client_lock(client->mutex);
    n += client->sockets.size();
  }
  return n;
}

void SocketIoServer::remove_socket(const std::shared_ptr<Client>& client, const SocketPtr& socket,
                                   const std::string& reason) {
  mark_closed(*socket);
  application_.on_disconnect(socket, reason);
  for (const auto& room : socket->rooms()) leave(socket, room);
  std::lock_guard lock(client->mutex);
  if (auto it = client->sockets.find(socket->nsp());
      it != client->sockets.end() && it->second == socket) {
    client->sockets.erase(it);
  }
}

void SocketIoServer::mark_closed(Socket& socket) {
  std::lock_guard lock(socket.mutex_);
  socket.closed_ = true;
}

void SocketIoServer::on_close(const std::shared_ptr<EngineIoSession>& session, std::string reason) {
  std::shared_ptr<Client> client;
  {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(session->id());
    if (it == clients_.end()) return;
    client = it->second;
  }
  std::vector<SocketPtr> sockets;
  std::shared_ptr<asio::steady_timer> connect_timer;
  {
    std::lock_guard lock(client->mutex);
    for (const auto& [nsp, socket] : client->sockets) sockets.push_back(socket);
    client->sockets.clear();
    client->closed = true;
    connect_timer = std::move(client->connect_timer);
  }
  cancel_on_strand(connect_timer);
  // A dropped transport may come back within the recovery window; a deliberate close not.
  const bool recoverable =
      reason == "transport close" || reason == "transport error" || reason == "ping timeout";
  for (const auto& socket : sockets) {
    mark_closed(*socket);
    std::optional<Dropped> dropped;
    if (recoverable && recovery_enabled()) dropped = prepare_drop(*socket);
    // Application callbacks (user_left, ...) run while the socket still knows its rooms.
    application_.on_disconnect(socket, reason);
    for (const auto& room : socket->rooms()) leave(socket, room);
    // Recoverable only now: a recovery gets the socket's id back, so the application must be
    // done forgetting this one (its languages, its presence) before a recovered one exists.
    if (dropped) remember_dropped(socket->private_id_, std::move(*dropped));
  }
  std::lock_guard lock(mutex_);
  clients_.erase(session->id());
}

}  // namespace parley::realtime
