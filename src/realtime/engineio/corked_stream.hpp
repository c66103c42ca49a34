#pragma once
// The stream under Parley's WebSockets: a TCP socket whose writes can be held back ("corked")
// and then sent as one gathered write. Beast still frames every message and runs the protocol
// (pongs, close handshake); this layer only decides when bytes reach the socket. When a
// broadcast leaves several frames waiting for one connection, they cost one system call instead
// of one each.
//
// Writes made while corked, or while a flush is in flight (a pong Beast sends from its read
// operation), are copied into a buffer and complete at once; everything else goes straight
// through, and is tracked until it completes: the writer of direct frames waits for it, as a
// frame Beast has only partly written must end before another begins. Not thread-safe: like
// the WebSocket above it, use it from its strand.

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace parley::realtime {

/// A completion handler with a hook around it: the hook is given the handler and calls it.
/// Where it runs, its allocator and its cancellation slot are the handler's own (see the
/// associator below).
template <class Handler, class Hook>
struct HookedHandler {
  Handler handler;
  Hook hook;
  void operator()(boost::beast::error_code ec, std::size_t bytes) {
    hook(std::move(handler), ec, bytes);
  }
};

/// Adds the bytes a read completes with to a counter, then calls the read's handler.
struct CountBytesRead {
  std::uint64_t* counter;
  template <class Handler>
  void operator()(Handler&& handler, boost::beast::error_code ec, std::size_t bytes) {
    *counter += bytes;
    std::forward<Handler>(handler)(ec, bytes);
  }
};

/// The writes Beast makes straight to the socket (the handshake's response, pongs, close
/// frames) that have not completed. Shared with their handlers, which may outlive the stream.
struct PassThroughWrites {
  unsigned in_flight = 0;
  std::function<void()> then;  // waits for in_flight == 0 (see CorkedStream::after_passthrough)
};

/// Counts one write that went straight to the socket until its handler has run.
struct TrackPassThrough {
  std::shared_ptr<PassThroughWrites> writes;
  template <class Handler>
  void operator()(Handler&& handler, boost::beast::error_code ec, std::size_t bytes) {
    auto state = writes;  // the handler may end the stream's owner
    --state->in_flight;
    // Beast writes the rest of a partly written frame from here: only then is the socket free.
    std::forward<Handler>(handler)(ec, bytes);
    if (state->in_flight == 0 && state->then) {
      auto then = std::move(state->then);
      state->then = nullptr;
      then();
    }
  }
};

class CorkedStream {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using executor_type = Socket::executor_type;

  explicit CorkedStream(Socket&& socket) : stream_(std::move(socket)) {}

  executor_type get_executor() noexcept { return stream_.get_executor(); }
  /// The TCP socket (beast::get_lowest_layer reaches it through this).
  Socket& next_layer() noexcept { return stream_; }

  /// From now on writes are buffered until async_flush().
  void cork() noexcept { corked_ = true; }
  /// The bytes held back, for appending complete frames (see websocket_frame.hpp) directly.
  /// Only between cork() and async_flush(), so that they never split another write.
  std::string& corked_bytes() noexcept { return pending_; }

  /// Brackets a write of complete frames made directly on next_layer() (zero copy): writes
  /// Beast makes meanwhile (pongs) are held back. end_direct_write() returns true when nothing
  /// was, else async_flush() must send it before anything else.
  /// Not while passthrough_in_flight(): bytes written now would land inside Beast's frame.
  void begin_direct_write() noexcept {
    flushing_ = true;
    if (passthrough_ && passthrough_->in_flight == 0 && !passthrough_->then) passthrough_.reset();
  }
  bool end_direct_write() noexcept {
    if (!pending_.empty()) return false;
    flushing_ = false;
    return true;
  }

  /// True while a write Beast made straight to the socket (a pong, a close frame, the
  /// handshake's response) is in flight: it may be partly written, and anything else written
  /// now would land inside its frame.
  bool passthrough_in_flight() const noexcept {
    return passthrough_ && passthrough_->in_flight != 0;
  }
  /// Calls `then` (where the write's handler runs) once passthrough_in_flight() is false; only
  /// while it is true, and for one waiter at a time.
  void after_passthrough(std::function<void()> then) { passthrough_->then = std::move(then); }

  /// Sends everything buffered in one gathered write (and what was added meanwhile), then
  /// lets writes through again and calls `done` (on this stream's executor).
  void async_flush(std::function<void(boost::beast::error_code)> done);

  /// async_flush() for any completion token (e.g. `co_await stream.async_flush(use_awaitable)`).
  template <class CompletionToken>
  auto async_flush(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(boost::beast::error_code)>(
        [this](auto handler) {
          // std::function needs a copyable target; the handler is move-only.
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          async_flush(std::function<void(boost::beast::error_code)>(
              [shared](boost::beast::error_code ec) { std::move (*shared)(ec); }));
        },
        token);
  }

  /// Reads, counting what arrives (see bytes_read()).
  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return boost::asio::async_initiate<ReadHandler, void(boost::beast::error_code, std::size_t)>(
        [this](auto completion, const MutableBufferSequence& into) {
          stream_.async_read_some(into, HookedHandler<decltype(completion), CountBytesRead>{
                                            std::move(completion), {&bytes_read_}});
        },
        handler, buffers);
  }

  /// Bytes read from the socket since the count was last reset: what the WebSocket above was
  /// given. Compared with what it has used, it tells whether the WebSocket still holds some.
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  void reset_bytes_read() noexcept { bytes_read_ = 0; }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    if (!corked_ && !flushing_) {
      if (!passthrough_) passthrough_ = std::make_shared<PassThroughWrites>();
      ++passthrough_->in_flight;
      return boost::asio::async_initiate<WriteHandler, void(boost::beast::error_code, std::size_t)>(
          [this](auto completion, const ConstBufferSequence& data) {
            stream_.async_write_some(data, HookedHandler<decltype(completion), TrackPassThrough>{
                                               std::move(completion), {passthrough_}});
          },
          handler, buffers);
    }
    return boost::asio::async_initiate<WriteHandler, void(boost::beast::error_code, std::size_t)>(
        [this](auto completion, const ConstBufferSequence& data) {
          std::size_t size = 0;
          for (auto it = boost::asio::buffer_sequence_begin(data);
               it != boost::asio::buffer_sequence_end(data); ++it) {
            const boost::asio::const_buffer piece(*it);
            pending_.append(static_cast<const char*>(piece.data()), piece.size());
            size += piece.size();
          }
          // Completes through the executor, never inline: the caller's composed operation
          // must not be re-entered from its own initiation.
          auto executor = boost::asio::get_associated_executor(completion, get_executor());
          boost::asio::post(executor, [completion = std::move(completion), size]() mutable {
            std::move(completion)(boost::beast::error_code{}, size);
          });
        },
        handler, buffers);
  }

 private:
  void write_pending(std::function<void(boost::beast::error_code)> done);
  void finish_flush();

  Socket stream_;
  std::uint64_t bytes_read_ = 0;
  bool corked_ = false;
  bool flushing_ = false;
  std::shared_ptr<PassThroughWrites> passthrough_;  // null when none was made lately
  std::string pending_;                             // bytes held back, in order
  std::string writing_;                             // bytes of the write in flight
};

// Beast's customization points for closing the connection under a WebSocket.
void teardown(boost::beast::role_type role, CorkedStream& stream, boost::beast::error_code& ec);

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, CorkedStream& stream, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<TeardownHandler>(handler));
}

/// The stream under a WebSocket whose state can be dropped while the connection is idle and
/// made again when it reads (EngineIoSession parks idle WebSockets): a shared reference to a
/// CorkedStream that outlives any one WebSocket object on it.
///
/// Synchronous I/O exists for one purpose: Beast opens a WebSocket object only through a
/// handshake, and its synchronous accept() writes the handshake response. A WebSocket made
/// again on an open connection replays the handshake with `replaying_handshake` set, and that
/// response (the client got it when the connection opened) is discarded. Any other synchronous
/// read or write is refused.
class SharedCorkedStream {
 public:
  using executor_type = CorkedStream::executor_type;

  explicit SharedCorkedStream(std::shared_ptr<CorkedStream> stream) : stream_(std::move(stream)) {}

  executor_type get_executor() noexcept { return stream_->get_executor(); }
  CorkedStream& next_layer() noexcept { return *stream_; }
  const std::shared_ptr<CorkedStream>& shared() const noexcept { return stream_; }

  bool replaying_handshake = false;

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return stream_->async_read_some(buffers, std::forward<ReadHandler>(handler));
  }
  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return stream_->async_write_some(buffers, std::forward<WriteHandler>(handler));
  }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence&, boost::beast::error_code& ec) {
    ec = boost::asio::error::operation_not_supported;
    return 0;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::beast::error_code ec;
    const auto n = read_some(buffers, ec);
    if (ec) boost::throw_exception(boost::system::system_error(ec));
    return n;
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
    if (!replaying_handshake) {
      ec = boost::asio::error::operation_not_supported;
      return 0;
    }
    ec = {};
    return boost::asio::buffer_size(buffers);
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    boost::beast::error_code ec;
    const auto n = write_some(buffers, ec);
    if (ec) boost::throw_exception(boost::system::system_error(ec));
    return n;
  }

 private:
  std::shared_ptr<CorkedStream> stream_;
};

void teardown(boost::beast::role_type role, SharedCorkedStream& stream,
              boost::beast::error_code& ec);

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, SharedCorkedStream& stream,
                    TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer().next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace parley::realtime

// A hooked handler runs where its handler would, with its allocator and cancellation slot.
template <template <class, class> class Associator, class Handler, class Hook,
          class DefaultCandidate>
struct boost::asio::associator<Associator, parley::realtime::HookedHandler<Handler, Hook>,
                               DefaultCandidate> : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const parley::realtime::HookedHandler<Handler, Hook>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.handler);
  }
  static auto get(const parley::realtime::HookedHandler<Handler, Hook>& h,
                  const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
    return Associator<Handler, DefaultCandidate>::get(h.handler, c);
  }
};
