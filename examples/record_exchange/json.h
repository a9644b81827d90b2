#pragma once

#include <string>
#include <string_view>

namespace record_exchange {

// Appends `value` as a JSON string, quotes included. Header values and body bytes come from
// the network, so they are escaped to keep every record one valid JSON line: '"', '\' and
// control characters are escaped, valid UTF-8 passes through, and any other byte (binary
// bodies, Latin-1 header values) is written as \u00XX, its Latin-1 reading.
void appendJsonString(std::string& out, std::string_view value);

}  // namespace record_exchange
