// What tls_intercept learned (hosts whose clients refused our certificate): listed with why and
// until when, and forgotten by host, by host and port, or all at once.

#include "source/network/rejection_memory.h"

#include <gtest/gtest.h>

#include <thread>

namespace interpose::network {
namespace {

using namespace std::chrono_literals;

TEST(RejectionMemoryTest, EntriesSayWhatWasLearnedAndWhy) {
  RejectionMemory memory;
  EXPECT_TRUE(memory.entries().empty());
  const auto before = std::chrono::system_clock::now();
  memory.remember("Pinned.Example", 443, 1h, "unknown CA");
  memory.remember("a.example", 8443, 30min, "bad certificate");
  auto entries = memory.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].host, "a.example");  // sorted by host
  EXPECT_EQ(entries[0].port, 8443);
  EXPECT_EQ(entries[0].reason, "bad certificate");
  EXPECT_EQ(entries[1].host, "pinned.example");  // lower-cased
  EXPECT_EQ(entries[1].port, 443);
  EXPECT_EQ(entries[1].reason, "unknown CA");
  EXPECT_GE(entries[1].learned_at, before);
  EXPECT_LE(entries[1].learned_at, std::chrono::system_clock::now());
  const auto left = entries[1].until - std::chrono::steady_clock::now();
  EXPECT_GT(left, 59min);
  EXPECT_LE(left, 1h);
}

TEST(RejectionMemoryTest, RememberingAgainRenewsAndKeepsTheLatestReason) {
  RejectionMemory memory;
  memory.remember("h.example", 443, 1min, "unknown CA");
  memory.remember("H.EXAMPLE", 443, 1h, "certificate unknown");
  auto entries = memory.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].reason, "certificate unknown");
  EXPECT_GT(entries[0].until - std::chrono::steady_clock::now(), 59min);
}

TEST(RejectionMemoryTest, ExpiredEntriesAreNotListed) {
  RejectionMemory memory;
  memory.remember("gone.example", 443, 1ms, "unknown CA");
  memory.remember("kept.example", 443, 1h, "unknown CA");
  std::this_thread::sleep_for(5ms);
  auto entries = memory.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].host, "kept.example");
  // Forgetting an expired entry removes nothing that was in force.
  EXPECT_EQ(memory.forget("gone.example", std::nullopt), 0u);
}

TEST(RejectionMemoryTest, ForgetOneHostOnEveryPortOrOnOne) {
  RejectionMemory memory;
  memory.remember("h.example", 443, 1h, "unknown CA");
  memory.remember("h.example", 8443, 1h, "unknown CA");
  memory.remember("other.example", 443, 1h, "unknown CA");

  EXPECT_EQ(memory.forget("h.example", uint16_t{8443}), 1u);
  EXPECT_FALSE(memory.contains("h.example", 8443));
  EXPECT_TRUE(memory.contains("h.example", 443));

  memory.remember("h.example", 8443, 1h, "unknown CA");
  std::vector<RejectionMemory::Entry> removed;
  EXPECT_EQ(memory.forget("H.Example", std::nullopt, &removed), 2u);  // case-insensitive
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_FALSE(memory.contains("h.example", 443));
  EXPECT_FALSE(memory.contains("h.example", 8443));
  EXPECT_TRUE(memory.contains("other.example", 443));

  EXPECT_EQ(memory.forget("h.example", std::nullopt), 0u);      // nothing left to match
  EXPECT_EQ(memory.forget("other.example", uint16_t{80}), 0u);  // another port
  EXPECT_TRUE(memory.contains("other.example", 443));
}

TEST(RejectionMemoryTest, ClearForgetsEverything) {
  RejectionMemory memory;
  memory.remember("a.example", 443, 1h, "unknown CA");
  memory.remember("b.example", 443, 1h, "unknown CA");
  std::vector<RejectionMemory::Entry> removed;
  EXPECT_EQ(memory.clear(&removed), 2u);
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_TRUE(memory.entries().empty());
  EXPECT_FALSE(memory.contains("a.example", 443));
  EXPECT_EQ(memory.clear(), 0u);
}

// A context whose shared state is a store like a loaded config's (ServerConfig::shared_state).
class StoreContext : public FactoryContext {
 public:
  explicit StoreContext(RejectionMemory::StateStore& store) : store_(store) {}
  std::shared_ptr<CertProvider> certProvider(std::string_view) const override { return nullptr; }

 protected:
  std::shared_ptr<void>& sharedStateStorage(const std::string& key) override { return store_[key]; }

 private:
  RejectionMemory::StateStore& store_;
};

TEST(RejectionMemoryTest, FoundInAConfigsStateStore) {
  RejectionMemory::StateStore store;
  EXPECT_EQ(RejectionMemory::in(store), nullptr);
  StoreContext context(store);
  auto made = RejectionMemory::shared(context);  // as tls_intercept and the chain matcher do
  ASSERT_NE(made, nullptr);
  EXPECT_EQ(RejectionMemory::in(store), made);
}

}  // namespace
}  // namespace interpose::network
