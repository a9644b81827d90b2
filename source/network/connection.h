#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/interpose/buffer.h"
#include "api/interpose/network_filter.h"
#include "source/network/tls_pipe.h"

namespace interpose::network {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// "ip:port", with brackets for IPv6.
std::string formatEndpoint(const tcp::endpoint& endpoint);

// A TCP connection driven by callbacks, used for clients and origins alike. It reads while
// enabled and hands every read to its owner; writes are queued and flushed in order, with
// high/low watermarks on the queued bytes so producers can pause. Async operations hold a
// shared_ptr, so the object outlives its last completion handler.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // Bytes read; the callee drains what it consumes. end_stream: the peer half-closed.
    virtual void onRead(Buffer& data, bool end_stream) = 0;
    // The connection closed: RemoteClose (reset or error), LocalClose (close() was called).
    virtual void onEvent(ConnectionEvent event) = 0;
    virtual void onAboveWriteBufferHighWatermark() {}
    virtual void onBelowWriteBufferLowWatermark() {}
  };

  Connection(tcp::socket socket, uint32_t buffer_limit);
  ~Connection();

  void setCallbacks(Callbacks* callbacks) { callbacks_ = callbacks; }
  // Turns this into a TLS client connection: starts the handshake and reads. Call it
  // before startReading(): a read in progress would land in the plaintext buffer. From then on
  // reads deliver plaintext and writes take plaintext. `done` gets an empty string once the
  // handshake succeeds, or why it failed ("certificate verify failed: ...").
  void startTls(bssl::UniquePtr<SSL> ssl, std::function<void(const std::string& error)> done);
  bool secure() const { return tls_ != nullptr; }
  // The protocol agreed by TLS ALPN ("h2", "http/1.1"), empty without TLS or ALPN.
  std::string alpn() const;
  // Why the peer's side failed, when known (a TLS alert); empty otherwise.
  const std::string& closeReason() const { return close_reason_; }
  // Ends a TLS handshake in progress: its callback gets `why`.
  void abortTls(const std::string& why) {
    if (handshake_done_) tlsFailed(why);
  }
  // Starts (or resumes) the read loop.
  void startReading();
  // Counted: n calls with true need n calls with false.
  void readDisable(bool disable);
  bool readEnabled() const { return read_disable_count_ == 0; }
  // Queues `data` (leaving it empty). end_stream: half-close after it is sent.
  void write(Buffer& data, bool end_stream);
  void close(CloseType type);
  bool isOpen() const { return state_ == State::Open; }
  bool peerHalfClosed() const { return peer_half_closed_; }
  size_t bufferedBytes() const { return queued_bytes_; }
  uint32_t bufferLimit() const { return buffer_limit_; }
  bool aboveHighWatermark() const { return above_high_; }
  tcp::socket& socket() { return socket_; }
  std::string remoteAddress() const { return remote_; }
  std::string localAddress() const { return local_; }
  uint64_t id() const { return id_; }

 private:
  enum class State { Open, Closing, Closed };
  void doRead();
  void onReadComplete(boost::system::error_code ec, size_t n, size_t size);
  void deliverRead();
  void doWrite();
  void scheduleFlush();
  void queueWrite(Buffer& data);
  void consumeWritten(size_t n);
  void checkWatermarks();
  void closeSocket(ConnectionEvent event);
  void tlsFailed(std::string why);
  void receiveTls(Buffer& raw);

  tcp::socket socket_;
  Callbacks* callbacks_ = nullptr;
  uint32_t buffer_limit_;
  State state_ = State::Open;
  int read_disable_count_ = 0;
  bool reading_ = false;
  bool read_started_ = false;
  bool peer_half_closed_ = false;
  bool writing_ = false;
  bool flush_scheduled_ = false;
  bool shutdown_after_write_ = false;
  bool above_high_ = false;
  Buffer read_buffer_;  // what the consumer has not taken yet (plaintext for TLS)
  Buffer raw_buffer_;   // TLS only: ciphertext read, not yet decrypted
  bool last_read_full_ = false;
  bool undelivered_ = false;  // a read completed while reading was paused
  bool read_eof_ = false;     // that read (or the last one) found the peer's end of stream
  static constexpr size_t kMaxGather = 16;
  std::deque<Buffer> queue_;  // bytes not yet taken by the kernel, in order
  size_t in_flight_ = 0;      // how many of queue_'s first buffers a send is reading now
  size_t queued_bytes_ = 0;
  std::string remote_;
  std::string local_;
  uint64_t id_;
  std::unique_ptr<TlsPipe> tls_;
  std::unique_ptr<asio::steady_timer> close_timer_;
  std::string close_reason_;
  std::function<void(const std::string&)> handshake_done_;
};

using ConnectionPtr = std::shared_ptr<Connection>;

// Connects to the first reachable endpoint in `endpoints`, in order, within `timeout` overall.
// `done` gets the connection, or an error message such as "connection refused" and whether
// the failure was a timeout.
struct ConnectResult {
  ConnectionPtr connection;
  std::string error;
  bool timed_out = false;
  std::string endpoint;  // the endpoint connected to (or last tried)
};
void connectTo(asio::io_context& io, std::vector<tcp::endpoint> endpoints, std::chrono::milliseconds timeout,
               uint32_t buffer_limit, std::function<void(ConnectResult)> done);

}  // namespace interpose::network
