#pragma once

#include <string>
#include <string_view>

namespace interpose::formatter {

// Appends `value` for a text log line. Header values come from the client, so control bytes
// (CR, LF, ESC, ...) are written as \xHH: a value can neither start a forged log line nor
// drive a terminal. The default format puts values inside double quotes, so '"' and the
// escape character '\' itself are written as \xHH too, which keeps fields and escapes
// unambiguous (the same rule as nginx's access log). Bytes >= 0x80 pass through untouched,
// so UTF-8 stays readable.
void appendTextEscaped(std::string& out, std::string_view value);

// Appends `value` as the body of a JSON string (without the surrounding quotes): '"' and '\'
// are backslash-escaped, control characters become \u00XX. Valid UTF-8 passes through; a
// byte that is not part of a valid UTF-8 sequence (such as Latin-1 obs-text in a header) is
// written as \u00XX, its Latin-1 reading, so the line always stays valid JSON.
void appendJsonEscaped(std::string& out, std::string_view value);

}  // namespace interpose::formatter
