#pragma once
// Protocol-conformance mode (PARLEY_PROTOCOL_CONFORMANCE=1): the behaviour the socket.io
// project's own protocol test suites expect from a server under test, so that Parley's
// Engine.IO and Socket.IO layers can be checked against them unchanged. Never used in
// production (the configuration refuses it there); it replaces Parley's chat application.
//
//   - Engine.IO alone (mounted at /engine.io/): every message comes back unchanged.
//   - Socket.IO: namespaces "/" and "/custom"; on connect the socket is sent `auth` with its
//     handshake's auth payload; `message` -> `message-back` with the same arguments (binary
//     attachments kept); `message-with-ack` -> acked with the same arguments.

#include "realtime/engineio/session.hpp"
#include "realtime/socketio/server.hpp"

namespace parley::realtime {

/// Engine.IO listener that sends every message back on the session it came from.
class EngineIoEcho final : public EngineIoListener {
 public:
  void on_open(const std::shared_ptr<EngineIoSession>&) override {}
  void on_message(const std::shared_ptr<EngineIoSession>& session, std::string data,
                  bool binary) override;
  void on_close(const std::shared_ptr<EngineIoSession>&, std::string) override {}
};

/// The Socket.IO application of the conformance test suites.
class ConformanceApplication final : public SocketApplication {
 public:
  bool serves_namespace(std::string_view nsp) const override;
  boost::asio::awaitable<Result<std::int64_t>> authenticate(boost::json::value auth) override;
  void on_connect(const SocketPtr& socket, const boost::json::value& auth) override;
  boost::asio::awaitable<void> on_event(SocketPtr socket, std::string name, boost::json::array args,
                                        Attachments attachments, AckReply ack) override;
  void on_disconnect(const SocketPtr&, const std::string&) override {}
  void on_recovered(const SocketPtr&) override {}
};

}  // namespace parley::realtime
