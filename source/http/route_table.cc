#include "source/http/route_table.h"

#include <algorithm>

#include "api/interpose/strings.h"
#include "source/http/request_target.h"

namespace interpose::http {
namespace {

ValueMatcher parseValueMatcher(const ConfigNode& node) {
  node.expectMap({"name", "exact", "prefix", "regex", "present", "invert"});
  ValueMatcher m;
  m.name = str::toLower(node.required("name").str());
  int kinds = 0;
  if (node.has("exact")) {
    m.kind = ValueMatcher::Kind::Exact;
    m.value = node.child("exact").str();
    ++kinds;
  }
  if (node.has("prefix")) {
    m.kind = ValueMatcher::Kind::Prefix;
    m.value = node.child("prefix").str();
    ++kinds;
  }
  if (node.has("regex")) {
    m.kind = ValueMatcher::Kind::Regex;
    m.regex = Regex::fromConfig(node.child("regex"));
    ++kinds;
  }
  if (node.has("present")) {
    if (!node.child("present").boolean()) node.child("present").fail("use invert: true to require absence");
    ++kinds;
  }
  if (kinds > 1) node.fail("expected at most one of exact, prefix, regex, present");
  m.invert = node.boolean("invert", false);
  return m;
}

// Splits "a=1&b=%20" into pairs, values kept as sent.
std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view part : str::split(query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(std::string(part), "");
    } else {
      out.emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
    }
  }
  return out;
}

bool domainMatches(std::string_view pattern, std::string_view host) {
  if (pattern == "*") return true;
  if (pattern.starts_with("*")) {
    std::string_view suffix = pattern.substr(1);  // ".example.com" or "-api.example.com"
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  if (pattern.ends_with("*")) {
    std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    return host.size() > prefix.size() && host.starts_with(prefix);
  }
  return pattern == host;
}

}  // namespace

bool ValueMatcher::matches(const std::string* actual) const {
  bool ok = false;
  if (actual) {
    switch (kind) {
      case Kind::Present:
        ok = true;
        break;
      case Kind::Exact:
        ok = *actual == value;
        break;
      case Kind::Prefix:
        ok = actual->starts_with(value);
        break;
      case Kind::Regex:
        ok = regex.fullMatch(*actual);
        break;
    }
  }
  return ok != invert;
}

const RouteSpecificFilterConfig* RouteEntry::perFilterConfig(std::string_view filter_name) const {
  auto it = per_filter_.find(filter_name);
  return it == per_filter_.end() ? nullptr : it->second.get();
}

bool RouteEntry::matches(const HeaderMap& headers, std::string_view path,
                         const std::vector<std::pair<std::string, std::string>>& query) const {
  switch (path_kind_) {
    case PathKind::Any:
      break;
    case PathKind::Exact:
      if (path != path_) return false;
      break;
    case PathKind::Prefix:
      if (!path.starts_with(path_)) return false;
      break;
    case PathKind::Regex:
      if (!path_regex_.fullMatch(path)) return false;
      break;
  }
  if (!methods_.empty()) {
    std::string_view method = headers.method();
    bool any = false;
    for (const auto& m : methods_) any = any || m == method;
    if (!any) return false;
  }
  for (const auto& h : headers_) {
    std::string joined;
    const std::string* value = nullptr;
    if (headers.has(h.name)) {
      joined = headers.getJoined(h.name);
      value = &joined;
    }
    if (!h.matches(value)) return false;
  }
  for (const auto& q : query_) {
    const std::string* value = nullptr;
    for (const auto& [name, v] : query) {
      if (name == q.name) {
        value = &v;
        break;
      }
    }
    if (!q.matches(value)) return false;
  }
  return true;
}

std::shared_ptr<const RouteTable> RouteTable::parse(const ConfigNode& node, const std::vector<FilterInfo>& filters) {
  node.expectMap({"virtual_hosts"});
  auto table = std::make_shared<RouteTable>();
  auto hosts = node.required("virtual_hosts").list();
  if (hosts.empty()) node.child("virtual_hosts").fail("expected at least one virtual host");
  std::set<std::string> all_domains;
  for (const auto& vh_node : hosts) {
    vh_node.expectMap({"name", "domains", "routes"});
    VirtualHost vh;
    vh.name = vh_node.required("name").str();
    for (const auto& d : vh_node.required("domains").list()) {
      std::string domain = str::toLower(d.str());
      size_t stars = std::count(domain.begin(), domain.end(), '*');
      bool ok = !domain.empty() &&
                (stars == 0 || domain == "*" || (stars == 1 && (domain.front() == '*' || domain.back() == '*')));
      if (!ok) d.fail("expected a host name, '*', '*.suffix' or 'prefix.*'");
      if (!all_domains.insert(domain).second) d.fail(str::cat("domain '", domain, "' is in two virtual hosts"));
      vh.domains.push_back(domain);
    }
    if (vh.domains.empty()) vh_node.child("domains").fail("expected at least one domain");
    for (const auto& r_node : vh_node.required("routes").list()) {
      r_node.expectMap({"name", "match", "per_filter_config"});
      auto route = std::make_unique<RouteEntry>();
      route->name_ = str::cat(vh.name, "/", r_node.str("name", std::to_string(vh.routes.size())));
      ConfigNode match = r_node.child("match");
      match.expectMap({"path", "prefix", "regex", "methods", "headers", "query_parameters"});
      int kinds = 0;
      if (match.has("path")) {
        route->path_kind_ = RouteEntry::PathKind::Exact;
        route->path_ = match.child("path").str();
        ++kinds;
      }
      if (match.has("prefix")) {
        route->path_kind_ = RouteEntry::PathKind::Prefix;
        route->path_ = match.child("prefix").str();
        ++kinds;
      }
      if (match.has("regex")) {
        route->path_kind_ = RouteEntry::PathKind::Regex;
        route->path_regex_ = Regex::fromConfig(match.child("regex"));
        ++kinds;
      }
      if (kinds > 1) match.fail("expected at most one of path, prefix, regex");
      for (const auto& m : match.child("methods").list()) route->methods_.push_back(m.str());
      for (const auto& h : match.child("headers").list()) route->headers_.push_back(parseValueMatcher(h));
      for (const auto& q : match.child("query_parameters").list()) route->query_.push_back(parseValueMatcher(q));

      ConfigNode per_filter = r_node.child("per_filter_config");
      if (per_filter.defined()) {
        if (!per_filter.yaml().IsMap()) per_filter.fail("expected a map of filter name to config");
        for (const auto& kv : per_filter.yaml()) {
          std::string filter_name = kv.first.as<std::string>();
          ConfigNode cfg(kv.second, str::cat(per_filter.path(), ".", filter_name),
                         std::make_shared<const std::string>(per_filter.file()));
          const FilterInfo* info = nullptr;
          for (const auto& f : filters) {
            if (f.name == filter_name) info = &f;
          }
          if (!info) {
            ConfigNode key(kv.first, cfg.path(), std::make_shared<const std::string>(per_filter.file()));
            std::vector<std::string> names;
            for (const auto& f : filters) names.push_back(f.name);
            key.fail(str::cat("no HTTP filter named '", filter_name,
                              "' in this chain; the chain has: ", str::join(names, ", ")));
          }
          // `disabled: true` alone turns the filter off for this route.
          if (cfg.yaml().IsMap() && cfg.yaml().size() == 1 && cfg.has("disabled")) {
            if (cfg.child("disabled").boolean()) {
              if (info->factory->terminal()) cfg.child("disabled").fail("the terminal filter cannot be disabled");
              route->disabled_.insert(filter_name);
            }
            continue;
          }
          route->per_filter_[filter_name] = info->factory->createRouteConfig(cfg);
        }
      }
      vh.routes.push_back(std::move(route));
    }
    table->virtual_hosts_.push_back(std::move(vh));
  }
  return table;
}

const RouteTable::VirtualHost* RouteTable::findVirtualHost(std::string_view host) const {
  // Exact names first, then the longest wildcard suffix, then the longest wildcard prefix,
  // then "*": the most specific wins whatever the config order.
  const VirtualHost* best = nullptr;
  int best_rank = -1;
  size_t best_len = 0;
  for (const auto& vh : virtual_hosts_) {
    for (const auto& d : vh.domains) {
      if (!domainMatches(d, host)) continue;
      int rank = d == "*" ? 0 : d.front() == '*' ? 2 : d.back() == '*' ? 1 : 3;
      if (rank > best_rank || (rank == best_rank && d.size() > best_len)) {
        best = &vh;
        best_rank = rank;
        best_len = d.size();
      }
    }
  }
  return best;
}

const RouteEntry* RouteTable::match(const HeaderMap& request) const {
  std::string_view authority = request.authority();
  auto split = splitAuthority(authority, 0);
  std::string host = split ? split->first : str::toLower(authority);
  const VirtualHost* vh = findVirtualHost(host);
  if (!vh) return nullptr;
  std::string_view full = request.path();
  size_t q = full.find('?');
  std::string_view path = full.substr(0, q);
  auto query =
      q == std::string_view::npos ? std::vector<std::pair<std::string, std::string>>{} : parseQuery(full.substr(q + 1));
  for (const auto& route : vh->routes) {
    if (route->matches(request, path, query)) return route.get();
  }
  return nullptr;
}

}  // namespace interpose::http
