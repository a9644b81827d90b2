#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/interpose/config_node.h"
#include "api/interpose/stream_info.h"
#include "source/formatter/command.h"

namespace interpose::formatter {

// A format string with Envoy-style %COMMANDS%, compiled once at config time into literal
// text and commands, then rendered per stream without parsing. The renderings differ only
// in how values are escaped and how unknown values show: access logs want text or JSON,
// header values want the bytes as they are.
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

  // Appends the raw rendering: values unescaped, nothing for an unknown value. For header
  // values, where the caller must check the result (a request header can carry bytes that
  // must not reach the wire in another place) instead of escaping it.
  void appendRaw(const StreamInfo& info, std::string& out) const;

  // True when the string has no commands: its rendering is always literalText().
  bool isLiteral() const;
  // The text with '%%' unescaped; for a literal string, its value.
  const std::string& literalText() const { return literal_text_; }

 private:
  struct Part {
    std::string literal;       // for literal text: the text as configured
    std::string json_literal;  // ... and escaped for a JSON string
    std::optional<Command> command;
  };

  std::vector<Part> parts_;
  std::string literal_text_;  // every literal part, concatenated
};

}  // namespace interpose::formatter
