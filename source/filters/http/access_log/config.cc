#include "source/filters/http/access_log/config.h"

#include <set>

#include "api/interpose/strings.h"

namespace interpose::access_log {
namespace {

std::shared_ptr<const Formatter> parseJsonFormat(const ConfigNode& node) {
  const ConfigNode json_format = node.child("json_format");
  std::vector<JsonFormatter::Field> fields;
  if (!json_format.defined()) {
    for (const auto& [key, format] : defaultJsonFormat()) {
      fields.push_back({key, FormatString::compile(format, node)});
    }
    return std::make_shared<JsonFormatter>(std::move(fields));
  }
  if (!json_format.yaml().IsMap()) json_format.fail("expected a map of key: format string");
  if (json_format.yaml().size() == 0) json_format.fail("must name at least one key");
  std::set<std::string> seen;
  for (const auto& entry : json_format.yaml()) {
    const std::string key = entry.first.Scalar();
    const ConfigNode value(entry.second, str::cat(json_format.path(), ".", key),
                           std::make_shared<const std::string>(json_format.file()));
    if (!seen.insert(key).second) value.fail("duplicate key");
    // Nested objects are not supported: every value is one format string.
    if (!entry.second.IsScalar()) value.fail("expected a format string");
    fields.push_back({key, FormatString::compile(value.str(), value)});
  }
  return std::make_shared<JsonFormatter>(std::move(fields));
}

}  // namespace

AccessLogConfig parse(const ConfigNode& node) {
  node.expectMap({"path", "format", "text_format", "json_format"});
  AccessLogConfig config;

  config.path = node.str("path", "/dev/stdout");
  if (config.path.empty()) node.child("path").fail("must not be empty");

  const ConfigNode format = node.child("format");
  // json_format on its own says what it wants; only an explicit "format: text" contradicts it.
  const bool json = format.defined() ? format.oneOf({"text", "json"}) == "json" : node.has("json_format");
  if (json) {
    if (node.has("text_format")) node.child("text_format").fail("not allowed with format: json");
    config.formatter = parseJsonFormat(node);
  } else {
    if (node.has("json_format")) node.child("json_format").fail("not allowed with format: text");
    const ConfigNode text_format = node.child("text_format");
    if (text_format.defined()) {
      const std::string text = text_format.str();
      if (text.empty()) text_format.fail("must not be empty");
      config.formatter = std::make_shared<TextFormatter>(text, text_format);
    } else {
      config.formatter = std::make_shared<TextFormatter>(kDefaultTextFormat, node);
    }
  }
  return config;
}

}  // namespace interpose::access_log
