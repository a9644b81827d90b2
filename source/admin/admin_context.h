#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "source/config/server_config.h"

namespace interpose::admin {

// What the built-in endpoints know of the running server. Everything here is safe to use from
// the admin thread: the config is immutable once loaded, and the callbacks are the server's
// thread-safe ways in.
struct AdminContext {
  std::shared_ptr<const config::ServerConfig> config;
  uint32_t concurrency = 1;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // True once the server drains (SIGTERM, SIGINT or /quitquitquit).
  std::function<bool()> draining;
  // Starts the same drain as SIGTERM; returns at once (the server's main loop does the work).
  std::function<void()> drain;
};

}  // namespace interpose::admin
