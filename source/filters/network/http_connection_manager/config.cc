#include "source/filters/network/http_connection_manager/config.h"

#include "api/interpose/registry.h"
#include "api/interpose/strings.h"

namespace interpose::hcm {

HcmConfig parseHcmConfig(const ConfigNode& config, FactoryContext& context) {
  config.expectMap({"codec", "max_request_headers", "timeouts", "via", "upgrade_configs", "websocket", "http_filters",
                    "route_config"});
  HcmConfig out;
  if (config.has("codec")) out.codec = config.child("codec").oneOf({"auto", "http1", "http2"});
  out.max_request_headers = config.bytes("max_request_headers", out.max_request_headers);
  if (out.max_request_headers < 1024 || out.max_request_headers > 1024 * 1024) {
    config.child("max_request_headers").fail("expected a size between 1KiB and 1MiB");
  }
  ConfigNode timeouts = config.child("timeouts");
  timeouts.expectMap({"request_headers", "idle"});
  out.request_headers_timeout = timeouts.duration("request_headers", out.request_headers_timeout);
  out.idle_timeout = timeouts.duration("idle", out.idle_timeout);
  out.via = config.str("via", "");
  if (config.has("upgrade_configs")) {
    out.upgrade_types.clear();
    for (const auto& u : config.child("upgrade_configs").list()) {
      u.expectMap({"upgrade_type", "enabled"});
      std::string type = str::toLower(u.required("upgrade_type").str());
      if (type.empty() || !isValidHeaderValue(type)) u.child("upgrade_type").fail("expected a token such as websocket");
      if (u.boolean("enabled", true)) out.upgrade_types.push_back(type);
    }
  }
  ConfigNode websocket = config.child("websocket");
  websocket.expectMap({"idle_timeout"});
  out.upgrade_idle_timeout = websocket.duration("idle_timeout", out.upgrade_idle_timeout);
  if (!isValidHeaderValue(out.via)) config.child("via").fail("must not contain CR, LF or NUL");

  auto filters = config.child("http_filters").list();
  if (filters.empty()) {
    // A chain with no filters can only be the router: the common case reads best without it.
    auto* router = HttpFilterRegistry::get().find("router");
    if (!router) config.fail("no http_filters given and no router filter is built in");
    ConfigNode empty(YAML::Node(YAML::NodeType::Null), config.path() + ".http_filters[0].config",
                     std::make_shared<const std::string>(config.file()));
    out.filters.push_back({"router", router->create(empty, context)});
    if (config.has("route_config")) {
      out.routes = http::RouteTable::parse(config.child("route_config"), {{"router", router}});
    }
    return out;
  }
  std::vector<http::RouteTable::FilterInfo> infos;
  for (size_t i = 0; i < filters.size(); ++i) {
    const ConfigNode& f = filters[i];
    f.expectMap({"name", "config"});
    std::string name = f.required("name").str();
    const HttpFilterFactory* factory = HttpFilterRegistry::get().find(name);
    if (!factory) {
      f.child("name").fail(
          str::cat("unknown HTTP filter '", name, "'; known: ", str::join(HttpFilterRegistry::get().names(), ", ")));
    }
    bool last = i + 1 == filters.size();
    if (factory->terminal() && !last) f.child("name").fail(str::cat("'", name, "' ends a chain and must be last"));
    if (!factory->terminal() && last) {
      f.child("name").fail(str::cat("the last HTTP filter must produce responses (e.g. router), got '", name, "'"));
    }
    out.filters.push_back({name, factory->create(f.child("config"), context)});
    infos.push_back({name, factory});
  }
  if (config.has("route_config")) out.routes = http::RouteTable::parse(config.child("route_config"), infos);
  return out;
}

}  // namespace interpose::hcm
