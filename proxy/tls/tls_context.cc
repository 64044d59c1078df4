#include "proxy/tls/tls_context.h"

#include <openssl/rand.h>

#include <cstring>

#include "proxy/tls/context_internal.h"
#include "proxy/tls/environment.h"

namespace meshsim::tls {

// Defined in tls_session.cc: the SSL_CTX callbacks that reach per-session state
// (verification, alerts, key log, ALPN selection, tickets, session cache).
void install_callbacks(TlsContext::Impl& impl);

namespace {

// BoringSSL's default TLS 1.2 cipher preference as Envoy ships it
// (ECDHE only, AEAD only; AES-128-GCM | CHACHA20 before AES-256-GCM).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
// BoringSSL's fixed TLS 1.3 order on hardware with AES instructions.
constexpr const char* kTls13Ciphers =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
// Envoy's default ecdh_curves.
constexpr const char* kGroups = "X25519:P-256";

int to_openssl(TlsVersion v) { return v == TlsVersion::kTls12 ? TLS1_2_VERSION : TLS1_3_VERSION; }

}  // namespace

Result<std::vector<uint8_t>> alpn_wire_format(const std::vector<std::string>& protocols) {
  std::vector<uint8_t> wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) {
      return Error{"invalid ALPN protocol \"" + p + "\" (must be 1..255 bytes)"};
    }
    wire.push_back(static_cast<uint8_t>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  return wire;
}

TlsContext::Impl::~Impl() {
  for (auto& [key, list] : sessions) {
    for (SSL_SESSION* s : list) SSL_SESSION_free(s);
  }
  SSL_CTX_free(ctx);
}

void TlsContext::Impl::rotate_ticket_keys(Duration now) {
  const Duration interval = config.ticket_key_rotation;
  if (!ticket_current || ticket_current->next_rotation <= now) {
    TicketKey k{};
    random_bytes(k.name, sizeof k.name);
    random_bytes(k.hmac_key, sizeof k.hmac_key);
    random_bytes(k.aes_key, sizeof k.aes_key);
    k.next_rotation = now + interval;
    ++ticket_keys_created;
    if (ticket_current) {
      ticket_current->next_rotation += interval;
      ticket_previous = ticket_current;
    }
    ticket_current = k;
  }
  if (ticket_previous && ticket_previous->next_rotation <= now) ticket_previous.reset();
}

SSL_SESSION* TlsContext::Impl::take_session(std::string_view key) {
  auto it = sessions.find(key);
  if (it == sessions.end() || it->second.empty()) return nullptr;
  SSL_SESSION* s = it->second.front();
  // TLS 1.3 tickets are single-use (Envoy removes them after the first use).
  if (SSL_SESSION_get_protocol_version(s) == TLS1_3_VERSION) {
    it->second.pop_front();
    return s;  // the cache's reference moves to the caller
  }
  SSL_SESSION_up_ref(s);
  return s;
}

void TlsContext::Impl::store_session(const std::string& key, SSL_SESSION* session) {
  auto& list = sessions[key];
  std::size_t max = config.max_session_keys == 0 ? 1 : config.max_session_keys;
  while (list.size() >= max) {
    SSL_SESSION_free(list.back());
    list.pop_back();
  }
  list.push_front(session);
}

TlsContext::TlsContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContext::~TlsContext() = default;

const TlsContextConfig& TlsContext::config() const { return impl_->config; }

std::size_t TlsContext::cached_sessions(std::string_view cache_key) const {
  auto it = impl_->sessions.find(cache_key);
  return it == impl_->sessions.end() ? 0 : it->second.size();
}

void TlsContext::clear_session_cache() {
  for (auto& [key, list] : impl_->sessions) {
    for (SSL_SESSION* s : list) SSL_SESSION_free(s);
  }
  impl_->sessions.clear();
}

std::size_t TlsContext::ticket_keys_created() const { return impl_->ticket_keys_created; }

Result<std::shared_ptr<TlsContext>> TlsContext::create(TlsContextConfig config) {
  ensure_initialized();
  const bool server = config.role == TlsRole::kServer;
  if (server && !config.identity) return Error{"TLS server context needs a certificate and key"};
  if (config.require_client_certificate && config.trusted_roots.empty()) {
    return Error{"require_client_certificate needs trusted roots to verify the client with"};
  }
  if (config.min_version > config.max_version) return Error{"min TLS version is above max TLS version"};
  auto alpn = alpn_wire_format(config.alpn);
  if (!alpn.ok()) return alpn.error();

  auto impl = std::make_unique<Impl>();
  impl->alpn_wire = std::move(alpn).value();
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return Error{"SSL_CTX_new failed: " + ossl::drain_errors()};
  impl->ctx = ctx;

  bool ok = SSL_CTX_set_min_proto_version(ctx, to_openssl(config.min_version)) == 1 &&
            SSL_CTX_set_max_proto_version(ctx, to_openssl(config.max_version)) == 1 &&
            SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) == 1 &&
            SSL_CTX_set_ciphersuites(ctx, kTls13Ciphers) == 1 &&
            SSL_CTX_set1_groups_list(ctx, kGroups) == 1;
  if (!ok) return Error{"TLS parameter setup failed: " + ossl::drain_errors()};
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | (server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
  // Read whole records (and whatever follows) from the session's memory BIO
  // in one call instead of header then body: fewer BIO round trips per
  // record, same bytes and behaviour.
  SSL_CTX_set_read_ahead(ctx, 1);

  if (config.identity) {
    const CertifiedKey& id = *config.identity;
    if (id.certificate.empty() || id.key.empty()) return Error{"identity needs both a certificate and a key"};
    ok = SSL_CTX_use_certificate(ctx, ossl::x509_of(id.certificate)) == 1;
    for (const auto& c : id.chain) ok = ok && SSL_CTX_add1_chain_cert(ctx, ossl::x509_of(c)) == 1;
    ok = ok && SSL_CTX_use_PrivateKey(ctx, ossl::pkey_of(id.key)) == 1;
    if (!ok || SSL_CTX_check_private_key(ctx) != 1) {
      return Error{"certificate/key rejected: " + ossl::drain_errors()};
    }
  }

  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& root : config.trusted_roots) {
    if (root.empty()) return Error{"empty trusted root certificate"};
    X509_STORE_add_cert(store, ossl::x509_of(root));
    if (server) SSL_CTX_add_client_CA(ctx, ossl::x509_of(root));
  }
  int mode = SSL_VERIFY_NONE;
  if (!config.trusted_roots.empty()) {
    mode = SSL_VERIFY_PEER;
    if (server && config.require_client_certificate) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(ctx, mode, nullptr);

  if (server) {
    // Stateless tickets only; no server-side cache (and no wall-clock flushes).
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (!config.session_resumption) {
      SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
      SSL_CTX_set_num_tickets(ctx, 0);
    }
    // Session id context: a hash of what decides whether a client is accepted
    // (as Envoy does), so tickets never resume across different chains.
    std::string material = config.name;
    material += config.identity->certificate.to_der();
    for (const auto& root : config.trusted_roots) material += root.to_der();
    material += config.require_client_certificate ? '1' : '0';
    unsigned char sid_ctx[EVP_MAX_MD_SIZE];
    unsigned int sid_len = 0;
    EVP_Digest(material.data(), material.size(), sid_ctx, &sid_len, EVP_sha256(), nullptr);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sid_len);
    int64_t tls12_timeout = config.session_timeout.is_zero() ? 7200 : config.session_timeout.ns() / 1'000'000'000;
    SSL_CTX_set_timeout(ctx, static_cast<long>(tls12_timeout));
  } else {
    if (!impl->alpn_wire.empty() &&
        SSL_CTX_set_alpn_protos(ctx, impl->alpn_wire.data(), static_cast<unsigned>(impl->alpn_wire.size())) != 0) {
      return Error{"ALPN setup failed: " + ossl::drain_errors()};
    }
    if (config.session_resumption) {
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    } else {
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
      SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
  }

  impl->config = std::move(config);
  SSL_CTX_set_app_data(ctx, impl.get());
  install_callbacks(*impl);
  ERR_clear_error();
  return std::shared_ptr<TlsContext>(new TlsContext(std::move(impl)));
}

}  // namespace meshsim::tls
