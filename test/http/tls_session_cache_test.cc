#include "source/http/tls_session_cache.h"

#include <gtest/gtest.h>

#include <ctime>

namespace interpose::http {
namespace {

class TlsSessionCacheTest : public ::testing::Test {
 protected:
  // A resumable session (it carries a ticket) of the given TLS version, issued `age` seconds
  // ago with a lifetime of `lifetime` seconds.
  bssl::UniquePtr<SSL_SESSION> session(uint16_t version, uint64_t age = 0, uint32_t lifetime = 3600) {
    bssl::UniquePtr<SSL_SESSION> s(SSL_SESSION_new(ctx_.get()));
    SSL_SESSION_set_protocol_version(s.get(), version);
    const uint8_t ticket[] = {1, 2, 3, 4};
    SSL_SESSION_set_ticket(s.get(), ticket, sizeof(ticket));
    SSL_SESSION_set_time(s.get(), static_cast<uint64_t>(std::time(nullptr)) - age);
    SSL_SESSION_set_timeout(s.get(), lifetime);
    return s;
  }

  bssl::UniquePtr<SSL_CTX> ctx_{SSL_CTX_new(TLS_method())};
};

TEST_F(TlsSessionCacheTest, EmptyCacheOffersNothing) {
  TlsSessionCache cache(8);
  EXPECT_EQ(cache.take("a:443"), nullptr);
}

TEST_F(TlsSessionCacheTest, Tls13SessionsAreUsedOnceNewestFirst) {
  TlsSessionCache cache(8);
  auto older = session(TLS1_3_VERSION);
  auto newer = session(TLS1_3_VERSION);
  SSL_SESSION* older_ptr = older.get();
  SSL_SESSION* newer_ptr = newer.get();
  cache.add("a:443", std::move(older));
  cache.add("a:443", std::move(newer));
  EXPECT_EQ(cache.take("a:443").get(), newer_ptr);
  EXPECT_EQ(cache.take("a:443").get(), older_ptr);
  EXPECT_EQ(cache.origins(), 0u);  // an origin without sessions does not hold a place
  EXPECT_EQ(cache.take("a:443"), nullptr);
  EXPECT_EQ(cache.origins(), 0u);
}

TEST_F(TlsSessionCacheTest, Tls12SessionIsReusedAndReplaced) {
  TlsSessionCache cache(8);
  auto first = session(TLS1_2_VERSION);
  SSL_SESSION* first_ptr = first.get();
  cache.add("a:443", std::move(first));
  EXPECT_EQ(cache.take("a:443").get(), first_ptr);
  EXPECT_EQ(cache.take("a:443").get(), first_ptr);  // still there
  auto second = session(TLS1_2_VERSION);
  SSL_SESSION* second_ptr = second.get();
  cache.add("a:443", std::move(second));
  EXPECT_EQ(cache.sessions("a:443"), 1u);
  EXPECT_EQ(cache.take("a:443").get(), second_ptr);
}

TEST_F(TlsSessionCacheTest, KeepsAFewSessionsPerOrigin) {
  TlsSessionCache cache(8);
  SSL_SESSION* newest = nullptr;
  for (int i = 0; i < 6; ++i) {
    auto s = session(TLS1_3_VERSION);
    newest = s.get();
    cache.add("a:443", std::move(s));
  }
  EXPECT_EQ(cache.sessions("a:443"), TlsSessionCache::kSessionsPerOrigin);
  EXPECT_EQ(cache.take("a:443").get(), newest);
}

TEST_F(TlsSessionCacheTest, OriginsAreKeyedExactly) {
  TlsSessionCache cache(8);
  cache.add("a:443", session(TLS1_3_VERSION));
  EXPECT_EQ(cache.take("a:8443"), nullptr);
  EXPECT_EQ(cache.take("b:443"), nullptr);
  EXPECT_NE(cache.take("a:443"), nullptr);
}

TEST_F(TlsSessionCacheTest, LeastRecentlyUsedOriginIsDropped) {
  TlsSessionCache cache(2);
  cache.add("a:443", session(TLS1_2_VERSION));
  cache.add("b:443", session(TLS1_2_VERSION));
  ASSERT_NE(cache.take("a:443"), nullptr);  // a is now the most recently used
  cache.add("c:443", session(TLS1_2_VERSION));
  EXPECT_EQ(cache.origins(), 2u);
  EXPECT_EQ(cache.sessions("b:443"), 0u);
  EXPECT_EQ(cache.sessions("a:443"), 1u);
  EXPECT_EQ(cache.sessions("c:443"), 1u);
}

TEST_F(TlsSessionCacheTest, ExpiredSessionsAreNotOffered) {
  TlsSessionCache cache(8);
  cache.add("a:443", session(TLS1_3_VERSION, /*age=*/100, /*lifetime=*/10));
  EXPECT_EQ(cache.take("a:443"), nullptr);
  EXPECT_EQ(cache.origins(), 0u);
}

TEST_F(TlsSessionCacheTest, ForgetDropsAnOrigin) {
  TlsSessionCache cache(8);
  cache.add("a:443", session(TLS1_3_VERSION));
  cache.add("b:443", session(TLS1_3_VERSION));
  cache.forget("a:443");
  EXPECT_EQ(cache.take("a:443"), nullptr);
  EXPECT_NE(cache.take("b:443"), nullptr);
}

TEST_F(TlsSessionCacheTest, SessionsThatCannotResumeAreIgnored) {
  TlsSessionCache cache(8);
  bssl::UniquePtr<SSL_SESSION> blank(SSL_SESSION_new(ctx_.get()));  // no ticket, no ID
  cache.add("a:443", std::move(blank));
  EXPECT_EQ(cache.origins(), 0u);
}

}  // namespace
}  // namespace interpose::http
