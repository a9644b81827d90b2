#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "api/interpose/stream_info.h"
#include "source/formatter/time_format.h"

namespace interpose::formatter {

// One %COMMAND% of a format string, resolved at config time so that evaluating it for a
// stream is a switch and a field read. Commands read only StreamInfo, so the same command
// works at the end of a stream (access logs) and while it runs (header values in
// decodeHeaders/encodeHeaders): a value not known yet is simply "not known".
class Command {
 public:
  // Parses what sits between the two '%': NAME, NAME(ARG) and either followed by an
  // optional :MAX_LENGTH. Returns nullopt with `error` set when the command is unknown or
  // its argument or length is malformed.
  static std::optional<Command> parse(std::string_view spec, std::string& error);

  // Appends the value for `info`, unescaped, to `out`. Returns false, appending nothing,
  // when the value is not known (no such header, no upstream yet, ...).
  bool evaluate(const StreamInfo& info, std::string& out) const;

  // True for commands whose value is a number; JSON renders these unquoted.
  bool numeric() const;

  enum class Kind {
    kStartTime,
    kRequestHeader,
    kResponseHeader,
    kResponseCode,
    kResponseFlags,
    kBytesReceived,
    kBytesSent,
    kDuration,
    kDownstreamRemoteAddress,
    kDownstreamRemoteAddressWithoutPort,
    kDownstreamLocalAddress,
    kUpstreamHost,
    kProtocol,
    kUpstreamProtocol,
    kError,
    kHostname,
    kConnectionId,
    kListenerName,
    kRequestedServerName,
    kRouteName,
    kTunnel,
  };
  Kind kind() const { return kind_; }

 private:
  explicit Command(Kind kind) : kind_(kind) {}
  bool evaluateUntruncated(const StreamInfo& info, std::string& out) const;

  Kind kind_;
  std::string header_;           // REQ/RESP: lower-case header name
  std::string fallback_header_;  // REQ/RESP: the Y of X?Y, or empty
  TimeFormat time_format_;       // START_TIME
  std::string hostname_;         // HOSTNAME: looked up once, at config time
  std::optional<size_t> max_length_;
};

// The Envoy short codes for the bits of StreamInfo::response_flags, joined by ',' in bit
// order, or "-" when none is set.
void appendResponseFlags(uint32_t flags, std::string& out);

}  // namespace interpose::formatter
