// The fields of minted leaf certificates, and that clients accept them.

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/nid.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "source/tls/ca_generator.h"
#include "source/tls/ca_provider.h"
#include "source/tls/openssl_util.h"
#include "test/tls/test_util.h"

namespace interpose::tls {
namespace {

using testing::makeCert;
using testing::nowUnix;
using testing::parse;

constexpr int64_t kDay = 86400;

std::shared_ptr<const CertificateAuthority> generatedAuthority() {
  auto generated = generateCa(nowUnix());
  EXPECT_TRUE(generated.ok());
  auto ca = CertificateAuthority::create(std::move(generated->cert), std::move(generated->key), "ca.pem", "ca.key",
                                         nowUnix());
  EXPECT_TRUE(ca.ok()) << ca.status();
  return *ca;
}

std::shared_ptr<CaProvider> makeProvider(std::shared_ptr<const CertificateAuthority> ca,
                                         CaProviderOptions options = {}) {
  auto provider = CaProvider::create("test", std::move(ca), std::move(options));
  EXPECT_TRUE(provider.ok()) << provider.status();
  return *provider;
}

int64_t unixOf(const ASN1_TIME* t) {
  int64_t out = 0;
  EXPECT_TRUE(asn1TimeToUnix(t, out));
  return out;
}

std::string commonName(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
}

// The SAN entries as (type, value).
std::vector<std::pair<int, std::string>> subjectAltNames(X509* cert) {
  std::vector<std::pair<int, std::string>> out;
  bssl::UniquePtr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (size_t i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    const ASN1_STRING* value = name->type == GEN_DNS ? name->d.dNSName : name->d.iPAddress;
    out.emplace_back(name->type, std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                             ASN1_STRING_length(value)));
  }
  return out;
}

bool extensionCritical(X509* cert, int nid) {
  int i = X509_get_ext_by_NID(cert, nid, -1);
  EXPECT_GE(i, 0) << OBJ_nid2sn(nid);
  return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, i));
}

// Verifies `leaf` against `ca` alone, for a TLS server.
int verify(X509* leaf, X509* ca) {
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca);
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

class MintTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ca_ = generatedAuthority(); }
  static void TearDownTestSuite() { ca_.reset(); }
  static std::shared_ptr<const CertificateAuthority> ca_;
};
std::shared_ptr<const CertificateAuthority> MintTest::ca_;

TEST_F(MintTest, DnsLeafFields) {
  auto provider = makeProvider(ca_);
  auto cert = provider->certificateFor("WWW.Example.com");
  ASSERT_TRUE(cert.ok()) << cert.status();
  ASSERT_EQ((*cert)->chainLength(), 2u);
  bssl::UniquePtr<X509> leaf = parse((*cert)->chain()[0]);
  ASSERT_TRUE(leaf);
  // The second element is the CA certificate itself.
  EXPECT_EQ(CRYPTO_BUFFER_len((*cert)->chain()[1]), CRYPTO_BUFFER_len(ca_->der()));
  EXPECT_EQ(0, memcmp(CRYPTO_BUFFER_data((*cert)->chain()[1]), CRYPTO_BUFFER_data(ca_->der()),
                      CRYPTO_BUFFER_len(ca_->der())));

  EXPECT_EQ(X509_get_version(leaf.get()), X509_VERSION_3);
  EXPECT_EQ(commonName(leaf.get()), "www.example.com");
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(leaf.get()), X509_get_subject_name(ca_->cert())), 0);
  auto sans = subjectAltNames(leaf.get());
  ASSERT_EQ(sans.size(), 1u);
  EXPECT_EQ(sans[0].first, GEN_DNS);
  EXPECT_EQ(sans[0].second, "www.example.com");
  EXPECT_FALSE(extensionCritical(leaf.get(), NID_subject_alt_name));

  // AKI = the CA's SKI; SKI = SHA-1 of the leaf key.
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf.get());
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)), ASN1_STRING_length(aki)),
            ca_->keyId());
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(leaf.get());
  ASSERT_NE(ski, nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)), ASN1_STRING_length(ski)),
            keyIdentifier(leaf.get()));

  uint32_t flags = X509_get_extension_flags(leaf.get());
  EXPECT_TRUE(flags & EXFLAG_BCONS);
  EXPECT_FALSE(flags & EXFLAG_CA);
  EXPECT_FALSE(flags & EXFLAG_INVALID);
  EXPECT_TRUE(extensionCritical(leaf.get(), NID_basic_constraints));
  EXPECT_EQ(X509_get_key_usage(leaf.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_TRUE(extensionCritical(leaf.get(), NID_key_usage));
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()), static_cast<uint32_t>(XKU_SSL_SERVER));

  // Validity: from a day ago, 397 days at most.
  int64_t now = nowUnix();
  int64_t not_before = unixOf(X509_get0_notBefore(leaf.get()));
  int64_t not_after = unixOf(X509_get0_notAfter(leaf.get()));
  EXPECT_NEAR(not_before, now - kDay, 60);
  EXPECT_NEAR(not_after, now + 397 * kDay, 60);
  EXPECT_LE(not_after - not_before, 398 * kDay);

  // P-256 key that belongs to the certificate.
  EVP_PKEY* key = (*cert)->key();
  ASSERT_EQ(EVP_PKEY_id(key), EVP_PKEY_EC);
  EXPECT_EQ(EC_GROUP_get_curve_name(EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(key))), NID_X9_62_prime256v1);
  EXPECT_EQ(X509_check_private_key(leaf.get(), key), 1);

  // Signed by the CA with SHA-256; a client that trusts only the CA accepts it for the host.
  EXPECT_EQ(X509_get_signature_nid(leaf.get()), NID_ecdsa_with_SHA256);
  bssl::UniquePtr<EVP_PKEY> ca_public(X509_get_pubkey(ca_->cert()));
  EXPECT_EQ(X509_verify(leaf.get(), ca_public.get()), 1);
  EXPECT_EQ(verify(leaf.get(), ca_->cert()), X509_V_OK);
  EXPECT_EQ(X509_check_host(leaf.get(), "www.example.com", 15, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(leaf.get(), "other.example.com", 17, 0, nullptr), 1);
}

TEST_F(MintTest, Ipv4Leaf) {
  auto cert = makeProvider(ca_)->certificateFor("192.0.2.7");
  ASSERT_TRUE(cert.ok()) << cert.status();
  bssl::UniquePtr<X509> leaf = parse((*cert)->chain()[0]);
  auto sans = subjectAltNames(leaf.get());
  ASSERT_EQ(sans.size(), 1u);
  EXPECT_EQ(sans[0].first, GEN_IPADD);
  EXPECT_EQ(sans[0].second, std::string("\xc0\x00\x02\x07", 4));
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "192.0.2.7", 0), 1);
  EXPECT_EQ(verify(leaf.get(), ca_->cert()), X509_V_OK);
}

TEST_F(MintTest, Ipv6Leaf) {
  auto cert = makeProvider(ca_)->certificateFor("2001:DB8::42");
  ASSERT_TRUE(cert.ok()) << cert.status();
  bssl::UniquePtr<X509> leaf = parse((*cert)->chain()[0]);
  auto sans = subjectAltNames(leaf.get());
  ASSERT_EQ(sans.size(), 1u);
  EXPECT_EQ(sans[0].first, GEN_IPADD);
  EXPECT_EQ(sans[0].second.size(), 16u);
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "2001:db8::42", 0), 1);
  EXPECT_EQ(commonName(leaf.get()), "2001:db8::42");
}

TEST_F(MintTest, LongNameHasNoCommonNameAndCriticalSan) {
  // 70 characters (labels of at most 63): too long for a CN.
  std::string host = std::string(30, 'a') + "." + std::string(31, 'b') + ".example";
  ASSERT_EQ(host.size(), 70u);
  auto cert = makeProvider(ca_)->certificateFor(host);
  ASSERT_TRUE(cert.ok()) << cert.status();
  bssl::UniquePtr<X509> leaf = parse((*cert)->chain()[0]);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(leaf.get())), 0);
  EXPECT_TRUE(extensionCritical(leaf.get(), NID_subject_alt_name));
  EXPECT_EQ(subjectAltNames(leaf.get()).at(0).second, host);
  EXPECT_EQ(verify(leaf.get(), ca_->cert()), X509_V_OK);
  EXPECT_EQ(X509_check_host(leaf.get(), host.data(), host.size(), 0, nullptr), 1);
}

TEST_F(MintTest, CommonNameUpTo64Bytes) {
  std::string host = std::string(59, 'c') + ".test";
  ASSERT_EQ(host.size(), 64u);
  auto cert = makeProvider(ca_)->certificateFor(host);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(commonName(parse((*cert)->chain()[0]).get()), host);
}

TEST_F(MintTest, SerialIsRandomPositive128Bit) {
  auto provider = makeProvider(ca_);
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    auto cert = provider->certificateFor("host" + std::to_string(i) + ".test");
    ASSERT_TRUE(cert.ok());
    bssl::UniquePtr<X509> leaf = parse((*cert)->chain()[0]);
    const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf.get());
    EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);  // not V_ASN1_NEG_INTEGER
    bssl::UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
    EXPECT_FALSE(BN_is_negative(bn.get()));
    EXPECT_GT(BN_num_bits(bn.get()), 120u);
    EXPECT_LE(BN_num_bits(bn.get()), 128u);
    serials.insert(hex(ASN1_STRING_get0_data(serial), ASN1_STRING_length(serial)));
  }
  EXPECT_EQ(serials.size(), 20u);
}

TEST_F(MintTest, OneSharedLeafKeyByDefault) {
  auto provider = makeProvider(ca_);
  auto a = provider->certificateFor("a.test");
  auto b = provider->certificateFor("b.test");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->key(), (*b)->key());
  EXPECT_EQ((*a)->key(), provider->minter()->sharedKey());
}

TEST_F(MintTest, PerHostKeys) {
  CaProviderOptions options;
  options.per_host_keys = true;
  auto provider = makeProvider(ca_, options);
  EXPECT_EQ(provider->minter()->sharedKey(), nullptr);
  auto a = provider->certificateFor("a.test");
  auto b = provider->certificateFor("b.test");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(EVP_PKEY_cmp((*a)->key(), (*b)->key()), 1);
  for (const std::shared_ptr<const ServerCertificate>& cert : {*a, *b}) {
    bssl::UniquePtr<X509> leaf = parse(cert->chain()[0]);
    EXPECT_EQ(X509_check_private_key(leaf.get(), cert->key()), 1);
    EXPECT_EQ(EVP_PKEY_id(cert->key()), EVP_PKEY_EC);
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(leaf.get());
    ASSERT_NE(ski, nullptr);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)), ASN1_STRING_length(ski)),
              keyIdentifier(leaf.get()));
    EXPECT_EQ(verify(leaf.get(), ca_->cert()), X509_V_OK);
  }
}

TEST_F(MintTest, ShorterLeafValidity) {
  CaProviderOptions options;
  options.leaf_validity = std::chrono::hours(24 * 30);
  auto cert = makeProvider(ca_, options)->certificateFor("short.test");
  ASSERT_TRUE(cert.ok());
  bssl::UniquePtr<X509> leaf = parse((*cert)->chain()[0]);
  EXPECT_NEAR(unixOf(X509_get0_notAfter(leaf.get())), nowUnix() + 30 * kDay, 60);
}

TEST_F(MintTest, NeverOutlivesTheCa) {
  testing::CertSpec spec;
  spec.not_after_offset = 10 * kDay;
  auto made = makeCert(spec);
  int64_t ca_not_after = unixOf(X509_get0_notAfter(made.cert.get()));
  auto ca = CertificateAuthority::create(std::move(made.cert), std::move(made.key), "ca.pem", "ca.key", nowUnix());
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto cert = makeProvider(*ca)->certificateFor("capped.test");
  ASSERT_TRUE(cert.ok());
  bssl::UniquePtr<X509> leaf = parse((*cert)->chain()[0]);
  EXPECT_EQ(unixOf(X509_get0_notAfter(leaf.get())), ca_not_after);
  EXPECT_EQ(verify(leaf.get(), (*ca)->cert()), X509_V_OK);
}

TEST_F(MintTest, RsaCaSignsWithSha256) {
  testing::CertSpec spec;
  spec.rsa = true;
  auto made = makeCert(spec);
  auto ca = CertificateAuthority::create(std::move(made.cert), std::move(made.key), "ca.pem", "ca.key", nowUnix());
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto cert = makeProvider(*ca)->certificateFor("rsa.test");
  ASSERT_TRUE(cert.ok()) << cert.status();
  bssl::UniquePtr<X509> leaf = parse((*cert)->chain()[0]);
  EXPECT_EQ(X509_get_signature_nid(leaf.get()), NID_sha256WithRSAEncryption);
  EXPECT_EQ(EVP_PKEY_id((*cert)->key()), EVP_PKEY_EC);  // the leaf is still P-256
  EXPECT_EQ(verify(leaf.get(), (*ca)->cert()), X509_V_OK);
}

TEST_F(MintTest, CaWithoutSubjectKeyIdGetsComputedAki) {
  testing::CertSpec spec;
  spec.subject_key_id = false;
  auto made = makeCert(spec);
  std::string expected = keyIdentifier(made.cert.get());
  auto ca = CertificateAuthority::create(std::move(made.cert), std::move(made.key), "ca.pem", "ca.key", nowUnix());
  ASSERT_TRUE(ca.ok());
  auto cert = makeProvider(*ca)->certificateFor("aki.test");
  ASSERT_TRUE(cert.ok());
  bssl::UniquePtr<X509> leaf = parse((*cert)->chain()[0]);
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf.get());
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)), ASN1_STRING_length(aki)), expected);
}

TEST_F(MintTest, InvalidHostsAreErrors) {
  auto provider = makeProvider(ca_);
  for (const char* bad : {"", "bad host", "a_b.test", "*.example.com", "fe80::1%eth0"}) {
    EXPECT_FALSE(provider->certificateFor(bad).ok()) << bad;
  }
  EXPECT_EQ(provider->mintedCount(), 0u);
  EXPECT_EQ(provider->cacheSize(), 0u);
}

// The chain and key work as they are in a real BoringSSL handshake, and a client that trusts
// only the CA and checks the host name accepts it.
TEST_F(MintTest, TlsHandshakeWithMintedCertificate) {
  auto cert = makeProvider(ca_)->certificateFor("handshake.test");
  ASSERT_TRUE(cert.ok());

  bssl::UniquePtr<SSL_CTX> server_ctx(SSL_CTX_new(TLS_method()));
  bssl::UniquePtr<SSL_CTX> client_ctx(SSL_CTX_new(TLS_method()));
  X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx.get()), ca_->cert());
  SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_PEER, nullptr);
  bssl::UniquePtr<SSL> server(SSL_new(server_ctx.get()));
  bssl::UniquePtr<SSL> client(SSL_new(client_ctx.get()));
  ASSERT_EQ(SSL_set_chain_and_key(server.get(), (*cert)->chain(), (*cert)->chainLength(), (*cert)->key(), nullptr), 1);
  SSL_set_tlsext_host_name(client.get(), "handshake.test");
  // BoringSSL rejects (and poisons the params on) a zero length, unlike OpenSSL.
  X509_VERIFY_PARAM_set1_host(SSL_get0_param(client.get()), "handshake.test", strlen("handshake.test"));

  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0), 1);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());

  bool client_done = false;
  bool server_done = false;
  for (int i = 0; i < 20 && !(client_done && server_done); ++i) {
    if (!client_done) {
      int rc = SSL_do_handshake(client.get());
      client_done = rc == 1;
      ASSERT_TRUE(rc == 1 || SSL_get_error(client.get(), rc) == SSL_ERROR_WANT_READ)
          << "client: " << SSL_get_error(client.get(), rc) << " verify " << SSL_get_verify_result(client.get()) << " "
          << takeSslError();
    }
    if (!server_done) {
      int rc = SSL_do_handshake(server.get());
      server_done = rc == 1;
      ASSERT_TRUE(rc == 1 || SSL_get_error(server.get(), rc) == SSL_ERROR_WANT_READ) << "server: " << takeSslError();
    }
  }
  EXPECT_TRUE(client_done && server_done);
  EXPECT_EQ(SSL_get_verify_result(client.get()), X509_V_OK);
}

}  // namespace
}  // namespace interpose::tls
