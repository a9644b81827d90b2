#include "source/http/request_target.h"

#include <gtest/gtest.h>

namespace interpose::http {
namespace {

TEST(RequestTargetTest, AbsoluteFormIgnoresHost) {
  auto t = parseRequestTarget("GET", "http://Example.com:8080/a/b?x=%20y&z=;w", "other.example");
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.scheme, "http");
  EXPECT_EQ(t.authority, "Example.com:8080");
  EXPECT_EQ(t.path, "/a/b?x=%20y&z=;w");  // byte for byte
}

TEST(RequestTargetTest, AbsoluteFormWithoutPath) {
  EXPECT_EQ(parseRequestTarget("GET", "http://a.example", "").path, "/");
  EXPECT_EQ(parseRequestTarget("GET", "http://a.example?q=1", "").path, "/?q=1");
  EXPECT_EQ(parseRequestTarget("GET", "HTTPS://a.example/x#frag", "").scheme, "https");
  EXPECT_EQ(parseRequestTarget("GET", "http://a.example/x#frag", "").path, "/x");
}

TEST(RequestTargetTest, OriginFormUsesHost) {
  auto t = parseRequestTarget("POST", "/upload?id=3", "api.example");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.authority, "api.example");
  EXPECT_EQ(t.path, "/upload?id=3");
}

TEST(RequestTargetTest, ConnectTakesAuthorityForm) {
  auto t = parseRequestTarget("CONNECT", "example.com:443", "");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.authority, "example.com:443");
  EXPECT_FALSE(parseRequestTarget("CONNECT", "example.com", "").ok());
  EXPECT_FALSE(parseRequestTarget("CONNECT", "/path", "").ok());
}

TEST(RequestTargetTest, RejectsBadTargets) {
  EXPECT_FALSE(parseRequestTarget("GET", "ftp://a.example/", "").ok());
  EXPECT_FALSE(parseRequestTarget("GET", "http://user@evil.example/", "").ok());
  EXPECT_FALSE(parseRequestTarget("GET", "http:///nohost", "").ok());
  EXPECT_FALSE(parseRequestTarget("GET", "relative/path", "").ok());
  EXPECT_FALSE(parseRequestTarget("GET", "/", "bad host").ok());
}

TEST(SplitAuthorityTest, HostsPortsAndIpv6) {
  EXPECT_EQ(splitAuthority("Example.com", 80), std::make_pair(std::string("example.com"), uint16_t{80}));
  EXPECT_EQ(splitAuthority("a:8080", 80)->second, 8080);
  auto v6 = splitAuthority("[::1]:9000", 80);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(v6->second, 9000);
  EXPECT_EQ(splitAuthority("[::1]", 443)->second, 443);
  EXPECT_FALSE(splitAuthority("::1", 80));
  EXPECT_FALSE(splitAuthority("a:0", 80));
  EXPECT_FALSE(splitAuthority("a:70000", 80));
  EXPECT_FALSE(splitAuthority("a:", 80));
  EXPECT_FALSE(splitAuthority(":80", 80));
}

}  // namespace
}  // namespace interpose::http
