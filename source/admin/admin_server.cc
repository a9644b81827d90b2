#include "source/admin/admin_server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/network/connection.h"

namespace interpose::admin {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

AdminServer::AdminServer(tcp::endpoint address, std::string token, ConnectionLimits limits)
    : address_(std::move(address)), access_(std::move(token)), limits_(limits) {}

AdminServer::~AdminServer() {
  stop();
  connections_.clear();
}

absl::Status AdminServer::bind() {
  boost::system::error_code ec;
  acceptor_.open(address_.protocol(), ec);
  // Only SO_REUSEADDR (TIME_WAIT), never SO_REUSEPORT: a second instance must fail to bind.
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(address_, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return absl::UnavailableError(
        str::cat("admin: cannot listen on ", network::formatEndpoint(address_), ": ", ec.message()));
  return absl::OkStatus();
}

tcp::endpoint AdminServer::boundEndpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void AdminServer::start() {
  accept();
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      log::error("admin server stopped by an exception: ", e.what());
    }
  });
}

void AdminServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (ec) {
      // EMFILE and friends: try again shortly instead of spinning.
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      timer->async_wait([this, timer](boost::system::error_code) { accept(); });
      return;
    }
    if (connections_.size() >= kMaxConnections) {
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      auto connection = std::make_shared<AdminConnection>(io_, std::move(socket), endpoints_, access_, limits_,
                                                          [this](AdminConnection* c) { onClosed(c); });
      connections_.emplace(connection.get(), connection);
      connection->start();
    }
    accept();
  });
}

void AdminServer::onClosed(AdminConnection* connection) {
  connections_.erase(connection);
  if (stopping_ && connections_.empty()) io_.stop();
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    stopping_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    // A /quitquitquit answer may still be on its way out: finish it, close the rest.
    std::vector<std::shared_ptr<AdminConnection>> open;
    for (auto& [raw, connection] : connections_) open.push_back(connection);
    for (auto& connection : open) connection->closeWhenIdle();
    if (connections_.empty()) {
      io_.stop();
      return;
    }
    auto grace = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(1));
    grace->async_wait([this, grace](boost::system::error_code) {
      std::vector<std::shared_ptr<AdminConnection>> left;
      for (auto& [raw, connection] : connections_) left.push_back(connection);
      for (auto& connection : left) connection->close();
      io_.stop();
    });
  });
  thread_.join();
}

}  // namespace interpose::admin
