// TlsContext is the shared, immutable part of a TLS endpoint, like Envoy's
// ClientContextImpl / ServerContextImpl built from an Upstream/DownstreamTlsContext:
// role, certificate chain and key, trusted roots, ALPN, SNI, SAN verification,
// version bounds. One context serves many TlsSessions (one per connection).
//
// Behaviour copied from Envoy (sources in docs/model/tls.md):
//  * Server ALPN: Envoy's alpnSelectCallback — the first protocol in the
//    server's list that the client also offers; no overlap => no ALPN in the
//    ServerHello and the handshake continues (SSL_TLSEXT_ERR_NOACK). An empty
//    server list ignores the client's ALPN.
//  * Client SAN check: after the chain verifies, the peer leaf must carry one of
//    `match_subject_alt_names` (URI exact, DNS exact or certificate wildcard);
//    failure sends certificate_unknown, as Envoy's default validator does.
//    Chain errors send BoringSSL's alert for the X509 error (unknown_ca,
//    certificate_expired — also for "not yet valid" — bad_certificate, …).
//  * Server: require_client_certificate => SSL_VERIFY_FAIL_IF_NO_PEER_CERT
//    (TLS 1.3: certificate_required alert); the client CA list is advertised.
//  * Resumption: servers issue stateless tickets (TLS 1.2 and 1.3) with
//    BoringSSL's default key handling — a key made on first use, rotated every
//    48 h of virtual time, the previous key still accepted for another 48 h.
//    Clients cache sessions per context (Envoy: per cluster transport socket)
//    under an optional key, max_session_keys deep, most recent first; TLS 1.3
//    sessions are single-use.
//  * Cipher/group preferences follow BoringSSL's defaults (AES-128-GCM first,
//    X25519 then P-256).
//
// The session cache and ticket keys are the only mutable state; a context is
// used from one thread (the simulation's). Errors at construction (bad key,
// empty ALPN entry) come back as Result errors; nothing here throws.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/base/result.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls/tls_types.h"

namespace meshsim::tls {

struct TlsContextConfig {
  TlsRole role = TlsRole::kClient;
  // Shown in diagnostics (e.g. "outbound|9080||reviews.default.svc.cluster.local").
  std::string name;

  // Presented certificate (servers must have one; clients: mTLS).
  std::optional<CertifiedKey> identity;
  // Roots the peer chain must lead to. Empty: the peer is not verified (a
  // client then accepts any server; a server never asks for a certificate).
  std::vector<Certificate> trusted_roots;
  // Server: fail the handshake when the client sends no certificate.
  bool require_client_certificate = false;
  // Client: the peer leaf must carry one of these SANs; empty skips the check.
  // Istio ISTIO_MUTUAL: the destination service accounts' SPIFFE IDs.
  std::vector<std::string> match_subject_alt_names;

  // Client: offered in this order. Server: supported, in preference order.
  std::vector<std::string> alpn;
  // Client: server_name to send (empty: no SNI extension).
  std::string sni;

  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;

  // Server: issue session tickets. Client: cache sessions for resumption.
  bool session_resumption = true;
  // Client: sessions kept per cache key (Envoy max_session_keys, default 1).
  std::size_t max_session_keys = 1;
  // Server: session lifetime (ticket_lifetime_hint). Zero: BoringSSL's
  // defaults, 2 h for TLS 1.2 sessions and 48 h for TLS 1.3 tickets.
  Duration session_timeout = Duration::zero();
  // Server: ticket key rotation interval (BoringSSL: 2 days).
  Duration ticket_key_rotation = Duration::hours(48);
};

class TlsContext {
 public:
  struct Impl;  // opaque; defined in tls_context.cc / openssl types

  // Builds the OpenSSL context. Draws randomness from the current scope.
  static Result<std::shared_ptr<TlsContext>> create(TlsContextConfig config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  const TlsContextConfig& config() const;

  // Client session cache (diagnostics and tests).
  std::size_t cached_sessions(std::string_view cache_key = {}) const;
  void clear_session_cache();
  // Server: ticket keys created so far (the first ticket creates one; each
  // rotation one more).
  std::size_t ticket_keys_created() const;

  Impl& impl() { return *impl_; }

 private:
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::tls
