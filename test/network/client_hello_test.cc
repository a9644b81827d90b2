#include "source/network/client_hello.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>

namespace interpose::network {
namespace {

// A real ClientHello from BoringSSL, with the given SNI and ALPN offers.
std::string makeClientHello(const char* sni, const std::string& alpn_wire) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(rbio, -1);
  SSL_set_bio(ssl.get(), rbio, wbio);
  SSL_set_connect_state(ssl.get());
  if (sni) SSL_set_tlsext_host_name(ssl.get(), sni);
  if (!alpn_wire.empty()) {
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const uint8_t*>(alpn_wire.data()), alpn_wire.size());
  }
  SSL_do_handshake(ssl.get());
  std::string out(BIO_pending(wbio), '\0');
  BIO_read(wbio, out.data(), static_cast<int>(out.size()));
  return out;
}

TEST(ClientHelloTest, ReadsSniAndAlpn) {
  std::string hello = makeClientHello("www.example.com", std::string("\x02h2\x08http/1.1", 12));
  ClientHello parsed;
  ASSERT_EQ(parsed.parse(hello), ClientHello::Result::Tls);
  EXPECT_EQ(parsed.sni, "www.example.com");
  ASSERT_EQ(parsed.alpn.size(), 2u);
  EXPECT_EQ(parsed.alpn[0], "h2");
  EXPECT_EQ(parsed.alpn[1], "http/1.1");
}

TEST(ClientHelloTest, NoSniNoAlpn) {
  ClientHello parsed;
  ASSERT_EQ(parsed.parse(makeClientHello(nullptr, "")), ClientHello::Result::Tls);
  EXPECT_TRUE(parsed.sni.empty());
  EXPECT_TRUE(parsed.alpn.empty());
}

TEST(ClientHelloTest, NeedsTheWholeRecord) {
  std::string hello = makeClientHello("a.example", "");
  ClientHello parsed;
  for (size_t n : {size_t{0}, size_t{1}, size_t{4}, size_t{5}, hello.size() / 2, hello.size() - 1}) {
    EXPECT_EQ(parsed.parse(std::string_view(hello).substr(0, n)), ClientHello::Result::NeedMore) << n;
  }
  EXPECT_EQ(parsed.parse(hello), ClientHello::Result::Tls);
}

TEST(ClientHelloTest, PlainHttpAndGarbageAreNotTls) {
  ClientHello parsed;
  EXPECT_EQ(parsed.parse("GET / HTTP/1.1\r\n"), ClientHello::Result::NotTls);
  EXPECT_EQ(parsed.parse(std::string("\x16\x09\x01", 3)), ClientHello::Result::NotTls);  // bad version
  // A handshake record whose message is not a ClientHello.
  EXPECT_EQ(parsed.parse(std::string("\x16\x03\x01\x00\x04\x02\x00\x00\x00", 9)), ClientHello::Result::NotTls);
  // A truncated ClientHello body inside a complete record: malformed.
  EXPECT_EQ(parsed.parse(std::string("\x16\x03\x01\x00\x06\x01\x00\x00\x02\x03\x03", 11)), ClientHello::Result::NotTls);
}

}  // namespace
}  // namespace interpose::network
