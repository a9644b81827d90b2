#include "api/interpose/config_node.h"

#include <algorithm>
#include <cstdint>

#include "api/interpose/strings.h"

namespace interpose {
namespace {

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return str::cat("'", node.Scalar(), "'");
    default:
      return "nothing";
  }
}

constexpr char kHexDigits[] = "0123456789ABCDEF";

struct UnsafeCodePoint {
  uint32_t code_point = 0;
  size_t length = 0;  // in bytes; 0 when there is nothing to escape
};

// The C1 or bidi control encoded in UTF-8 at text[i], if there is one there. Anything else,
// including invalid UTF-8, passes unchanged: only what a terminal acts on is escaped.
UnsafeCodePoint unsafeCodePointAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) -> uint32_t { return k < text.size() ? static_cast<uint8_t>(text[k]) : 0; };
  if (byte(i) == 0xc2 && byte(i + 1) >= 0x80 && byte(i + 1) <= 0x9f) return {byte(i + 1), 2};
  if (byte(i) != 0xe2 || (byte(i + 1) & 0xc0) != 0x80 || (byte(i + 2) & 0xc0) != 0x80) return {};
  const uint32_t code_point = 0x2000 | ((byte(i + 1) & 0x3f) << 6) | (byte(i + 2) & 0x3f);
  const bool bidi = (code_point >= 0x202a && code_point <= 0x202e) || (code_point >= 0x2066 && code_point <= 0x2069);
  return bidi ? UnsafeCodePoint{code_point, 3} : UnsafeCodePoint{};
}

// Writes \u{NNNN}; the code points escaped here all fit in four hex digits.
void appendCodePoint(std::string& out, uint32_t code_point) {
  out.append("\\u{");
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHexDigits[(code_point >> shift) & 0xf]);
  out.push_back('}');
}

}  // namespace

std::string escapeForMessage(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out.append("\\x").push_back(kHexDigits[c >> 4]);
      out.push_back(kHexDigits[c & 0xf]);
      ++i;
    } else if (UnsafeCodePoint unsafe = unsafeCodePointAt(text, i); unsafe.length != 0) {
      appendCodePoint(out, unsafe.code_point);
      i += unsafe.length;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

ConfigNode::ConfigNode(YAML::Node node, std::string path, std::shared_ptr<const std::string> file)
    : node_(std::move(node)), path_(std::move(path)), file_(std::move(file)) {}

std::string ConfigNode::location() const {
  YAML::Mark mark = node_.IsDefined() ? node_.Mark() : YAML::Mark::null_mark();
  if (mark.is_null()) return *file_;
  return str::cat(*file_, ":", mark.line + 1, ":", mark.column + 1);
}

void ConfigNode::fail(std::string_view what) const {
  // Keys in the path and values quoted in `what` come straight from the config file.
  throw ConfigError(escapeForMessage(str::cat(location(), ": ", path_.empty() ? "(top level)" : path_, ": ", what)));
}

void ConfigNode::expectMap(std::initializer_list<std::string_view> allowed) const {
  if (!defined()) return;
  if (!node_.IsMap()) fail(str::cat("expected a map, got ", describe(node_)));
  for (const auto& kv : node_) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      ConfigNode at(kv.first, path_.empty() ? key : str::cat(path_, ".", key), file_);
      at.fail(str::cat("unknown key; expected one of: ", str::join(allowed, ", ")));
    }
  }
}

ConfigNode ConfigNode::child(std::string_view key) const {
  std::string path = path_.empty() ? std::string(key) : str::cat(path_, ".", key);
  if (!node_.IsDefined() || !node_.IsMap()) return ConfigNode(YAML::Node(YAML::NodeType::Undefined), path, file_);
  // Look the key up without yaml-cpp's operator[] on a const node creating zombies.
  for (const auto& kv : node_) {
    if (kv.first.Scalar() == key) return ConfigNode(kv.second, std::move(path), file_);
  }
  return ConfigNode(YAML::Node(YAML::NodeType::Undefined), std::move(path), file_);
}

ConfigNode ConfigNode::required(std::string_view key) const {
  ConfigNode c = child(key);
  if (!c.defined()) fail(str::cat("missing required key '", key, "'"));
  return c;
}

std::vector<ConfigNode> ConfigNode::list() const {
  std::vector<ConfigNode> out;
  if (!defined()) return out;
  if (!node_.IsSequence()) fail(str::cat("expected a list, got ", describe(node_)));
  for (size_t i = 0; i < node_.size(); ++i) {
    out.emplace_back(node_[i], str::cat(path_, "[", i, "]"), file_);
  }
  return out;
}

std::string ConfigNode::str() const {
  if (!node_.IsDefined() || !node_.IsScalar()) fail(str::cat("expected a string, got ", describe(node_)));
  return node_.Scalar();
}

int64_t ConfigNode::integer(int64_t min, int64_t max) const {
  int64_t v = 0;
  if (!node_.IsScalar() || !str::parseInt(node_.Scalar(), v)) {
    fail(str::cat("expected an integer, got ", describe(node_)));
  }
  if (v < min || v > max) fail(str::cat("expected an integer in [", min, ", ", max, "], got ", v));
  return v;
}

bool ConfigNode::boolean() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  fail(str::cat("expected true or false, got ", describe(node_)));
}

std::chrono::milliseconds ConfigNode::duration() const {
  if (!node_.IsScalar()) fail(str::cat("expected a duration such as 250ms, 10s, 5m, got ", describe(node_)));
  std::string_view s = node_.Scalar();
  struct Unit {
    std::string_view suffix;
    double ms;
  };
  static constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  double factor = 1000;  // a bare number means seconds
  for (const auto& unit : kUnits) {
    if (str::consumeSuffix(s, unit.suffix)) {
      factor = unit.ms;
      break;
    }
  }
  double v = 0;
  if (!str::parseDouble(s, v) || v < 0 || v > 1e9) {
    fail(str::cat("expected a duration such as 250ms, 10s, 5m, got ", describe(node_)));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(v * factor));
}

uint64_t ConfigNode::bytes() const {
  if (!node_.IsScalar()) fail(str::cat("expected a size such as 512, 64KiB, 1MiB, got ", describe(node_)));
  std::string_view s = node_.Scalar();
  struct Unit {
    std::string_view suffix;
    uint64_t factor;
  };
  static constexpr Unit kUnits[] = {{"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024ull * 1024 * 1024},
                                    {"KB", 1000},  {"MB", 1000 * 1000},  {"B", 1}};
  uint64_t factor = 1;
  for (const auto& unit : kUnits) {
    if (str::consumeSuffix(s, unit.suffix)) {
      factor = unit.factor;
      break;
    }
  }
  uint64_t v = 0;
  if (!str::parseInt(str::trim(s), v)) {
    fail(str::cat("expected a size such as 512, 64KiB, 1MiB, got ", describe(node_)));
  }
  return v * factor;
}

std::string ConfigNode::oneOf(std::initializer_list<std::string_view> choices) const {
  std::string v = str();
  if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
    fail(str::cat("expected one of ", str::join(choices, ", "), ", got '", v, "'"));
  }
  return v;
}

std::string ConfigNode::str(std::string_view key, std::string_view fallback) const {
  ConfigNode c = child(key);
  return c.defined() ? c.str() : std::string(fallback);
}

int64_t ConfigNode::integer(std::string_view key, int64_t fallback, int64_t min, int64_t max) const {
  ConfigNode c = child(key);
  return c.defined() ? c.integer(min, max) : fallback;
}

bool ConfigNode::boolean(std::string_view key, bool fallback) const {
  ConfigNode c = child(key);
  return c.defined() ? c.boolean() : fallback;
}

std::chrono::milliseconds ConfigNode::duration(std::string_view key, std::chrono::milliseconds fallback) const {
  ConfigNode c = child(key);
  return c.defined() ? c.duration() : fallback;
}

uint64_t ConfigNode::bytes(std::string_view key, uint64_t fallback) const {
  ConfigNode c = child(key);
  return c.defined() ? c.bytes() : fallback;
}

}  // namespace interpose
