#include "source/config/server_config.h"

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "api/interpose/config_node.h"
#include "api/interpose/registry.h"
#include "api/interpose/strings.h"
#include "source/config/address.h"
#include "source/config/factory_context.h"
#include "source/config/yaml_document.h"
#include "source/network/destination_policy.h"
#include "source/network/rejection_memory.h"
#include "source/tls/ca_provider.h"

namespace interpose::config {
namespace {

network::FilterChainMatch parseMatch(const ConfigNode& node, FactoryContext& context) {
  node.expectMap({"destination_port", "server_names", "source_cidrs", "tunneled", "interception_rejected",
                  "transport_protocol", "application_protocols"});
  network::FilterChainMatch match;
  if (node.has("destination_port")) {
    match.destination_port = static_cast<uint16_t>(node.child("destination_port").integer(1, 65535));
  }
  for (const auto& name : node.child("server_names").list()) {
    std::string pattern = str::toLower(name.str());
    std::string_view rest = pattern;
    if (rest.starts_with("*.")) rest.remove_prefix(2);
    if (rest.empty() || rest.find('*') != std::string_view::npos ||
        rest.find_first_of(" /:") != std::string_view::npos) {
      name.fail("expected a host name, optionally starting with '*.' (e.g. *.example.com)");
    }
    match.server_names.push_back(pattern);
  }
  for (const auto& cidr : node.child("source_cidrs").list()) {
    std::string why;
    auto parsed = network::Cidr::parse(cidr.str(), &why);
    if (!parsed) cidr.fail(str::cat(why, "; expected an address range such as 10.0.0.0/8 or ::1/128, or one address"));
    match.source_cidrs.push_back(*parsed);
  }
  if (node.has("tunneled")) match.tunneled = node.child("tunneled").boolean();
  if (node.has("interception_rejected")) {
    match.interception_rejected = node.child("interception_rejected").boolean();
    match.rejections = network::RejectionMemory::shared(context);
  }
  if (node.has("transport_protocol")) match.transport_protocol = node.child("transport_protocol").oneOf({"tls", "raw"});
  for (const auto& proto : node.child("application_protocols").list()) {
    match.application_protocols.push_back(proto.str());
  }
  return match;
}

network::FilterChain parseChain(const ConfigNode& node, FactoryContext& context) {
  node.expectMap({"name", "match", "filters"});
  network::FilterChain chain;
  chain.name = node.str("name", "");
  chain.match = parseMatch(node.child("match"), context);
  auto filters = node.required("filters").list();
  if (filters.empty()) node.child("filters").fail("expected at least one network filter");
  for (const auto& f : filters) {
    f.expectMap({"name", "config"});
    std::string name = f.required("name").str();
    const NetworkFilterFactory* factory = NetworkFilterRegistry::get().find(name);
    if (!factory) {
      f.child("name").fail(str::cat("unknown network filter '", name,
                                    "'; known: ", str::join(NetworkFilterRegistry::get().names(), ", ")));
    }
    chain.filter_factories.push_back(factory->create(f.child("config"), context));
    chain.terminates_tls = chain.terminates_tls || factory->terminatesTls();
  }
  return chain;
}

ListenerConfig parseListener(const ConfigNode& node, FactoryContext& context) {
  node.expectMap({"name", "address", "allow_open_proxy", "destination_policy", "buffer_limit", "listener_filters",
                  "filter_chains"});
  ListenerConfig listener;
  listener.name = node.required("name").str();
  ConfigNode address = node.required("address");
  listener.address_text = address.str();
  listener.address = parseAddress(address, "127.0.0.1:8080");
  const boost::asio::ip::address ip = listener.address.address();
  std::shared_ptr<const network::RuleDestinationPolicy> policy;
  if (node.has("destination_policy")) {
    policy = network::RuleDestinationPolicy::parse(node.child("destination_policy"));
    listener.destination_policy = policy;
  }
  // Reachable from other machines with nothing to limit where it goes: an open proxy into
  // whatever this machine can reach. Only on purpose.
  listener.allow_open_proxy = node.boolean("allow_open_proxy", false);
  if (!isLoopback(ip) && !listener.allow_open_proxy && !(policy && policy->deniesPrivateNetworks())) {
    address.fail(str::cat(listener.address_text,
                          " is reachable from other machines, and anyone who can reach it could use this proxy (an "
                          "open proxy into every network this machine reaches); listen on a loopback address, add "
                          "a destination_policy that denies private_networks (for plain requests and CONNECT), "
                          "or set allow_open_proxy: true on this listener if that is what you want"));
  }
  uint64_t limit = node.bytes("buffer_limit", listener.buffer_limit);
  if (limit < 16 * 1024 || limit > 64 * 1024 * 1024) {
    node.child("buffer_limit").fail("expected a size between 16KiB and 64MiB");
  }
  listener.buffer_limit = static_cast<uint32_t>(limit);
  for (const auto& filter : node.child("listener_filters").list()) {
    filter.expectMap({"name"});
    filter.required("name").oneOf({"tls_inspector"});
    listener.inspect_tls = true;
  }
  auto chains = node.required("filter_chains").list();
  if (chains.empty()) node.child("filter_chains").fail("expected at least one filter chain");
  for (const auto& chain : chains) {
    listener.filter_chains.push_back(parseChain(chain, context));
    if (listener.filter_chains.back().name.empty()) {
      listener.filter_chains.back().name = str::cat("filter_chains[", listener.filter_chains.size() - 1, "]");
    }
    const auto& match = listener.filter_chains.back().match;
    if (!listener.inspect_tls && (match.transport_protocol || !match.application_protocols.empty())) {
      chain.child("match").fail(
          "transport_protocol and application_protocols need listener_filters: [ { name: tls_inspector } ]");
    }
  }
  return listener;
}

// Config text reaches error messages; see escapeForMessage.
absl::Status invalidConfig(const std::string& message) { return absl::InvalidArgumentError(escapeForMessage(message)); }

}  // namespace

// Loads `cert_providers:` into the context, so tls_intercept can find them by name.
absl::Status parseCertProviders(const ConfigNode& list, bool validate_only, ServerConfig& config,
                                ServerFactoryContext& context) {
  std::set<std::string> names;
  for (const auto& node : list.list()) {
    node.expectMap({"name", "ca"});
    std::string name = node.required("name").str();
    if (!names.insert(name).second) node.child("name").fail(str::cat("duplicate cert provider name '", name, "'"));
    auto provider = tls::CaProvider::create(name, node.required("ca"), validate_only);
    if (!provider.ok()) {
      return invalidConfig(
          str::cat(node.child("ca").location(), ": ", node.path(), ".ca: ", std::string(provider.status().message())));
    }
    context.addCertProvider(*provider);
    config.cert_providers.push_back(*provider);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const ServerConfig>> parseConfig(std::string_view yaml, const std::string& file,
                                                                bool validate_only) {
  auto file_name = std::make_shared<const std::string>(file);
  auto config = std::make_shared<ServerConfig>();
  config->source = file;
  config->text = std::string(yaml);
  try {
    ConfigNode top(loadConfigDocument(yaml, file_name), "", file_name);
    if (!top.defined()) top.fail("the config is empty; expected a map with 'listeners'");
    top.expectMap({"cert_providers", "listeners", "drain_timeout", "admin"});
    config->drain_timeout = top.duration("drain_timeout", config->drain_timeout);
    config->admin = parseAdminConfig(top.child("admin"));
    ServerFactoryContext context;
    config->shared_state = context.stateStore();
    if (auto status = parseCertProviders(top.child("cert_providers"), validate_only, *config, context); !status.ok()) {
      return status;
    }
    auto listeners = top.required("listeners").list();
    if (listeners.empty()) top.child("listeners").fail("expected at least one listener");
    std::set<std::string> names;
    std::set<std::string> addresses;
    for (const auto& node : listeners) {
      ListenerConfig listener = parseListener(node, context);
      if (!names.insert(listener.name).second) {
        node.child("name").fail(str::cat("duplicate listener name '", listener.name, "'"));
      }
      std::string address = network::formatEndpoint(listener.address);
      if (!addresses.insert(address).second) {
        node.child("address").fail(str::cat("another listener already uses ", address));
      }
      config->listeners.push_back(std::move(listener));
    }
    if (config->admin.enabled && addresses.count(network::formatEndpoint(config->admin.address))) {
      top.child("admin").child("address").fail(str::cat("a listener already uses ",
                                                        network::formatEndpoint(config->admin.address),
                                                        "; the admin server needs an address of its own"));
    }
  } catch (const ConfigError& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const YAML::Exception& e) {
    return invalidConfig(str::cat(file, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  return std::shared_ptr<const ServerConfig>(std::move(config));
}

absl::StatusOr<std::shared_ptr<const ServerConfig>> loadConfigFile(const std::string& path, bool validate_only) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(str::cat(path, ": cannot open config file: ", std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  return parseConfig(text.str(), path, validate_only);
}

}  // namespace interpose::config
