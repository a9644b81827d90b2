#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/interpose/strings.h"
#include "source/common/timer.h"
#include "source/http/http2_client.h"
#include "source/http/upstream_tls.h"
#include "source/network/connection.h"
#include "source/network/dns_cache.h"

namespace interpose::http {

// Per-worker pool of keep-alive connections to origins, keyed by "host:port". Idle
// connections are watched: if the origin closes one or sends stray bytes, it is dropped, so a
// request is rarely handed a dead connection; each also expires after an idle timeout.
class UpstreamPool {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds idle_timeout{60000};
    std::chrono::milliseconds dns_ttl{60000};
    size_t max_idle_per_origin = 256;
    // Connections to one origin in use or being set up, per worker; more requests wait in
    // a queue (bounded by max_pending_per_origin, then 503) for one to come free.
    size_t max_connections_per_origin = 256;
    size_t max_pending_per_origin = 4096;
    uint32_t buffer_limit = 1024 * 1024;
  };
  struct Result {
    network::ConnectionPtr connection;
    std::shared_ptr<Http2ClientConnection> h2;  // instead of `connection`, for HTTP/2 origins
    bool reused = false;
    std::string error;  // why no connection: DNS or connect failure
    bool dns_failure = false;
    bool timed_out = false;
    bool tls_failure = false;
    bool overflow = false;  // the origin's queue is full
    bool loop = false;      // the origin's address is one of the proxy's own listeners
    bool denied = false;    // the listener's destination_policy refuses the origin's address
    std::string endpoint;
  };
  using Callback = std::function<void(Result)>;
  // Why a resolved address of host:port must not be connected to (the proxy's own listener:
  // Result::loop; a denied destination: Result::denied), or nullopt when it may be.
  struct Refusal {
    bool loop = false;
    std::string error;
  };
  using EndpointCheck = std::function<std::optional<Refusal>(const std::string& host, uint16_t port,
                                                             const boost::asio::ip::tcp::endpoint&)>;

  UpstreamPool(boost::asio::io_context& io, Options options, EndpointCheck check = {});
  ~UpstreamPool();

  // Hands out an idle connection at once, or resolves and connects. The callback is not
  // called after `cancel` (the returned token) is reset by the caller.
  // With `tls`, the connection is handed out after a verified TLS handshake.
  void acquire(const std::string& host, uint16_t port, const UpstreamTls* tls, Callback callback,
               std::weak_ptr<void> alive);
  // Every connection acquire() handed out comes back here: `reusable` ones (a clean
  // exchange on a kept-alive connection) serve the next waiting request or go idle; the
  // others are closed and make room for a new connection.
  void release(const std::string& host, uint16_t port, bool tls, network::ConnectionPtr connection, bool reusable);
  // A connection acquire() handed out that will never come back (it switched protocols):
  // it no longer counts against the origin's limit, and the next waiting request may go.
  void forget(const std::string& host, uint16_t port, bool tls);
  size_t idleCount() const;

 private:
  class Idle;
  static std::string key(const std::string& host, uint16_t port, bool tls) {
    return str::cat(tls ? "https://" : "http://", host, ":", port);
  }
  // TCP to the first endpoint that answers, then (with `tls`) the handshake; a failed
  // handshake that offered a session is tried once more when `may_retry`.
  static void connectAndHandshake(boost::asio::io_context& io, std::vector<boost::asio::ip::tcp::endpoint> endpoints,
                                  const Options& options, const std::string& host, uint16_t port,
                                  const UpstreamTls* tls, Callback finish, bool may_retry);
  static void startTls(boost::asio::io_context& io, network::ConnectionPtr connection, const std::string& host,
                       uint16_t port, const UpstreamTls& tls, std::chrono::milliseconds timeout,
                       std::function<void(Result, bool offered_session)> callback);
  void removeIdle(Idle* idle);
  void sweepIdle();
  struct Waiter {
    std::string host;
    uint16_t port;
    const UpstreamTls* tls;
    Callback callback;
    std::weak_ptr<void> alive;
  };
  void connect(const std::string& pool_key, Waiter waiter);
  void connectionDone(const std::string& pool_key);  // one busy connection fewer
  void serveWaiters(const std::string& pool_key);
  // The first waiting request for this origin that is still wanted; gone ones are dropped.
  // `for_http2`: for a stream of an HTTP/2 connection, which an upgrade must not take.
  std::optional<Waiter> takeWaiter(const std::string& pool_key, bool for_http2 = false);

  boost::asio::io_context& io_;
  Options options_;
  EndpointCheck check_;
  network::DnsCache dns_;
  std::map<std::string, std::vector<std::unique_ptr<Idle>>> idle_;
  std::map<std::string, size_t> busy_;
  // Multiplexed HTTP/2 connections by origin; each counts as one busy connection.
  std::map<std::string, std::vector<std::shared_ptr<Http2ClientConnection>>> h2_;
  std::shared_ptr<Http2ClientConnection> usableHttp2(const std::string& pool_key);
  std::shared_ptr<Http2ClientConnection> adoptHttp2(const std::string& pool_key, network::ConnectionPtr connection);
  std::map<std::string, std::deque<Waiter>> waiting_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Timer sweep_;
};

}  // namespace interpose::http
