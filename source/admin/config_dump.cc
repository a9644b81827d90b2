// `/config_dump`: the config the server runs, as JSON, with secrets redacted.

#include "source/admin/builtin_endpoints.h"
#include "source/admin/config_json.h"
#include "source/admin/json_writer.h"

namespace interpose::admin {
namespace {

Response configDump(const config::ServerConfig& config) {
  // Parsed again from the text it was loaded from (already validated, so it parses): yaml-cpp
  // nodes are not safe to read from two threads, and this keeps none alive beside the config.
  YAML::Node document;
  try {
    document = YAML::Load(config.text);
  } catch (const YAML::Exception& e) {
    return Response::jsonError(500, e.what());
  }
  JsonWriter json;
  json.beginObject();
  json.key("source").value(config.source);
  json.key("config");
  if (auto status = writeConfigJson(document, json); !status.ok()) {
    return Response::jsonError(500, std::string(status.message()));
  }
  json.endObject();
  return Response::json(200, json.take());
}

}  // namespace

void addConfigDumpEndpoint(EndpointTable& table, const AdminContext& context) {
  table.add({"GET", "/config_dump", false,
             "the config this server runs, as JSON (values of token, password, secret and key fields redacted)",
             [&context](const Request&) { return configDump(*context.config); }});
}

}  // namespace interpose::admin
