#pragma once

#include <boost/asio/ip/address.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "api/interpose/network_filter.h"
#include "source/network/filter_chain.h"

namespace interpose::network {

// Where a filter manager's writes go and whom it asks to close or pause: the client's TCP
// connection for the outermost manager, the enclosing filter for an inner connection.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void write(Buffer& data, bool end_stream) = 0;
  virtual void close(CloseType type, std::string_view details) = 0;
  virtual void readDisable(bool disable) = 0;
  virtual void addWatermarkCallbacks(WatermarkCallbacks& cb) = 0;
  virtual void removeWatermarkCallbacks(WatermarkCallbacks& cb) = 0;
  virtual uint32_t bufferLimit() const = 0;
};

// Picks the filter chain for a (possibly inner) connection.
using ChainSelector = std::function<const FilterChain*(const ConnectionInfo&)>;

// Runs one connection's network filters: reads in order, writes in reverse order, events to
// all. Implements the callbacks each filter sees, and starts inner connections (CONNECT).
class FilterManager {
 public:
  // With `inspect_tls` (the listener's tls_inspector), the chain is chosen only once the
  // first bytes tell whether this is TLS and, if so, its SNI and ALPN; inner connections
  // inherit the setting.
  FilterManager(Transport& transport, Worker& worker, ConnectionInfo info, ChainSelector selector, bool inspect_tls);
  ~FilterManager();

  // Picks the chain (now, or after inspection) and runs onNewConnection() of its filters;
  // reads are held while one has stopped. `on_ready` runs once every filter has gone
  // through it, or at once when the chain waits for inspection. Returns false when no chain
  // matches now.
  bool initialize(std::function<void()> on_ready = {});
  void onRead(Buffer& data, bool end_stream);
  void onEvent(ConnectionEvent event);
  const ConnectionInfo& info() const { return info_; }
  // The chain running this connection; null until one is picked.
  const FilterChain* chain() const { return chain_; }

 private:
  class ActiveFilter;
  class Inner;
  void iterate(size_t start);
  void writeFrom(size_t index, Buffer& data, bool end_stream);
  void injectFrom(size_t index, Buffer& data, bool end_stream);
  void continueFrom(size_t index);
  bool start(const FilterChain& chain);
  // What an inner connection inherits from this one.
  void completeInnerInfo(ConnectionInfo& inner) const;
  void inspect();

  Transport& transport_;
  Worker& worker_;
  ConnectionInfo info_;
  ChainSelector selector_;
  bool inspect_tls_;
  bool inspecting_ = false;
  const FilterChain* chain_ = nullptr;
  std::vector<std::unique_ptr<ActiveFilter>> filters_;
  Buffer pending_;
  bool pending_end_ = false;
  bool end_delivered_ = false;
  bool initialized_ = false;  // every onNewConnection() returned Continue (or resumed)
  size_t init_stopped_at_ = 0;
  bool closed_ = false;
  bool read_paused_ = false;  // too much arrived before start-up finished
  std::function<void()> on_ready_;
  void ready();
};

}  // namespace interpose::network
