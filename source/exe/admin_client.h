#pragma once

// A small blocking HTTP/1.1 client for the admin server of a running interpose, for commands
// such as `interpose passthrough`.

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace interpose {

struct AdminReply {
  int status = 0;
  std::string body;
};

// Sends one request (Connection: close) and reads the whole reply, within `timeout`. Fails
// with a message a user can act on when nothing listens at `address` or it does not answer.
absl::StatusOr<AdminReply> adminRequest(const boost::asio::ip::tcp::endpoint& address, std::string_view method,
                                        std::string_view target, std::string_view token,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace interpose
