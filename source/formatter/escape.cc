#include "source/formatter/escape.h"

#include <cstdint>

namespace interpose::formatter {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void appendHexByte(std::string& out, std::string_view prefix, uint8_t c) {
  out.append(prefix);
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0xf]);
}

bool isControl(uint8_t c) { return c < 0x20 || c == 0x7f; }

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not one
// (stray continuation bytes, overlong forms, surrogates, code points above U+10FFFF).
size_t utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const auto continuation = [&](size_t k) { return k < s.size() && (byte(k) & 0xc0) == 0x80; };
  const uint8_t c = byte(i);
  if (c >= 0xc2 && c <= 0xdf) return continuation(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!continuation(i + 1) || !continuation(i + 2)) return 0;
    if (c == 0xe0 && byte(i + 1) < 0xa0) return 0;   // overlong
    if (c == 0xed && byte(i + 1) >= 0xa0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    if (c == 0xf0 && byte(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && byte(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void appendTextEscaped(std::string& out, std::string_view value) {
  size_t clean_start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<uint8_t>(value[i]);
    if (!isControl(c) && c != '"' && c != '\\') continue;
    // Copy runs of ordinary bytes in one go; most values have nothing to escape.
    out.append(value.substr(clean_start, i - clean_start));
    appendHexByte(out, "\\x", c);
    clean_start = i + 1;
  }
  out.append(value.substr(clean_start));
}

void appendJsonEscaped(std::string& out, std::string_view value) {
  size_t clean_start = 0;
  size_t i = 0;
  while (i < value.size()) {
    const auto c = static_cast<uint8_t>(value[i]);
    if (c >= 0x80) {
      const size_t n = utf8SequenceLength(value, i);
      if (n != 0) {
        i += n;
        continue;
      }
    } else if (!isControl(c) && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(value.substr(clean_start, i - clean_start));
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else {
      appendHexByte(out, "\\u00", c);
    }
    clean_start = ++i;
  }
  out.append(value.substr(clean_start));
}

}  // namespace interpose::formatter
