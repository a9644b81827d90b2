// `/passthrough`: the hosts tls_intercept learned to pass through because their clients refused
// our certificate, and the way to forget them without a restart.

#include <algorithm>
#include <tuple>

#include "api/interpose/strings.h"
#include "source/admin/builtin_endpoints.h"
#include "source/admin/json_writer.h"
#include "source/admin/time_text.h"
#include "source/http/request_target.h"
#include "source/network/rejection_memory.h"

namespace interpose::admin {
namespace {

using network::RejectionMemory;

std::shared_ptr<RejectionMemory> memoryOf(const config::ServerConfig& config) {
  return config.shared_state ? RejectionMemory::in(*config.shared_state) : nullptr;
}

void writeEntry(JsonWriter& json, const RejectionMemory::Entry& entry, std::chrono::steady_clock::time_point now) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(entry.until - now).count();
  json.beginObject();
  json.key("host").value(entry.host);
  json.key("port").value(static_cast<int64_t>(entry.port));
  json.key("learned_at").value(rfc3339(entry.learned_at));
  json.key("expires_in_s").value(static_cast<int64_t>(std::max<int64_t>(left, 0)));
  json.key("alert").value(entry.reason);
  json.endObject();
}

Response list(const config::ServerConfig& config) {
  auto memory = memoryOf(config);
  const auto now = std::chrono::steady_clock::now();
  JsonWriter json;
  json.beginObject().key("hosts").beginArray();
  if (memory) {
    for (const auto& entry : memory->entries()) writeEntry(json, entry, now);
  }
  json.endArray().endObject();
  return Response::json(200, json.take());
}

Response forgotten(std::vector<RejectionMemory::Entry> removed) {
  std::sort(removed.begin(), removed.end(),
            [](const auto& a, const auto& b) { return std::tie(a.host, a.port) < std::tie(b.host, b.port); });
  const auto now = std::chrono::steady_clock::now();
  JsonWriter json;
  json.beginObject();
  json.key("forgotten").value(static_cast<uint64_t>(removed.size()));
  json.key("hosts").beginArray();
  for (const auto& entry : removed) writeEntry(json, entry, now);
  json.endArray().endObject();
  return Response::json(200, json.take());
}

Response forgetOne(const config::ServerConfig& config, const std::string& target) {
  // HOST, HOST:PORT, or [V6]:PORT; a bare IPv6 address has colons of its own.
  std::string host = target;
  std::optional<uint16_t> port;
  const bool bare_v6 = std::count(target.begin(), target.end(), ':') > 1 && !target.starts_with("[");
  if (!bare_v6) {
    auto split = http::splitAuthority(target, 0);
    if (!split) return Response::jsonError(400, "expected /passthrough/HOST or /passthrough/HOST:PORT");
    host = split->first;
    if (split->second != 0) port = split->second;
  }
  auto memory = memoryOf(config);
  std::vector<RejectionMemory::Entry> removed;
  if (memory) memory->forget(host, port, &removed);
  if (removed.empty()) {
    return Response::jsonError(404, str::cat("no learned passthrough host matches ", target));
  }
  return forgotten(std::move(removed));
}

Response forgetAll(const config::ServerConfig& config) {
  auto memory = memoryOf(config);
  std::vector<RejectionMemory::Entry> removed;
  if (memory) memory->clear(&removed);
  if (removed.empty()) return Response::jsonError(404, "no learned passthrough hosts to forget");
  return forgotten(std::move(removed));
}

}  // namespace

void addPassthroughEndpoints(EndpointTable& table, const AdminContext& context) {
  const config::ServerConfig& config = *context.config;
  table.add({"GET", "/passthrough", false,
             "hosts passed through because their clients refused our certificate: host, port, learned_at, "
             "expires_in_s, alert (JSON)",
             [&config](const Request&) { return list(config); }});
  table.add({"DELETE", "/passthrough", false, "forget every learned host (404 when there is none)",
             [&config](const Request&) { return forgetAll(config); }});
  table.add({"DELETE", "/passthrough/", true,
             "forget HOST on every port, or HOST:PORT, so it is intercepted again (404 when not learned)",
             [&config](const Request& request) { return forgetOne(config, request.rest); }});
}

}  // namespace interpose::admin
