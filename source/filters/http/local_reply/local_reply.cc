#include "source/filters/http/local_reply/local_reply.h"

namespace interpose::local_reply {

const LocalReplyConfig& LocalReplyFilter::effectiveConfig() {
  const LocalReplyConfig* route_config = decoder_callbacks_->perRouteConfig<LocalReplyConfig>();
  return route_config ? *route_config : *config_;
}

FilterHeadersStatus LocalReplyFilter::decodeHeaders(HeaderMap& headers, bool) {
  const LocalReplyConfig& config = effectiveConfig();
  if (!config.replies) return FilterHeadersStatus::Continue;
  if (headers.method() == "CONNECT") {
    // A 2xx answer to CONNECT would tell the client its tunnel is open when nothing is
    // behind it; and a 403 to CONNECT shows a browser (or curl) only a generic error, never
    // the reply's body. So when the tunnel would be intercepted, it goes on, and the
    // requests inside it meet the intercepting chain's routes and get the reply there.
    // Passed-through tunnels can only be refused here.
    StreamInfo& info = decoder_callbacks_->streamInfo();
    if (config.status < 300) return FilterHeadersStatus::Continue;
    if (info.tunnel && info.tunnel->intercepted) {
      // The tunnel carries the reply: every request inside it gets it (see TunnelReply).
      info.tunnel_reply =
          std::make_shared<const TunnelReply>(TunnelReply{config.status, config.body, config.headers, config.details});
      return FilterHeadersStatus::Continue;
    }
  }
  decoder_callbacks_->sendLocalReply(config.status, config.body, config.headers, config.details);
  return FilterHeadersStatus::StopIteration;
}

}  // namespace interpose::local_reply
