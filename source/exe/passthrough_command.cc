#include "source/exe/passthrough_command.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/interpose/strings.h"
#include "source/config/admin_config.h"
#include "source/exe/admin_client.h"
#include "source/exe/args.h"
#include "source/http/request_target.h"
#include "source/network/connection.h"

namespace interpose {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr const char* kUsage = R"(Usage: interpose passthrough list [options]
       interpose passthrough forget HOST[:PORT] [options]
       interpose passthrough forget --all [options]

Hosts a running interpose passes through untouched because their clients refused its
certificate (tls_intercept's remember_rejections), read from and forgotten through that
instance's admin server. A forgotten host is intercepted again from its next connection.

Commands:
  list                   host, port, the TLS alert that taught it, when, and for how long
  forget HOST            forget HOST on every port (HOST:PORT: that port only)
  forget --all           forget every learned host

Options:
  --admin IP:PORT        the admin server (default: admin.address of -c CONFIG, else
                         127.0.0.1:9901)
  -c, --config FILE      the config the instance runs: its admin address and token
  --token-file FILE      the admin token, if the server asks for one (else
                         $INTERPOSE_ADMIN_TOKEN, else the token of -c CONFIG)

Exit status: 0 done, 1 failed (no admin server, nothing matched, ...), 2 usage error.
)";

constexpr std::string_view kDefaultAdmin = "127.0.0.1:9901";

int usageError(const std::string& message) {
  std::fprintf(stderr, "interpose passthrough: %s\nTry 'interpose passthrough --help'.\n", message.c_str());
  return 2;
}

int failure(const std::string& message) {
  std::fprintf(stderr, "interpose passthrough: %s\n", message.c_str());
  return 1;
}

bool parseEndpoint(std::string_view text, tcp::endpoint& out) {
  auto split = http::splitAuthority(text, 0);
  if (!split || split->second == 0) return false;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(split->first, ec);
  if (ec) return false;
  out = tcp::endpoint(ip, split->second);
  return true;
}

std::string hostPort(const std::string& host, int64_t port) {
  return str::cat(host.find(':') != std::string::npos ? str::cat("[", host, "]") : host, ":", port);
}

std::string duration(int64_t seconds) {
  if (seconds >= 3600) return str::cat(seconds / 3600, "h ", (seconds % 3600) / 60, "m");
  if (seconds >= 60) return str::cat(seconds / 60, "m ", seconds % 60, "s");
  return str::cat(seconds, "s");
}

// HOST[:PORT] for a path segment: unreserved characters and ':' as they are, the rest escaped.
std::string pathSegment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '.' || c == '_' || c == '~' || c == ':';
    if (plain) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[static_cast<uint8_t>(c) >> 4]);
      out.push_back(kHex[static_cast<uint8_t>(c) & 0xf]);
    }
  }
  return out;
}

struct Options {
  std::string command;
  std::string target;  // forget: HOST[:PORT]
  bool all = false;
  std::string admin;
  std::string config;
  std::string token_file;
};

// The admin server's JSON reply (yaml-cpp reads JSON: it is YAML's flow style).
bool parseJson(const std::string& body, YAML::Node& out) {
  try {
    out = YAML::Load(body);
    return out.IsMap();
  } catch (const YAML::Exception&) {
    return false;
  }
}

std::string errorOf(const AdminReply& reply) {
  YAML::Node json;
  if (parseJson(reply.body, json) && json["error"] && json["error"].IsScalar()) return json["error"].Scalar();
  std::string body = reply.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return str::cat("HTTP ", reply.status, body.empty() ? "" : ": ", body);
}

// Prints the entries of a reply's "hosts" list as a table.
void printTable(const YAML::Node& hosts) {
  std::vector<std::vector<std::string>> rows = {{"HOST:PORT", "TLS ALERT", "LEARNED AT", "EXPIRES IN"}};
  for (const auto& h : hosts) {
    rows.push_back({hostPort(h["host"].as<std::string>(""), h["port"].as<int64_t>(0)), h["alert"].as<std::string>(""),
                    h["learned_at"].as<std::string>(""), duration(h["expires_in_s"].as<int64_t>(0))});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

int run(const Options& options, const tcp::endpoint& admin, const std::string& token) {
  std::string method = "GET";
  std::string target = "/passthrough";
  if (options.command == "forget") {
    method = "DELETE";
    if (!options.all) target = str::cat("/passthrough/", pathSegment(options.target));
  }
  auto reply = adminRequest(admin, method, target, token);
  if (!reply.ok()) return failure(std::string(reply.status().message()));
  if (reply->status == 401) {
    return failure(str::cat("the admin server at ", network::formatEndpoint(admin),
                            token.empty() ? " asks for a token: give --token-file FILE or set INTERPOSE_ADMIN_TOKEN"
                                          : " refused the token"));
  }
  if (reply->status == 404 && options.command == "forget") return failure(errorOf(*reply));
  if (reply->status != 200) {
    return failure(str::cat("the admin server at ", network::formatEndpoint(admin), " answered ", errorOf(*reply)));
  }
  YAML::Node json;
  if (!parseJson(reply->body, json) || !json["hosts"] || !json["hosts"].IsSequence()) {
    return failure(str::cat("unexpected reply from ", network::formatEndpoint(admin), " (is it interpose's admin?)"));
  }
  try {
    if (options.command == "list") {
      if (json["hosts"].size() == 0) {
        std::printf("no learned passthrough hosts\n");
      } else {
        printTable(json["hosts"]);
      }
    } else {
      for (const auto& h : json["hosts"]) {
        std::printf("forgot %s (TLS alert: %s); it is intercepted again from its next connection\n",
                    hostPort(h["host"].as<std::string>(""), h["port"].as<int64_t>(0)).c_str(),
                    h["alert"].as<std::string>("").c_str());
      }
    }
  } catch (const YAML::Exception& e) {
    return failure(str::cat("unexpected reply from ", network::formatEndpoint(admin), ": ", e.what()));
  }
  return 0;
}

}  // namespace

int runPassthroughCommand(int argc, char** argv) {
  if (argc < 1) return usageError("missing command: list or forget");
  Options options;
  options.command = argv[0];
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help" || (i == 0 && arg == "help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  if (options.command != "list" && options.command != "forget") {
    return usageError(str::cat("unknown command '", options.command, "'; expected list or forget"));
  }
  for (ArgReader args(argc, argv, 1); args.next();) {
    const std::string& arg = args.name();
    if (arg == "--admin") {
      if (!args.value(options.admin, true)) return usageError("--admin needs IP:PORT");
    } else if (arg == "-c" || arg == "--config") {
      if (!args.value(options.config, true)) return usageError(arg + " needs a file name");
    } else if (arg == "--token-file") {
      if (!args.value(options.token_file, true)) return usageError("--token-file needs a file name");
    } else if (arg == "--all" && options.command == "forget") {
      options.all = true;
    } else if (!arg.starts_with("-") && options.command == "forget" && options.target.empty()) {
      options.target = arg;
    } else {
      return usageError(str::cat("unexpected argument '", arg, "' for 'passthrough ", options.command, "'"));
    }
  }
  if (options.command == "forget") {
    if (options.all && !options.target.empty()) return usageError("give HOST[:PORT] or --all, not both");
    if (!options.all && options.target.empty()) {
      return usageError("forget needs HOST[:PORT], or --all to forget every learned host");
    }
    if (!options.target.empty() && options.target.find_first_of("/?# \t") != std::string::npos) {
      return usageError(str::cat("'", options.target, "' is not HOST or HOST:PORT"));
    }
  }

  // Where the admin server is, and its token: options first, then the config's admin block.
  config::AdminConfig from_config;
  if (!options.config.empty()) {
    auto loaded = config::loadAdminConfig(options.config);
    if (!loaded.ok()) return failure(std::string(loaded.status().message()));
    from_config = std::move(*loaded);
    if (!from_config.enabled && options.admin.empty()) {
      return failure(str::cat(options.config, " has no admin: block, so the interpose running it has no admin server ",
                              "(add admin: { address: 127.0.0.1:9901 } and restart it)"));
    }
  }
  tcp::endpoint admin;
  if (!options.admin.empty()) {
    if (!parseEndpoint(options.admin, admin)) return usageError("--admin needs IP:PORT such as 127.0.0.1:9901");
  } else if (from_config.enabled) {
    admin = from_config.address;
  } else {
    parseEndpoint(kDefaultAdmin, admin);
  }
  std::string token;
  if (!options.token_file.empty()) {
    auto read = config::readTokenFile(options.token_file);
    if (!read.ok()) return failure(std::string(read.status().message()));
    token = std::move(*read);
  } else if (const char* env = std::getenv("INTERPOSE_ADMIN_TOKEN"); env && *env) {
    token = env;
  } else {
    token = from_config.token;
  }
  return run(options, admin, token);
}

}  // namespace interpose
