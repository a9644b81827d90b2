#include "source/formatter/command.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>

#include "api/interpose/header_map.h"
#include "api/interpose/strings.h"

namespace interpose::formatter {
namespace {

enum class Argument { kNone, kRequired, kOptional };

struct CommandSpec {
  std::string_view name;
  Command::Kind kind;
  Argument argument;
};

constexpr CommandSpec kCommands[] = {
    {"START_TIME", Command::Kind::kStartTime, Argument::kOptional},
    {"REQ", Command::Kind::kRequestHeader, Argument::kRequired},
    {"RESP", Command::Kind::kResponseHeader, Argument::kRequired},
    {"RESPONSE_CODE", Command::Kind::kResponseCode, Argument::kNone},
    {"RESPONSE_FLAGS", Command::Kind::kResponseFlags, Argument::kNone},
    {"BYTES_RECEIVED", Command::Kind::kBytesReceived, Argument::kNone},
    {"BYTES_SENT", Command::Kind::kBytesSent, Argument::kNone},
    {"DURATION", Command::Kind::kDuration, Argument::kNone},
    {"DOWNSTREAM_REMOTE_ADDRESS", Command::Kind::kDownstreamRemoteAddress, Argument::kNone},
    {"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", Command::Kind::kDownstreamRemoteAddressWithoutPort, Argument::kNone},
    {"DOWNSTREAM_LOCAL_ADDRESS", Command::Kind::kDownstreamLocalAddress, Argument::kNone},
    {"UPSTREAM_HOST", Command::Kind::kUpstreamHost, Argument::kNone},
    {"PROTOCOL", Command::Kind::kProtocol, Argument::kNone},
    {"UPSTREAM_PROTOCOL", Command::Kind::kUpstreamProtocol, Argument::kNone},
    {"RESPONSE_CODE_DETAILS", Command::Kind::kError, Argument::kNone},
    {"ERROR", Command::Kind::kError, Argument::kNone},
    {"HOSTNAME", Command::Kind::kHostname, Argument::kNone},
    {"CONNECTION_ID", Command::Kind::kConnectionId, Argument::kNone},
    {"LISTENER_NAME", Command::Kind::kListenerName, Argument::kNone},
    {"REQUESTED_SERVER_NAME", Command::Kind::kRequestedServerName, Argument::kNone},
    {"ROUTE_NAME", Command::Kind::kRouteName, Argument::kNone},
    {"TUNNEL", Command::Kind::kTunnel, Argument::kNone},
};

struct FlagCode {
  uint32_t bit;
  std::string_view code;
};

constexpr FlagCode kFlagCodes[] = {
    {response_flags::kUpstreamConnectionFailure, "UF"},
    {response_flags::kNoHealthyUpstream, "UH"},
    {response_flags::kUpstreamRequestTimeout, "UT"},
    {response_flags::kUpstreamConnectionTermination, "UC"},
    {response_flags::kDownstreamConnectionTermination, "DC"},
    {response_flags::kLocalReply, "LR"},
    {response_flags::kStreamIdleTimeout, "SI"},
    {response_flags::kDownstreamProtocolError, "DPE"},
    {response_flags::kUpstreamProtocolError, "UPE"},
    {response_flags::kRateLimited, "RL"},
    {response_flags::kUpstreamOverflow, "UO"},
    {response_flags::kRequestHeaderTimeout, "RHT"},
    {response_flags::kLoopDetected, "LD"},
    {response_flags::kDestinationDenied, "DD"},
};

bool isHeaderReference(std::string_view name) {
  if (name.starts_with(':')) name.remove_prefix(1);
  return isValidHeaderName(name);
}

// Every value of `name`, joined with ", " as RFC 9110 allows for repeated fields, so a
// client that splits X-Forwarded-For over two lines is logged in full.
bool appendHeader(const HeaderMap* headers, const std::string& name, std::string& out) {
  if (headers == nullptr || name.empty()) return false;
  bool found = false;
  for (const auto& [key, value] : *headers) {
    if (key != name) continue;  // stored names are lower-case, like `name`
    if (found) out.append(", ");
    out.append(value);
    found = true;
  }
  return found;
}

// std::to_chars rather than std::to_string: no allocation per field per line.
void appendNumber(uint64_t value, std::string& out) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, result.ptr);
}

bool appendNonEmpty(std::string_view value, std::string& out) {
  if (value.empty()) return false;
  out.append(value);
  return true;
}

// "1.2.3.4:80" -> "1.2.3.4", "[::1]:80" -> "::1" (as Envoy prints it).
std::string_view withoutPort(std::string_view address) {
  if (address.starts_with('[')) {
    const size_t close = address.find(']');
    return close == std::string_view::npos ? address : address.substr(1, close - 1);
  }
  const size_t colon = address.find(':');
  // More than one ':' without brackets is a bare IPv6 address, which has no port to strip.
  if (colon == std::string_view::npos || address.find(':', colon + 1) != std::string_view::npos) {
    return address;
  }
  return address.substr(0, colon);
}

std::string localHostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return {};
  return name;
}

}  // namespace

std::optional<Command> Command::parse(std::string_view spec, std::string& error) {
  // NAME [ "(" ARG ")" ] [ ":" MAX_LENGTH ]; ARG cannot contain ')' (as in Envoy).
  std::string_view name = spec;
  std::string_view argument;
  bool has_argument = false;
  std::optional<std::string_view> length;
  const size_t open = spec.find('(');
  if (open != std::string_view::npos) {
    const size_t close = spec.find(')', open);
    if (close == std::string_view::npos) {
      error = str::cat("missing ')' in %", spec, "%");
      return std::nullopt;
    }
    name = spec.substr(0, open);
    argument = spec.substr(open + 1, close - open - 1);
    has_argument = true;
    const std::string_view rest = spec.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      error = str::cat("unexpected '", rest, "' after ')' in %", spec, "%");
      return std::nullopt;
    }
    if (!rest.empty()) length = rest.substr(1);
  } else if (const size_t colon = spec.find(':'); colon != std::string_view::npos) {
    name = spec.substr(0, colon);
    length = spec.substr(colon + 1);
  }

  const CommandSpec* found = nullptr;
  for (const CommandSpec& candidate : kCommands) {
    if (candidate.name == name) {
      found = &candidate;
      break;
    }
  }
  if (found == nullptr) {
    error = str::cat("unknown command %", spec, "%");
    return std::nullopt;
  }
  if (has_argument && found->argument == Argument::kNone) {
    error = str::cat("%", name, "% takes no argument");
    return std::nullopt;
  }
  if (!has_argument && found->argument == Argument::kRequired) {
    error = str::cat("%", name, "% needs an argument, as in %", name, "(X)%");
    return std::nullopt;
  }

  Command command(found->kind);
  if (length) {
    size_t max_length = 0;
    if (!str::parseInt(*length, max_length)) {
      error = str::cat("malformed length in %", spec, "%: expected :N with N a number");
      return std::nullopt;
    }
    if (command.numeric()) {
      error = str::cat("%", name, "% is a number and takes no length");
      return std::nullopt;
    }
    command.max_length_ = max_length;
  }

  switch (found->kind) {
    case Kind::kRequestHeader:
    case Kind::kResponseHeader: {
      const size_t question = argument.find('?');
      std::string_view primary = argument.substr(0, question);
      std::string_view fallback =
          question == std::string_view::npos ? std::string_view() : argument.substr(question + 1);
      if (!isHeaderReference(primary) || (question != std::string_view::npos && !isHeaderReference(fallback))) {
        error = str::cat("invalid header name in %", spec, "%");
        return std::nullopt;
      }
      command.header_ = str::toLower(primary);
      command.fallback_header_ = str::toLower(fallback);
      break;
    }
    case Kind::kStartTime:
      command.time_format_ = TimeFormat(argument);
      break;
    case Kind::kHostname:
      command.hostname_ = localHostname();
      break;
    default:
      break;
  }
  return command;
}

bool Command::numeric() const {
  switch (kind_) {
    case Kind::kResponseCode:
    case Kind::kBytesReceived:
    case Kind::kBytesSent:
    case Kind::kDuration:
    case Kind::kConnectionId:
      return true;
    default:
      return false;
  }
}

bool Command::evaluate(const StreamInfo& info, std::string& out) const {
  const size_t start = out.size();
  if (!evaluateUntruncated(info, out)) return false;
  if (max_length_ && out.size() - start > *max_length_) {
    // Cut at a character boundary so a truncated UTF-8 value stays valid UTF-8.
    size_t cut = start + *max_length_;
    while (cut > start && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
    out.resize(cut);
  }
  return true;
}

bool Command::evaluateUntruncated(const StreamInfo& info, std::string& out) const {
  const ConnectionInfo* connection = info.connection;
  switch (kind_) {
    case Kind::kStartTime:
      // A zero time point means the stream never got far enough to be stamped.
      if (info.start_time.time_since_epoch().count() == 0) return false;
      time_format_.append(info.start_time, out);
      return true;
    case Kind::kRequestHeader:
      return appendHeader(info.request_headers, header_, out) ||
             appendHeader(info.request_headers, fallback_header_, out);
    case Kind::kResponseHeader:
      return appendHeader(info.response_headers, header_, out) ||
             appendHeader(info.response_headers, fallback_header_, out);
    case Kind::kResponseCode: {
      // response_code is stamped once the encoder filters are done; while they run (a
      // response header formatted in encodeHeaders) the status is only in the headers.
      int code = info.response_code;
      if (code == 0 && info.response_headers != nullptr) code = info.response_headers->status();
      // 0 when no response was sent, as Envoy logs it, so the field is always a number.
      appendNumber(static_cast<uint64_t>(std::max(code, 0)), out);
      return true;
    }
    case Kind::kResponseFlags:
      appendResponseFlags(info.response_flags, out);
      return true;
    case Kind::kBytesReceived:
      appendNumber(info.bytes_received, out);
      return true;
    case Kind::kBytesSent:
      appendNumber(info.bytes_sent, out);
      return true;
    case Kind::kDuration:
      appendNumber(static_cast<uint64_t>(std::max<int64_t>(
                       std::chrono::duration_cast<std::chrono::milliseconds>(info.duration()).count(), 0)),
                   out);
      return true;
    case Kind::kDownstreamRemoteAddress:
      return connection != nullptr && appendNonEmpty(connection->remote_address, out);
    case Kind::kDownstreamRemoteAddressWithoutPort:
      return connection != nullptr && appendNonEmpty(withoutPort(connection->remote_address), out);
    case Kind::kDownstreamLocalAddress:
      return connection != nullptr && appendNonEmpty(connection->local_address, out);
    case Kind::kUpstreamHost:
      return appendNonEmpty(info.upstream_host, out);
    case Kind::kProtocol:
      return appendNonEmpty(info.protocol, out);
    case Kind::kUpstreamProtocol:
      return appendNonEmpty(info.upstream_protocol, out);
    case Kind::kError:
      return appendNonEmpty(info.error, out);
    case Kind::kHostname:
      return appendNonEmpty(hostname_, out);
    case Kind::kConnectionId:
      if (connection == nullptr) return false;
      appendNumber(connection->id, out);
      return true;
    case Kind::kListenerName:
      return connection != nullptr && appendNonEmpty(connection->listener_name, out);
    case Kind::kRequestedServerName:
      return connection != nullptr && appendNonEmpty(connection->server_name, out);
    case Kind::kRouteName:
      return appendNonEmpty(info.route_name, out);
    case Kind::kTunnel:
      // "intercepted:CHAIN" or "passthrough:CHAIN(WHY)": what became of a CONNECT, and why.
      if (!info.tunnel) return false;
      out.append(info.tunnel->intercepted ? "intercepted:" : "passthrough:");
      out.append(info.tunnel->chain);
      if (!info.tunnel->reason.empty()) out.append(str::cat("(", info.tunnel->reason, ")"));
      return true;
  }
  return false;
}

void appendResponseFlags(uint32_t flags, std::string& out) {
  bool any = false;
  for (const FlagCode& flag : kFlagCodes) {
    if ((flags & flag.bit) == 0) continue;
    if (any) out.push_back(',');
    out.append(flag.code);
    any = true;
  }
  if (!any) out.push_back('-');
}

}  // namespace interpose::formatter
