#include "proxy/tls/tls_session.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <utility>

#include "proxy/base/check.h"
#include "proxy/tls/context_internal.h"
#include "proxy/tls/environment.h"

namespace meshsim::tls {

// ----------------------------------------------------------------------------- names

std::string_view to_string(TlsVersion v) { return v == TlsVersion::kTls12 ? "TLSv1.2" : "TLSv1.3"; }

std::string_view to_string(HandshakeState s) {
  switch (s) {
    case HandshakeState::kInProgress: return "in_progress";
    case HandshakeState::kEstablished: return "established";
    case HandshakeState::kFailed: return "failed";
    case HandshakeState::kClosed: return "closed";
  }
  return "?";
}

std::string_view to_string(TlsFailureReason r) {
  switch (r) {
    case TlsFailureReason::kNone: return "none";
    case TlsFailureReason::kNoPeerCertificate: return "no_peer_certificate";
    case TlsFailureReason::kUnknownCa: return "unknown_ca";
    case TlsFailureReason::kCertificateExpired: return "certificate_expired";
    case TlsFailureReason::kCertificateNotYetValid: return "certificate_not_yet_valid";
    case TlsFailureReason::kSanMismatch: return "san_mismatch";
    case TlsFailureReason::kBadCertificate: return "bad_certificate";
    case TlsFailureReason::kProtocolVersion: return "protocol_version";
    case TlsFailureReason::kHandshakeFailure: return "handshake_failure";
    case TlsFailureReason::kPeerAlert: return "peer_alert";
    case TlsFailureReason::kNotTls: return "not_tls";
    case TlsFailureReason::kUnexpectedMessage: return "unexpected_message";
    case TlsFailureReason::kDecodeError: return "decode_error";
    case TlsFailureReason::kDecryptError: return "decrypt_error";
    case TlsFailureReason::kUnexpectedEof: return "unexpected_eof";
    case TlsFailureReason::kInternalError: return "internal_error";
  }
  return "?";
}

std::string_view alert_name(uint8_t alert) {
  switch (alert) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 22: return "record_overflow";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
  }
  static thread_local char buf[16];
  std::snprintf(buf, sizeof buf, "alert_%u", static_cast<unsigned>(alert));
  return buf;
}

// ----------------------------------------------------------------------------- session state

struct TlsSession::Impl {
  std::shared_ptr<TlsContext> context;
  TlsContext::Impl* cimpl = nullptr;
  SessionOptions options;
  TlsRole role = TlsRole::kClient;
  SSL* ssl = nullptr;

  std::vector<uint8_t> in;  // ciphertext fed, not yet read by OpenSSL
  std::size_t in_pos = 0;
  std::vector<uint8_t> out;  // ciphertext produced, not yet consumed
  std::size_t out_pos = 0;
  bool eof = false;

  bool started = false;
  bool sent_close = false;
  bool peer_closed = false;
  HandshakeState state = HandshakeState::kInProgress;
  HandshakeInfo info;
  TlsFailure failure;
  TlsStats stats;

  // Client: the cached session offered in the ClientHello (one reference).
  SSL_SESSION* offered = nullptr;

  // Set by the verification callback.
  TlsFailureReason verify_reason = TlsFailureReason::kNone;
  int verify_error = 0;
  std::string verify_detail;

  ~Impl() {
    // Without this, SSL_free of a connection that did not send close_notify
    // marks its session not resumable (ssl_clear_bad_session) — including the
    // reusable TLS 1.2 session in our cache. BoringSSL has no such rule.
    if (ssl != nullptr) SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
    SSL_SESSION_free(offered);
  }

  void drive();
  void on_established();
  void fail(int ssl_error);
  Duration verify_time() const { return options.verify_time ? *options.verify_time : virtual_now(); }
  const std::vector<std::string>& san_matchers() const {
    return options.match_subject_alt_names.empty() ? cimpl->config.match_subject_alt_names
                                                   : options.match_subject_alt_names;
  }
};

namespace {

TlsSession::Impl* session_of(const SSL* ssl) { return static_cast<TlsSession::Impl*>(SSL_get_app_data(ssl)); }

// ---- the memory BIO: reads from Impl::in, appends to Impl::out -------------

int bio_write_ex(BIO* b, const char* data, size_t len, size_t* written) {
  auto* s = static_cast<TlsSession::Impl*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  s->out.insert(s->out.end(), reinterpret_cast<const uint8_t*>(data), reinterpret_cast<const uint8_t*>(data) + len);
  s->stats.ciphertext_out += len;
  s->stats.records_out += 1;
  if (s->state == HandshakeState::kInProgress) s->stats.handshake_bytes_out += len;
  *written = len;
  return 1;
}

int bio_read_ex(BIO* b, char* data, size_t len, size_t* read) {
  auto* s = static_cast<TlsSession::Impl*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  std::size_t avail = s->in.size() - s->in_pos;
  if (avail == 0) {
    *read = 0;
    if (!s->eof) BIO_set_retry_read(b);
    return 0;
  }
  std::size_t n = std::min(len, avail);
  std::memcpy(data, s->in.data() + s->in_pos, n);
  s->in_pos += n;
  if (s->in_pos == s->in.size()) {
    s->in.clear();
    s->in_pos = 0;
  }
  if (s->state == HandshakeState::kInProgress) s->stats.handshake_bytes_in += n;
  *read = n;
  return 1;
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  auto* s = static_cast<TlsSession::Impl*>(BIO_get_data(b));
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return s ? static_cast<long>(s->in.size() - s->in_pos) : 0;
    case BIO_CTRL_WPENDING: return 0;
    case BIO_CTRL_EOF: return s && s->eof && s->in.size() == s->in_pos ? 1 : 0;
    default: return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO* b) {
  BIO_set_data(b, nullptr);
  return 1;
}

BIO_METHOD* session_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "meshsim-tls-session");
    BIO_meth_set_write_ex(m, bio_write_ex);
    BIO_meth_set_read_ex(m, bio_read_ex);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    return m;
  }();
  return method;
}

// ---- verification ----------------------------------------------------------

// BoringSSL's SSL_alert_from_verify_result (what Envoy sends for a chain error).
uint8_t boringssl_alert_for(int x509_error) {
  switch (x509_error) {
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return SSL_AD_UNKNOWN_CA;
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return SSL_AD_BAD_CERTIFICATE;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
      return SSL_AD_DECRYPT_ERROR;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return SSL_AD_CERTIFICATE_EXPIRED;
    case X509_V_ERR_CERT_REVOKED:
      return SSL_AD_CERTIFICATE_REVOKED;
    case X509_V_ERR_UNSPECIFIED:
    case X509_V_ERR_OUT_OF_MEM:
    case X509_V_ERR_INVALID_CALL:
    case X509_V_ERR_STORE_LOOKUP:
      return SSL_AD_INTERNAL_ERROR;
    case X509_V_ERR_APPLICATION_VERIFICATION:
      return SSL_AD_HANDSHAKE_FAILURE;
    case X509_V_ERR_INVALID_PURPOSE:
      return SSL_AD_UNSUPPORTED_CERTIFICATE;
    default:
      return SSL_AD_CERTIFICATE_UNKNOWN;
  }
}

// libssl turns the verification error into the alert it sends with its own
// table (ssl_x509err2alert). This picks an X509 error that table maps to the
// alert BoringSSL would have sent; the real error stays in the session.
int x509_error_for_alert(uint8_t alert) {
  switch (alert) {
    case SSL_AD_UNKNOWN_CA: return X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    case SSL_AD_BAD_CERTIFICATE: return X509_V_ERR_CERT_REJECTED;
    case SSL_AD_DECRYPT_ERROR: return X509_V_ERR_CERT_SIGNATURE_FAILURE;
    case SSL_AD_CERTIFICATE_EXPIRED: return X509_V_ERR_CERT_HAS_EXPIRED;
    case SSL_AD_CERTIFICATE_REVOKED: return X509_V_ERR_CERT_REVOKED;
    case SSL_AD_INTERNAL_ERROR: return X509_V_ERR_UNSPECIFIED;
    case SSL_AD_HANDSHAKE_FAILURE: return X509_V_ERR_APPLICATION_VERIFICATION;
    case SSL_AD_UNSUPPORTED_CERTIFICATE: return X509_V_ERR_INVALID_PURPOSE;
    default: return X509_V_ERR_SUBJECT_ISSUER_MISMATCH;  // not in libssl's table: certificate_unknown
  }
}

TlsFailureReason reason_for_x509_error(int e) {
  switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return TlsFailureReason::kCertificateExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID: return TlsFailureReason::kCertificateNotYetValid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return TlsFailureReason::kUnknownCa;
    default: return TlsFailureReason::kBadCertificate;
  }
}

bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Envoy's Utility::dnsNameMatch: exact (case-insensitive), or a certificate
// wildcard "*.example.com" covering exactly one label.
bool dns_name_match(std::string_view expected, std::string_view cert_name) {
  if (ascii_iequal(expected, cert_name)) return true;
  if (cert_name.size() > 2 && cert_name.substr(0, 2) == "*.") {
    std::size_t dot = expected.find('.');
    return dot != std::string_view::npos && dot > 0 && ascii_iequal(expected.substr(dot + 1), cert_name.substr(2));
  }
  return false;
}

bool sans_match(X509* leaf, const std::vector<std::string>& expected) {
  std::vector<std::string> uris, dns;
  ossl::subject_alt_names(leaf, &uris, &dns);
  for (const auto& e : expected) {
    for (const auto& u : uris) if (u == e) return true;
    for (const auto& d : dns) if (dns_name_match(e, d)) return true;
  }
  return false;
}

int verify_callback(X509_STORE_CTX* sctx, void*) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  TlsSession::Impl* s = session_of(ssl);
  const TlsContextConfig& config = s->cimpl->config;
  if (config.trusted_roots.empty()) return 1;  // no validation context: accept (Envoy: no verification)
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(sctx),
                             static_cast<time_t>(unix_seconds_at(s->verify_time())));
  if (X509_verify_cert(sctx) != 1) {
    int err = X509_STORE_CTX_get_error(sctx);
    s->verify_error = err;
    s->verify_reason = reason_for_x509_error(err);
    s->verify_detail = std::string("verify cert failed: ") + X509_verify_cert_error_string(err);
    X509_STORE_CTX_set_error(sctx, x509_error_for_alert(boringssl_alert_for(err)));
    return 0;
  }
  if (s->role == TlsRole::kClient) {
    const auto& expected = s->san_matchers();
    if (!expected.empty() && !sans_match(X509_STORE_CTX_get0_cert(sctx), expected)) {
      s->verify_error = X509_V_ERR_SUBJECT_ISSUER_MISMATCH;
      s->verify_reason = TlsFailureReason::kSanMismatch;
      s->verify_detail = "verify cert failed: SAN matcher";
      // Envoy's default validator leaves the alert at certificate_unknown.
      X509_STORE_CTX_set_error(sctx, x509_error_for_alert(SSL_AD_CERTIFICATE_UNKNOWN));
      return 0;
    }
  }
  return 1;
}

// ---- callbacks --------------------------------------------------------------

void info_callback(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) return;
  TlsSession::Impl* s = session_of(ssl);
  if (s == nullptr) return;
  auto desc = static_cast<uint8_t>(ret & 0xff);
  if (where & SSL_CB_READ) {
    if (desc == SSL_AD_CLOSE_NOTIFY) {
      s->peer_closed = true;
    } else if (!s->failure.alert_received) {
      s->failure.alert_received = desc;
    }
  } else if (desc != SSL_AD_CLOSE_NOTIFY && !s->failure.alert_sent) {
    s->failure.alert_sent = desc;
  }
}

void keylog_callback(const SSL*, const char* line) { emit_keylog_line(line); }

int alpn_select_callback(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                         unsigned int inlen, void* arg) {
  auto* c = static_cast<TlsContext::Impl*>(arg);
  unsigned char* selected = nullptr;
  unsigned char selected_len = 0;
  // Envoy's ServerContextImpl::alpnSelectCallback: server order, NOACK on no overlap.
  if (SSL_select_next_proto(&selected, &selected_len, c->alpn_wire.data(),
                            static_cast<unsigned int>(c->alpn_wire.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  *outlen = selected_len;
  return SSL_TLSEXT_ERR_OK;
}

const EVP_CIPHER* ticket_cipher() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  return cipher;
}

bool set_ticket_hmac(EVP_MAC_CTX* hctx, const unsigned char* key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[3];
  params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key), 16);
  params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[2] = OSSL_PARAM_construct_end();
  return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

// Stateless ticket protection with BoringSSL's default key scheme: 16-byte key
// name, AES-128-CBC, HMAC-SHA256, keys rotated in virtual time.
int ticket_key_callback(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cctx,
                        EVP_MAC_CTX* hctx, int enc) {
  auto* c = static_cast<TlsContext::Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  c->rotate_ticket_keys(virtual_now());
  if (enc) {
    const TicketKey& k = *c->ticket_current;
    std::memcpy(key_name, k.name, sizeof k.name);
    random_bytes(iv, 16);
    if (EVP_EncryptInit_ex(cctx, ticket_cipher(), nullptr, k.aes_key, iv) != 1) return -1;
    return set_ticket_hmac(hctx, k.hmac_key) ? 1 : -1;
  }
  const TicketKey* k = nullptr;
  bool current = false;
  if (c->ticket_current && std::memcmp(key_name, c->ticket_current->name, 16) == 0) {
    k = &*c->ticket_current;
    current = true;
  } else if (c->ticket_previous && std::memcmp(key_name, c->ticket_previous->name, 16) == 0) {
    k = &*c->ticket_previous;
  }
  if (k == nullptr) return 0;  // unknown key: full handshake
  if (EVP_DecryptInit_ex(cctx, ticket_cipher(), nullptr, k->aes_key, iv) != 1) return -1;
  if (!set_ticket_hmac(hctx, k->hmac_key)) return -1;
  // 2 = valid, and send a fresh ticket. TLS 1.3: always (tickets are single-use;
  // BoringSSL and OpenSSL's built-in key handling both re-issue on every
  // resumption). TLS 1.2: only when the ticket was sealed with the previous key.
  return current && SSL_version(ssl) != TLS1_3_VERSION ? 1 : 2;
}

// Called before each ticket is built: session lifetime per version, as BoringSSL
// (SSL_DEFAULT_SESSION_TIMEOUT 2 h; SSL_DEFAULT_SESSION_PSK_DHE_TIMEOUT 2 days).
int generate_ticket_callback(SSL* ssl, void* arg) {
  auto* c = static_cast<TlsContext::Impl*>(arg);
  SSL_SESSION* session = SSL_get_session(ssl);
  if (session == nullptr) return 1;
  long timeout = SSL_version(ssl) == TLS1_3_VERSION ? 172800 : 7200;
  if (!c->config.session_timeout.is_zero()) timeout = static_cast<long>(c->config.session_timeout.ns() / 1'000'000'000);
  SSL_SESSION_set_timeout(session, timeout);
  return 1;
}

int new_session_callback(SSL* ssl, SSL_SESSION* session) {
  TlsSession::Impl* s = session_of(ssl);
  if (s == nullptr) return 0;
  s->cimpl->store_session(s->options.session_cache_key, session);
  return 1;  // we keep the reference
}

}  // namespace

void install_callbacks(TlsContext::Impl& impl) {
  SSL_CTX* ctx = impl.ctx;
  SSL_CTX_set_cert_verify_callback(ctx, verify_callback, nullptr);
  SSL_CTX_set_info_callback(ctx, info_callback);
  if (impl.config.role == TlsRole::kServer) {
    if (!impl.alpn_wire.empty()) SSL_CTX_set_alpn_select_cb(ctx, alpn_select_callback, &impl);
    if (impl.config.session_resumption) {
      SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_callback);
      SSL_CTX_set_session_ticket_cb(ctx, generate_ticket_callback, nullptr, &impl);
    }
  } else if (impl.config.session_resumption) {
    SSL_CTX_sess_set_new_cb(ctx, new_session_callback);
  }
}

// ----------------------------------------------------------------------------- driving

void TlsSession::Impl::drive() {
  if (state != HandshakeState::kInProgress) return;
  started = true;
  int r = SSL_do_handshake(ssl);
  if (r == 1) {
    on_established();
    return;
  }
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
  fail(e);
}

void TlsSession::Impl::on_established() {
  state = HandshakeState::kEstablished;
  info.version = SSL_version(ssl) == TLS1_2_VERSION ? TlsVersion::kTls12 : TlsVersion::kTls13;
  info.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  info.sni = sni != nullptr ? sni : "";
  info.resumed = SSL_session_reused(ssl) == 1;
  // A TLS 1.2 server may renew the ticket of a resumed session (its key was the
  // previous one); libssl then holds a new session but, on a resumed handshake,
  // does not call the new-session callback. Cache it, as BoringSSL does.
  if (role == TlsRole::kClient && info.resumed && info.version == TlsVersion::kTls12 &&
      cimpl->config.session_resumption && SSL_get_session(ssl) != offered) {
    cimpl->store_session(options.session_cache_key, SSL_get1_session(ssl));
  }
  if (X509* peer = SSL_get0_peer_certificate(ssl)) {
    info.peer_certificate_presented = true;
    ossl::subject_alt_names(peer, &info.peer_uri_sans, &info.peer_dns_sans);
    info.peer_subject = ossl::name_to_string(X509_get_subject_name(peer));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(peer, EVP_sha256(), digest, &len) == 1) {
      static constexpr char kHex[] = "0123456789abcdef";
      info.peer_certificate_sha256.reserve(2 * len);
      for (unsigned int i = 0; i < len; ++i) {
        info.peer_certificate_sha256 += kHex[digest[i] >> 4];
        info.peer_certificate_sha256 += kHex[digest[i] & 15];
      }
    }
  }
}

void TlsSession::Impl::fail(int ssl_error) {
  // The last SSL-library reason on the queue is the one libssl failed with.
  int ssl_reason = 0;
  std::string detail;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    if (ERR_GET_LIB(e) == ERR_LIB_SSL) ssl_reason = ERR_GET_REASON(e);
    ERR_error_string_n(e, buf, sizeof buf);
    if (!detail.empty()) detail += "; ";
    detail += buf;
  }
  const OSSL_HANDSHAKE_STATE hs = SSL_get_state(ssl);
  const bool nothing_from_peer =
      (role == TlsRole::kServer && hs == TLS_ST_BEFORE) || (role == TlsRole::kClient && hs == TLS_ST_CW_CLNT_HELLO);

  TlsFailureReason reason = TlsFailureReason::kHandshakeFailure;
  if (failure.alert_received) {
    reason = TlsFailureReason::kPeerAlert;
  } else if (verify_reason != TlsFailureReason::kNone && ssl_reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    reason = verify_reason;
    detail = verify_detail + " (" + detail + ")";
  } else if (ssl_reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    reason = TlsFailureReason::kNoPeerCertificate;
  } else if (ssl_reason == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
             (ssl_error == SSL_ERROR_SYSCALL && ssl_reason == 0)) {
    reason = TlsFailureReason::kUnexpectedEof;
  } else if (nothing_from_peer) {
    reason = TlsFailureReason::kNotTls;
  } else {
    switch (ssl_reason) {
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_VERSION_TOO_HIGH:
      case SSL_R_WRONG_SSL_VERSION:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
        reason = TlsFailureReason::kProtocolVersion;
        break;
      case SSL_R_UNEXPECTED_MESSAGE:
      case SSL_R_UNEXPECTED_RECORD:
      case SSL_R_UNEXPECTED_CCS_MESSAGE:
        reason = TlsFailureReason::kUnexpectedMessage;
        break;
      case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
      case SSL_R_DECRYPTION_FAILED:
        reason = TlsFailureReason::kDecryptError;
        break;
      case SSL_R_LENGTH_MISMATCH:
      case SSL_R_BAD_PACKET_LENGTH:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
      case SSL_R_RECORD_LENGTH_MISMATCH:
      case SSL_R_LENGTH_TOO_SHORT:
      case SSL_R_BAD_LENGTH:
      case SSL_R_BAD_EXTENSION:
      case SSL_R_WRONG_VERSION_NUMBER:
        reason = TlsFailureReason::kDecodeError;
        break;
      case ERR_R_INTERNAL_ERROR:
        reason = TlsFailureReason::kInternalError;
        break;
      default:
        reason = TlsFailureReason::kHandshakeFailure;
    }
  }
  failure.reason = reason;
  failure.verify_error = verify_error;
  failure.detail = std::move(detail);
  state = HandshakeState::kFailed;
}

// ----------------------------------------------------------------------------- TlsSession

TlsSession::TlsSession(std::shared_ptr<TlsContext> context, SessionOptions options)
    : impl_(std::make_unique<Impl>()) {
  MESHSIM_CHECK(context != nullptr, "TlsSession needs a context");
  ensure_initialized();
  Impl& s = *impl_;
  s.context = std::move(context);
  s.cimpl = &s.context->impl();
  s.options = std::move(options);
  s.role = s.cimpl->config.role;
  // libssl formats key-log lines (hex via sprintf) whenever the context has a
  // callback, which costs ~7% of a handshake; install it only while a sink is.
  SSL_CTX_set_keylog_callback(s.cimpl->ctx, has_keylog_sink() ? keylog_callback : nullptr);
  s.ssl = SSL_new(s.cimpl->ctx);
  MESHSIM_CHECK(s.ssl != nullptr, "SSL_new failed");
  BIO* bio = BIO_new(session_bio_method());
  BIO_set_data(bio, &s);
  SSL_set_bio(s.ssl, bio, bio);
  SSL_set_app_data(s.ssl, &s);
  if (s.role == TlsRole::kServer) {
    SSL_set_accept_state(s.ssl);
    return;
  }
  SSL_set_connect_state(s.ssl);
  const std::string& sni = s.options.sni.empty() ? s.cimpl->config.sni : s.options.sni;
  if (!sni.empty()) SSL_set_tlsext_host_name(s.ssl, sni.c_str());
  if (!s.options.alpn.empty()) {
    auto wire = alpn_wire_format(s.options.alpn);
    MESHSIM_CHECK(wire.ok(), "invalid ALPN protocol in SessionOptions");
    SSL_set_alpn_protos(s.ssl, wire->data(), static_cast<unsigned>(wire->size()));
  }
  if (s.cimpl->config.session_resumption) {
    if (SSL_SESSION* cached = s.cimpl->take_session(s.options.session_cache_key)) {
      SSL_set_session(s.ssl, cached);
      s.offered = cached;  // keeps the reference take_session gave us
    }
  }
}

TlsSession::~TlsSession() = default;
TlsSession::TlsSession(TlsSession&&) noexcept = default;
TlsSession& TlsSession::operator=(TlsSession&&) noexcept = default;

TlsRole TlsSession::role() const { return impl_->role; }

void TlsSession::start() {
  if (impl_->started) return;
  impl_->drive();
}

void TlsSession::feed(std::span<const uint8_t> ciphertext) {
  Impl& s = *impl_;
  if (!ciphertext.empty()) {
    if (s.in_pos > 0 && s.in_pos == s.in.size()) {
      s.in.clear();
      s.in_pos = 0;
    }
    s.in.insert(s.in.end(), ciphertext.begin(), ciphertext.end());
    s.stats.ciphertext_in += ciphertext.size();
  }
  if (s.state == HandshakeState::kInProgress) s.drive();
}

void TlsSession::feed_eof() {
  Impl& s = *impl_;
  s.eof = true;
  if (s.state == HandshakeState::kInProgress) s.drive();
}

IoResult TlsSession::read(std::span<uint8_t> out) {
  Impl& s = *impl_;
  if (s.state == HandshakeState::kInProgress) {
    s.drive();
    if (s.state == HandshakeState::kInProgress) return {0, IoStatus::kWouldBlock};
  }
  if (s.state == HandshakeState::kFailed) return {0, IoStatus::kError};
  if (s.peer_closed && SSL_pending(s.ssl) == 0) return {0, IoStatus::kClosed};
  // Nothing buffered anywhere: no need to enter OpenSSL. SSL_has_pending, not
  // SSL_pending: with read-ahead the handshake may have pulled the records
  // that follow the peer's Finished (a TLS 1.3 client's first request sent
  // with it) into OpenSSL's buffer, still undecrypted — SSL_pending counts
  // only decrypted bytes and would leave that request unread until more
  // bytes arrived (found by real clients on loopback, `meshsim proxy`).
  if (s.in_pos == s.in.size() && !s.eof && !SSL_has_pending(s.ssl)) return {0, IoStatus::kWouldBlock};
  std::size_t n = 0;
  if (SSL_read_ex(s.ssl, out.data(), out.size(), &n) == 1) {
    s.stats.plaintext_in += n;
    return {n, IoStatus::kOk};
  }
  int e = SSL_get_error(s.ssl, 0);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {0, IoStatus::kWouldBlock};
  if (e == SSL_ERROR_ZERO_RETURN) {
    s.peer_closed = true;
    ERR_clear_error();
    return {0, IoStatus::kClosed};
  }
  if (s.eof && s.in_pos == s.in.size()) {
    // TCP FIN without close_notify on an established session: a close, as
    // Envoy treats it (the application sees end of stream).
    s.peer_closed = true;
    ERR_clear_error();
    return {0, IoStatus::kClosed};
  }
  s.fail(e);
  return {0, IoStatus::kError};
}

IoResult TlsSession::write(std::span<const uint8_t> plaintext) {
  Impl& s = *impl_;
  if (s.state == HandshakeState::kInProgress) return {0, IoStatus::kWouldBlock};
  if (s.state == HandshakeState::kFailed) return {0, IoStatus::kError};
  if (s.sent_close) return {0, IoStatus::kClosed};
  if (plaintext.empty()) return {0, IoStatus::kOk};
  std::size_t n = 0;
  if (SSL_write_ex(s.ssl, plaintext.data(), plaintext.size(), &n) == 1) {
    s.stats.plaintext_out += n;
    return {n, IoStatus::kOk};
  }
  s.fail(SSL_get_error(s.ssl, 0));
  return {0, IoStatus::kError};
}

void TlsSession::close() {
  Impl& s = *impl_;
  if (s.sent_close || s.state == HandshakeState::kFailed) return;
  s.sent_close = true;
  if (s.state == HandshakeState::kEstablished) {
    SSL_shutdown(s.ssl);
    ERR_clear_error();
  }
  if (s.state == HandshakeState::kInProgress) s.state = HandshakeState::kClosed;
}

std::span<const uint8_t> TlsSession::pending_output() const {
  const Impl& s = *impl_;
  return {s.out.data() + s.out_pos, s.out.size() - s.out_pos};
}

void TlsSession::consume_output(std::size_t n) {
  Impl& s = *impl_;
  MESHSIM_CHECK(n <= s.out.size() - s.out_pos, "consume_output beyond pending output");
  s.out_pos += n;
  if (s.out_pos == s.out.size()) {
    s.out.clear();
    s.out_pos = 0;
  }
}

std::size_t TlsSession::take_output(std::vector<uint8_t>& out) {
  auto p = pending_output();
  out.insert(out.end(), p.begin(), p.end());
  consume_output(p.size());
  return p.size();
}

HandshakeState TlsSession::state() const {
  const Impl& s = *impl_;
  if (s.state == HandshakeState::kEstablished && (s.sent_close || s.peer_closed)) return HandshakeState::kClosed;
  return s.state;
}

const HandshakeInfo& TlsSession::info() const { return impl_->info; }
std::string_view TlsSession::selected_alpn() const {
  if (!impl_->ssl) return {};
  const unsigned char* alpn = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(impl_->ssl, &alpn, &len);
  return alpn ? std::string_view(reinterpret_cast<const char*>(alpn), len) : std::string_view();
}
const TlsFailure& TlsSession::failure() const { return impl_->failure; }
const TlsStats& TlsSession::stats() const { return impl_->stats; }

}  // namespace meshsim::tls
