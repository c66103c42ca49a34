#include "core/random.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace parley::core {

namespace {

void fill_from_csprng(unsigned char* out, std::size_t n) {
  if (n > 0 && RAND_bytes(out, static_cast<int>(n)) != 1) {
    throw std::runtime_error("the system random number generator failed");
  }
}

// Ids are made often (three per Socket.IO connection) and are short, while each RAND_bytes
// call has a fixed cost (locking, a fork check) that was 7 % of a connection's CPU. So each
// thread draws a block at a time and hands it out in pieces; every byte is used once and wiped
// as it is taken.
class RandomBlock {
 public:
  static constexpr std::size_t kSize = 512;

  void take(unsigned char* out, std::size_t n) {
    while (n > 0) {
      if (used_ == kSize) {
        fill_from_csprng(block_.data(), kSize);
        used_ = 0;
      }
      const std::size_t piece = std::min(n, kSize - used_);
      std::copy_n(block_.data() + used_, piece, out);
      OPENSSL_cleanse(block_.data() + used_, piece);
      used_ += piece;
      out += piece;
      n -= piece;
    }
  }
  // A forked child must not hand out what its parent will.
  void discard() {
    OPENSSL_cleanse(block_.data(), kSize);
    used_ = kSize;
  }

 private:
  std::array<unsigned char, kSize> block_{};
  std::size_t used_ = kSize;
};

thread_local RandomBlock this_threads_block;

void discard_in_child() { this_threads_block.discard(); }

std::vector<unsigned char> random_bytes(std::size_t n) {
  static std::once_flag fork_handler;
  std::call_once(fork_handler, [] { pthread_atfork(nullptr, nullptr, discard_in_child); });
  std::vector<unsigned char> out(n);
  if (n > RandomBlock::kSize / 8) {
    fill_from_csprng(out.data(), n);
  } else {
    this_threads_block.take(out.data(), n);
  }
  return out;
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : random_bytes(bytes)) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

std::string random_token(std::size_t bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const auto raw = random_bytes(bytes);
  std::string out;
  out.reserve((bytes * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    const unsigned v = (raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const std::size_t rest = raw.size() - i;
  if (rest == 1) {
    const unsigned v = raw[i] << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    const unsigned v = (raw[i] << 16) | (raw[i + 1] << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

}  // namespace parley::core
