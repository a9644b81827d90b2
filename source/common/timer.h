#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace interpose {

// A restartable one-shot timer whose callback never runs after disable() or destruction.
// (A bare steady_timer may still run a handler that was queued just before cancel(), with
// a success code; the generation check here rules that out.)
//
// Timers that are pushed back or stopped on every request (idle and header timeouts) are
// cheap: enable() and disable() only record the deadline while an underlying wait is still
// pending at or before it. When that wait fires early it re-arms for what is left, so the
// reactor sees one wait per timeout period instead of a cancel and a new wait per request.
class Timer {
 public:
  using Clock = std::chrono::steady_clock;

  Timer(boost::asio::io_context& io, std::function<void()> callback)
      : state_(std::make_shared<State>(io, std::move(callback))) {}
  ~Timer() {
    if (state_->waiting) state_->timer.cancel();
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void enable(std::chrono::milliseconds after) {
    State& s = *state_;
    s.deadline = Clock::now() + after;
    s.armed = true;
    if (!s.waiting || s.wait_until > s.deadline) wait(state_);
  }
  void disable() { state_->armed = false; }
  bool enabled() const { return state_->armed; }

 private:
  struct State {
    State(boost::asio::io_context& io, std::function<void()> cb) : timer(io), callback(std::move(cb)) {}
    boost::asio::steady_timer timer;
    std::function<void()> callback;
    Clock::time_point deadline;    // when the callback is due, while armed
    Clock::time_point wait_until;  // when the pending wait ends, while waiting
    uint64_t generation = 0;
    bool armed = false;
    bool waiting = false;
  };

  // Starts (or moves earlier) the underlying wait, to end at the deadline.
  static void wait(const std::shared_ptr<State>& state) {
    State& s = *state;
    uint64_t generation = ++s.generation;  // a replaced wait's handler is ignored
    s.waiting = true;
    s.wait_until = s.deadline;
    s.timer.expires_at(s.deadline);
    s.timer.async_wait([weak = std::weak_ptr<State>(state), generation](boost::system::error_code ec) {
      auto s = weak.lock();
      if (!s || s->generation != generation) return;
      s->waiting = false;
      if (ec || !s->armed) return;
      if (Clock::now() < s->deadline) {
        wait(s);  // pushed back since this wait began
        return;
      }
      s->armed = false;
      s->callback();
    });
  }

  std::shared_ptr<State> state_;
};

}  // namespace interpose
