#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace interpose::network {

// Hosts whose clients recently refused our minted certificate (certificate pinning). Shared
// by all workers; filter chains can send the next connection to such a host through
// untouched (match: { interception_rejected: true }). Bounded: past the cap, the oldest
// half is dropped.
class RejectionMemory {
 public:
  static RejectionMemory& get();
  void remember(std::string_view host, std::chrono::milliseconds for_how_long);
  bool contains(std::string_view host);
  void clear();

 private:
  static constexpr size_t kMaxHosts = 100000;
  std::mutex mutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> until_;
};

}  // namespace interpose::network
