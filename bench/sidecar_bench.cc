// Sidecar benchmarks (issue 5 §9): the whole path of a request through the
// simulation, on one core —
//
//   client app ─▶ client sidecar ─(Istio mTLS)─▶ server sidecar ─▶ echo app
//
// with real OpenSSL records, Beast HTTP/1.1 parsing in both sidecars and both
// apps, virtual TCP between every pair and the discrete-event kernel under it.
//
//   (a) KeepAliveRequests: HTTP/1.1 requests on keep-alive connections,
//       closed loop (each worker sends the next request when the response is
//       in). Target ≥ 85,000 simulated requests per wall-clock second.
//   (b) NewMtlsConnections: each attempt is a new TCP connection from the app
//       (tcp_proxy in both sidecars), so each is a new mTLS connection between
//       the sidecars, resumed from the client sidecar's session cache as Envoy
//       does. Target ≥ 5,000 per second.
//   (c) KeepAliveRequests_10AuthzPolicies: (a) with 10 ALLOW
//       AuthorizationPolicies on the server, the request matching the last;
//       counter vs_no_policy = its rate / (a)'s (same worker count, mean of
//       (a)'s repetitions, same binary). Target ≥ 0.90.
//
// The floors are bare OpenSSL in this binary (bench/openssl_floor.h): a
// 1 KiB record round trip (one write + read each way: the TLS work two
// sidecars do per request) and a resumed TLS 1.3 mTLS handshake (both ends).
// Rates are per CPU-second of the benchmark thread (CLOCK_THREAD_CPUTIME_ID),
// so other load on the machine does not count against the simulation.
// Counters: requests_per_s / connections_per_s, us_per_request /
// us_per_connection, the floor's µs, vs_floor (rate / floor rate) and
// floor_share (how much of each request the floor accounts for),
// allocs_per_request (C++ operator new calls per request), resumed_fraction.
//
//   build/default/bench/sidecar_bench
//   build/default/bench/sidecar_bench --benchmark_filter=KeepAlive
//
// Instructions per request, independent of machine load (callgrind counts
// only the timed loop; divide by requests_measured):
//   valgrind --tool=callgrind --toggle-collect='*measured_run_for*'
//     build/default/bench/sidecar_bench --benchmark_filter='KeepAlive.*workers:1' --benchmark_min_time=0.000001
#include <benchmark/benchmark.h>

#include <time.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <string>

#include "bench/alloc_counter.h"
#include "bench/openssl_floor.h"
#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "proxy/tls/certificates.h"
#include "sim/runtime/mesh_simulation.h"

using meshsim::bench::g_allocations;

namespace {

using meshsim::Duration;
using namespace meshsim;

constexpr const char* kMesh = R"(
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: httpbin, namespace: default}
---
apiVersion: v1
kind: Pod
metadata: {name: httpbin, namespace: default, labels: {app: httpbin}}
spec:
  serviceAccountName: httpbin
  containers: [{name: httpbin, image: istio/app, ports: [{containerPort: 8080}, {containerPort: 8081}, {containerPort: 9000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: default}
spec:
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: 8080}, {name: http2, port: 8001, targetPort: 8081}, {name: tcp, port: 9000}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sleep, namespace: default}
---
apiVersion: v1
kind: Pod
metadata: {name: sleep, namespace: default, labels: {app: sleep}}
spec:
  serviceAccountName: sleep
  containers: [{name: sleep, image: curlimages/curl}]
)";

// (c) the same mesh with 10 ALLOW AuthorizationPolicies selecting httpbin, one
// rule each (principals, methods, paths); the client's requests (sleep, GET
// /get) match only the last one. The server sidecar's RBAC filter decides
// every request (its index narrows the ten to the one filed under the
// client's principal, proxy/rbac.h).
std::string authz_policies() {
  std::string y;
  for (int i = 0; i < 10; ++i) {
    bool last = i == 9;
    y += "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n";
    y += "metadata: {name: allow-" + std::to_string(i) + ", namespace: default}\n";
    y += "spec:\n  selector: {matchLabels: {app: httpbin}}\n  action: ALLOW\n  rules:\n";
    y += std::string("  - from: [{source: {principals: [\"cluster.local/ns/default/sa/") + (last ? "sleep" : "team-" + std::to_string(i)) +
         "\"]}}]\n";
    y += std::string("    to: [{operation: {methods: [GET, POST], paths: [\"") + (last ? "/get" : "/team-" + std::to_string(i) + "/*") +
         "\"]}}]\n";
  }
  return y;
}

std::shared_ptr<const mesh::World> make_world(const std::string& yaml) {
  mesh::ResourceSet rs;
  std::vector<mesh::Diagnostic> diags;
  mesh::load_text(yaml, "bench.yaml", rs, diags);
  mesh::MeshConfig mc = mesh::resolve_mesh_config(rs, diags);
  return std::make_shared<const mesh::World>(mesh::build_world(std::move(rs), mc, diags));
}

std::shared_ptr<const mesh::World> world() {
  static std::shared_ptr<const mesh::World> w = make_world(kMesh);
  return w;
}

// A Zipkin provider (FQDN) and a mesh-wide Telemetry at 100%: every request
// makes a CLIENT and a SERVER span with all their tags, and B3 headers go
// upstream from both sidecars.
std::shared_ptr<const mesh::World> world_with_tracing() {
  static std::shared_ptr<const mesh::World> w = make_world(std::string(kMesh) + R"(
---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: installed, namespace: istio-system}
spec:
  meshConfig:
    extensionProviders:
    - name: zipkin
      zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
---
apiVersion: v1
kind: Service
metadata: {name: zipkin, namespace: istio-system}
spec: {selector: {app: zipkin}, ports: [{name: http-query, port: 9411}]}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - providers: [{name: zipkin}]
    randomSamplingPercentage: 100
)");
  return w;
}

std::shared_ptr<const mesh::World> world_with_authz() {
  static std::shared_ptr<const mesh::World> w = make_world(std::string(kMesh) + authz_policies());
  return w;
}

// The same mesh with Istio's standard metrics turned off (a mesh-wide
// Telemetry disabling every metric): no istio.stats filter on any sidecar.
std::shared_ptr<const mesh::World> world_without_stats() {
  static std::shared_ptr<const mesh::World> w = make_world(
      std::string(kMesh) +
      "---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: mesh-default, namespace: istio-system}\n"
      "spec:\n  metrics:\n  - overrides:\n    - disabled: true\n");
  return w;
}

// CPU time of this thread, in seconds: "on one core" means the simulation's
// own CPU, whatever else the machine runs meanwhile.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::map<std::string, double>& floors() {
  static std::map<std::string, double> f;  // name → µs per operation
  return f;
}

// ------------------------------------------------------------------ floors --

struct FloorPki {
  sim::RandomStream stream = sim::RandomStream::derive(1, "bench/floor");
  tls::Environment env{[this](unsigned char* p, std::size_t n) { stream.fill(p, n); }, nullptr, nullptr};
  std::optional<tls::CertificateAuthority> ca;
  tls::CertifiedKey client, server;
  FloorPki() {
    tls::EnvironmentScope scope(&env);
    ca.emplace(tls::CertificateAuthority::create_self_signed());
    client = ca->issue_workload("cluster.local", "default", "sleep", Duration::zero(), Duration::hours(24));
    server = ca->issue_workload("cluster.local", "default", "httpbin", Duration::zero(), Duration::hours(24));
  }
};

FloorPki& floor_pki() {
  static FloorPki p;
  return p;
}

void BM_OpenSslFloor_RecordRoundTrip1KiB(benchmark::State& state) {
  FloorPki& pki = floor_pki();
  tls::EnvironmentScope scope(&pki.env);
  SSL_CTX* cctx = bench::bare_ctx(false, pki.client, pki.ca->root());
  SSL_CTX* sctx = bench::bare_ctx(true, pki.server, pki.ca->root());
  {
    bench::BarePair p(cctx, sctx);
    if (!p.handshake()) {
      state.SkipWithError("handshake failed");
      return;
    }
    std::vector<unsigned char> msg(1024, 'x'), in(16 * 1024);
    double t0 = thread_cpu_seconds();
    for (auto _ : state) p.round_trip(msg.data(), 1024, msg.data(), 1024, in);
    double secs = thread_cpu_seconds() - t0;
    double us = secs * 1e6 / static_cast<double>(state.iterations());
    state.counters["us_per_round_trip"] = us;
    floors()["record"] = us;
  }
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}
BENCHMARK(BM_OpenSslFloor_RecordRoundTrip1KiB);

void BM_OpenSslFloor_ResumedHandshake(benchmark::State& state) {
  FloorPki& pki = floor_pki();
  tls::EnvironmentScope scope(&pki.env);
  SSL_CTX* cctx = bench::bare_resuming_client_ctx(pki.client, pki.ca->root());
  SSL_CTX* sctx = bench::bare_ctx(true, pki.server, pki.ca->root());
  SSL_SESSION* ticket = nullptr;
  {
    bench::BarePair p(cctx, sctx);
    SSL_set_app_data(p.client, &ticket);
    p.handshake();
  }
  int resumed = 0;
  double t0 = thread_cpu_seconds();
  for (auto _ : state) {
    SSL_SESSION* use = ticket;
    ticket = nullptr;
    bench::BarePair p(cctx, sctx, use);
    SSL_set_app_data(p.client, &ticket);
    SSL_SESSION_free(use);
    p.handshake();
    resumed += SSL_session_reused(p.client);
  }
  double secs = thread_cpu_seconds() - t0;
  if (ticket) SSL_SESSION_free(ticket);
  double us = secs * 1e6 / static_cast<double>(state.iterations());
  state.counters["us_per_handshake"] = us;
  state.counters["resumed_fraction"] = static_cast<double>(resumed) / static_cast<double>(state.iterations());
  floors()["resumed"] = us;
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}
BENCHMARK(BM_OpenSslFloor_ResumedHandshake)->Unit(benchmark::kMicrosecond);

// -------------------------------------------------------- the simulation --

struct Mesh {
  std::unique_ptr<sim::MeshSimulation> ms;
  sim::ClientApp* client = nullptr;

  Mesh(const std::string& protocol, const std::string& target, int concurrency,
       std::shared_ptr<const mesh::World> w = world()) {
    sim::MeshSimulationOptions o;
    o.kubelet_probes = false;
    ms = std::make_unique<sim::MeshSimulation>(std::move(w), o);
    if (!ms->build().ok()) return;
    sim::ClientRequestSpec spec;
    spec.protocol = protocol;
    spec.target = target;
    spec.path = "/get";
    spec.keep_alive = true;
    sim::ClientSchedule sched;
    sched.count = -1;
    sched.concurrency = concurrency;
    client = ms->add_client(ms->host_of("default", "sleep"), "bench", spec, sched);
  }
  // Runs the simulation for `d` of virtual time.
  void run_for(Duration d) { ms->run_until(ms->sim().now() + d); }
  // The same, for the timed loop only (a separate symbol, so callgrind's
  // --toggle-collect can count just the measured work).
  [[gnu::noinline]] void measured_run_for(Duration d) { ms->run_until(ms->sim().now() + d); }
};

void report(benchmark::State& state, const char* what, uint64_t ops, double secs, uint64_t allocs,
            const char* floor_name) {
  double rate = static_cast<double>(ops) / secs;
  double us = 1e6 / rate;
  state.counters[std::string(what) + "_per_s"] = rate;
  state.counters[std::string("us_per_") + (std::string(what) == "requests" ? "request" : "connection")] = us;
  state.counters["allocs_per_op"] = static_cast<double>(allocs) / static_cast<double>(ops);
  auto it = floors().find(floor_name);
  if (it != floors().end()) {
    state.counters["floor_us"] = it->second;
    state.counters["vs_floor"] = rate / (1e6 / it->second);
    state.counters["floor_share"] = it->second / us;
  }
}

// Requests per CPU-second of the no-policy keep-alive runs, by worker count
// (mean over repetitions), for (c)'s ratio.
std::map<int64_t, std::pair<double, int>>& keep_alive_rates() {
  static std::map<int64_t, std::pair<double, int>> r;
  return r;
}

// Sum of the server sidecar's `*.rbac.allowed` / `*.rbac.denied` counters.
uint64_t rbac_count(const sim::SidecarHost& host, std::string_view suffix) {
  uint64_t n = 0;
  for (const auto& [name, v] : host.stats().named)
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) n += v;
  return n;
}

// (a) keep-alive HTTP/1.1 requests over mTLS through two sidecars;
// (c) the same with 10 AuthorizationPolicies on the server (`authz`).
enum class Variant { kPlain, kAuthz, kTracing, kNoStats };
void keep_alive(benchmark::State& state, Variant variant) {
  const bool authz = variant == Variant::kAuthz;
  const bool stats = variant != Variant::kNoStats;
  Mesh m("http", "httpbin:8000", static_cast<int>(state.range(0)),
         authz ? world_with_authz()
               : variant == Variant::kTracing ? world_with_tracing()
                                              : (stats ? world() : world_without_stats()));
  if (!m.client) {
    state.SkipWithError("simulation did not build");
    return;
  }
  m.run_for(Duration::millis(100));  // connections and the TLS session are up
  sim::SidecarHost* server = m.ms->sidecar("default", "httpbin");
  uint64_t done0 = m.client->completed(), ok0 = m.client->succeeded();
  uint64_t allowed0 = rbac_count(*server, ".rbac.allowed");
  sim::SidecarHost* client_sidecar = m.ms->sidecar("default", "sleep");
  uint64_t sent0 = server->stats().tracing_spans_sent + client_sidecar->stats().tracing_spans_sent;
  uint64_t allocs0 = g_allocations;
  double t0 = thread_cpu_seconds();
  for (auto _ : state) m.measured_run_for(Duration::millis(5));
  double secs = thread_cpu_seconds() - t0;
  uint64_t done = m.client->completed() - done0;
  if (m.client->succeeded() - ok0 != done || done == 0) {
    state.SkipWithError("requests failed");
    return;
  }
  uint64_t allowed = rbac_count(*server, ".rbac.allowed") - allowed0;
  // Every request passes the server's RBAC filter (requests in flight at
  // either end of the window shift the two counts by at most one per worker).
  uint64_t workers = static_cast<uint64_t>(state.range(0));
  if (authz && (allowed + workers < done || rbac_count(*server, ".rbac.denied") != 0)) {
    state.SkipWithError("the RBAC filter did not allow every request");
    return;
  }
  report(state, "requests", done, secs, g_allocations - allocs0, "record");
  // Requests of every run of this benchmark in the process (callgrind
  // counts the timed loops of all runs).
  static uint64_t measured_all_runs = 0;
  measured_all_runs += done;
  state.counters["requests_measured"] = static_cast<double>(measured_all_runs);
  state.counters["mtls_connections"] = static_cast<double>(server->stats().ssl_handshake);
  double rate = static_cast<double>(done) / secs;
  auto& base = keep_alive_rates()[state.range(0)];
  uint64_t recorded = 0;
  if (const proxy::IstioMetrics* im = server->sidecar().metrics())
    for (const auto& s : im->http_series()) recorded += s->requests;
  state.counters["istio_requests_recorded"] = static_cast<double>(recorded);
  if (!stats) {
    if (recorded != 0) {
      state.SkipWithError("the stats filter ran although metrics are disabled");
      return;
    }
    // Requests per second with stats (the default run above) over without.
    if (base.second > 0) {
      double with = base.first / base.second;
      state.counters["with_stats_vs_without"] = with / rate;
      state.counters["stats_us_per_request"] = 1e6 / with - 1e6 / rate;
    }
    return;
  }
  if (variant == Variant::kTracing) {
    // Two sampled spans per request, each with its ~25 tags built and handed
    // to the sidecar's span sink (requests in flight at the window's ends
    // shift the count by at most two per worker).
    uint64_t sampled = server->stats().tracing_spans_sent + client_sidecar->stats().tracing_spans_sent - sent0;
    if (sampled + 2 * workers < 2 * done) {
      state.SkipWithError("not every request was traced");
      return;
    }
    state.counters["spans_per_request"] = static_cast<double>(sampled) / static_cast<double>(done);
    if (base.second > 0) state.counters["vs_no_policy"] = rate / (base.first / base.second);
  } else if (!authz) {
    base.first += rate;
    base.second += 1;
  } else {
    state.counters["rbac_allowed_per_request"] = static_cast<double>(allowed) / static_cast<double>(done);
    if (base.second > 0) state.counters["vs_no_policy"] = rate / (base.first / base.second);
  }
}

void BM_Sidecar_KeepAliveRequests(benchmark::State& state) { keep_alive(state, Variant::kPlain); }
BENCHMARK(BM_Sidecar_KeepAliveRequests)->ArgName("workers")->Arg(1)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);

// Issue 10 §6: HTTP/2 over one mTLS connection with 16 concurrent streams
// through two sidecars — 16 keep-alive HTTP/1.1 clients to an `http2` port,
// which the client sidecar multiplexes onto one upstream HTTP/2 connection
// (and the server sidecar onto one h2c connection to the app). Target:
// vs_http1_keep_alive >= 1 (the HTTP/1.1 keep-alive rate at the same
// concurrency, measured above in this process).
void BM_Sidecar_Http2Streams(benchmark::State& state) {
  Mesh m("http", "httpbin:8001", static_cast<int>(state.range(0)));
  if (!m.client) {
    state.SkipWithError("simulation did not build");
    return;
  }
  m.run_for(Duration::millis(100));
  sim::SidecarHost* server = m.ms->sidecar("default", "httpbin");
  sim::SidecarHost* client_sidecar = m.ms->sidecar("default", "sleep");
  uint64_t done0 = m.client->completed(), ok0 = m.client->succeeded();
  uint64_t allocs0 = g_allocations;
  double t0 = thread_cpu_seconds();
  for (auto _ : state) m.measured_run_for(Duration::millis(5));
  double secs = thread_cpu_seconds() - t0;
  uint64_t done = m.client->completed() - done0;
  if (m.client->succeeded() - ok0 != done || done == 0) {
    state.SkipWithError("requests failed");
    return;
  }
  // Every stream went over the one mTLS connection between the sidecars.
  if (client_sidecar->stats().upstream_cx_http2_total != 1 || server->stats().ssl_handshake != 1 ||
      server->stats().downstream_cx_http2 != 1) {
    state.SkipWithError("the requests did not share one HTTP/2 mTLS connection");
    return;
  }
  report(state, "requests", done, secs, g_allocations - allocs0, "record");
  state.counters["streams_on_connection"] = static_cast<double>(server->stats().downstream_rq_http2_total);
  static uint64_t measured_all_runs = 0;  // for callgrind, as in keep_alive
  measured_all_runs += done;
  state.counters["requests_measured"] = static_cast<double>(measured_all_runs);
  double rate = static_cast<double>(done) / secs;
  auto it = keep_alive_rates().find(state.range(0));
  if (it != keep_alive_rates().end() && it->second.second > 0) {
    double h1 = it->second.first / it->second.second;
    state.counters["http1_keep_alive_per_s"] = h1;
    state.counters["vs_http1_keep_alive"] = rate / h1;
  }
}
BENCHMARK(BM_Sidecar_Http2Streams)->ArgName("streams")->Arg(16)->Unit(benchmark::kMillisecond);

// The cost of istio.stats (both sidecars record every request): the same
// keep-alive run with metrics disabled mesh-wide; with_stats_vs_without is the
// request rate with the filter over the rate without it.
void BM_Sidecar_KeepAliveRequests_WithoutStats(benchmark::State& state) { keep_alive(state, Variant::kNoStats); }
BENCHMARK(BM_Sidecar_KeepAliveRequests_WithoutStats)->ArgName("workers")->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);

// (c) Target: vs_no_policy >= 0.90 (issue 12 §6).
void BM_Sidecar_KeepAliveRequests_10AuthzPolicies(benchmark::State& state) { keep_alive(state, Variant::kAuthz); }
BENCHMARK(BM_Sidecar_KeepAliveRequests_10AuthzPolicies)->ArgName("workers")->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);

// Issue 13 §8: tracing at 100% (Zipkin, every span reported and read).
// Targets: requests_per_s >= 70,000 and vs_no_policy >= 0.80.
void BM_Sidecar_KeepAliveRequests_Tracing100(benchmark::State& state) { keep_alive(state, Variant::kTracing); }
BENCHMARK(BM_Sidecar_KeepAliveRequests_Tracing100)->ArgName("workers")->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);

// (b) new mTLS connections between the sidecars, resumed.
void BM_Sidecar_NewMtlsConnections(benchmark::State& state) {
  Mesh m("tcp", "httpbin:9000", static_cast<int>(state.range(0)));
  if (!m.client) {
    state.SkipWithError("simulation did not build");
    return;
  }
  m.run_for(Duration::millis(100));
  sim::SidecarHost* server = m.ms->sidecar("default", "httpbin");
  uint64_t done0 = m.client->completed(), ok0 = m.client->succeeded();
  uint64_t hs0 = server->stats().ssl_handshake, reused0 = server->stats().ssl_session_reused;
  uint64_t allocs0 = g_allocations;
  double t0 = thread_cpu_seconds();
  for (auto _ : state) m.measured_run_for(Duration::millis(20));
  double secs = thread_cpu_seconds() - t0;
  uint64_t done = m.client->completed() - done0;
  if (m.client->succeeded() - ok0 != done || done == 0) {
    state.SkipWithError("connections failed");
    return;
  }
  report(state, "connections", done, secs, g_allocations - allocs0, "resumed");
  uint64_t hs = server->stats().ssl_handshake - hs0;
  state.counters["resumed_fraction"] =
      hs ? static_cast<double>(server->stats().ssl_session_reused - reused0) / static_cast<double>(hs) : 0;
}
BENCHMARK(BM_Sidecar_NewMtlsConnections)->ArgName("workers")->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
