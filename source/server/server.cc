#include "source/server/server.h"

#include <sys/resource.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "api/interpose/strings.h"
#include "source/admin/builtin_endpoints.h"
#include "source/common/logger.h"
#include "source/common/timer.h"

namespace interpose::server {
namespace {

// Our workers share each listening port through SO_REUSEPORT, and so could a second
// process started on the same address: requests would then land on either at random. A
// plain bind (no SO_REUSEPORT) fails while anyone listens there, so try one first. (The
// admin server binds without SO_REUSEPORT anyway; checking it here too stops a second
// instance before any of its workers start.)
absl::Status checkAddressFree(std::string_view what, const boost::asio::ip::tcp::endpoint& address,
                              std::string_view address_text) {
  if (address.port() == 0) return absl::OkStatus();  // a fresh port each time
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io);
  boost::system::error_code ec;
  probe.open(address.protocol(), ec);
  if (!ec) probe.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), ec);  // TIME_WAIT is fine
  if (!ec) probe.bind(address, ec);
  if (ec == boost::asio::error::address_in_use) {
    return absl::UnavailableError(str::cat(what, ": cannot listen on ", address_text,
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

Server::~Server() {
  admin_.reset();
  workers_.clear();
}

absl::Status Server::run() {
  // A client that disconnects mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  raiseFileLimit();
  // Signal handling first: a SIGTERM that arrives as soon as we listen must drain, not kill.
  boost::asio::io_context main_loop(1);
  boost::asio::signal_set signals(main_loop, SIGINT, SIGTERM);
  if (config_->admin.enabled) {
    if (auto status = checkAddressFree("admin", config_->admin.address, config_->admin.address_text); !status.ok()) {
      return status;
    }
  }
  for (const auto& listener : config_->listeners) {
    if (auto status =
            checkAddressFree(str::cat("listener '", listener.name, "'"), listener.address, listener.address_text);
        !status.ok()) {
      return status;
    }
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

  // The drain, started by a signal or by the admin's /quitquitquit (posted here from the admin
  // thread): it always runs on this loop, once.
  auto drain_deadline = std::chrono::steady_clock::now();
  std::atomic<bool> draining{false};
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
  auto drain = [&](std::string_view why) {
    if (draining.exchange(true)) return;
    log::info(why, ": draining (up to ", config_->drain_timeout.count(), " ms)");
    drain_deadline = std::chrono::steady_clock::now() + config_->drain_timeout;
    for (auto& w : workers_) w->startDrain();
    check_drained();
  };
  std::function<void()> wait_for_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int signal) {
      if (ec) return;
      if (draining) {
        main_loop.stop();  // a second request to stop ends at once
        return;
      }
      drain(signal == SIGINT ? "received SIGINT" : "received SIGTERM");
      wait_for_signal();
    });
  };
  wait_for_signal();

  if (config_->admin.enabled) {
    admin_context_.config = config_;
    admin_context_.concurrency = concurrency_;
    admin_context_.draining = [&draining] { return draining.load(); };
    admin_context_.drain = [&main_loop, &drain] {
      boost::asio::post(main_loop, [&drain] { drain("admin /quitquitquit"); });
    };
    admin_ = std::make_unique<admin::AdminServer>(config_->admin.address, config_->admin.token);
    admin::addBuiltinEndpoints(admin_->endpoints(), admin_context_);
    if (auto status = admin_->bind(); !status.ok()) return status;
  }

  // The admin server too: a proxied request to it would let any client of the proxy
  // reach endpoints meant for the operator (a loop of another kind: 508).
  if (admin_) bound.push_back(admin_->boundEndpoint());
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
  if (admin_) {
    admin_->start();
    log::info("admin server on http://", network::formatEndpoint(admin_->boundEndpoint()),
              "/ (its front page lists the endpoints)",
              admin_context_.config->admin.token.empty() ? "" : "; token required");
  }

  main_loop.run();
  // The admin server goes first: its endpoints read the workers' state and post to this loop.
  if (admin_) admin_->stop();
  for (auto& w : workers_) w->stop();
  workers_.clear();
  admin_.reset();
  log::info("stopped");
  return absl::OkStatus();
}

}  // namespace interpose::server
