#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "api/interpose/network_filter.h"
#include "source/common/timer.h"
#include "source/network/connection.h"
#include "source/network/dns_cache.h"

namespace interpose::tcp_proxy {

struct TcpProxyConfig {
  // Fixed destination "host:port"; empty: the connection's own destination (the CONNECT
  // target of an inner connection).
  std::string destination_host;
  uint16_t destination_port = 0;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{3600000};  // no bytes either way: close both
  std::chrono::milliseconds dns_cache_ttl{60000};
  WorkerSlot<network::DnsCache> dns;  // each worker's cache for this config
};

TcpProxyConfig parseTcpProxyConfig(const ConfigNode& config);

// Splices bytes between the client and a destination, both ways, with each side's write
// buffer pausing the other side's reads. Reading from the client waits until the
// destination is connected; if it cannot be reached, the client connection is closed.
class TcpProxy : public NetworkFilter, public WatermarkCallbacks {
 public:
  explicit TcpProxy(std::shared_ptr<const TcpProxyConfig> config) : config_(std::move(config)) {}
  ~TcpProxy() override;

  FilterStatus onNewConnection() override;
  FilterStatus onData(Buffer& data, bool end_stream) override;
  void onEvent(ConnectionEvent event) override;

  // The client's write buffer: when it fills, stop reading the destination.
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

 private:
  // The destination connection's callbacks.
  struct Upstream : network::Connection::Callbacks {
    explicit Upstream(TcpProxy& p) : proxy(p) {}
    void onRead(Buffer& data, bool end_stream) override;
    void onEvent(ConnectionEvent event) override;
    // Its write buffer: when it fills, stop reading the client.
    void onAboveWriteBufferHighWatermark() override;
    void onBelowWriteBufferLowWatermark() override;
    TcpProxy& proxy;
  };

  void onConnected(network::ConnectResult result);
  // Closes without connecting: the destination is not one clients may reach. A CONNECT is
  // answered `status` with `flag` (see ConnectionInfo::refusal_status).
  void refuse(int status, uint32_t flag, std::string_view why);
  void closeUpstream();
  void touch();
  void pauseClient(bool pause);

  std::shared_ptr<const TcpProxyConfig> config_;
  std::shared_ptr<char> life_ = std::make_shared<char>();
  network::ConnectionPtr upstream_;
  std::unique_ptr<Timer> idle_timer_;
  bool connected_ = false;
  bool client_closed_ = false;
  bool client_read_paused_ = false;  // by us, waiting for the destination

  bool upstream_read_paused_ = false;
  bool watching_client_ = false;
  bool client_eof_ = false;    // the client half-closed
  bool upstream_eof_ = false;  // the destination half-closed
  Upstream upstream_callbacks_{*this};
};

}  // namespace interpose::tcp_proxy
