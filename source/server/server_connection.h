#pragma once

#include <memory>
#include <vector>

#include "source/config/server_config.h"
#include "source/network/connection.h"
#include "source/network/filter_manager.h"

namespace interpose::server {

class WorkerImpl;

// An accepted client connection: the TCP connection plus the filter chain the listener chose
// for it. It is the transport of the outermost network filter manager.
class ServerConnection : public network::Connection::Callbacks, public network::Transport {
 public:
  ServerConnection(WorkerImpl& worker, network::ConnectionPtr connection, const config::ListenerConfig& listener);
  ~ServerConnection() override;

  // Picks the filter chain and starts reading; false if no chain accepts the connection.
  bool start();

  // network::Connection::Callbacks
  void onRead(Buffer& data, bool end_stream) override;
  void onEvent(ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // network::Transport
  void write(Buffer& data, bool end_stream) override { connection_->write(data, end_stream); }
  void close(CloseType type, std::string_view details) override { connection_->close(type); }
  void readDisable(bool disable) override { connection_->readDisable(disable); }
  void addWatermarkCallbacks(WatermarkCallbacks& cb) override { watermark_callbacks_.push_back(&cb); }
  void removeWatermarkCallbacks(WatermarkCallbacks& cb) override;
  uint32_t bufferLimit() const override { return connection_->bufferLimit(); }

 private:
  WorkerImpl& worker_;
  network::ConnectionPtr connection_;
  const config::ListenerConfig& listener_;
  boost::asio::ip::address source_;
  std::unique_ptr<network::FilterManager> filters_;
  std::vector<WatermarkCallbacks*> watermark_callbacks_;
  bool closed_ = false;
};

}  // namespace interpose::server
