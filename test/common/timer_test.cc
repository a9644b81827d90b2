#include "source/common/timer.h"

#include <gtest/gtest.h>

#include <chrono>

namespace interpose {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class TimerTest : public testing::Test {
 protected:
  // Runs the loop for `d` (the timer's pending waits keep it busy).
  void runFor(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }
  boost::asio::io_context io_;
  int fired_ = 0;
  Clock::time_point fired_at_;
  Timer timer_{io_, [this] {
                 ++fired_;
                 fired_at_ = Clock::now();
               }};
};

TEST_F(TimerTest, FiresOnceAfterTheDelay) {
  auto start = Clock::now();
  timer_.enable(30ms);
  EXPECT_TRUE(timer_.enabled());
  runFor(200ms);
  EXPECT_EQ(fired_, 1);
  EXPECT_GE(fired_at_ - start, 30ms);
  EXPECT_FALSE(timer_.enabled());
}

TEST_F(TimerTest, DisableStopsIt) {
  timer_.enable(20ms);
  timer_.disable();
  EXPECT_FALSE(timer_.enabled());
  runFor(100ms);
  EXPECT_EQ(fired_, 0);
}

TEST_F(TimerTest, PushingBackDelaysTheCallback) {
  auto start = Clock::now();
  timer_.enable(60ms);
  runFor(40ms);
  timer_.enable(60ms);  // now due at about 100 ms: the first wait ends at 60 and re-arms
  runFor(40ms);
  EXPECT_EQ(fired_, 0) << "fired at the first deadline although it was pushed back";
  runFor(200ms);
  EXPECT_EQ(fired_, 1);
  EXPECT_GE(fired_at_ - start, 100ms);
}

TEST_F(TimerTest, BringingForwardFiresEarly) {
  auto start = Clock::now();
  timer_.enable(10s);
  timer_.enable(20ms);
  runFor(300ms);
  EXPECT_EQ(fired_, 1);
  EXPECT_LT(fired_at_ - start, 1s);
}

TEST_F(TimerTest, ReEnabledAfterDisableFiresAtTheNewDeadline) {
  timer_.enable(30ms);
  timer_.disable();
  runFor(50ms);  // the old wait ends, disarmed (the loop then runs out of work)
  EXPECT_EQ(fired_, 0);
  auto start = Clock::now();
  timer_.enable(30ms);
  runFor(200ms);
  EXPECT_EQ(fired_, 1);
  EXPECT_GE(fired_at_ - start, 30ms);
}

TEST_F(TimerTest, CanFireAgainAfterFiring) {
  timer_.enable(10ms);
  runFor(100ms);
  timer_.enable(10ms);
  runFor(100ms);
  EXPECT_EQ(fired_, 2);
}

TEST(TimerLifetimeTest, DestroyedTimerNeverCallsBack) {
  boost::asio::io_context io;
  int fired = 0;
  {
    Timer timer(io, [&] { ++fired; });
    timer.enable(10ms);
  }
  io.run_for(100ms);
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(io.stopped()) << "a destroyed timer left a wait pending";
}

}  // namespace
}  // namespace interpose
