#include "source/network/rejection_memory.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "api/interpose/strings.h"

namespace interpose::network {

std::shared_ptr<RejectionMemory> RejectionMemory::shared(FactoryContext& context) {
  return context.sharedState<RejectionMemory>("interception_rejected_hosts",
                                              [] { return std::make_shared<RejectionMemory>(); });
}

std::string RejectionMemory::key(std::string_view host, uint16_t port) {
  return str::cat(str::toLower(host), ":", port);
}

void RejectionMemory::remember(std::string_view host, uint16_t port, std::chrono::milliseconds for_how_long) {
  auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  if (until_.size() >= kMaxHosts) {
    std::erase_if(until_, [&](const auto& kv) { return kv.second <= now; });  // expired first
  }
  if (until_.size() >= kMaxHosts) {
    std::vector<std::chrono::steady_clock::time_point> times;
    for (const auto& [h, t] : until_) times.push_back(t);
    auto middle = times.begin() + times.size() / 2;
    std::nth_element(times.begin(), middle, times.end());
    auto cutoff = *middle;
    std::erase_if(until_, [&](const auto& kv) { return kv.second <= cutoff; });
  }
  until_[key(host, port)] = now + for_how_long;
  size_.store(until_.size(), std::memory_order_release);
}

bool RejectionMemory::contains(std::string_view host, uint16_t port) const {
  if (host.empty() || size_.load(std::memory_order_acquire) == 0) return false;
  std::string wanted = key(host, port);
  std::shared_lock lock(mutex_);
  auto it = until_.find(wanted);
  // An expired entry stays until remember() needs room: reads never write.
  return it != until_.end() && it->second > std::chrono::steady_clock::now();
}

void RejectionMemory::clear() {
  std::unique_lock lock(mutex_);
  until_.clear();
  size_.store(0, std::memory_order_release);
}

}  // namespace interpose::network
