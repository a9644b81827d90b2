#include "source/filters/http/header_rewrite/header_rewrite.h"

#include <optional>
#include <vector>

#include "api/interpose/strings.h"
#include "source/common/logger.h"

namespace interpose::header_rewrite {
namespace {

// The rendered value of `value` for this stream: unknown command values are empty.
std::string render(const formatter::FormatString& value, const StreamInfo& info) {
  if (value.isLiteral()) return value.literalText();
  std::string out;
  value.appendRaw(info, out);
  return out;
}

bool startsWithAny(std::string_view name, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    if (name.starts_with(prefix)) return true;
  }
  return false;
}

// Renames fields in place: the map is rebuilt only when some field has an old name, so
// values and the order of every field are kept.
void renameHeaders(const std::vector<std::pair<std::string, std::string>>& renames, HeaderMap& headers) {
  const auto newName = [&](const std::string& name) -> const std::string* {
    for (const auto& [from, to] : renames) {
      if (name == from) return &to;  // stored names are lower-case, like `from`
    }
    return nullptr;
  };
  bool any = false;
  for (const auto& entry : headers) any = any || newName(entry.first) != nullptr;
  if (!any) return;
  HeaderMap renamed;
  for (const auto& [name, value] : headers) {
    const std::string* to = newName(name);
    renamed.add(to ? *to : name, value);
  }
  headers = std::move(renamed);
}

uint16_t defaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

struct Authority {
  std::string host;  // IPv6 keeps its brackets
  std::string port;  // empty when the authority has none
};

Authority splitAuthority(std::string_view authority) {
  size_t host_end = authority.size();
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close != std::string_view::npos) host_end = close + 1;
  } else {
    host_end = std::min(authority.find(':'), authority.size());
  }
  Authority out{std::string(authority.substr(0, host_end)), {}};
  if (host_end < authority.size() && authority[host_end] == ':') out.port = authority.substr(host_end + 1);
  return out;
}

bool isUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// RFC 3986 percent-encoding of everything but unreserved characters: a formatted value
// (a client address, a header) can then never add parameters or end the request line.
std::string percentEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : value) {
    if (isUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

std::string_view parameterName(std::string_view piece) { return piece.substr(0, piece.find('=')); }

// Applies query.remove, then query.set (replacing the first parameter of that name and
// dropping its repeats, or appending). Other parameters are kept byte for byte.
std::string rewriteQuery(std::string_view query, const TargetRewrite& target, const StreamInfo& info) {
  std::vector<std::string> pieces;
  if (!query.empty()) {
    for (std::string_view piece : str::split(query, '&')) {
      bool removed = false;
      for (const std::string& name : target.query_remove) removed = removed || parameterName(piece) == name;
      if (!removed) pieces.emplace_back(piece);
    }
  }
  for (const TargetRewrite::QueryValue& param : target.query_set) {
    std::string piece = str::cat(param.name, "=", percentEncode(render(param.value, info)));
    bool placed = false;
    for (auto it = pieces.begin(); it != pieces.end();) {
      if (parameterName(*it) != param.name) {
        ++it;
      } else if (!placed) {
        *it++ = piece;
        placed = true;
      } else {
        it = pieces.erase(it);
      }
    }
    if (!placed) pieces.push_back(std::move(piece));
  }
  return str::join(pieces, "&");
}

}  // namespace

bool applyTarget(const TargetRewrite& target, HeaderMap& headers, const StreamInfo& info) {
  bool changed = false;
  std::string scheme(headers.scheme());
  if (target.scheme && *target.scheme != scheme) {
    scheme = *target.scheme;
    headers.set(":scheme", scheme);
    changed = true;
  }
  if (target.host || target.port) {
    Authority authority = splitAuthority(headers.authority());
    if (target.host) authority.host = *target.host;
    if (target.port) {
      // Host then reads "staging.example.com", not "staging.example.com:443".
      authority.port = *target.port == defaultPort(scheme) ? "" : std::to_string(*target.port);
    }
    std::string rewritten = authority.port.empty() ? authority.host : str::cat(authority.host, ":", authority.port);
    if (rewritten != headers.authority()) {
      headers.set(":authority", rewritten);
      changed = true;
    }
  }
  const bool query_rules = !target.query_set.empty() || !target.query_remove.empty();
  const std::string_view full = headers.path();
  // Only origin paths: "*" (OPTIONS *) has neither a prefix nor a query to rewrite.
  if ((target.path_prefix || query_rules) && full.starts_with('/')) {
    const size_t question = full.find('?');
    std::string path(full.substr(0, question));
    const std::string_view query = question == std::string_view::npos ? std::string_view() : full.substr(question + 1);
    if (target.path_prefix && path.starts_with(target.path_prefix->from)) {
      path = str::cat(target.path_prefix->to, std::string_view(path).substr(target.path_prefix->from.size()));
    }
    if (query_rules) {
      const std::string rewritten = rewriteQuery(query, target, info);
      if (!rewritten.empty()) path = str::cat(path, "?", rewritten);
    } else if (question != std::string_view::npos) {
      path = str::cat(path, full.substr(question));  // untouched, even a bare '?'
    }
    if (path != full) {
      headers.set(":path", path);
      changed = true;
    }
  }
  return changed;
}

const RewriteConfig& HeaderRewriteFilter::activeConfig(StreamFilterCallbacks& callbacks) {
  if (active_ == nullptr) {
    const RewriteConfig* route_config = callbacks.perRouteConfig<RewriteConfig>();
    active_ = route_config != nullptr ? route_config : config_.get();
  }
  return *active_;
}

FilterHeadersStatus HeaderRewriteFilter::decodeHeaders(HeaderMap& headers, bool) {
  const RewriteConfig& config = activeConfig(*decoder_callbacks_);
  // A CONNECT request only opens a tunnel (its fields go nowhere, and its authority is the
  // tunnel's destination); the requests inside it meet the inner chain's filters.
  if (headers.method() == "CONNECT") return FilterHeadersStatus::Continue;
  applyRules(config.request, headers, /*request=*/true, *decoder_callbacks_);
  if (config.target && applyTarget(*config.target, headers, decoder_callbacks_->streamInfo())) {
    // The route was matched on the old destination; the router and later filters must see
    // the route of the new one.
    decoder_callbacks_->clearRouteCache();
  }
  return FilterHeadersStatus::Continue;
}

FilterHeadersStatus HeaderRewriteFilter::encodeHeaders(HeaderMap& headers, bool) {
  applyRules(activeConfig(*encoder_callbacks_).response, headers, /*request=*/false, *encoder_callbacks_);
  flushNotes(*encoder_callbacks_);
  return FilterHeadersStatus::Continue;
}

void HeaderRewriteFilter::onStreamComplete(const StreamInfo&) {
  // Streams that end without a response (reset, client gone) still get their note.
  if (!notes_.empty() && decoder_callbacks_ != nullptr) flushNotes(*decoder_callbacks_);
}

void HeaderRewriteFilter::applyRules(const HeaderRules& rules, HeaderMap& headers, bool request,
                                     StreamFilterCallbacks& callbacks) {
  if (rules.empty()) return;
  const StreamInfo& info = callbacks.streamInfo();
  // Values are rendered before any edit, so %REQ(X)% reads X as it reached this filter
  // even when a rule below removes or renames it.
  std::vector<std::string> set_values;
  set_values.reserve(rules.set.size());
  for (const HeaderValue& header : rules.set) set_values.push_back(render(header.value, info));
  std::vector<std::string> add_values;
  add_values.reserve(rules.add.size());
  for (const HeaderValue& header : rules.add) add_values.push_back(render(header.value, info));

  for (const std::string& name : rules.remove) headers.remove(name);
  if (!rules.remove_prefix.empty()) {
    headers.removeIf([&](std::string_view name) {
      return startsWithAny(name, rules.remove_prefix) && !isProtectedHeader(name, request);
    });
  }
  renameHeaders(rules.rename, headers);
  for (size_t i = 0; i < rules.set.size(); ++i) {
    const HeaderValue& header = rules.set[i];
    if (!isValidHeaderValue(set_values[i])) {
      rejectValue(header, callbacks);
    } else if (set_values[i].empty()) {
      // "x has exactly this value": with no value, a client's own x must not survive.
      headers.remove(header.name);
    } else {
      headers.set(header.name, set_values[i]);
    }
  }
  for (size_t i = 0; i < rules.add.size(); ++i) {
    if (!isValidHeaderValue(add_values[i])) {
      rejectValue(rules.add[i], callbacks);
    } else if (!add_values[i].empty()) {
      headers.add(rules.add[i].name, add_values[i]);
    }
  }
}

void HeaderRewriteFilter::rejectValue(const HeaderValue& header, StreamFilterCallbacks& callbacks) {
  // The bytes came from the stream (a client's header, say): writing them would let the
  // client inject fields or split the message, so the header is skipped.
  if (!notes_.empty()) notes_.append("; ");
  notes_.append(str::cat("header_rewrite: ", header.name, " not set (value has CR, LF or NUL)"));
  if (activeConfig(callbacks).firstRejection()) {
    log::warn("header_rewrite: not setting '", header.name, "': its value '", header.source,
              "' rendered with CR, LF or NUL for a stream; such headers are skipped and noted in "
              "%RESPONSE_CODE_DETAILS% (logged once per config)");
  }
}

void HeaderRewriteFilter::flushNotes(StreamFilterCallbacks& callbacks) {
  if (notes_.empty()) return;
  // StreamInfo has no notes of its own, so they join the details (%RESPONSE_CODE_DETAILS%,
  // %ERROR%). Written when the response starts rather than at once: the stream's own
  // failure reasons (a local reply's details) are recorded first-come, and a note must not
  // take their place.
  StreamInfo& info = callbacks.streamInfo();
  info.error = info.error.empty() ? notes_ : str::cat(info.error, "; ", notes_);
  notes_.clear();
}

}  // namespace interpose::header_rewrite
