#include "source/server/server_connection.h"

#include <algorithm>

#include "source/common/logger.h"
#include "source/server/worker_impl.h"

namespace interpose::server {

ServerConnection::ServerConnection(WorkerImpl& worker, network::ConnectionPtr connection,
                                   const config::ListenerConfig& listener)
    : worker_(worker), connection_(std::move(connection)), listener_(listener) {
  boost::system::error_code ec;
  source_ = connection_->socket().remote_endpoint(ec).address();
}

ServerConnection::~ServerConnection() {
  // Filters first: they may still talk to the connection while they go.
  filters_.reset();
  connection_->setCallbacks(nullptr);
  connection_->close(CloseType::NoFlush);
}

bool ServerConnection::start() {
  ConnectionInfo info;
  info.id = connection_->id();
  info.remote_address = connection_->remoteAddress();
  info.local_address = connection_->localAddress();
  info.listener_name = listener_.name;
  info.destination_policy = listener_.destination_policy;
  info.destination_port = listener_.address.port();
  auto source = source_;
  const auto* chains = &listener_.filter_chains;
  network::ChainSelector selector = [chains, source](const ConnectionInfo& i) {
    return network::selectFilterChain(*chains, i, source);
  };
  connection_->setCallbacks(this);
  uint64_t id = info.id;
  filters_ = std::make_unique<network::FilterManager>(*this, worker_, std::move(info), std::move(selector),
                                                      listener_.inspect_tls);
  if (!filters_->initialize()) {
    log::debug("connection ", id, " from ", connection_->remoteAddress(), ": no filter chain matches");
    return false;
  }
  connection_->startReading();
  return true;
}

void ServerConnection::onRead(Buffer& data, bool end_stream) {
  if (filters_) filters_->onRead(data, end_stream);
}

void ServerConnection::onEvent(ConnectionEvent event) {
  if (closed_) return;
  closed_ = true;
  if (filters_) filters_->onEvent(event);
  worker_.removeConnection(this);
}

void ServerConnection::onAboveWriteBufferHighWatermark() {
  auto copy = watermark_callbacks_;
  for (auto* cb : copy) cb->onAboveWriteBufferHighWatermark();
}

void ServerConnection::onBelowWriteBufferLowWatermark() {
  auto copy = watermark_callbacks_;
  for (auto* cb : copy) cb->onBelowWriteBufferLowWatermark();
}

void ServerConnection::removeWatermarkCallbacks(WatermarkCallbacks& cb) { std::erase(watermark_callbacks_, &cb); }

}  // namespace interpose::server
