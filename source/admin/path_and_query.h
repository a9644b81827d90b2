#pragma once

#include <map>
#include <string>
#include <string_view>

namespace interpose::admin {

// Splits an origin-form request target ("/passthrough/example.com?x=1") into its
// percent-decoded path and query parameters ('+' is a space in the query, as forms send it).
// False, with `why`, for other forms and for bad or NUL escapes.
bool parsePathAndQuery(std::string_view target, std::string& path, std::multimap<std::string, std::string>& query,
                       std::string& why);

// `text` with %XX escapes decoded (and '+' as a space when `plus_is_space`); false on a bad
// escape or a decoded NUL.
bool percentDecode(std::string_view text, bool plus_is_space, std::string& out);

}  // namespace interpose::admin
