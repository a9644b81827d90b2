// `/certs` (the interception CAs and their caches) and `/ca`, `/ca.pem`, `/ca.der` (the CA
// certificate, for clients to trust: the same bytes `interpose ca export` writes).

#include <openssl/digest.h>
#include <openssl/x509.h>

#include "api/interpose/strings.h"
#include "source/admin/builtin_endpoints.h"
#include "source/admin/json_writer.h"
#include "source/admin/time_text.h"
#include "source/tls/ca_provider.h"
#include "source/tls/openssl_util.h"

namespace interpose::admin {
namespace {

std::string sha256Fingerprint(X509* cert) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!X509_digest(cert, EVP_sha256(), digest, &len)) return "";
  return tls::hex(digest, len, ':');  // as `interpose ca show` prints it
}

const tls::CaProvider* caProviderOf(const std::shared_ptr<CertProvider>& provider) {
  return dynamic_cast<const tls::CaProvider*>(provider.get());
}

// The CA whose certificate /ca serves: the first provider's (the usual config has one).
std::shared_ptr<const tls::CertificateAuthority> firstAuthority(const config::ServerConfig& config) {
  for (const auto& provider : config.cert_providers) {
    if (const tls::CaProvider* ca = caProviderOf(provider); ca && ca->authority()) return ca->authority();
  }
  return nullptr;
}

Response certs(const config::ServerConfig& config) {
  JsonWriter json;
  json.beginObject().key("cert_providers").beginArray();
  for (const auto& provider : config.cert_providers) {
    json.beginObject();
    json.key("name").value(provider->name());
    const tls::CaProvider* ca = caProviderOf(provider);
    if (ca && ca->authority()) {
      X509* cert = ca->authority()->cert();
      json.key("ca").beginObject();
      json.key("subject").value(tls::nameToString(X509_get_subject_name(cert)));
      json.key("sha256").value(sha256Fingerprint(cert));
      json.key("not_before").value(rfc3339(ca->authority()->notBefore()));
      json.key("not_after").value(rfc3339(ca->authority()->notAfter()));
      json.key("cert_path").value(ca->paths().cert);
      json.key("key_path").value(ca->paths().key);
      json.endObject();
      json.key("minted").value(ca->mintedCount());
      json.key("cache_size").value(static_cast<uint64_t>(ca->cacheSize()));
      json.key("cache_capacity").value(static_cast<uint64_t>(ca->cacheCapacity()));
    }
    json.endObject();
  }
  json.endArray().endObject();
  return Response::json(200, json.take());
}

Response noCa() {
  return Response::text(404, "no cert provider with a CA in this config (cert_providers: [ { ca: ... } ])\n");
}

Response caFile(const config::ServerConfig& config, bool der) {
  auto authority = firstAuthority(config);
  if (!authority) return noCa();
  std::string data = der ? tls::toDer(authority->cert()) : tls::toPem(authority->cert());
  if (data.empty()) return Response::text(500, "cannot encode the CA certificate\n");
  Response r;
  r.content_type = der ? "application/x-x509-ca-cert" : "application/x-pem-file";
  r.body = std::move(data);
  r.headers.emplace_back("content-disposition", der ? "attachment; filename=\"interpose-ca.der\""
                                                    : "attachment; filename=\"interpose-ca.pem\"");
  return r;
}

Response caPage(const config::ServerConfig& config) {
  auto authority = firstAuthority(config);
  if (!authority) return noCa();
  X509* cert = authority->cert();
  // Names come from our own CA certificate; still, nothing in it is trusted to be HTML.
  std::string subject;
  for (char c : tls::nameToString(X509_get_subject_name(cert))) {
    if (c == '<' || c == '>' || c == '&' || c == '"') {
      subject += str::cat("&#", static_cast<int>(c), ";");
    } else {
      subject.push_back(c);
    }
  }
  return Response::html(str::cat(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Interpose CA</title></head>\n"
      "<body style=\"font-family:sans-serif;margin:2em\"><h1>Interpose CA</h1>\n<p>",
      subject, "<br>SHA-256 <code>", sha256Fingerprint(cert), "</code><br>valid until ", rfc3339(authority->notAfter()),
      "</p>\n<p><a href=\"/ca.pem\">ca.pem</a> (PEM) &middot; <a href=\"/ca.der\">ca.der</a> (DER)</p>\n"
      "<p>Trust it in the clients whose HTTPS traffic you want to see; <code>interpose ca show</code> prints the "
      "same.</p>\n"
      "</body></html>\n"));
}

}  // namespace

void addCertEndpoints(EndpointTable& table, const AdminContext& context) {
  const config::ServerConfig& config = *context.config;
  table.add({"GET", "/certs", false,
             "each cert provider's CA (subject, SHA-256, validity, files), certificates minted and cached (JSON)",
             [&config](const Request&) { return certs(config); }});
  table.add({"GET", "/ca", false, "the interception CA: fingerprint and download links",
             [&config](const Request&) { return caPage(config); }});
  table.add({"GET", "/ca.pem", false, "the CA certificate in PEM (as `interpose ca export`)",
             [&config](const Request&) { return caFile(config, false); }});
  table.add({"GET", "/ca.der", false, "the CA certificate in DER (as `interpose ca export --format der`)",
             [&config](const Request&) { return caFile(config, true); }});
}

}  // namespace interpose::admin
