// `meshsim whatif` at size (issue 17 §5): a truth table of K workloads ×
// K Service ports (+ the client outside the mesh), every cell probed through
// the full simulation (client sidecar, mTLS, server sidecar, app).
//
// Input: K Deployments (one pod each, own ServiceAccount) with one HTTP
// Service each, spread over 10 injected namespaces; no policies.
//
// Floor in the same binary: BM_ProbeOnBuiltSimulation — one probe_on (one
// connection and request, a fresh mTLS handshake between two sidecars: each
// iteration is a (source, destination) pair not probed before) on a
// simulation that is already built: the work a cell cannot avoid today. Counters: cells, cells_per_s,
// us_per_cell, floor_us (one probe), vs_floor (us_per_cell / floor_us:
// table bookkeeping, simulation build and per-backend retries on top),
// BM_TruthTable/K:1000/grouped:1/jobs:1 is the 1,000 × 1,000 table
// (jobs:2 the same with two worker processes).
//
//   build/default/bench/whatif_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>

#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "mesh/world.h"
#include "sim/runtime/mesh_simulation.h"
#include "sim/runtime/probe.h"
#include "sim/whatif/truth_table.h"

namespace {

using namespace meshsim;

std::shared_ptr<const mesh::World> mesh_of(int k) {
  std::string y;
  for (int n = 0; n < 10; ++n) {
    y += "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns" + std::to_string(n) + ", labels: {istio-injection: enabled}}\n---\n";
  }
  for (int i = 0; i < k; ++i) {
    std::string ns = "ns" + std::to_string(i % 10), name = "svc" + std::to_string(i);
    y += "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: " + name + ", namespace: " + ns + "}\n---\n";
    y += "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n  selector: {app: " + name +
         "}\n  ports: [{name: http, port: 8000, targetPort: 8080}]\n---\n";
    y += "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n  replicas: 1\n"
         "  selector: {matchLabels: {app: " + name + "}}\n  template:\n    metadata: {labels: {app: " + name + "}}\n    spec:\n"
         "      serviceAccountName: " + name + "\n      containers: [{name: app, image: echo, ports: [{containerPort: 8080}]}]\n---\n";
  }
  mesh::ResourceSet rs;
  std::vector<mesh::Diagnostic> diags;
  mesh::load_text(y, "whatif-bench.yaml", rs, diags);
  mesh::MeshConfig mc = mesh::resolve_mesh_config(rs, diags);
  return std::make_shared<const mesh::World>(mesh::build_world(std::move(rs), mc, diags));
}

double g_floor_us = 0;

void BM_ProbeOnBuiltSimulation(benchmark::State& state) {
  auto w = mesh_of(20);
  sim::MeshSimulationOptions mo;
  mo.kubelet_probes = false;
  sim::MeshSimulation ms(w, mo);
  if (!ms.build().ok()) state.SkipWithError("build failed");
  auto start = std::chrono::steady_clock::now();
  int64_t n = 0;
  for (auto _ : state) {
    sim::ProbeRequest req;
    int from = static_cast<int>(n / 19), to = static_cast<int>(n % 19);
    if (to >= from) ++to;
    req.from = "ns" + std::to_string(from % 10) + "/svc" + std::to_string(from);
    req.to = "svc" + std::to_string(to) + ".ns" + std::to_string(to % 10) + ".svc.cluster.local:8000";
    auto r = sim::probe_on(ms, req);
    if (!r.ok() || r->outcome != "ok" || !r->wire.mtls) state.SkipWithError("probe did not succeed over mTLS");
    ++n;
  }
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(n);
  g_floor_us = us;
  state.counters["floor_us"] = us;
}
BENCHMARK(BM_ProbeOnBuiltSimulation)->Unit(benchmark::kMicrosecond)->Iterations(380);  // 20 × 19 distinct pairs

// BM_TruthTable/K/grouped/jobs: the whole table, as `meshsim whatif -j JOBS`
// computes it (grouped = 1: one probe per source class × destination class ×
// relation, the default; 0: --exhaustive). K = 1000 grouped is the issue's
// 1,000 × 1,000.
void BM_TruthTable(benchmark::State& state) {
  auto w = mesh_of(static_cast<int>(state.range(0)));
  whatif::TableOptions o;
  o.jobs = static_cast<int>(state.range(2));
  o.group_sources = state.range(1) != 0;
  size_t cells = 0, probes = 0, classes = 0, dclasses = 0;
  auto start = std::chrono::steady_clock::now();
  int64_t n = 0;
  for (auto _ : state) {
    auto t = whatif::compute_table(w, o);
    if (!t.ok()) state.SkipWithError(t.message().c_str());
    cells = t->cells.size();
    probes = t->probes;
    classes = t->source_classes;
    dclasses = t->destination_classes;
    ++n;
  }
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(n);
  double per_cell = us / static_cast<double>(cells);
  state.counters["cells"] = static_cast<double>(cells);
  state.counters["probes"] = static_cast<double>(probes);
  state.counters["source_classes"] = static_cast<double>(classes);
  state.counters["destination_classes"] = static_cast<double>(dclasses);
  state.counters["table_s"] = us / 1e6;
  state.counters["us_per_cell"] = per_cell;
  state.counters["us_per_probe"] = us / static_cast<double>(probes);
  state.counters["floor_us"] = g_floor_us;
  // Per probed cell against one bare probe: simulation build, tries per backend, bookkeeping.
  if (g_floor_us > 0) state.counters["probe_vs_floor"] = us / static_cast<double>(probes) / g_floor_us;
}
BENCHMARK(BM_TruthTable)
    ->ArgNames({"K", "grouped", "jobs"})
    ->Args({60, 0, 1})
    ->Args({60, 1, 1})
    ->Args({300, 1, 1})
    ->Args({1000, 1, 1})
    ->Args({1000, 1, 2})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
