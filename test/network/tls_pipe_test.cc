#include "source/network/tls_pipe.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>

#include "test/tls/test_util.h"

namespace interpose::network {
namespace {

// A client and a server TlsPipe joined in memory: what one produces, the other receives.
class TlsPipeTest : public testing::TestWithParam<uint16_t> {
 protected:
  void SetUp() override {
    auto made = tls::testing::makeCert({.ca = false});
    server_ctx_.reset(SSL_CTX_new(TLS_method()));
    ASSERT_TRUE(SSL_CTX_use_certificate(server_ctx_.get(), made.cert.get()));
    ASSERT_TRUE(SSL_CTX_use_PrivateKey(server_ctx_.get(), made.key.get()));
    client_ctx_.reset(SSL_CTX_new(TLS_method()));
    for (SSL_CTX* ctx : {server_ctx_.get(), client_ctx_.get()}) {
      SSL_CTX_set_min_proto_version(ctx, GetParam());
      SSL_CTX_set_max_proto_version(ctx, GetParam());
    }
    bssl::UniquePtr<SSL> server(SSL_new(server_ctx_.get()));
    SSL_set_accept_state(server.get());
    bssl::UniquePtr<SSL> client(SSL_new(client_ctx_.get()));
    SSL_set_connect_state(client.get());
    server_ = std::make_unique<TlsPipe>(std::move(server));
    client_ = std::make_unique<TlsPipe>(std::move(client));

    Buffer to_server, to_client, plain;
    ASSERT_TRUE(client_->startHandshake(to_server));
    for (int i = 0; i < 10 && !(client_->handshakeDone() && server_->handshakeDone()); ++i) {
      ASSERT_TRUE(server_->receive(to_server, plain, to_client)) << server_->error();
      ASSERT_TRUE(client_->receive(to_client, plain, to_server)) << client_->error();
    }
    ASSERT_TRUE(client_->handshakeDone() && server_->handshakeDone());
    ASSERT_TRUE(plain.empty());
    if (!to_server.empty()) ASSERT_TRUE(server_->receive(to_server, plain, to_client));
  }

  bssl::UniquePtr<SSL_CTX> server_ctx_, client_ctx_;
  std::unique_ptr<TlsPipe> server_, client_;
};

TEST_P(TlsPipeTest, SeveralRecordsInOneReceiveAllArrive) {
  Buffer wire;
  std::string expected;
  for (int i = 0; i < 5; ++i) {
    std::string piece(100 + i * 5000, static_cast<char>('a' + i));  // up to 20 KB: two records
    expected += piece;
    Buffer plain(piece);
    ASSERT_TRUE(server_->send(plain, false, wire));
  }
  Buffer got, back;
  ASSERT_TRUE(client_->receive(wire, got, back)) << client_->error();
  EXPECT_TRUE(wire.empty());
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got.view() == expected);
}

TEST_P(TlsPipeTest, RecordsSplitAnywhereArriveWhole) {
  Buffer wire;
  std::string expected(40000, 'x');
  for (size_t i = 0; i < expected.size(); i += 7) expected[i] = static_cast<char>('a' + i % 26);
  Buffer plain(expected);
  ASSERT_TRUE(server_->send(plain, false, wire));
  std::string all(wire.view());
  Buffer got, back;
  for (size_t at = 0; at < all.size(); at += 333) {  // 333-byte pieces: headers split too
    Buffer piece(std::string_view(all).substr(at, 333));
    ASSERT_TRUE(client_->receive(piece, got, back)) << client_->error();
  }
  EXPECT_TRUE(got.view() == expected);
}

TEST_P(TlsPipeTest, DataAndCloseNotifyTogetherGiveBoth) {
  Buffer wire;
  Buffer plain("last words");
  ASSERT_TRUE(server_->send(plain, true, wire));  // data, then close_notify
  Buffer got, back;
  ASSERT_TRUE(client_->receive(wire, got, back)) << client_->error();
  EXPECT_EQ(got.view(), "last words");
  EXPECT_TRUE(client_->peerClosed());
}

TEST_P(TlsPipeTest, CorruptRecordFails) {
  Buffer wire;
  Buffer plain("payload");
  ASSERT_TRUE(server_->send(plain, false, wire));
  std::string bytes(wire.view());
  bytes[bytes.size() - 3] ^= 0x55;
  Buffer corrupt(bytes), got, back;
  EXPECT_FALSE(client_->receive(corrupt, got, back));
  EXPECT_FALSE(client_->error().empty());
  EXPECT_TRUE(got.empty());
}

TEST_P(TlsPipeTest, DestroyingThePipeFreesItsBio) {
  // Hold a reference of our own: once the pipe (and its SSL) is gone, ours must be the last,
  // so BIO_free really frees it (it returns 0 while other references remain).
  BIO* bio = SSL_get_rbio(client_->ssl());
  ASSERT_EQ(bio, SSL_get_wbio(client_->ssl()));
  BIO_up_ref(bio);
  client_.reset();
  EXPECT_EQ(BIO_free(bio), 1) << "a TLS connection leaked its BIO";
}

INSTANTIATE_TEST_SUITE_P(Versions, TlsPipeTest, testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const auto& info) { return info.param == TLS1_2_VERSION ? "Tls12" : "Tls13"; });

}  // namespace
}  // namespace interpose::network
