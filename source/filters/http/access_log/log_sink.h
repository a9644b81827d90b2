#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace interpose::access_log {

// Where access log lines go. Workers must never wait for a disk, so write() only appends to
// an in-memory queue under a short lock; one background thread per sink drains the queue,
// writing everything pending with one write() call. When the queue is full (the disk or
// the pipe behind stdout cannot keep up), lines are dropped and counted rather than
// blocking the worker, and a warning with the count goes to stderr at most once a second.
class LogSink {
 public:
  static constexpr size_t kDefaultMaxPendingBytes = 8 * 1024 * 1024;

  // The process-wide sink for `path`: "/dev/stdout" (or "-"), "/dev/stderr", or a file,
  // opened for appending and created with mode 0640. Filters of every config that name the
  // same path share one sink, so lines are never interleaved mid-line and a config reload
  // does not reopen the file. Returns nullptr and sets `error` when the file cannot be
  // opened.
  static std::shared_ptr<LogSink> open(const std::string& path, std::string& error);

  // Flushes every open sink; for shutdown. Also runs at exit().
  static void flushAll();

  // A sink writing to `fd` (closed on destruction when `owns_fd`), holding at most
  // `max_pending_bytes` of lines not yet written. `name` appears in warnings.
  LogSink(int fd, bool owns_fd, std::string name, size_t max_pending_bytes = kDefaultMaxPendingBytes);
  // Writes out what is queued, then stops the writer thread.
  ~LogSink();

  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // Queues `line` (which should end in '\n'); never blocks on I/O. A line that does not fit
  // in the queue is dropped whole.
  void write(std::string_view line);

  // Blocks until every line queued before the call has been handed to the kernel (or failed
  // to be). Must not be called from the writer thread.
  void flush();

  // Lines dropped because the queue was full, and lines lost to write errors, since creation.
  uint64_t dropped() const;
  uint64_t failed() const;

 private:
  void run();
  // Writes all of `data`, resuming after partial writes and EINTR. Returns false on error.
  bool writeAll(std::string_view data);
  void warn(std::string_view message);

  const int fd_;
  const bool owns_fd_;
  const std::string name_;
  const size_t max_pending_bytes_;

  mutable std::mutex mutex_;
  std::condition_variable wake_writer_;  // lines queued, or stopping
  std::condition_variable written_;      // a batch finished, for flush()
  std::string pending_;                  // guarded by mutex_
  uint64_t pending_lines_ = 0;           // guarded by mutex_
  uint64_t queued_lines_ = 0;            // guarded by mutex_: accepted since creation
  uint64_t done_lines_ = 0;              // guarded by mutex_: written or failed
  uint64_t dropped_lines_ = 0;           // guarded by mutex_
  uint64_t unreported_drops_ = 0;        // guarded by mutex_: not yet warned about
  uint64_t failed_lines_ = 0;            // guarded by mutex_
  uint64_t unreported_failures_ = 0;     // guarded by mutex_
  int last_errno_ = 0;                   // guarded by mutex_
  bool stopping_ = false;                // guarded by mutex_

  std::thread writer_;
};

}  // namespace interpose::access_log
