#pragma once
// One blocking connection to Redis (hiredis), owned by one thread at a time, with a deadline on
// every command. The callers (cluster/) keep blocking calls off the network threads.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

struct redisContext;

namespace parley::cluster {

/// REDIS_URL: `redis://[:password@]host[:port][/db]` or `unix:///path/to/socket`.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  ///< set for unix://
  std::string username;
  std::string password;
  int database = 0;
};
/// Errors: validation_failed naming what is wrong (never echoing the password).
Result<RedisEndpoint> parse_redis_url(std::string_view url);

/// A reply, copied out of hiredis's tree.
struct RedisReply {
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  std::string text;  ///< string, status and error replies
  long long integer = 0;
  std::vector<RedisReply> elements;
};

class RedisConnection {
 public:
  /// Connects, authenticates and selects the database within `timeout`, which then bounds every
  /// command. Errors: unavailable.
  static Result<RedisConnection> open(const RedisEndpoint& endpoint,
                                      std::chrono::milliseconds timeout);

  RedisConnection(RedisConnection&&) noexcept;
  RedisConnection& operator=(RedisConnection&&) noexcept;
  ~RedisConnection();

  /// Sends one command and waits for its reply. A Redis error reply is a value (Type::error);
  /// errors: unavailable when the connection broke (it is then unusable: open a new one).
  Result<RedisReply> command(const std::vector<std::string_view>& args);
  /// Pipelining: queue commands, then read their replies in order.
  Result<void> append(const std::vector<std::string_view>& args);
  Result<RedisReply> read_reply();
  /// For a subscribed connection: the next pushed message if one arrives within `wait`.
  Result<std::optional<RedisReply>> poll(std::chrono::milliseconds wait);

 private:
  struct Free {
    void operator()(redisContext* context) const;
  };
  explicit RedisConnection(redisContext* context);
  Error broken(std::string_view what) const;
  std::unique_ptr<redisContext, Free> context_;
};

}  // namespace parley::cluster
