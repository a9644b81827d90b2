#include "api/interpose/factory_context.h"

#include <gtest/gtest.h>

#include <string>

#include "test/http/fake_filter_callbacks.h"

namespace interpose {
namespace {

using TestWorker = testing::FakeWorker;

// Slots of different types never share storage (they once did: one counter per type).
TEST(WorkerSlotTest, EverySlotIsItsOwnWhateverItsType) {
  WorkerSlot<int> a;
  WorkerSlot<std::string> b;
  WorkerSlot<int> c;
  TestWorker worker;
  a.get(worker, [] { return std::make_shared<int>(1); });
  b.get(worker, [] { return std::make_shared<std::string>("b"); });
  c.get(worker, [] { return std::make_shared<int>(3); });
  EXPECT_EQ(a.get(worker, [] { return std::make_shared<int>(-1); }), 1);  // made once
  EXPECT_EQ(b.get(worker, [] { return std::make_shared<std::string>("x"); }), "b");
  EXPECT_EQ(c.get(worker, [] { return std::make_shared<int>(-1); }), 3);
}

TEST(WorkerSlotTest, EachWorkerHasItsOwn) {
  WorkerSlot<int> slot;
  TestWorker one, two;
  slot.get(one, [] { return std::make_shared<int>(1); });
  slot.get(two, [] { return std::make_shared<int>(2); });
  EXPECT_EQ(slot.get(one, [] { return nullptr; }), 1);
  EXPECT_EQ(slot.get(two, [] { return nullptr; }), 2);
}

TEST(FactoryContextTest, SharedStateIsOnePerKey) {
  StandaloneFactoryContext context;
  auto a = context.sharedState<int>("k", [] { return std::make_shared<int>(7); });
  auto b = context.sharedState<int>("k", [] { return std::make_shared<int>(8); });
  auto c = context.sharedState<int>("other", [] { return std::make_shared<int>(9); });
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(*c, 9);
  EXPECT_EQ(context.certProvider("any"), nullptr);
}

}  // namespace
}  // namespace interpose
