#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace interpose {

// A filter's settings for the requests of one route (`per_filter_config:` in the route
// table), parsed once at config load by the filter's own factory. Filters downcast to
// their own type.
class RouteSpecificFilterConfig {
 public:
  virtual ~RouteSpecificFilterConfig() = default;
};

// The route a request matched in the connection manager's route table.
class Route {
 public:
  virtual ~Route() = default;
  // "virtual_host/route" names, for logs (%ROUTE_NAME%).
  virtual const std::string& name() const = 0;
  // This route's config for the filter named `filter_name` (as in http_filters), or nullptr.
  virtual const RouteSpecificFilterConfig* perFilterConfig(std::string_view filter_name) const = 0;
};

}  // namespace interpose
