#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/interpose/http_filter.h"
#include "source/filters/http/header_rewrite/config.h"

namespace interpose::header_rewrite {

// Edits request headers in decodeHeaders (remove, remove_prefix, rename, set, add, then
// the target: scheme, authority, path and query, followed by a route re-match) and
// response headers in encodeHeaders (the same edits, no target). A route's
// per_filter_config replaces the filter's own config for that route's requests.
class HeaderRewriteFilter : public HttpFilter {
 public:
  explicit HeaderRewriteFilter(std::shared_ptr<const RewriteConfig> config) : config_(std::move(config)) {}

  FilterHeadersStatus decodeHeaders(HeaderMap& headers, bool end_stream) override;
  FilterHeadersStatus encodeHeaders(HeaderMap& headers, bool end_stream) override;
  void onStreamComplete(const StreamInfo& info) override;

 private:
  // The route's config when it has one, else the filter's; chosen once per stream, at the
  // first of decodeHeaders/encodeHeaders (a local reply can skip decodeHeaders).
  const RewriteConfig& activeConfig(StreamFilterCallbacks& callbacks);
  void applyRules(const HeaderRules& rules, HeaderMap& headers, bool request, StreamFilterCallbacks& callbacks);
  void rejectValue(const HeaderValue& header, StreamFilterCallbacks& callbacks);
  // Moves the notes about rejected values into StreamInfo::error (see the .cc for why then).
  void flushNotes(StreamFilterCallbacks& callbacks);

  std::shared_ptr<const RewriteConfig> config_;
  const RewriteConfig* active_ = nullptr;
  std::string notes_;
};

// Rewrites :scheme, :authority and :path as `target` says. Returns true when any changed.
// Exposed for tests.
bool applyTarget(const TargetRewrite& target, HeaderMap& headers, const StreamInfo& info);

}  // namespace interpose::header_rewrite
