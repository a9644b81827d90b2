#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string_view>

#include "api/interpose/config_node.h"

namespace interpose::config {

// An `IP:PORT` config value (IPv6 in brackets, port 1-65535); fails naming `example` as the
// expected shape.
boost::asio::ip::tcp::endpoint parseAddress(const ConfigNode& node, std::string_view example);

// 127/8 and ::1, and ::ffff:127.0.0.1 as well (Boost's is_loopback knows only ::1 for v6).
bool isLoopback(const boost::asio::ip::address& ip);

}  // namespace interpose::config
