#pragma once

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace interpose {

// Case-insensitive ASCII comparison for header names.
bool headerNameEquals(std::string_view a, std::string_view b);

// An ordered list of header fields. Names are stored lower-case (HTTP/2 requires it, and
// one spelling makes lookups cheap); values are kept byte for byte. Requests and responses
// carry HTTP/2-style pseudo-headers whatever the wire protocol, so every filter sees one view:
//   requests:  :method :scheme :authority :path     responses: :status
// Pseudo-headers always come first.
class HeaderMap {
 public:
  using Entry = std::pair<std::string, std::string>;

  // Returns the first value of `name`, or nullptr.
  const std::string* get(std::string_view name) const;
  std::string_view getOr(std::string_view name, std::string_view fallback = {}) const;
  bool has(std::string_view name) const { return get(name) != nullptr; }
  // Every value of `name`, joined with ", " (RFC 9110 5.3 field combination).
  std::string getJoined(std::string_view name) const;

  // Replaces all values of `name` with one value (appended if absent).
  void set(std::string_view name, std::string_view value);
  // Appends one more field, keeping existing ones.
  void add(std::string_view name, std::string_view value);
  // The same, taking ownership of the strings (no copies; the name is lower-cased in place).
  void emplace(std::string&& name, std::string&& value);
  // The same for a name that is lower-case already (see lowerCaseHeaderName).
  void emplaceLowerCase(std::string&& name, std::string&& value);
  // Adds pseudo-headers (names given lower-case, e.g. ":method") after any existing ones.
  void addPseudoHeaders(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
  // Removes every field for which `pred(name)` holds, in one pass.
  template <typename Pred>
  size_t removeIf(Pred pred) {
    return std::erase_if(entries_, [&](const Entry& e) { return pred(std::string_view(e.first)); });
  }
  // Removes every field called `name`; returns how many were removed.
  size_t remove(std::string_view name);
  // Removes every field whose name starts with `prefix`.
  size_t removePrefix(std::string_view prefix);
  void clear() { entries_.clear(); }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Sum of name and value lengths, for size limits.
  size_t byteSize() const;
  const std::vector<Entry>& entries() const { return entries_; }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  // Convenience accessors for the pseudo-headers.
  std::string_view method() const { return getOr(":method"); }
  std::string_view scheme() const { return getOr(":scheme"); }
  std::string_view authority() const { return getOr(":authority"); }
  std::string_view path() const { return getOr(":path"); }
  int status() const;

 private:
  std::vector<Entry> entries_;
};

// True when `value` may be sent on the wire: no CR, LF or NUL (header injection).
bool isValidHeaderValue(std::string_view value);
// True when `name` is a valid RFC 9110 token (pseudo-headers excluded).
bool isValidHeaderName(std::string_view name);
// Lower-cases `name` in place and returns isValidHeaderName(name), in one pass: for parsers.
bool lowerCaseHeaderName(std::string& name);

}  // namespace interpose
