#include <memory>
#include <string>

#include "api/interpose/registry.h"
#include "source/filters/http/header_rewrite/config.h"
#include "source/filters/http/header_rewrite/header_rewrite.h"

namespace interpose::header_rewrite {

class HeaderRewriteFactory : public HttpFilterFactory {
 public:
  std::string name() const override { return "header_rewrite"; }

  HttpFilterFactoryCb create(const ConfigNode& node, FactoryContext&) const override {
    // Compiled once per config load; every stream's filter shares it.
    std::shared_ptr<const RewriteConfig> config = parse(node);
    return [config] { return std::make_unique<HeaderRewriteFilter>(config); };
  }

  // A route's per_filter_config has the filter's own schema and replaces it for the route.
  std::shared_ptr<const RouteSpecificFilterConfig> createRouteConfig(const ConfigNode& node) const override {
    return parse(node);
  }
};

INTERPOSE_REGISTER_HTTP_FILTER(HeaderRewriteFactory);

}  // namespace interpose::header_rewrite
