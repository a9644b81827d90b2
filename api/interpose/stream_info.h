#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/interpose/destination_policy.h"
#include "api/interpose/header_map.h"

namespace interpose {

// A reply that every request inside a CONNECT tunnel gets: local_reply blocking a host whose
// tunnel is intercepted lets the CONNECT through so the block page shows inside it. The
// filter manager gives it before any filter runs (whatever the inner chain's routes say), and
// tcp_proxy refuses a tunnel that carries one (it could only pass the bytes through).
struct TunnelReply {
  int status = 403;
  std::string body;
  HeaderMap headers;
  std::string details;
};

// What is known about the client connection a stream or inner connection arrived on.
struct ConnectionInfo {
  std::string remote_address;  // "ip:port" of the client ("[v6]:port" for IPv6)
  std::string local_address;   // "ip:port" the listener accepted on
  std::string listener_name;
  // For chain selection: the server name (CONNECT host, later the TLS SNI) and destination
  // port (listener port, or the CONNECT port for an inner connection).
  std::string server_name;
  uint16_t destination_port = 0;
  bool tunneled = false;  // an inner connection, inside a CONNECT tunnel
  uint64_t id = 0;
  // Set by a filter that terminates TLS (tls_intercept) once its handshake is done.
  bool secure = false;
  std::string tls_version;  // "TLSv1.3"
  std::string sni;          // the server name the client sent, as sent
  std::string alpn;         // the protocol agreed with the client, e.g. "http/1.1"
  // Set by the listener's tls_inspector before chain selection.
  std::string transport;                 // "tls" or "raw"; empty when not inspected
  std::vector<std::string> client_alpn;  // the protocols the client offered
  // The listener's destination_policy; null when it has none (everything is allowed).
  std::shared_ptr<const DestinationPolicy> destination_policy;
  // Set by a filter that refuses this (inner) connection's destination before connecting
  // (tcp_proxy: destination policy, loop guard): what the CONNECT is answered instead of
  // 502, with its response flag.
  int refusal_status = 0;
  uint32_t refusal_flag = 0;
  // Set on an inner connection whose CONNECT carried a reply (see TunnelReply).
  std::shared_ptr<const TunnelReply> tunnel_reply;
};

// Which filter chain took a CONNECT tunnel's inner connection: for the access log (was
// this host intercepted or passed through, and why) and for filters that act on CONNECT.
struct TunnelChoice {
  std::string chain;         // the chain's name
  bool intercepted = false;  // its filters terminate TLS (tls_intercept); else bytes pass through
  std::string reason;        // the match conditions that chose it, e.g. "server_names=*.bank.example"
};

// Response flags, Envoy-style short codes for %RESPONSE_FLAGS%.
namespace response_flags {
inline constexpr uint32_t kNone = 0;
inline constexpr uint32_t kUpstreamConnectionFailure = 1 << 0;        // UF
inline constexpr uint32_t kNoHealthyUpstream = 1 << 1;                // UH (DNS failure)
inline constexpr uint32_t kUpstreamRequestTimeout = 1 << 2;           // UT
inline constexpr uint32_t kUpstreamConnectionTermination = 1 << 3;    // UC
inline constexpr uint32_t kDownstreamConnectionTermination = 1 << 4;  // DC
inline constexpr uint32_t kLocalReply = 1 << 5;                       // LR
inline constexpr uint32_t kStreamIdleTimeout = 1 << 6;                // SI
inline constexpr uint32_t kDownstreamProtocolError = 1 << 7;          // DPE
inline constexpr uint32_t kUpstreamProtocolError = 1 << 8;            // UPE
inline constexpr uint32_t kRateLimited = 1 << 9;                      // RL
inline constexpr uint32_t kUpstreamOverflow = 1 << 10;                // UO
inline constexpr uint32_t kRequestHeaderTimeout = 1 << 11;            // RHT
inline constexpr uint32_t kLoopDetected = 1 << 12;                    // LD (destination is the proxy itself)
inline constexpr uint32_t kDestinationDenied = 1 << 13;               // DD (destination_policy refused it)
}  // namespace response_flags

// Everything known about one HTTP stream: what filters and access logs read at the end.
struct StreamInfo {
  using Clock = std::chrono::steady_clock;

  std::chrono::system_clock::time_point start_time;  // wall clock, for %START_TIME%
  Clock::time_point start;                           // monotonic, for durations
  std::optional<Clock::time_point> first_upstream_byte;
  std::optional<Clock::time_point> last_downstream_byte_sent;
  std::optional<Clock::time_point> end;

  const ConnectionInfo* connection = nullptr;
  std::string protocol;           // downstream protocol: "HTTP/1.1", "HTTP/1.0"
  std::string upstream_protocol;  // "HTTP/1.1" once an upstream was used
  std::string upstream_host;      // "ip:port" of the origin that served the stream
  std::string route_name;         // the matched route, empty if none
  int response_code = 0;          // 0 when no response was sent
  uint32_t response_flags = 0;
  std::string error;            // why the stream failed, empty on success (e.g. "connection refused")
  uint64_t bytes_received = 0;  // request body bytes from the client
  uint64_t bytes_sent = 0;      // response body bytes to the client
  // A CONNECT: the chain its tunnel goes (or, before the tunnel is up, would go) to.
  std::optional<TunnelChoice> tunnel;
  // A CONNECT: the reply its tunnel's requests get (set by a filter, e.g. local_reply).
  std::shared_ptr<const TunnelReply> tunnel_reply;

  // The request and response as the client saw them (after filters).
  const HeaderMap* request_headers = nullptr;
  const HeaderMap* response_headers = nullptr;

  std::chrono::microseconds duration() const {
    auto stop = end.value_or(Clock::now());
    return std::chrono::duration_cast<std::chrono::microseconds>(stop - start);
  }
};

}  // namespace interpose
