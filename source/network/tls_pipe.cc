#include "source/network/tls_pipe.h"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>

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

// A BIO that reads ciphertext from the pipe's input Buffer and appends what TLS writes to
// its output Buffer. BoringSSL's memory BIO would zero-fill, copy and shift on every record;
// this one copies each byte once in each direction.
namespace {

int bioRead(BIO* bio, char* out, int len) {
  auto* pipe = static_cast<TlsPipe*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  Buffer& in = pipe->nextInput();
  if (in.empty()) {
    BIO_set_retry_read(bio);  // "no bytes yet", not end of file
    return -1;
  }
  size_t n = std::min(in.size(), static_cast<size_t>(len));
  std::memcpy(out, in.data(), n);
  in.drain(n);
  return static_cast<int>(n);
}

int bioWrite(BIO* bio, const char* data, int len) {
  auto* pipe = static_cast<TlsPipe*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  pipe->output().add(std::string_view(data, static_cast<size_t>(len)));
  return len;
}

long bioCtrl(BIO* bio, int cmd, long num, void* ptr) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(static_cast<TlsPipe*>(BIO_get_data(bio))->inputSize());
    case BIO_CTRL_WPENDING:
      return 0;
    default:
      return 0;
  }
}

const BIO_METHOD* bufferBioMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "interpose buffer");
    BIO_meth_set_read(m, bioRead);
    BIO_meth_set_write(m, bioWrite);
    BIO_meth_set_ctrl(m, bioCtrl);
    return m;
  }();
  return method;
}

}  // namespace

TlsPipe::TlsPipe(bssl::UniquePtr<SSL> ssl) : ssl_(std::move(ssl)) {
  BIO* bio = BIO_new(bufferBioMethod());
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // one BIO for both directions: SSL takes our one reference
}

void TlsPipe::flush(Buffer& to_peer) { to_peer.move(output_); }

bool TlsPipe::fail(int ssl_error) {
  if (ssl_error == SSL_ERROR_SSL) {
    uint32_t code = ERR_peek_last_error();
    certificate_rejected_ = ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED;
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
      // (WANT_X509_LOOKUP: the certificate callback paused the handshake for a mint.)
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_X509_LOOKUP) return true;
      return fail(e);
    }
    handshake_done_ = true;
  }
  // Room for all the plaintext the waiting ciphertext can hold, at once: growing record by
  // record would copy what was already decrypted each time the buffer doubles.
  plaintext.prepare(inputSize() + kRecordSize);
  while (!peer_closed_) {
    char* space = plaintext.prepare(kRecordSize);
    int n = SSL_read(ssl_.get(), space, static_cast<int>(kRecordSize));
    if (n > 0) {
      plaintext.commit(static_cast<size_t>(n));
      // TLS reads exactly up to record boundaries: with no ciphertext left to give it and
      // nothing decrypted left over, another SSL_read could only say "want read".
      if (inputSize() == 0 && SSL_pending(ssl_.get()) == 0) return true;
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
  // TLS reads the caller's buffer in place; only a trailing partial record is kept here
  // (usually by swapping storage), so bulk ciphertext is not copied once more.
  source_ = &ciphertext;
  bool ok = advance(plaintext);
  source_ = nullptr;
  if (!ciphertext.empty()) input_.move(ciphertext);
  flush(to_peer);
  return ok;
}

Buffer& TlsPipe::nextInput() {
  if (!input_.empty() || source_ == nullptr) return input_;
  return *source_;
}

size_t TlsPipe::inputSize() const { return input_.size() + (source_ ? source_->size() : 0); }

bool TlsPipe::send(Buffer& plaintext, bool close, Buffer& to_peer) {
  if (!plaintext.empty() && handshake_done_) {
    // Room for every record up front: TLS hands the BIO one record at a time, and a buffer
    // grown record by record would copy all the earlier ciphertext each time it doubled.
    size_t records = (plaintext.size() + kRecordSize - 1) / kRecordSize;
    output_.prepare(plaintext.size() + records * SSL_max_seal_overhead(ssl_.get()));
  }
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
