#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/interpose/config_node.h"
#include "api/interpose/stream_info.h"
#include "source/filters/http/access_log/command.h"

namespace interpose::access_log {

// Envoy's default access log format, less the Envoy-specific fields.
inline constexpr std::string_view kDefaultTextFormat =
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% "
    "%BYTES_RECEIVED% %BYTES_SENT% %DURATION% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
    "\"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

// The fields of `format: json` when no json_format is given, in output order.
const std::vector<std::pair<std::string, std::string>>& defaultJsonFormat();

// A format string compiled once, at config time, into literal text and commands.
class FormatString {
 public:
  // Compiles `format`; an unknown command or a stray '%' fails through where.fail(), so the
  // error names the file, line, column and key path the string came from.
  static FormatString compile(std::string_view format, const ConfigNode& where);

  // Appends the text rendering: values escaped against log injection, "-" when unknown.
  void appendText(const StreamInfo& info, std::string& out) const;

  // Appends a JSON value. A string that is a single command renders as that command's value:
  // a number for numeric commands, null when unknown. Anything else is a JSON string built
  // like the text rendering.
  void appendJson(const StreamInfo& info, std::string& out) const;

 private:
  struct Part {
    std::string literal;       // for literal text: the text as configured
    std::string json_literal;  // ... and escaped for a JSON string
    std::optional<Command> command;
  };

  std::vector<Part> parts_;
};

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
