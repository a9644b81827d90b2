#include "source/admin/endpoint.h"

#include <algorithm>
#include <stdexcept>

#include "api/interpose/strings.h"
#include "source/admin/json_writer.h"

namespace interpose::admin {

std::optional<std::string> Request::param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Response Response::html(std::string body) {
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Response::jsonError(int status, std::string_view message) {
  JsonWriter writer;
  writer.beginObject().key("error").value(message).endObject();
  return json(status, writer.take());
}

void EndpointTable::add(Endpoint endpoint) {
  for (const auto& e : endpoints_) {
    if (e.method == endpoint.method && e.path == endpoint.path && e.prefix == endpoint.prefix) {
      throw std::logic_error(str::cat("admin endpoint ", endpoint.method, " ", endpoint.path, " added twice"));
    }
  }
  endpoints_.push_back(std::move(endpoint));
}

EndpointTable::Match EndpointTable::find(std::string_view method, std::string_view path) const {
  // The best path first: exact, else the longest prefix; then the method on it.
  const Endpoint* best = nullptr;
  for (const auto& e : endpoints_) {
    const bool fits = e.prefix ? (path.size() > e.path.size() && path.starts_with(e.path)) : path == e.path;
    if (!fits) continue;
    if (!best || (best->prefix && (!e.prefix || e.path.size() > best->path.size()))) best = &e;
  }
  Match match;
  if (!best) return match;
  const std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
  for (const auto& e : endpoints_) {
    if (e.path != best->path || e.prefix != best->prefix) continue;
    if (std::find(match.allowed.begin(), match.allowed.end(), e.method) == match.allowed.end()) {
      match.allowed.push_back(e.method);
      if (e.method == "GET") match.allowed.push_back("HEAD");
    }
    if (e.method == wanted) match.endpoint = &e;
  }
  if (best->prefix) match.rest = std::string(path.substr(best->path.size()));
  return match;
}

}  // namespace interpose::admin
