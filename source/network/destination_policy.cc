#include "source/network/destination_policy.h"

#include <array>

#include "api/interpose/strings.h"

namespace interpose::network {
namespace {

// Addresses no client of a forward proxy should reach through it by accident: "this
// network", RFC 1918, carrier-grade NAT (RFC 6598), loopback, link-local (which holds the
// cloud metadata service, 169.254.169.254), and their IPv6 kin: unspecified, loopback,
// unique local (fc00::/7, also AWS's fd00:ec2::254) and link-local. IPv4-mapped IPv6
// addresses match the IPv4 ranges (Cidr::contains).
constexpr std::array<std::string_view, 11> kPrivateNetworks = {
    "0.0.0.0/8",      "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "::/128",     "::1/128",       "fc00::/7",    "fe80::/10",
};

// Ports that carry well-known protocols a proxy may reasonably reach (Squid's Safe_ports
// list): HTTP, FTP, HTTPS, gopher, wais, http-mgmt, gss-http, filemaker, multiling http, and
// every unprivileged port.
constexpr std::array<RuleDestinationPolicy::PortRange, 10> kSafePorts = {{
    {80, 80},
    {21, 21},
    {443, 443},
    {70, 70},
    {210, 210},
    {1025, 65535},
    {280, 280},
    {488, 488},
    {591, 591},
    {777, 777},
}};

std::string withoutTrailingDot(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  return std::string(host);
}

bool hostMatches(const std::vector<std::string>& patterns, std::string_view host) {
  if (patterns.empty()) return true;
  std::string name = withoutTrailingDot(host);
  for (const auto& pattern : patterns) {
    if (pattern == "*" || serverNameMatches(pattern, name)) return true;
  }
  return false;
}

std::optional<boost::asio::ip::address> ipLiteral(std::string_view host) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return address;
}

void parsePorts(const ConfigNode& node, std::vector<RuleDestinationPolicy::PortRange>& out) {
  for (const auto& item : node.list()) {
    std::string text = item.str();
    if (text == "safe_ports") {
      out.insert(out.end(), kSafePorts.begin(), kSafePorts.end());
      continue;
    }
    auto dash = text.find('-');
    unsigned low = 0;
    unsigned high = 0;
    bool ok = dash == std::string::npos ? str::parseInt(text, low) && (high = low, true)
                                        : str::parseInt(std::string_view(text).substr(0, dash), low) &&
                                              str::parseInt(std::string_view(text).substr(dash + 1), high);
    if (!ok || low < 1 || high > 65535 || low > high) {
      item.fail(str::cat("expected a port (1-65535), a range such as 8000-8999 (low first), or safe_ports; got '", text,
                         "'"));
    }
    out.push_back({static_cast<uint16_t>(low), static_cast<uint16_t>(high)});
  }
}

void parseNetworks(const ConfigNode& node, std::vector<Cidr>& out) {
  for (const auto& item : node.list()) {
    std::string text = item.str();
    if (text == "private_networks") {
      for (std::string_view cidr : kPrivateNetworks) out.push_back(*Cidr::parse(cidr));
      continue;
    }
    std::string why;
    auto cidr = Cidr::parse(text, &why);
    if (!cidr)
      item.fail(str::cat(why, "; expected an address range such as 10.0.0.0/8, one address, or private_networks"));
    out.push_back(*cidr);
  }
}

}  // namespace

std::shared_ptr<const RuleDestinationPolicy> RuleDestinationPolicy::parse(const ConfigNode& node) {
  node.expectMap({"default", "rules"});
  bool default_allow =
      node.child("default").defined() ? node.child("default").oneOf({"allow", "deny"}) == "allow" : true;
  std::vector<Rule> rules;
  for (const auto& item : node.child("rules").list()) {
    item.expectMap({"name", "action", "hosts", "ports", "networks", "connect"});
    Rule rule;
    rule.name = item.str("name", str::cat("rules[", rules.size(), "]"));
    rule.allow = item.required("action").oneOf({"allow", "deny"}) == "allow";
    for (const auto& host : item.child("hosts").list()) {
      std::string pattern = str::toLower(withoutTrailingDot(host.str()));
      std::string_view rest = pattern;
      if (rest.starts_with("*.")) rest.remove_prefix(2);
      if (pattern != "*" && (rest.empty() || rest.find_first_of("*/: ") != std::string_view::npos)) {
        host.fail("expected a host name, '*.' and a domain (its subdomains), or '*'; ports go in 'ports'");
      }
      // Matched as text, "10.0.0.1" would miss [::ffff:10.0.0.1], 167772161 or 10.1.
      if (ipLiteral(pattern)) host.fail("an IP address matches only by address: put it in 'networks'");
      rule.hosts.push_back(pattern);
    }
    parsePorts(item.child("ports"), rule.ports);
    parseNetworks(item.child("networks"), rule.networks);
    if (item.has("connect")) rule.connect = item.child("connect").boolean();
    rules.push_back(std::move(rule));
  }
  return std::make_shared<const RuleDestinationPolicy>(std::move(rules), default_allow);
}

bool RuleDestinationPolicy::deniesPrivateNetworks() const {
  // Probes, not proof: one address of each kind, reached by its literal, on the ports an
  // attacker would try first.
  for (std::string_view text : {"127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1",
                                "::1", "fd00::1", "fe80::1"}) {
    auto address = *ipLiteral(text);
    for (uint16_t port : {22, 80, 443, 3128, 8080}) {
      for (bool tunnel : {false, true}) {
        if (checkAddress(text, port, address, tunnel).allowed) return false;
      }
    }
  }
  return true;
}

bool RuleDestinationPolicy::nameAndPortMatch(const Rule& rule, std::string_view host, uint16_t port,
                                             bool tunnel) const {
  if (rule.connect && *rule.connect != tunnel) return false;
  if (!rule.ports.empty()) {
    bool any = false;
    for (const auto& range : rule.ports) any = any || (port >= range.low && port <= range.high);
    if (!any) return false;
  }
  return hostMatches(rule.hosts, host);
}

std::optional<DestinationPolicy::Verdict> RuleDestinationPolicy::checkName(std::string_view host, uint16_t port,
                                                                           bool tunnel) const {
  if (auto address = ipLiteral(host)) return checkAddress(host, port, *address, tunnel);
  for (const auto& rule : rules_) {
    if (!nameAndPortMatch(rule, host, port, tunnel)) continue;
    if (!rule.networks.empty()) return std::nullopt;  // the address decides
    return decide(rule);
  }
  return Verdict{default_allow_, "default"};
}

DestinationPolicy::Verdict RuleDestinationPolicy::checkAddress(std::string_view host, uint16_t port,
                                                               const boost::asio::ip::address& address,
                                                               bool tunnel) const {
  for (const auto& rule : rules_) {
    if (!nameAndPortMatch(rule, host, port, tunnel)) continue;
    if (!rule.networks.empty()) {
      bool any = false;
      for (const auto& cidr : rule.networks) any = any || cidr.contains(address);
      if (!any) continue;
    }
    return decide(rule);
  }
  return Verdict{default_allow_, "default"};
}

}  // namespace interpose::network
