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
#include "bench/openssl_floor.h"
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

// The bare-OpenSSL floor (contexts configured like the engine's, a client/server
// pair over memory BIOs) is shared with sidecar_bench.
using meshsim::bench::BarePair;
using meshsim::bench::bare_ctx;

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
