#include "source/http/tls_session_cache.h"

#include <ctime>

namespace interpose::http {
namespace {

bool expired(const SSL_SESSION* session, uint64_t now) {
  return SSL_SESSION_get_time(session) + SSL_SESSION_get_timeout(session) <= now;
}

}  // namespace

bssl::UniquePtr<SSL_SESSION> TlsSessionCache::take(const std::string& origin) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(origin);
  if (it == index_.end()) return nullptr;
  auto& sessions = it->second->sessions;
  const uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  while (!sessions.empty() && expired(sessions.back().get(), now)) sessions.pop_back();
  if (sessions.empty()) {
    erase(it);
    return nullptr;
  }
  if (SSL_SESSION_should_be_single_use(sessions.back().get())) {
    bssl::UniquePtr<SSL_SESSION> session = std::move(sessions.back());
    sessions.pop_back();
    if (sessions.empty()) {
      erase(it);
    } else {
      lru_.splice(lru_.begin(), lru_, it->second);
    }
    return session;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  SSL_SESSION_up_ref(sessions.back().get());
  return bssl::UniquePtr<SSL_SESSION>(sessions.back().get());
}

void TlsSessionCache::add(const std::string& origin, bssl::UniquePtr<SSL_SESSION> session) {
  if (max_origins_ == 0 || !session || !SSL_SESSION_is_resumable(session.get())) return;
  std::lock_guard lock(mutex_);
  auto it = index_.find(origin);
  if (it == index_.end()) {
    if (index_.size() >= max_origins_) {
      index_.erase(lru_.back().origin);
      lru_.pop_back();
    }
    lru_.push_front(Entry{origin, {}});
    it = index_.emplace(origin, lru_.begin()).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  auto& sessions = it->second->sessions;
  // A reusable (TLS 1.2) session replaces the others: one is all a client needs.
  if (!SSL_SESSION_should_be_single_use(session.get())) sessions.clear();
  sessions.push_back(std::move(session));
  while (sessions.size() > kSessionsPerOrigin) sessions.pop_front();
}

void TlsSessionCache::forget(const std::string& origin) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(origin);
  if (it != index_.end()) erase(it);
}

void TlsSessionCache::erase(Index::iterator it) {
  lru_.erase(it->second);
  index_.erase(it);
}

size_t TlsSessionCache::origins() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}

size_t TlsSessionCache::sessions(const std::string& origin) const {
  std::lock_guard lock(mutex_);
  auto it = index_.find(origin);
  return it == index_.end() ? 0 : it->second->sessions.size();
}

}  // namespace interpose::http
