#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/interpose/config_node.h"
#include "api/interpose/stream_info.h"
#include "source/formatter/format_string.h"

namespace interpose::access_log {

// The format strings themselves live in //source/formatter; this file turns them into
// whole log lines.
using formatter::FormatString;

// Envoy's default access log format, less the Envoy-specific fields, plus why a stream
// failed (so a 502 says why: "upstream connect error: connection refused (...)") and, for a
// CONNECT, which chain took its tunnel: "intercepted:CHAIN" or "passthrough:CHAIN(WHY)".
inline constexpr std::string_view kDefaultTextFormat =
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% "
    "%BYTES_RECEIVED% %BYTES_SENT% %DURATION% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
    "\"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" \"%RESPONSE_CODE_DETAILS%\" %TUNNEL%\n";

// The fields of `format: json` when no json_format is given, in output order.
const std::vector<std::pair<std::string, std::string>>& defaultJsonFormat();

// Renders a stream as one log line.
class Formatter {
 public:
  virtual ~Formatter() = default;
  // Appends one complete line, ending in '\n', to `out`.
  virtual void format(const StreamInfo& info, std::string& out) const = 0;
};

class TextFormatter : public Formatter {
 public:
  // A line always ends in exactly one '\n'; the format gets one appended when it has none,
  // so a one-line format written without "\n" does not run every entry together.
  TextFormatter(std::string_view format, const ConfigNode& where);
  void format(const StreamInfo& info, std::string& out) const override;

 private:
  FormatString format_;
};

class JsonFormatter : public Formatter {
 public:
  struct Field {
    std::string key;
    FormatString value;
  };
  explicit JsonFormatter(std::vector<Field> fields);
  void format(const StreamInfo& info, std::string& out) const override;

 private:
  std::vector<Field> fields_;
  std::vector<std::string> key_prefixes_;  // `{"key":` / `,"key":`, escaped once
};

}  // namespace interpose::access_log
