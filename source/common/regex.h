#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/interpose/config_node.h"

namespace re2 {
class RE2;
}

namespace interpose {

// A regular expression from the config, matched with RE2: time linear in the input and
// bounded memory, so no request can make matching slow or deep. (std::regex recursed once
// per character: one long path crashed the process.) RE2's syntax is Perl's without
// backreferences or lookaround; patterns that need those are refused at load. Matching is
// on bytes (Latin-1), as before: '.' matches any octet.
class Regex {
 public:
  // RE2's measure of a compiled pattern's size; larger ones are refused at load, as
  // Envoy's safe_regex does, so one config line cannot make every match costly.
  static constexpr int kMaxProgramSize = 5000;

  // Compiles the node's string, or fails the node (ConfigError) saying why.
  static Regex fromConfig(const ConfigNode& node);
  // Compiles `pattern`; on failure returns an empty Regex and sets `error`.
  static Regex compile(std::string_view pattern, std::string& error);

  Regex() = default;
  explicit operator bool() const { return re_ != nullptr; }
  // True when the whole of `text` matches.
  bool fullMatch(std::string_view text) const;
  const std::string& pattern() const;

 private:
  std::shared_ptr<const re2::RE2> re_;  // shared: compiled once, copied with the config
};

}  // namespace interpose
