#include "core/random.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace parley::core {
namespace {

TEST(Random, HexAndTokensHaveTheRightShapeAndDoNotRepeat) {
  EXPECT_EQ(random_hex(16).size(), 32u);
  EXPECT_EQ(random_token(32).size(), 43u);  // unpadded base64url
  EXPECT_EQ(random_token(1).size(), 2u);
  EXPECT_EQ(random_token(2).size(), 3u);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(random_token(16)).second);
  for (char c : random_token(300)) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  }
}

// Ids come from a per-thread block of CSPRNG output: across block refills, across threads and
// across a fork, no id is ever handed out twice.
TEST(Random, NoIdRepeatsAcrossBlocksThreadsOrAFork) {
  std::vector<std::set<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& seen : per_thread) {
    threads.emplace_back([&seen] {
      // 15-byte ids (the Socket.IO ones): 34 to a block, so this crosses many refills.
      for (int i = 0; i < 3000; ++i) seen.insert(random_token(15));
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& seen : per_thread) {
    EXPECT_EQ(seen.size(), 3000u);
    all.insert(seen.begin(), seen.end());
  }
  EXPECT_EQ(all.size(), 12000u) << "threads never share bytes";

  (void)random_token(15);  // this thread's block is now partly used
  int pipe_ends[2];
  ASSERT_EQ(pipe(pipe_ends), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = random_token(15);
    ssize_t written = write(pipe_ends[1], id.data(), id.size());
    _exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  const std::string parents = random_token(15);
  char buffer[64] = {};
  const ssize_t n = read(pipe_ends[0], buffer, sizeof buffer);
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_ends[0]);
  close(pipe_ends[1]);
  ASSERT_EQ(n, 20);
  EXPECT_NE(std::string(buffer, static_cast<std::size_t>(n)), parents)
      << "the child drew fresh bytes instead of the rest of its parent's block";
}

}  // namespace
}  // namespace parley::core
