#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace interpose {

// Where clients may make the proxy connect (a listener's `destination_policy`): consulted
// by everything that opens a connection for a client (the router, tcp_proxy, CONNECT), first
// with the name alone and again with every address the name resolved to, so a name that
// resolves to a private address is caught however it was spelled (DNS rebinding).
class DestinationPolicy {
 public:
  struct Verdict {
    bool allowed = true;
    std::string rule;  // the rule that decided ("default" when none matched), for logs

    // "denied by destination_policy rule 'NAME'", for replies and logs.
    std::string why() const { return "denied by destination_policy rule '" + rule + "'"; }
  };

  virtual ~DestinationPolicy() = default;
  // Before DNS: the verdict, when the name and port decide it (the host is an IP literal, or
  // the first rule that applies does not look at addresses); nullopt when the address will.
  // `tunnel`: the destination came from a CONNECT (or a request inside one).
  virtual std::optional<Verdict> checkName(std::string_view host, uint16_t port, bool tunnel) const = 0;
  // After DNS, for each address the connection may use.
  virtual Verdict checkAddress(std::string_view host, uint16_t port, const boost::asio::ip::address& address,
                               bool tunnel) const = 0;
};

}  // namespace interpose
