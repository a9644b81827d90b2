#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace interpose::network {

// What the tls_inspector learns from the first bytes of a connection, without consuming
// them: whether they are a TLS ClientHello, and if so its SNI and ALPN offers.
struct ClientHello {
  enum class Result {
    NeedMore,  // not enough bytes yet to decide
    NotTls,    // the bytes are not a TLS handshake (plain HTTP, garbage, ...)
    Tls,       // a ClientHello; sni and alpn are filled in (either may be empty)
  };
  std::string sni;
  std::vector<std::string> alpn;

  // Parses `data` (the bytes received so far). The ClientHello must fit in the first TLS
  // record (16 KiB), which every mainstream client does.
  Result parse(std::string_view data);
};

}  // namespace interpose::network
