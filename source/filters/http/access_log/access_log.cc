#include "source/filters/http/access_log/access_log.h"

#include <string>

namespace interpose::access_log {

void AccessLogFilter::onStreamComplete(const StreamInfo& info) {
  // One buffer per worker thread, reused: the line is copied into the sink's queue anyway.
  thread_local std::string line;
  line.clear();
  formatter_->format(info, line);
  sink_->write(line);
}

}  // namespace interpose::access_log
