#pragma once

#include <openssl/ssl.h>

#include <string>

#include "api/interpose/buffer.h"

namespace interpose::network {

// Drives one TLS session over memory: ciphertext from the peer in, plaintext out, and the
// reverse. It owns no socket, so TLS can sit wherever bytes flow: in a network filter
// (tls_intercept, on an inner connection) or on an upstream connection.
class TlsPipe {
 public:
  // `ssl` must be set to accept or connect state by the caller.
  explicit TlsPipe(bssl::UniquePtr<SSL> ssl);
  TlsPipe(const TlsPipe&) = delete;  // its BIO points at this object
  TlsPipe& operator=(const TlsPipe&) = delete;

  // Clients: produces the ClientHello.
  bool startHandshake(Buffer& to_peer);
  // Feeds ciphertext (drained). Appends what it decrypts to `plaintext` and what must go
  // back to the peer (handshake messages, alerts) to `to_peer`. False on a fatal error.
  bool receive(Buffer& ciphertext, Buffer& plaintext, Buffer& to_peer);
  // Encrypts all of `plaintext` (drained) into `to_peer`; `close` adds a close_notify.
  bool send(Buffer& plaintext, bool close, Buffer& to_peer);

  bool handshakeDone() const { return handshake_done_; }
  bool peerClosed() const { return peer_closed_; }  // close_notify received
  const std::string& error() const { return error_; }
  // The failure was the peer's certificate failing verification (SSL_get_verify_result says
  // why). Not otherwise: mid-handshake, the verify result is that of an offered session.
  bool certificateRejected() const { return certificate_rejected_; }
  SSL* ssl() const { return ssl_.get(); }
  // For the BIO that connects TLS to the buffers: kept bytes first, then the caller's.
  Buffer& nextInput();
  size_t inputSize() const;
  Buffer& output() { return output_; }

 private:
  bool advance(Buffer& plaintext);
  void flush(Buffer& to_peer);
  bool fail(int ssl_error);

  bssl::UniquePtr<SSL> ssl_;
  Buffer input_;              // ciphertext kept from an earlier receive (a partial record)
  Buffer* source_ = nullptr;  // the caller's ciphertext, during receive()
  Buffer output_;             // ciphertext TLS produced, not yet handed out
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  bool sent_close_ = false;
  bool certificate_rejected_ = false;
  std::string error_;
};

// A short reason for the last TLS failure on this thread, e.g. "certificate verify failed".
std::string lastTlsError();

}  // namespace interpose::network
