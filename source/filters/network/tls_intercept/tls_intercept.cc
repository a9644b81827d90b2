#include "source/filters/network/tls_intercept/tls_intercept.h"

#include <openssl/err.h>

#include "api/interpose/registry.h"
#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/network/rejection_memory.h"

namespace interpose::tls_intercept {
namespace {

int exDataIndex() {
  static int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A name we can mint for: a DNS name or an IP literal. Some clients send "host:port" as
// SNI (hey does); such names fall back to the CONNECT host instead of failing.
bool usableServerName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return name.front() != '.' && name.front() != '-';
}

constexpr std::string_view kHandshakeTimeout = "TLS handshake timeout";

// Alerts by which a client says it does not accept our certificate (RFC 8446 6.2).
bool rejectsCertificate(uint8_t alert) {
  switch (alert) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
      return true;
    default:
      return false;
  }
}

}  // namespace

TlsIntercept* TlsIntercept::fromSsl(SSL* ssl) {
  return static_cast<TlsIntercept*>(SSL_get_ex_data(ssl, exDataIndex()));
}

FilterStatus TlsIntercept::onNewConnection() {
  bssl::UniquePtr<SSL> ssl(SSL_new(config_->ctx.get()));
  SSL_set_accept_state(ssl.get());
  SSL_set_ex_data(ssl.get(), exDataIndex(), this);
  pipe_ = std::make_unique<network::TlsPipe>(std::move(ssl));
  handshake_timer_ = std::make_unique<Timer>(callbacks_->worker().ioContext(), [this] { fail(kHandshakeTimeout); });
  handshake_timer_->enable(config_->handshake_timeout);
  return FilterStatus::Continue;
}

int TlsIntercept::selectCertificate(SSL* ssl) {
  // Returning -1 pauses the handshake (SSL_ERROR_WANT_X509_LOOKUP) and BoringSSL calls this
  // again when it is driven next: after the mint's result arrived (onCertificate).
  if (minting_) return -1;
  const ConnectionInfo& info = callbacks_->connectionInfo();
  if (!certificate_) {
    const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni) callbacks_->mutableConnectionInfo().sni = sni;
    if (sni && usableServerName(sni)) {
      host_ = str::toLower(sni);
    } else if (!info.server_name.empty()) {
      host_ = info.server_name;
    } else {
      host_ = config_->default_server_name;
    }
    if (host_.empty()) {
      log::info("tls_intercept: connection ", info.id, ": no server name to mint a certificate for");
      return 0;
    }
    // A certificate not cached yet is minted off this thread: one slow mint must not stall
    // every other connection of the worker.
    auto post = callbacks_->worker().crossThreadPoster();
    auto ready = config_->provider->certificateForAsync(
        host_, [post, alive = std::weak_ptr<char>(life_), this](CertProvider::Result result) {
          post([alive, this, result = std::move(result)]() mutable {
            if (alive.lock()) onCertificate(std::move(result));
          });
        });
    if (!ready) {
      minting_ = true;
      return -1;
    }
    certificate_ = std::move(*ready);
  }
  if (!certificate_->ok()) {
    log::warn("tls_intercept: connection ", info.id, ": no certificate for '", host_,
              "': ", std::string(certificate_->status().message()));
    return 0;
  }
  const auto& cert = ***certificate_;
  if (!SSL_set_chain_and_key(ssl, cert.chain(), cert.chainLength(), cert.key(), nullptr)) return 0;
  certificate_sent_ = true;
  return 1;
}

void TlsIntercept::onCertificate(CertProvider::Result result) {
  minting_ = false;
  certificate_ = std::move(result);
  Buffer nothing;
  onData(nothing, false);  // resumes the paused handshake
}

FilterStatus TlsIntercept::onData(Buffer& data, bool end_stream) {
  if (closed_) {
    data.clear();
    return FilterStatus::StopIteration;
  }
  if (certificate_sent_ && !pipe_->handshakeDone()) {
    // Some TLS 1.3 clients send their alert in plaintext after the key change, which we
    // cannot decrypt (a bad record MAC to BoringSSL): read it from the record itself.
    // Records of this read, skipping a ChangeCipherSpec (middlebox compatibility) before it.
    std::string_view bytes = data.view();
    for (size_t i = 0; i + 5 <= bytes.size();) {
      size_t length = (static_cast<uint8_t>(bytes[i + 3]) << 8) | static_cast<uint8_t>(bytes[i + 4]);
      if (bytes[i] == 0x15 && length == 2 && i + 7 <= bytes.size()) {
        onClientAlert(static_cast<uint8_t>(bytes[i + 6]));
        break;
      }
      if (bytes[i] != 0x14) break;
      i += 5 + length;
    }
  }
  bool was_done = pipe_->handshakeDone();
  Buffer plaintext;
  Buffer to_client;
  bool ok = pipe_->receive(data, plaintext, to_client);
  if (!to_client.empty()) callbacks_->write(to_client, false);
  if (!ok) {
    fail(pipe_->error());
    return FilterStatus::StopIteration;
  }
  if (!was_done && pipe_->handshakeDone()) onHandshakeDone();
  if (!pipe_->handshakeDone()) {
    if (end_stream) fail("client closed the connection during the TLS handshake");
    return FilterStatus::StopIteration;
  }
  bool end = end_stream || pipe_->peerClosed();
  if (!plaintext.empty() || (end && !end_injected_)) {
    end_injected_ = end_injected_ || end;
    callbacks_->injectReadDataToNextFilters(plaintext, end);
  }
  return FilterStatus::StopIteration;
}

void TlsIntercept::onHandshakeDone() {
  handshake_timer_->disable();
  SSL* ssl = pipe_->ssl();
  ConnectionInfo& info = callbacks_->mutableConnectionInfo();
  info.secure = true;
  info.tls_version = SSL_get_version(ssl);
  const uint8_t* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  // The next filters see the intercepted host as the connection's server name.
  if (!host_.empty()) info.server_name = host_;
}

FilterStatus TlsIntercept::onWrite(Buffer& data, bool end_stream) {
  if (closed_) {
    data.clear();
    return FilterStatus::StopIteration;
  }
  Buffer ciphertext;
  if (!pipe_->send(data, end_stream, ciphertext)) {
    fail(pipe_->error());
    return FilterStatus::StopIteration;
  }
  data.move(ciphertext);
  return FilterStatus::Continue;
}

void TlsIntercept::onClientAlert(uint8_t description) {
  if (!client_alert_) client_alert_ = description;
}

void TlsIntercept::fail(std::string_view why) {
  if (closed_) return;
  closed_ = true;
  if (handshake_timer_) handshake_timer_->disable();
  const ConnectionInfo& info = callbacks_->connectionInfo();
  ERR_clear_error();
  std::string alert = client_alert_ ? SSL_alert_desc_string_long(*client_alert_) : "";
  // Only a client that says our certificate is the problem counts as pinning: one that
  // merely closes (a cancelled preconnect, a probe) is no reason to stop intercepting.
  bool rejected = certificate_sent_ && !pipe_->handshakeDone() && client_alert_ && rejectsCertificate(*client_alert_);
  if (rejected && config_->remember_rejections.count() > 0 && !info.server_name.empty()) {
    config_->rejections->remember(info.server_name, info.destination_port, config_->remember_rejections, alert);
    log::info("tls_intercept: the client refused our certificate for ", info.server_name, ":", info.destination_port,
              " (TLS alert: ", alert, "); passing it through for ", config_->remember_rejections.count() / 1000,
              " s (forget it with: interpose passthrough forget ", info.server_name, ")");
  } else if (rejected) {
    log::info("tls_intercept: connection ", info.id, ": the client refused our certificate for ", host_,
              " (TLS alert: ", alert, "); is the CA trusted?");
  } else {
    log::debug("tls_intercept: connection ", info.id, ": ", why, alert.empty() ? "" : " (TLS alert: ", alert,
               alert.empty() ? "" : ")");
  }
  // For the CONNECT's access log line.
  callbacks_->close(CloseType::FlushWrite,
                    rejected ? str::cat("the client refused our certificate (TLS alert: ", alert, ")") : why);
}

void TlsIntercept::onEvent(ConnectionEvent event) {
  closed_ = true;
  if (handshake_timer_) handshake_timer_->disable();
}

class TlsInterceptFactory : public NetworkFilterFactory {
 public:
  std::string name() const override { return "tls_intercept"; }
  bool terminatesTls() const override { return true; }
  NetworkFilterFactoryCb create(const ConfigNode& config, FactoryContext& context) const override {
    std::shared_ptr<const TlsInterceptConfig> parsed = parseTlsInterceptConfig(config, context);
    return [parsed] { return std::make_unique<TlsIntercept>(parsed); };
  }
};

INTERPOSE_REGISTER_NETWORK_FILTER(TlsInterceptFactory);

}  // namespace interpose::tls_intercept
