#pragma once

#include <atomic>
#include <string_view>

#include "api/interpose/strings.h"

namespace interpose::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

Level level();
void setLevel(Level level);
// Parses "debug", "info", "warn" or "error".
bool parseLevel(std::string_view name, Level& out);
// Writes one line to stderr with one write(2), so lines of different threads never mix.
void write(Level level, std::string_view message);

template <typename... Parts>
void debug(const Parts&... parts) {
  if (level() <= Level::Debug) write(Level::Debug, str::cat(parts...));
}
template <typename... Parts>
void info(const Parts&... parts) {
  if (level() <= Level::Info) write(Level::Info, str::cat(parts...));
}
template <typename... Parts>
void warn(const Parts&... parts) {
  if (level() <= Level::Warn) write(Level::Warn, str::cat(parts...));
}
template <typename... Parts>
void error(const Parts&... parts) {
  write(Level::Error, str::cat(parts...));
}

}  // namespace interpose::log
