#include "source/filters/http/rate_limit/rate_limit.h"

#include "source/common/logger.h"

namespace interpose::rate_limit {
namespace {

// Whole seconds, rounded up: a client that waits this long finds its token there.
int64_t ceilSeconds(Clock::duration d) { return std::chrono::ceil<std::chrono::seconds>(d).count(); }

}  // namespace

FilterHeadersStatus RateLimitFilter::decodeHeaders(HeaderMap& headers, bool) {
  RateLimiter* limiter = default_limiter_.get();
  if (const auto* route_config = decoder_callbacks_->perRouteConfig<RateLimitRouteConfig>()) {
    limiter = &route_config->limiter();
  }
  limiter_ = limiter;
  const RateLimitConfig& config = limiter->config();

  const Route* route = decoder_callbacks_->route();
  KeyContext context{decoder_callbacks_->connectionInfo().remote_address,
                     route ? std::string_view(route->name()) : std::string_view()};
  std::string key = buildKey(config.key, headers, context);
  Clock::duration max_wait = config.mode == Mode::Delay ? Clock::duration(config.max_delay) : Clock::duration::zero();
  Decision decision = limiter->table().take(key, Clock::now(), max_wait);
  decision_ = decision;

  if (decision.allowed) {
    if (decision.wait <= Clock::duration::zero()) return FilterHeadersStatus::Continue;
    // Delay mode reserved a token that flows in later: hold the request until then. (The
    // timer's callback cannot run after onDestroy, which disables it.)
    delay_timer_ = std::make_unique<Timer>(decoder_callbacks_->worker().ioContext(),
                                           [this] { decoder_callbacks_->continueDecoding(); });
    delay_timer_->enable(std::chrono::ceil<std::chrono::milliseconds>(decision.wait));
    return FilterHeadersStatus::StopIteration;
  }
  if (config.mode == Mode::DryRun) {
    logDryRun(*limiter, headers, context);
    return FilterHeadersStatus::Continue;
  }
  reject(*limiter, decision);
  return FilterHeadersStatus::StopIteration;
}

void RateLimitFilter::reject(RateLimiter& limiter, const Decision& decision) {
  rejected_ = true;
  HeaderMap reply;
  // On a 429 the reset is when the next request would pass, the same as Retry-After.
  std::string retry_after = std::to_string(std::max<int64_t>(1, ceilSeconds(decision.wait)));
  reply.add("retry-after", retry_after);
  reply.add("ratelimit-limit", limiter.limitHeader());
  reply.add("ratelimit-remaining", "0");
  reply.add("ratelimit-reset", retry_after);
  reply.add("ratelimit-policy", limiter.policyHeader());
  decoder_callbacks_->streamInfo().response_flags |= response_flags::kRateLimited;
  decoder_callbacks_->sendLocalReply(429, "rate limit exceeded\n", reply, "local_rate_limited");
}

void RateLimitFilter::logDryRun(RateLimiter& limiter, const HeaderMap& headers, const KeyContext& context) {
  uint64_t count = limiter.dryRunLog().record(Clock::now());
  if (count == 0 || log::level() > log::Level::Info) return;
  log::info("rate_limit (dry_run): would reject ", headers.method(), " ", headers.authority(), " for ",
            describeKey(limiter.config().key, headers, context), " (limit ", limiter.policyHeader(), "); ", count,
            count == 1 ? " would-be rejection" : " would-be rejections", " since the last such line");
}

FilterHeadersStatus RateLimitFilter::encodeHeaders(HeaderMap& headers, bool) {
  // A 429 of ours already carries the headers; other responses get them only on request.
  if (!rejected_ && decision_ && limiter_ && limiter_->config().response_headers) {
    addRateLimitHeaders(headers, *limiter_, *decision_);
  }
  return FilterHeadersStatus::Continue;
}

void RateLimitFilter::addRateLimitHeaders(HeaderMap& headers, const RateLimiter& limiter,
                                          const Decision& decision) const {
  headers.set("ratelimit-limit", limiter.limitHeader());
  headers.set("ratelimit-remaining", std::to_string(decision.remaining));
  headers.set("ratelimit-reset", std::to_string(ceilSeconds(decision.reset)));
  headers.set("ratelimit-policy", limiter.policyHeader());
}

void RateLimitFilter::onDestroy() {
  if (delay_timer_) delay_timer_->disable();
}

}  // namespace interpose::rate_limit
