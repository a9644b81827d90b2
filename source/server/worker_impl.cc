#include "source/server/worker_impl.h"

#include <boost/asio/post.hpp>

#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/server/server_connection.h"

namespace interpose::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

WorkerImpl::WorkerImpl(uint32_t index, std::shared_ptr<const config::ServerConfig> config)
    : index_(index), config_(std::move(config)) {}

WorkerImpl::~WorkerImpl() {
  stop();
  closeMailbox();
  // Worker-local state (pools, caches) and connections go while the event loop still exists.
  listeners_.clear();
  connections_.clear();
  clearSlots();
}

absl::Status WorkerImpl::bind() {
  for (const auto& listener_config : config_->listeners) {
    auto listener = std::make_unique<Listener>();
    listener->config = &listener_config;
    listener->acceptor = std::make_unique<tcp::acceptor>(io_);
    boost::system::error_code ec;
    auto& acceptor = *listener->acceptor;
    acceptor.open(listener_config.address.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec) acceptor.bind(listener_config.address, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(str::cat("listener '", listener_config.name, "': cannot listen on ",
                                             listener_config.address_text, ": ", ec.message()));
    }
    listeners_.push_back(std::move(listener));
  }
  return absl::OkStatus();
}

std::vector<tcp::endpoint> WorkerImpl::boundEndpoints() const {
  std::vector<tcp::endpoint> out;
  for (const auto& l : listeners_) {
    boost::system::error_code ec;
    out.push_back(l->acceptor->local_endpoint(ec));
  }
  return out;
}

std::vector<std::string> WorkerImpl::boundAddresses() const {
  std::vector<std::string> out;
  for (const auto& endpoint : boundEndpoints()) out.push_back(network::formatEndpoint(endpoint));
  return out;
}

void WorkerImpl::start() {
  for (auto& listener : listeners_) accept(*listener);
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      log::error("worker ", index_, " stopped by an exception: ", e.what());
    }
  });
}

void WorkerImpl::accept(Listener& listener) {
  if (!listener.acceptor->is_open()) return;
  listener.acceptor->async_accept(io_, [this, &listener](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || draining()) return;
    if (ec) {
      // Out of file descriptors and the like: back off briefly rather than spin, and say so
      // once a minute, not on every retry (10 a second per worker).
      auto now = std::chrono::steady_clock::now();
      ++listener.failures;
      if (!listener.last_warning || now - *listener.last_warning >= std::chrono::minutes(1)) {
        log::warn("listener '", listener.config->name, "': accept failed: ", ec.message(), " (", listener.failures,
                  listener.failures == 1 ? " time" : " times", " since the last such line; retrying every 100 ms)");
        listener.last_warning = now;
        listener.failures = 0;
      }
      if (!listener.retry) listener.retry = std::make_unique<Timer>(io_, [this, &listener] { accept(listener); });
      listener.retry->enable(std::chrono::milliseconds(100));
      return;
    }
    auto connection = std::make_shared<network::Connection>(std::move(socket), listener.config->buffer_limit);
    auto owner = std::make_unique<ServerConnection>(*this, connection, *listener.config);
    ServerConnection* raw = owner.get();
    connections_.emplace(raw, std::move(owner));
    active_.fetch_add(1);
    if (!raw->start()) removeConnection(raw);
    accept(listener);
  });
}

void WorkerImpl::removeConnection(ServerConnection* connection) {
  // Deferred: we are usually inside one of the connection's callbacks.
  asio::post(io_, [this, connection] {
    if (connections_.erase(connection) > 0) active_.fetch_sub(1);
  });
}

void WorkerImpl::startDrain() {
  asio::post(io_, [this] {
    draining_.store(true);
    for (auto& l : listeners_) {
      boost::system::error_code ec;
      l->acceptor->close(ec);
      if (l->retry) l->retry->disable();
    }
  });
}

void WorkerImpl::stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
}

}  // namespace interpose::server
