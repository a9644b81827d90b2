#include "examples/record_exchange/json.h"

#include <cstdint>

namespace record_exchange {
namespace {

bool isContinuation(uint8_t c) { return (c & 0xC0) == 0x80; }

// The length of the valid UTF-8 sequence starting at value[i], or 0 if there is none
// (stray continuation bytes, overlong forms, surrogates, code points past U+10FFFF, and
// sequences cut short, as at the end of a truncated body preview).
size_t utf8SequenceLength(std::string_view value, size_t i) {
  const uint8_t lead = static_cast<uint8_t>(value[i]);
  size_t length;
  uint8_t min_second = 0x80, max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;  // overlong
    if (lead == 0xED) max_second = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;  // overlong
    if (lead == 0xF4) max_second = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + length > value.size()) return 0;
  const uint8_t second = static_cast<uint8_t>(value[i + 1]);
  if (second < min_second || second > max_second) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (!isContinuation(static_cast<uint8_t>(value[i + k]))) return 0;
  }
  return length;
}

void appendUnicodeEscape(std::string& out, uint8_t c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.append("\\u00");
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0xF]);
}

}  // namespace

void appendJsonString(std::string& out, std::string_view value) {
  out.push_back('"');
  for (size_t i = 0; i < value.size();) {
    const uint8_t c = static_cast<uint8_t>(value[i]);
    if (c >= 0x80) {
      if (size_t length = utf8SequenceLength(value, i); length > 0) {
        out.append(value.substr(i, length));
        i += length;
      } else {
        appendUnicodeEscape(out, c);
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          appendUnicodeEscape(out, c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

}  // namespace record_exchange
