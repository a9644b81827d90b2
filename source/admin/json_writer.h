#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace interpose::admin {

// Writes JSON for the admin endpoints, indented two spaces so that `curl` output reads well.
// Strings go through the access log's JSON escaper (formatter::appendJsonEscaped): quotes,
// backslashes and control bytes are escaped, and bytes that are not UTF-8 still give valid
// JSON. Calls must nest correctly (key() only inside an object, a value after each key).
class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(int64_t n);
  JsonWriter& value(uint64_t n);
  JsonWriter& value(int n) { return value(static_cast<int64_t>(n)); }
  JsonWriter& value(unsigned n) { return value(static_cast<uint64_t>(n)); }
  JsonWriter& value(double n);
  JsonWriter& null();
  // A number given as text that is already valid JSON number syntax (the caller checked).
  JsonWriter& number(std::string_view text);

  size_t size() const { return out_.size(); }
  // The document, with a final newline.
  std::string take();

 private:
  void beforeValue();
  void newline();
  void open(char bracket);
  void close(char bracket);

  std::string out_;
  // Per open object or array: whether it has no member yet.
  std::vector<bool> empty_;
  bool after_key_ = false;
};

// `s` as a JSON string literal, quotes included.
std::string jsonString(std::string_view s);

}  // namespace interpose::admin
