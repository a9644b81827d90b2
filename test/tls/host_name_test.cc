#include "source/tls/host_name.h"

#include <gtest/gtest.h>

#include <string>

namespace interpose::tls {
namespace {

TEST(HostNameTest, DnsNamesAreLowerCased) {
  auto host = parseCertHost("WWW.Example.COM");
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->name, "www.example.com");
  EXPECT_FALSE(host->is_ip);
}

TEST(HostNameTest, TrailingDotIsDropped) {
  auto host = parseCertHost("example.com.");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->name, "example.com");
}

TEST(HostNameTest, SingleLabelAndHyphens) {
  EXPECT_TRUE(parseCertHost("localhost").ok());
  EXPECT_TRUE(parseCertHost("my-host.internal").ok());
  EXPECT_TRUE(parseCertHost("xn--bcher-kva.example").ok());
}

TEST(HostNameTest, Ipv4) {
  auto host = parseCertHost("192.0.2.1");
  ASSERT_TRUE(host.ok());
  EXPECT_TRUE(host->is_ip);
  EXPECT_EQ(host->name, "192.0.2.1");
  EXPECT_EQ(host->ip, std::string("\xc0\x00\x02\x01", 4));
}

TEST(HostNameTest, Ipv6IsCanonical) {
  auto host = parseCertHost("2001:DB8:0:0::1");
  ASSERT_TRUE(host.ok());
  EXPECT_TRUE(host->is_ip);
  EXPECT_EQ(host->name, "2001:db8::1");
  EXPECT_EQ(host->ip.size(), 16u);
  auto bracketed = parseCertHost("[::1]");
  ASSERT_TRUE(bracketed.ok());
  EXPECT_EQ(bracketed->name, "::1");
}

TEST(HostNameTest, LengthLimits) {
  std::string label63(63, 'a');
  EXPECT_TRUE(parseCertHost(label63 + ".com").ok());
  EXPECT_FALSE(parseCertHost(std::string(64, 'a') + ".com").ok());
  std::string name253;
  while (name253.size() < 253) name253 += name253.empty() ? "a" : ".a";
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_TRUE(parseCertHost(name253).ok());
  EXPECT_FALSE(parseCertHost(name253 + "a").ok());
}

TEST(HostNameTest, RejectsWhatIsNeitherNameNorAddress) {
  for (const char* bad :
       {"", ".", "a..b", ".example.com", "exa mple.com", "a_b.example", "*.example.com", "-a.example", "a-.example",
        "example.com:443", "1.2.3", "256.1.1.1", "fe80::1%eth0", "caf\xc3\xa9.example", "a/b", "[::1"}) {
    auto host = parseCertHost(bad);
    EXPECT_FALSE(host.ok()) << "'" << bad << "' was accepted as " << host->name;
  }
}

TEST(HostNameTest, ErrorNamesTheHost) {
  auto host = parseCertHost("bad host");
  ASSERT_FALSE(host.ok());
  EXPECT_NE(std::string(host.status().message()).find("'bad host'"), std::string::npos);
}

}  // namespace
}  // namespace interpose::tls
