#include "api/interpose/registry.h"
#include "source/filters/http/router/router.h"

namespace interpose::router {

class RouterFactory : public HttpFilterFactory {
 public:
  std::string name() const override { return "router"; }
  bool terminal() const override { return true; }
  HttpFilterFactoryCb create(const ConfigNode& config, FactoryContext&) const override {
    auto parsed = std::make_shared<const RouterConfig>(parseRouterConfig(config));
    return [parsed] { return std::make_unique<Router>(parsed); };
  }
};

INTERPOSE_REGISTER_HTTP_FILTER(RouterFactory);

}  // namespace interpose::router
