#include "source/network/filter_manager.h"

#include <utility>

#include "source/common/logger.h"
#include "source/network/client_hello.h"

namespace interpose::network {

// The callbacks object of one filter: it knows the filter's position, so writes pass only
// through the filters before it and injected reads only through those after it.
class FilterManager::ActiveFilter : public NetworkFilterCallbacks {
 public:
  ActiveFilter(FilterManager& parent, size_t index, std::unique_ptr<NetworkFilter> filter)
      : parent_(parent), index_(index), filter_(std::move(filter)) {}

  NetworkFilter& filter() { return *filter_; }

  const ConnectionInfo& connectionInfo() const override { return parent_.info_; }
  ConnectionInfo& mutableConnectionInfo() override { return parent_.info_; }
  Worker& worker() override { return parent_.worker_; }
  void continueReading() override { parent_.continueFrom(index_); }
  void injectReadDataToNextFilters(Buffer& data, bool end_stream) override {
    parent_.injectFrom(index_ + 1, data, end_stream);
  }
  void write(Buffer& data, bool end_stream) override { parent_.writeFrom(index_, data, end_stream); }
  void close(CloseType type, std::string_view details) override { parent_.transport_.close(type, details); }
  void readDisable(bool disable) override { parent_.transport_.readDisable(disable); }
  void addWatermarkCallbacks(WatermarkCallbacks& cb) override { parent_.transport_.addWatermarkCallbacks(cb); }
  void removeWatermarkCallbacks(WatermarkCallbacks& cb) override { parent_.transport_.removeWatermarkCallbacks(cb); }
  uint32_t bufferLimit() const override { return parent_.transport_.bufferLimit(); }
  std::unique_ptr<InnerConnection> startInnerConnection(ConnectionInfo info,
                                                        InnerConnectionCallbacks& callbacks) override;
  std::optional<TunnelChoice> previewInnerConnection(ConnectionInfo info) const override {
    parent_.completeInnerInfo(info);
    const FilterChain* chain = parent_.selector_(info);
    if (!chain) return std::nullopt;
    return chain->choice(info);
  }

 private:
  FilterManager& parent_;
  size_t index_;
  std::unique_ptr<NetworkFilter> filter_;
};

// An inner connection: a nested filter manager whose transport is the enclosing filter.
class FilterManager::Inner : public NetworkFilterCallbacks::InnerConnection, public Transport {
 public:
  Inner(NetworkFilterCallbacks& outer, NetworkFilterCallbacks::InnerConnectionCallbacks& callbacks, Worker& worker,
        ConnectionInfo info, ChainSelector selector, bool inspect_tls)
      : outer_(outer),
        callbacks_(callbacks),
        manager_(*this, worker, std::move(info), std::move(selector), inspect_tls) {}

  bool start() {
    return manager_.initialize([this] {
      ready_ = true;
      callbacks_.onInnerConnectionReady();
    });
  }
  void onData(Buffer& data, bool end_stream) override {
    from_client_ += data.size();
    manager_.onRead(data, end_stream);
  }
  void onEvent(ConnectionEvent event) override { manager_.onEvent(event); }
  std::optional<TunnelChoice> choice() const override {
    if (!manager_.chain()) return std::nullopt;
    return manager_.chain()->choice(manager_.info());
  }
  uint64_t bytesFromClient() const override { return from_client_; }
  uint64_t bytesToClient() const override { return to_client_; }

  void write(Buffer& data, bool end_stream) override {
    to_client_ += data.size();
    outer_.write(data, end_stream);
  }
  const std::string& closeDetails() const override { return close_details_; }
  void close(CloseType type, std::string_view details) override {
    if (ready_) {
      if (close_details_.empty()) close_details_ = details;
      outer_.close(type, details);
    } else if (!failed_) {
      // It never got going (e.g. the destination is unreachable): the enclosing filter
      // answers the client (a 502 to the CONNECT) instead of dropping the connection.
      failed_ = true;
      callbacks_.onInnerConnectionFailed(details, manager_.info());
    }
  }
  void readDisable(bool disable) override { outer_.readDisable(disable); }
  void addWatermarkCallbacks(WatermarkCallbacks& cb) override { outer_.addWatermarkCallbacks(cb); }
  void removeWatermarkCallbacks(WatermarkCallbacks& cb) override { outer_.removeWatermarkCallbacks(cb); }
  uint32_t bufferLimit() const override { return outer_.bufferLimit(); }

 private:
  NetworkFilterCallbacks& outer_;
  NetworkFilterCallbacks::InnerConnectionCallbacks& callbacks_;
  bool ready_ = false;
  bool failed_ = false;
  uint64_t from_client_ = 0;
  uint64_t to_client_ = 0;
  std::string close_details_;
  FilterManager manager_;
};

std::unique_ptr<NetworkFilterCallbacks::InnerConnection> FilterManager::ActiveFilter::startInnerConnection(
    ConnectionInfo info, InnerConnectionCallbacks& callbacks) {
  parent_.completeInnerInfo(info);
  auto inner = std::make_unique<Inner>(*this, callbacks, parent_.worker_, std::move(info), parent_.selector_,
                                       parent_.inspect_tls_);
  if (!inner->start()) return nullptr;
  return inner;
}

FilterManager::FilterManager(Transport& transport, Worker& worker, ConnectionInfo info, ChainSelector selector,
                             bool inspect_tls)
    : transport_(transport),
      worker_(worker),
      info_(std::move(info)),
      selector_(std::move(selector)),
      inspect_tls_(inspect_tls) {}

FilterManager::~FilterManager() = default;

void FilterManager::completeInnerInfo(ConnectionInfo& inner) const {
  inner.tunneled = true;
  inner.id = info_.id;
  inner.remote_address = info_.remote_address;
  inner.local_address = info_.local_address;
  inner.listener_name = info_.listener_name;
  inner.destination_policy = info_.destination_policy;
}

bool FilterManager::initialize(std::function<void()> on_ready) {
  on_ready_ = std::move(on_ready);
  if (inspect_tls_) {
    // Bytes first: the client may only send them once it is told the tunnel is up.
    inspecting_ = true;
    if (on_ready_) std::exchange(on_ready_, nullptr)();
    return true;
  }
  const FilterChain* chain = selector_(info_);
  if (!chain) return false;
  return start(*chain);
}

bool FilterManager::start(const FilterChain& chain) {
  chain_ = &chain;
  for (const auto& factory : chain.filter_factories) {
    filters_.push_back(std::make_unique<ActiveFilter>(*this, filters_.size(), factory()));
  }
  for (auto& f : filters_) f->filter().initialize(*f);
  for (size_t i = 0; i < filters_.size(); ++i) {
    if (filters_[i]->filter().onNewConnection() == FilterStatus::StopIteration) {
      init_stopped_at_ = i;
      return true;
    }
  }
  ready();
  return true;
}

void FilterManager::inspect() {
  ClientHello hello;
  auto result = hello.parse(pending_.view());
  if (result == ClientHello::Result::NeedMore) {
    if (!pending_end_ && pending_.size() <= 16 * 1024 + 5) return;
    result = ClientHello::Result::NotTls;  // ended or too long before a whole record came
  }
  inspecting_ = false;
  if (result == ClientHello::Result::Tls) {
    info_.transport = "tls";
    info_.sni = hello.sni;
    info_.client_alpn = hello.alpn;
  } else {
    info_.transport = "raw";
  }
  const FilterChain* chain = selector_(info_);
  if (!chain) {
    transport_.close(CloseType::NoFlush, "no filter chain matches the connection");
    return;
  }
  start(*chain);
  if (initialized_ && (!pending_.empty() || pending_end_)) iterate(0);
}

void FilterManager::ready() {
  initialized_ = true;
  if (read_paused_) {
    read_paused_ = false;
    transport_.readDisable(false);
  }
  if (on_ready_) std::exchange(on_ready_, nullptr)();
}

void FilterManager::continueFrom(size_t index) {
  if (!initialized_ && index == init_stopped_at_) {
    // Finish connection start-up, then deliver whatever arrived meanwhile.
    for (size_t i = index + 1; i < filters_.size(); ++i) {
      if (filters_[i]->filter().onNewConnection() == FilterStatus::StopIteration) {
        init_stopped_at_ = i;
        return;
      }
    }
    ready();
    if (!pending_.empty() || pending_end_) iterate(0);
    return;
  }
  if (initialized_ && (!pending_.empty() || pending_end_)) iterate(index + 1);
}

void FilterManager::onRead(Buffer& data, bool end_stream) {
  pending_.move(data);
  pending_end_ = pending_end_ || end_stream;
  if (inspecting_) {
    inspect();
    return;
  }
  if (!initialized_) {
    // Start-up (e.g. connecting to a destination) is not done: hold the bytes, within limits.
    if (pending_.size() > transport_.bufferLimit() && !read_paused_) {
      read_paused_ = true;
      transport_.readDisable(true);
    }
    return;
  }
  iterate(0);
}

void FilterManager::iterate(size_t start) {
  // The end of the stream is reported once, however often iteration restarts.
  bool end = pending_end_ && !end_delivered_;
  if (pending_.empty() && !end) return;
  end_delivered_ = end_delivered_ || end;
  for (size_t i = start; i < filters_.size(); ++i) {
    if (filters_[i]->filter().onData(pending_, end) == FilterStatus::StopIteration) return;
  }
}

void FilterManager::injectFrom(size_t index, Buffer& data, bool end_stream) {
  for (size_t i = index; i < filters_.size(); ++i) {
    if (filters_[i]->filter().onData(data, end_stream) == FilterStatus::StopIteration) return;
  }
}

void FilterManager::writeFrom(size_t index, Buffer& data, bool end_stream) {
  for (size_t i = index; i-- > 0;) {
    if (filters_[i]->filter().onWrite(data, end_stream) == FilterStatus::StopIteration) return;
  }
  transport_.write(data, end_stream);
}

void FilterManager::onEvent(ConnectionEvent event) {
  if (closed_) return;
  closed_ = true;
  for (auto& f : filters_) f->filter().onEvent(event);
}

}  // namespace interpose::network
