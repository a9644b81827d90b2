#pragma once

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "source/admin/admin_context.h"
#include "source/admin/admin_server.h"
#include "source/config/server_config.h"
#include "source/server/worker_impl.h"

namespace interpose::server {

// Owns the workers and the admin server. run() blocks until SIGINT, SIGTERM or the admin's
// /quitquitquit, then drains: listeners close, in-flight exchanges finish (up to the
// config's drain_timeout), and it returns.
class Server {
 public:
  Server(std::shared_ptr<const config::ServerConfig> config, uint32_t concurrency);
  ~Server();
  absl::Status run();

 private:
  std::shared_ptr<const config::ServerConfig> config_;
  uint32_t concurrency_;
  std::vector<std::unique_ptr<WorkerImpl>> workers_;
  // Declared after the workers: it stops (and its thread joins) before they are destroyed.
  admin::AdminContext admin_context_;
  std::unique_ptr<admin::AdminServer> admin_;
};

}  // namespace interpose::server
