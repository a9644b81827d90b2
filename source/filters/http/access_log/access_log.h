#pragma once

#include <memory>

#include "api/interpose/http_filter.h"
#include "source/filters/http/access_log/formatter.h"
#include "source/filters/http/access_log/log_sink.h"

namespace interpose::access_log {

// Writes one line per stream when it completes (successfully or not). It only observes:
// every decode and encode callback keeps the default Continue.
class AccessLogFilter : public HttpFilter {
 public:
  AccessLogFilter(std::shared_ptr<const Formatter> formatter, std::shared_ptr<LogSink> sink)
      : formatter_(std::move(formatter)), sink_(std::move(sink)) {}

  void onStreamComplete(const StreamInfo& info) override;

 private:
  // Shared by every stream of one config; both are safe to use from any worker.
  std::shared_ptr<const Formatter> formatter_;
  std::shared_ptr<LogSink> sink_;
};

}  // namespace interpose::access_log
