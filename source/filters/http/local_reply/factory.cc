#include <memory>
#include <string>

#include "api/interpose/registry.h"
#include "source/filters/http/local_reply/config.h"
#include "source/filters/http/local_reply/local_reply.h"

namespace interpose::local_reply {

class LocalReplyFactory : public HttpFilterFactory {
 public:
  std::string name() const override { return "local_reply"; }

  HttpFilterFactoryCb create(const ConfigNode& node, FactoryContext&) const override {
    // Parsed (and any body_file read) once per config load; streams share it.
    std::shared_ptr<const LocalReplyConfig> config = parseConfig(node);
    return [config] { return std::make_unique<LocalReplyFilter>(config); };
  }

  std::shared_ptr<const RouteSpecificFilterConfig> createRouteConfig(const ConfigNode& node) const override {
    return parseConfig(node);
  }
};

INTERPOSE_REGISTER_HTTP_FILTER(LocalReplyFactory);

}  // namespace interpose::local_reply
