#include "source/formatter/format_string.h"

#include "api/interpose/strings.h"
#include "source/formatter/escape.h"

namespace interpose::formatter {
namespace {

bool isCommandNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Command values are rendered into a scratch string before escaping; one per thread keeps
// its capacity across lines, so formatting allocates nothing in the steady state.
std::string& scratch() {
  thread_local std::string buffer;
  buffer.clear();
  return buffer;
}

}  // namespace

FormatString FormatString::compile(std::string_view format, const ConfigNode& where) {
  FormatString result;
  std::string literal;
  const auto flushLiteral = [&] {
    if (literal.empty()) return;
    result.literal_text_.append(literal);
    Part part{std::move(literal), {}, std::nullopt};
    appendJsonEscaped(part.json_literal, part.literal);
    result.parts_.push_back(std::move(part));
    literal.clear();
  };

  size_t i = 0;
  while (i < format.size()) {
    const size_t percent = format.find('%', i);
    if (percent == std::string_view::npos) {
      literal.append(format.substr(i));
      break;
    }
    literal.append(format.substr(i, percent - i));
    if (percent + 1 < format.size() && format[percent + 1] == '%') {
      literal.push_back('%');
      i = percent + 2;
      continue;
    }
    // A command: NAME, then an optional (ARG) that may itself hold '%' (START_TIME's
    // strftime format) but not ')', then anything up to the closing '%'.
    size_t end = percent + 1;
    while (end < format.size() && isCommandNameChar(format[end])) ++end;
    if (end == percent + 1) {
      where.fail(
          str::cat("unbalanced '%' at offset ", percent, " of the format string; write %% for a literal percent sign"));
    }
    if (end < format.size() && format[end] == '(') {
      const size_t close = format.find(')', end);
      if (close == std::string_view::npos) {
        where.fail(
            str::cat("missing ')' in '", format.substr(percent), "' at offset ", percent, " of the format string"));
      }
      end = close;
    }
    end = format.find('%', end);
    if (end == std::string_view::npos) {
      where.fail(str::cat("unterminated command '", format.substr(percent), "' at offset ", percent,
                          " of the format string: missing closing '%'"));
    }
    std::string error;
    std::optional<Command> command = Command::parse(format.substr(percent + 1, end - percent - 1), error);
    if (!command) where.fail(str::cat(error, " at offset ", percent, " of the format string"));
    flushLiteral();
    result.parts_.push_back(Part{{}, {}, std::move(command)});
    i = end + 1;
  }
  flushLiteral();
  return result;
}

bool FormatString::isLiteral() const {
  for (const Part& part : parts_) {
    if (part.command) return false;
  }
  return true;
}

void FormatString::appendText(const StreamInfo& info, std::string& out) const {
  for (const Part& part : parts_) {
    if (!part.command) {
      out.append(part.literal);  // from the config, trusted
      continue;
    }
    std::string& value = scratch();
    if (part.command->evaluate(info, value)) {
      appendTextEscaped(out, value);
    } else {
      out.push_back('-');
    }
  }
}

void FormatString::appendJson(const StreamInfo& info, std::string& out) const {
  if (parts_.size() == 1 && parts_[0].command) {
    const Command& command = *parts_[0].command;
    std::string& value = scratch();
    if (!command.evaluate(info, value)) {
      out.append("null");
    } else if (command.numeric()) {
      out.append(value);
    } else {
      out.push_back('"');
      appendJsonEscaped(out, value);
      out.push_back('"');
    }
    return;
  }
  out.push_back('"');
  for (const Part& part : parts_) {
    if (!part.command) {
      out.append(part.json_literal);
      continue;
    }
    std::string& value = scratch();
    if (part.command->evaluate(info, value)) {
      appendJsonEscaped(out, value);
    } else {
      out.push_back('-');
    }
  }
  out.push_back('"');
}

void FormatString::appendRaw(const StreamInfo& info, std::string& out) const {
  for (const Part& part : parts_) {
    if (part.command) {
      // evaluate() appends nothing when the value is unknown.
      part.command->evaluate(info, out);
    } else {
      out.append(part.literal);
    }
  }
}

}  // namespace interpose::formatter
