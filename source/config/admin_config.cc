#include "source/config/admin_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "api/interpose/strings.h"
#include "source/config/address.h"
#include "source/config/yaml_document.h"

namespace interpose::config {
namespace {

// Tokens travel in an Authorization header: visible ASCII only, so they survive every client
// and never need quoting.
bool validToken(std::string_view token) {
  if (token.empty()) return false;
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// A token file is small; anything large is a wrong path (a key, a log), not a token.
constexpr size_t kMaxTokenFileBytes = 4096;

}  // namespace

absl::StatusOr<std::string> readTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(str::cat(path, ": cannot read the token file: ", std::strerror(errno)));
  std::string text(kMaxTokenFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTokenFileBytes) {
    return absl::InvalidArgumentError(str::cat(path, ": a token file holds one token (at most 4 KiB)"));
  }
  // `echo TOKEN > file` adds a newline, editors may add CRLF: neither is part of the token.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!validToken(text)) {
    return absl::InvalidArgumentError(
        str::cat(path, ": expected one token of visible ASCII characters (no spaces) in the token file"));
  }
  return text;
}

AdminConfig parseAdminConfig(const ConfigNode& admin) {
  AdminConfig config;
  if (!admin.defined()) return config;
  admin.expectMap({"address", "token", "token_file"});
  ConfigNode address = admin.required("address");
  config.enabled = true;
  config.address_text = address.str();
  config.address = parseAddress(address, "127.0.0.1:9901");
  if (admin.has("token") && admin.has("token_file")) {
    admin.child("token_file").fail("set either token or token_file, not both");
  }
  if (admin.has("token")) {
    ConfigNode token = admin.child("token");
    config.token = token.str();
    // The value itself stays out of the message: it is a secret.
    if (!validToken(config.token)) token.fail("expected a token of visible ASCII characters (no spaces)");
  } else if (admin.has("token_file")) {
    ConfigNode file = admin.child("token_file");
    auto token = readTokenFile(file.str());
    if (!token.ok()) file.fail(std::string(token.status().message()));
    config.token = std::move(*token);
  }
  if (config.token.empty() && !isLoopback(config.address.address())) {
    address.fail(str::cat(config.address_text,
                          " is reachable from other machines, and the admin server can stop the proxy and read its "
                          "config; set admin.token (or admin.token_file) so that it asks for a bearer token, or use "
                          "a loopback address such as 127.0.0.1:9901"));
  }
  return config;
}

absl::StatusOr<AdminConfig> loadAdminConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(str::cat(path, ": cannot open config file: ", std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  auto file = std::make_shared<const std::string>(path);
  try {
    ConfigNode top(loadConfigDocument(text.str(), file), "", file);
    if (top.defined() && !top.yaml().IsMap()) top.fail("expected a map");
    return parseAdminConfig(top.child("admin"));
  } catch (const ConfigError& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        escapeForMessage(str::cat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg)));
  }
}

}  // namespace interpose::config
