#include "source/http/upstream_pool.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "source/common/logger.h"

namespace interpose::http {

// An idle connection: the pool is its reader, and any byte or close event retires it.
class UpstreamPool::Idle : public network::Connection::Callbacks {
 public:
  Idle(UpstreamPool& pool, std::string key, network::ConnectionPtr connection)
      : pool_(pool), key_(std::move(key)), connection_(std::move(connection)), timer_(pool.io_, [this] { retire(); }) {
    connection_->setCallbacks(this);
    connection_->startReading();
    timer_.enable(pool.options_.idle_timeout);
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
    timer_.disable();
    connection_->setCallbacks(nullptr);
    return std::move(connection_);
  }
  const std::string& key() const { return key_; }

  void onRead(Buffer& data, bool end_stream) override { retire(); }
  void onEvent(ConnectionEvent event) override { retire(); }

 private:
  void retire() {
    if (retired_) return;
    retired_ = true;
    timer_.disable();
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
  Timer timer_;
};

UpstreamPool::UpstreamPool(boost::asio::io_context& io, Options options)
    : io_(io), options_(options), dns_(io, options.dns_ttl) {}

UpstreamPool::~UpstreamPool() { *alive_ = false; }

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& [k, list] : idle_) n += list.size();
  return n;
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
  auto it = idle_.find(pool_key);
  while (it != idle_.end() && !it->second.empty()) {
    // Most recently used first: it is the least likely to have been closed by the origin.
    std::unique_ptr<Idle> idle = std::move(it->second.back());
    it->second.pop_back();
    if (it->second.empty()) idle_.erase(it);
    network::ConnectionPtr connection = idle->take();
    if (connection && connection->isOpen() && !connection->peerHalfClosed()) {
      Result result;
      result.connection = std::move(connection);
      result.reused = true;
      result.endpoint = result.connection->remoteAddress();
      callback(std::move(result));
      return;
    }
    it = idle_.find(pool_key);
  }
  auto options = options_;
  auto& io = io_;
  dns_.resolve(host, port,
               [&io, options, host, tls, callback = std::move(callback), alive](const network::DnsCache::Result& dns) {
                 if (alive.expired()) return;
                 if (!dns.error.empty()) {
                   Result result;
                   result.error = dns.error;
                   result.dns_failure = true;
                   callback(std::move(result));
                   return;
                 }
                 network::connectTo(io, dns.endpoints, options.connect_timeout, options.buffer_limit,
                                    [&io, options, host, tls, callback, alive](network::ConnectResult connected) {
                                      if (alive.expired()) return;
                                      if (connected.connection && tls) {
                                        startTls(io, std::move(connected.connection), host, *tls,
                                                 options.connect_timeout, callback, alive);
                                        return;
                                      }
                                      Result result;
                                      result.connection = std::move(connected.connection);
                                      result.error = std::move(connected.error);
                                      result.timed_out = connected.timed_out;
                                      result.endpoint = std::move(connected.endpoint);
                                      callback(std::move(result));
                                    });
               });
}

void UpstreamPool::startTls(boost::asio::io_context& io, network::ConnectionPtr connection, const std::string& host,
                            const UpstreamTls& tls, std::chrono::milliseconds timeout, Callback callback,
                            std::weak_ptr<void> alive) {
  // The handshake gets the connect timeout again; a silent origin must not hang the request.
  auto timer = std::make_shared<Timer>(io, [weak = std::weak_ptr<network::Connection>(connection)] {
    if (auto c = weak.lock()) c->abortTls("TLS handshake timeout");
  });
  timer->enable(timeout);
  std::string endpoint = connection->remoteAddress();
  network::Connection* raw = connection.get();
  raw->startTls(tls.newSession(host), [timer, connection = std::move(connection), endpoint, callback,
                                       alive](const std::string& error) mutable {
    timer->disable();
    auto keep = std::move(connection);  // breaks the connection -> callback -> connection cycle
    if (alive.expired()) return;
    Result result;
    result.endpoint = endpoint;
    if (!error.empty()) {
      result.error = error;
      result.tls_failure = true;
    } else {
      result.connection = std::move(keep);
    }
    callback(std::move(result));
  });
}

void UpstreamPool::release(const std::string& host, uint16_t port, network::ConnectionPtr connection) {
  if (!connection) return;
  if (!connection->isOpen() || connection->bufferedBytes() > 0 || connection->peerHalfClosed()) {
    connection->close(CloseType::NoFlush);  // not reusable: never leave it dangling
    return;
  }
  auto& list = idle_[key(host, port, connection->secure())];
  if (list.size() >= options_.max_idle_per_origin) {
    connection->close(CloseType::NoFlush);
    return;
  }
  std::string idle_key = key(host, port, connection->secure());
  list.push_back(std::make_unique<Idle>(*this, std::move(idle_key), std::move(connection)));
}

}  // namespace interpose::http
