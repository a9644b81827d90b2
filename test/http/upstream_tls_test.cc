#include "source/http/upstream_tls.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <functional>
#include <memory>

#include "source/http/upstream_pool.h"
#include "source/network/tls_pipe.h"
#include "test/http/fake_filter_callbacks.h"
#include "test/tls/test_util.h"

namespace interpose::http {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A real handshake in memory between a client of `tls` for `host`:`port` and a TLS 1.3 server
// with a self-signed certificate; the server's session tickets reach the client too.
void handshakeInMemory(const UpstreamTls& tls, const std::string& host, uint16_t port) {
  auto made = tls::testing::makeCert({.ca = false});
  bssl::UniquePtr<SSL_CTX> server_ctx(SSL_CTX_new(TLS_method()));
  ASSERT_TRUE(SSL_CTX_use_certificate(server_ctx.get(), made.cert.get()));
  ASSERT_TRUE(SSL_CTX_use_PrivateKey(server_ctx.get(), made.key.get()));
  SSL_CTX_set_min_proto_version(server_ctx.get(), TLS1_3_VERSION);
  bssl::UniquePtr<SSL> server_ssl(SSL_new(server_ctx.get()));
  SSL_set_accept_state(server_ssl.get());
  network::TlsPipe server(std::move(server_ssl));
  network::TlsPipe client(tls.newClient(host, port));
  Buffer to_server, to_client, plain;
  ASSERT_TRUE(client.startHandshake(to_server));
  for (int i = 0; i < 10 && !(to_server.empty() && to_client.empty()); ++i) {
    ASSERT_TRUE(server.receive(to_server, plain, to_client)) << server.error();
    ASSERT_TRUE(client.receive(to_client, plain, to_server)) << client.error();
  }
  ASSERT_TRUE(client.handshakeDone() && server.handshakeDone());
  // The server's tickets leave with its first data.
  Buffer hello("hello");
  ASSERT_TRUE(server.send(hello, false, to_client));
  ASSERT_TRUE(client.receive(to_client, plain, to_server)) << client.error();
  ASSERT_EQ(plain.toString(), "hello");
}

TEST(UpstreamTlsTest, SessionCacheSizeZeroTurnsResumptionOff) {
  EXPECT_EQ(UpstreamTls::parse(interpose::testing::configNode("{ session_cache_size: 0 }"))->sessions(), nullptr);
  EXPECT_NE(UpstreamTls::parse(interpose::testing::configNode("{}"))->sessions(), nullptr);
}

TEST(UpstreamTlsTest, FailedResumedHandshakeForgetsSessionsAndRetriesOnce) {
  asio::io_context io;
  // An "origin" that reads the ClientHello and hangs up.
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  int connections = 0;
  std::function<void()> accept_next = [&] {
    auto peer = std::make_shared<tcp::socket>(io);
    acceptor.async_accept(*peer, [&, peer](boost::system::error_code ec) {
      if (ec) return;
      ++connections;
      auto hello = std::make_shared<std::array<char, 4096>>();
      peer->async_read_some(asio::buffer(*hello), [peer, hello](boost::system::error_code, size_t) { peer->close(); });
      accept_next();
    });
  };
  accept_next();

  auto tls = UpstreamTls::parse(interpose::testing::configNode("{ verify: false }"));
  const std::string origin = UpstreamTls::originKey("127.0.0.1", port);
  handshakeInMemory(*tls, "127.0.0.1", port);
  // BoringSSL servers issue two TLS 1.3 tickets per connection; the client kept both.
  ASSERT_EQ(tls->sessions()->sessions(origin), 2u);

  UpstreamPool pool(io, UpstreamPool::Options{});
  auto alive = std::make_shared<int>(0);
  std::optional<UpstreamPool::Result> result;
  pool.acquire(
      "127.0.0.1", port, tls.get(),
      [&](UpstreamPool::Result r) {
        result = std::move(r);
        io.stop();
      },
      alive);
  io.run_for(std::chrono::seconds(10));

  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->tls_failure) << result->error;
  // The first handshake offered a session; when it failed, the origin's other session was
  // forgotten too, and the one retry was a full handshake (which failed the same way).
  EXPECT_EQ(connections, 2);
  EXPECT_EQ(tls->sessions()->sessions(origin), 0u);
}

}  // namespace
}  // namespace interpose::http
