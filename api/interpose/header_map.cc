#include "api/interpose/header_map.h"

#include <algorithm>
#include <cctype>

#include "api/interpose/strings.h"

namespace interpose {

bool headerNameEquals(std::string_view a, std::string_view b) { return str::equalsIgnoreCase(a, b); }

namespace {
// Stored names are lower-case and callers nearly always ask in lower case: then a byte
// comparison decides, without folding case.
struct NameMatcher {
  explicit NameMatcher(std::string_view name) : name(name) {
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') fold = true;
    }
  }
  bool operator()(const std::string& stored) const { return fold ? headerNameEquals(stored, name) : stored == name; }
  std::string_view name;
  bool fold = false;
};
}  // namespace

const std::string* HeaderMap::get(std::string_view name) const {
  NameMatcher matches(name);
  for (const auto& [k, v] : entries_) {
    if (matches(k)) return &v;
  }
  return nullptr;
}

std::string_view HeaderMap::getOr(std::string_view name, std::string_view fallback) const {
  const std::string* v = get(name);
  return v ? std::string_view(*v) : fallback;
}

std::string HeaderMap::getJoined(std::string_view name) const {
  NameMatcher matches(name);
  std::string out;
  for (const auto& [k, v] : entries_) {
    if (!matches(k)) continue;
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  bool replaced = false;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (headerNameEquals(it->first, name)) {
      if (!replaced) {
        it->second = std::string(value);
        replaced = true;
        ++it;
      } else {
        it = entries_.erase(it);
      }
    } else {
      ++it;
    }
  }
  if (!replaced) add(name, value);
}

void HeaderMap::add(std::string_view name, std::string_view value) { emplace(std::string(name), std::string(value)); }

void HeaderMap::emplace(std::string&& name, std::string&& value) {
  for (char& c : name) c = str::lower(c);
  emplaceLowerCase(std::move(name), std::move(value));
}

void HeaderMap::emplaceLowerCase(std::string&& name, std::string&& value) {
  if (!name.empty() && name[0] == ':' && !entries_.empty() && entries_.back().first[0] != ':') {
    // Keep pseudo-headers ahead of regular ones.
    auto pos = std::find_if(entries_.begin(), entries_.end(),
                            [](const Entry& e) { return e.first.empty() || e.first[0] != ':'; });
    entries_.emplace(pos, std::move(name), std::move(value));
    return;
  }
  if (entries_.empty()) entries_.reserve(16);
  entries_.emplace_back(std::move(name), std::move(value));
}

void HeaderMap::addPseudoHeaders(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  auto pos = std::find_if(entries_.begin(), entries_.end(),
                          [](const Entry& e) { return e.first.empty() || e.first[0] != ':'; });
  size_t at = pos - entries_.begin();
  // One shift of the regular fields for all of them, instead of one per field.
  entries_.insert(pos, fields.size(), Entry());
  for (const auto& [name, value] : fields) {
    entries_[at].first.assign(name);
    entries_[at].second.assign(value);
    ++at;
  }
}

size_t HeaderMap::remove(std::string_view name) {
  NameMatcher matches(name);
  return std::erase_if(entries_, [&](const Entry& e) { return matches(e.first); });
}

size_t HeaderMap::removePrefix(std::string_view prefix) {
  return std::erase_if(entries_, [&](const Entry& e) {
    return e.first.size() >= prefix.size() &&
           headerNameEquals(std::string_view(e.first).substr(0, prefix.size()), prefix);
  });
}

size_t HeaderMap::byteSize() const {
  size_t n = 0;
  for (const auto& [k, v] : entries_) n += k.size() + v.size();
  return n;
}

int HeaderMap::status() const {
  int code = 0;
  const std::string* v = get(":status");
  if (!v || !str::parseInt(*v, code)) return 0;
  return code;
}

bool isValidHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

namespace {
// RFC 9110 token characters, as a table that also lower-cases them (0: not a token
// character): this runs for every field of every message.
struct TokenTable {
  char lower[256] = {};
  constexpr TokenTable() {
    for (int c = '0'; c <= '9'; ++c) lower[c] = static_cast<char>(c);
    for (int c = 'a'; c <= 'z'; ++c) lower[c] = static_cast<char>(c);
    for (int c = 'A'; c <= 'Z'; ++c) lower[c] = static_cast<char>(c - 'A' + 'a');
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) lower[static_cast<unsigned char>(c)] = c;
  }
};
constexpr TokenTable kToken;
}  // namespace

bool isValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (kToken.lower[static_cast<unsigned char>(c)] == 0) return false;
  }
  return true;
}

bool lowerCaseHeaderName(std::string& name) {
  bool valid = !name.empty();
  for (char& c : name) {
    char l = kToken.lower[static_cast<unsigned char>(c)];
    if (l == 0) {
      valid = false;
      l = str::lower(c);
    }
    c = l;
  }
  return valid;
}

}  // namespace interpose
