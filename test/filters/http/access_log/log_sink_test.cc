#include "source/filters/http/access_log/log_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/interpose/strings.h"

namespace interpose::access_log {
namespace {

std::string tempPath(std::string_view name) {
  std::string path = str::cat(::testing::TempDir(), "/", name, ".", getpid());
  unlink(path.c_str());
  return path;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(LogSinkTest, LinesFromManyThreadsArriveWholeAndInOrder) {
  const std::string path = tempPath("many_threads");
  std::string error;
  std::shared_ptr<LogSink> sink = LogSink::open(path, error);
  ASSERT_NE(sink, nullptr) << error;

  constexpr int kThreads = 8;
  constexpr int kLines = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) sink->write(str::cat(t, " ", i, " ", std::string(i % 97, 'x'), "\n"));
    });
  }
  for (auto& thread : threads) thread.join();
  sink->flush();
  EXPECT_EQ(sink->dropped(), 0u);
  EXPECT_EQ(sink->failed(), 0u);

  std::vector<int> next(kThreads, 0);
  const std::vector<std::string> written = lines(readFile(path));
  ASSERT_EQ(written.size(), static_cast<size_t>(kThreads * kLines));
  for (const std::string& line : written) {
    const std::vector<std::string_view> fields = str::split(line, ' ');
    ASSERT_EQ(fields.size(), 3u) << line;
    int t = -1, i = -1;
    ASSERT_TRUE(str::parseInt(fields[0], t) && str::parseInt(fields[1], i)) << line;
    ASSERT_TRUE(t >= 0 && t < kThreads) << line;
    EXPECT_EQ(i, next[t]++) << "thread " << t << " out of order";
    EXPECT_EQ(fields[2], std::string(i % 97, 'x'));
  }
}

TEST(LogSinkTest, FileIsCreatedWith0640AndAppendedTo) {
  const std::string path = tempPath("append");
  { std::ofstream(path) << "existing\n"; }
  std::string error;
  {
    std::shared_ptr<LogSink> sink = LogSink::open(path, error);
    ASSERT_NE(sink, nullptr) << error;
    sink->write("new\n");
  }  // the last reference: destruction flushes
  EXPECT_EQ(readFile(path), "existing\nnew\n");

  const std::string created = tempPath("created");
  const mode_t old_umask = umask(0);
  {
    std::shared_ptr<LogSink> sink = LogSink::open(created, error);
    ASSERT_NE(sink, nullptr) << error;
  }
  umask(old_umask);
  struct stat st;
  ASSERT_EQ(stat(created.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(LogSinkTest, DestructionFlushes) {
  const std::string path = tempPath("destruction");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  ASSERT_GE(fd, 0);
  {
    LogSink sink(fd, true, path);
    for (int i = 0; i < 1000; ++i) sink.write(str::cat(i, "\n"));
  }
  EXPECT_EQ(lines(readFile(path)).size(), 1000u);
}

TEST(LogSinkTest, RegistrySharesSinksByPath) {
  std::string error;
  const std::string path = tempPath("shared");
  std::shared_ptr<LogSink> a = LogSink::open(path, error);
  std::shared_ptr<LogSink> b = LogSink::open(path, error);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, b);
  EXPECT_EQ(LogSink::open("-", error), LogSink::open("/dev/stdout", error));
  EXPECT_NE(LogSink::open("/dev/stderr", error), LogSink::open("/dev/stdout", error));

  EXPECT_EQ(LogSink::open("/nonexistent-dir/access.log", error), nullptr);
  EXPECT_EQ(error, "cannot open '/nonexistent-dir/access.log': No such file or directory");
}

TEST(LogSinkTest, FullQueueDropsAndCountsInsteadOfBlocking) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  constexpr size_t kQueue = 64 * 1024;
  auto sink = std::make_unique<LogSink>(fds[1], true, "test-pipe", kQueue);

  // Nobody reads the pipe, so the writer thread soon blocks in write() once the pipe's own
  // buffer (64 KiB on Linux) is full; after that the queue fills and lines must be dropped.
  const std::string line = std::string(1023, 'y') + "\n";
  constexpr int kLines = 2000;  // 2 MiB: far more than the pipe and the queue hold
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kLines; ++i) sink->write(line);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(2)) << "write() blocked";

  const uint64_t dropped = sink->dropped();
  EXPECT_GT(dropped, 0u);
  // What was not dropped fits in the pipe, the batch being written and the queue.
  EXPECT_LE((kLines - dropped) * line.size(), 64 * 1024 + 2 * kQueue);

  // Drain the pipe: every accepted line arrives whole.
  std::atomic<size_t> received{0};
  std::thread reader([&] {
    char buffer[65536];
    ssize_t n;
    while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) received += static_cast<size_t>(n);
  });
  sink->flush();
  EXPECT_EQ(sink->failed(), 0u);
  sink.reset();  // closes the write end, ending the reader
  reader.join();
  close(fds[0]);
  EXPECT_EQ(received.load(), (kLines - dropped) * line.size());
}

TEST(LogSinkTest, LineLargerThanQueueIsDropped) {
  const std::string path = tempPath("large_line");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  ASSERT_GE(fd, 0);
  LogSink sink(fd, true, path, 16);
  sink.write("this line is too long\n");
  sink.write("short\n");
  sink.flush();
  EXPECT_EQ(sink.dropped(), 1u);
  EXPECT_EQ(readFile(path), "short\n");
}

TEST(LogSinkTest, WriteErrorsAreCountedNotFatal) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);  // writing now fails with EPIPE (SIGPIPE is blocked on the writer thread)
  LogSink sink(fds[1], true, "closed-pipe");
  sink.write("a\n");
  sink.write("b\n");
  sink.flush();
  EXPECT_EQ(sink.failed(), 2u);
  EXPECT_EQ(sink.dropped(), 0u);
}

}  // namespace
}  // namespace interpose::access_log
