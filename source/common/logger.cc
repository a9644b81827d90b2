#include "source/common/logger.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

namespace interpose::log {
namespace {
std::atomic<Level> g_level{Level::Info};
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

Level level() { return g_level.load(std::memory_order_relaxed); }
void setLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }

bool parseLevel(std::string_view name, Level& out) {
  for (int i = 0; i < 4; ++i) {
    if (name == kNames[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void write(Level level, std::string_view message) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char stamp[32];
  size_t n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line = str::cat(std::string_view(stamp, n), ".", ms < 100 ? (ms < 10 ? "00" : "0") : "", ms, "Z [",
                              kNames[static_cast<int>(level)], "] ", message, "\n");
  size_t off = 0;
  while (off < line.size()) {
    ssize_t w = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
}

}  // namespace interpose::log
