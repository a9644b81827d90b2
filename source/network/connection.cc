#include "source/network/connection.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/post.hpp>

#include "source/common/logger.h"

namespace interpose::network {
namespace {
// A connection waiting for its peer holds one read's worth of buffer: a small one, since most
// reads are a request or a response head. A read that fills it makes the next one bulk-sized.
constexpr size_t kReadSize = 4 * 1024;
constexpr size_t kBulkReadSize = 64 * 1024;
constexpr size_t kCoalesceBytes = 4 * 1024;
constexpr auto kFlushCloseTimeout = std::chrono::seconds(10);
std::atomic<uint64_t> g_next_id{1};
}  // namespace

std::string formatEndpoint(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v6()) return str::cat("[", address.to_string(), "]:", endpoint.port());
  return str::cat(address.to_string(), ":", endpoint.port());
}

Connection::Connection(tcp::socket socket, uint32_t buffer_limit)
    : socket_(std::move(socket)), buffer_limit_(buffer_limit), id_(g_next_id++) {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) remote_ = formatEndpoint(remote);
  auto local = socket_.local_endpoint(ec);
  if (!ec) local_ = formatEndpoint(local);
}

Connection::~Connection() {
  boost::system::error_code ec;
  socket_.close(ec);
}

void Connection::startReading() {
  read_started_ = true;
  doRead();
}

void Connection::readDisable(bool disable) {
  if (disable) {
    ++read_disable_count_;
    return;
  }
  if (read_disable_count_ > 0) --read_disable_count_;
  if (read_disable_count_ == 0 && read_started_) {
    // Resume from a fresh stack: the caller may be inside one of our callbacks.
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->undelivered_) {
        self->deliverRead();
      } else {
        self->doRead();
      }
    });
  }
}

void Connection::doRead() {
  // A held read (undelivered_) goes first, from the resume that readDisable(false) posted:
  // reading on now would land bytes in the buffer the consumer is about to be handed.
  if (reading_ || undelivered_ || read_disable_count_ > 0 || state_ != State::Open || peer_half_closed_) return;
  reading_ = true;
  // Read straight into the buffer the consumer sees (for TLS: the ciphertext buffer). A read
  // that fills its space makes the next one larger, for bulk transfers. Always a read, never
  // a readiness wait first: Asio re-arms the descriptor with epoll_ctl for every wait, while a
  // read that finds nothing just queues until epoll reports data (no syscall beyond the read).
  Buffer& target = tls_ ? raw_buffer_ : read_buffer_;
  size_t size = last_read_full_ ? kBulkReadSize : kReadSize;
  char* space = target.prepare(size);
  socket_.async_read_some(asio::buffer(space, size),
                          [self = shared_from_this(), size](boost::system::error_code ec, size_t n) {
                            self->reading_ = false;
                            self->onReadComplete(ec, n, size);
                          });
}

void Connection::onReadComplete(boost::system::error_code ec, size_t n, size_t size) {
  Buffer& target = tls_ ? raw_buffer_ : read_buffer_;
  target.commit(n);
  last_read_full_ = n == size;
  if (state_ != State::Open) return;
  if (ec && ec != asio::error::eof) {
    if (ec == asio::error::operation_aborted) return;
    if (tls_ && !tls_->handshakeDone()) {
      tlsFailed(ec.message());
      return;
    }
    closeSocket(ConnectionEvent::RemoteClose);
    return;
  }
  read_eof_ = ec == asio::error::eof;
  deliverRead();
}

void Connection::deliverRead() {
  if (state_ != State::Open) return;
  // A read may complete after the owner paused reading (it was queued before): keep its
  // bytes until reading resumes, so a paused consumer never sees data.
  undelivered_ = read_disable_count_ > 0;
  if (undelivered_) return;
  if (read_eof_) {
    if (tls_ && !tls_->handshakeDone()) {
      tlsFailed("connection closed during the TLS handshake");
      return;
    }
    peer_half_closed_ = true;
    if (callbacks_) callbacks_->onRead(read_buffer_, true);
    return;
  }
  if (tls_) {
    receiveTls(raw_buffer_);
    return;
  }
  if (callbacks_) callbacks_->onRead(read_buffer_, false);
  doRead();
}

std::string Connection::alpn() const {
  if (!tls_ || !tls_->handshakeDone()) return "";
  const uint8_t* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(tls_->ssl(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

void Connection::startTls(bssl::UniquePtr<SSL> ssl, std::function<void(const std::string&)> done) {
  tls_ = std::make_unique<TlsPipe>(std::move(ssl));
  handshake_done_ = std::move(done);
  Buffer hello;
  if (!tls_->startHandshake(hello)) {
    tlsFailed(tls_->error());
    return;
  }
  queueWrite(hello);
  doWrite();
  startReading();
}

void Connection::receiveTls(Buffer& raw) {
  bool was_done = tls_->handshakeDone();
  Buffer to_peer;
  bool ok = tls_->receive(raw, read_buffer_, to_peer);
  if (!to_peer.empty()) {
    queueWrite(to_peer);
    doWrite();
  }
  if (!ok) {
    if (!was_done) {
      tlsFailed(tls_->error());
    } else {
      // E.g. a TLS 1.3 server that rejects our client certificate after the handshake.
      close_reason_ = tls_->error();
      closeSocket(ConnectionEvent::RemoteClose);
    }
    return;
  }
  if (!was_done && tls_->handshakeDone() && handshake_done_) {
    std::exchange(handshake_done_, nullptr)("");
    if (state_ != State::Open) return;
  }
  bool end = tls_->peerClosed();
  if (!read_buffer_.empty() || end) {
    if (end) peer_half_closed_ = true;
    if (callbacks_) callbacks_->onRead(read_buffer_, end);
  }
  doRead();
}

void Connection::tlsFailed(std::string why) {
  if (tls_ && tls_->certificateRejected()) {
    long verify = SSL_get_verify_result(tls_->ssl());
    if (verify != X509_V_OK) why = str::cat("certificate verify failed: ", X509_verify_cert_error_string(verify));
  }
  auto done = std::exchange(handshake_done_, nullptr);
  closeSocket(ConnectionEvent::RemoteClose);
  if (done) done(why.empty() ? "TLS handshake failed" : why);
}

void Connection::write(Buffer& data, bool end_stream) {
  if (state_ != State::Open) {
    data.clear();
    return;
  }
  if (tls_) {
    Buffer ciphertext;
    if (!tls_->send(data, end_stream, ciphertext)) {
      closeSocket(ConnectionEvent::LocalClose);
      return;
    }
    queueWrite(ciphertext);
  } else {
    queueWrite(data);
  }
  if (end_stream) shutdown_after_write_ = true;
  checkWatermarks();
  scheduleFlush();
}

void Connection::queueWrite(Buffer& data) {
  if (data.empty()) return;
  queued_bytes_ += data.size();
  // Small pieces join the last queued buffer (if the kernel is not being handed it now);
  // big ones are queued as they are, so bulk data is never copied here.
  if (data.size() <= kCoalesceBytes && queue_.size() > in_flight_) {
    queue_.back().move(data);
    return;
  }
  queue_.push_back(std::move(data));
  data.clear();
}

void Connection::scheduleFlush() {
  // Writes made while handling one event (a response's head, then its body) leave in one
  // send: the flush runs after the current handler returns.
  if (flush_scheduled_ || writing_) return;
  flush_scheduled_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->doWrite();
  });
}

void Connection::doWrite() {
  if (writing_ || state_ == State::Closed) return;
  if (queue_.empty()) {
    if (state_ == State::Closing) {
      closeSocket(ConnectionEvent::LocalClose);
    } else if (shutdown_after_write_) {
      boost::system::error_code ec;
      socket_.shutdown(tcp::socket::shutdown_send, ec);
      shutdown_after_write_ = false;
    }
    return;
  }
  auto done = [self = shared_from_this()](boost::system::error_code ec, size_t n) {
    self->writing_ = false;
    self->in_flight_ = 0;
    if (self->state_ == State::Closed) return;
    if (ec) {
      self->closeSocket(ConnectionEvent::RemoteClose);
      return;
    }
    self->consumeWritten(n);
    self->checkWatermarks();
    self->doWrite();
  };
  writing_ = true;
  in_flight_ = std::min(queue_.size(), kMaxGather);
  if (in_flight_ == 1) {
    socket_.async_write_some(asio::buffer(queue_[0].data(), queue_[0].size()), std::move(done));
    return;
  }
  // One gathered send for several buffers (sendmsg with an iovec each; entries past
  // in_flight_ stay empty). Asio copies the array into the operation.
  std::array<asio::const_buffer, kMaxGather> pieces{};
  for (size_t i = 0; i < in_flight_; ++i) pieces[i] = asio::buffer(queue_[i].data(), queue_[i].size());
  socket_.async_write_some(pieces, std::move(done));
}

void Connection::consumeWritten(size_t n) {
  queued_bytes_ -= n;
  while (n > 0) {
    Buffer& front = queue_.front();
    size_t k = std::min(n, front.size());
    front.drain(k);
    n -= k;
    if (front.empty()) queue_.pop_front();
  }
}

void Connection::checkWatermarks() {
  size_t queued = bufferedBytes();
  if (!above_high_ && queued > buffer_limit_) {
    above_high_ = true;
    if (callbacks_) callbacks_->onAboveWriteBufferHighWatermark();
  } else if (above_high_ && queued <= buffer_limit_ / 2) {
    above_high_ = false;
    if (callbacks_) callbacks_->onBelowWriteBufferLowWatermark();
  }
}

void Connection::close(CloseType type) {
  if (state_ == State::Closed) return;
  if (type == CloseType::FlushWrite && bufferedBytes() > 0) {
    state_ = State::Closing;
    // A peer that stops reading must not keep the connection forever.
    close_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor(), kFlushCloseTimeout);
    close_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!ec && self && self->state_ == State::Closing) self->closeSocket(ConnectionEvent::LocalClose);
    });
    doWrite();
    return;
  }
  closeSocket(ConnectionEvent::LocalClose);
}

void Connection::closeSocket(ConnectionEvent event) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  if (close_timer_) close_timer_->cancel();
  boost::system::error_code ec;
  if (event == ConnectionEvent::LocalClose) socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  queue_.clear();
  queued_bytes_ = 0;
  if (callbacks_) callbacks_->onEvent(event);
}

namespace {

struct ConnectAttempt : std::enable_shared_from_this<ConnectAttempt> {
  ConnectAttempt(asio::io_context& io, std::vector<tcp::endpoint> eps, uint32_t limit,
                 std::function<void(ConnectResult)> cb)
      : socket(io), timer(io), endpoints(std::move(eps)), buffer_limit(limit), done(std::move(cb)) {}

  void start(std::chrono::milliseconds timeout) {
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->finished) return;
      self->timed_out = true;
      boost::system::error_code ignored;
      self->socket.close(ignored);
    });
    next();
  }

  void next() {
    if (index >= endpoints.size()) {
      finish(
          ConnectResult{nullptr, last_error.empty() ? "no address to connect to" : last_error, false, last_endpoint});
      return;
    }
    const tcp::endpoint& ep = endpoints[index++];
    last_endpoint = formatEndpoint(ep);
    boost::system::error_code ec;
    if (socket.is_open()) socket.close(ec);
    socket.open(ep.protocol(), ec);
    if (ec) {
      last_error = ec.message();
      next();
      return;
    }
    socket.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) {
      if (self->timed_out) {
        self->finish(ConnectResult{nullptr, "connect timeout", true, self->last_endpoint});
        return;
      }
      if (ec) {
        self->last_error = ec == asio::error::connection_refused ? "connection refused" : ec.message();
        self->next();
        return;
      }
      self->finish(ConnectResult{std::make_shared<Connection>(std::move(self->socket), self->buffer_limit), "", false,
                                 self->last_endpoint});
    });
  }

  void finish(ConnectResult result) {
    if (finished) return;
    finished = true;
    timer.cancel();
    done(std::move(result));
  }

  tcp::socket socket;
  asio::steady_timer timer;
  std::vector<tcp::endpoint> endpoints;
  uint32_t buffer_limit;
  std::function<void(ConnectResult)> done;
  size_t index = 0;
  bool finished = false;
  bool timed_out = false;
  std::string last_error;
  std::string last_endpoint;
};

}  // namespace

void connectTo(asio::io_context& io, std::vector<tcp::endpoint> endpoints, std::chrono::milliseconds timeout,
               uint32_t buffer_limit, std::function<void(ConnectResult)> done) {
  auto attempt = std::make_shared<ConnectAttempt>(io, std::move(endpoints), buffer_limit, std::move(done));
  attempt->start(timeout);
}

}  // namespace interpose::network
