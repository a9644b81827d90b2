// libFuzzer target: the HTTP/1 parser (llhttp underneath, our header checks, the chunked
// decoder), as a request parser and as a response parser, fed in pieces the way reads come.
// The first input byte picks the type and the split size.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "source/http/http1/parser.h"

namespace {

using interpose::HeaderMap;
using interpose::http1::MessageHead;
using interpose::http1::Parser;

class Sink : public Parser::Handler {
 public:
  int onHeaders(MessageHead& head) override {
    // Touch what a connection manager reads, so sanitizers see every field used.
    size_t total = head.method.size() + head.target.size();
    for (const auto& [name, value] : *head.headers) total += name.size() + value.size();
    bytes += total;
    return head.method == "HEAD" ? Parser::kSkipBody : Parser::kParseBody;
  }
  void onBody(std::string_view data) override { bytes += data.size(); }
  void onMessageComplete(std::unique_ptr<HeaderMap> trailers) override {
    if (trailers) bytes += trailers->size();
  }
  size_t bytes = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool response = data[0] & 1;
  const size_t piece = 1 + (data[0] >> 1);  // 1..128 bytes per read
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  Sink sink;
  Parser parser(response ? Parser::Type::Response : Parser::Type::Request, sink, 8 * 1024);
  while (!input.empty()) {
    std::string_view read = input.substr(0, piece);
    while (!read.empty()) {
      size_t consumed = 0;
      auto result = parser.execute(read, consumed);
      if (result == Parser::Result::Error) return 0;
      read.remove_prefix(consumed);
      input.remove_prefix(consumed);
      if (result == Parser::Result::Upgrade) return 0;  // the rest is another protocol's
      if (result == Parser::Result::Paused) parser.resume();
      if (result == Parser::Result::Ok) break;
    }
  }
  parser.finish();
  return 0;
}
