#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "source/admin/json_writer.h"

namespace interpose::admin {

// Whether a config key names a secret whose value /config_dump must not show: token,
// password, secret, key, authorization and proxy-authorization, and names ending in _key,
// _token, _password, _secret (or the same with '-', as header names are spelled, e.g.
// x-api-key). Case-insensitive.
bool isSecretKey(std::string_view key);

// The YAML document as JSON, for /config_dump. Values under secret keys (isSecretKey),
// whatever their shape, become "[redacted]". Plain scalars that are null, true/false or JSON
// numbers in YAML 1.2's core schema become those; every other scalar (and every quoted one)
// is a string. Fails past `max_bytes` (aliases can make a small file expand without bound).
absl::StatusOr<std::string> configToJson(const YAML::Node& document, size_t max_bytes = 16 * 1024 * 1024);
// The same, written as the next value of `json` (after a key(), say). After an error `json`
// holds a partial document: throw it away.
absl::Status writeConfigJson(const YAML::Node& document, JsonWriter& json, size_t max_bytes = 16 * 1024 * 1024);

}  // namespace interpose::admin
