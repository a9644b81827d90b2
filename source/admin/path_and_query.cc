#include "source/admin/path_and_query.h"

#include "api/interpose/strings.h"

namespace interpose::admin {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool percentDecode(std::string_view text, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%') {
      int hi = i + 1 < text.size() ? hexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? hexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return false;
      out.push_back(decoded);
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool parsePathAndQuery(std::string_view target, std::string& path, std::multimap<std::string, std::string>& query,
                       std::string& why) {
  if (target.empty() || target[0] != '/') {
    why = "expected a path such as /ready (origin-form request target)";
    return false;
  }
  std::string_view raw_path = target;
  std::string_view raw_query;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    raw_path = target.substr(0, q);
    raw_query = target.substr(q + 1);
  }
  if (!percentDecode(raw_path, false, path)) {
    why = "bad percent-escape in the path";
    return false;
  }
  query.clear();
  if (raw_query.empty()) return true;
  for (std::string_view pair : str::split(raw_query, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name;
    std::string value;
    if (!percentDecode(pair.substr(0, eq), true, name) ||
        (eq != std::string_view::npos && !percentDecode(pair.substr(eq + 1), true, value))) {
      why = "bad percent-escape in the query";
      return false;
    }
    query.emplace(std::move(name), std::move(value));
  }
  return true;
}

}  // namespace interpose::admin
