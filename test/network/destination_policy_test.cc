#include "source/network/destination_policy.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace interpose::network {
namespace {

boost::asio::ip::address ip(const char* text) { return boost::asio::ip::make_address(text); }

std::shared_ptr<const RuleDestinationPolicy> policy(const std::string& yaml) {
  auto file = std::make_shared<const std::string>("test.yaml");
  return RuleDestinationPolicy::parse(ConfigNode(YAML::Load(yaml), "destination_policy", file));
}

std::string parseError(const std::string& yaml) {
  try {
    policy(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// An office proxy: no private networks, CONNECT only to TLS ports, and one blocked domain.
constexpr const char* kOffice = R"(
rules:
  - { name: no-private, action: deny, networks: [private_networks] }
  - { name: blocked, action: deny, hosts: ["*.blocked.example", blocked.example] }
  - { name: tls, action: allow, connect: true, ports: [443, 8443] }
  - { name: other-connect, action: deny, connect: true }
)";

TEST(DestinationPolicyTest, FirstMatchingRuleDecides) {
  auto p = policy(kOffice);
  EXPECT_TRUE(p->checkAddress("example.com", 443, ip("93.184.215.14"), true).allowed);
  auto v = p->checkAddress("example.com", 22, ip("93.184.215.14"), true);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.rule, "other-connect");
  EXPECT_EQ(v.why(), "denied by destination_policy rule 'other-connect'");
  EXPECT_TRUE(p->checkAddress("example.com", 22, ip("93.184.215.14"), false).allowed);  // plain: default
  EXPECT_EQ(p->checkAddress("example.com", 80, ip("93.184.215.14"), false).rule, "default");
  EXPECT_EQ(p->checkAddress("www.blocked.example", 443, ip("93.184.215.14"), true).rule, "blocked");
  EXPECT_EQ(p->checkAddress("Blocked.Example.", 443, ip("93.184.215.14"), true).rule, "blocked");
}

TEST(DestinationPolicyTest, PrivateNetworksCoverLoopbackMetadataUlaCgnatAndMappedAddresses) {
  auto p = policy(kOffice);
  for (const char* address : {"127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                              "0.0.0.0", "::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1", "::"}) {
    auto v = p->checkAddress("rebinding.example", 443, ip(address), true);
    EXPECT_FALSE(v.allowed) << address;
    EXPECT_EQ(v.rule, "no-private") << address;
  }
  for (const char* address : {"172.32.0.1", "100.128.0.1", "8.8.8.8", "2001:4860:4860::8888"}) {
    EXPECT_TRUE(p->checkAddress("public.example", 443, ip(address), true).allowed) << address;
  }
}

TEST(DestinationPolicyTest, NameCheckDecidesOnlyWhatTheNameCan) {
  auto p = policy(kOffice);
  // The first rule looks at addresses: a name must wait for DNS.
  EXPECT_FALSE(p->checkName("example.com", 443, true).has_value());
  // An IP literal is decided at once.
  auto literal = p->checkName("127.0.0.1", 22, true);
  ASSERT_TRUE(literal.has_value());
  EXPECT_EQ(literal->rule, "no-private");
  auto v6 = p->checkName("fd12::1", 443, true);
  ASSERT_TRUE(v6.has_value());
  EXPECT_FALSE(v6->allowed);
  // Name rules before any address rule decide without DNS (no lookup for a blocked name).
  auto names =
      policy("rules: [ { action: deny, hosts: [\"*.ads.example\"] }, { action: deny, networks: [10.0.0.0/8] } ]");
  auto blocked = names->checkName("x.ads.example", 80, false);
  ASSERT_TRUE(blocked.has_value());
  EXPECT_EQ(blocked->rule, "rules[0]");
  EXPECT_FALSE(names->checkName("other.example", 80, false).has_value());
}

TEST(DestinationPolicyTest, PortRangesSafePortsAndDefaultDeny) {
  auto p = policy(R"(
default: deny
rules:
  - { name: web, action: allow, ports: [80, "8000-8999"] }
  - { name: safe, action: allow, ports: [safe_ports], hosts: ["*"] }
)");
  EXPECT_EQ(p->checkAddress("a.example", 8500, ip("8.8.8.8"), false).rule, "web");
  EXPECT_EQ(p->checkAddress("a.example", 443, ip("8.8.8.8"), false).rule, "safe");
  EXPECT_EQ(p->checkAddress("a.example", 1025, ip("8.8.8.8"), false).rule, "safe");
  auto ssh = p->checkAddress("a.example", 22, ip("8.8.8.8"), false);
  EXPECT_FALSE(ssh.allowed);
  EXPECT_EQ(ssh.rule, "default");
  EXPECT_FALSE(p->deniesPrivateNetworks());  // port 443 of 10.0.0.1 is allowed
  EXPECT_TRUE(policy("default: deny")->deniesPrivateNetworks());
  EXPECT_FALSE(policy("rules: [ { action: allow } ]")->deniesPrivateNetworks());
  EXPECT_FALSE(policy("rules: [ { action: deny, ports: [25] } ]")->deniesPrivateNetworks());
  EXPECT_TRUE(policy(kOffice)->deniesPrivateNetworks());
  // Plain requests only: tunnels still reach the LAN.
  EXPECT_FALSE(
      policy("rules: [ { action: deny, connect: false, networks: [private_networks] } ]")->deniesPrivateNetworks());
  // A hole for one named intranet host does not count against it.
  EXPECT_TRUE(policy("rules: [ { action: allow, hosts: [wiki.corp.example] }, "
                     "{ action: deny, networks: [private_networks] } ]")
                  ->deniesPrivateNetworks());
}

TEST(DestinationPolicyTest, ConfigErrorsSayWhatWasExpected) {
  EXPECT_NE(parseError("rules: [ { action: maybe } ]").find("expected one of"), std::string::npos);
  EXPECT_NE(parseError("rules: [ { action: deny, ports: [\"9000-8000\"] } ]").find("low first"), std::string::npos);
  EXPECT_NE(parseError("rules: [ { action: deny, ports: [70000] } ]").find("expected a port"), std::string::npos);
  EXPECT_NE(parseError("rules: [ { action: deny, networks: [10.0.0.0/33] } ]").find("more than 32"), std::string::npos);
  EXPECT_NE(parseError("rules: [ { action: deny, hosts: [\"example.com:443\"] } ]").find("ports go in"),
            std::string::npos);
  EXPECT_NE(parseError("rules: [ { action: deny, port: [1] } ]").find("port"), std::string::npos);
  EXPECT_NE(parseError("rules: [ { action: deny, hosts: [169.254.169.254] } ]").find("put it in 'networks'"),
            std::string::npos);
  EXPECT_NE(parseError("rules: [ { ports: [1] } ]").find("action"), std::string::npos);
  EXPECT_NE(parseError("default: maybe").find("test.yaml:1:10"), std::string::npos);
}

}  // namespace
}  // namespace interpose::network
