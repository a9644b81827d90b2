#include "source/filters/http/local_reply/local_reply.h"

namespace interpose::local_reply {

const LocalReplyConfig& LocalReplyFilter::effectiveConfig() {
  const LocalReplyConfig* route_config = decoder_callbacks_->perRouteConfig<LocalReplyConfig>();
  return route_config ? *route_config : *config_;
}

FilterHeadersStatus LocalReplyFilter::decodeHeaders(HeaderMap& headers, bool) {
  const LocalReplyConfig& config = effectiveConfig();
  if (!config.replies) return FilterHeadersStatus::Continue;
  // A 2xx answer to CONNECT would tell the client its tunnel is open when nothing is behind
  // it. Such a CONNECT goes on; the requests inside the tunnel meet this filter again
  // (when intercepted) and get the reply there. Blocking statuses apply to CONNECT as well.
  if (headers.method() == "CONNECT" && config.status < 300) return FilterHeadersStatus::Continue;
  decoder_callbacks_->sendLocalReply(config.status, config.body, config.headers, config.details);
  return FilterHeadersStatus::StopIteration;
}

}  // namespace interpose::local_reply
