#include "source/config/yaml_document.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "api/interpose/config_node.h"
#include "api/interpose/strings.h"

namespace interpose::config {
namespace {

constexpr auto npos = std::string_view::npos;

// --- Syntax errors -------------------------------------------------------------------------

// The lines as yaml-cpp numbers them (it counts '\n'), without the CR of a CRLF.
std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines = str::split(text, '\n');
  for (auto& line : lines) {
    if (line.ends_with('\r')) line.remove_suffix(1);
  }
  return lines;
}

bool isBlankOrComment(std::string_view line) {
  const size_t first = line.find_first_not_of(" \t");
  return first == npos || line[first] == '#';
}

size_t leadingSpaces(std::string_view line) { return std::min(line.find_first_not_of(' '), line.size()); }

// Where the content of `line` starts: after its indentation and any "- " list markers, which
// indent what follows them just as spaces do.
size_t contentStart(std::string_view line) {
  size_t i = line.find_first_not_of(" \t");
  while (i != npos && line[i] == '-' && (i + 1 == line.size() || line[i + 1] == ' ' || line[i + 1] == '\t')) {
    i = line.find_first_not_of(" \t", i + 1);
  }
  return i == npos ? line.size() : i;
}

// The column (0-based) of a tab in the indentation of `line`. YAML forbids tabs there, and
// yaml-cpp then says "illegal map value" or the like, which does not point at the tab.
std::optional<size_t> tabInIndentation(std::string_view line) {
  const size_t tab = line.substr(0, contentStart(line)).find('\t');
  if (tab == npos) return std::nullopt;
  return tab;
}

// The key of a line that opens a block, "KEY:" with at most a comment after it. Nothing for
// "KEY: value" (it encloses no lines) or for keys that are quoted, flow or otherwise unusual:
// a wrong hint is worse than none.
std::optional<std::string_view> openedKey(std::string_view content) {
  if (content.empty() || std::string_view("\"'{}[],&*!|>%@`#?:").find(content[0]) != npos) return std::nullopt;
  // A plain key may hold ':' itself; the one that ends it is followed by a blank or the end.
  size_t colon = content.find(':');
  while (colon != npos && colon + 1 < content.size() && content[colon + 1] != ' ' && content[colon + 1] != '\t') {
    colon = content.find(':', colon + 1);
  }
  if (colon == npos) return std::nullopt;
  const std::string_view key = str::trim(content.substr(0, colon));
  const std::string_view rest = str::trim(content.substr(colon + 1));
  if (!rest.empty() && rest[0] != '#') return std::nullopt;
  if (key.find(" #") != npos || key.find("\t#") != npos) return std::nullopt;  // that ':' was in a comment
  return key;
}

// The key of the block enclosing line `index`: scanning up, the first line indented less
// that opens a block. A less indented "KEY: value" or "- value" line encloses nothing, so
// the scan goes on from its indentation. Nothing for a top-level line, or when a tab makes
// the indentation unreadable.
std::optional<std::string_view> enclosingKey(const std::vector<std::string_view>& lines, size_t index) {
  if (index >= lines.size()) return std::nullopt;
  size_t limit = leadingSpaces(lines[index]);
  for (size_t i = index; limit > 0 && i-- > 0;) {
    const std::string_view line = lines[i];
    if (isBlankOrComment(line)) continue;
    if (tabInIndentation(line)) return std::nullopt;
    const size_t start = contentStart(line);
    if (start >= limit) continue;  // deeper, or a sibling: "- name: p" indents "name" as deep as the next key
    if (auto key = openedKey(line.substr(start))) return key;
    limit = leadingSpaces(line);
  }
  return std::nullopt;
}

// "FILE:LINE:COLUMN: ..." for a YAML syntax error in `text`.
std::string syntaxErrorMessage(std::string_view text, const std::string& file, const YAML::Exception& e) {
  const std::vector<std::string_view> lines = splitLines(text);
  const auto index = static_cast<size_t>(e.mark.line);  // a null mark's -1 is out of range
  const std::string_view line = index < lines.size() ? lines[index] : std::string_view();
  if (auto tab = tabInIndentation(line)) {
    return str::cat(file, ":", e.mark.line + 1, ":", *tab + 1,
                    ": tab characters are not allowed for indentation (use spaces)");
  }
  std::string message = str::cat(file, ":", e.mark.line + 1, ":", e.mark.column + 1, ": invalid YAML: ", e.msg);
  if (auto key = enclosingKey(lines, index)) message += str::cat(" (inside '", *key, "')");
  return message;
}

// --- Duplicate keys and extra documents ---------------------------------------------------

std::string childPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : str::cat(path, ".", key);
}

// Throws at the second occurrence of a key in any map of the tree. yaml-cpp keeps both pairs,
// but every lookup finds the first, so a repeated key would otherwise be ignored silently.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(std::shared_ptr<const std::string> file) : file_(std::move(file)) {}

  void walk(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap() && !node.IsSequence()) return;
    if (!walked_.insert(node.Mark().pos).second) return;
    if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i) walk(node[i], str::cat(path, "[", i, "]"));
      return;
    }
    checkKeys(node, path);
    // Config keys are plain scalars; a map or list used as a key fails elsewhere as a key.
    for (const auto& kv : node) {
      if (kv.first.IsScalar()) walk(kv.second, childPath(path, kv.first.Scalar()));
    }
  }

 private:
  void checkKeys(const YAML::Node& map, const std::string& path) const {
    std::unordered_map<std::string, YAML::Mark> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) continue;
      const std::string key = kv.first.Scalar();
      const auto [first, inserted] = seen.emplace(key, kv.first.Mark());
      if (inserted) continue;
      ConfigNode(kv.first, childPath(path, key), file_)
          .fail(str::cat("duplicate key '", key, "' (first at line ", first->second.line + 1, ", column ",
                         first->second.column + 1, ")"));
    }
  }

  std::shared_ptr<const std::string> file_;
  // Where each map and list walked so far starts. An alias (*name) is the very node its anchor
  // marks, already checked; walking it again at every use could take exponential time.
  std::unordered_set<int> walked_;
};

// A trailing '---', or one followed only by comments, is an empty document and harmless.
void rejectExtraDocuments(const std::vector<YAML::Node>& documents, const std::shared_ptr<const std::string>& file) {
  for (size_t i = 1; i < documents.size(); ++i) {
    if (documents[i].IsNull()) continue;
    ConfigNode(documents[i], "", file)
        .fail(
            "a second YAML document starts here, but a config file holds one (merge them, or remove this one "
            "and the '---' before it)");
  }
}

}  // namespace

YAML::Node loadConfigDocument(std::string_view text, const std::shared_ptr<const std::string>& file) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(escapeForMessage(syntaxErrorMessage(text, *file, e)));
  }
  if (documents.empty()) return YAML::Node();
  DuplicateKeyCheck(file).walk(documents[0], "");
  rejectExtraDocuments(documents, file);
  return documents[0];
}

}  // namespace interpose::config
