// libFuzzer target: the ClientHello parser of the tls_inspector (the first bytes of every
// connection on a listener that inspects TLS), on every prefix length a read could give.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "source/network/client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (size_t n : {size / 3, size / 2, size}) {
    interpose::network::ClientHello hello;
    if (hello.parse(input.substr(0, n)) == interpose::network::ClientHello::Result::Tls) {
      size_t total = hello.sni.size();
      for (const auto& p : hello.alpn) total += p.size();
      (void)total;
    }
  }
  return 0;
}
