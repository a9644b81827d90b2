#include "source/common/regex.h"

#include <re2/re2.h>

#include "api/interpose/strings.h"

namespace interpose {
namespace {

// What ECMAScript and Perl have and RE2 leaves out by design (it would cost linear time).
bool usesBackreferenceOrLookaround(std::string_view pattern) {
  for (size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (pattern[i + 1] >= '1' && pattern[i + 1] <= '9') return true;
      ++i;  // an escaped character is not the start of anything
    } else if (pattern.substr(i).starts_with("(?=") || pattern.substr(i).starts_with("(?!") ||
               pattern.substr(i).starts_with("(?<=") || pattern.substr(i).starts_with("(?<!")) {
      return true;
    }
  }
  return false;
}

}  // namespace

Regex Regex::compile(std::string_view pattern, std::string& error) {
  RE2::Options options;
  options.set_log_errors(false);  // the error goes to the caller, not to stderr
  // Bytes, not UTF-8: paths and header values may hold any octet, and '.' or [^/] must
  // match them as std::regex did (in UTF-8 mode they would not match invalid sequences).
  options.set_encoding(RE2::Options::EncodingLatin1);
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  Regex out;
  if (!re->ok()) {
    error = re->error();
    if (usesBackreferenceOrLookaround(pattern)) error += " (RE2 syntax: no backreferences or lookaround)";
    return out;
  }
  if (int size = re->ProgramSize(); size > kMaxProgramSize) {
    error = str::cat("too complex: program size ", size, " is over the limit of ", kMaxProgramSize);
    return out;
  }
  out.re_ = std::move(re);
  return out;
}

Regex Regex::fromConfig(const ConfigNode& node) {
  std::string pattern = node.str();
  std::string error;
  Regex out = compile(pattern, error);
  if (!out) node.fail(str::cat("invalid regex '", pattern, "': ", error));
  return out;
}

bool Regex::fullMatch(std::string_view text) const {
  return re_ && RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

const std::string& Regex::pattern() const {
  static const std::string empty;
  return re_ ? re_->pattern() : empty;
}

}  // namespace interpose
