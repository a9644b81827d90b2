#pragma once

#include <memory>

#include "api/interpose/http_filter.h"
#include "source/filters/http/local_reply/config.h"

namespace interpose::local_reply {

// Answers requests itself ("block" and "mock"): when its config, or the matched route's
// per_filter_config, says so, decodeHeaders sends the configured reply and the request
// never reaches the filters after it (the router included), so no origin is contacted.
class LocalReplyFilter : public HttpFilter {
 public:
  // `config` is the chain-level config (never null; it may not reply).
  explicit LocalReplyFilter(std::shared_ptr<const LocalReplyConfig> config) : config_(std::move(config)) {}

  FilterHeadersStatus decodeHeaders(HeaderMap& headers, bool end_stream) override;

 private:
  // The route's config when it has one (it replaces the chain's), else the chain's.
  const LocalReplyConfig& effectiveConfig();

  std::shared_ptr<const LocalReplyConfig> config_;
};

}  // namespace interpose::local_reply
