#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/interpose/network_filter.h"
#include "source/network/rejection_memory.h"

namespace interpose::network {

// An address range such as 10.0.0.0/8 or ::1/128.
struct Cidr {
  boost::asio::ip::address prefix;
  int length = 0;

  // Parses "ADDR/LEN" or a bare address (a host range: /32 or /128). Returns nullopt when
  // invalid, and then says why in `why` (when given), e.g. "'10.0.0.300' is not an IP address".
  static std::optional<Cidr> parse(std::string_view text, std::string* why = nullptr);
  bool contains(const boost::asio::ip::address& address) const;
};

// True when `name` matches `pattern`: equal ignoring case, or pattern "*.example.com"
// matching any name that ends in ".example.com" (one or more labels in front).
bool serverNameMatches(std::string_view pattern, std::string_view name);

// Conditions a connection must meet for a filter chain to take it; empty fields match all.
struct FilterChainMatch {
  std::optional<uint16_t> destination_port;
  std::vector<std::string> server_names;
  std::vector<Cidr> source_cidrs;
  std::optional<bool> tunneled;
  // true: only hosts whose clients recently rejected our certificate (`rejections`).
  std::optional<bool> interception_rejected;
  std::shared_ptr<const RejectionMemory> rejections;
  // Need the listener's tls_inspector: "tls" or "raw", and ALPN offers (any of).
  std::optional<std::string> transport_protocol;
  std::vector<std::string> application_protocols;

  bool matches(const ConnectionInfo& info, const boost::asio::ip::address& source) const;
  // The conditions this match sets, with what the connection met them with, for logs:
  // e.g. "server_names=*.bank.example", "interception_rejected"; empty when it sets none
  // but `tunneled`.
  std::string describe(const ConnectionInfo& info) const;
};

struct FilterChain {
  std::string name;  // as configured, else "filter_chains[N]"
  FilterChainMatch match;
  std::vector<NetworkFilterFactoryCb> filter_factories;
  bool terminates_tls = false;  // one of its filters does (see NetworkFilterFactory)

  TunnelChoice choice(const ConnectionInfo& info) const {
    return TunnelChoice{name, terminates_tls, match.describe(info)};
  }
};

// The first chain, in config order, whose match fits; nullptr when none does.
const FilterChain* selectFilterChain(const std::vector<FilterChain>& chains, const ConnectionInfo& info,
                                     const boost::asio::ip::address& source);

}  // namespace interpose::network
