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
class Timer {
 public:
  Timer(boost::asio::io_context& io, std::function<void()> callback)
      : state_(std::make_shared<State>(io, std::move(callback))) {}
  ~Timer() { disable(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void enable(std::chrono::milliseconds after) {
    State& s = *state_;
    uint64_t generation = ++s.generation;
    s.armed = true;
    s.timer.expires_after(after);
    s.timer.async_wait([weak = std::weak_ptr<State>(state_), generation](boost::system::error_code ec) {
      auto s = weak.lock();
      if (!s || ec || s->generation != generation || !s->armed) return;
      s->armed = false;
      s->callback();
    });
  }
  void disable() {
    if (!state_->armed) return;
    state_->armed = false;
    ++state_->generation;
    state_->timer.cancel();
  }
  bool enabled() const { return state_->armed; }

 private:
  struct State {
    State(boost::asio::io_context& io, std::function<void()> cb) : timer(io), callback(std::move(cb)) {}
    boost::asio::steady_timer timer;
    std::function<void()> callback;
    uint64_t generation = 0;
    bool armed = false;
  };
  std::shared_ptr<State> state_;
};

}  // namespace interpose
