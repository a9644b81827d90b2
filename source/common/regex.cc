#include "source/common/regex.h"

#include <re2/re2.h>

#include "api/interpose/strings.h"

namespace interpose {

Regex Regex::compile(std::string_view pattern, std::string& error) {
  RE2::Options options;
  options.set_log_errors(false);  // the error goes to the caller, not to stderr
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  Regex out;
  if (!re->ok()) {
    error = re->error();
    if (re->error_code() == RE2::ErrorBadEscape || re->error_code() == RE2::ErrorBadPerlOp) {
      error += " (RE2 syntax: no backreferences or lookaround)";
    }
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
