#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace interpose {

// Thrown by ConfigNode on invalid configuration; caught at the config boundary and turned
// into an absl::Status. what() reads "FILE:LINE:COLUMN: KEY.PATH: what was expected".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Returns `text` with characters that could mislead a reader of an error message on a
// terminal written out: bytes below 0x20 and 0x7f as \xNN, and the UTF-8 encoded C1 controls
// (U+0080..U+009F) and bidi controls (U+202A..U+202E, U+2066..U+2069) as \u{NNNN}. Config
// text is echoed in errors, and an escape sequence or a right-to-left override there could
// hide or reorder what the message says. Backslashes are kept as they are, so escaping twice
// changes nothing.
std::string escapeForMessage(std::string_view text);

// A YAML node that knows where it came from (file, line, column, key path), so every error
// a filter factory reports points at the offending spot. Accessors throw ConfigError.
class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::string path, std::shared_ptr<const std::string> file);

  bool defined() const { return node_.IsDefined() && !node_.IsNull(); }
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  std::string location() const;  // "FILE:LINE:COLUMN"
  const YAML::Node& yaml() const { return node_; }

  // Throws a ConfigError naming this node's location and key path (escaped, see above).
  [[noreturn]] void fail(std::string_view what) const;

  // Map access. `expectMap` checks the node is a map (or absent) whose keys are all in
  // `allowed`; unknown keys are errors. `child` returns an undefined node when absent.
  void expectMap(std::initializer_list<std::string_view> allowed) const;
  ConfigNode child(std::string_view key) const;
  ConfigNode required(std::string_view key) const;  // fails when absent
  bool has(std::string_view key) const { return child(key).defined(); }
  std::vector<ConfigNode> list() const;  // fails when not a sequence; empty when absent

  // Scalars.
  std::string str() const;
  int64_t integer(int64_t min, int64_t max) const;
  bool boolean() const;
  // "250ms", "10s", "5m", "1h", "397d"; a bare number means seconds.
  std::chrono::milliseconds duration() const;
  // "64KiB", "1MiB", "512" (bytes).
  uint64_t bytes() const;
  // One of `choices`.
  std::string oneOf(std::initializer_list<std::string_view> choices) const;

  // Optional keys with defaults.
  std::string str(std::string_view key, std::string_view fallback) const;
  int64_t integer(std::string_view key, int64_t fallback, int64_t min, int64_t max) const;
  bool boolean(std::string_view key, bool fallback) const;
  std::chrono::milliseconds duration(std::string_view key, std::chrono::milliseconds fallback) const;
  uint64_t bytes(std::string_view key, uint64_t fallback) const;

 private:
  YAML::Node node_;
  std::string path_;
  std::shared_ptr<const std::string> file_;
};

}  // namespace interpose
