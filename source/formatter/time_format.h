#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace interpose::formatter {

// The format of %START_TIME(...)%, always rendered in UTC. An empty format means RFC 3339
// with milliseconds (2026-11-29T04:31:55.123Z). Otherwise it is a strftime format with
// Envoy's extensions, which strftime lacks: %1f..%9f (that many digits of the fractional
// second), %f (nine digits) and %s (seconds since the epoch; glibc's %s would read the UTC
// broken-down time as local time). The format is split at config time so rendering a line
// does no parsing.
class TimeFormat {
 public:
  explicit TimeFormat(std::string_view format = {});

  void append(std::chrono::system_clock::time_point time, std::string& out) const;

 private:
  struct Segment {
    enum class Kind { kStrftime, kFraction, kEpochSeconds };
    Kind kind;
    std::string text;  // kStrftime: the strftime format of this piece
    int digits = 0;    // kFraction: how many digits
  };

  static void appendRfc3339(std::chrono::system_clock::time_point time, std::string& out);

  std::vector<Segment> segments_;  // empty: RFC 3339
};

}  // namespace interpose::formatter
