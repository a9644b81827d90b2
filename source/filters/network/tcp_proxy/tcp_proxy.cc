#include "source/filters/network/tcp_proxy/tcp_proxy.h"

#include "api/interpose/registry.h"
#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/http/request_target.h"

namespace interpose::tcp_proxy {

TcpProxyConfig parseTcpProxyConfig(const ConfigNode& config) {
  config.expectMap({"destination", "connect_timeout", "idle_timeout", "dns_cache_ttl"});
  TcpProxyConfig out;
  if (config.has("destination")) {
    auto target = http::splitAuthority(config.child("destination").str(), 0);
    if (!target || target->second == 0) config.child("destination").fail("expected host:port");
    out.destination_host = target->first;
    out.destination_port = target->second;
  }
  out.connect_timeout = config.duration("connect_timeout", out.connect_timeout);
  out.idle_timeout = config.duration("idle_timeout", out.idle_timeout);
  out.dns_cache_ttl = config.duration("dns_cache_ttl", out.dns_cache_ttl);
  if (out.connect_timeout.count() == 0) config.child("connect_timeout").fail("must be greater than 0");
  return out;
}

TcpProxy::~TcpProxy() {
  life_.reset();
  closeUpstream();
  if (callbacks_ && watching_client_) callbacks_->removeWatermarkCallbacks(*this);
}

FilterStatus TcpProxy::onNewConnection() {
  const ConnectionInfo& info = callbacks_->connectionInfo();
  std::string host = config_->destination_host.empty() ? info.server_name : config_->destination_host;
  uint16_t port = config_->destination_port ? config_->destination_port : info.destination_port;
  auto& worker = callbacks_->worker();
  idle_timer_ = std::make_unique<Timer>(worker.ioContext(), [this] {
    log::debug("tcp_proxy: idle timeout on connection ", callbacks_->connectionInfo().id);
    callbacks_->close(CloseType::NoFlush);
  });
  touch();
  if (host.empty() || port == 0) {
    log::warn("tcp_proxy: connection ", info.id, " has no destination");
    callbacks_->close(CloseType::NoFlush, "tcp_proxy has no destination");
    return FilterStatus::StopIteration;
  }
  auto& dns = config_->dns.get(
      worker, [&] { return std::make_shared<network::DnsCache>(worker.ioContext(), config_->dns_cache_ttl); });
  std::weak_ptr<char> alive = life_;
  auto timeout = config_->connect_timeout;
  auto limit = callbacks_->bufferLimit();
  auto& io = worker.ioContext();
  // A destination the config names may be one of our own listeners on purpose (chaining
  // listeners), or on a network the destination policy keeps clients from; one the client
  // chose (the CONNECT target) may not.
  const bool client_chosen = config_->destination_host.empty();
  if (info.tunnel_reply) {
    // Its CONNECT was to be answered inside the tunnel (a block page), but this chain would
    // pass the bytes through to the blocked host: refuse it with that reply's status.
    refuse(info.tunnel_reply->status, response_flags::kLocalReply, info.tunnel_reply->details);
    return FilterStatus::StopIteration;
  }
  const DestinationPolicy* policy = client_chosen ? info.destination_policy.get() : nullptr;
  if (policy) {
    auto verdict = policy->checkName(host, port, /*tunnel=*/true);
    if (verdict && !verdict->allowed) {
      refuse(403, response_flags::kDestinationDenied, verdict->why());
      return FilterStatus::StopIteration;
    }
  }
  dns.resolve(
      host, port,
      [this, alive, timeout, limit, &io, &worker, client_chosen, policy, host,
       port](const network::DnsCache::Result& result) {
        if (alive.expired()) return;
        if (!result.error.empty()) {
          onConnected(network::ConnectResult{nullptr, result.error, false, ""});
          return;
        }
        for (const auto& endpoint : result.endpoints) {
          // (A configured destination that is this very listener loops just the same.)
          bool loop = client_chosen ? worker.isOwnListener(endpoint)
                                    : network::formatEndpoint(endpoint) == callbacks_->connectionInfo().local_address;
          if (loop) {
            // A tunnel into ourselves would loop, one more connection per hop.
            refuse(508, response_flags::kLoopDetected,
                   str::cat("loop detected: ", network::formatEndpoint(endpoint), " is this proxy's own listener"));
            return;
          }
          // Every address the name resolved to: connectTo may use any of them.
          if (policy) {
            auto verdict = policy->checkAddress(host, port, endpoint.address(), /*tunnel=*/true);
            if (!verdict.allowed) {
              refuse(403, response_flags::kDestinationDenied,
                     str::cat(verdict.why(), " (", host, " is ", endpoint.address().to_string(), ")"));
              return;
            }
          }
        }
        network::connectTo(io, result.endpoints, timeout, limit, [this, alive](network::ConnectResult connected) {
          if (!alive.expired()) onConnected(std::move(connected));
        });
      });
  callbacks_->addWatermarkCallbacks(*this);
  watching_client_ = true;
  // Nothing is read from the client until the destination answers (continueReading()).
  return FilterStatus::StopIteration;
}

void TcpProxy::refuse(int status, uint32_t flag, std::string_view why) {
  ConnectionInfo& info = callbacks_->mutableConnectionInfo();
  info.refusal_status = status;
  info.refusal_flag = flag;
  log::info("tcp_proxy: connection ", info.id, " to ", info.server_name, ":", info.destination_port, " refused: ", why);
  callbacks_->close(CloseType::NoFlush, str::cat("tcp_proxy: ", why));
}

void TcpProxy::onConnected(network::ConnectResult result) {
  if (client_closed_) {
    if (result.connection) result.connection->close(CloseType::NoFlush);
    return;
  }
  if (!result.connection) {
    log::info("tcp_proxy: connection ", callbacks_->connectionInfo().id, " to ",
              callbacks_->connectionInfo().server_name, ":", callbacks_->connectionInfo().destination_port,
              " failed: ", result.error);
    callbacks_->close(CloseType::NoFlush, str::cat("tcp_proxy: ", result.error));
    return;
  }
  upstream_ = std::move(result.connection);
  upstream_->setCallbacks(&upstream_callbacks_);
  upstream_->startReading();
  connected_ = true;
  callbacks_->continueReading();
}

FilterStatus TcpProxy::onData(Buffer& data, bool end_stream) {
  touch();
  if (!upstream_) {
    data.clear();  // the destination is gone; the connection is closing
    return FilterStatus::StopIteration;
  }
  upstream_->write(data, end_stream);
  if (end_stream) {
    client_eof_ = true;
    if (upstream_eof_) callbacks_->close(CloseType::FlushWrite);
  }
  return FilterStatus::StopIteration;
}

void TcpProxy::Upstream::onRead(Buffer& data, bool end_stream) {
  proxy.touch();
  proxy.callbacks_->write(data, end_stream);
  if (end_stream) {
    proxy.upstream_eof_ = true;
    // Both sides finished sending: nothing more can flow, so close (after flushing).
    if (proxy.client_eof_) proxy.callbacks_->close(CloseType::FlushWrite);
  }
}

void TcpProxy::Upstream::onEvent(ConnectionEvent event) {
  // The destination closed: finish sending the client what it sent, then close.
  proxy.upstream_.reset();
  if (!proxy.client_closed_) proxy.callbacks_->close(CloseType::FlushWrite);
}

void TcpProxy::Upstream::onAboveWriteBufferHighWatermark() { proxy.pauseClient(true); }
void TcpProxy::Upstream::onBelowWriteBufferLowWatermark() { proxy.pauseClient(false); }

void TcpProxy::pauseClient(bool pause) {
  if (pause == client_read_paused_) return;
  client_read_paused_ = pause;
  callbacks_->readDisable(pause);
}

void TcpProxy::onAboveWriteBufferHighWatermark() {
  if (!upstream_ || upstream_read_paused_) return;
  upstream_read_paused_ = true;
  upstream_->readDisable(true);
}

void TcpProxy::onBelowWriteBufferLowWatermark() {
  if (!upstream_ || !upstream_read_paused_) return;
  upstream_read_paused_ = false;
  upstream_->readDisable(false);
}

void TcpProxy::onEvent(ConnectionEvent event) {
  client_closed_ = true;
  closeUpstream();
}

void TcpProxy::closeUpstream() {
  if (idle_timer_) idle_timer_->disable();
  if (!upstream_) return;
  upstream_->setCallbacks(nullptr);
  upstream_->close(CloseType::FlushWrite);
  upstream_.reset();
}

void TcpProxy::touch() {
  if (idle_timer_) idle_timer_->enable(config_->idle_timeout);
}

class TcpProxyFactory : public NetworkFilterFactory {
 public:
  std::string name() const override { return "tcp_proxy"; }
  NetworkFilterFactoryCb create(const ConfigNode& config, FactoryContext&) const override {
    auto parsed = std::make_shared<const TcpProxyConfig>(parseTcpProxyConfig(config));
    return [parsed] { return std::make_unique<TcpProxy>(parsed); };
  }
};

INTERPOSE_REGISTER_NETWORK_FILTER(TcpProxyFactory);

}  // namespace interpose::tcp_proxy
