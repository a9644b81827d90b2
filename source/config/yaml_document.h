#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <string_view>

namespace interpose::config {

// Parses a config file's text as its one YAML document, and rejects what yaml-cpp would let
// through without a word: a key repeated in a map (its lookups see only the first), and a
// second, non-empty document after '---' (YAML::Load reads only the first). Throws
// ConfigError reading "FILE:LINE:COLUMN: ..." for those and for YAML syntax errors, where a
// tab in the indentation is named as the cause. An empty text gives a null node.
YAML::Node loadConfigDocument(std::string_view text, const std::shared_ptr<const std::string>& file);

}  // namespace interpose::config
