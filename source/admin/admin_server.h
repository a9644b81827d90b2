#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/status/status.h"
#include "source/admin/access.h"
#include "source/admin/admin_connection.h"
#include "source/admin/endpoint.h"

namespace interpose::admin {

// The admin HTTP server: one acceptor and its connections on a thread and io_context of their
// own, so that nothing the admin does (a slow client, a large config dump) ever runs on a
// worker's event loop. What it serves is the EndpointTable it is given.
class AdminServer {
 public:
  AdminServer(boost::asio::ip::tcp::endpoint address, std::string token, ConnectionLimits limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // What it serves: fill before start(); read only by the admin thread afterwards.
  EndpointTable& endpoints() { return endpoints_; }
  // Binds and listens, on the caller's thread, so that an address in use is reported at start.
  absl::Status bind();
  // Starts the admin thread.
  void start();
  // Stops accepting, lets responses being written finish (up to a second), then joins.
  void stop();
  boost::asio::ip::tcp::endpoint boundEndpoint() const;

 private:
  void accept();
  void onClosed(AdminConnection* connection);

  // Concurrent connections beyond this are closed on accept: an admin server has a handful of
  // clients, and a flood of them must not exhaust the process's file descriptors.
  static constexpr size_t kMaxConnections = 64;

  boost::asio::ip::tcp::endpoint address_;
  AccessPolicy access_;
  EndpointTable endpoints_;
  ConnectionLimits limits_;
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::unordered_map<AdminConnection*, std::shared_ptr<AdminConnection>> connections_;
  bool stopping_ = false;  // admin thread only
  std::thread thread_;
};

}  // namespace interpose::admin
