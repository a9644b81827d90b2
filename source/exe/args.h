#pragma once

#include <string>

namespace interpose {

// Walks command-line options: "--name=value", "--name value" and bare flags.
//   for (ArgReader args(argc, argv, 1); args.next();) {
//     if (args.name() == "--dir" && !args.value(dir)) ...
class ArgReader {
 public:
  ArgReader(int argc, char** argv, int first) : argc_(argc), argv_(argv), i_(first - 1) {}

  // Moves to the next option; false when there is none left.
  bool next() {
    if (++i_ >= argc_) return false;
    name_ = argv_[i_];
    inline_ = false;
    if (auto eq = name_.find('='); name_.starts_with("--") && eq != std::string::npos) {
      inline_value_ = name_.substr(eq + 1);
      name_.resize(eq);
      inline_ = true;
    }
    return true;
  }
  const std::string& name() const { return name_; }

  // The option's value: after '=' or the next argument. False when there is none (or, with
  // `non_empty`, when it is empty).
  bool value(std::string& out, bool non_empty = false) {
    if (inline_) {
      out = inline_value_;
    } else if (i_ + 1 < argc_) {
      out = argv_[++i_];
    } else {
      return false;
    }
    return !non_empty || !out.empty();
  }

  // For an option whose value may be left out ("--nss" or "--nss DIR"): the value after '='
  // or the next argument unless that is an option itself. False when there is none.
  bool optionalValue(std::string& out) {
    if (inline_) {
      out = inline_value_;
      return true;
    }
    if (i_ + 1 >= argc_ || argv_[i_ + 1][0] == '-') return false;
    out = argv_[++i_];
    return true;
  }

 private:
  int argc_;
  char** argv_;
  int i_;
  std::string name_;
  std::string inline_value_;
  bool inline_ = false;
};

}  // namespace interpose
