#include "source/admin/json_writer.h"

#include <charconv>
#include <cmath>

#include "source/formatter/escape.h"

namespace interpose::admin {

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  formatter::appendJsonEscaped(out, s);
  out.push_back('"');
  return out;
}

void JsonWriter::newline() {
  out_.push_back('\n');
  out_.append(2 * empty_.size(), ' ');
}

void JsonWriter::beforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (empty_.empty()) return;  // the top-level value
  if (!empty_.back()) out_.push_back(',');
  empty_.back() = false;
  newline();
}

void JsonWriter::open(char bracket) {
  beforeValue();
  out_.push_back(bracket);
  empty_.push_back(true);
}

void JsonWriter::close(char bracket) {
  const bool was_empty = empty_.back();
  empty_.pop_back();
  if (!was_empty) newline();
  out_.push_back(bracket);
}

JsonWriter& JsonWriter::beginObject() {
  open('{');
  return *this;
}
JsonWriter& JsonWriter::endObject() {
  close('}');
  return *this;
}
JsonWriter& JsonWriter::beginArray() {
  open('[');
  return *this;
}
JsonWriter& JsonWriter::endArray() {
  close(']');
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  beforeValue();
  out_.append(jsonString(name));
  out_.append(": ");
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  beforeValue();
  out_.append(jsonString(s));
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  beforeValue();
  out_.append(b ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::value(int64_t n) {
  beforeValue();
  out_.append(std::to_string(n));
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t n) {
  beforeValue();
  out_.append(std::to_string(n));
  return *this;
}

JsonWriter& JsonWriter::value(double n) {
  if (!std::isfinite(n)) return null();  // JSON has no NaN or infinity
  beforeValue();
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);  // the shortest text that reads back as n
  out_.append(buf, end);
  return *this;
}

JsonWriter& JsonWriter::null() {
  beforeValue();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::number(std::string_view text) {
  beforeValue();
  out_.append(text);
  return *this;
}

std::string JsonWriter::take() {
  out_.push_back('\n');
  std::string out = std::move(out_);
  out_.clear();
  empty_.clear();
  after_key_ = false;
  return out;
}

}  // namespace interpose::admin
