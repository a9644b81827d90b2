#include "source/filters/http/access_log/formatter.h"

#include "api/interpose/strings.h"
#include "source/formatter/escape.h"

namespace interpose::access_log {

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
      {"tunnel", "%TUNNEL%"},
  };
  return *fields;
}

TextFormatter::TextFormatter(std::string_view format, const ConfigNode& where)
    : format_(FormatString::compile(format.ends_with('\n') ? std::string(format) : str::cat(format, "\n"), where)) {}

void TextFormatter::format(const StreamInfo& info, std::string& out) const { format_.appendText(info, out); }

JsonFormatter::JsonFormatter(std::vector<Field> fields) : fields_(std::move(fields)) {
  using formatter::appendJsonEscaped;
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
