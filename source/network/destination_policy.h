#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/interpose/config_node.h"
#include "api/interpose/destination_policy.h"
#include "source/network/filter_chain.h"

namespace interpose::network {

// A listener's `destination_policy`: rules tried in order, the first whose conditions all
// hold decides (allow or deny); when none does, `default` does. As Squid's http_access
// lines, so "deny private networks, allow CONNECT to 443, deny other CONNECTs" reads as
// three rules.
class RuleDestinationPolicy : public DestinationPolicy {
 public:
  struct PortRange {
    uint16_t low = 0;
    uint16_t high = 0;
  };
  struct Rule {
    std::string name;
    bool allow = false;
    std::vector<std::string> hosts;  // "example.com", "*.example.com", "*" (any)
    std::vector<PortRange> ports;
    std::vector<Cidr> networks;   // checked on resolved addresses
    std::optional<bool> connect;  // true: only tunnels (CONNECT); false: only plain requests
  };

  // Parses a `destination_policy:` map; throws ConfigError naming the key and what was expected.
  static std::shared_ptr<const RuleDestinationPolicy> parse(const ConfigNode& node);

  RuleDestinationPolicy(std::vector<Rule> rules, bool default_allow)
      : rules_(std::move(rules)), default_allow_(default_allow) {}

  // Whether it keeps clients out of this machine and its networks: loopback, RFC 1918,
  // link-local (cloud metadata) and ULA addresses are denied on common ports, for plain
  // requests and tunnels. A listener open to other machines needs that (or allow_open_proxy).
  bool deniesPrivateNetworks() const;

  std::optional<Verdict> checkName(std::string_view host, uint16_t port, bool tunnel) const override;
  Verdict checkAddress(std::string_view host, uint16_t port, const boost::asio::ip::address& address,
                       bool tunnel) const override;

 private:
  bool nameAndPortMatch(const Rule& rule, std::string_view host, uint16_t port, bool tunnel) const;
  Verdict decide(const Rule& rule) const { return Verdict{rule.allow, rule.name}; }

  std::vector<Rule> rules_;
  bool default_allow_ = true;
};

}  // namespace interpose::network
