#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/interpose/header_map.h"

namespace interpose::admin {

// One request to the admin server, parsed and bounded by the connection.
struct Request {
  std::string method;  // "GET", "POST", ... (HEAD arrives as GET; the connection drops the body)
  std::string path;    // without the query, percent-decoded
  std::multimap<std::string, std::string> query;  // percent-decoded, '+' as space
  const HeaderMap* headers = nullptr;
  std::string body;
  // For an endpoint registered with a prefix: the part of the path after it.
  std::string rest;

  // The first value of query parameter `name`.
  std::optional<std::string> param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides content-type/-length

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
  static Response html(std::string body);
  // {"error": message} with `status`.
  static Response jsonError(int status, std::string_view message);
};

using Handler = std::function<Response(const Request&)>;

// One method on one path: what `/` lists and what the connection dispatches to.
struct Endpoint {
  std::string method;
  // Exact path ("/ready"), or with `prefix` every path under it ("/passthrough/" matches
  // "/passthrough/example.com", handing "example.com" over as Request::rest).
  std::string path;
  bool prefix = false;
  std::string help;
  Handler handler;
};

// The admin server's endpoints, by path and method. Filled before the server starts and read
// only afterwards (by the admin thread), so it needs no lock. New endpoints (stats, flows,
// reload) are added by their own files through add(); the server never changes for them.
class EndpointTable {
 public:
  // Adds one endpoint; a second one for the same method and path replaces nothing: it is a
  // programming error and throws std::logic_error.
  void add(Endpoint endpoint);

  struct Match {
    const Endpoint* endpoint = nullptr;  // null: no endpoint for this method (see allowed)
    std::string rest;
    // The methods the path has, for 405's Allow; empty when the path has none at all (404).
    std::vector<std::string> allowed;
  };
  // The endpoint for `method` on `path`: an exact path wins over a prefix, a longer prefix over
  // a shorter one. HEAD finds GET endpoints.
  Match find(std::string_view method, std::string_view path) const;

  const std::vector<Endpoint>& endpoints() const { return endpoints_; }

 private:
  std::vector<Endpoint> endpoints_;
};

}  // namespace interpose::admin
