// Size benchmark for the mesh model: load + validate + derive a generated
// mesh of 10,000 pods, 2,000 services and 2,000 policies (target: <= 2 s and
// <= 1 GB on the dev machine). The floor is yaml-cpp's event parser on the
// same text with a handler that does nothing — the cost no loader built on
// yaml-cpp can avoid — measured in this binary; "vs_yaml_floor" is the ratio.
//
//   build/default/bench/mesh_load_bench
//   build/default/bench/mesh_load_bench --benchmark_filter=LoadValidateDerive
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <chrono>
#include <sstream>

#include "bench/mesh_generator.h"
#include "mesh/analyzers.h"
#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "mesh/world.h"

namespace {

using meshsim::bench::MeshShape;

const std::string& mesh_text() {
  static const std::string text = meshsim::bench::generate_mesh_yaml(MeshShape{});
  return text;
}

double peak_rss_mb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double& floor_seconds() {
  static double s = 0;
  return s;
}

class NullHandler : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override { ++scalars; }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  uint64_t scalars = 0;
};

void BM_YamlCppEventFloor(benchmark::State& state) {
  const std::string& text = mesh_text();
  double total = 0;
  int64_t runs = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    std::istringstream in(text);
    YAML::Parser p(in);
    NullHandler h;
    while (p.HandleNextDocument(h)) {
    }
    benchmark::DoNotOptimize(h.scalars);
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++runs;
  }
  floor_seconds() = total / static_cast<double>(runs);
  state.counters["bytes_per_s"] = benchmark::Counter(static_cast<double>(text.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_YamlCppEventFloor)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_LoadValidateDerive(benchmark::State& state) {
  const std::string& text = mesh_text();
  size_t pods = 0, services = 0, errors = 0, objects = 0;
  double total = 0;
  int64_t runs = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    meshsim::mesh::ResourceSet rs;
    std::vector<meshsim::mesh::Diagnostic> diags;
    meshsim::mesh::load_text(text, "generated.yaml", rs, diags);
    objects = rs.object_count();
    meshsim::mesh::MeshConfig mc = meshsim::mesh::resolve_mesh_config(rs, diags);
    meshsim::mesh::World w = meshsim::mesh::build_world(std::move(rs), std::move(mc), diags);
    pods = w.pods().size();
    services = w.services().size();
    errors = static_cast<size_t>(meshsim::mesh::has_errors(diags));
    benchmark::DoNotOptimize(w);
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++runs;
  }
  double secs = total / static_cast<double>(runs);
  state.counters["seconds"] = secs;
  state.counters["peak_rss_mb"] = peak_rss_mb();
  state.counters["pods"] = static_cast<double>(pods);
  state.counters["services"] = static_cast<double>(services);
  state.counters["objects"] = static_cast<double>(objects);
  state.counters["input_mb"] = static_cast<double>(text.size()) / 1e6;
  state.counters["has_errors"] = static_cast<double>(errors);
  if (floor_seconds() > 0) state.counters["vs_yaml_floor"] = secs / floor_seconds();
}
BENCHMARK(BM_LoadValidateDerive)->Unit(benchmark::kMillisecond)->Iterations(3);

// The analyzers of `meshsim analyze` over the same world (not part of the 2 s target;
// measured so that analyze stays usable at this size).
void BM_AnalyzeWorld(benchmark::State& state) {
  meshsim::mesh::ResourceSet rs;
  std::vector<meshsim::mesh::Diagnostic> diags;
  meshsim::mesh::load_text(mesh_text(), "generated.yaml", rs, diags);
  meshsim::mesh::MeshConfig mc = meshsim::mesh::resolve_mesh_config(rs, diags);
  meshsim::mesh::World w = meshsim::mesh::build_world(std::move(rs), std::move(mc), diags);
  size_t findings = 0;
  for (auto _ : state) {
    auto out = meshsim::mesh::analyze_world(w);
    findings = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_AnalyzeWorld)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
