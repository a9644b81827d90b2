#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/interpose/config_node.h"
#include "api/interpose/header_map.h"
#include "api/interpose/http_filter.h"
#include "api/interpose/route.h"
#include "source/common/regex.h"

namespace interpose::http {

// A condition on one request header or query parameter: exact value, prefix, regex
// (whole-value match), or just present. `invert` negates it.
struct ValueMatcher {
  std::string name;
  enum class Kind { Present, Exact, Prefix, Regex } kind = Kind::Present;
  std::string value;
  Regex regex;
  bool invert = false;

  bool matches(const std::string* actual) const;
};

class RouteEntry : public Route {
 public:
  const std::string& name() const override { return name_; }
  const RouteSpecificFilterConfig* perFilterConfig(std::string_view filter_name) const override;
  bool disables(std::string_view filter_name) const { return disabled_.count(std::string(filter_name)) > 0; }
  // `path` is the path without the query; `query` holds the decoded-as-sent parameters.
  bool matches(const HeaderMap& headers, std::string_view path,
               const std::vector<std::pair<std::string, std::string>>& query) const;

 private:
  friend class RouteTable;
  std::string name_;
  enum class PathKind { Any, Exact, Prefix, Regex } path_kind_ = PathKind::Any;
  std::string path_;
  Regex path_regex_;
  std::vector<std::string> methods_;
  std::vector<ValueMatcher> headers_;
  std::vector<ValueMatcher> query_;
  std::map<std::string, std::shared_ptr<const RouteSpecificFilterConfig>, std::less<>> per_filter_;
  std::set<std::string> disabled_;
};

// The connection manager's route table: virtual hosts chosen by the request's host, then
// the first route in order whose conditions all hold. See api/config/README.md for the
// precedence rules.
class RouteTable {
 public:
  struct FilterInfo {
    std::string name;
    const HttpFilterFactory* factory;
  };
  // Parses `route_config` (throws ConfigError). `filters` are the chain's HTTP filters, which
  // per_filter_config may name.
  static std::shared_ptr<const RouteTable> parse(const ConfigNode& node, const std::vector<FilterInfo>& filters);

  // The matching route, or nullptr.
  const RouteEntry* match(const HeaderMap& request) const;

 private:
  struct VirtualHost {
    std::string name;
    std::vector<std::string> domains;  // lower-case; "*", "*.suffix", "prefix.*" or exact
    std::vector<std::unique_ptr<RouteEntry>> routes;
  };
  const VirtualHost* findVirtualHost(std::string_view host) const;

  std::vector<VirtualHost> virtual_hosts_;
};

}  // namespace interpose::http
