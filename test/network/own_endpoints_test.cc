#include "source/network/own_endpoints.h"

#include <gtest/gtest.h>

namespace interpose::network {
namespace {

namespace ip = boost::asio::ip;

ip::tcp::endpoint ep(const char* address, uint16_t port) { return {ip::make_address(address), port}; }

TEST(OwnEndpointsTest, SpecificAddressMatchesOnlyItselfAndItsPort) {
  OwnEndpoints own({ep("127.0.0.1", 8080)}, {ip::make_address("10.1.2.3")});
  EXPECT_TRUE(own.contains(ep("127.0.0.1", 8080)));
  EXPECT_TRUE(own.contains(ep("::ffff:127.0.0.1", 8080)));  // v4-mapped is the same destination
  EXPECT_FALSE(own.contains(ep("127.0.0.1", 8081)));
  EXPECT_FALSE(own.contains(ep("127.0.0.2", 8080)));  // a listener on .1 is not reached through .2
  EXPECT_FALSE(own.contains(ep("10.1.2.3", 8080)));
  EXPECT_TRUE(own.contains(ep("0.0.0.0", 8080)));  // connecting to 0.0.0.0 reaches this host
}

TEST(OwnEndpointsTest, WildcardV4MatchesEveryLocalV4Address) {
  OwnEndpoints own({ep("0.0.0.0", 3128)}, {ip::make_address("10.1.2.3"), ip::make_address("fd00::5")});
  EXPECT_TRUE(own.contains(ep("127.0.0.1", 3128)));
  EXPECT_TRUE(own.contains(ep("127.45.0.9", 3128)));  // all of 127/8 is loopback
  EXPECT_TRUE(own.contains(ep("10.1.2.3", 3128)));
  EXPECT_FALSE(own.contains(ep("10.1.2.4", 3128)));  // another machine
  EXPECT_FALSE(own.contains(ep("fd00::5", 3128)));   // 0.0.0.0 does not take IPv6
  EXPECT_FALSE(own.contains(ep("93.184.216.34", 3128)));
  EXPECT_FALSE(own.contains(ep("10.1.2.3", 443)));
}

TEST(OwnEndpointsTest, WildcardV6TakesBothFamilies) {
  OwnEndpoints own({ep("::", 8080)}, {ip::make_address("192.168.7.7"), ip::make_address("fe80::1%1")});
  EXPECT_TRUE(own.contains(ep("::1", 8080)));
  EXPECT_TRUE(own.contains(ep("127.0.0.1", 8080)));
  EXPECT_TRUE(own.contains(ep("192.168.7.7", 8080)));
  EXPECT_TRUE(own.contains(ep("fe80::1", 8080)));  // with or without the scope
  EXPECT_FALSE(own.contains(ep("fe80::2", 8080)));
}

TEST(OwnEndpointsTest, ReadsThisMachinesInterfaces) {
  OwnEndpoints own({ep("0.0.0.0", 9)});
  EXPECT_TRUE(own.contains(ep("127.0.0.1", 9)));
  EXPECT_FALSE(own.contains(ep("192.0.2.1", 9)));  // TEST-NET-1: never an interface here
  EXPECT_FALSE(OwnEndpoints().contains(ep("127.0.0.1", 9)));
}

}  // namespace
}  // namespace interpose::network
