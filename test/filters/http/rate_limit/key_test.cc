#include "source/filters/http/rate_limit/key.h"

#include <gtest/gtest.h>

namespace interpose::rate_limit {
namespace {

KeyPart part(KeyPart::Kind kind, std::string header = {}) { return KeyPart{kind, std::move(header)}; }

HeaderMap request(std::string_view authority, std::vector<std::pair<std::string, std::string>> extra = {}) {
  HeaderMap h;
  h.add(":method", "GET");
  h.add(":scheme", "http");
  h.add(":authority", authority);
  h.add(":path", "/");
  for (const auto& [name, value] : extra) h.add(name, value);
  return h;
}

TEST(KeyTest, ClientIpStripsThePort) {
  EXPECT_EQ(clientIp("10.0.0.1:5555"), "10.0.0.1");
  EXPECT_EQ(clientIp("[::1]:8080"), "::1");
  EXPECT_EQ(clientIp("[2001:db8::7]:1"), "2001:db8::7");
  EXPECT_EQ(clientIp("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(clientIp("2001:db8::7"), "2001:db8::7");
  EXPECT_EQ(clientIp(""), "");
}

TEST(KeyTest, EachPartContributes) {
  std::vector<KeyPart> parts{part(KeyPart::Kind::ClientIp), part(KeyPart::Kind::Authority), part(KeyPart::Kind::Route),
                             part(KeyPart::Kind::Header, "x-api-key")};
  KeyContext ctx{"10.0.0.1:5555", "api/users"};
  std::string base = buildKey(parts, request("example.com", {{"x-api-key", "k1"}}), ctx);
  EXPECT_EQ(base,
            "8:10.0.0.1"
            "11:example.com"
            "9:api/users"
            "2:k1");
  EXPECT_NE(base, buildKey(parts, request("example.com", {{"x-api-key", "k2"}}), ctx));
  EXPECT_NE(base, buildKey(parts, request("example.org", {{"x-api-key", "k1"}}), ctx));
  EXPECT_NE(base, buildKey(parts, request("example.com", {{"x-api-key", "k1"}}), {"10.0.0.2:5555", "api/users"}));
  EXPECT_NE(base, buildKey(parts, request("example.com", {{"x-api-key", "k1"}}), {"10.0.0.1:5555", "api/other"}));
  // The client's port is not part of its identity.
  EXPECT_EQ(base, buildKey(parts, request("example.com", {{"x-api-key", "k1"}}), {"10.0.0.1:6000", "api/users"}));
}

TEST(KeyTest, AuthorityIsCaseInsensitive) {
  std::vector<KeyPart> parts{part(KeyPart::Kind::Authority)};
  EXPECT_EQ(buildKey(parts, request("Example.COM"), {}), buildKey(parts, request("example.com"), {}));
}

TEST(KeyTest, MissingPartsAreEmptyValues) {
  std::vector<KeyPart> parts{part(KeyPart::Kind::Header, "x-api-key"), part(KeyPart::Kind::Route)};
  std::string absent = buildKey(parts, request("a"), {"1.2.3.4:1", ""});
  EXPECT_EQ(absent, "0:0:");
  // Absent and empty headers share a bucket; so do all clients without the header.
  EXPECT_EQ(absent, buildKey(parts, request("a", {{"x-api-key", ""}}), {"1.2.3.4:1", ""}));
  EXPECT_EQ(absent, buildKey(parts, request("b"), {"5.6.7.8:1", ""}));
}

TEST(KeyTest, PartBoundariesCannotBeForged) {
  std::vector<KeyPart> parts{part(KeyPart::Kind::Header, "a"), part(KeyPart::Kind::Header, "b")};
  std::string one = buildKey(parts, request("h", {{"a", "x"}, {"b", "yz"}}), {});
  std::string two = buildKey(parts, request("h", {{"a", "xy"}, {"b", "z"}}), {});
  std::string three = buildKey(parts, request("h", {{"a", "x1:y"}, {"b", ""}}), {});
  EXPECT_NE(one, two);
  EXPECT_NE(one, three);
  EXPECT_NE(two, three);
}

TEST(KeyTest, RepeatedHeadersAreJoined) {
  std::vector<KeyPart> parts{part(KeyPart::Kind::Header, "x-k")};
  EXPECT_EQ(buildKey(parts, request("h", {{"x-k", "a"}, {"x-k", "b"}}), {}), "4:a, b");
}

TEST(KeyTest, EmptyKeyIsOneBucket) {
  EXPECT_EQ(buildKey({}, request("a"), {"1.1.1.1:1", "r"}), "");
  EXPECT_EQ(describeKey({}, request("a"), {}), "(one bucket for all requests)");
}

TEST(KeyTest, DescriptionEscapesAndTruncates) {
  std::vector<KeyPart> parts{part(KeyPart::Kind::ClientIp), part(KeyPart::Kind::Header, "x-api-key")};
  EXPECT_EQ(describeKey(parts, request("h", {{"x-api-key", "a\"b\\c\x01"}}), {"10.0.0.1:1", ""}),
            "client_ip=\"10.0.0.1\" header:x-api-key=\"a\\x22b\\x5cc\\x01\"");
  std::string long_value(200, 'k');
  std::string d = describeKey(parts, request("h", {{"x-api-key", long_value}}), {"10.0.0.1:1", ""});
  EXPECT_LT(d.size(), 120u);
  EXPECT_TRUE(d.ends_with("...\"")) << d;
}

}  // namespace
}  // namespace interpose::rate_limit
