#include "source/network/filter_chain.h"

#include <gtest/gtest.h>

namespace interpose::network {
namespace {

boost::asio::ip::address ip(const char* text) { return boost::asio::ip::make_address(text); }

TEST(CidrTest, ParsesAndMatches) {
  auto v4 = Cidr::parse("10.1.0.0/16");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->contains(ip("10.1.200.3")));
  EXPECT_FALSE(v4->contains(ip("10.2.0.1")));
  EXPECT_FALSE(v4->contains(ip("::1")));
  auto host = Cidr::parse("127.0.0.1");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->length, 32);
  EXPECT_TRUE(host->contains(ip("127.0.0.1")));
  EXPECT_TRUE(host->contains(ip("::ffff:127.0.0.1")));  // v4-mapped
  auto v6 = Cidr::parse("2001:db8::/33");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(ip("2001:db8:7fff::1")));
  EXPECT_FALSE(v6->contains(ip("2001:db8:8000::1")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(ip("8.8.8.8")));
}

TEST(CidrTest, RejectsInvalid) {
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/x"));
  EXPECT_FALSE(Cidr::parse("example.com/8"));
  EXPECT_FALSE(Cidr::parse(""));
}

std::string whyInvalid(std::string_view text) {
  std::string why;
  EXPECT_FALSE(Cidr::parse(text, &why)) << text;
  return why;
}

TEST(CidrTest, SaysWhyItIsInvalid) {
  EXPECT_EQ(whyInvalid("10.0.0.0/33"), "prefix length 33 is more than 32 for an IPv4 address");
  EXPECT_EQ(whyInvalid("2001:db8::/129"), "prefix length 129 is more than 128 for an IPv6 address");
  EXPECT_EQ(whyInvalid("10.0.0.0/99999999999999999999"),
            "prefix length 99999999999999999999 is more than 32 for an IPv4 address");
  EXPECT_EQ(whyInvalid("10.0.0.300"), "'10.0.0.300' is not an IP address");
  EXPECT_EQ(whyInvalid("10.0.0.300/8"), "'10.0.0.300' is not an IP address");
  EXPECT_EQ(whyInvalid("example.com/8"), "'example.com' is not an IP address");
  EXPECT_EQ(whyInvalid("10.0.0.0/x"), "prefix length 'x' is not a number");
  EXPECT_EQ(whyInvalid("10.0.0.0/-1"), "prefix length '-1' is not a number");
  EXPECT_EQ(whyInvalid("10.0.0.0/"), "the prefix length after '/' is missing");
  EXPECT_EQ(whyInvalid("/8"), "the address is missing");
  EXPECT_EQ(whyInvalid(""), "the address is missing");
}

TEST(CidrTest, WhyIsUntouchedWhenValid) {
  std::string why = "unchanged";
  auto host = Cidr::parse("::1", &why);
  ASSERT_TRUE(host);
  EXPECT_EQ(host->length, 128);  // a bare address is one host
  EXPECT_EQ(Cidr::parse("10.0.0.0/032", &why)->length, 32);
  EXPECT_EQ(why, "unchanged");
}

TEST(ServerNameTest, ExactAndWildcard) {
  EXPECT_TRUE(serverNameMatches("example.com", "EXAMPLE.com"));
  EXPECT_FALSE(serverNameMatches("example.com", "www.example.com"));
  EXPECT_TRUE(serverNameMatches("*.example.com", "www.example.com"));
  EXPECT_TRUE(serverNameMatches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(serverNameMatches("*.example.com", "example.com"));
  EXPECT_FALSE(serverNameMatches("*.example.com", "badexample.com"));
  EXPECT_FALSE(serverNameMatches("*.example.com", ""));
}

FilterChain chain(std::string name, FilterChainMatch match) {
  return FilterChain{std::move(name), std::move(match), {}};
}

TEST(SelectFilterChainTest, FirstMatchInOrder) {
  FilterChainMatch pinned;
  pinned.server_names = {"*.bank.example"};
  FilterChainMatch tls;
  tls.destination_port = 443;
  FilterChainMatch internal;
  internal.source_cidrs = {*Cidr::parse("10.0.0.0/8")};
  FilterChainMatch tunnels;
  tunnels.tunneled = true;
  std::vector<FilterChain> chains = {chain("pinned", pinned), chain("tls", tls), chain("internal", internal),
                                     chain("tunnels", tunnels), chain("default", {})};

  ConnectionInfo info;
  info.server_name = "www.bank.example";
  info.destination_port = 443;
  EXPECT_EQ(selectFilterChain(chains, info, ip("127.0.0.1"))->name, "pinned");
  info.server_name = "shop.example";
  EXPECT_EQ(selectFilterChain(chains, info, ip("127.0.0.1"))->name, "tls");
  info.destination_port = 8080;
  EXPECT_EQ(selectFilterChain(chains, info, ip("10.3.4.5"))->name, "internal");
  info.tunneled = true;
  EXPECT_EQ(selectFilterChain(chains, info, ip("127.0.0.1"))->name, "tunnels");
  info.tunneled = false;
  EXPECT_EQ(selectFilterChain(chains, info, ip("127.0.0.1"))->name, "default");
}

TEST(SelectFilterChainTest, NoMatchGivesNull) {
  FilterChainMatch only443;
  only443.destination_port = 443;
  std::vector<FilterChain> chains = {chain("tls", only443)};
  ConnectionInfo info;
  info.destination_port = 80;
  EXPECT_EQ(selectFilterChain(chains, info, ip("127.0.0.1")), nullptr);
}

// What the access log shows as the reason a tunnel went to a chain.
TEST(FilterChainMatchTest, DescribeNamesTheConditionsAndWhatMetThem) {
  ConnectionInfo info;
  info.server_name = "www.bank.example";
  info.destination_port = 443;
  info.tunneled = true;
  FilterChainMatch tunnels;
  tunnels.tunneled = true;
  EXPECT_EQ(tunnels.describe(info), "");  // the catch-all of tunnels
  FilterChainMatch banks;
  banks.tunneled = true;
  banks.server_names = {"*.shop.example", "*.bank.example"};
  banks.destination_port = 443;
  EXPECT_EQ(banks.describe(info), "destination_port=443,server_names=*.bank.example");
  info.server_name = "10.0.0.1";
  info.sni = "login.bank.example";  // read by a tls_inspector
  EXPECT_EQ(banks.describe(info), "destination_port=443,server_names=*.bank.example");
  FilterChainMatch learned;
  learned.interception_rejected = true;
  learned.source_cidrs = {*Cidr::parse("10.0.0.0/8")};
  EXPECT_EQ(learned.describe(info), "interception_rejected,source_cidrs");
  FilterChain chain{"banks", banks, {}, false};
  TunnelChoice choice = chain.choice(info);
  EXPECT_EQ(choice.chain, "banks");
  EXPECT_FALSE(choice.intercepted);
}

}  // namespace
}  // namespace interpose::network
