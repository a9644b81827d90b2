#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace interpose::network {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Per-worker asynchronous DNS cache. getaddrinfo (through Asio's resolver, which runs it off
// the event loop) gives no TTL, so answers live for a configured time; failures are cached
// briefly too, so a storm of requests to a dead name costs one lookup. Concurrent lookups of
// one name share a single query. IP literals never touch the resolver.
class DnsCache {
 public:
  struct Result {
    std::vector<tcp::endpoint> endpoints;  // IPv6 and IPv4, in resolver order
    std::string error;                     // set when resolution failed
  };
  using Callback = std::function<void(const Result&)>;

  DnsCache(asio::io_context& io, std::chrono::milliseconds ttl,
           std::chrono::milliseconds negative_ttl = std::chrono::seconds(2));
  ~DnsCache();

  void resolve(const std::string& host, uint16_t port, Callback callback);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::vector<asio::ip::address> addresses;
    std::string error;
    std::chrono::steady_clock::time_point expiry;
    bool pending = false;
    std::vector<std::pair<uint16_t, Callback>> waiters;
  };
  static Result makeResult(const Entry& entry, uint16_t port);

  asio::io_context& io_;
  std::chrono::milliseconds ttl_;
  std::chrono::milliseconds negative_ttl_;
  tcp::resolver resolver_;
  std::map<std::string, Entry> entries_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace interpose::network
