#include "realtime/engineio/corked_stream.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "net/http.hpp"

namespace parley::realtime {

boost::asio::awaitable<boost::beast::error_code> CorkedStream::flush() {
  corked_ = false;
  flushing_ = true;
  boost::beast::error_code result;
  while (!pending_.empty()) {
    writing_.swap(pending_);
    auto [ec, n] =
        co_await boost::asio::async_write(stream_, boost::asio::buffer(writing_), net::use_nothrow);
    (void)n;
    writing_.clear();
    if (ec) {
      result = ec;
      pending_.clear();
      break;
    }
  }
  flushing_ = false;
  // An idle connection keeps no buffer: memory per connection is what idle connections cost.
  std::string().swap(writing_);
  std::string().swap(pending_);
  co_return result;
}

void teardown(boost::beast::role_type role, CorkedStream& stream, boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer().socket(), ec);
}

}  // namespace parley::realtime
