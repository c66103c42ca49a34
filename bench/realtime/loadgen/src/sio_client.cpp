#include "sio_client.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace parley::loadgen {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// The key is RFC 6455's own example (section 1.3) and the accept value is the one that RFC gives
// for it. A load generator only needs to see that the server completed a real WebSocket
// handshake; a fixed key lets it check that without a SHA-1 implementation. Servers keep no
// state about keys, so repeating one is harmless.
constexpr std::string_view kWebSocketKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kWebSocketAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
constexpr std::size_t kMaxFrameBytes = 16 * 1024 * 1024;
constexpr std::size_t kMaxUpgradeResponseBytes = 16 * 1024;

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// HTTP header names are case-insensitive.
bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (ascii_lower(text[i]) != ascii_lower(prefix[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

std::string make_upgrade_request(const asio::ip::tcp::endpoint& endpoint, std::string_view path) {
  std::string request = "GET ";
  request += path;
  request += "?EIO=4&transport=websocket HTTP/1.1\r\nHost: ";
  request += endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  request += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  request += kWebSocketKey;
  request += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  return request;
}

SioClient::SioClient(asio::io_context& io, ClientListener& listener, std::uint32_t index,
                     std::size_t read_buffer_bytes)
    : socket_(io),
      connect_timer_(io),
      listener_(listener),
      index_(index),
      in_(new char[std::max<std::size_t>(read_buffer_bytes, 256)]),
      in_size_(std::max<std::size_t>(read_buffer_bytes, 256)),
      mask_state_(index * 2654435761u + 0x9e3779b9u) {}

SioClient::~SioClient() { close_socket(); }

void SioClient::connect(const ConnectTarget& target, std::string connect_packet) {
  target_ = &target;
  connect_packet_ = std::move(connect_packet);
  state_ = State::connecting;
  connect_started_ = now_micros();
  connect_timer_.expires_after(target.timeout);
  connect_timer_.async_wait([this](const error_code& ec) {
    if (ec || state_ == State::connected || state_ == State::closed) return;
    end("timeout");
  });
  socket_.async_connect(target.endpoint, [this](const error_code& ec) { on_tcp_connected(ec); });
}

void SioClient::on_tcp_connected(const error_code& ec) {
  if (state_ == State::closed) return;
  if (ec) {
    end("connect: " + ec.message());
    return;
  }
  error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  state_ = State::upgrading;
  out_pending_ = target_->upgrade_request;
  flush();
  read_more();
}

void SioClient::read_more() {
  socket_.async_read_some(asio::buffer(in_.get() + in_end_, in_size_ - in_end_),
                          [this](const error_code& ec, std::size_t n) { on_read(ec, n); });
}

void SioClient::on_read(const error_code& ec, std::size_t bytes) {
  if (state_ == State::closed) return;
  if (ec) {
    end(ec == asio::error::eof || ec == asio::error::connection_reset
            ? std::string("transport close")
            : "transport error: " + ec.message());
    return;
  }
  in_end_ += bytes;
  if (state_ == State::upgrading) {
    const Progress progress = parse_upgrade_response();
    if (progress == Progress::failed) return;
    if (progress == Progress::need_more && in_end_ == in_size_) {
      end("upgrade response too large");
      return;
    }
  }
  if (state_ != State::upgrading && !parse_frames()) return;
  // Keep the unparsed tail at the front, so that the free space is one piece.
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
  } else if (in_begin_ > 0) {
    std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  read_more();
}

SioClient::Progress SioClient::parse_upgrade_response() {
  const std::string_view received(in_.get() + in_begin_, in_end_ - in_begin_);
  const auto head_end = received.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (received.size() > kMaxUpgradeResponseBytes) {
      end("upgrade response too large");
      return Progress::failed;
    }
    return Progress::need_more;
  }
  const std::string_view head = received.substr(0, head_end + 2);
  const std::string_view status_line = head.substr(0, head.find("\r\n"));
  if (!status_line.starts_with("HTTP/1.1 101")) {
    end("upgrade refused: " + std::string(status_line));
    return Progress::failed;
  }
  bool accepted = false;
  for (std::size_t at = head.find("\r\n"); at != std::string_view::npos && !accepted;) {
    const auto line_end = head.find("\r\n", at + 2);
    if (line_end == std::string_view::npos) break;
    const std::string_view line = head.substr(at + 2, line_end - at - 2);
    constexpr std::string_view kName = "sec-websocket-accept:";
    if (iequals_prefix(line, kName)) accepted = trim(line.substr(kName.size())) == kWebSocketAccept;
    at = line_end;
  }
  if (!accepted) {
    end("bad Sec-WebSocket-Accept");
    return Progress::failed;
  }
  in_begin_ += head_end + 4;
  state_ = State::opening;
  return Progress::done;
}

bool SioClient::parse_frames() {
  for (;;) {
    const std::size_t available = in_end_ - in_begin_;
    if (available < 2) break;
    const auto* bytes = reinterpret_cast<const unsigned char*>(in_.get() + in_begin_);
    const bool fin = (bytes[0] & 0x80) != 0;
    const unsigned opcode = bytes[0] & 0x0f;
    const bool masked = (bytes[1] & 0x80) != 0;
    std::uint64_t length = bytes[1] & 0x7f;
    std::size_t header = 2;
    if (length == 126) {
      if (available < 4) break;
      length = (std::uint64_t{bytes[2]} << 8) | bytes[3];
      header = 4;
    } else if (length == 127) {
      if (available < 10) break;
      length = 0;
      for (int i = 2; i < 10; ++i) length = (length << 8) | bytes[i];
      header = 10;
    }
    if (masked) header += 4;
    if (length > kMaxFrameBytes) {
      end("frame too large");
      return false;
    }
    const std::size_t frame_bytes = header + static_cast<std::size_t>(length);
    if (available < frame_bytes) {
      if (frame_bytes > in_size_) {
        // A frame larger than the buffer (a long presence list): grow to fit it.
        auto bigger = std::make_unique<char[]>(frame_bytes);
        std::memcpy(bigger.get(), in_.get() + in_begin_, available);
        in_ = std::move(bigger);
        in_size_ = frame_bytes;
        in_end_ = available;
        in_begin_ = 0;
      }
      break;
    }
    char* payload = in_.get() + in_begin_ + header;
    if (masked) {
      // Servers never mask (RFC 6455 5.1), but unmasking costs nothing to support.
      const char* key = payload - 4;
      for (std::size_t i = 0; i < length; ++i) payload[i] ^= key[i & 3];
    }
    in_begin_ += frame_bytes;
    if (!on_frame(fin, opcode, std::string_view(payload, static_cast<std::size_t>(length)))) {
      return false;
    }
  }
  return true;
}

bool SioClient::on_frame(bool fin, unsigned opcode, std::string_view payload) {
  switch (opcode) {
    case 0x1:  // text
      if (!fin) {
        fragments_.assign(payload);
        in_fragment_ = true;
        return true;
      }
      return on_packet(payload);
    case 0x0:  // continuation
      if (!in_fragment_) return true;
      fragments_.append(payload);
      if (!fin) return true;
      {
        in_fragment_ = false;
        const std::string whole = std::move(fragments_);
        fragments_.clear();
        return on_packet(whole);
      }
    case 0x8:  // close: answer with the same code, then the connection is over
      send_frame(0x8, payload.substr(0, std::min<std::size_t>(payload.size(), 2)));
      end("transport close");
      return false;
    case 0x9:  // ping
      send_frame(0xA, payload);
      return true;
    case 0x2:  // binary: not part of this protocol
    case 0xA:  // pong
      return true;
    default:
      end("websocket protocol error");
      return false;
  }
}

bool SioClient::on_packet(std::string_view packet) {
  if (packet.empty()) return true;
  switch (packet[0]) {
    case '4':  // Engine.IO message: a Socket.IO packet
      if (packet.size() < 2) return true;
      switch (packet[1]) {
        case '2': {  // EVENT: 42[<ack id>]["name",args...]
          std::size_t i = 2;
          while (i < packet.size() && packet[i] >= '0' && packet[i] <= '9') ++i;
          if (packet.size() < i + 3 || packet[i] != '[' || packet[i + 1] != '"') return true;
          const auto name_end = packet.find('"', i + 2);
          if (name_end == std::string_view::npos) return true;
          std::string_view args = packet.substr(name_end + 1);
          if (!args.empty() && args.front() == ',') args.remove_prefix(1);
          if (!args.empty() && args.back() == ']') args.remove_suffix(1);
          listener_.on_event(*this, packet.substr(i + 2, name_end - i - 2), args);
          break;
        }
        case '3':  // ACK: 43<id>[args]
          on_ack_packet(packet);
          break;
        case '0':  // CONNECT accepted
          if (state_ == State::authenticating) {
            state_ = State::connected;
            connect_timer_.cancel();
            connect_packet_.clear();
            connect_packet_.shrink_to_fit();
            listener_.on_connected(*this);
          }
          break;
        case '4':  // CONNECT_ERROR
          end("connect_error " + std::string(packet.substr(2)));
          return false;
        case '1':  // DISCONNECT by the server
          end("io server disconnect");
          return false;
        default:
          break;
      }
      break;
    case '2':  // ping
      send_text("3");
      break;
    case '0':  // Engine.IO open: now the Socket.IO CONNECT
      if (state_ == State::opening) {
        state_ = State::authenticating;
        send_text(connect_packet_);
      }
      break;
    case '1':  // Engine.IO close
      end("transport close");
      return false;
    default:  // noop, pong, upgrade: nothing to do over a plain WebSocket
      break;
  }
  return state_ != State::closed;
}

void SioClient::on_ack_packet(std::string_view packet) {
  std::uint64_t id = 0;
  std::size_t i = 2;
  for (; i < packet.size() && packet[i] >= '0' && packet[i] <= '9'; ++i) {
    id = id * 10 + static_cast<std::uint64_t>(packet[i] - '0');
  }
  if (i == 2) return;
  // Answers come in the order the events were sent (both servers handle a socket's events one
  // at a time), so the match is nearly always the first entry.
  const auto it = std::find_if(acks_.begin(), acks_.end(),
                               [id](const PendingAck& ack) { return ack.id == id; });
  if (it == acks_.end()) return;
  const PendingAck ack = *it;
  acks_.erase(it);
  listener_.on_ack(*this, ack, packet.substr(i));
}

std::uint64_t SioClient::emit_with_ack(AckKind kind, std::int64_t room, std::string_view event,
                                       std::string_view args, Micros now) {
  const std::uint64_t id = next_ack_id_++;
  scratch_.assign("42");
  scratch_ += std::to_string(id);
  scratch_ += "[\"";
  scratch_ += event;
  scratch_ += "\",";
  scratch_ += args;
  scratch_ += ']';
  acks_.push_back(PendingAck{id, kind, room, now});
  send_text(scratch_);
  return id;
}

void SioClient::emit(std::string_view event, std::string_view args) {
  scratch_.assign("42[\"");
  scratch_ += event;
  scratch_ += "\",";
  scratch_ += args;
  scratch_ += ']';
  send_text(scratch_);
}

void SioClient::send_frame(unsigned opcode, std::string_view payload) {
  if (state_ == State::closed || state_ == State::idle) return;
  char header[14];
  std::size_t header_bytes = 2;
  header[0] = static_cast<char>(0x80 | opcode);
  const std::size_t length = payload.size();
  if (length < 126) {
    header[1] = static_cast<char>(0x80 | length);
  } else if (length < 65536) {
    header[1] = static_cast<char>(0x80 | 126);
    header[2] = static_cast<char>(length >> 8);
    header[3] = static_cast<char>(length & 0xff);
    header_bytes = 4;
  } else {
    header[1] = static_cast<char>(0x80 | 127);
    for (int i = 0; i < 8; ++i) header[2 + i] = static_cast<char>((length >> (56 - 8 * i)) & 0xff);
    header_bytes = 10;
  }
  // Clients must mask every frame (RFC 6455 5.3); the key need not be secret here.
  mask_state_ ^= mask_state_ << 13;
  mask_state_ ^= mask_state_ >> 17;
  mask_state_ ^= mask_state_ << 5;
  std::memcpy(header + header_bytes, &mask_state_, 4);
  const char* key = header + header_bytes;
  header_bytes += 4;
  const std::size_t start = out_pending_.size();
  out_pending_.append(header, header_bytes);
  out_pending_.append(payload);
  char* masked = out_pending_.data() + start + header_bytes;
  for (std::size_t i = 0; i < length; ++i) masked[i] ^= key[i & 3];
  if (!writing_) flush();
}

void SioClient::flush() {
  if (writing_ || out_pending_.empty()) return;
  writing_ = true;
  out_writing_.swap(out_pending_);
  out_pending_.clear();
  asio::async_write(socket_, asio::buffer(out_writing_), [this](const error_code& ec, std::size_t) {
    writing_ = false;
    out_writing_.clear();
    if (state_ == State::closed) return;
    if (ec) {
      end("transport error: " + ec.message());
      return;
    }
    flush();
  });
}

void SioClient::end(std::string_view reason) {
  if (state_ == State::closed) return;
  const bool was_connected = state_ == State::connected;
  state_ = State::closed;
  connect_timer_.cancel();
  close_socket();
  if (was_connected) {
    listener_.on_disconnected(*this, reason);
  } else {
    listener_.on_connect_failed(*this, reason);
  }
}

void SioClient::close() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  connect_timer_.cancel();
  close_socket();
}

void SioClient::close_socket() {
  error_code ignored;
  if (!socket_.is_open()) return;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace parley::loadgen
