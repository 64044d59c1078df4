// The bare-OpenSSL floor that TLS-bearing benchmarks measure in their own
// binary: two SSL objects over BIO_s_mem pairs with meshsim's certificates,
// TLS 1.3 suites and groups (X25519, P-256), no meshsim code on the path.
// Header-only, for bench/ only (includes OpenSSL).
#pragma once

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "proxy/tls/certificates.h"
#include "proxy/tls/environment.h"

namespace meshsim::bench {

inline X509* x509_from(const tls::Certificate& c) {
  std::string pem = c.to_pem();
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return x;
}

inline EVP_PKEY* key_from(const tls::PrivateKey& k) {
  std::string pem = k.to_pem();
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* p = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return p;
}

// An SSL_CTX configured like the engine's contexts: mTLS, min 1.2 / max 1.3.
inline SSL_CTX* bare_ctx(bool server, const tls::CertifiedKey& id, const tls::Certificate& root) {
  tls::ensure_initialized();
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set1_groups_list(ctx, "X25519:P-256");
  X509* cert = x509_from(id.certificate);
  SSL_CTX_use_certificate(ctx, cert);
  X509_free(cert);
  for (const auto& c : id.chain) {
    X509* x = x509_from(c);
    SSL_CTX_add1_chain_cert(ctx, x);
    X509_free(x);
  }
  EVP_PKEY* key = key_from(id.key);
  SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  X509* r = x509_from(root);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), r);
  X509_free(r);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), nullptr);
  X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), tls::kEpochUnixSeconds + 60);
  static const unsigned char sid[] = "meshsim-bench";
  if (server) SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

// A client and a server SSL joined by memory BIOs.
struct BarePair {
  SSL* client = nullptr;
  SSL* server = nullptr;
  BIO* c_in = nullptr;   // what the client reads (server -> client)
  BIO* c_out = nullptr;  // what the client writes
  BIO* s_in = nullptr;
  BIO* s_out = nullptr;
  std::vector<unsigned char> buf = std::vector<unsigned char>(64 * 1024);

  BarePair(SSL_CTX* cctx, SSL_CTX* sctx, SSL_SESSION* resume = nullptr) {
    client = SSL_new(cctx);
    server = SSL_new(sctx);
    c_in = BIO_new(BIO_s_mem());
    c_out = BIO_new(BIO_s_mem());
    s_in = BIO_new(BIO_s_mem());
    s_out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(c_in, -1);
    BIO_set_mem_eof_return(s_in, -1);
    SSL_set_bio(client, c_in, c_out);
    SSL_set_bio(server, s_in, s_out);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    if (resume != nullptr) SSL_set_session(client, resume);
  }
  ~BarePair() {
    SSL_set_shutdown(client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_set_shutdown(server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(client);
    SSL_free(server);
  }
  BarePair(const BarePair&) = delete;
  BarePair& operator=(const BarePair&) = delete;

  // Moves pending bytes from one BIO to the other; true if any moved.
  bool move(BIO* from, BIO* to) {
    bool any = false;
    for (;;) {
      int n = BIO_read(from, buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) return any;
      BIO_write(to, buf.data(), n);
      any = true;
    }
  }
  bool handshake() {
    for (int i = 0; i < 16; ++i) {
      int c = SSL_do_handshake(client);
      move(c_out, s_in);
      int s = SSL_do_handshake(server);
      move(s_out, c_in);
      if (c == 1 && s == 1) {
        // Let the client take the server's tickets, as it would when reading a response.
        unsigned char b[16];
        SSL_read(client, b, sizeof b);
        ERR_clear_error();
        return true;
      }
    }
    return false;
  }
  // One exchange of `request` then `response` bytes over the established
  // session (each side encrypts once and decrypts once).
  void round_trip(const unsigned char* request, int request_len, const unsigned char* response, int response_len,
                  std::vector<unsigned char>& in) {
    SSL_write(client, request, request_len);
    move(c_out, s_in);
    SSL_read(server, in.data(), static_cast<int>(in.size()));
    SSL_write(server, response, response_len);
    move(s_out, c_in);
    SSL_read(client, in.data(), static_cast<int>(in.size()));
  }
};

// A client context that keeps the newest ticket in the slot pointed to by the
// SSL's app data (for resumption floors).
inline SSL_CTX* bare_resuming_client_ctx(const tls::CertifiedKey& id, const tls::Certificate& root) {
  SSL_CTX* c = bare_ctx(false, id, root);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(c, [](SSL* ssl, SSL_SESSION* sess) -> int {
    auto** slot = static_cast<SSL_SESSION**>(SSL_get_app_data(ssl));
    if (*slot != nullptr) SSL_SESSION_free(*slot);
    *slot = sess;
    return 1;
  });
  return c;
}

}  // namespace meshsim::bench
