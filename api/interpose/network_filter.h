#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/interpose/buffer.h"
#include "api/interpose/config_node.h"
#include "api/interpose/factory_context.h"
#include "api/interpose/stream_info.h"
#include "api/interpose/worker.h"

namespace interpose {

enum class FilterStatus { Continue, StopIteration };

// Connection events delivered to every filter.
enum class ConnectionEvent { RemoteClose, LocalClose };

enum class CloseType {
  FlushWrite,  // send what is queued, then close
  NoFlush,     // close now (reset)
};

// What a network filter can do to its connection. A connection may be the client's TCP
// connection or an inner connection inside a CONNECT tunnel; filters cannot tell apart
// except through connectionInfo().tunneled.
class NetworkFilterCallbacks {
 public:
  virtual ~NetworkFilterCallbacks() = default;
  virtual const ConnectionInfo& connectionInfo() const = 0;
  // For filters that learn about the connection (TLS termination sets secure, sni, alpn).
  virtual ConnectionInfo& mutableConnectionInfo() = 0;
  virtual Worker& worker() = 0;

  // Resumes onData() iteration after this filter returned StopIteration.
  virtual void continueReading() = 0;
  // Passes data to the filters after this one, as if read from the connection (a filter that
  // transforms bytes, such as TLS termination, returns StopIteration and injects the result).
  virtual void injectReadDataToNextFilters(Buffer& data, bool end_stream) = 0;
  // Writes towards the client: through onWrite() of the filters before this one, then out.
  virtual void write(Buffer& data, bool end_stream) = 0;
  // `details` says why, for whoever started this connection (e.g. "connection refused").
  virtual void close(CloseType type, std::string_view details = {}) = 0;
  // Counted: each readDisable(true) needs a readDisable(false) before reading resumes.
  virtual void readDisable(bool disable) = 0;
  // Told when the bytes queued towards the client cross the high/low watermarks.
  virtual void addWatermarkCallbacks(WatermarkCallbacks& cb) = 0;
  virtual void removeWatermarkCallbacks(WatermarkCallbacks& cb) = 0;
  virtual uint32_t bufferLimit() const = 0;

  // Starts an inner connection inside this one (after CONNECT): the listener's filter chain
  // selection runs again with `info` (tunneled = true, server name and destination port from
  // the CONNECT target). The calling filter feeds it with InnerConnection::onData; what the
  // inner filters write goes out through this filter's write(). `callbacks` learns when the
  // inner chain is ready for bytes (every onNewConnection() went through: a tcp_proxy has
  // reached its destination), or that it closed before that; either may be called before
  // this returns. Returns nullptr when no chain matches.
  class InnerConnection {
   public:
    virtual ~InnerConnection() = default;
    virtual void onData(Buffer& data, bool end_stream) = 0;
    virtual void onEvent(ConnectionEvent event) = 0;
    // The chain that took it; nullopt while a tls_inspector still waits for its first bytes.
    virtual std::optional<TunnelChoice> choice() const = 0;
    // Bytes that went through it from the client and towards the client.
    virtual uint64_t bytesFromClient() const = 0;
    virtual uint64_t bytesToClient() const = 0;
    // Why its chain closed it, when a filter said (e.g. "client refused our certificate").
    virtual const std::string& closeDetails() const = 0;
  };
  class InnerConnectionCallbacks {
   public:
    virtual ~InnerConnectionCallbacks() = default;
    virtual void onInnerConnectionReady() = 0;
    // `inner`: its refusal_status/refusal_flag say when a filter refused the destination.
    virtual void onInnerConnectionFailed(std::string_view details, const ConnectionInfo& inner) = 0;
  };
  virtual std::unique_ptr<InnerConnection> startInnerConnection(ConnectionInfo info,
                                                                InnerConnectionCallbacks& callbacks) = 0;
  // The chain an inner connection with `info` would be given now, without starting it (a
  // listener's tls_inspector may still pick another once it sees the client's bytes).
  virtual std::optional<TunnelChoice> previewInnerConnection(ConnectionInfo info) const = 0;
};

class NetworkFilter {
 public:
  virtual ~NetworkFilter() = default;
  virtual void initialize(NetworkFilterCallbacks& callbacks) { callbacks_ = &callbacks; }
  // The connection is up (on_client_connected). StopIteration holds reading until
  // continueReading().
  virtual FilterStatus onNewConnection() { return FilterStatus::Continue; }
  // Bytes from the client, in order. end_stream: the client half-closed.
  virtual FilterStatus onData(Buffer& data, bool end_stream) = 0;
  // Bytes towards the client, in reverse filter order; may be changed in place.
  virtual FilterStatus onWrite(Buffer& data, bool end_stream) { return FilterStatus::Continue; }
  virtual void onEvent(ConnectionEvent event) {}

 protected:
  NetworkFilterCallbacks* callbacks_ = nullptr;
};

// Per-connection filter factory, made once per config load by a NetworkFilterFactory.
using NetworkFilterFactoryCb = std::function<std::unique_ptr<NetworkFilter>()>;

class NetworkFilterFactory {
 public:
  virtual ~NetworkFilterFactory() = default;
  virtual std::string name() const = 0;
  // Parses and validates `config` (throwing ConfigError), returning the per-connection maker.
  // `context`: the server's shared parts (cert providers, worker slots, shared state).
  virtual NetworkFilterFactoryCb create(const ConfigNode& config, FactoryContext& context) const = 0;
  // True for a filter that terminates the client's TLS (tls_intercept): a tunnel whose chain
  // has one is intercepted, else its bytes pass through as they are.
  virtual bool terminatesTls() const { return false; }
};

}  // namespace interpose
