#include "source/filters/network/tls_intercept/config.h"

#include "api/interpose/strings.h"
#include "source/filters/network/tls_intercept/tls_intercept.h"

namespace interpose::tls_intercept {
namespace {

int certCallback(SSL* ssl, void*) {
  TlsIntercept* filter = TlsIntercept::fromSsl(ssl);
  return filter ? filter->selectCertificate(ssl) : 0;
}

// Tells the filter which alert a client sent (an encrypted one, which BoringSSL read).
void infoCallback(const SSL* ssl, int where, int value) {
  // (SSL_CB_WRITE_ALERT shares a bit with SSL_CB_READ_ALERT: compare the whole mask.)
  if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT) return;
  TlsIntercept* filter = TlsIntercept::fromSsl(const_cast<SSL*>(ssl));
  if (filter) filter->onClientAlert(static_cast<uint8_t>(value & 0xff));
}

// Picks the first protocol of ours that the client offers; none in common: no ALPN.
int alpnCallback(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len, void* arg) {
  const auto* config = static_cast<const TlsInterceptConfig*>(arg);
  for (const auto& ours : config->alpn) {
    for (unsigned i = 0; i < in_len;) {
      unsigned len = in[i];
      if (i + 1 + len > in_len) break;
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == ours) {
        *out = in + i + 1;
        *out_len = static_cast<uint8_t>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::shared_ptr<TlsInterceptConfig> parseTlsInterceptConfig(const ConfigNode& config, FactoryContext& context) {
  config.expectMap(
      {"cert_provider", "alpn", "default_server_name", "handshake_timeout", "remember_rejections", "min_tls_version"});
  auto out = std::make_shared<TlsInterceptConfig>();
  ConfigNode provider = config.required("cert_provider");
  out->provider = context.certProvider(provider.str());
  if (!out->provider) provider.fail(str::cat("no cert provider named '", provider.str(), "' under cert_providers"));
  if (config.has("alpn")) {
    out->alpn.clear();
    for (const auto& p : config.child("alpn").list()) {
      std::string proto = p.oneOf({"h2", "http/1.1"});
      out->alpn.push_back(proto);
    }
  }
  for (const auto& p : out->alpn) out->alpn_wire += str::cat(static_cast<char>(p.size()), p);
  out->default_server_name = config.str("default_server_name", "");
  out->handshake_timeout = config.duration("handshake_timeout", out->handshake_timeout);
  out->remember_rejections = config.duration("remember_rejections", out->remember_rejections);
  out->rejections = network::RejectionMemory::shared(context);
  std::string min_version =
      config.has("min_tls_version") ? config.child("min_tls_version").oneOf({"1.2", "1.3"}) : "1.2";

  out->ctx.reset(SSL_CTX_new(TLS_method()));
  SSL_CTX* ctx = out->ctx.get();
  SSL_CTX_set_min_proto_version(ctx, min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_cert_cb(ctx, certCallback, nullptr);
  SSL_CTX_set_info_callback(ctx, infoCallback);
  SSL_CTX_set_alpn_select_cb(ctx, alpnCallback, out.get());
  // Resumed sessions skip the certificate and the signature: much cheaper reconnects.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  return out;
}

}  // namespace interpose::tls_intercept
