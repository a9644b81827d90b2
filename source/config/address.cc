#include "source/config/address.h"

#include "api/interpose/strings.h"
#include "source/http/request_target.h"

namespace interpose::config {

boost::asio::ip::tcp::endpoint parseAddress(const ConfigNode& node, std::string_view example) {
  std::string text = node.str();
  auto split = http::splitAuthority(text, 0);
  boost::system::error_code ec;
  boost::asio::ip::address ip;
  if (split) ip = boost::asio::ip::make_address(split->first, ec);
  if (!split || ec || split->second == 0) {
    node.fail(str::cat("expected IP:PORT such as ", example, " or [::1]:", example.substr(example.rfind(':') + 1)));
  }
  return boost::asio::ip::tcp::endpoint(ip, split->second);
}

bool isLoopback(const boost::asio::ip::address& ip) {
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6()).is_loopback();
  }
  return ip.is_loopback();
}

}  // namespace interpose::config
