#include "source/filters/http/local_reply/config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <array>
#include <fstream>
#include <string_view>

#include "api/interpose/strings.h"

namespace interpose::local_reply {
namespace {

// Headers whose values the proxy computes from the reply (content-length from the body)
// or the connection manager owns (hop-by-hop): a configured value would contradict the
// bytes on the wire or the connection's keep-alive state.
constexpr std::array<std::string_view, 8> kReservedHeaders = {
    "connection", "content-length", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
};

bool isReserved(std::string_view name) {
  for (std::string_view reserved : kReservedHeaders) {
    if (name == reserved) return true;
  }
  return false;
}

void parseHeaders(const ConfigNode& node, HeaderMap& out) {
  if (!node.defined()) return;
  if (!node.yaml().IsMap()) node.fail("expected a map of header name to value");
  auto file = std::make_shared<const std::string>(node.file());
  for (const auto& kv : node.yaml()) {
    const std::string name = kv.first.Scalar();
    // Errors about the name point at the key, errors about the value at the value.
    ConfigNode key(kv.first, str::cat(node.path(), ".", name), file);
    ConfigNode value = node.child(name);
    if (!isValidHeaderName(name)) key.fail("expected a header name (an RFC 9110 token)");
    const std::string lower = str::toLower(name);
    if (isReserved(lower)) key.fail(str::cat("'", lower, "' is set by the proxy and cannot be configured"));
    const std::string text = value.str();
    if (!isValidHeaderValue(text)) value.fail("header values cannot contain CR, LF or NUL");
    out.add(lower, text);
  }
}

std::string readBodyFile(const ConfigNode& node) {
  const std::string path = node.str();
  // Opening a FIFO (or a device) would wait for a writer forever: validate and serve hung.
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    node.fail(str::cat("'", path, "' is not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) node.fail(str::cat("cannot read '", path, "': ", strerror(errno)));
  std::string body;
  char chunk[64 * 1024];
  while (in.read(chunk, sizeof(chunk)) || in.gcount() > 0) {
    body.append(chunk, static_cast<size_t>(in.gcount()));
    if (body.size() > kMaxBodyFileBytes) {
      node.fail(str::cat("'", path, "' is larger than ", kMaxBodyFileBytes / (1024 * 1024), " MiB"));
    }
  }
  // A directory opens fine on Linux and then fails to read.
  if (in.bad()) node.fail(str::cat("cannot read '", path, "': ", strerror(errno)));
  return body;
}

}  // namespace

std::shared_ptr<const LocalReplyConfig> parseConfig(const ConfigNode& node) {
  node.expectMap({"status", "headers", "body", "body_file", "details"});
  auto config = std::make_shared<LocalReplyConfig>();
  if (!node.defined() || node.yaml().size() == 0) return config;

  config->replies = true;
  ConfigNode status = node.required("status");
  config->status = static_cast<int>(status.integer(100, 599));
  // A 1xx is an interim response: the client would keep waiting for the final one.
  if (config->status < 200) status.fail("1xx statuses are interim responses; expected 200-599");
  parseHeaders(node.child("headers"), config->headers);
  if (node.has("body") && node.has("body_file")) {
    node.child("body_file").fail("expected either body or body_file, not both");
  }
  if (node.has("body")) config->body = node.child("body").str();
  if (node.has("body_file")) config->body = readBodyFile(node.child("body_file"));
  if ((config->status == 204 || config->status == 304) && !config->body.empty()) {
    node.child(node.has("body") ? "body" : "body_file").fail(str::cat("a ", config->status, " reply has no body"));
  }
  if (node.has("details")) {
    config->details = node.child("details").str();
    if (config->details.empty()) node.child("details").fail("expected a non-empty string");
  }
  return config;
}

}  // namespace interpose::local_reply
