#pragma once

#include <memory>
#include <optional>

#include "api/interpose/network_filter.h"
#include "source/common/timer.h"
#include "source/filters/network/tls_intercept/config.h"
#include "source/network/tls_pipe.h"

namespace interpose::tls_intercept {

// Terminates the client's TLS with a certificate minted for the host it asked for (SNI,
// else the CONNECT host, else the configured default) and passes the plaintext to the next
// filter (usually http_connection_manager); what that filter writes is encrypted on the way
// out. If the client rejects our certificate (a pinning app), the host can be remembered so
// the next connection goes through a passthrough chain.
class TlsIntercept : public NetworkFilter {
 public:
  explicit TlsIntercept(std::shared_ptr<const TlsInterceptConfig> config) : config_(std::move(config)) {}

  FilterStatus onNewConnection() override;
  FilterStatus onData(Buffer& data, bool end_stream) override;
  FilterStatus onWrite(Buffer& data, bool end_stream) override;
  void onEvent(ConnectionEvent event) override;

  // Called by BoringSSL once the ClientHello is read: picks and installs the certificate.
  int selectCertificate(SSL* ssl);
  // The client sent this alert (RFC 8446 6; the description byte).
  void onClientAlert(uint8_t description);
  static TlsIntercept* fromSsl(SSL* ssl);

 private:
  void fail(std::string_view why);
  void onHandshakeDone();
  void onCertificate(CertProvider::Result result);  // a mint finished (on this worker)

  std::shared_ptr<const TlsInterceptConfig> config_;
  std::unique_ptr<network::TlsPipe> pipe_;
  std::unique_ptr<Timer> handshake_timer_;
  std::string host_;                                 // the name our certificate was minted for
  std::optional<CertProvider::Result> certificate_;  // once known
  bool minting_ = false;                             // the handshake waits for a mint
  std::optional<uint8_t> client_alert_;              // the first alert the client sent
  std::shared_ptr<char> life_ = std::make_shared<char>();
  bool certificate_sent_ = false;
  bool closed_ = false;
  bool end_injected_ = false;
};

}  // namespace interpose::tls_intercept
