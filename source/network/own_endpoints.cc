#include "source/network/own_endpoints.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>

namespace interpose::network {
namespace {

namespace ip = boost::asio::ip;

// ::ffff:127.0.0.1 and 127.0.0.1 are one destination.
ip::address plain(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

std::vector<ip::address> interfaceAddresses() {
  std::vector<ip::address> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.push_back(ip::address_v4(ntohl(sin->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      ip::address_v6::bytes_type bytes;
      std::copy(std::begin(sin6->sin6_addr.s6_addr), std::end(sin6->sin6_addr.s6_addr), bytes.begin());
      out.push_back(ip::address_v6(bytes, sin6->sin6_scope_id));
    }
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

OwnEndpoints::OwnEndpoints(std::vector<ip::tcp::endpoint> listening)
    : OwnEndpoints(std::move(listening), interfaceAddresses()) {}

OwnEndpoints::OwnEndpoints(std::vector<ip::tcp::endpoint> listening, std::vector<ip::address> local)
    : local_(std::move(local)) {
  for (auto& e : listening) listening_.emplace_back(plain(e.address()), e.port());
  for (auto& a : local_) a = plain(a);
}

bool OwnEndpoints::isLocal(const ip::address& address) const {
  if (address.is_loopback() || address.is_unspecified()) return true;  // 127/8, ::1; 0.0.0.0 reaches us too
  for (const auto& a : local_) {
    // Link-local IPv6 addresses carry a scope; a destination may name it or not.
    if (a.is_v6() && address.is_v6() ? a.to_v6().to_bytes() == address.to_v6().to_bytes() : a == address) return true;
  }
  return false;
}

bool OwnEndpoints::contains(const ip::tcp::endpoint& endpoint) const {
  const ip::address address = plain(endpoint.address());
  for (const auto& l : listening_) {
    if (l.port() != endpoint.port()) continue;
    const ip::address& bound = l.address();
    if (bound.is_unspecified()) {
      // 0.0.0.0 takes IPv4 only; :: takes both unless the socket is v6-only (assumed not).
      if ((bound.is_v6() || address.is_v4()) && isLocal(address)) return true;
    } else if (bound == address || (address.is_unspecified() && bound.is_v4() == address.is_v4())) {
      return true;
    }
  }
  return false;
}

}  // namespace interpose::network
