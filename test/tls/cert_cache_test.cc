// Cache behaviour: hits, LRU eviction, expiry, and single-flight minting under concurrency.

#include "source/tls/cert_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "source/tls/ca_generator.h"
#include "source/tls/ca_provider.h"
#include "test/tls/test_util.h"

namespace interpose::tls {
namespace {

using std::chrono::system_clock;
using Cert = std::shared_ptr<const ServerCertificate>;

// A clock the test moves by hand.
class FakeClock {
 public:
  system_clock::time_point now() const { return system_clock::time_point(system_clock::duration(ticks_.load())); }
  void advance(system_clock::duration d) { ticks_ += d.count(); }
  Clock asClock() {
    return [this] { return now(); };
  }

 private:
  std::atomic<system_clock::rep> ticks_{system_clock::now().time_since_epoch().count()};
};

std::shared_ptr<const CertificateAuthority> authority() {
  static auto* ca = [] {
    auto generated = generateCa(testing::nowUnix());
    auto made = CertificateAuthority::create(std::move(generated->cert), std::move(generated->key), "ca.pem", "ca.key",
                                             testing::nowUnix());
    return new std::shared_ptr<const CertificateAuthority>(*made);
  }();
  return *ca;
}

std::shared_ptr<CaProvider> makeProvider(CaProviderOptions options = {}) {
  auto provider = CaProvider::create("test", authority(), std::move(options));
  EXPECT_TRUE(provider.ok()) << provider.status();
  return *provider;
}

TEST(CertCacheTest, HitReturnsTheSameCertificate) {
  auto provider = makeProvider();
  auto first = provider->certificateFor("example.com");
  auto second = provider->certificateFor("example.com");
  auto upper = provider->certificateFor("EXAMPLE.com.");
  ASSERT_TRUE(first.ok() && second.ok() && upper.ok());
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ(first->get(), upper->get());
  EXPECT_EQ(provider->mintedCount(), 1u);
  EXPECT_EQ(provider->cacheSize(), 1u);
}

TEST(CertCacheTest, EvictsLeastRecentlyUsedAtCapacity) {
  CaProviderOptions options;
  options.cache_capacity = 3;
  auto provider = makeProvider(options);
  Cert a = *provider->certificateFor("a.test");
  Cert b = *provider->certificateFor("b.test");
  Cert c = *provider->certificateFor("c.test");
  EXPECT_EQ(provider->certificateFor("a.test")->get(), a.get());  // a is now the most recent
  Cert d = *provider->certificateFor("d.test");                   // evicts b
  EXPECT_EQ(provider->cacheSize(), 3u);
  EXPECT_EQ(provider->mintedCount(), 4u);
  EXPECT_EQ(provider->certificateFor("a.test")->get(), a.get());
  EXPECT_EQ(provider->certificateFor("c.test")->get(), c.get());
  EXPECT_EQ(provider->certificateFor("d.test")->get(), d.get());
  EXPECT_EQ(provider->mintedCount(), 4u);
  EXPECT_NE(provider->certificateFor("b.test")->get(), b.get());  // minted again
  EXPECT_EQ(provider->mintedCount(), 5u);
  EXPECT_EQ(provider->cacheSize(), 3u);
}

TEST(CertCacheTest, LargeCacheIsShardedButHoldsEverything) {
  auto provider = makeProvider();  // capacity 10000
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(provider->certificateFor("h" + std::to_string(i) + ".test").ok());
  EXPECT_EQ(provider->cacheSize(), 200u);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(provider->certificateFor("h" + std::to_string(i) + ".test").ok());
  EXPECT_EQ(provider->mintedCount(), 200u);
}

TEST(CertCacheTest, EntriesExpireAfterTtl) {
  FakeClock clock;
  CaProviderOptions options;
  options.cache_ttl = std::chrono::hours(1);
  options.clock = clock.asClock();
  auto provider = makeProvider(options);
  Cert first = *provider->certificateFor("ttl.test");
  clock.advance(std::chrono::minutes(59));
  EXPECT_EQ(provider->certificateFor("ttl.test")->get(), first.get());
  clock.advance(std::chrono::minutes(2));
  EXPECT_NE(provider->certificateFor("ttl.test")->get(), first.get());
  EXPECT_EQ(provider->mintedCount(), 2u);
  EXPECT_EQ(provider->cacheSize(), 1u);
}

TEST(CertCacheTest, NeverServedPastTheLeafNotAfter) {
  FakeClock clock;
  CaProviderOptions options;
  options.cache_ttl = std::chrono::hours(24);
  options.leaf_validity = std::chrono::hours(2);
  options.clock = clock.asClock();
  auto provider = makeProvider(options);
  Cert first = *provider->certificateFor("short.test");
  clock.advance(std::chrono::hours(1));
  EXPECT_EQ(provider->certificateFor("short.test")->get(), first.get());
  clock.advance(std::chrono::hours(2));
  EXPECT_NE(provider->certificateFor("short.test")->get(), first.get());
}

TEST(CertCacheTest, ConcurrentCallsForOneHostMintOnce) {
  auto provider = makeProvider();
  constexpr int kThreads = 32;
  std::vector<Cert> results(kThreads);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto cert = provider->certificateFor("single-flight.test");
      if (cert.ok()) results[i] = *cert;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(provider->mintedCount(), 1u);
  for (const Cert& cert : results) {
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(cert.get(), results[0].get());
  }

  // 50 hosts, each asked for by 4 threads at once: 50 mints.
  constexpr int kHosts = 50;
  constexpr int kPerHost = 4;
  std::vector<Cert> many(kHosts * kPerHost);
  std::barrier start_many(kHosts * kPerHost);
  threads.clear();
  for (int i = 0; i < kHosts * kPerHost; ++i) {
    threads.emplace_back([&, i] {
      start_many.arrive_and_wait();
      auto cert = provider->certificateFor("host" + std::to_string(i % kHosts) + ".test");
      if (cert.ok()) many[i] = *cert;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(provider->mintedCount(), 1u + kHosts);
  for (int i = 0; i < kHosts * kPerHost; ++i) {
    ASSERT_NE(many[i], nullptr);
    EXPECT_EQ(many[i].get(), many[i % kHosts].get()) << i;
  }
}

CacheValue valueFor(Cert cert) { return CacheValue{std::move(cert), system_clock::now() + std::chrono::hours(1)}; }

Cert dummyCertificate() { return std::make_shared<const ServerCertificate>(std::vector<CRYPTO_BUFFER*>{}, nullptr); }

TEST(CertCacheTest, FailedMintIsSharedWithWaitersButNotCached) {
  CertCache cache(100, [] { return system_clock::now(); });
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};
  auto failing = [&]() -> absl::StatusOr<CacheValue> {
    ++calls;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return absl::InternalError("boom");
  };
  constexpr int kThreads = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      if (!cache.getOrMint("fail.test", failing).ok()) ++failures;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let them all pile up on the first mint
  release = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), kThreads);
  EXPECT_LE(calls.load(), 2);  // a straggler that arrived after the failure may retry once
  EXPECT_EQ(cache.size(), 0u);

  Cert cert = dummyCertificate();
  auto ok = cache.getOrMint("fail.test", [&]() -> absl::StatusOr<CacheValue> { return valueFor(cert); });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->get(), cert.get());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(CertCacheTest, ThrowingMintDoesNotStrandWaiters) {
  CertCache cache(10, [] { return system_clock::now(); });
  auto result = cache.getOrMint("throw.test", []() -> absl::StatusOr<CacheValue> { throw std::runtime_error("x"); });
  EXPECT_FALSE(result.ok());
  Cert cert = dummyCertificate();
  EXPECT_TRUE(cache.getOrMint("throw.test", [&]() -> absl::StatusOr<CacheValue> { return valueFor(cert); }).ok());
}

// The event loops' path: a miss never runs the mint on the caller's thread; the mint runs
// through the executor and every waiter, blocking or not, gets its one result.
TEST(CertCacheTest, AsyncMissMintsElsewhereAndCallsBack) {
  CertCache cache(10, [] { return system_clock::now(); });
  Cert cert = dummyCertificate();
  std::vector<std::function<void()>> queued;  // the "mint thread", run by hand
  auto executor = [&](std::function<void()> job) { queued.push_back(std::move(job)); };
  std::atomic<int> mints{0};
  auto mint = [&]() -> absl::StatusOr<CacheValue> {
    ++mints;
    return valueFor(cert);
  };
  std::vector<CertCache::Result> results;
  auto done = [&](CertCache::Result r) { results.push_back(std::move(r)); };

  EXPECT_FALSE(cache.getOrMintAsync("a.test", mint, done, executor).has_value());
  EXPECT_FALSE(cache.getOrMintAsync("a.test", mint, done, executor).has_value());  // joins the first
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(mints.load(), 0);  // nothing minted on the caller's thread
  EXPECT_TRUE(results.empty());

  // A blocking caller meanwhile waits for the same mint.
  std::thread blocking([&] {
    auto r = cache.getOrMint("a.test", mint);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->get(), cert.get());
  });
  // Until it is queued behind the mint (two callbacks so far), running the mint would let it
  // find the cached result instead of waiting.
  for (int i = 0; i < 5000 && cache.waiting("a.test") < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(cache.waiting("a.test"), 3u);
  queued.front()();
  blocking.join();
  EXPECT_EQ(mints.load(), 1);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) EXPECT_EQ(r->get(), cert.get());

  auto hit = cache.getOrMintAsync("a.test", mint, done, executor);  // now cached: at once
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ((*hit)->get(), cert.get());
  EXPECT_EQ(queued.size(), 1u);
  EXPECT_EQ(results.size(), 2u);
}

TEST(CertCacheTest, AsyncFailureReachesEveryWaiterAndIsNotCached) {
  CertCache cache(10, [] { return system_clock::now(); });
  std::vector<std::function<void()>> queued;
  auto executor = [&](std::function<void()> job) { queued.push_back(std::move(job)); };
  int failures = 0;
  auto done = [&](CertCache::Result r) { failures += r.ok() ? 0 : 1; };
  auto failing = []() -> absl::StatusOr<CacheValue> { throw std::runtime_error("no"); };
  cache.getOrMintAsync("f.test", failing, done, executor);
  cache.getOrMintAsync("f.test", failing, done, executor);
  ASSERT_EQ(queued.size(), 1u);
  queued.front()();
  EXPECT_EQ(failures, 2);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.getOrMintAsync("f.test", failing, done, executor).has_value());  // tried anew
  EXPECT_EQ(queued.size(), 2u);
}

TEST(CertCacheTest, ProviderMintsAsyncOnItsOwnThread) {
  auto provider = makeProvider();
  std::promise<std::pair<Cert, std::thread::id>> minted;
  auto ready = provider->certificateForAsync("async.test", [&](CertProvider::Result r) {
    minted.set_value({r.ok() ? *r : nullptr, std::this_thread::get_id()});
  });
  ASSERT_FALSE(ready.has_value());
  auto future = minted.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto [cert, thread] = future.get();
  ASSERT_NE(cert, nullptr);
  EXPECT_NE(thread, std::this_thread::get_id());
  auto again = provider->certificateForAsync("ASYNC.test", [](CertProvider::Result) { FAIL() << "cached"; });
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((**again).get(), cert.get());
  EXPECT_FALSE(provider->certificateForAsync("bad host", [](CertProvider::Result) { FAIL(); })->ok());
}

}  // namespace
}  // namespace interpose::tls
