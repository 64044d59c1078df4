// Failover benchmarks: the outlier detector's interval sweep over 1,000 hosts
// (target ≤ 50 µs), with its floor — a bare loop over the same host records
// reading the same fields — measured in the same binary and reported as a
// ratio; and a 3-zone mesh of 300 pods at 2,000 requests/s of virtual load
// with outlier detection on every cluster (target ≥ 100× faster than real
// time), reported as time compression (virtual seconds per wall second).
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "proxy/upstream/outlier_detection.h"
#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"

namespace {

using namespace meshsim;

class NullIo final : public proxy::Io {
 public:
  Duration now() const override { return now_; }
  proxy::ConnId connect(const SocketAddress&, Duration, std::optional<Ipv4>) override { return 0; }
  void send(proxy::ConnId, std::span<const uint8_t>) override {}
  void shutdown_write(proxy::ConnId) override {}
  void close(proxy::ConnId, proxy::CloseType) override {}
  uint64_t arm_timer(Duration, proxy::TimerToken) override { return 1; }
  void cancel_timer(uint64_t) override {}
  uint64_t random() override { return x_ = x_ * 6364136223846793005ULL + 1442695040888963407ULL; }
  Duration now_;
  uint64_t x_ = 1;
};

// What a sweep must read per host, laid out as a plain array: the floor.
struct BareHost {
  bool ejected;
  uint32_t backoff;
  int64_t last_ejection, last_unejection;
};

void BM_OutlierSweep_1000Hosts(benchmark::State& state) {
  constexpr int kHosts = 1000;
  NullIo io;
  proxy::SidecarStats stats;
  proxy::OutlierDetection cfg;
  cfg.max_ejection_percent = 100;
  cfg.base_ejection_time = Duration::hours(1);  // ejected hosts stay out: every sweep does the same work
  std::vector<proxy::LbEndpoint> eps(kHosts);
  std::vector<const proxy::LbEndpoint*> ptrs;
  for (int i = 0; i < kHosts; ++i) {
    eps[static_cast<size_t>(i)].address = {Ipv4{static_cast<uint32_t>(0x0A000000 + i)}, 8080};
    ptrs.push_back(&eps[static_cast<size_t>(i)]);
  }
  proxy::upstream::OutlierDetector od("outbound|8080||bench", cfg, io, stats, nullptr);
  od.sync_hosts(ptrs);
  // Every tenth host ejected.
  for (int i = 0; i < kHosts; i += 10) {
    for (int k = 0; k < 5; ++k) od.put_result(eps[static_cast<size_t>(i)].address, proxy::upstream::OutlierResult::kExtOriginRequestFailed, 500, Duration::zero());
  }
  // The floor, measured here so the ratio is of the same machine and moment.
  std::vector<BareHost> bare(kHosts);
  for (int i = 0; i < kHosts; ++i) bare[static_cast<size_t>(i)] = {i % 10 == 0, static_cast<uint32_t>(i % 10 == 0), 0, -1};
  auto floor_once = [&](int64_t now) {
    uint64_t n = 0;
    for (BareHost& h : bare) {
      if (h.ejected && now - h.last_ejection >= 3'600'000'000'000) h.ejected = false;
    }
    for (BareHost& h : bare) {
      if (!h.ejected && h.last_unejection >= 0 && now - h.last_unejection >= 10'000'000'000 && h.backoff) --h.backoff;
      n += h.backoff;
    }
    return n;
  };
  constexpr int kFloorRuns = 20000;
  auto f0 = std::chrono::steady_clock::now();
  uint64_t sink = 0;
  for (int i = 0; i < kFloorRuns; ++i) {
    sink += floor_once(10'000'000'000);
    benchmark::ClobberMemory();
  }
  auto f1 = std::chrono::steady_clock::now();
  benchmark::DoNotOptimize(sink);
  const double floor_ns = std::chrono::duration<double, std::nano>(f1 - f0).count() / kFloorRuns;
  // The same instant every time: the ejected hosts stay out, so every sweep
  // does the same work (checks 100 ejections, walks 900 healthy hosts).
  for (auto _ : state) {
    benchmark::DoNotOptimize(od.on_interval(Duration::seconds(10)));
  }
  state.counters["hosts"] = kHosts;
  state.counters["ejected"] = od.ejections_active();
  state.counters["floor_ns"] = floor_ns;
  state.counters["sweeps_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OutlierSweep_1000Hosts)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The floor on its own, so that its time per sweep sits beside the detector's
// in the same report: ratio = BM_OutlierSweep_1000Hosts / BM_OutlierSweepFloor_1000Hosts.
void BM_OutlierSweepFloor_1000Hosts(benchmark::State& state) {
  std::vector<BareHost> bare(1000);
  for (int i = 0; i < 1000; ++i) bare[static_cast<size_t>(i)] = {i % 10 == 0, static_cast<uint32_t>(i % 10 == 0), 0, -1};
  const int64_t now = 10'000'000'000;
  for (auto _ : state) {
    uint64_t n = 0;
    for (BareHost& h : bare) {
      if (h.ejected && now - h.last_ejection >= 3'600'000'000'000) h.ejected = false;
    }
    for (BareHost& h : bare) {
      if (!h.ejected && h.last_unejection >= 0 && now - h.last_unejection >= 10'000'000'000 && h.backoff) --h.backoff;
      n += h.backoff;
    }
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_OutlierSweepFloor_1000Hosts)->Unit(benchmark::kMicrosecond)->UseRealTime();

// 3 zones × 2 nodes, 30 services × 10 pods, a DestinationRule with
// outlierDetection per service, 20 clients at 100 requests/s each.
std::string three_zone_scenario(Duration duration, bool outlier_detection, bool fail_pods) {
  std::string s = "kind: Scenario\nname: three-zone-300-pods\nduration: " + format_duration(duration) + "\nmesh:\n  objects:\n";
  s += "  - {apiVersion: v1, kind: Namespace, metadata: {name: default, labels: {istio-injection: enabled}}}\n";
  for (int z = 0; z < 3; ++z) {
    for (int n = 0; n < 2; ++n) {
      s += "  - {apiVersion: v1, kind: Node, metadata: {name: node-z" + std::to_string(z) + "-" + std::to_string(n) +
           ", labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z" + std::to_string(z) + "}}}\n";
    }
  }
  for (int i = 0; i < 30; ++i) {
    std::string name = "svc" + std::to_string(i);
    s += "  - {apiVersion: v1, kind: Service, metadata: {name: " + name + ", namespace: default}, spec: {selector: {app: " + name +
         "}, ports: [{name: http, port: 8080, targetPort: 8080}]}}\n";
    s += "  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: " + name + ", namespace: default}, spec: {replicas: 10, "
         "selector: {matchLabels: {app: " + name + "}}, template: {metadata: {labels: {app: " + name + "}}, spec: {containers: "
         "[{name: app, image: docker.io/istio/examples-helloworld-v1, ports: [{containerPort: 8080}]}]}}}}\n";
    if (outlier_detection)
      s += "  - {apiVersion: networking.istio.io/v1, kind: DestinationRule, metadata: {name: " + name + ", namespace: default}, "
         "spec: {host: " + name + ", trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 10s, maxEjectionPercent: 50}}}}\n";
  }
  s += "apps:\n";
  for (int i = 0; i < 20; ++i) {
    s += "- client: c" + std::to_string(i) + "\n  from: default/svc" + std::to_string(i) + "\n  http: {url: \"http://svc" +
         std::to_string((i + 1) % 30) + ":8080/hello\", keepAlive: true}\n  rate: 100/s\n  concurrency: 2\n";
  }
  // With fail_pods, one pod of each target service answers half its requests
  // with 503 from 1 s on (ejections happen; note that the runner's story then
  // records every ok↔failing transition of a client, which dominates the wall time).
  if (fail_pods) {
    s += "timeline:\n";
    for (int i = 1; i <= 20; ++i) s += "- at: 1s\n  appFault: {pod: default/svc" + std::to_string(i % 30) + ", port: 8080, errorRate: 0.5}\n";
  }
  return s;
}

void BM_ThreeZoneMesh_300Pods_2000Rps(benchmark::State& state) {
  const Duration virt = Duration::seconds(state.range(0));
  auto load = sim::load_scenario_text(three_zone_scenario(virt, state.range(1) != 0, state.range(2) != 0), "bench.yaml", ".");
  if (!load.scenario) {
    state.SkipWithError(load.diagnostics.empty() ? "scenario" : load.diagnostics.front().format().c_str());
    return;
  }
  double wall = 0, virtual_s = 0;
  uint64_t requests = 0, ejections = 0;
  for (auto _ : state) {
    auto r = sim::run_scenario(*load.scenario, {});
    if (!r.ok()) {
      state.SkipWithError(r.message().c_str());
      return;
    }
    wall += r->wall_seconds;
    virtual_s += r->virtual_time.to_seconds();
    for (const auto& e : r->edges) requests += e.requests;
    if (r->failover)
      for (const auto& e : r->failover->events) ejections += e.action == "eject";
  }
  state.counters["time_compression"] = wall > 0 ? virtual_s / wall : 0;
  state.counters["virtual_rps"] = virtual_s > 0 ? static_cast<double>(requests) / virtual_s : 0;
  state.counters["ejections"] = static_cast<double>(ejections) / static_cast<double>(state.iterations());
  state.counters["pods"] = 300;
}
// Args: virtual seconds, outlier detection on every cluster (1) or none (0,
// the baseline), failing pods (1) or none.
BENCHMARK(BM_ThreeZoneMesh_300Pods_2000Rps)
    ->ArgNames({"virtual_s", "outlier_detection", "failing_pods"})
    ->Args({30, 1, 0})
    ->Args({30, 0, 0})
    ->Args({10, 1, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
