#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace interpose::http {

// TLS sessions the router can resume with origins, so a new upstream connection skips the
// origin's signature and our chain verification. Keyed by origin ("host:port": the name the
// certificate was checked against), and one cache per upstream_tls config, so a session is
// only ever offered under the trust settings it was verified with. Shared by all workers.
//
// TLS 1.3 sessions are used once (RFC 8446, appendix C.4: reuse lets observers link
// connections); origins send fresh tickets on every connection, and a few are kept per origin
// for connections opened in parallel. Bounded: the least recently used origins are dropped.
class TlsSessionCache {
 public:
  static constexpr size_t kSessionsPerOrigin = 4;

  explicit TlsSessionCache(size_t max_origins) : max_origins_(max_origins) {}

  // A session to offer to `origin`, newest first, or null. Single-use sessions leave the
  // cache; expired ones are dropped on the way.
  bssl::UniquePtr<SSL_SESSION> take(const std::string& origin);
  // Keeps a session the origin issued (a new ticket, or a TLS 1.2 session).
  void add(const std::string& origin, bssl::UniquePtr<SSL_SESSION> session);
  // Drops every session of `origin` (after a failed handshake: start over with a full one).
  void forget(const std::string& origin);

  size_t origins() const;
  size_t sessions(const std::string& origin) const;

 private:
  struct Entry {
    std::string origin;
    std::deque<bssl::UniquePtr<SSL_SESSION>> sessions;  // oldest first
  };

  using Index = std::unordered_map<std::string, std::list<Entry>::iterator>;
  void erase(Index::iterator it);  // an origin and its sessions; mutex_ held

  mutable std::mutex mutex_;
  const size_t max_origins_;
  std::list<Entry> lru_;  // most recently used first
  Index index_;
};

}  // namespace interpose::http
