#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "api/interpose/worker.h"
#include "source/common/timer.h"
#include "source/config/server_config.h"
#include "source/network/connection.h"
#include "source/network/own_endpoints.h"

namespace interpose::server {

class ServerConnection;

// One event-loop thread. It accepts on its own SO_REUSEPORT socket for every listener, so the
// kernel spreads new connections across workers, and each connection lives and dies here.
class WorkerImpl : public Worker {
 public:
  WorkerImpl(uint32_t index, std::shared_ptr<const config::ServerConfig> config);
  ~WorkerImpl() override;

  // Opens this worker's listening sockets (on the caller's thread, so bind errors surface
  // before anything runs).
  absl::Status bind();
  void start();
  // Stops accepting; idle connections close, busy ones finish their current exchange.
  void startDrain();
  void stop();
  size_t activeConnections() const { return active_.load(); }
  std::vector<std::string> boundAddresses() const;
  std::vector<boost::asio::ip::tcp::endpoint> boundEndpoints() const;
  // Every listening address of the process (all workers'), set before start().
  void setOwnEndpoints(std::shared_ptr<const network::OwnEndpoints> own) { own_ = std::move(own); }

  boost::asio::io_context& ioContext() override { return io_; }
  uint32_t index() const override { return index_; }
  bool draining() const override { return draining_.load(std::memory_order_relaxed); }
  bool isOwnListener(const boost::asio::ip::tcp::endpoint& destination) const override {
    return own_ && own_->contains(destination);
  }

  void removeConnection(ServerConnection* connection);

 private:
  struct Listener {
    const config::ListenerConfig* config;
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
    std::unique_ptr<Timer> retry;
    uint64_t failures = 0;  // accept failures since the last warning
    std::optional<std::chrono::steady_clock::time_point> last_warning;
  };
  void accept(Listener& listener);

  // One thread runs it, and only that thread touches its sockets: no per-socket locking in
  // the reactor. (Posting from other threads, e.g. drain, stays safe: the scheduler locks.)
  boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  uint32_t index_;
  std::shared_ptr<const config::ServerConfig> config_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::shared_ptr<const network::OwnEndpoints> own_;
  std::unordered_map<ServerConnection*, std::unique_ptr<ServerConnection>> connections_;
  std::atomic<size_t> active_{0};
  std::atomic<bool> draining_{false};
  std::thread thread_;
};

}  // namespace interpose::server
