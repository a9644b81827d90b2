#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace interpose {

// The thread a connection lives on. Filters reach their worker's event loop here, and keep
// per-worker state (connection pools, caches) in WorkerSlots (factory_context.h), which die
// before the event loop does.
class Worker {
 public:
  // A subclass whose event loop dies before this destructor runs must call closeMailbox()
  // first (WorkerImpl does); this one is the safety net for the others.
  virtual ~Worker() { closeMailbox(); }
  virtual boost::asio::io_context& ioContext() = 0;
  virtual uint32_t index() const = 0;
  // True once the server is draining: finish in-flight work, take no more.
  virtual bool draining() const = 0;
  // True when `destination` is one of this process's own listening addresses: a request
  // sent there would come straight back into the proxy (a loop), so it is refused.
  virtual bool isOwnListener(const boost::asio::ip::tcp::endpoint& destination) const { return false; }

  // A way for other threads to run work on this worker's loop (the result of a mint, say).
  // Call it on the worker's thread; the function it returns may be called from any thread,
  // even after the worker is gone (the work is then dropped).
  using Poster = std::function<void(std::function<void()>)>;
  Poster crossThreadPoster() {
    if (!mailbox_) mailbox_ = std::make_shared<Mailbox>(&ioContext());
    return [mailbox = mailbox_](std::function<void()> work) {
      std::lock_guard lock(mailbox->mutex);
      if (mailbox->io) boost::asio::post(*mailbox->io, std::move(work));
    };
  }

 protected:
  void clearSlots() { slots_.clear(); }
  // Before the event loop goes: posters handed out no longer reach it.
  void closeMailbox() {
    if (!mailbox_) return;
    std::lock_guard lock(mailbox_->mutex);
    mailbox_->io = nullptr;
  }

 private:
  struct Mailbox {
    explicit Mailbox(boost::asio::io_context* loop) : io(loop) {}
    std::mutex mutex;
    boost::asio::io_context* io;
  };
  template <typename T>
  friend class WorkerSlot;
  std::shared_ptr<void>& slotStorage(size_t id) {
    if (id >= slots_.size()) slots_.resize(id + 1);
    return slots_[id];
  }
  std::vector<std::shared_ptr<void>> slots_;  // by WorkerSlot id
  std::shared_ptr<Mailbox> mailbox_;
};

// Callbacks for watermark-based flow control: "the buffer towards X is above its high
// watermark, stop producing for it" / "it drained below the low watermark, go on".
class WatermarkCallbacks {
 public:
  virtual ~WatermarkCallbacks() = default;
  virtual void onAboveWriteBufferHighWatermark() = 0;
  virtual void onBelowWriteBufferLowWatermark() = 0;
};

}  // namespace interpose
