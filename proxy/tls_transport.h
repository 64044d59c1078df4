// TlsTransportFactory plugs meshsim::tls (proxy/tls/) into the engine's
// TransportSocket seam: it turns the TLS contexts of the proxy config
// (DownstreamTlsContext of a filter chain, UpstreamTlsContext of a cluster)
// into OpenSSL contexts with the secrets the sidecar currently holds, creates
// one TlsSession per connection, and runs the tls_inspector's ClientHello
// check. SecretStore is the sidecar's SDS cache: the agent (sim/) writes the
// workload certificate ("default") and the mesh roots ("ROOTCA") into it, plus
// any user certificates that DestinationRules or Sidecars name by file.
//
// Contexts are cached per (TLS context, secrets version): a certificate
// rotation creates new contexts, and their empty session caches, exactly as an
// SDS update does in Envoy. Client contexts are per cluster, so resumption is
// per cluster transport socket, as Envoy does it.
//
// Requires a tls::EnvironmentScope on the calling thread (randomness, virtual
// time, key log) — the simulator installs one for the run.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/tls/certificates.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_types.h"
#include "proxy/transport.h"

namespace meshsim::proxy {

class SecretStore {
 public:
  // The workload identity (SDS "default"): certificate chain + key.
  void set_identity(tls::CertifiedKey identity);
  // The trust bundle (SDS "ROOTCA").
  void set_roots(std::vector<tls::Certificate> roots);
  // A named secret for file-based TLS ("file-cert:<cert>~<key>", "file-root:<ca>").
  void set_certified_key(const std::string& name, tls::CertifiedKey key);
  void set_trusted(const std::string& name, std::vector<tls::Certificate> roots);

  const std::optional<tls::CertifiedKey>& identity() const { return identity_; }
  const std::vector<tls::Certificate>& roots() const { return roots_; }
  const tls::CertifiedKey* certified_key(const std::string& name) const;
  const std::vector<tls::Certificate>* trusted(const std::string& name) const;
  // Every named secret, by name (for `proxy-config secret`).
  const std::map<std::string, tls::CertifiedKey>& certified_keys() const { return keys_; }
  const std::map<std::string, std::vector<tls::Certificate>>& trusted_sets() const { return trusted_; }
  // Bumped by every change; TLS contexts built from older versions are replaced.
  uint64_t version() const { return version_; }

 private:
  std::optional<tls::CertifiedKey> identity_;
  std::vector<tls::Certificate> roots_;
  std::map<std::string, tls::CertifiedKey> keys_;
  std::map<std::string, std::vector<tls::Certificate>> trusted_;
  uint64_t version_ = 0;
};

class TlsTransportFactory final : public TransportFactory {
 public:
  explicit TlsTransportFactory(const SecretStore& secrets);
  ~TlsTransportFactory() override;

  std::unique_ptr<TransportSocket> make_server(const DownstreamTlsContext& ctx) override;
  std::unique_ptr<TransportSocket> make_client(const UpstreamTlsContext& ctx, const std::vector<std::string>& alpn_override,
                                               std::string_view session_key) override;
  ClientHelloInfo inspect_client_hello(std::string_view first_bytes) override;

  // Contexts created so far (each costs an OpenSSL SSL_CTX).
  size_t contexts_created() const { return contexts_created_; }

 private:
  // The first URI SAN of `k`'s certificate ("" when none), cached.
  const std::string& local_uri_of(const tls::CertifiedKey* k);
  // The cached context for `key`, built from `config` on first use.
  std::shared_ptr<tls::TlsContext> context_for(const std::string& key, tls::TlsContextConfig config);
  const SecretStore& secrets_;
  uint64_t built_for_version_ = 0;
  std::map<std::string, std::shared_ptr<tls::TlsContext>> contexts_;
  size_t contexts_created_ = 0;
  tls::Certificate uri_cert_;
  std::string uri_;
};

// Envoy's text for a TLS failure as it appears in "transport failure reason"
// (BoringSSL's packed error code and name), e.g.
// "268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED".
std::string envoy_tls_error(const tls::TlsFailure& f);

}  // namespace meshsim::proxy
