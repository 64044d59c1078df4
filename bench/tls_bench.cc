// TLS benchmarks: what the sidecar engine pays per record and per connection.
// The floor is bare OpenSSL in this binary — SSL objects over BIO_s_mem pairs,
// the same certificates, ciphers and groups — and every meshsim::tls run
// reports its rate as a ratio of the floor ("vs_openssl").
//
//   (a) RecordRoundTrip1KiB: client writes 1 KiB, server reads it and writes
//       1 KiB back, client reads it (established TLS 1.3 mTLS sessions).
//   (b) FullHandshake: a full TLS 1.3 mTLS handshake with P-256 certificates
//       and X25519, the server's two session tickets included (the client
//       reads them, as a client reading its first response does).
//   (c) ResumedHandshake: the same with a ticket from the previous connection.
//
//   build/default/bench/tls_bench
//   build/default/bench/tls_bench --benchmark_filter=RoundTrip
#include <benchmark/benchmark.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdlib>
#include <span>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "bench/alloc_counter.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls/client_hello_inspector.h"
#include "proxy/tls/decode_memo.h"
#include "proxy/tls/environment.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_session.h"
#include "sim/random.h"

using meshsim::bench::g_allocations;

namespace {

using meshsim::Duration;
using namespace meshsim::tls;

// One deterministic environment for the whole binary (the simulator's stream).
struct BenchEnvironment {
  meshsim::sim::RandomStream stream = meshsim::sim::RandomStream::derive(1, "tls/bench");
  EnvironmentScope scope{Environment{[this](unsigned char* p, std::size_t n) { stream.fill(p, n); }, nullptr, nullptr}};
};

BenchEnvironment& env() {
  static BenchEnvironment e;
  return e;
}

struct Pki {
  CertificateAuthority ca = CertificateAuthority::create_self_signed();
  CertifiedKey client = ca.issue_workload("cluster.local", "default", "productpage", Duration::zero(), Duration::hours(24));
  CertifiedKey server = ca.issue_workload("cluster.local", "default", "reviews", Duration::zero(), Duration::hours(24));
};

Pki& pki() {
  env();
  static Pki p;
  return p;
}

std::map<std::string, double>& floor_rates() {
  static std::map<std::string, double> rates;
  return rates;
}

// ----------------------------------------------------------------------------- bare OpenSSL

X509* x509_from(const Certificate& c) {
  std::string pem = c.to_pem();
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return x;
}

EVP_PKEY* key_from(const PrivateKey& k) {
  std::string pem = k.to_pem();
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* p = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return p;
}

SSL_CTX* bare_ctx(bool server, const CertifiedKey& id, const Certificate& root) {
  ensure_initialized();
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
  X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), kEpochUnixSeconds + 60);
  if (server) {
    static const unsigned char sid[] = "meshsim-bench";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  return ctx;
}

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
};

struct BareContexts {
  SSL_CTX* client = bare_ctx(false, pki().client, pki().ca.root());
  SSL_CTX* server = bare_ctx(true, pki().server, pki().ca.root());
};

BareContexts& bare() {
  static BareContexts b;
  return b;
}

// ----------------------------------------------------------------------------- meshsim::tls

struct ApiContexts {
  std::shared_ptr<TlsContext> client;
  std::shared_ptr<TlsContext> server;
  explicit ApiContexts(TlsVersion max_version) {
    TlsContextConfig c;
    c.max_version = max_version;
    c.role = TlsRole::kClient;
    c.identity = pki().client;
    c.trusted_roots = {pki().ca.root()};
    c.match_subject_alt_names = {"spiffe://cluster.local/ns/default/sa/reviews"};
    c.alpn = {"istio-peer-exchange", "istio"};
    c.sni = "outbound_.9080_._.reviews.default.svc.cluster.local";
    client = std::move(TlsContext::create(c)).value();
    TlsContextConfig s;
    s.role = TlsRole::kServer;
    s.identity = pki().server;
    s.trusted_roots = {pki().ca.root()};
    s.require_client_certificate = true;
    s.alpn = {"istio-peer-exchange", "h2", "http/1.1"};
    server = std::move(TlsContext::create(s)).value();
  }
};

// TLS 1.3 is what Istio's min 1.2 / max 1.3 negotiates; the TLS 1.2 variants
// (client max 1.2: ticket resumption without ECDHE) are for comparison.
ApiContexts& api(int version = 13) {
  static ApiContexts tls13(TlsVersion::kTls13);
  static ApiContexts tls12(TlsVersion::kTls12);
  return version == 12 ? tls12 : tls13;
}

// Moves a session's pending ciphertext into its peer.
inline bool transfer(TlsSession& from, TlsSession& to) {
  auto out = from.pending_output();
  if (out.empty()) return false;
  to.feed(out);
  from.consume_output(out.size());
  return true;
}

inline void drain(TlsSession& s, std::vector<uint8_t>& buf) {
  while (s.read(buf).status == IoStatus::kOk) {}
}

bool api_handshake(TlsSession& c, TlsSession& s, std::vector<uint8_t>& buf) {
  c.start();
  for (int i = 0; i < 16; ++i) {
    bool moved = transfer(c, s);
    moved |= transfer(s, c);
    drain(c, buf);
    if (!moved && c.established() && s.established()) return true;
  }
  return c.established() && s.established();
}

// ----------------------------------------------------------------------------- (a) records

void set_ratio(benchmark::State& state, const std::string& key, bool is_floor, double rate) {
  if (is_floor) {
    floor_rates()[key] = rate;
  } else if (auto it = floor_rates().find(key); it != floor_rates().end()) {
    state.counters["vs_openssl"] = rate / it->second;
  }
}

double rate_of(benchmark::State& state, double seconds) {
  return seconds > 0 ? static_cast<double>(state.iterations()) / seconds : 0;
}

void BM_OpenSslFloor_RecordRoundTrip1KiB(benchmark::State& state) {
  set_decode_memo_enabled(false);  // the floor is OpenSSL as shipped
  BarePair p(bare().client, bare().server);
  if (!p.handshake()) {
    state.SkipWithError("handshake failed");
    return;
  }
  std::vector<unsigned char> msg(1024, 'x'), in(16 * 1024);
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    SSL_write(p.client, msg.data(), 1024);
    p.move(p.c_out, p.s_in);
    int n = SSL_read(p.server, in.data(), static_cast<int>(in.size()));
    SSL_write(p.server, in.data(), n);
    p.move(p.s_out, p.c_in);
    n = SSL_read(p.client, in.data(), static_cast<int>(in.size()));
    benchmark::DoNotOptimize(n);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["round_trips_per_s"] = rate_of(state, secs);
  state.counters["us_per_round_trip"] = 1e6 / rate_of(state, secs);
  set_ratio(state, "rt", true, rate_of(state, secs));
}
BENCHMARK(BM_OpenSslFloor_RecordRoundTrip1KiB);

void BM_Tls_RecordRoundTrip1KiB(benchmark::State& state) {
  set_decode_memo_enabled(true);
  std::vector<uint8_t> buf(16 * 1024);
  TlsSession c(api().client), s(api().server);
  if (!api_handshake(c, s, buf)) {
    state.SkipWithError("handshake failed");
    return;
  }
  std::vector<uint8_t> msg(1024, 'x');
  uint64_t allocs0 = g_allocations;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    c.write(msg);
    transfer(c, s);
    IoResult r = s.read(buf);
    s.write(std::span(buf).first(r.bytes));
    transfer(s, c);
    r = c.read(buf);
    benchmark::DoNotOptimize(r);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["round_trips_per_s"] = rate_of(state, secs);
  state.counters["us_per_round_trip"] = 1e6 / rate_of(state, secs);
  state.counters["cxx_allocs_per_round_trip"] =
      static_cast<double>(g_allocations - allocs0) / static_cast<double>(state.iterations());
  set_ratio(state, "rt", false, rate_of(state, secs));
}
BENCHMARK(BM_Tls_RecordRoundTrip1KiB);

// ----------------------------------------------------------------------------- (b) full handshakes

void BM_OpenSslFloor_FullHandshake(benchmark::State& state) {
  set_decode_memo_enabled(false);  // the floor is OpenSSL as shipped
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    BarePair p(bare().client, bare().server);
    if (!p.handshake()) {
      state.SkipWithError("handshake failed");
      return;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["handshakes_per_s"] = rate_of(state, secs);
  state.counters["us_per_handshake"] = 1e6 / rate_of(state, secs);
  set_ratio(state, "full", true, rate_of(state, secs));
}
BENCHMARK(BM_OpenSslFloor_FullHandshake)->Unit(benchmark::kMicrosecond);

void BM_Tls_FullHandshake(benchmark::State& state) {
  set_decode_memo_enabled(true);
  std::vector<uint8_t> buf(16 * 1024);
  auto t0 = std::chrono::steady_clock::now();
  ApiContexts& ctx = api(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    ctx.client->clear_session_cache();
    TlsSession c(ctx.client), s(ctx.server);
    if (!api_handshake(c, s, buf) || c.info().resumed) {
      state.SkipWithError("full handshake failed");
      return;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["handshakes_per_s"] = rate_of(state, secs);
  state.counters["us_per_handshake"] = 1e6 / rate_of(state, secs);
  if (state.range(0) == 13) set_ratio(state, "full", false, rate_of(state, secs));
}
BENCHMARK(BM_Tls_FullHandshake)->ArgName("tls")->Arg(13)->Arg(12)->Unit(benchmark::kMicrosecond);

// ----------------------------------------------------------------------------- (c) resumed handshakes

void BM_OpenSslFloor_ResumedHandshake(benchmark::State& state) {
  set_decode_memo_enabled(false);  // the floor is OpenSSL as shipped
  // Floor contexts with a client that keeps the newest ticket.
  static SSL_CTX* cctx = [] {
    SSL_CTX* c = bare_ctx(false, pki().client, pki().ca.root());
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, [](SSL* ssl, SSL_SESSION* sess) -> int {
      auto** slot = static_cast<SSL_SESSION**>(SSL_get_app_data(ssl));
      if (*slot != nullptr) SSL_SESSION_free(*slot);
      *slot = sess;
      return 1;
    });
    return c;
  }();
  SSL_SESSION* ticket = nullptr;
  {
    BarePair p(cctx, bare().server);
    SSL_set_app_data(p.client, &ticket);
    p.handshake();
  }
  int resumed = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    SSL_SESSION* use = ticket;
    ticket = nullptr;
    BarePair p(cctx, bare().server, use);
    SSL_set_app_data(p.client, &ticket);
    SSL_SESSION_free(use);
    p.handshake();
    resumed += SSL_session_reused(p.client);
  }
  if (ticket) SSL_SESSION_free(ticket);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["handshakes_per_s"] = rate_of(state, secs);
  state.counters["us_per_handshake"] = 1e6 / rate_of(state, secs);
  state.counters["resumed_fraction"] = static_cast<double>(resumed) / static_cast<double>(state.iterations());
  set_ratio(state, "resumed", true, rate_of(state, secs));
}
BENCHMARK(BM_OpenSslFloor_ResumedHandshake)->Unit(benchmark::kMicrosecond);

void BM_Tls_ResumedHandshake(benchmark::State& state) {
  set_decode_memo_enabled(true);
  std::vector<uint8_t> buf(16 * 1024);
  ApiContexts& ctx = api(static_cast<int>(state.range(0)));
  ctx.client->clear_session_cache();
  {
    TlsSession c(ctx.client), s(ctx.server);
    api_handshake(c, s, buf);
  }
  int resumed = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    TlsSession c(ctx.client), s(ctx.server);
    api_handshake(c, s, buf);
    resumed += c.info().resumed;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["handshakes_per_s"] = rate_of(state, secs);
  state.counters["us_per_handshake"] = 1e6 / rate_of(state, secs);
  state.counters["resumed_fraction"] = static_cast<double>(resumed) / static_cast<double>(state.iterations());
  if (state.range(0) == 13) set_ratio(state, "resumed", false, rate_of(state, secs));
}
BENCHMARK(BM_Tls_ResumedHandshake)->ArgName("tls")->Arg(13)->Arg(12)->Unit(benchmark::kMicrosecond);

// ----------------------------------------------------------------------------- inspector

void BM_Tls_InspectClientHello(benchmark::State& state) {
  set_decode_memo_enabled(true);
  TlsSession c(api().client);
  c.start();
  auto hello = c.pending_output();
  std::vector<uint8_t> bytes(hello.begin(), hello.end());
  for (auto _ : state) {
    ClientHelloInfo info;
    benchmark::DoNotOptimize(inspect_client_hello(bytes, &info));
  }
  state.counters["inspections_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                           benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Tls_InspectClientHello);

}  // namespace

BENCHMARK_MAIN();
