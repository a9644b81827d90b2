#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/interpose/config_node.h"
#include "api/interpose/route.h"
#include "source/formatter/format_string.h"

namespace interpose::header_rewrite {

// One header to set or add: a lower-case name and a value compiled at config time.
struct HeaderValue {
  std::string name;
  formatter::FormatString value;
  std::string source;  // the value as configured, for the run-time warning
};

// The header edits of one direction, applied in this order.
struct HeaderRules {
  std::vector<std::string> remove;                          // exact lower-case names
  std::vector<std::string> remove_prefix;                   // lower-case name prefixes
  std::vector<std::pair<std::string, std::string>> rename;  // from, to (lower-case)
  std::vector<HeaderValue> set;                             // replace (or remove when empty)
  std::vector<HeaderValue> add;                             // append

  bool empty() const { return remove.empty() && remove_prefix.empty() && rename.empty() && set.empty() && add.empty(); }
};

// Where the request goes ("map remote"): pseudo-header edits made before routing.
struct TargetRewrite {
  std::optional<std::string> scheme;  // "http" or "https"
  std::optional<std::string> host;    // lower-case; IPv6 in brackets
  std::optional<uint16_t> port;
  struct PathPrefix {
    std::string from;
    std::string to;
  };
  std::optional<PathPrefix> path_prefix;
  struct QueryValue {
    std::string name;               // as it appears in the query (validated, not re-encoded)
    formatter::FormatString value;  // percent-encoded when rendered
  };
  std::vector<QueryValue> query_set;
  std::vector<std::string> query_remove;
};

// The filter's config, and equally one route's per_filter_config (same schema): a route's
// config replaces the filter's own for that route's requests.
class RewriteConfig : public RouteSpecificFilterConfig {
 public:
  HeaderRules request;
  std::optional<TargetRewrite> target;
  HeaderRules response;

  // True the first time it is called for this config: a value rejected at run time is
  // logged once per config (a client can trigger it on every request), then only noted.
  bool firstRejection() const { return !rejection_logged_.exchange(true, std::memory_order_relaxed); }

 private:
  mutable std::atomic<bool> rejection_logged_{false};
};

// Parses the filter's config or a route's per_filter_config. Throws ConfigError naming the
// file, line, column and key path of the offending entry.
std::shared_ptr<const RewriteConfig> parse(const ConfigNode& node);

// True for fields the proxy itself manages on the wire (framing, hop-by-hop, and the
// request's Host, which comes from :authority): rules may not touch them.
bool isProtectedHeader(std::string_view lower_name, bool request);

}  // namespace interpose::header_rewrite
