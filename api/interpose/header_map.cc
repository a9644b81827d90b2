#include "api/interpose/header_map.h"

#include <algorithm>
#include <cctype>

#include "api/interpose/strings.h"

namespace interpose {

bool headerNameEquals(std::string_view a, std::string_view b) { return str::equalsIgnoreCase(a, b); }

const std::string* HeaderMap::get(std::string_view name) const {
  for (const auto& [k, v] : entries_) {
    if (headerNameEquals(k, name)) return &v;
  }
  return nullptr;
}

std::string_view HeaderMap::getOr(std::string_view name, std::string_view fallback) const {
  const std::string* v = get(name);
  return v ? std::string_view(*v) : fallback;
}

std::string HeaderMap::getJoined(std::string_view name) const {
  std::string out;
  for (const auto& [k, v] : entries_) {
    if (!headerNameEquals(k, name)) continue;
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
  if (!name.empty() && name[0] == ':') {
    // Keep pseudo-headers ahead of regular ones.
    auto pos = std::find_if(entries_.begin(), entries_.end(),
                            [](const Entry& e) { return e.first.empty() || e.first[0] != ':'; });
    entries_.emplace(pos, std::move(name), std::move(value));
    return;
  }
  if (entries_.empty()) entries_.reserve(16);
  entries_.emplace_back(std::move(name), std::move(value));
}

size_t HeaderMap::remove(std::string_view name) {
  return std::erase_if(entries_, [&](const Entry& e) { return headerNameEquals(e.first, name); });
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
// RFC 9110 token characters, as a table: this runs for every field of every message.
struct TokenTable {
  bool allowed[256] = {};
  constexpr TokenTable() {
    for (int c = '0'; c <= '9'; ++c) allowed[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) allowed[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) allowed[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) allowed[static_cast<unsigned char>(c)] = true;
  }
};
constexpr TokenTable kToken;
}  // namespace

bool isValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!kToken.allowed[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

}  // namespace interpose
