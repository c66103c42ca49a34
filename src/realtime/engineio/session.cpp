#include "realtime/engineio/session.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <cerrno>
#include <cstdint>
#include <span>
#include <utility>

#include "net/http.hpp"
#include "realtime/engineio/websocket_frame.hpp"
#include "realtime/protocol/engineio_packet.hpp"

namespace parley::realtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using net::use_nothrow;

namespace {

SharedPacket control(EioType type, std::string data = {}) {
  auto packet = std::make_shared<OutgoingPacket>();
  packet->text = encode_text(EioPacket{type, std::move(data), false});
  return packet;
}

constexpr std::string_view kClientClose = "client close";

// Sends what the socket takes now and returns the bytes sent; an error only when nothing was
// sent. MSG_DONTWAIT instead of Asio's synchronous write: that needs the socket's non-blocking
// mode set by the user (one more system call per connection), and it passes at most 64
// buffers (32 frames) per call where the kernel takes IOV_MAX.
std::size_t send_now(asio::ip::tcp::socket& socket, std::span<const asio::const_buffer> buffers,
                     beast::error_code& ec) {
  constexpr std::size_t kChunk = 256;  // iovecs on the stack per call
  std::size_t sent = 0;
  std::size_t next = 0;
  while (next < buffers.size()) {
    std::array<iovec, kChunk> iov;
    std::size_t count = 0;
    std::size_t chunk_bytes = 0;
    for (; count < kChunk && next + count < buffers.size(); ++count) {
      const auto& buffer = buffers[next + count];
      iov[count] = iovec{const_cast<void*>(buffer.data()), buffer.size()};
      chunk_bytes += buffer.size();
    }
    msghdr message{};
    message.msg_iov = iov.data();
    message.msg_iovlen = count;
    const ssize_t result = ::sendmsg(socket.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (result < 0) {
      if (errno == EINTR) continue;
      if (sent == 0) ec = beast::error_code(errno, boost::system::system_category());
      return sent;
    }
    sent += static_cast<std::size_t>(result);
    if (static_cast<std::size_t>(result) < chunk_bytes) return sent;
    next += count;
  }
  return sent;
}

// For the operations an idle connection keeps pending (its heartbeat timer, its parked socket's
// wait): exactly their size. Asio's default recycles freed operations' memory blocks, and a
// block left by a larger operation (a WebSocket read: ~600 bytes) would then be held by a
// 100-byte wait for as long as the connection idles.
template <class T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() = default;
  template <class U>
  ExactAllocator(const ExactAllocator<U>&) noexcept {}  // NOLINT: rebinding converts implicitly
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
  template <class U>
  bool operator==(const ExactAllocator<U>&) const noexcept {
    return true;
  }
};

// The bytes a client's message occupies on the wire when it arrives as one frame: a masked
// header of 6, 8 or 14 bytes (Beast refuses lengths not in their shortest form) and the payload.
// A message in several frames, or control frames between messages, occupy more: so when all
// Beast was given adds up to exactly this, it holds nothing else.
std::uint64_t client_frame_bytes(std::uint64_t payload) {
  constexpr std::uint64_t kMask = 4;
  const std::uint64_t length_bytes = payload < 126 ? 0 : (payload <= 0xFFFF ? 2 : 8);
  return 2 + length_bytes + kMask + payload;
}

// A WebSocket upgrade request, well formed and as small as Beast accepts.
const beast::http::request<beast::http::empty_body>& replayed_handshake() {
  static const auto request = [] {
    beast::http::request<beast::http::empty_body> r{beast::http::verb::get, "/", 11};
    r.set(beast::http::field::host, "localhost");
    r.set(beast::http::field::upgrade, "websocket");
    r.set(beast::http::field::connection, "upgrade");
    r.set(beast::http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    r.set(beast::http::field::sec_websocket_version, "13");
    return r;
  }();
  return request;
}

void cancel_later(const std::shared_ptr<asio::steady_timer>& timer) {
  if (!timer) return;
  // Timers are not thread-safe: cancel on the timer's own executor.
  asio::post(timer->get_executor(), [timer] { timer->cancel(); });
}

}  // namespace

SharedPacket make_message(std::string text) {
  auto packet = std::make_shared<OutgoingPacket>();
  packet->text.reserve(text.size() + 1);
  append_text(packet->text, EioPacket{EioType::message, std::move(text), false});
  return packet;
}

SharedPacket make_encoded(std::string engineio_text) {
  auto packet = std::make_shared<OutgoingPacket>();
  packet->text = std::move(engineio_text);
  return packet;
}

SharedPacket make_binary_message(std::string bytes) {
  auto packet = std::make_shared<OutgoingPacket>();
  packet->text = encode_text(EioPacket{EioType::message, bytes, true});
  packet->binary = std::move(bytes);
  packet->is_binary = true;
  return packet;
}

EndOfTurnWriter::EndOfTurnWriter(asio::any_io_executor network)
    : network_(std::move(network)), due_(std::make_shared<Due>()) {}

void EndOfTurnWriter::schedule(std::shared_ptr<EngineIoSession> session) {
  due_->waiting.push_back(std::move(session));
  if (due_->posted) return;
  due_->posted = true;
  asio::post(network_, [due = due_] { write_due(*due); });
}

void EndOfTurnWriter::write_due(Due& due) {
  // Writing may close a connection, whose callbacks may queue more (a user_left): that goes to
  // the next turn's list and handler, never into the list being walked.
  due.posted = false;
  due.writing.swap(due.waiting);
  struct Cleared {
    std::vector<std::shared_ptr<EngineIoSession>>& list;
    ~Cleared() { list.clear(); }
  } cleared{due.writing};
  for (const auto& session : due.writing) session->write_batch();
}

EngineIoSession::EngineIoSession(std::string id, asio::any_io_executor strand,
                                 const EngineIoOptions& options, EngineIoListener& listener,
                                 EndOfTurnWriter& end_of_turn)
    : id_(std::move(id)),
      strand_(std::move(strand)),
      options_(options),
      listener_(listener),
      end_of_turn_(end_of_turn),
      heartbeat_timer_(strand_) {}

bool EngineIoSession::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

bool EngineIoSession::upgraded() const {
  std::lock_guard lock(mutex_);
  return websocket_;
}

bool EngineIoSession::parked() const {
  std::lock_guard lock(mutex_);
  return transport_ && !ws_;
}

void EngineIoSession::wake_poller_locked() {
  // Each waiter is woken once: a burst of sends to one connection posts one wake-up, not one
  // per packet.
  cancel_later(std::exchange(poll_waiter_, nullptr));
  if (transport_ && !writer_busy_ && (!queue_.empty() || closed_)) {
    writer_busy_ = true;
    asio::post(transport_->get_executor(), [self = shared_from_this()] { self->write_batch(); });
  }
}

bool EngineIoSession::on_strand() const {
  if (const auto* io = strand_.target<asio::io_context::executor_type>()) {
    return io->running_in_this_thread();
  }
  const auto* strand = strand_.target<asio::strand<asio::io_context::executor_type>>();
  return strand != nullptr && strand->running_in_this_thread();
}

bool EngineIoSession::on_network_thread() const { return options_.single_threaded && on_strand(); }

bool EngineIoSession::send(const SharedPacket& packet) {
  return send_all(std::span<const SharedPacket>(&packet, 1));
}

bool EngineIoSession::send_all(std::span<const SharedPacket> packets) {
  const auto queued = queue(packets);
  finish_queued(queued);
  return queued == Queued::nothing || queued == Queued::write;
}

EngineIoSession::Queued EngineIoSession::queue(std::span<const SharedPacket> packets) {
  std::lock_guard lock(mutex_);
  if (closed_) return Queued::refused;
  for (const auto& packet : packets) {
    queued_bytes_ += packet->text.size();
    queue_.push_back(packet);
  }
  if (queued_bytes_ > options_.max_buffered_bytes) return Queued::overflow;
  // On the one network thread, an idle writer starts at the end of the turn (its socket write
  // does not block, and what else the turn queues for this client goes with it): a post per
  // recipient would cost a queued handler for each of a room's members.
  if (transport_ && !writer_busy_ && on_network_thread()) {
    writer_busy_ = true;
    return Queued::write;
  }
  wake_poller_locked();
  return Queued::nothing;
}

void EngineIoSession::finish_queued(Queued queued) {
  if (queued == Queued::write) end_of_turn_.schedule(shared_from_this());
  if (queued == Queued::overflow) close("slow consumer: too much data waiting for the client");
}

void EngineIoSession::close(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    close_reason_ = reason;
    wake_poller_locked();
  }
  asio::post(strand_, [self = shared_from_this()] { self->heartbeat_timer_.cancel(); });
  listener_.on_close(shared_from_this(), reason);
}

void EngineIoSession::start() {
  asio::post(strand_, [self = shared_from_this()] { self->wait_for_ping(Clock::now()); });
}

// The heartbeat is a chain of timer callbacks rather than a coroutine: it runs on every
// connection for its whole life, and a callback holds less memory than a coroutine frame.
void EngineIoSession::wait_for_ping(Clock::time_point since) {
  // The next ping goes pingInterval after the last pong (or the open), as from the reference
  // server. A late wake-up (a pong's) just waits out the rest.
  const auto due = since + options_.ping_interval;
  heartbeat_timer_.expires_at(due);
  heartbeat_timer_.async_wait(asio::bind_allocator(
      ExactAllocator<void>(), [self = shared_from_this(), since](beast::error_code) {
        if (self->closed()) return;
        if (Clock::now() < since + self->options_.ping_interval) {
          self->wait_for_ping(since);
          return;
        }
        self->send_ping();
      }));
}

void EngineIoSession::send_ping() {
  {
    std::lock_guard lock(mutex_);
    awaiting_pong_ = true;
  }
  send(control(EioType::ping));
  // The client has ping_timeout from when the ping was queued, not from its delivery; its
  // pong cancels the wait.
  heartbeat_timer_.expires_after(options_.ping_timeout);
  heartbeat_timer_.async_wait(
      asio::bind_allocator(ExactAllocator<void>(), [self = shared_from_this()](beast::error_code) {
        if (self->closed()) return;
        bool late = false;
        {
          std::lock_guard lock(self->mutex_);
          late = self->awaiting_pong_;
        }
        if (late) {
          self->close("ping timeout");
          return;
        }
        self->wait_for_ping(Clock::now());
      }));
}

asio::awaitable<std::optional<std::string>> EngineIoSession::poll() {
  // Two GETs at once is a protocol error: the session closes (the pending GET gets "1").
  bool overlapping = false;
  {
    std::lock_guard lock(mutex_);
    overlapping = poll_pending_;
    if (!overlapping) poll_pending_ = true;
  }
  if (overlapping) {
    close("overlapping polling requests");
    co_return std::nullopt;
  }
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    std::shared_ptr<asio::steady_timer> waiter;
    {
      std::lock_guard lock(mutex_);
      if (websocket_ || upgrading_) {
        poll_pending_ = false;
        co_return encode_text(EioPacket{EioType::noop, {}, false});
      }
      if (!queue_.empty()) {
        std::string payload;
        for (std::size_t i = 0; i < queue_.size(); ++i) {
          if (i > 0) payload += '\x1e';
          payload += queue_[i]->text;
        }
        std::vector<SharedPacket>().swap(queue_);
        queued_bytes_ = 0;
        poll_pending_ = false;
        co_return payload;
      }
      if (closed_) {
        poll_pending_ = false;
        // The client closed the session itself: its pending GET just ends (noop), as in the
        // reference server; otherwise the client learns of the close.
        const auto type = close_reason_ == kClientClose ? EioType::noop : EioType::close;
        co_return encode_text(EioPacket{type, {}, false});
      }
      waiter = std::make_shared<asio::steady_timer>(executor);
      // Bounded even if nothing wakes it: the heartbeat queues a ping well before this.
      waiter->expires_after(options_.ping_interval + options_.ping_timeout);
      poll_waiter_ = waiter;
    }
    co_await waiter->async_wait(use_nothrow);
    {
      std::lock_guard lock(mutex_);
      if (poll_waiter_ == waiter) poll_waiter_.reset();
    }
    // The HTTP server cancels this GET when its client went away mid-poll: the transport is
    // gone, so is the session (as with the reference server).
    auto cancelled = (co_await asio::this_coro::cancellation_state).cancelled();
    if (cancelled != asio::cancellation_type::none) {
      {
        std::lock_guard lock(mutex_);
        poll_pending_ = false;
      }
      close("transport error");
      co_return std::nullopt;
    }
  }
}

bool EngineIoSession::handle_packet(EioPacket packet) {
  switch (packet.type) {
    case EioType::pong: {
      {
        std::lock_guard lock(mutex_);
        awaiting_pong_ = false;
      }
      // Wakes the heartbeat, which then schedules the next ping.
      asio::post(strand_, [self = shared_from_this()] { self->heartbeat_timer_.cancel(); });
      return true;
    }
    case EioType::message:
      listener_.on_message(shared_from_this(), std::move(packet.data), packet.binary);
      return true;
    case EioType::close:
      close(std::string(kClientClose));
      return false;
    case EioType::noop:
      return true;
    default:
      // A client ping (outside the upgrade probe), open or stray upgrade: protocol error.
      close("protocol error");
      return false;
  }
}

bool EngineIoSession::handle_frame(std::string_view frame, bool binary_frame) {
  if (binary_frame) return handle_packet(decode_binary_frame(frame));
  auto packet = decode_text(frame);
  if (!packet) {
    close("parse error");
    return false;
  }
  return handle_packet(std::move(*packet));
}

bool EngineIoSession::receive_payload(std::string_view body) {
  auto packets = decode_payload(body, 1024);
  if (!packets) {
    close("parse error");
    return false;
  }
  for (auto& packet : *packets) {
    // A close packet ends the session normally: the POST itself still succeeded.
    const bool closing = packet.type == EioType::close;
    if (!handle_packet(std::move(packet))) return closing;
  }
  return true;
}

// The writer is callbacks too, started by wake_poller_locked() when packets wait and none is
// running: idle connections hold nothing for it.
void EngineIoSession::write_batch() {
  // A loop, not a recursion: batches written at once are followed by the next one here.
  while (write_one_batch()) {
  }
}

bool EngineIoSession::write_one_batch() {
  std::shared_ptr<CorkedStream> transport;
  bool finished = false;
  {
    std::lock_guard lock(mutex_);
    transport = transport_;
    if (!queue_.empty() && transport->passthrough_in_flight()) {
      // Beast is still writing a frame of its own (a pong to a slow reader, say): the batch
      // goes after it, and the writer stays busy until then. Weakly: the waiter is kept by the
      // session's own stream, and a session nothing else keeps has nobody left to write to.
      transport->after_passthrough([weak = weak_from_this()] {
        if (auto self = weak.lock()) self->write_batch();
      });
      return false;
    }
    if (!queue_.empty()) {
      // Swapped, so that both vectors keep their capacity: no allocation per batch.
      writing_.swap(queue_);
      queued_bytes_ = 0;
    } else if (closed_) {
      finished = true;
    } else {
      writer_busy_ = false;
      return false;
    }
  }
  if (finished) {
    websocket::close_code code = websocket::close_code::normal;
    {
      std::lock_guard lock(mutex_);
      code = close_code_;
    }
    // The closing handshake is Beast's: a parked WebSocket is made again for it.
    auto ws = reopen();
    ws->async_close(code, [self = shared_from_this(), ws](beast::error_code) {});
    return false;
  }
  if (options_.permessage_deflate) {
    // Compression may be negotiated: Beast frames (and deflates) each packet into the corked
    // stream, which then sends them in one write. Such WebSockets are never parked.
    std::shared_ptr<WebSocket> ws;
    {
      std::lock_guard lock(mutex_);
      ws = ws_;
    }
    transport->cork();
    auto batch = std::make_shared<std::vector<SharedPacket>>();
    batch->swap(writing_);
    write_packet(std::move(ws), std::move(batch), 0);
    return false;
  }
  // Uncompressed frames are a header and the payload: the whole batch leaves in one gathered
  // write straight from the shared packets (no copy, no Beast write operation per frame).
  frame_headers_.clear();
  frame_headers_.reserve(writing_.size() * kMaxWebSocketFrameHeader);  // pointers stay valid
  gather_.clear();
  std::size_t total = 0;
  for (const auto& packet : writing_) {
    const std::string& payload = packet->is_binary ? packet->binary : packet->text;
    const auto offset = frame_headers_.size();
    append_websocket_frame_header(frame_headers_, packet->is_binary, payload.size());
    gather_.emplace_back(frame_headers_.data() + offset, frame_headers_.size() - offset);
    gather_.emplace_back(payload.data(), payload.size());
    total += frame_headers_.size() - offset + payload.size();
  }
  transport->begin_direct_write();
  // The write is tried at once: a socket with room in its send buffer (the usual case) takes
  // the whole batch, which saves the asynchronous operation, its completion and its handler.
  auto& socket = transport->next_layer();
  beast::error_code ec;
  const std::size_t written = send_now(socket, gather_, ec);
  if (!ec && written == total) return batch_done();
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    // Reported as the asynchronous write reports it, never from inside a caller's send (whose
    // locks the close's callbacks may need).
    asio::post(strand_, [self = shared_from_this(), ec] { self->batch_written(ec); });
    return false;
  }
  // The rest when the socket can take it.
  beast::buffers_suffix<std::span<const asio::const_buffer>> rest{
      std::span<const asio::const_buffer>(gather_)};
  rest.consume(written);
  asio::async_write(socket, rest,
                    [self = shared_from_this()](beast::error_code error, std::size_t) {
                      self->batch_written(error);
                    });
  return false;
}

bool EngineIoSession::batch_done() {
  writing_.clear();
  // A large batch's bookkeeping is not kept by an idle connection.
  if (gather_.capacity() > 64) {
    std::vector<asio::const_buffer>().swap(gather_);
    std::string().swap(frame_headers_);
  }
  // transport_ is set once, before the first write.
  if (transport_->end_direct_write()) return true;
  // Beast wrote a control frame meanwhile: it goes out before the next batch.
  transport_->async_flush([self = shared_from_this()](beast::error_code flush_error) {
    if (flush_error) {
      self->close("transport error");
      return;
    }
    self->write_batch();
  });
  return false;
}

void EngineIoSession::batch_written(beast::error_code ec) {
  if (ec) {
    writing_.clear();
    close("transport error");
    return;
  }
  if (batch_done()) write_batch();
}

void EngineIoSession::write_packet(std::shared_ptr<WebSocket> ws,
                                   std::shared_ptr<std::vector<SharedPacket>> batch,
                                   std::size_t index) {
  if (!batch || index == batch->size()) {
    auto& stream = ws->next_layer().next_layer();
    stream.async_flush([self = shared_from_this(), ws = std::move(ws)](beast::error_code ec) {
      if (ec) {
        self->close("transport error");
        return;
      }
      self->write_batch();
    });
    return;
  }
  const auto& packet = *(*batch)[index];
  ws->binary(packet.is_binary);
  const std::string& bytes = packet.is_binary ? packet.binary : packet.text;
  auto& stream = *ws;
  stream.async_write(asio::buffer(bytes), [self = shared_from_this(), ws = std::move(ws), batch,
                                           index](beast::error_code ec, std::size_t) mutable {
    // On an error the rest is dropped; the flush then reports the broken transport.
    const auto next = ec ? batch->size() : index + 1;
    self->write_packet(std::move(ws), std::move(batch), next);
  });
}

asio::awaitable<void> EngineIoSession::run_websocket(std::shared_ptr<WebSocket> ws,
                                                     bool upgrading) {
  beast::flat_buffer buffer;
  // Beast bounds the probe's frames ("2probe", "5"); read_frame() bounds the messages after it.
  constexpr std::size_t kMaxProbeFrame = 16;
  ws->read_message_max(kMaxProbeFrame);
  if (upgrading) {
    // Probe: 2probe -> 3probe, then wait for 5 (upgrade) within upgrade_timeout.
    // A probe that stalls is cut off: the socket closes, the pending read fails.
    auto deadline = std::make_shared<asio::steady_timer>(
        beast::get_lowest_layer(*ws).get_executor(), options_.upgrade_timeout);
    deadline->async_wait([ws](beast::error_code ec) {
      if (!ec) {
        beast::error_code ignored;
        beast::get_lowest_layer(*ws).close(ignored);
      }
    });
    struct CancelOnExit {
      std::shared_ptr<asio::steady_timer> timer;
      ~CancelOnExit() { timer->cancel(); }
    } cancel_deadline{deadline};
    bool upgraded_now = false;
    for (int step = 0; step < 3 && !upgraded_now; ++step) {
      buffer.clear();
      auto [ec, n] = co_await ws->async_read(buffer, use_nothrow);
      (void)n;
      if (ec) co_return;  // the probe failed; the polling session carries on
      const std::string frame = beast::buffers_to_string(buffer.data());
      consumed_ += client_frame_bytes(frame.size());
      if (frame == "2probe") {
        ws->text(true);
        const std::string reply = "3probe";
        auto [wec, wn] = co_await ws->async_write(asio::buffer(reply), use_nothrow);
        (void)wn;
        if (wec) co_return;
        // The client pauses polling before it sends "5": the pending GET must end now (noop),
        // or the client waits for it forever.
        std::lock_guard lock(mutex_);
        upgrading_ = true;
        wake_poller_locked();
      } else if (frame == "5") {
        upgraded_now = true;
      } else {
        co_return;
      }
    }
    if (!upgraded_now) co_return;
    {
      std::lock_guard lock(mutex_);
      if (closed_ || websocket_) co_return;
      websocket_ = true;
      ws_ = ws;
      transport_ = ws->next_layer().shared();
      // A pending GET answers noop and polling ends; what waited goes over the WebSocket.
      wake_poller_locked();
    }
  } else {
    std::lock_guard lock(mutex_);
    websocket_ = true;
    ws_ = ws;
    transport_ = ws->next_layer().shared();
    wake_poller_locked();
  }
  // Reader and writer share one strand (Beast allows one read and one write in flight, from
  // the same strand): the WebSocket's own, on which this coroutine runs and the writer posts.
  // An oversized message is refused by read_frame() itself, not by Beast: Beast's refusal
  // closes the socket while the rest of the message is still arriving, and the peer then gets
  // a reset instead of the 1009 close frame (seen under load).
  ws->read_message_max(0);
  read_frame();
}

// Reading is callbacks too (no coroutine frame per connection for its whole life). Idle
// connections are the many: while one waits, its read buffer is small (a whole-message read
// would reserve Beast's 1.5 KB frame size up front), and none is kept between messages.
void EngineIoSession::read_frame() {
  constexpr std::size_t kReadChunk = 256;
  std::shared_ptr<WebSocket> ws;
  {
    std::lock_guard lock(mutex_);
    ws = ws_;
  }
  auto& stream = *ws;
  stream.async_read_some(
      read_buffer_, kReadChunk, [self = shared_from_this(), ws](beast::error_code ec, std::size_t) {
        if (ec) {
          self->close(ec == websocket::error::closed ? "transport close" : "transport error");
          return;
        }
        if (self->read_buffer_.size() > self->options_.max_payload) {
          // Over maxPayload: a 1009 close frame, then Beast's closing handshake reads (and
          // drops) the rest of the message until the peer's close.
          self->read_buffer_.clear();
          self->read_buffer_.shrink_to_fit();
          {
            std::lock_guard lock(self->mutex_);
            self->close_code_ = websocket::close_code::too_big;
          }
          self->close("message too big");
          return;
        }
        if (ws->is_message_done()) {
          const std::string frame = beast::buffers_to_string(self->read_buffer_.data());
          self->read_buffer_.clear();
          self->read_buffer_.shrink_to_fit();
          self->consumed_ += client_frame_bytes(frame.size());
          if (!self->handle_frame(frame, !ws->got_text())) return;
          if (self->park()) return;
        }
        self->read_frame();
      });
}

bool EngineIoSession::park() {
  if (options_.permessage_deflate) return false;
  const auto now = Clock::now();
  const bool busy =
      messages_read_ >= options_.always_park_messages && now - last_message_at_ < options_.busy_gap;
  last_message_at_ = now;
  if (messages_read_ < options_.always_park_messages) ++messages_read_;
  if (busy) return false;
  // What Beast was given equals the frames it returned exactly when it holds no byte of the
  // next one (see client_frame_bytes). Otherwise it keeps reading; the next message may park.
  if (transport_->bytes_read() != consumed_) return false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    ws_.reset();
  }
  transport_->next_layer().async_wait(
      asio::socket_base::wait_read,
      asio::bind_allocator(
          ExactAllocator<void>(),
          [self = shared_from_this()](beast::error_code ec) { self->readable(ec); }));
  return true;
}

void EngineIoSession::readable(beast::error_code ec) {
  // Once closed, the closing handshake does the reading (on a WebSocket made for it).
  if (closed()) return;
  if (ec) {
    close("transport error");
    return;
  }
  reopen();
  read_frame();
}

std::shared_ptr<EngineIoSession::WebSocket> EngineIoSession::reopen() {
  {
    std::lock_guard lock(mutex_);
    if (ws_) return ws_;
  }
  auto ws = std::make_shared<WebSocket>(transport_);
  transport_->reset_bytes_read();
  consumed_ = 0;
  // Beast opens a WebSocket object only through a handshake: this one replays it against a
  // sink (the client got the response when the connection opened). It cannot fail on this
  // request; if it ever did, the WebSocket stays closed and its first read closes the session.
  ws->next_layer().replaying_handshake = true;
  beast::error_code ec;
  ws->accept(replayed_handshake(), ec);
  ws->next_layer().replaying_handshake = false;
  ws->read_message_max(0);
  std::lock_guard lock(mutex_);
  ws_ = ws;
  return ws;
}

}  // namespace parley::realtime
