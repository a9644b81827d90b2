#include "source/tls/ca_provider.h"

#include <algorithm>
#include <cstdio>

#include "api/interpose/strings.h"
#include "source/tls/ca_files.h"
#include "source/tls/ca_generator.h"
#include "source/tls/host_name.h"

namespace interpose::tls {
namespace {

using std::chrono::system_clock;

int64_t toUnix(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string configPath(const ConfigNode& node) {
  std::string path = expandHome(node.str());
  if (path.empty()) node.fail("expected a file path");
  return path;
}

// Creates and writes a CA when neither file exists. Losing a race with another process that
// generated it at the same moment is fine: the caller then loads theirs.
absl::Status generateAndWrite(const CaPaths& paths, int64_t now) {
  auto generated = generateCa(now);
  if (!generated.ok()) return generated.status();
  auto status = writeCa(paths, generated->cert.get(), generated->key.get(), /*replace=*/false);
  if (absl::IsAlreadyExists(status)) return absl::OkStatus();
  if (!status.ok()) return status;
  std::fprintf(stderr, "interpose: generated a new certificate authority.\n%s", trustInstructions(paths).c_str());
  return absl::OkStatus();
}

}  // namespace

CaProvider::CaProvider(std::string name, CaProviderOptions options)
    : name_(std::move(name)), options_(std::move(options)), cache_(options_.cache_capacity, options_.clock) {}

absl::StatusOr<std::shared_ptr<CaProvider>> CaProvider::create(std::string name, const ConfigNode& ca,
                                                               bool validate_only) {
  ca.expectMap({"cert", "key", "generate_if_missing", "per_host_keys", "leaf_validity", "cache"});
  CaProviderOptions options;
  if (ca.has("cert")) options.cert_path = configPath(ca.child("cert"));
  if (ca.has("key")) options.key_path = configPath(ca.child("key"));
  if (ca.has("cert") != ca.has("key")) {
    ca.fail("set both 'cert' and 'key', or neither (then ca.pem and ca.key in the default directory are used)");
  }
  options.generate_if_missing = ca.boolean("generate_if_missing", false);
  options.per_host_keys = ca.boolean("per_host_keys", false);

  auto validity = ca.duration("leaf_validity", std::chrono::seconds(kMaxLeafValiditySeconds));
  if (validity < std::chrono::seconds(1) || validity > std::chrono::seconds(kMaxLeafValiditySeconds)) {
    ca.child("leaf_validity").fail("expected a duration from 1s to 397d (clients reject longer-lived certificates)");
  }
  options.leaf_validity = std::chrono::duration_cast<std::chrono::seconds>(validity);

  ConfigNode cache = ca.child("cache");
  cache.expectMap({"capacity", "ttl"});
  options.cache_capacity = static_cast<size_t>(cache.integer("capacity", 10000, 1, 10'000'000));
  options.cache_ttl = cache.duration("ttl", std::chrono::hours(24));
  if (options.cache_ttl <= std::chrono::milliseconds::zero()) cache.child("ttl").fail("expected a positive duration");
  return create(std::move(name), std::move(options), validate_only);
}

absl::StatusOr<std::shared_ptr<CaProvider>> CaProvider::create(std::string name, CaProviderOptions options,
                                                               bool validate_only) {
  CaPaths paths{options.cert_path, options.key_path};
  if (paths.cert.empty() || paths.key.empty()) {
    std::string dir = defaultCaDir();
    if (dir.empty()) {
      // Validation alone need not know where the CA will live (CI, containers without HOME).
      if (validate_only && options.generate_if_missing) {
        return std::shared_ptr<CaProvider>(new CaProvider(std::move(name), std::move(options)));
      }
      return absl::FailedPreconditionError(
          str::cat("cert provider '", name, "': HOME and XDG_DATA_HOME are unset, so set ca.cert and ca.key"));
    }
    paths = caPathsIn(dir);
  }
  const int64_t now = toUnix(options.clock());
  const bool cert_exists = pathExists(paths.cert);
  const bool key_exists = pathExists(paths.key);
  if (!cert_exists && !key_exists) {
    if (options.generate_if_missing) {
      if (validate_only) return std::shared_ptr<CaProvider>(new CaProvider(std::move(name), std::move(options)));
      if (auto status = generateAndWrite(paths, now); !status.ok()) return status;
    } else {
      return absl::NotFoundError(str::cat(paths.cert, ": no such file (create a CA with `interpose ca init`, or set ",
                                          "generate_if_missing: true)"));
    }
  } else if (cert_exists != key_exists) {
    const std::string& missing = cert_exists ? paths.key : paths.cert;
    const std::string& present = cert_exists ? paths.cert : paths.key;
    return absl::NotFoundError(str::cat(missing, ": no such file, but ", present,
                                        " exists; restore it, or remove both to start with a new CA"));
  }
  auto ca = loadCa(paths, now);
  if (!ca.ok()) return ca.status();
  auto provider = create(std::move(name), std::move(*ca), std::move(options));
  if (provider.ok()) (*provider)->paths_ = std::move(paths);
  return provider;
}

absl::StatusOr<std::shared_ptr<CaProvider>> CaProvider::create(std::string name,
                                                               std::shared_ptr<const CertificateAuthority> ca,
                                                               CaProviderOptions options) {
  LeafOptions leaf;
  leaf.per_host_keys = options.per_host_keys;
  leaf.validity_seconds = options.leaf_validity.count();
  auto minter = LeafMinter::create(ca, leaf);
  if (!minter.ok()) return minter.status();
  std::shared_ptr<CaProvider> provider(new CaProvider(std::move(name), std::move(options)));
  provider->ca_ = std::move(ca);
  provider->minter_ = std::move(*minter);
  return provider;
}

CertCache::MintFn CaProvider::mintFor(CertHost host) {
  return [this, host = std::move(host)]() -> absl::StatusOr<CacheValue> {
    const system_clock::time_point now = options_.clock();
    auto leaf = minter_->mint(host, toUnix(now));
    if (!leaf.ok()) return leaf.status();
    minted_.fetch_add(1, std::memory_order_relaxed);
    const auto expires = std::min(now + options_.cache_ttl, system_clock::from_time_t(leaf->not_after));
    return CacheValue{std::move(leaf->certificate), expires};
  };
}

absl::Status CaProvider::checkCanMint() const {
  if (minter_) return absl::OkStatus();
  return absl::FailedPreconditionError(
      str::cat("cert provider '", name_, "' was created to validate the config only; its CA does not exist yet"));
}

absl::StatusOr<std::shared_ptr<const ServerCertificate>> CaProvider::certificateFor(std::string_view host) {
  if (auto status = checkCanMint(); !status.ok()) return status;
  auto parsed = parseCertHost(host);
  if (!parsed.ok()) return parsed.status();
  std::string key = parsed->name;
  return cache_.getOrMint(key, mintFor(std::move(*parsed)));
}

std::optional<CertProvider::Result> CaProvider::certificateForAsync(std::string_view host,
                                                                    std::function<void(Result)> done) {
  if (auto status = checkCanMint(); !status.ok()) return status;
  auto parsed = parseCertHost(host);
  if (!parsed.ok()) return parsed.status();
  std::string key = parsed->name;
  return cache_.getOrMintAsync(key, mintFor(std::move(*parsed)), std::move(done), [this](std::function<void()> job) {
    std::call_once(mint_thread_started_, [this] { mint_thread_ = std::make_unique<WorkQueue>(); });
    mint_thread_->post(std::move(job));
  });
}

}  // namespace interpose::tls
