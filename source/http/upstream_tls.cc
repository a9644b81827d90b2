#include "source/http/upstream_tls.h"

#include <boost/asio/ip/address.hpp>

#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/network/tls_pipe.h"

namespace interpose::http {
namespace {

// What a client SSL needs to hand a new session to the cache: which cache, which origin.
struct SessionSlot {
  std::shared_ptr<TlsSessionCache> cache;
  std::string origin;
};

void freeSessionSlot(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*index*/, long /*argl*/,
                     void* /*argp*/) {
  delete static_cast<SessionSlot*>(ptr);
}

int sessionSlotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, freeSessionSlot);
  return index;
}

// BoringSSL calls this when the origin issues a session (TLS 1.3: a ticket after the
// handshake, possibly several; TLS 1.2: at the end of the handshake).
int onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<SessionSlot*>(SSL_get_ex_data(ssl, sessionSlotIndex()));
  if (slot == nullptr) return 0;
  slot->cache->add(slot->origin, bssl::UniquePtr<SSL_SESSION>(session));
  return 1;  // the cache owns the reference now
}

}  // namespace

std::string UpstreamTls::originKey(const std::string& host, uint16_t port) { return str::cat(host, ":", port); }

std::shared_ptr<const UpstreamTls> UpstreamTls::parse(const ConfigNode& node) {
  node.expectMap({"ca_file", "verify", "client_cert", "client_key", "alpn", "session_cache_size"});
  auto tls = std::make_shared<UpstreamTls>();
  tls->ctx_.reset(SSL_CTX_new(TLS_method()));
  SSL_CTX* ctx = tls->ctx_.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  // Offered to origins in this order; the origin picks (default: HTTP/2 if it can).
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  if (node.has("alpn")) {
    alpn.clear();
    for (const auto& p : node.child("alpn").list()) alpn.push_back(p.oneOf({"h2", "http/1.1"}));
    if (alpn.empty()) node.child("alpn").fail("expected at least one of h2, http/1.1");
  }
  std::string wire;
  for (const auto& p : alpn) wire += str::cat(static_cast<char>(p.size()), p);
  SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const uint8_t*>(wire.data()), wire.size());

  tls->verify_ = node.boolean("verify", true);
  std::string ca_file = node.str("ca_file", kSystemTrustStore);
  if (!SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr)) {
    (node.has("ca_file") ? node.child("ca_file") : node)
        .fail(str::cat("cannot load trusted CA certificates from ", ca_file, ": ", network::lastTlsError()));
  }
  if (tls->verify_) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    log::warn("*** ", node.location(),
              ": upstream_tls.verify is false: origin certificates are NOT checked; "
              "anyone on the path to an origin can read and change its traffic ***");
  }
  if (node.has("client_cert") != node.has("client_key")) {
    node.fail("client_cert and client_key go together (mutual TLS)");
  }
  if (node.has("client_cert")) {
    std::string cert = node.child("client_cert").str();
    std::string key = node.child("client_key").str();
    if (!SSL_CTX_use_certificate_chain_file(ctx, cert.c_str())) {
      node.child("client_cert").fail(str::cat("cannot load ", cert, ": ", network::lastTlsError()));
    }
    if (!SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM)) {
      node.child("client_key").fail(str::cat("cannot load ", key, ": ", network::lastTlsError()));
    }
    if (!SSL_CTX_check_private_key(ctx)) {
      node.child("client_key").fail(str::cat(key, " does not match the certificate in ", cert));
    }
  }
  if (int64_t origins = node.integer("session_cache_size", kDefaultSessionCacheSize, 0, 1'000'000); origins > 0) {
    tls->sessions_ = std::make_shared<TlsSessionCache>(static_cast<size_t>(origins));
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
    SSL_CTX_sess_set_new_cb(ctx, onNewSession);
  }
  // The same trust and sessions, offering only HTTP/1.1: for upgrades (WebSocket), which
  // must not land on an HTTP/2 connection.
  auto view = std::make_unique<UpstreamTls>();
  SSL_CTX_up_ref(ctx);
  view->ctx_.reset(ctx);
  view->verify_ = tls->verify_;
  view->sessions_ = tls->sessions_;
  view->http1_only_ = true;
  tls->http1_view_ = std::move(view);
  return tls;
}

bssl::UniquePtr<SSL> UpstreamTls::newClient(const std::string& host, uint16_t port) const {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
  SSL_set_connect_state(ssl.get());
  if (http1_only_) {
    static constexpr uint8_t kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(ssl.get(), kHttp11, sizeof(kHttp11));
  }
  if (sessions_) {
    auto* slot = new SessionSlot{sessions_, originKey(host, port)};
    SSL_set_ex_data(ssl.get(), sessionSlotIndex(), slot);  // freed with the SSL
    if (auto session = sessions_->take(slot->origin)) SSL_set_session(ssl.get(), session.get());
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  if (ec) {
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    X509_VERIFY_PARAM_set1_host(param, host.data(), host.size());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());  // an IP literal: no SNI, check the IP SAN
  }
  return ssl;
}

}  // namespace interpose::http
