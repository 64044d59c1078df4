// MetricsRecorder turns the Istio standard metrics every simulated sidecar
// records (proxy::IstioMetrics) into Prometheus text for `meshsim run`:
//   --metrics FILE          the exposition of every sidecar at the end of the
//                           run, or with --metrics-interval D one sample of
//                           every series each D of virtual time, each sample
//                           line stamped with its virtual time in ms (one
//                           block per family);
//   --serve (publish)       the current exposition after every step, for an
//                           HTTP endpoint a real Prometheus scrapes, while
//                           the run paces itself to wall-clock × pace.
// Sidecars merge as a Prometheus kubernetes-pods scrape of every pod would
// show them: Envoy's labels of each series, then the target labels such a
// job adds, `namespace` and `pod` (docs/model/telemetry.md). Sidecars in
// "ns/pod" order. Reading metrics never changes the simulation: samples are
// taken between kernel steps (MeshSimulation::run_until), never as events.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/base/result.h"
#include "proxy/prometheus_text.h"
#include "sim/scenario/runner.h"

namespace meshsim::sim {

class MeshSimulation;

struct MetricsOptions {
  std::string file;          // "" = no file
  Duration interval;         // 0 = one exposition at the end
  double pace = 0;           // virtual seconds per wall second; 0 = as fast as possible
  bool help = true;          // # HELP lines (the documented deviation from Envoy)
  // Receives the latest exposition after every step (--serve).
  std::function<void(std::string text)> publish;
};

// The sources of every running sidecar with their namespace/pod labels.
std::vector<proxy::MetricsSource> metrics_sources(MeshSimulation& ms);
std::string metrics_exposition(MeshSimulation& ms, bool help = true);

// A `metric:` expectation against the end-of-run exposition of every sidecar
// (with its namespace/pod labels): the sum of the matching samples.
void evaluate_metric_expectation(const Expectation& x, MeshSimulation& ms, ExpectationVerdict& v);

class MetricsRecorder {
 public:
  explicit MetricsRecorder(MetricsOptions options);

  // Runs the simulation to `t`, stopping at every sample time on the way,
  // then waits for the wall clock when pacing, then publishes.
  void run_until(MeshSimulation& ms, Duration t);
  // Writes the file; appends "PATH (what)" to `outputs`.
  Status finish(MeshSimulation& ms, std::vector<std::string>& outputs);

 private:
  void sample(MeshSimulation& ms, Duration at);

  MetricsOptions o_;
  Duration next_sample_;
  std::array<std::string, std::size(proxy::kAllFamilies)> blocks_;  // sample lines per family
  size_t samples_ = 0;
  bool started_ = false;
  std::chrono::steady_clock::time_point wall0_;
};

}  // namespace meshsim::sim
