#include "source/filters/http/access_log/log_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

#include "api/interpose/strings.h"

namespace interpose::access_log {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWarningInterval = std::chrono::seconds(1);
// Lines reach the file within this time; batching them spares a wake-up per request.
constexpr auto kFlushInterval = std::chrono::milliseconds(100);
// A queue this full wakes the writer at once.
constexpr size_t kWakeBytes = 64 * 1024;
// A burst can grow the batch buffers to the queue limit; past this they are given back.
constexpr size_t kRetainedCapacity = 1024 * 1024;

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::weak_ptr<LogSink>> sinks;
};

void flushAllAtExit() { LogSink::flushAll(); }

// Never destroyed: sinks may still be flushed from other static destructors or at exit.
Registry& registry() {
  static Registry* instance = [] {
    auto* created = new Registry;
    std::atexit(&flushAllAtExit);
    return created;
  }();
  return *instance;
}

std::string errorText(int error) {
  char buffer[256];
  // GNU strerror_r: returns the message, which may or may not live in `buffer`.
  return strerror_r(error, buffer, sizeof(buffer));
}

}  // namespace

std::shared_ptr<LogSink> LogSink::open(const std::string& path, std::string& error) {
  const std::string key = path == "-" ? "/dev/stdout" : path;
  Registry& sinks = registry();
  std::lock_guard lock(sinks.mutex);
  std::erase_if(sinks.sinks, [](const auto& entry) { return entry.second.expired(); });
  if (auto existing = sinks.sinks[key].lock()) return existing;

  std::shared_ptr<LogSink> sink;
  if (key == "/dev/stdout") {
    sink = std::make_shared<LogSink>(STDOUT_FILENO, false, key);
  } else if (key == "/dev/stderr") {
    sink = std::make_shared<LogSink>(STDERR_FILENO, false, key);
  } else {
    const int fd = ::open(key.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
      error = str::cat("cannot open '", key, "': ", errorText(errno));
      sinks.sinks.erase(key);
      return nullptr;
    }
    sink = std::make_shared<LogSink>(fd, true, key);
  }
  sinks.sinks[key] = sink;
  return sink;
}

void LogSink::flushAll() {
  std::vector<std::shared_ptr<LogSink>> live;
  {
    Registry& sinks = registry();
    std::lock_guard lock(sinks.mutex);
    for (const auto& [path, weak] : sinks.sinks) {
      if (auto sink = weak.lock()) live.push_back(std::move(sink));
    }
  }
  for (const auto& sink : live) sink->flush();
}

LogSink::LogSink(int fd, bool owns_fd, std::string name, size_t max_pending_bytes)
    : fd_(fd), owns_fd_(owns_fd), name_(std::move(name)), max_pending_bytes_(max_pending_bytes) {
  // The writer thread takes no signals: they belong to the threads that handle them, and a
  // blocked SIGPIPE turns writing to a closed pipe into an EPIPE error instead of death.
  // The new thread inherits the creator's mask, so block everything around its creation
  // (restoring the mask even when std::thread throws).
  struct BlockSignals {
    BlockSignals() {
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &previous);
    }
    ~BlockSignals() { pthread_sigmask(SIG_SETMASK, &previous, nullptr); }
    sigset_t previous;
  } blocked;
  writer_ = std::thread([this] { run(); });
}

LogSink::~LogSink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_one();
  writer_.join();  // the writer drains the queue before it returns
  if (owns_fd_) ::close(fd_);
}

void LogSink::write(std::string_view line) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() + line.size() > max_pending_bytes_) {
      ++dropped_lines_;
      // Wake the writer for the first unreported drop so it can schedule the warning even
      // when it is idle (a single line larger than the whole queue).
      wake = unreported_drops_++ == 0;
    } else {
      // The writer wakes by itself every kFlushInterval; a wake-up per line would cost a
      // futex call and a context switch per request. Only a filling queue calls it early.
      wake = pending_.size() < kWakeBytes && pending_.size() + line.size() >= kWakeBytes;
      pending_.append(line);
      ++pending_lines_;
      ++queued_lines_;
    }
  }
  if (wake) wake_writer_.notify_one();
}

void LogSink::flush() {
  std::unique_lock lock(mutex_);
  const uint64_t target = queued_lines_;
  wake_writer_.notify_one();
  written_.wait(lock, [&] { return done_lines_ >= target; });
}

uint64_t LogSink::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_lines_;
}

uint64_t LogSink::failed() const {
  std::lock_guard lock(mutex_);
  return failed_lines_;
}

void LogSink::run() {
  std::string batch;
  std::optional<Clock::time_point> last_warning;
  std::unique_lock lock(mutex_);
  while (true) {
    const bool unreported = unreported_drops_ > 0 || unreported_failures_ > 0;
    const Clock::time_point now = Clock::now();
    if (unreported && (stopping_ || !last_warning || now - *last_warning >= kWarningInterval)) {
      std::string message = str::cat("interpose: access log ", name_, ": ");
      if (unreported_drops_ > 0) {
        message += str::cat("dropped ", unreported_drops_, " lines (queue full)");
      }
      if (unreported_failures_ > 0) {
        message += str::cat(unreported_drops_ > 0 ? "; " : "", "lost ", unreported_failures_,
                            " lines to write errors (", errorText(last_errno_), ")");
      }
      message += "\n";
      unreported_drops_ = 0;
      unreported_failures_ = 0;
      last_warning = now;
      lock.unlock();
      warn(message);
      lock.lock();
      continue;
    }
    if (pending_.empty()) {
      if (stopping_) return;
      if (unreported) {
        wake_writer_.wait_until(lock, std::min(*last_warning + kWarningInterval, Clock::now() + kFlushInterval));
      } else {
        wake_writer_.wait_for(lock, kFlushInterval);
      }
      continue;
    }

    batch.swap(pending_);
    const uint64_t lines = pending_lines_;
    pending_lines_ = 0;
    lock.unlock();
    const bool ok = writeAll(batch);
    const int error = errno;
    if (batch.capacity() > kRetainedCapacity) {
      batch = std::string();
    } else {
      batch.clear();
    }
    lock.lock();
    if (!ok) {
      failed_lines_ += lines;
      unreported_failures_ += lines;
      last_errno_ = error;
    }
    done_lines_ += lines;
    written_.notify_all();
  }
}

bool LogSink::writeAll(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Someone made the descriptor non-blocking (stdout shared with a child, say): wait
      // for room, on this thread, as a blocking write would.
      pollfd ready{fd_, POLLOUT, 0};
      ::poll(&ready, 1, -1);
    } else {
      if (n == 0) errno = EIO;
      return false;
    }
  }
  return true;
}

void LogSink::warn(std::string_view message) {
  // Best effort and unqueued: the warning is about this sink, so it cannot go through it.
  while (!message.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, message.data(), message.size());
    if (n > 0) {
      message.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;
    }
  }
}

}  // namespace interpose::access_log
