#include "realtime/engineio/corked_stream.hpp"

namespace parley::realtime {

void CorkedStream::async_flush(std::function<void(boost::beast::error_code)> done) {
  corked_ = false;
  flushing_ = true;
  if (pending_.empty()) {
    finish_flush();
    boost::asio::post(get_executor(), [done = std::move(done)] { done({}); });
    return;
  }
  write_pending(std::move(done));
}

void CorkedStream::write_pending(std::function<void(boost::beast::error_code)> done) {
  writing_.swap(pending_);
  boost::asio::async_write(
      stream_, boost::asio::buffer(writing_),
      [this, done = std::move(done)](boost::beast::error_code ec, std::size_t) mutable {
        writing_.clear();
        if (ec) pending_.clear();
        if (ec || pending_.empty()) {
          finish_flush();
          done(ec);
          return;
        }
        // Written meanwhile (a pong): goes out before writes pass again.
        write_pending(std::move(done));
      });
}

void CorkedStream::finish_flush() {
  flushing_ = false;
  // An idle connection keeps no buffer: memory per connection is what idle connections cost.
  std::string().swap(writing_);
  std::string().swap(pending_);
}

void teardown(boost::beast::role_type role, CorkedStream& stream, boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

void teardown(boost::beast::role_type role, SharedCorkedStream& stream,
              boost::beast::error_code& ec) {
  teardown(role, stream.next_layer(), ec);
}

}  // namespace parley::realtime
