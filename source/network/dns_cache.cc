#include "source/network/dns_cache.h"

#include "api/interpose/strings.h"

namespace interpose::network {
namespace {
constexpr size_t kMaxEntries = 10000;
}

DnsCache::DnsCache(asio::io_context& io, std::chrono::milliseconds ttl, std::chrono::milliseconds negative_ttl)
    : io_(io), ttl_(ttl), negative_ttl_(negative_ttl), resolver_(io) {}

DnsCache::~DnsCache() {
  *alive_ = false;
  resolver_.cancel();
}

DnsCache::Result DnsCache::makeResult(const Entry& entry, uint16_t port) {
  Result result;
  result.error = entry.error;
  for (const auto& address : entry.addresses) result.endpoints.emplace_back(address, port);
  return result;
}

void DnsCache::resolve(const std::string& host, uint16_t port, Callback callback) {
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    callback(Result{{tcp::endpoint(literal, port)}, ""});
    return;
  }
  auto now = std::chrono::steady_clock::now();
  auto it = entries_.find(host);
  if (it != entries_.end() && !it->second.pending && it->second.expiry > now) {
    callback(makeResult(it->second, port));
    return;
  }
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxEntries) {
      // Bounded memory: drop expired entries, or everything idle if none expired.
      std::erase_if(entries_, [&](const auto& kv) { return !kv.second.pending && kv.second.expiry <= now; });
      if (entries_.size() >= kMaxEntries) std::erase_if(entries_, [](const auto& kv) { return !kv.second.pending; });
    }
    it = entries_.emplace(host, Entry{}).first;
  }
  Entry& entry = it->second;
  entry.waiters.emplace_back(port, std::move(callback));
  if (entry.pending) return;
  entry.pending = true;
  resolver_.async_resolve(
      host, "", [this, alive = alive_, host](boost::system::error_code ec, tcp::resolver::results_type results) {
        if (!*alive) return;
        auto it = entries_.find(host);
        if (it == entries_.end()) return;
        Entry& entry = it->second;
        entry.pending = false;
        entry.addresses.clear();
        entry.error.clear();
        if (ec) {
          entry.error = str::cat("DNS resolution of '", host, "' failed: ", ec.message());
          entry.expiry = std::chrono::steady_clock::now() + negative_ttl_;
        } else {
          for (const auto& r : results) entry.addresses.push_back(r.endpoint().address());
          entry.expiry = std::chrono::steady_clock::now() + ttl_;
          if (entry.addresses.empty()) entry.error = str::cat("DNS resolution of '", host, "' returned no address");
        }
        auto waiters = std::move(entry.waiters);
        entry.waiters.clear();
        Entry snapshot = entry;
        for (auto& [port, cb] : waiters) cb(makeResult(snapshot, port));
      });
}

}  // namespace interpose::network
