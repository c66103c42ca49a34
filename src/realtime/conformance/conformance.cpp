#include "realtime/conformance/conformance.hpp"

namespace parley::realtime {

void EngineIoEcho::on_message(const std::shared_ptr<EngineIoSession>& session, std::string data,
                              bool binary) {
  session->send(binary ? make_binary_message(std::move(data)) : make_message(std::move(data)));
}

bool ConformanceApplication::serves_namespace(std::string_view nsp) const {
  return nsp == "/" || nsp == "/custom";
}

boost::asio::awaitable<Result<std::int64_t>> ConformanceApplication::authenticate(
    boost::json::value) {
  // Every client is welcome; there are no users in this mode.
  co_return std::int64_t{0};
}

void ConformanceApplication::on_connect(const SocketPtr& socket, const boost::json::value& auth) {
  socket->emit("auth", boost::json::array{auth});
}

boost::asio::awaitable<void> ConformanceApplication::on_event(SocketPtr socket, std::string name,
                                                              boost::json::array args,
                                                              Attachments attachments,
                                                              AckReply ack) {
  if (name == "message") {
    socket->emit("message-back", args, attachments);
  } else if (name == "message-with-ack" && ack) {
    ack(args, attachments);
  }
  co_return;
}

}  // namespace parley::realtime
