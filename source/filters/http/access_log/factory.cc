#include <memory>
#include <string>

#include "api/interpose/registry.h"
#include "api/interpose/strings.h"
#include "source/filters/http/access_log/access_log.h"
#include "source/filters/http/access_log/config.h"

namespace interpose::access_log {

class AccessLogFactory : public HttpFilterFactory {
 public:
  std::string name() const override { return "access_log"; }

  HttpFilterFactoryCb create(const ConfigNode& node, FactoryContext&) const override {
    AccessLogConfig config = parse(node);
    std::string error;
    std::shared_ptr<LogSink> sink = LogSink::open(config.path, error);
    if (!sink) (node.has("path") ? node.child("path") : node).fail(error);
    // Compiled once per config load; every stream's filter shares the formatter and sink.
    return [formatter = std::move(config.formatter), sink = std::move(sink)] {
      return std::make_unique<AccessLogFilter>(formatter, sink);
    };
  }
};

INTERPOSE_REGISTER_HTTP_FILTER(AccessLogFactory);

}  // namespace interpose::access_log
