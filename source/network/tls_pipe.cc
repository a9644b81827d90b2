#include "source/network/tls_pipe.h"

#include <openssl/err.h>

#include "api/interpose/strings.h"

namespace interpose::network {
namespace {
constexpr size_t kRecordSize = 16 * 1024;
}

std::string lastTlsError() {
  uint32_t code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "TLS error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? std::string(reason) : str::cat("TLS error ", code);
}

TlsPipe::TlsPipe(bssl::UniquePtr<SSL> ssl) : ssl_(std::move(ssl)) {
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  // An empty read BIO means "no bytes yet" (retry), not end of file.
  BIO_set_mem_eof_return(rbio_, -1);
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
}

void TlsPipe::flush(Buffer& to_peer) {
  size_t pending = BIO_pending(wbio_);
  while (pending > 0) {
    char* space = to_peer.prepare(pending);
    int n = BIO_read(wbio_, space, static_cast<int>(pending));
    if (n <= 0) break;
    to_peer.commit(static_cast<size_t>(n));
    pending = BIO_pending(wbio_);
  }
}

bool TlsPipe::fail(int ssl_error) {
  if (ssl_error == SSL_ERROR_SSL) {
    error_ = lastTlsError();
  } else if (ssl_error == SSL_ERROR_SYSCALL) {
    error_ = "unexpected end of TLS stream";
    ERR_clear_error();
  } else {
    error_ = str::cat("TLS error (code ", ssl_error, ")");
    ERR_clear_error();
  }
  return false;
}

bool TlsPipe::startHandshake(Buffer& to_peer) {
  Buffer plaintext;
  bool ok = advance(plaintext);
  flush(to_peer);
  return ok;
}

bool TlsPipe::advance(Buffer& plaintext) {
  if (!handshake_done_) {
    int r = SSL_do_handshake(ssl_.get());
    if (r != 1) {
      int e = SSL_get_error(ssl_.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
      return fail(e);
    }
    handshake_done_ = true;
  }
  while (!peer_closed_) {
    char* space = plaintext.prepare(kRecordSize);
    int n = SSL_read(ssl_.get(), space, static_cast<int>(kRecordSize));
    if (n > 0) {
      plaintext.commit(static_cast<size_t>(n));
      continue;
    }
    int e = SSL_get_error(ssl_.get(), n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    if (e == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      return true;
    }
    return fail(e);
  }
  return true;
}

bool TlsPipe::receive(Buffer& ciphertext, Buffer& plaintext, Buffer& to_peer) {
  if (!ciphertext.empty()) {
    BIO_write(rbio_, ciphertext.data(), static_cast<int>(ciphertext.size()));
    ciphertext.clear();
  }
  bool ok = advance(plaintext);
  flush(to_peer);
  return ok;
}

bool TlsPipe::send(Buffer& plaintext, bool close, Buffer& to_peer) {
  while (!plaintext.empty()) {
    int n = SSL_write(ssl_.get(), plaintext.data(), static_cast<int>(std::min<size_t>(plaintext.size(), 1 << 20)));
    if (n <= 0) {
      plaintext.clear();
      flush(to_peer);
      return fail(SSL_get_error(ssl_.get(), n));
    }
    plaintext.drain(static_cast<size_t>(n));
  }
  if (close && !sent_close_) {
    sent_close_ = true;
    SSL_shutdown(ssl_.get());
  }
  flush(to_peer);
  return true;
}

}  // namespace interpose::network
