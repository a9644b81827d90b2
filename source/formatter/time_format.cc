#include "source/formatter/time_format.h"

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace interpose::formatter {
namespace {

using std::chrono::system_clock;

void appendPadded(std::string& out, uint64_t value, int width) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < 20);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(digits[--n]);
}

}  // namespace

TimeFormat::TimeFormat(std::string_view format) {
  std::string pending;  // the strftime piece being collected
  const auto flushPending = [&] {
    if (pending.empty()) return;
    segments_.push_back({Segment::Kind::kStrftime, std::move(pending), 0});
    pending.clear();
  };
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      // A trailing lone '%' is kept literally rather than handed to strftime undefined.
      pending.append(format[i] == '%' ? "%%" : std::string_view(&format[i], 1));
      continue;
    }
    const char next = format[i + 1];
    if (next == 'f') {
      flushPending();
      segments_.push_back({Segment::Kind::kFraction, {}, 9});
      ++i;
    } else if (next >= '1' && next <= '9' && i + 2 < format.size() && format[i + 2] == 'f') {
      flushPending();
      segments_.push_back({Segment::Kind::kFraction, {}, next - '0'});
      i += 2;
    } else if (next == 's') {
      flushPending();
      segments_.push_back({Segment::Kind::kEpochSeconds, {}, 0});
      ++i;
    } else {
      // Any other conversion (including %%) is strftime's; copy it whole so "%%f" stays "%f".
      pending.append(format.substr(i, 2));
      ++i;
    }
  }
  flushPending();
}

void TimeFormat::append(system_clock::time_point time, std::string& out) const {
  if (segments_.empty()) {
    appendRfc3339(time, out);
    return;
  }
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds).count();
  const time_t epoch_seconds = static_cast<time_t>(seconds.count());
  struct tm tm;
  gmtime_r(&epoch_seconds, &tm);
  for (const Segment& segment : segments_) {
    switch (segment.kind) {
      case Segment::Kind::kStrftime: {
        // strftime cannot report the size it needs; conversions expand to at most a few
        // dozen bytes each, so this bound is generous.
        char buffer[512];
        if (segment.text.size() * 8 + 64 > sizeof(buffer)) {
          std::string large(segment.text.size() * 8 + 64, '\0');
          large.resize(strftime(large.data(), large.size(), segment.text.c_str(), &tm));
          out.append(large);
        } else {
          out.append(buffer, strftime(buffer, sizeof(buffer), segment.text.c_str(), &tm));
        }
        break;
      }
      case Segment::Kind::kFraction: {
        int64_t value = nanos;
        for (int i = segment.digits; i < 9; ++i) value /= 10;
        appendPadded(out, static_cast<uint64_t>(value), segment.digits);
        break;
      }
      case Segment::Kind::kEpochSeconds:
        if (seconds.count() < 0) out.push_back('-');
        appendPadded(out, static_cast<uint64_t>(std::abs(seconds.count())), 1);
        break;
    }
  }
}

// Hand-rolled rather than strftime: this is the default format, rendered on every line.
void TimeFormat::appendRfc3339(system_clock::time_point time, std::string& out) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time.time_since_epoch());
  const auto day = floor<days>(ms);
  const year_month_day date{sys_days(day)};
  const hh_mm_ss clock{ms - day};
  appendPadded(out, std::max(0, static_cast<int>(date.year())), 4);
  out.push_back('-');
  appendPadded(out, static_cast<unsigned>(date.month()), 2);
  out.push_back('-');
  appendPadded(out, static_cast<unsigned>(date.day()), 2);
  out.push_back('T');
  appendPadded(out, clock.hours().count(), 2);
  out.push_back(':');
  appendPadded(out, clock.minutes().count(), 2);
  out.push_back(':');
  appendPadded(out, clock.seconds().count(), 2);
  out.push_back('.');
  appendPadded(out, clock.subseconds().count(), 3);
  out.push_back('Z');
}

}  // namespace interpose::formatter
