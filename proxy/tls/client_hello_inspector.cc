#include "proxy/tls/client_hello_inspector.h"

#include <algorithm>
#include <cstring>

#include "proxy/base/check.h"
#include "proxy/tls/environment.h"
#include "proxy/tls/openssl_internal.h"

namespace meshsim::tls {

struct ClientHelloInspector::Impl {
  std::size_t max_size;
  SSL* ssl = nullptr;
  BIO* rbio = nullptr;  // owned by ssl
  std::size_t seen = 0;
  bool hello_seen = false;
  InspectResult result = InspectResult::kNeedMoreBytes;
  ClientHelloInfo info;

  ~Impl() { SSL_free(ssl); }
};

namespace {

// The inspector must not consume simulation randomness (it would make a run
// depend on how many connections were inspected); any draw inside it comes
// from this fixed source instead.
void fixed_random(unsigned char* out, std::size_t n) { std::memset(out, 0x5a, n); }

struct Reader {
  const unsigned char* p;
  std::size_t n;
  bool u8(unsigned& v) {
    if (n < 1) return false;
    v = p[0];
    p += 1;
    n -= 1;
    return true;
  }
  bool u16(unsigned& v) {
    if (n < 2) return false;
    v = (static_cast<unsigned>(p[0]) << 8) | p[1];
    p += 2;
    n -= 2;
    return true;
  }
  bool bytes(std::size_t len, Reader& sub) {
    if (n < len) return false;
    sub = {p, len};
    p += len;
    n -= len;
    return true;
  }
};

// Extension payloads (not TLS framing) are read the way Envoy's onALPN reads
// them with CBS: malformed contents are ignored, the real stack reports them.
void read_alpn(const unsigned char* p, std::size_t n, std::vector<std::string>* out) {
  Reader r{p, n}, list{};
  unsigned len = 0;
  if (!r.u16(len) || !r.bytes(len, list) || r.n != 0 || list.n < 2) return;
  std::vector<std::string> protocols;
  while (list.n > 0) {
    unsigned l = 0;
    Reader name{};
    if (!list.u8(l) || l == 0 || !list.bytes(l, name)) return;
    protocols.emplace_back(reinterpret_cast<const char*>(name.p), name.n);
  }
  *out = std::move(protocols);
}

void read_sni(const unsigned char* p, std::size_t n, std::string* out) {
  Reader r{p, n}, list{};
  unsigned len = 0;
  if (!r.u16(len) || !r.bytes(len, list)) return;
  while (list.n > 0) {
    unsigned type = 0, l = 0;
    Reader name{};
    if (!list.u8(type) || !list.u16(l) || !list.bytes(l, name)) return;
    if (type == TLSEXT_NAMETYPE_host_name) {
      out->assign(reinterpret_cast<const char*>(name.p), name.n);
      return;
    }
  }
}

void read_versions(const unsigned char* p, std::size_t n, std::vector<uint16_t>* out) {
  Reader r{p, n}, list{};
  unsigned len = 0;
  if (!r.u8(len) || !r.bytes(len, list)) return;
  unsigned v = 0;
  while (list.u16(v)) out->push_back(static_cast<uint16_t>(v));
}

int client_hello_callback(SSL* ssl, int* alert, void*) {
  auto* impl = static_cast<ClientHelloInspector::Impl*>(SSL_get_app_data(ssl));
  ClientHelloInfo& info = impl->info;
  const unsigned char* p = nullptr;
  std::size_t n = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &n) == 1) read_sni(p, n, &info.sni);
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &n) == 1) {
    read_alpn(p, n, &info.alpn);
  }
  info.legacy_version = static_cast<uint16_t>(SSL_client_hello_get0_legacy_version(ssl));
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p, &n) == 1) read_versions(p, n, &info.versions);
  if (info.versions.empty()) info.versions.push_back(info.legacy_version);
  int* exts = nullptr;
  std::size_t count = 0;
  if (SSL_client_hello_get1_extensions_present(ssl, &exts, &count) == 1) {
    info.extensions.assign(exts, exts + count);
    OPENSSL_free(exts);
  }
  impl->hello_seen = true;
  // Stop here: we have what we wanted (Envoy aborts with user_canceled too).
  *alert = SSL_AD_USER_CANCELLED;
  return SSL_CLIENT_HELLO_ERROR;
}

SSL_CTX* inspector_ctx() {
  static SSL_CTX* ctx = [] {
    EnvironmentScope scope(Environment{fixed_random, nullptr, nullptr});
    SSL_CTX* c = SSL_CTX_new(TLS_server_method());
    MESHSIM_CHECK(c != nullptr, "inspector SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_client_hello_cb(c, client_hello_callback, nullptr);
    return c;
  }();
  return ctx;
}

}  // namespace

std::string_view to_string(InspectResult r) {
  switch (r) {
    case InspectResult::kNeedMoreBytes: return "need_more_bytes";
    case InspectResult::kTls: return "tls";
    case InspectResult::kNotTls: return "not_tls";
    case InspectResult::kClientHelloTooLarge: return "client_hello_too_large";
  }
  return "?";
}

ClientHelloInspector::ClientHelloInspector(std::size_t max_client_hello_size) : impl_(std::make_unique<Impl>()) {
  ensure_initialized();
  impl_->max_size = max_client_hello_size;
  SSL_CTX* ctx = inspector_ctx();
  EnvironmentScope scope(Environment{fixed_random, nullptr, nullptr});
  impl_->ssl = SSL_new(ctx);
  MESHSIM_CHECK(impl_->ssl != nullptr, "inspector SSL_new failed");
  impl_->rbio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(impl_->rbio, -1);  // "more data may come", never EOF
  SSL_set_bio(impl_->ssl, impl_->rbio, BIO_new(BIO_s_null()));
  SSL_set_app_data(impl_->ssl, impl_.get());
  SSL_set_accept_state(impl_->ssl);
}

ClientHelloInspector::~ClientHelloInspector() = default;
ClientHelloInspector::ClientHelloInspector(ClientHelloInspector&&) noexcept = default;
ClientHelloInspector& ClientHelloInspector::operator=(ClientHelloInspector&&) noexcept = default;

InspectResult ClientHelloInspector::inspect(std::span<const uint8_t> peeked) {
  Impl& s = *impl_;
  if (s.result != InspectResult::kNeedMoreBytes) return s.result;
  std::size_t limit = std::min(peeked.size(), s.max_size);
  if (limit <= s.seen) return s.result;
  EnvironmentScope scope(Environment{fixed_random, nullptr, nullptr});
  BIO_write(s.rbio, peeked.data() + s.seen, static_cast<int>(limit - s.seen));
  s.seen = limit;
  int r = SSL_do_handshake(s.ssl);
  int e = SSL_get_error(s.ssl, r);
  if (s.hello_seen) {
    s.result = InspectResult::kTls;
  } else if (e == SSL_ERROR_WANT_READ) {
    if (s.seen >= s.max_size) s.result = InspectResult::kClientHelloTooLarge;
  } else {
    s.result = InspectResult::kNotTls;
  }
  ERR_clear_error();
  return s.result;
}

InspectResult ClientHelloInspector::result() const { return impl_->result; }
const ClientHelloInfo& ClientHelloInspector::info() const { return impl_->info; }
std::size_t ClientHelloInspector::bytes_seen() const { return impl_->seen; }

InspectResult inspect_client_hello(std::span<const uint8_t> bytes, ClientHelloInfo* info) {
  ClientHelloInspector inspector;
  InspectResult r = inspector.inspect(bytes);
  if (info != nullptr && r == InspectResult::kTls) *info = inspector.info();
  return r;
}

}  // namespace meshsim::tls
