#include "realtime/socketio/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/serialize.hpp>

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

SharedPacket connect_error(std::string_view message) {
  SioPacket packet;
  packet.type = SioType::connect_error;
  packet.data = json::object{{"message", message}};
  return sio_packet(std::move(packet));
}

}  // namespace

struct SocketIoServer::Client {
  std::mutex mutex;
  bool connecting = false;
  SocketPtr socket;  // set once CONNECT succeeded
  BinaryReassembler binary;
};

// --- Socket ----------------------------------------------------------------------------------

void Socket::emit(std::string_view event, const json::array& args) {
  session_->send(make_encoded(encode_event("/", event, args_without_brackets(args))));
}

void Socket::disconnect(const std::string& reason) {
  SioPacket packet;
  packet.type = SioType::disconnect;
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
  std::lock_guard lock(mutex_);
  clients_.emplace(session->id(), std::make_shared<Client>());
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
  if (packet.nsp != "/") {
    // Parley serves the main namespace only.
    if (packet.type == SioType::connect) {
      SioPacket refusal;
      refusal.type = SioType::connect_error;
      refusal.nsp = packet.nsp;
      refusal.data = json::object{{"message", "Invalid namespace"}};
      session->send(sio_packet(std::move(refusal)));
      return;
    }
    session->close("packet for a namespace not joined");
    return;
  }
  SocketPtr socket;
  bool second_connect = false;
  {
    std::lock_guard lock(client->mutex);
    socket = client->socket;
    if (packet.type == SioType::connect) {
      second_connect = socket || client->connecting;
      client->connecting = true;
    }
  }
  if (second_connect) {
    session->close("second CONNECT");
    return;
  }
  switch (packet.type) {
    case SioType::connect:
      asio::co_spawn(session->strand(), connect(client, session, std::move(packet)),
                     asio::detached);
      return;
    case SioType::disconnect:
      if (socket) remove_socket(socket, "client namespace disconnect");
      return;
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
  auto user = co_await application_.authenticate(std::move(packet.data));
  if (!user) {
    {
      std::lock_guard lock(client->mutex);
      client->connecting = false;
    }
    session->send(connect_error(user.error().message));
    co_return;
  }
  auto socket = std::make_shared<Socket>(core::random_token(15), session, *user, *this);
  {
    std::lock_guard lock(client->mutex);
    client->connecting = false;
    client->socket = socket;
  }
  SioPacket reply;
  reply.type = SioType::connect;
  reply.data = json::object{{"sid", socket->id()}};
  session->send(sio_packet(std::move(reply)));
  application_.on_connect(socket);
}

void SocketIoServer::enqueue_event(const SocketPtr& socket, SioPacket packet) {
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
      socket->inbox_.pop_front();
    }
    auto& args = packet.data.as_array();
    std::string name = args.front().is_string() ? std::string(args.front().as_string())
                                                : json::serialize(args.front());
    json::array rest(args.begin() + 1, args.end());
    AckReply ack;
    if (packet.id) {
      ack = [session = socket->session_, id = *packet.id](const json::array& reply) {
        SioPacket answer;
        answer.type = SioType::ack;
        answer.id = id;
        answer.data = reply;
        session->send(sio_packet(std::move(answer)));
      };
    }
    try {
      co_await application_.on_event(socket, std::move(name), std::move(rest), std::move(ack));
    } catch (const std::exception& e) {
      log_.error("socket_event_failed", {{"socket", socket->id()}, {"what", e.what()}});
    }
  }
}

Result<void> SocketIoServer::join(const SocketPtr& socket, const std::string& room) {
  {
    std::lock_guard lock(socket->mutex_);
    if (socket->rooms_.size() >= options_.max_rooms_per_socket && !socket->rooms_.count(room)) {
      return fail(Errc::rate_limited, "too many rooms on one connection");
    }
    socket->rooms_.insert(room);
  }
  std::lock_guard lock(mutex_);
  rooms_[room].insert(socket);
  return {};
}

void SocketIoServer::leave(const SocketPtr& socket, const std::string& room) {
  {
    std::lock_guard lock(socket->mutex_);
    socket->rooms_.erase(room);
  }
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  it->second.erase(socket);
  if (it->second.empty()) rooms_.erase(it);
}

void SocketIoServer::broadcast(const std::string& room, std::string_view event,
                               const json::array& args, const Socket* except) {
  // Encoded once; every recipient's queue holds a reference to the same bytes.
  const auto packet = make_encoded(encode_event("/", event, args_without_brackets(args)));
  for (const auto& socket : sockets_in(room)) {
    if (socket.get() != except) socket->send(packet);
  }
}

std::vector<SocketPtr> SocketIoServer::sockets_in(const std::string& room) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<SocketPtr> SocketIoServer::sockets_of(std::int64_t user_id) const {
  std::vector<SocketPtr> out;
  std::lock_guard lock(mutex_);
  for (const auto& [id, client] : clients_) {
    std::lock_guard client_lock(client->mutex);
    if (client->socket && client->socket->user_id() == user_id) out.push_back(client->socket);
  }
  return out;
}

std::size_t SocketIoServer::socket_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, client] : clients_) {
    std::lock_guard client_lock(client->mutex);
    if (client->socket) ++n;
  }
  return n;
}

void SocketIoServer::remove_socket(const SocketPtr& socket, const std::string& reason) {
  application_.on_disconnect(socket, reason);
  for (const auto& room : socket->rooms()) leave(socket, room);
  {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(socket->session_->id());
    if (it != clients_.end()) {
      std::lock_guard client_lock(it->second->mutex);
      if (it->second->socket == socket) it->second->socket.reset();
    }
  }
}

void SocketIoServer::on_close(const std::shared_ptr<EngineIoSession>& session, std::string reason) {
  std::shared_ptr<Client> client;
  {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(session->id());
    if (it == clients_.end()) return;
    client = it->second;
  }
  SocketPtr socket;
  {
    std::lock_guard lock(client->mutex);
    socket = client->socket;
  }
  // Application callbacks (user_left, ...) run while the socket still knows its rooms.
  if (socket) {
    application_.on_disconnect(socket, reason);
    for (const auto& room : socket->rooms()) leave(socket, room);
  }
  std::lock_guard lock(mutex_);
  clients_.erase(session->id());
}

}  // namespace parley::realtime
