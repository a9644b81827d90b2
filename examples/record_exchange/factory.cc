// Registers the filter under the name configs use: { name: record_exchange, config: {...} }.
// Nothing refers to this file's symbols, which is why the library needs alwayslink = 1.

#include <memory>
#include <string>

#include "api/interpose/registry.h"
#include "examples/record_exchange/config.h"
#include "examples/record_exchange/record_exchange.h"

namespace record_exchange {

class RecordExchangeFactory : public interpose::HttpFilterFactory {
 public:
  std::string name() const override { return "record_exchange"; }

  interpose::HttpFilterFactoryCb create(const interpose::ConfigNode& node, interpose::FactoryContext&) const override {
    auto config = std::make_shared<const RecordExchangeConfig>(parseConfig(node));
    // Opened at config load, so an unwritable path is a config error, not a runtime one.
    // Configs naming the same file share one sink (and one writer thread).
    std::string error;
    std::shared_ptr<interpose::access_log::LogSink> sink = interpose::access_log::LogSink::open(config->path, error);
    if (!sink) node.child("path").fail(error);
    return [config, sink] { return std::make_unique<RecordExchangeFilter>(config, sink); };
  }
};

INTERPOSE_REGISTER_HTTP_FILTER(RecordExchangeFactory);

}  // namespace record_exchange
