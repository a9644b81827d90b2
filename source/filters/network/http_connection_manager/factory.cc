#include "api/interpose/registry.h"
#include "source/filters/network/http_connection_manager/conn_manager.h"
#include "source/filters/network/http_connection_manager/http2_conn_manager.h"

namespace interpose::hcm {

class HttpConnectionManagerFactory : public NetworkFilterFactory {
 public:
  std::string name() const override { return "http_connection_manager"; }
  NetworkFilterFactoryCb create(const ConfigNode& config, FactoryContext& context) const override {
    auto parsed = std::make_shared<const HcmConfig>(parseHcmConfig(config, context));
    return [parsed]() -> std::unique_ptr<NetworkFilter> {
      if (parsed->codec == "http1") return std::make_unique<ConnectionManager>(parsed);
      return std::make_unique<CodecSelector>(parsed);
    };
  }
};

INTERPOSE_REGISTER_NETWORK_FILTER(HttpConnectionManagerFactory);

}  // namespace interpose::hcm
