// Certificates and keys for the mesh and for user-supplied TLS: a self-signed
// mesh root CA like Istio's ("O=cluster.local", 10 years), workload
// certificates carrying a SPIFFE URI SAN (spiffe://<td>/ns/<ns>/sa/<sa>), and
// ordinary server/client certificates with DNS SANs from separate, non-mesh CAs
// (DestinationRule SIMPLE/MUTUAL, apps that speak HTTPS themselves). PEM in and
// out, and inspection (subject, issuer, SANs, serial, validity) for
// `meshsim proxy-config secret`.
//
// Time: validity windows are Durations relative to the simulation epoch
// (kEpochUnixSeconds, 2026-01-01T00:00:00Z); nothing reads the wall clock.
// Determinism: keys, serial numbers and ECDSA signatures draw from the current
// EnvironmentScope's RandomSource, so a run is reproducible from its seed.
// Keys are EC P-256 (Istio's default is RSA-2048; P-256 is what Istio uses with
// ECC_SIGNATURE_ALGORITHM=ECDSA and costs a fraction of RSA to generate and use).
// A CertificateAuthority caches one key per key_id, so renewing a workload's
// certificate does not pay key generation again.
//
// Handles are immutable and cheap to copy (shared). Not thread-safe to mutate
// a CertificateAuthority from several threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/base/result.h"

namespace meshsim::tls {

// "spiffe://<trust_domain>/ns/<ns>/sa/<sa>"
std::string spiffe_id(std::string_view trust_domain, std::string_view ns, std::string_view sa);

class PrivateKey {
 public:
  struct Rep;  // opaque; defined in proxy/tls/openssl_internal.h
  PrivateKey() = default;
  bool empty() const { return rep_ == nullptr; }

  // A fresh EC P-256 key from the current RandomSource.
  static PrivateKey generate_p256();
  // PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
  std::string to_pem() const;
  // Any PEM private key OpenSSL reads (PKCS#8, SEC1 EC, PKCS#1 RSA).
  static Result<PrivateKey> from_pem(std::string_view pem);

  const Rep* rep() const { return rep_.get(); }
  explicit PrivateKey(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}

 private:
  std::shared_ptr<const Rep> rep_;
};

struct CertificateInfo {
  std::string subject;  // RFC 2253 ("O=cluster.local"); empty for SAN-only workload certs
  std::string issuer;
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::string serial_hex;  // lower-case hex, no leading zeros
  Duration not_before;     // relative to the epoch
  Duration not_after;
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
  bool is_ca = false;
};

class Certificate {
 public:
  struct Rep;  // opaque; defined in proxy/tls/openssl_internal.h
  Certificate() = default;
  bool empty() const { return rep_ == nullptr; }

  CertificateInfo info() const;
  std::string to_pem() const;
  // Exactly one certificate; errors name what is wrong.
  static Result<Certificate> from_pem(std::string_view pem);
  // All certificates of a PEM bundle, in order (at least one).
  static Result<std::vector<Certificate>> chain_from_pem(std::string_view pem);
  // DER encoding (used for hashing and equality).
  std::string to_der() const;
  bool operator==(const Certificate& o) const { return to_der() == o.to_der(); }

  const Rep* rep() const { return rep_.get(); }
  explicit Certificate(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}

 private:
  std::shared_ptr<const Rep> rep_;
};

// What a TLS endpoint presents: its certificate, the certificates sent after it
// (intermediates; Istio workloads also send the root), and its key.
struct CertifiedKey {
  Certificate certificate;
  std::vector<Certificate> chain;
  PrivateKey key;

  // The whole chain as PEM (leaf first), as `proxy-config secret` shows it.
  std::string chain_pem() const;
};

struct CaOptions {
  std::string organization = "cluster.local";  // Istio's self-signed root: O=<trust domain>
  std::string common_name;                     // empty: no CN (as Istio)
  Duration not_before = Duration::zero();
  Duration not_after = Duration::hours(24 * 3650);  // 10 years (Istio's self-signed root TTL)
};

struct LeafOptions {
  std::string common_name;              // empty: subject-less (SAN marked critical)
  std::vector<std::string> uri_sans;    // e.g. a SPIFFE ID
  std::vector<std::string> dns_sans;
  Duration not_before;
  Duration not_after;
  bool server_auth = true;              // extendedKeyUsage serverAuth
  bool client_auth = true;              // extendedKeyUsage clientAuth
  // Key cache slot: the same key_id reuses the key generated the first time
  // (renewals); empty generates a new key every time.
  std::string key_id;
};

class CertificateAuthority {
 public:
  // A self-signed root (EC P-256, SHA-256, CA:TRUE, keyCertSign|cRLSign).
  static CertificateAuthority create_self_signed(const CaOptions& options = {});
  // An existing root or intermediate (certificate + its key), e.g. a plug-in
  // CA from a scenario file. `chain` are the certificates above it, if any.
  static Result<CertificateAuthority> from_pem(std::string_view cert_pem, std::string_view key_pem,
                                               std::string_view chain_pem = {});

  const Certificate& certificate() const { return certificate_; }
  const PrivateKey& key() const { return key_; }
  // Root of trust to give verifiers: the last certificate of the chain above
  // this CA, or the CA itself when it is self-signed.
  const Certificate& root() const { return chain_.empty() ? certificate_ : chain_.back(); }

  // A leaf signed by this CA. chain = [CA certificate if it is not the root,
  // then the CA's own chain] (intermediates only; see issue_workload for roots).
  CertifiedKey issue(const LeafOptions& options);

  // An Istio workload certificate: no subject, critical URI SAN
  // spiffe://<td>/ns/<ns>/sa/<sa>, digitalSignature|keyEncipherment,
  // serverAuth+clientAuth, validity [not_before, not_after). The chain holds
  // the CA path and the root, as istio-agent's certificate chain does
  // (security/pkg/nodeagent/cache: concatCerts of the CA's response). The key
  // is cached per SPIFFE ID.
  CertifiedKey issue_workload(std::string_view trust_domain, std::string_view ns,
                              std::string_view service_account, Duration not_before,
                              Duration not_after);

  // Number of keys generated so far (the key cache's misses).
  std::size_t keys_generated() const { return keys_generated_; }

 private:
  PrivateKey key_for(const std::string& key_id);

  Certificate certificate_;
  PrivateKey key_;
  std::vector<Certificate> chain_;
  std::map<std::string, PrivateKey> key_cache_;
  std::size_t keys_generated_ = 0;
};

}  // namespace meshsim::tls
