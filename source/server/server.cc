#include "source/server/server.h"

#include <sys/resource.h>

#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/common/timer.h"

namespace interpose::server {
namespace {

// Our workers share each listening port through SO_REUSEPORT, and so could a second
// process started on the same address: requests would then land on either at random. A
// plain bind (no SO_REUSEPORT) fails while anyone listens there, so try one first.
absl::Status checkAddressFree(const config::ListenerConfig& listener) {
  if (listener.address.port() == 0) return absl::OkStatus();  // a fresh port each time
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io);
  boost::system::error_code ec;
  probe.open(listener.address.protocol(), ec);
  if (!ec) probe.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), ec);  // TIME_WAIT is fine
  if (!ec) probe.bind(listener.address, ec);
  if (ec == boost::asio::error::address_in_use) {
    return absl::UnavailableError(str::cat("listener '", listener.name, "': cannot listen on ", listener.address_text,
                                           ": address already in use (is another interpose running there?)"));
  }
  return absl::OkStatus();  // other errors surface, with their own words, when workers bind
}

// Every connection is a file descriptor, two for a proxied one: the usual soft limit of
// 1,024 is reached at a few hundred clients. Raise it to the hard limit, as servers do.
void raiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  rlim_t was = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (limit.rlim_cur == RLIM_INFINITY) {
    // setrlimit refuses more than the kernel's per-process maximum.
    limit.rlim_cur = 1024 * 1024;
    if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
      unsigned long long nr_open = 0;
      if (std::fscanf(f, "%llu", &nr_open) == 1 && nr_open > 0) limit.rlim_cur = nr_open;
      std::fclose(f);
    }
  }
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    log::info("open file limit raised from ", was, " to ", limit.rlim_cur);
  } else {
    log::warn("cannot raise the open file limit from ", was, ": ", std::strerror(errno));
  }
}

}  // namespace

Server::Server(std::shared_ptr<const config::ServerConfig> config, uint32_t concurrency)
    : config_(std::move(config)), concurrency_(concurrency) {}

Server::~Server() { workers_.clear(); }

absl::Status Server::run() {
  // A client that disconnects mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  raiseFileLimit();
  // Signal handling first: a SIGTERM that arrives as soon as we listen must drain, not kill.
  boost::asio::io_context main_loop(1);
  boost::asio::signal_set signals(main_loop, SIGINT, SIGTERM);
  for (const auto& listener : config_->listeners) {
    if (auto status = checkAddressFree(listener); !status.ok()) return status;
    if (listener.allow_open_proxy) {
      log::warn("listener '", listener.name, "' on ", listener.address_text,
                " accepts every client that can reach it (allow_open_proxy: true)");
    }
  }
  for (uint32_t i = 0; i < concurrency_; ++i) {
    auto worker = std::make_unique<WorkerImpl>(i, config_);
    if (auto status = worker->bind(); !status.ok()) return status;
    workers_.push_back(std::move(worker));
  }
  // Each worker binds its own sockets (a port 0 may differ between them): all are ours.
  std::vector<boost::asio::ip::tcp::endpoint> bound;
  for (auto& worker : workers_) {
    for (const auto& endpoint : worker->boundEndpoints()) bound.push_back(endpoint);
  }
  auto own = std::make_shared<const network::OwnEndpoints>(std::move(bound));
  for (auto& worker : workers_) {
    worker->setOwnEndpoints(own);
    worker->start();
  }
  auto addresses = workers_.front()->boundAddresses();
  for (size_t i = 0; i < addresses.size(); ++i) {
    log::info("listening on ", addresses[i], " (listener '", config_->listeners[i].name, "', ", concurrency_,
              concurrency_ == 1 ? " worker)" : " workers)");
  }

  auto drain_deadline = std::chrono::steady_clock::now();
  std::function<void()> check_drained;
  Timer poll(main_loop, [&] { check_drained(); });
  check_drained = [&] {
    size_t active = 0;
    for (auto& w : workers_) active += w->activeConnections();
    if (active == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
      if (active > 0) log::warn("drain timeout: closing ", active, " connection(s) still open");
      main_loop.stop();
      return;
    }
    poll.enable(std::chrono::milliseconds(50));
  };
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    log::info("received ", signal == SIGINT ? "SIGINT" : "SIGTERM", ": draining (up to ",
              config_->drain_timeout.count(), " ms)");
    drain_deadline = std::chrono::steady_clock::now() + config_->drain_timeout;
    for (auto& w : workers_) w->startDrain();
    // A second signal ends at once.
    signals.async_wait([&](boost::system::error_code ec2, int) {
      if (!ec2) main_loop.stop();
    });
    check_drained();
  });
  main_loop.run();
  for (auto& w : workers_) w->stop();
  workers_.clear();
  log::info("stopped");
  return absl::OkStatus();
}

}  // namespace interpose::server
