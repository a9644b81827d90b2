#include "examples/record_exchange/config.h"

#include <algorithm>

#include "api/interpose/header_map.h"
#include "api/interpose/strings.h"

namespace record_exchange {

bool RecordExchangeConfig::redacted(std::string_view name) const {
  return std::find(redact_headers.begin(), redact_headers.end(), name) != redact_headers.end();
}

RecordExchangeConfig parseConfig(const interpose::ConfigNode& node) {
  namespace str = interpose::str;
  node.expectMap({"path", "max_body_bytes", "redact_headers"});
  RecordExchangeConfig config;
  config.path = node.required("path").str();
  config.max_body_bytes = node.bytes("max_body_bytes", 0);
  if (config.max_body_bytes > kMaxBodyPreviewBytes) {
    node.child("max_body_bytes").fail(str::cat("expected at most 1MiB, got ", config.max_body_bytes, " bytes"));
  }
  if (node.has("redact_headers")) {
    config.redact_headers.clear();
    for (const interpose::ConfigNode& name : node.child("redact_headers").list()) {
      std::string value = name.str();
      if (!interpose::isValidHeaderName(value)) name.fail("expected a header name");
      config.redact_headers.push_back(str::toLower(value));
    }
  }
  return config;
}

}  // namespace record_exchange
