#include "source/network/rejection_memory.h"

#include <algorithm>
#include <vector>

#include "api/interpose/strings.h"

namespace interpose::network {

RejectionMemory& RejectionMemory::get() {
  static RejectionMemory instance;
  return instance;
}

void RejectionMemory::remember(std::string_view host, std::chrono::milliseconds for_how_long) {
  auto until = std::chrono::steady_clock::now() + for_how_long;
  std::lock_guard lock(mutex_);
  if (until_.size() >= kMaxHosts) {
    std::vector<std::chrono::steady_clock::time_point> times;
    for (const auto& [h, t] : until_) times.push_back(t);
    auto middle = times.begin() + times.size() / 2;
    std::nth_element(times.begin(), middle, times.end());
    auto cutoff = *middle;
    std::erase_if(until_, [&](const auto& kv) { return kv.second <= cutoff; });
  }
  until_[str::toLower(host)] = until;
}

bool RejectionMemory::contains(std::string_view host) {
  if (host.empty()) return false;
  std::lock_guard lock(mutex_);
  auto it = until_.find(str::toLower(host));
  if (it == until_.end()) return false;
  if (it->second <= std::chrono::steady_clock::now()) {
    until_.erase(it);
    return false;
  }
  return true;
}

void RejectionMemory::clear() {
  std::lock_guard lock(mutex_);
  until_.clear();
}

}  // namespace interpose::network
