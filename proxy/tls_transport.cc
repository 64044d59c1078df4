#include "proxy/tls_transport.h"

#include <algorithm>
#include <charconv>

#include "proxy/tls/client_hello_inspector.h"
#include "proxy/tls/tls_session.h"

namespace meshsim::proxy {
namespace {

tls::TlsVersion to_tls(TlsVersion v) { return v == TlsVersion::kTls12 ? tls::TlsVersion::kTls12 : tls::TlsVersion::kTls13; }

std::string version_name(tls::TlsVersion v) { return v == tls::TlsVersion::kTls12 ? "TLSv1.2" : "TLSv1.3"; }

std::string join(const std::vector<std::string>& v) {
  std::string o;
  for (const auto& s : v) o += s + ",";
  return o;
}

// BoringSSL alert reasons: SSL_AD_REASON_OFFSET (1000) + alert code.
std::string alert_reason(uint8_t alert) {
  switch (alert) {
    case 10: return "1010:SSLV3_ALERT_UNEXPECTED_MESSAGE";
    case 20: return "1020:SSLV3_ALERT_BAD_RECORD_MAC";
    case 40: return "1040:SSLV3_ALERT_HANDSHAKE_FAILURE";
    case 42: return "1042:SSLV3_ALERT_BAD_CERTIFICATE";
    case 45: return "1045:SSLV3_ALERT_CERTIFICATE_EXPIRED";
    case 46: return "1046:SSLV3_ALERT_CERTIFICATE_UNKNOWN";
    case 47: return "1047:SSLV3_ALERT_ILLEGAL_PARAMETER";
    case 48: return "1048:TLSV1_ALERT_UNKNOWN_CA";
    case 50: return "1050:TLSV1_ALERT_DECODE_ERROR";
    case 51: return "1051:TLSV1_ALERT_DECRYPT_ERROR";
    case 70: return "1070:TLSV1_ALERT_PROTOCOL_VERSION";
    case 80: return "1080:TLSV1_ALERT_INTERNAL_ERROR";
    case 116: return "1116:TLSV1_ALERT_CERTIFICATE_REQUIRED";
    case 120: return "1120:TLSV1_ALERT_NO_APPLICATION_PROTOCOL";
    default: return std::to_string(1000 + alert) + ":TLSV1_ALERT_UNKNOWN";
  }
}

std::string packed(const std::string& reason_code_and_name) {
  // ERR_PACK(ERR_LIB_SSL = 16, reason) = (16 << 24) | reason.
  size_t colon = reason_code_and_name.find(':');
  int reason = 0;  // our own "N:NAME" strings; a malformed one packs as 0
  std::from_chars(reason_code_and_name.data(), reason_code_and_name.data() + std::min(colon, reason_code_and_name.size()),
                  reason);
  return std::to_string((16 << 24) + reason) + ":SSL routines:OPENSSL_internal:" + reason_code_and_name.substr(colon + 1);
}

class TlsTransportSocket final : public TransportSocket {
 public:
  TlsTransportSocket(std::shared_ptr<tls::TlsContext> ctx, tls::SessionOptions opts, std::string local_uri)
      : session_(std::move(ctx), std::move(opts)) {
    info_.tls = true;
    info_.local_uri_san = std::move(local_uri);
  }

  bool is_tls() const override { return true; }

  void start(std::string& to_network) override {
    session_.start();
    drain_output(to_network);
  }

  TransportResult on_network(std::string_view in, std::string& plaintext, std::string& to_network) override {
    bool was_established = session_.established();
    session_.feed({reinterpret_cast<const uint8_t*>(in.data()), in.size()});
    TransportResult r = TransportResult::kOk;
    // A server knows the ALPN once it processed the ClientHello (metadata
    // exchange checks it when the upstream writes first, mid-handshake).
    if (!was_established && info_.alpn.empty()) info_.alpn.assign(session_.selected_alpn());
    if (!was_established && session_.established()) {
      fill_info();
      r = TransportResult::kEstablished;
      flush_queued(to_network);
    }
    if (session_.state() == tls::HandshakeState::kFailed) {
      drain_output(to_network);
      fail();
      return TransportResult::kFailed;
    }
    // Decrypt whatever is available (also picks up TLS 1.3 tickets).
    for (;;) {
      uint8_t buf[16384];
      tls::IoResult rr = session_.read({buf, sizeof buf});
      if (rr.bytes > 0) plaintext.append(reinterpret_cast<const char*>(buf), rr.bytes);
      if (rr.status == tls::IoStatus::kOk && rr.bytes > 0) continue;
      if (rr.status == tls::IoStatus::kClosed) {
        drain_output(to_network);
        return r == TransportResult::kEstablished ? r : TransportResult::kPeerClosed;
      }
      if (rr.status == tls::IoStatus::kError) {
        drain_output(to_network);
        fail();
        return TransportResult::kFailed;
      }
      break;
    }
    drain_output(to_network);
    return r;
  }

  void write(std::string_view plaintext, std::string& to_network) override {
    if (!session_.established()) {
      queued_.append(plaintext);
      return;
    }
    session_.write({reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size()});
    drain_output(to_network);
  }

  void shutdown(std::string& to_network) override {
    if (session_.established()) session_.close();
    drain_output(to_network);
  }


 private:
  void drain_output(std::string& out) {
    auto p = session_.pending_output();
    if (p.empty()) return;
    out.append(reinterpret_cast<const char*>(p.data()), p.size());
    session_.consume_output(p.size());
  }
  void flush_queued(std::string& out) {
    if (queued_.empty()) return;
    std::string q;
    q.swap(queued_);
    session_.write({reinterpret_cast<const uint8_t*>(q.data()), q.size()});
    drain_output(out);
  }
  void fill_info() {
    const tls::HandshakeInfo& h = session_.info();
    info_.handshake_complete = true;
    info_.version = version_name(h.version);
    info_.cipher = h.cipher;
    info_.alpn = h.alpn;
    info_.sni = h.sni;
    info_.resumed = h.resumed;
    info_.peer_certificate = h.peer_certificate_presented;
    info_.peer_uri_sans = h.peer_uri_sans;
    info_.peer_dns_sans = h.peer_dns_sans;
    info_.peer_subject = h.peer_subject;
    info_.peer_certificate_sha256 = h.peer_certificate_sha256;
  }
  void fail() { info_.failure_reason = envoy_tls_error(session_.failure()); }

  tls::TlsSession session_;
  std::string queued_;
};

}  // namespace

std::string envoy_tls_error(const tls::TlsFailure& f) {
  using R = tls::TlsFailureReason;
  if (f.alert_received) return packed(alert_reason(*f.alert_received));
  switch (f.reason) {
    case R::kUnknownCa:
    case R::kCertificateExpired:
    case R::kCertificateNotYetValid:
    case R::kBadCertificate:
      return packed("125:CERTIFICATE_VERIFY_FAILED");
    case R::kSanMismatch:
      return "verify cert failed: SAN matcher";
    case R::kNoPeerCertificate:
      return packed("199:PEER_DID_NOT_RETURN_A_CERTIFICATE");
    case R::kNotTls:
      return packed("247:WRONG_VERSION_NUMBER");
    case R::kProtocolVersion:
      return packed("240:UNSUPPORTED_PROTOCOL");
    case R::kHandshakeFailure:
      return packed("184:NO_SHARED_CIPHER");
    case R::kUnexpectedMessage:
      return packed("244:UNEXPECTED_MESSAGE");
    case R::kDecodeError:
      return packed("137:DECODE_ERROR");
    case R::kDecryptError:
      return packed("119:DECRYPTION_FAILED_OR_BAD_RECORD_MAC");
    case R::kUnexpectedEof:
      return "Connection reset by peer";
    case R::kPeerAlert:
      return f.alert_received ? packed(alert_reason(*f.alert_received)) : packed("1000:TLSV1_ALERT_UNKNOWN");
    case R::kInternalError:
    case R::kNone:
      break;
  }
  return f.detail.empty() ? "TLS error" : f.detail;
}

void SecretStore::set_identity(tls::CertifiedKey identity) {
  identity_ = std::move(identity);
  ++version_;
}
void SecretStore::set_roots(std::vector<tls::Certificate> roots) {
  roots_ = std::move(roots);
  ++version_;
}
void SecretStore::set_certified_key(const std::string& name, tls::CertifiedKey key) {
  keys_.insert_or_assign(name, std::move(key));
  ++version_;
}
void SecretStore::set_trusted(const std::string& name, std::vector<tls::Certificate> roots) {
  trusted_.insert_or_assign(name, std::move(roots));
  ++version_;
}
const tls::CertifiedKey* SecretStore::certified_key(const std::string& name) const {
  auto it = keys_.find(name);
  return it == keys_.end() ? nullptr : &it->second;
}
const std::vector<tls::Certificate>* SecretStore::trusted(const std::string& name) const {
  auto it = trusted_.find(name);
  return it == trusted_.end() ? nullptr : &it->second;
}

TlsTransportFactory::TlsTransportFactory(const SecretStore& secrets) : secrets_(secrets) {}

const std::string& TlsTransportFactory::local_uri_of(const tls::CertifiedKey* k) {
  static const std::string kNone;
  if (!k) return kNone;
  // Decoded once per certificate: the cached handle keeps the certificate
  // alive, so its identity cannot be reused by another one.
  if (uri_cert_.empty() || uri_cert_.rep() != k->certificate.rep()) {
    auto info = k->certificate.info();
    uri_cert_ = k->certificate;
    uri_ = info.uri_sans.empty() ? "" : info.uri_sans.front();
  }
  return uri_;
}
TlsTransportFactory::~TlsTransportFactory() = default;

std::shared_ptr<tls::TlsContext> TlsTransportFactory::context_for(const std::string& key, tls::TlsContextConfig config) {
  if (built_for_version_ != secrets_.version()) {
    contexts_.clear();  // an SDS update: new contexts, fresh session caches
    built_for_version_ = secrets_.version();
  }
  auto it = contexts_.find(key);
  if (it != contexts_.end()) return it->second;
  auto made = tls::TlsContext::create(std::move(config));
  if (!made.ok()) return nullptr;
  ++contexts_created_;
  contexts_.emplace(key, *made);
  return *made;
}

namespace {

// Resolves an SDS name to a certificate (nullptr when the sidecar has none).
const tls::CertifiedKey* lookup_key(const SecretStore& s, const std::string& name) {
  if (name == kSdsDefault) return s.identity() ? &*s.identity() : nullptr;
  return s.certified_key(name);
}
std::vector<tls::Certificate> lookup_roots(const SecretStore& s, const std::string& name) {
  if (name.empty()) return {};
  if (name == kSdsRootCa) return s.roots();
  const auto* t = s.trusted(name);
  return t ? *t : std::vector<tls::Certificate>{};
}

// A socket that can never complete: the secret it needs is missing (Envoy
// keeps such chains/clusters warming; connections fail like a handshake error).
class MissingSecretSocket final : public TransportSocket {
 public:
  explicit MissingSecretSocket(std::string why) { info_.tls = true; info_.failure_reason = std::move(why); }
  bool is_tls() const override { return true; }
  void start(std::string&) override {}
  TransportResult on_network(std::string_view, std::string&, std::string&) override { return TransportResult::kFailed; }
  void write(std::string_view, std::string&) override {}
  void shutdown(std::string&) override {}
};

}  // namespace

std::unique_ptr<TransportSocket> TlsTransportFactory::make_server(const DownstreamTlsContext& ctx) {
  const tls::CertifiedKey* id = lookup_key(secrets_, ctx.certificate_secret);
  if (!id) return std::make_unique<MissingSecretSocket>("secret " + ctx.certificate_secret + " not ready");
  std::string key = "server|" + ctx.certificate_secret + "|" + ctx.validation_secret + "|" +
                    (ctx.require_client_certificate ? "req" : "opt") + "|" + join(ctx.alpn_protocols) +
                    std::to_string(static_cast<int>(ctx.min_version)) + std::to_string(static_cast<int>(ctx.max_version));
  tls::TlsContextConfig cfg;
  cfg.role = tls::TlsRole::kServer;
  cfg.name = key;
  cfg.identity = *id;
  cfg.trusted_roots = lookup_roots(secrets_, ctx.validation_secret);
  cfg.require_client_certificate = ctx.require_client_certificate;
  cfg.alpn = ctx.alpn_protocols;
  cfg.min_version = to_tls(ctx.min_version);
  cfg.max_version = to_tls(ctx.max_version);
  auto c = context_for(key, std::move(cfg));
  if (!c) return std::make_unique<MissingSecretSocket>("cannot build TLS context " + key);
  return std::make_unique<TlsTransportSocket>(std::move(c), tls::SessionOptions{}, local_uri_of(id));
}

std::unique_ptr<TransportSocket> TlsTransportFactory::make_client(const UpstreamTlsContext& ctx,
                                                                  const std::vector<std::string>& alpn_override,
                                                                  std::string_view session_key) {
  const tls::CertifiedKey* id = nullptr;
  if (!ctx.certificate_secret.empty()) {
    id = lookup_key(secrets_, ctx.certificate_secret);
    if (!id) return std::make_unique<MissingSecretSocket>("secret " + ctx.certificate_secret + " not ready");
  }
  std::string key = "client|" + std::string(session_key) + "|" + ctx.sni + "|" + ctx.certificate_secret + "|" +
                    ctx.validation_secret + "|" + join(ctx.alpn_protocols) + "|" + join(ctx.match_subject_alt_names);
  tls::TlsContextConfig cfg;
  cfg.role = tls::TlsRole::kClient;
  cfg.name = std::string(session_key);
  if (id) cfg.identity = *id;
  cfg.trusted_roots = lookup_roots(secrets_, ctx.validation_secret);
  cfg.match_subject_alt_names = ctx.match_subject_alt_names;
  cfg.alpn = ctx.alpn_protocols;
  cfg.sni = ctx.sni;
  cfg.min_version = to_tls(ctx.min_version);
  cfg.max_version = to_tls(ctx.max_version);
  auto c = context_for(key, std::move(cfg));
  if (!c) return std::make_unique<MissingSecretSocket>("cannot build TLS context " + key);
  tls::SessionOptions opts;
  opts.alpn = alpn_override;
  return std::make_unique<TlsTransportSocket>(std::move(c), std::move(opts), local_uri_of(id));
}

ClientHelloInfo TlsTransportFactory::inspect_client_hello(std::string_view first_bytes) {
  tls::ClientHelloInfo hi;
  tls::InspectResult r =
      tls::inspect_client_hello({reinterpret_cast<const uint8_t*>(first_bytes.data()), first_bytes.size()}, &hi);
  ClientHelloInfo out;
  switch (r) {
    case tls::InspectResult::kNeedMoreBytes: out.status = ClientHelloInfo::Status::kNeedMoreBytes; break;
    case tls::InspectResult::kTls:
      out.status = ClientHelloInfo::Status::kClientHello;
      out.server_name = hi.sni;
      out.alpn = hi.alpn;
      break;
    default: out.status = ClientHelloInfo::Status::kNotTls; break;
  }
  return out;
}

}  // namespace meshsim::proxy
