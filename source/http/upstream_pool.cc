#include "source/http/upstream_pool.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "source/common/logger.h"

namespace interpose::http {

// An idle connection: the pool is its reader, and any byte or close event retires it.
class UpstreamPool::Idle : public network::Connection::Callbacks {
 public:
  Idle(UpstreamPool& pool, std::string key, network::ConnectionPtr connection)
      : pool_(pool),
        key_(std::move(key)),
        connection_(std::move(connection)),
        expires_(Timer::Clock::now() + pool.options_.idle_timeout) {
    connection_->setCallbacks(this);
    connection_->startReading();
  }
  ~Idle() override {
    token_.reset();
    if (connection_) {
      connection_->setCallbacks(nullptr);
      connection_->close(CloseType::NoFlush);
    }
  }
  // Hands the connection out; this object is then destroyed by the pool.
  network::ConnectionPtr take() {
    connection_->setCallbacks(nullptr);
    return std::move(connection_);
  }
  const std::string& key() const { return key_; }
  Timer::Clock::time_point expires() const { return expires_; }

  void onRead(Buffer& data, bool end_stream) override { retire(); }
  void onEvent(ConnectionEvent event) override { retire(); }

 private:
  void retire() {
    if (retired_) return;
    retired_ = true;
    // Closed now, so acquire() can never hand it out; removed later, because we may be
    // inside the connection's own callback. The token dies with this object, so a removal
    // scheduled for an entry that acquire() already took is a no-op.
    connection_->setCallbacks(nullptr);
    connection_->close(CloseType::NoFlush);
    boost::asio::post(pool_.io_, [token = std::weak_ptr<char>(token_), pool = &pool_, self = this] {
      if (token.lock()) pool->removeIdle(self);
    });
  }

  bool retired_ = false;
  std::shared_ptr<char> token_ = std::make_shared<char>();
  UpstreamPool& pool_;
  std::string key_;
  network::ConnectionPtr connection_;
  Timer::Clock::time_point expires_;  // the idle timeout: the pool's sweep closes it then
};

UpstreamPool::UpstreamPool(boost::asio::io_context& io, Options options, EndpointCheck check)
    : io_(io), options_(options), dns_(io, options.dns_ttl), sweep_(io, [this] { sweepIdle(); }) {
  check_ = std::move(check);
}

UpstreamPool::~UpstreamPool() { *alive_ = false; }

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& [k, list] : idle_) n += list.size();
  return n;
}

// One timer for every idle connection (not one each, re-armed per request): it closes
// those past their idle timeout and waits for the next to expire.
void UpstreamPool::sweepIdle() {
  auto now = Timer::Clock::now();
  auto next = Timer::Clock::time_point::max();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    std::erase_if(list, [&](const std::unique_ptr<Idle>& idle) { return idle->expires() <= now; });
    for (const auto& idle : list) next = std::min(next, idle->expires());
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
  if (next != Timer::Clock::time_point::max()) {
    sweep_.enable(std::max(std::chrono::ceil<std::chrono::milliseconds>(next - now), std::chrono::milliseconds(1)));
  }
}

void UpstreamPool::removeIdle(Idle* idle) {
  auto it = idle_.find(idle->key());
  if (it == idle_.end()) return;
  auto& list = it->second;
  std::erase_if(list, [&](const std::unique_ptr<Idle>& p) { return p.get() == idle; });
  if (list.empty()) idle_.erase(it);
}

void UpstreamPool::acquire(const std::string& host, uint16_t port, const UpstreamTls* tls, Callback callback,
                           std::weak_ptr<void> alive) {
  const std::string pool_key = key(host, port, tls != nullptr);
  if (tls && !tls->isHttp1Only()) {
    if (auto h2 = usableHttp2(pool_key)) {
      Result result;
      result.endpoint = h2->endpoint();
      result.h2 = std::move(h2);
      result.reused = true;
      callback(std::move(result));
      return;
    }
  }
  auto it = idle_.find(pool_key);
  while (it != idle_.end() && !it->second.empty()) {
    // Most recently used first: it is the least likely to have been closed by the origin.
    // (An emptied list stays for the connection coming back; the sweep drops empty lists.)
    std::unique_ptr<Idle> idle = std::move(it->second.back());
    it->second.pop_back();
    network::ConnectionPtr connection = idle->take();
    if (connection && connection->isOpen() && !connection->peerHalfClosed()) {
      ++busy_[pool_key];
      Result result;
      result.connection = std::move(connection);
      result.reused = true;
      result.endpoint = result.connection->remoteAddress();
      callback(std::move(result));
      return;
    }
    it = idle_.find(pool_key);
  }
  size_t& busy = busy_[pool_key];
  if (busy >= options_.max_connections_per_origin) {
    auto& queue = waiting_[pool_key];
    if (queue.size() >= options_.max_pending_per_origin) {
      Result result;
      result.error = str::cat("too many requests waiting for a connection to ", host, ":", port);
      result.overflow = true;
      callback(std::move(result));
      return;
    }
    queue.push_back(Waiter{host, port, tls, std::move(callback), std::move(alive)});
    return;
  }
  connect(pool_key, Waiter{host, port, tls, std::move(callback), std::move(alive)});
}

void UpstreamPool::connect(const std::string& pool_key, Waiter waiter) {
  ++busy_[pool_key];
  auto options = options_;
  auto& io = io_;
  // The pool outlives none of its callbacks' work: every path checks `pool_alive`.
  std::weak_ptr<bool> pool_alive = alive_;
  auto finish = [this, pool_alive, pool_key, host = waiter.host, port = waiter.port, tls = waiter.tls,
                 callback = waiter.callback, alive = waiter.alive](Result result) {
    if (!pool_alive.lock()) return;
    if (result.connection && result.connection->alpn() == "h2") {
      // The origin speaks HTTP/2: one connection serves this request and the queue.
      result.h2 = adoptHttp2(pool_key, std::move(result.connection));
      if (!alive.expired()) callback(std::move(result));
      serveWaiters(pool_key);
      return;
    }
    if (alive.expired()) {
      // The request went away meanwhile: keep a good connection for the next one.
      release(host, port, tls != nullptr, std::move(result.connection), result.connection != nullptr);
      return;
    }
    if (!result.connection) connectionDone(pool_key);
    callback(std::move(result));
  };
  const std::string host = waiter.host;
  const uint16_t port = waiter.port;
  const UpstreamTls* tls = waiter.tls;
  // (The cache calls back only while the pool, and so `this`, is alive.)
  dns_.resolve(host, port, [this, &io, options, host, port, tls, finish](const network::DnsCache::Result& dns) {
    if (!dns.error.empty()) {
      Result result;
      result.error = dns.error;
      result.dns_failure = true;
      finish(std::move(result));
      return;
    }
    for (const auto& endpoint : dns.endpoints) {
      // Every address: connectTo may use any of them.
      if (auto refusal = check_ ? check_(host, port, endpoint) : std::nullopt) {
        Result result;
        result.loop = refusal->loop;
        result.denied = !refusal->loop;
        result.endpoint = network::formatEndpoint(endpoint);
        result.error = std::move(refusal->error);
        finish(std::move(result));
        return;
      }
    }
    connectAndHandshake(io, dns.endpoints, options, host, port, tls, finish, /*may_retry=*/true);
  });
}

void UpstreamPool::connectAndHandshake(boost::asio::io_context& io,
                                       std::vector<boost::asio::ip::tcp::endpoint> endpoints, const Options& options,
                                       const std::string& host, uint16_t port, const UpstreamTls* tls, Callback finish,
                                       bool may_retry) {
  network::connectTo(
      io, endpoints, options.connect_timeout, options.buffer_limit,
      [&io, endpoints, options, host, port, tls, finish, may_retry](network::ConnectResult connected) {
        if (connected.connection && tls) {
          startTls(io, std::move(connected.connection), host, port, *tls, options.connect_timeout,
                   [&io, endpoints, options, host, port, tls, finish, may_retry](Result result, bool resumed) {
                     if (result.tls_failure && resumed && may_retry) {
                       // The origin failed a handshake that offered one of its sessions (now
                       // forgotten): once more, with a full handshake, before giving up.
                       connectAndHandshake(io, endpoints, options, host, port, tls, finish, false);
                       return;
                     }
                     finish(std::move(result));
                   });
          return;
        }
        Result result;
        result.connection = std::move(connected.connection);
        result.error = std::move(connected.error);
        result.timed_out = connected.timed_out;
        result.endpoint = std::move(connected.endpoint);
        finish(std::move(result));
      });
}

void UpstreamPool::forget(const std::string& host, uint16_t port, bool tls) {
  // Posted: the caller is inside its own response; waiting requests start after it.
  boost::asio::post(io_, [this, pool_alive = std::weak_ptr<bool>(alive_), pool_key = key(host, port, tls)] {
    if (pool_alive.lock()) connectionDone(pool_key);
  });
}

void UpstreamPool::connectionDone(const std::string& pool_key) {
  auto it = busy_.find(pool_key);
  if (it != busy_.end() && it->second > 0) --it->second;
  serveWaiters(pool_key);
}

std::shared_ptr<Http2ClientConnection> UpstreamPool::usableHttp2(const std::string& pool_key) {
  auto it = h2_.find(pool_key);
  if (it == h2_.end()) return nullptr;
  for (auto& c : it->second) {
    if (c->canStartStream()) return c;
  }
  return nullptr;
}

std::shared_ptr<Http2ClientConnection> UpstreamPool::adoptHttp2(const std::string& pool_key,
                                                                network::ConnectionPtr connection) {
  std::weak_ptr<bool> pool_alive = alive_;
  auto h2 = std::make_shared<Http2ClientConnection>(
      std::move(connection), [this, pool_alive, pool_key](Http2ClientConnection* closed) {
        // Removed on a fresh stack: the connection is inside its own callback now.
        boost::asio::post(io_, [this, pool_alive, pool_key, closed] {
          if (!pool_alive.lock()) return;
          auto it = h2_.find(pool_key);
          if (it == h2_.end()) return;
          std::erase_if(it->second, [&](const auto& c) { return c.get() == closed; });
          if (it->second.empty()) h2_.erase(it);
          connectionDone(pool_key);
        });
      });
  h2_[pool_key].push_back(h2);
  return h2;
}

std::optional<UpstreamPool::Waiter> UpstreamPool::takeWaiter(const std::string& pool_key, bool for_http2) {
  auto it = waiting_.find(pool_key);
  if (it == waiting_.end()) return std::nullopt;
  auto& queue = it->second;
  for (auto w = queue.begin(); w != queue.end();) {
    if (w->alive.expired()) {
      w = queue.erase(w);
    } else if (for_http2 && w->tls && w->tls->isHttp1Only()) {
      ++w;  // an upgrade: it waits for a connection of its own
    } else {
      Waiter waiter = std::move(*w);
      queue.erase(w);
      return waiter;
    }
  }
  return std::nullopt;
}

void UpstreamPool::serveWaiters(const std::string& pool_key) {
  // Waiters first go to an HTTP/2 connection with room for more streams.
  while (auto h2 = usableHttp2(pool_key)) {
    auto waiter = takeWaiter(pool_key, /*for_http2=*/true);
    if (!waiter) break;
    Result result;
    result.endpoint = h2->endpoint();
    result.h2 = std::move(h2);
    waiter->callback(std::move(result));
  }
  while (busy_[pool_key] < options_.max_connections_per_origin) {
    auto waiter = takeWaiter(pool_key);
    if (!waiter) break;
    connect(pool_key, std::move(*waiter));
  }
  auto it = waiting_.find(pool_key);
  if (it != waiting_.end() && it->second.empty()) waiting_.erase(it);
}

void UpstreamPool::startTls(boost::asio::io_context& io, network::ConnectionPtr connection, const std::string& host,
                            uint16_t port, const UpstreamTls& tls, std::chrono::milliseconds timeout,
                            std::function<void(Result, bool offered_session)> callback) {
  // The handshake gets the connect timeout again; a silent origin must not hang the request.
  auto timer = std::make_shared<Timer>(io, [weak = std::weak_ptr<network::Connection>(connection)] {
    if (auto c = weak.lock()) c->abortTls("TLS handshake timeout");
  });
  timer->enable(timeout);
  std::string endpoint = connection->remoteAddress();
  network::Connection* raw = connection.get();
  // A failed handshake forgets the origin's sessions: the next attempt is a full handshake.
  auto forget = [sessions = tls.sessions(), origin = UpstreamTls::originKey(host, port)] {
    if (sessions) sessions->forget(origin);
  };
  bssl::UniquePtr<SSL> ssl = tls.newClient(host, port);
  const bool offered_session = SSL_get_session(ssl.get()) != nullptr;
  raw->startTls(std::move(ssl), [timer, connection = std::move(connection), endpoint, callback, forget,
                                 offered_session](const std::string& error) mutable {
    timer->disable();
    auto keep = std::move(connection);  // breaks the connection -> callback -> connection cycle
    Result result;
    result.endpoint = endpoint;
    if (!error.empty()) {
      forget();
      result.error = error;
      result.tls_failure = true;
    } else {
      result.connection = std::move(keep);
    }
    callback(std::move(result), offered_session);
  });
}

void UpstreamPool::release(const std::string& host, uint16_t port, bool tls, network::ConnectionPtr connection,
                           bool reusable) {
  const std::string pool_key = key(host, port, tls);
  bool usable = connection && reusable && connection->isOpen() && connection->bufferedBytes() == 0 &&
                !connection->peerHalfClosed();
  if (usable) {
    // Straight to the next request waiting for this origin, if any.
    if (auto waiter = takeWaiter(pool_key)) {
      Result result;
      result.endpoint = connection->remoteAddress();
      result.connection = std::move(connection);
      result.reused = true;
      waiter->callback(std::move(result));
      return;
    }
  }
  auto busy = busy_.find(pool_key);
  if (busy != busy_.end() && busy->second > 0) --busy->second;
  if (!usable) {
    if (connection) connection->close(CloseType::NoFlush);  // never left dangling
    serveWaiters(pool_key);
    return;
  }
  auto& list = idle_[pool_key];
  if (list.size() >= options_.max_idle_per_origin) {
    connection->close(CloseType::NoFlush);
    return;
  }
  list.push_back(std::make_unique<Idle>(*this, pool_key, std::move(connection)));
  if (!sweep_.enabled()) sweep_.enable(options_.idle_timeout);
}

}  // namespace interpose::http
