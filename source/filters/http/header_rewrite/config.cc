#include "source/filters/http/header_rewrite/config.h"

#include <set>
#include <string_view>

#include "api/interpose/header_map.h"
#include "api/interpose/strings.h"

namespace interpose::header_rewrite {
namespace {

using formatter::FormatString;

enum class Direction { kRequest, kResponse };

// Calls fn(name, key_node, value_node) for each entry of a map (nothing when absent). The
// key node locates errors about the name, the value node errors about the value.
template <typename Fn>
void forEachEntry(const ConfigNode& map, std::string_view expected, Fn fn) {
  if (!map.defined()) return;
  if (!map.yaml().IsMap()) map.fail(str::cat("expected a map of ", expected));
  const auto file = std::make_shared<const std::string>(map.file());
  for (const auto& entry : map.yaml()) {
    const std::string name = entry.first.Scalar();
    const std::string path = str::cat(map.path(), ".", name);
    fn(name, ConfigNode(entry.first, path, file), ConfigNode(entry.second, path, file));
  }
}

// Validates a header name a rule refers to and returns it lower-cased.
std::string headerName(std::string_view name, const ConfigNode& where, Direction direction) {
  if (name.starts_with(':')) {
    where.fail(direction == Direction::kRequest
                   ? str::cat("pseudo-header '", name,
                              "' cannot be changed here; use request.target (scheme, host, port, path_prefix, query)")
                   : str::cat("pseudo-header '", name, "' cannot be changed by header_rewrite"));
  }
  if (!isValidHeaderName(name)) where.fail(str::cat("invalid header name '", name, "': expected an RFC 9110 token"));
  std::string lower = str::toLower(name);
  if (isProtectedHeader(lower, direction == Direction::kRequest)) {
    where.fail(str::cat("'", lower, "' is managed by the proxy (framing, hop-by-hop or Host) and cannot be changed",
                        direction == Direction::kRequest && lower == "host" ? "; use request.target.host" : ""));
  }
  return lower;
}

// Compiles a header value. Literal CR, LF or NUL would split the field on the wire; they
// are refused here so that only values from the stream need checking at run time.
FormatString headerValue(const ConfigNode& node) {
  if (!node.yaml().IsScalar()) node.fail("expected a string (a header value, may contain %COMMANDS%)");
  const std::string text = node.str();
  if (text.empty()) node.fail("must not be empty; use remove to drop a header");
  FormatString value = FormatString::compile(text, node);
  if (!isValidHeaderValue(value.literalText())) {
    node.fail("contains CR, LF or NUL, which would split the header on the wire");
  }
  return value;
}

std::vector<std::string> nameList(const ConfigNode& node, Direction direction) {
  std::vector<std::string> names;
  for (const ConfigNode& item : node.list()) names.push_back(headerName(item.str(), item, direction));
  return names;
}

std::vector<std::string> prefixList(const ConfigNode& node) {
  std::vector<std::string> prefixes;
  for (const ConfigNode& item : node.list()) {
    const std::string prefix = item.str();
    if (prefix.starts_with(':')) item.fail("pseudo-headers cannot be removed");
    if (!isValidHeaderName(prefix)) item.fail(str::cat("invalid header name prefix '", prefix, "'"));
    prefixes.push_back(str::toLower(prefix));
  }
  return prefixes;
}

void parseValues(const ConfigNode& map, Direction direction, bool allow_lists, std::vector<HeaderValue>& out) {
  std::set<std::string> seen;
  forEachEntry(map, "header name to value",
               [&](const std::string& name, const ConfigNode& key, const ConfigNode& value) {
                 std::string lower = headerName(name, key, direction);
                 if (!seen.insert(lower).second) key.fail(str::cat("header '", lower, "' is listed twice"));
                 if (allow_lists && value.yaml().IsSequence()) {
                   // add: { set-cookie: [a=1, b=2] } appends one field per item.
                   for (const ConfigNode& item : value.list()) out.push_back({lower, headerValue(item), item.str()});
                   return;
                 }
                 out.push_back({lower, headerValue(value), value.str()});
               });
}

HeaderRules parseRules(const ConfigNode& node, Direction direction) {
  HeaderRules rules;
  rules.remove = nameList(node.child("remove"), direction);
  rules.remove_prefix = prefixList(node.child("remove_prefix"));
  std::set<std::string> renamed;
  forEachEntry(node.child("rename"), "old name to new name",
               [&](const std::string& name, const ConfigNode& key, const ConfigNode& value) {
                 std::string from = headerName(name, key, direction);
                 if (!value.yaml().IsScalar()) value.fail("expected the new header name");
                 std::string to = headerName(value.str(), value, direction);
                 if (from == to) value.fail("renames a header to itself");
                 if (!renamed.insert(from).second) key.fail(str::cat("header '", from, "' is renamed twice"));
                 rules.rename.emplace_back(std::move(from), std::move(to));
               });
  parseValues(node.child("set"), direction, /*allow_lists=*/false, rules.set);
  parseValues(node.child("add"), direction, /*allow_lists=*/true, rules.add);
  return rules;
}

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool isValidHost(std::string_view host) {
  if (host.starts_with('[')) {
    if (host.size() < 4 || !host.ends_with(']')) return false;
    for (char c : host.substr(1, host.size() - 2)) {
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') return false;
    }
    return true;
  }
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!isHostChar(c)) return false;
  }
  return true;
}

// Bytes that cannot appear in a request target as sent (RFC 9112 3.2), plus the ones that
// would end the part being edited.
bool isValidTargetPiece(std::string_view s, std::string_view also_forbidden) {
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '#' || also_forbidden.find(c) != std::string_view::npos) return false;
  }
  return true;
}

std::string targetPath(const ConfigNode& node) {
  const std::string path = node.str();
  if (!path.starts_with('/') || !isValidTargetPiece(path, "?")) {
    node.fail(str::cat("expected a path starting with '/' without spaces, '?' or '#', got '", path, "'"));
  }
  return path;
}

std::string queryName(std::string_view name, const ConfigNode& where) {
  if (name.empty() || !isValidTargetPiece(name, "&=?%")) {
    where.fail(str::cat("invalid query parameter name '", name, "': no spaces, '&', '=', '?', '#' or '%'"));
  }
  return std::string(name);
}

TargetRewrite parseTarget(const ConfigNode& node) {
  node.expectMap({"scheme", "host", "port", "path_prefix", "query"});
  if (!node.yaml().IsMap() || node.yaml().size() == 0) {
    node.fail("expected at least one of scheme, host, port, path_prefix, query");
  }
  TargetRewrite target;
  if (node.has("scheme")) target.scheme = node.child("scheme").oneOf({"http", "https"});
  if (node.has("host")) {
    const ConfigNode host = node.child("host");
    std::string value = str::toLower(host.str());
    if (!isValidHost(value)) {
      host.fail(str::cat("expected a host name, IPv4 address or [IPv6] address without a port (see target.port), got '",
                         value, "'"));
    }
    target.host = std::move(value);
  }
  if (node.has("port")) target.port = static_cast<uint16_t>(node.child("port").integer(1, 65535));
  if (node.has("path_prefix")) {
    const ConfigNode prefix = node.child("path_prefix");
    prefix.expectMap({"from", "to"});
    target.path_prefix =
        TargetRewrite::PathPrefix{targetPath(prefix.required("from")), targetPath(prefix.required("to"))};
  }
  const ConfigNode query = node.child("query");
  query.expectMap({"set", "remove"});
  std::set<std::string> seen;
  forEachEntry(query.child("set"), "query parameter name to value",
               [&](const std::string& name, const ConfigNode& key, const ConfigNode& value) {
                 if (!seen.insert(name).second) key.fail(str::cat("query parameter '", name, "' is listed twice"));
                 if (!value.yaml().IsScalar()) value.fail("expected a string (may contain %COMMANDS%)");
                 target.query_set.push_back({queryName(name, key), FormatString::compile(value.str(), value)});
               });
  for (const ConfigNode& item : query.child("remove").list()) {
    target.query_remove.push_back(queryName(item.str(), item));
  }
  return target;
}

}  // namespace

bool isProtectedHeader(std::string_view lower_name, bool request) {
  static constexpr std::string_view kProtected[] = {
      "connection",     "keep-alive",          "proxy-connection",   "te", "trailer", "upgrade", "transfer-encoding",
      "content-length", "proxy-authorization", "proxy-authenticate",
  };
  for (std::string_view name : kProtected) {
    if (lower_name == name) return true;
  }
  // The router writes Host from :authority; a second Host field would be ambiguous.
  return request && lower_name == "host";
}

std::shared_ptr<const RewriteConfig> parse(const ConfigNode& node) {
  node.expectMap({"request", "response"});
  auto config = std::make_shared<RewriteConfig>();
  const ConfigNode request = node.child("request");
  request.expectMap({"remove", "remove_prefix", "rename", "set", "add", "target"});
  config->request = parseRules(request, Direction::kRequest);
  if (request.has("target")) config->target = parseTarget(request.child("target"));
  const ConfigNode response = node.child("response");
  response.expectMap({"remove", "remove_prefix", "rename", "set", "add"});
  config->response = parseRules(response, Direction::kResponse);
  return config;
}

}  // namespace interpose::header_rewrite
