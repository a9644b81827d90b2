#include "source/admin/builtin_endpoints.h"

namespace interpose::admin {

void addBuiltinEndpoints(EndpointTable& table, const AdminContext& context) {
  addIndexEndpoint(table);
  addServerEndpoints(table, context);
  addConfigDumpEndpoint(table, context);
  addCertEndpoints(table, context);
  addPassthroughEndpoints(table, context);
}

}  // namespace interpose::admin
