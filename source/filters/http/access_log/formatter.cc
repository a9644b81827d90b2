#include "source/filters/http/access_log/formatter.h"

#include "api/interpose/strings.h"
#include "source/filters/http/access_log/escape.h"

namespace interpose::access_log {
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

const std::vector<std::pair<std::string, std::string>>& defaultJsonFormat() {
  static const auto* fields = new std::vector<std::pair<std::string, std::string>>{
      {"start_time", "%START_TIME%"},
      {"method", "%REQ(:METHOD)%"},
      {"path", "%REQ(:PATH)%"},
      {"protocol", "%PROTOCOL%"},
      {"response_code", "%RESPONSE_CODE%"},
      {"response_flags", "%RESPONSE_FLAGS%"},
      {"bytes_received", "%BYTES_RECEIVED%"},
      {"bytes_sent", "%BYTES_SENT%"},
      {"duration_ms", "%DURATION%"},
      {"upstream_host", "%UPSTREAM_HOST%"},
      {"authority", "%REQ(:AUTHORITY)%"},
      {"user_agent", "%REQ(USER-AGENT)%"},
      {"x_forwarded_for", "%REQ(X-FORWARDED-FOR)%"},
      {"downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%"},
      {"error", "%ERROR%"},
  };
  return *fields;
}

FormatString FormatString::compile(std::string_view format, const ConfigNode& where) {
  FormatString result;
  std::string literal;
  const auto flushLiteral = [&] {
    if (literal.empty()) return;
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

TextFormatter::TextFormatter(std::string_view format, const ConfigNode& where)
    : format_(FormatString::compile(format.ends_with('\n') ? std::string(format) : str::cat(format, "\n"), where)) {}

void TextFormatter::format(const StreamInfo& info, std::string& out) const { format_.appendText(info, out); }

JsonFormatter::JsonFormatter(std::vector<Field> fields) : fields_(std::move(fields)) {
  for (size_t i = 0; i < fields_.size(); ++i) {
    std::string prefix(i == 0 ? "{\"" : ",\"");
    appendJsonEscaped(prefix, fields_[i].key);
    prefix.append("\":");
    key_prefixes_.push_back(std::move(prefix));
  }
}

void JsonFormatter::format(const StreamInfo& info, std::string& out) const {
  if (fields_.empty()) out.push_back('{');
  for (size_t i = 0; i < fields_.size(); ++i) {
    out.append(key_prefixes_[i]);
    fields_[i].value.appendJson(info, out);
  }
  out.append("}\n");
}

}  // namespace interpose::access_log
