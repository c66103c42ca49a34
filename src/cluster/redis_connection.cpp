#include "cluster/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <boost/url/parse.hpp>
#include <cerrno>
#include <charconv>

namespace parley::cluster {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

RedisReply copy(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      break;
    default:
      out.type = RedisReply::Type::nil;
      break;
  }
  if (reply.str != nullptr) out.text.assign(reply.str, reply.len);
  out.integer = reply.integer;
  for (std::size_t i = 0; i < reply.elements; ++i) out.elements.push_back(copy(*reply.element[i]));
  return out;
}

struct ReplyFree {
  void operator()(void* reply) const { freeReplyObject(reply); }
};
using OwnedReply = std::unique_ptr<void, ReplyFree>;

}  // namespace

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  RedisEndpoint endpoint;
  if (url.starts_with("unix://")) {
    endpoint.unix_path = std::string(url.substr(7));
    if (endpoint.unix_path.empty() || endpoint.unix_path.front() != '/') {
      return fail(Errc::validation_failed, "REDIS_URL: unix:// needs an absolute socket path");
    }
    return endpoint;
  }
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->scheme() != "redis" || parsed->encoded_host().empty()) {
    return fail(Errc::validation_failed,
                "REDIS_URL: must look like redis://[:password@]host[:port][/db]");
  }
  endpoint.host = parsed->host();
  if (endpoint.host.size() > 2 && endpoint.host.front() == '[') {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  }
  if (parsed->has_port()) {
    if (parsed->port_number() == 0) return fail(Errc::validation_failed, "REDIS_URL: bad port");
    endpoint.port = parsed->port_number();
  }
  if (parsed->has_userinfo()) {
    endpoint.username = parsed->user();
    endpoint.password = parsed->password();
  }
  std::string_view path = parsed->encoded_path();
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty()) {
    const auto [end, ec] =
        std::from_chars(path.data(), path.data() + path.size(), endpoint.database);
    if (ec != std::errc() || end != path.data() + path.size() || endpoint.database < 0 ||
        endpoint.database > 15) {
      return fail(Errc::validation_failed, "REDIS_URL: the database must be a number from 0 to 15");
    }
  }
  return endpoint;
}

void RedisConnection::Free::operator()(redisContext* context) const { redisFree(context); }

RedisConnection::RedisConnection(redisContext* context) : context_(context) {}
RedisConnection::RedisConnection(RedisConnection&&) noexcept = default;
RedisConnection& RedisConnection::operator=(RedisConnection&&) noexcept = default;
RedisConnection::~RedisConnection() = default;

Error RedisConnection::broken(std::string_view what) const {
  std::string message = "redis: " + std::string(what);
  if (context_ && context_->err != 0) message += std::string(": ") + context_->errstr;
  return Error(Errc::unavailable, std::move(message));
}

Result<RedisConnection> RedisConnection::open(const RedisEndpoint& endpoint,
                                              std::chrono::milliseconds timeout) {
  const timeval tv = to_timeval(timeout);
  redisContext* raw = endpoint.unix_path.empty()
                          ? redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, tv)
                          : redisConnectUnixWithTimeout(endpoint.unix_path.c_str(), tv);
  if (raw == nullptr) return fail(Errc::unavailable, "redis: out of memory");
  RedisConnection connection(raw);
  if (raw->err != 0) return connection.broken("cannot connect");
  if (redisSetTimeout(raw, tv) != REDIS_OK) return connection.broken("cannot set the timeout");
  redisEnableKeepAlive(raw);
  if (!endpoint.password.empty()) {
    std::vector<std::string_view> auth{"AUTH"};
    if (!endpoint.username.empty()) auth.push_back(endpoint.username);
    auth.push_back(endpoint.password);
    auto reply = connection.command(auth);
    if (!reply) return reply.error();
    if (reply->type == RedisReply::Type::error) {
      return fail(Errc::unavailable, "redis: authentication refused");
    }
  }
  if (endpoint.database != 0) {
    const std::string db = std::to_string(endpoint.database);
    auto reply = connection.command({"SELECT", db});
    if (!reply) return reply.error();
    if (reply->type == RedisReply::Type::error) {
      return fail(Errc::unavailable, "redis: SELECT refused: " + reply->text);
    }
  }
  return connection;
}

Result<void> RedisConnection::append(const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (auto arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context_.get(), static_cast<int>(args.size()), argv.data(),
                             lengths.data()) != REDIS_OK) {
    return broken("cannot queue a command");
  }
  return {};
}

Result<RedisReply> RedisConnection::read_reply() {
  void* raw = nullptr;
  if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
    return broken("no reply");
  }
  OwnedReply reply(raw);
  return copy(*static_cast<redisReply*>(raw));
}

Result<RedisReply> RedisConnection::command(const std::vector<std::string_view>& args) {
  if (auto queued = append(args); !queued) return queued.error();
  return read_reply();
}

Result<std::optional<RedisReply>> RedisConnection::poll(std::chrono::milliseconds wait) {
  void* raw = nullptr;
  // A reply may already sit in the reader's buffer from an earlier read.
  if (redisReaderGetReply(context_->reader, &raw) != REDIS_OK) return broken("bad reply");
  if (raw == nullptr) {
    // Flush what append() queued (a PING) before waiting.
    int done = 0;
    while (done == 0) {
      if (redisBufferWrite(context_.get(), &done) != REDIS_OK) return broken("write failed");
    }
    pollfd descriptor{context_->fd, POLLIN, 0};
    const int ready = ::poll(&descriptor, 1, static_cast<int>(wait.count()));
    if (ready < 0 && errno == EINTR) return std::optional<RedisReply>();  // a signal: try again
    if (ready < 0) return broken("poll failed");
    if (ready == 0) return std::optional<RedisReply>();
    // Readable: the read returns what is there (or EOF) without waiting.
    if (redisBufferRead(context_.get()) != REDIS_OK) return broken("connection lost");
    if (redisReaderGetReply(context_->reader, &raw) != REDIS_OK) return broken("bad reply");
    if (raw == nullptr) return std::optional<RedisReply>();
  }
  OwnedReply reply(raw);
  return std::optional<RedisReply>(copy(*static_cast<redisReply*>(raw)));
}

}  // namespace parley::cluster
