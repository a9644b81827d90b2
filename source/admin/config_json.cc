#include "source/admin/config_json.h"

#include "api/interpose/strings.h"
#include "source/admin/json_writer.h"

namespace interpose::admin {
namespace {

constexpr std::string_view kRedacted = "[redacted]";

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?. YAML numbers outside
// it (+1, 0755, .5, 0x1f) stay strings rather than being reinterpreted.
bool isJsonNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !isDigit(s[i])) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < s.size() && isDigit(s[i])) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !isDigit(s[i])) return false;
    while (i < s.size() && isDigit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !isDigit(s[i])) return false;
    while (i < s.size() && isDigit(s[i])) ++i;
  }
  return i == s.size();
}

class Converter {
 public:
  Converter(JsonWriter& json, size_t max_bytes) : json_(json), limit_(json.size() + max_bytes) {}

  bool write(const YAML::Node& node) {
    if (json_.size() > limit_) return false;
    switch (node.Type()) {
      case YAML::NodeType::Map:
        json_.beginObject();
        for (const auto& kv : node) {
          // Keys in a config are scalars; a complex key is shown as the YAML it was.
          const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : YAML::Dump(kv.first);
          json_.key(key);
          if (isSecretKey(key)) {
            json_.value(kRedacted);
          } else if (!write(kv.second)) {
            return false;
          }
        }
        json_.endObject();
        return true;
      case YAML::NodeType::Sequence:
        json_.beginArray();
        for (const auto& item : node) {
          if (!write(item)) return false;
        }
        json_.endArray();
        return true;
      case YAML::NodeType::Scalar:
        scalar(node);
        return true;
      default:  // null, undefined
        json_.null();
        return true;
    }
  }

 private:
  void scalar(const YAML::Node& node) {
    const std::string& s = node.Scalar();
    // Only a plain scalar (yaml-cpp's tag "?") can be null, a bool or a number; a quoted one
    // (tag "!") or one tagged explicitly (!!str 123) stays a string, whatever it looks like.
    if (node.Tag() != "?") {
      json_.value(s);
    } else if (s == "~" || s == "null" || s == "Null" || s == "NULL") {
      json_.null();
    } else if (s == "true" || s == "True" || s == "TRUE") {
      json_.value(true);
    } else if (s == "false" || s == "False" || s == "FALSE") {
      json_.value(false);
    } else if (isJsonNumber(s)) {
      json_.number(s);
    } else {
      json_.value(s);
    }
  }

  JsonWriter& json_;
  size_t limit_;
};

}  // namespace

bool isSecretKey(std::string_view key) {
  const std::string k = str::toLower(key);
  if (k == "token" || k == "password" || k == "secret" || k == "key" || k == "authorization" ||
      k == "proxy-authorization") {
    return true;
  }
  for (std::string_view suffix : {"key", "token", "password", "secret"}) {
    for (char sep : {'_', '-'}) {
      const std::string ending = str::cat(sep, suffix);
      if (k.size() > ending.size() && k.ends_with(ending)) return true;
    }
  }
  return false;
}

absl::Status writeConfigJson(const YAML::Node& document, JsonWriter& json, size_t max_bytes) {
  if (!Converter(json, max_bytes).write(document)) {
    return absl::ResourceExhaustedError(
        str::cat("the config expands to more than ", max_bytes, " bytes of JSON (YAML aliases?)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> configToJson(const YAML::Node& document, size_t max_bytes) {
  JsonWriter json;
  if (auto status = writeConfigJson(document, json, max_bytes); !status.ok()) return status;
  return json.take();
}

}  // namespace interpose::admin
