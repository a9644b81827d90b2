#pragma once

#include "source/admin/admin_context.h"
#include "source/admin/endpoint.h"

namespace interpose::admin {

// Every endpoint the admin server has today. Each group lives in its own file; a new one
// (stats, flows, reload) adds its file and one line to addBuiltinEndpoints.
void addBuiltinEndpoints(EndpointTable& table, const AdminContext& context);

// `/`: an HTML page listing what `table` holds when it is asked (so it lists later additions).
void addIndexEndpoint(EndpointTable& table);
// `/ready`, `/server_info`, `/logging`, `/quitquitquit`.
void addServerEndpoints(EndpointTable& table, const AdminContext& context);
// `/config_dump`.
void addConfigDumpEndpoint(EndpointTable& table, const AdminContext& context);
// `/certs`, `/ca`, `/ca.pem`, `/ca.der`.
void addCertEndpoints(EndpointTable& table, const AdminContext& context);
// `/passthrough` (GET, DELETE) and `/passthrough/HOST[:PORT]` (DELETE).
void addPassthroughEndpoints(EndpointTable& table, const AdminContext& context);

}  // namespace interpose::admin
