#include "source/filters/http/rate_limit/config.h"

#include <set>

#include "api/interpose/header_map.h"
#include "api/interpose/strings.h"

namespace interpose::rate_limit {
namespace {

// Bounds that keep the bucket arithmetic exact enough and the table's memory sane.
constexpr int64_t kMaxCount = 1'000'000'000;
constexpr int64_t kMaxKeys = 100'000'000;
constexpr std::chrono::milliseconds kMaxDelayLimit{std::chrono::minutes(5)};

KeyPart parseKeyPart(const ConfigNode& node) {
  std::string text = node.str();
  KeyPart part;
  if (text == "client_ip") {
    part.kind = KeyPart::Kind::ClientIp;
  } else if (text == "authority") {
    part.kind = KeyPart::Kind::Authority;
  } else if (text == "route") {
    part.kind = KeyPart::Kind::Route;
  } else if (text.starts_with("header:")) {
    part.kind = KeyPart::Kind::Header;
    part.header = str::toLower(std::string_view(text).substr(7));
    if (!isValidHeaderName(part.header)) node.fail(str::cat("'", text, "': expected a header name after 'header:'"));
  } else {
    node.fail(str::cat("unknown key part '", text, "'; expected client_ip, authority, route or header:NAME"));
  }
  return part;
}

std::vector<KeyPart> parseKey(const ConfigNode& node) {
  std::vector<KeyPart> parts;
  std::set<std::string> seen;
  for (const auto& item : node.list()) {
    KeyPart part = parseKeyPart(item);
    if (!seen.insert(part.name()).second) item.fail(str::cat("'", part.name(), "' is in the key twice"));
    parts.push_back(std::move(part));
  }
  return parts;
}

}  // namespace

BucketParams RateLimitConfig::bucketParams() const {
  return BucketParams{static_cast<double>(count) / static_cast<double>(window.count()), static_cast<double>(burst)};
}

bool parseRate(std::string_view text, uint64_t& count, std::chrono::seconds& window) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view number = str::trim(text.substr(0, slash));
  std::string_view unit = str::trim(text.substr(slash + 1));
  if (!str::parseInt(number, count) || count == 0 || count > static_cast<uint64_t>(kMaxCount)) return false;
  if (unit == "s") {
    window = std::chrono::seconds(1);
  } else if (unit == "m") {
    window = std::chrono::seconds(60);
  } else if (unit == "h") {
    window = std::chrono::seconds(3600);
  } else {
    return false;
  }
  return true;
}

RateLimitConfig parseRateLimitConfig(const ConfigNode& config) {
  if (!config.defined()) config.fail("missing config; expected at least 'rate', e.g. { rate: 100/s }");
  config.expectMap({"key", "rate", "burst", "mode", "max_delay", "max_keys", "response_headers"});
  RateLimitConfig out;

  ConfigNode rate = config.required("rate");
  if (!rate.yaml().IsScalar() || !parseRate(rate.str(), out.count, out.window)) {
    std::string got = rate.yaml().IsScalar() ? str::cat("'", rate.yaml().Scalar(), "'") : "not a string";
    rate.fail(str::cat("expected a rate N/s, N/m or N/h with N a whole number from 1 to ", kMaxCount, ", got ", got));
  }
  // The default bucket holds one window's worth: "100/s" allows 100 requests at once.
  out.burst = config.integer("burst", static_cast<int64_t>(out.count), 1, kMaxCount);

  if (config.has("key")) out.key = parseKey(config.child("key"));

  if (config.has("mode")) {
    std::string mode = config.child("mode").oneOf({"reject", "delay", "dry_run"});
    out.mode = mode == "delay" ? Mode::Delay : mode == "dry_run" ? Mode::DryRun : Mode::Reject;
  }
  out.max_delay = config.duration("max_delay", out.max_delay);
  if (out.max_delay > kMaxDelayLimit) config.child("max_delay").fail("expected a duration of at most 5m");
  if (out.mode == Mode::Delay && out.max_delay.count() <= 0) {
    config.child("max_delay").fail("mode: delay needs a max_delay above 0 (or use mode: reject)");
  }
  out.max_keys = config.integer("max_keys", static_cast<int64_t>(out.max_keys), 1, kMaxKeys);
  out.response_headers = config.boolean("response_headers", out.response_headers);
  return out;
}

}  // namespace interpose::rate_limit
