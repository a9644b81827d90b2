// Leaf minting and cache lookup throughput of the `ca` cert provider, on one thread.
//
//   bazel run //tools/bench:mint_bench -- [HOSTS]
//
// Mints HOSTS distinct hosts (default 20000) with the default options (one shared leaf key,
// P-256 CA), then looks them all up again from the cache; then smaller runs with per-host
// keys and with an RSA-2048 CA for comparison.

#include <openssl/bn.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "source/tls/ca_generator.h"
#include "source/tls/ca_provider.h"

namespace {

using interpose::tls::CaProvider;
using interpose::tls::CaProviderOptions;
using interpose::tls::CertificateAuthority;
using Seconds = std::chrono::duration<double>;

int64_t nowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::shared_ptr<const CertificateAuthority> ecAuthority() {
  auto generated = interpose::tls::generateCa(nowUnix());
  if (!generated.ok()) std::abort();
  auto ca = CertificateAuthority::create(std::move(generated->cert), std::move(generated->key), "ca.pem", "ca.key",
                                         nowUnix());
  if (!ca.ok()) std::abort();
  return *ca;
}

// The generated CA's certificate re-signed around an RSA-2048 key: same extensions, other key.
std::shared_ptr<const CertificateAuthority> rsaAuthority() {
  auto generated = interpose::tls::generateCa(nowUnix());
  bssl::UniquePtr<RSA> rsa(RSA_new());
  bssl::UniquePtr<BIGNUM> e(BN_new());
  BN_set_word(e.get(), RSA_F4);
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!generated.ok() || !RSA_generate_key_ex(rsa.get(), 2048, e.get(), nullptr) ||
      !EVP_PKEY_assign_RSA(key.get(), rsa.release())) {
    std::abort();
  }
  X509* cert = generated->cert.get();
  X509_delete_ext(cert, X509_get_ext_by_NID(cert, NID_subject_key_identifier, -1));
  X509_set_pubkey(cert, key.get());
  X509_sign(cert, key.get(), EVP_sha256());
  auto ca = CertificateAuthority::create(std::move(generated->cert), std::move(key), "rsa.pem", "rsa.key", nowUnix());
  if (!ca.ok()) std::abort();
  return *ca;
}

std::vector<std::string> hosts(int n, const char* prefix) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(std::string(prefix) + std::to_string(i) + ".bench.example.com");
  return out;
}

// Mints every host once, then (optionally) looks every host up `lookup_rounds` times.
void run(const char* label, std::shared_ptr<const CertificateAuthority> ca, bool per_host_keys, int n,
         int lookup_rounds) {
  CaProviderOptions options;
  options.per_host_keys = per_host_keys;
  // Room to spare: the 16 shards fill unevenly, and a cyclic scan over an exactly full LRU
  // would miss on every lookup of an overflowing shard.
  options.cache_capacity = static_cast<size_t>(n) * 2;
  auto provider = CaProvider::create("bench", std::move(ca), options);
  if (!provider.ok()) std::abort();
  std::vector<std::string> names = hosts(n, "h");

  auto start = std::chrono::steady_clock::now();
  for (const auto& name : names) {
    if (!(*provider)->certificateFor(name).ok()) std::abort();
  }
  double mint_s = Seconds(std::chrono::steady_clock::now() - start).count();
  std::printf("%-34s %8d certificates in %6.3f s: %9.0f certificates/s (%.1f us each)\n", label, n, mint_s, n / mint_s,
              mint_s * 1e6 / n);
  if (lookup_rounds == 0) return;

  start = std::chrono::steady_clock::now();
  size_t found = 0;
  for (int round = 0; round < lookup_rounds; ++round) {
    for (const auto& name : names) found += (*provider)->certificateFor(name).ok();
  }
  double lookup_s = Seconds(std::chrono::steady_clock::now() - start).count();
  std::printf("%-34s %8zu lookups      in %6.3f s: %9.0f lookups/s (%.2f us each), %llu mints\n",
              "  cached lookups, 1 thread", found, lookup_s, found / lookup_s, lookup_s * 1e6 / found,
              static_cast<unsigned long long>((*provider)->mintedCount()));

  // The same from every core at once: the shards keep workers from serialising on one lock.
  unsigned threads = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  start = std::chrono::steady_clock::now();
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int round = 0; round < lookup_rounds; ++round) {
        for (size_t i = t; i < names.size() + t; ++i) (void)(*provider)->certificateFor(names[i % names.size()]);
      }
    });
  }
  for (auto& w : workers) w.join();
  double parallel_s = Seconds(std::chrono::steady_clock::now() - start).count();
  double total = static_cast<double>(threads) * lookup_rounds * names.size();
  std::printf("%-34s %8.0f lookups      in %6.3f s: %9.0f lookups/s on %u threads\n", "  cached lookups, all cores",
              total, parallel_s, total / parallel_s, threads);
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: mint_bench [HOSTS]\n");
    return 2;
  }
  auto ec = ecAuthority();
  run("P-256 CA, shared leaf key", ec, false, n, 10);
  run("P-256 CA, per-host leaf keys", ec, true, std::max(1, n / 4), 0);
  run("RSA-2048 CA, shared leaf key", rsaAuthority(), false, std::max(1, n / 10), 0);
  return 0;
}
