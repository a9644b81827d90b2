#include "source/network/rejection_memory.h"

#include <algorithm>
#include <mutex>
#include <tuple>
#include <vector>

#include "api/interpose/strings.h"

namespace interpose::network {

std::shared_ptr<RejectionMemory> RejectionMemory::shared(FactoryContext& context) {
  return context.sharedState<RejectionMemory>(std::string(kStateKey),
                                              [] { return std::make_shared<RejectionMemory>(); });
}

std::shared_ptr<RejectionMemory> RejectionMemory::in(const StateStore& store) {
  auto it = store.find(kStateKey);
  if (it == store.end() || !it->second) return nullptr;
  return std::static_pointer_cast<RejectionMemory>(it->second);
}

std::string RejectionMemory::key(std::string_view host, uint16_t port) {
  return str::cat(str::toLower(host), ":", port);
}

void RejectionMemory::remember(std::string_view host, uint16_t port, std::chrono::milliseconds for_how_long,
                               std::string_view reason) {
  auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  if (entries_.size() >= kMaxHosts) {
    std::erase_if(entries_, [&](const auto& kv) { return kv.second.until <= now; });  // expired first
  }
  if (entries_.size() >= kMaxHosts) {
    std::vector<std::chrono::steady_clock::time_point> times;
    for (const auto& [k, entry] : entries_) times.push_back(entry.until);
    auto middle = times.begin() + times.size() / 2;
    std::nth_element(times.begin(), middle, times.end());
    auto cutoff = *middle;
    std::erase_if(entries_, [&](const auto& kv) { return kv.second.until <= cutoff; });
  }
  Entry& entry = entries_[key(host, port)];
  entry.host = str::toLower(host);
  entry.port = port;
  entry.learned_at = std::chrono::system_clock::now();
  entry.until = now + for_how_long;
  entry.reason = std::string(reason);
  size_.store(entries_.size(), std::memory_order_release);
}

bool RejectionMemory::contains(std::string_view host, uint16_t port) const {
  if (host.empty() || size_.load(std::memory_order_acquire) == 0) return false;
  std::string wanted = key(host, port);
  std::shared_lock lock(mutex_);
  auto it = entries_.find(wanted);
  // An expired entry stays until remember() needs room: reads never write.
  return it != entries_.end() && it->second.until > std::chrono::steady_clock::now();
}

std::vector<RejectionMemory::Entry> RejectionMemory::entries() const {
  std::vector<Entry> out;
  auto now = std::chrono::steady_clock::now();
  {
    std::shared_lock lock(mutex_);
    for (const auto& [k, entry] : entries_) {
      if (entry.until > now) out.push_back(entry);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.host, a.port) < std::tie(b.host, b.port); });
  return out;
}

size_t RejectionMemory::forget(std::string_view host, std::optional<uint16_t> port, std::vector<Entry>* removed) {
  const std::string wanted = str::toLower(host);
  const auto now = std::chrono::steady_clock::now();
  size_t in_force = 0;
  std::unique_lock lock(mutex_);
  std::erase_if(entries_, [&](const auto& kv) {
    const Entry& entry = kv.second;
    if (entry.host != wanted || (port && entry.port != *port)) return false;
    if (entry.until > now) {
      ++in_force;
      if (removed) removed->push_back(entry);
    }
    return true;
  });
  size_.store(entries_.size(), std::memory_order_release);
  return in_force;
}

size_t RejectionMemory::clear(std::vector<Entry>* removed) {
  const auto now = std::chrono::steady_clock::now();
  size_t in_force = 0;
  std::unique_lock lock(mutex_);
  for (const auto& [k, entry] : entries_) {
    if (entry.until <= now) continue;
    ++in_force;
    if (removed) removed->push_back(entry);
  }
  entries_.clear();
  size_.store(0, std::memory_order_release);
  return in_force;
}

}  // namespace interpose::network
