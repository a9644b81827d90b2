#pragma once

#include <chrono>
#include <string>

namespace interpose::admin {

// RFC 3339 in UTC with seconds ("2026-01-31T12:00:00Z"): how admin JSON shows a moment.
std::string rfc3339(std::chrono::system_clock::time_point time);
std::string rfc3339(int64_t unix_seconds);

}  // namespace interpose::admin
