// `/ready`, `/server_info`, `/logging` and `/quitquitquit`: the server's state and the two
// things an operator changes at run time.

#include <llhttp.h>
#include <openssl/base.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <boost/version.hpp>

#include "api/interpose/strings.h"
#include "source/admin/builtin_endpoints.h"
#include "source/admin/json_writer.h"
#include "source/common/logger.h"
#include "source/common/version.h"
#include "source/tls/openssl_util.h"

namespace interpose::admin {
namespace {

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

std::string sha256Hex(std::string_view text) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(text.data()), text.size(), digest);
  return str::toLower(tls::hex(digest, sizeof(digest)));
}

Response serverInfo(const AdminContext& context) {
  const auto uptime = std::chrono::steady_clock::now() - context.started;
  const config::ServerConfig& config = *context.config;
  JsonWriter json;
  json.beginObject();
  json.key("version").value(kVersion);
  json.key("state").value(context.draining() ? "DRAINING" : "LIVE");
  json.key("uptime_s").value(static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(uptime).count()));
  json.key("pid").value(static_cast<int64_t>(::getpid()));
  json.key("concurrency").value(context.concurrency);
  json.key("config").beginObject();
  json.key("source").value(config.source);
  json.key("sha256").value(sha256Hex(config.text));
  json.key("listeners").beginArray();
  for (const auto& listener : config.listeners) {
    json.beginObject().key("name").value(listener.name).key("address").value(listener.address_text).endObject();
  }
  json.endArray();
  json.endObject();
  json.key("log_level").value(kLevelNames[static_cast<int>(log::level())]);
  json.key("build").beginObject();
#ifdef __clang__
  json.key("compiler").value("clang " __clang_version__);
#else
  json.key("compiler").value("gcc " __VERSION__);
#endif
  json.key("cplusplus").value(static_cast<int64_t>(__cplusplus));
#ifdef NDEBUG
  json.key("optimized").value(true);
#else
  json.key("optimized").value(false);
#endif
  json.key("boost").value(BOOST_LIB_VERSION);
  json.key("tls_library").value(OPENSSL_VERSION_TEXT);
  json.key("llhttp").value(str::cat(LLHTTP_VERSION_MAJOR, ".", LLHTTP_VERSION_MINOR, ".", LLHTTP_VERSION_PATCH));
  json.endObject();
  json.endObject();
  return Response::json(200, json.take());
}

Response setLogLevel(const Request& request) {
  auto name = request.param("level");
  log::Level level;
  if (!name || !log::parseLevel(*name, level)) {
    return Response::text(400, "expected ?level=debug, info, warn or error\n");
  }
  log::setLevel(level);
  // At warn: whatever the new level, an operator's change shows in the log.
  log::warn("admin: log level set to ", *name);
  return Response::text(200, str::cat("log level: ", *name, "\n"));
}

}  // namespace

void addServerEndpoints(EndpointTable& table, const AdminContext& context) {
  table.add({"GET", "/ready", false, "200 LIVE while serving, 503 DRAINING once draining (for health checks)",
             [&context](const Request&) {
               return context.draining() ? Response::text(503, "DRAINING\n") : Response::text(200, "LIVE\n");
             }});
  table.add({"GET", "/server_info", false,
             "version, state, uptime, pid, workers, config source and SHA-256, log level, build (JSON)",
             [&context](const Request&) { return serverInfo(context); }});
  table.add({"POST", "/logging", false, "?level=debug|info|warn|error: change the log level", setLogLevel});
  table.add({"POST", "/quitquitquit", false, "drain and exit, as SIGTERM does", [&context](const Request&) {
               log::info("admin: /quitquitquit received");
               context.drain();
               return Response::text(200, "draining; the process exits when requests in flight are done\n");
             }});
}

}  // namespace interpose::admin
