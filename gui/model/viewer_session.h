// ViewerSession is what meshsim-gui's controls drive, without Qt: a scenario
// played step by step (sim::ScenarioSession), the Recording of its verdicts
// and actions, and the GraphModel at the time being shown.
//
//  * Live: seek(t) beyond what has been simulated runs the simulation to t
//    (the observer records every verdict), then replays the new records.
//  * Backwards: seek(t) before the model's time rebuilds the model from the
//    recording (Recording::model_at) — deterministic replay, no re-simulation.
//  * Recorded: a session opened with an --events file never simulates; every
//    seek is a replay of the file.
// Same scenario and seed ⇒ the same model at every t, whatever path of seeks
// led there. Single-threaded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "gui/model/graph_model.h"
#include "gui/model/recording.h"
#include "proxy/base/result.h"

namespace meshsim::sim {
struct Scenario;
class ScenarioSession;
}  // namespace meshsim::sim

namespace meshsim::gui {

class ViewerSession {
 public:
  // Live: builds the scenario's mesh (the run starts at 0).
  static Result<std::unique_ptr<ViewerSession>> open_live(const sim::Scenario& scenario);
  // Recorded: the scenario gives the topology, the file what happened.
  static Result<std::unique_ptr<ViewerSession>> open_recorded(const sim::Scenario& scenario, const std::string& events_file);
  ~ViewerSession();

  // Shows virtual time t, clamped to [0, end_ns()].
  void seek(int64_t t_ns);
  int64_t now_ns() const { return model_->now_ns(); }
  int64_t end_ns() const;
  bool live() const { return session_ != nullptr; }
  const GraphModel& model() const { return *model_; }
  const Recording& recording() const { return recording_; }
  const std::string& scenario_name() const { return name_; }

  // The pod inspector: the proxy-config (listeners, clusters, routes) istiod
  // had pushed to the pod's sidecar at the time shown, rendered like
  // `meshsim proxy-config`, and its secrets when the simulation is at that
  // time (they are the live SDS cache). Errors for an unknown pod.
  Result<std::string> pod_config_text(const std::string& pod) const;
  // The edge inspector: counters, outcomes, client errors and the story's
  // explanation of the latest failure.
  std::string edge_text(size_t edge) const;
  // The flow inspector: what `tcpdump -i any` in the edge's source pod saw
  // from the start to the time shown, as a pcap, and the TLS key log that
  // decrypts it (Wireshark: tls.keylog_file) — by running the scenario again
  // to that time with the captures on (captures never change a run). Live
  // sessions only; a recorded file holds no bytes.
  Status export_flow(size_t edge, const std::string& pcap, const std::string& keylog) const;

 private:
  ViewerSession();
  std::shared_ptr<const mesh::World> initial_world_;
  std::unique_ptr<sim::Scenario> scenario_;
  std::unique_ptr<sim::ScenarioSession> session_;
  Recording recording_;
  std::unique_ptr<GraphModel> model_;
  size_t cursor_ = 0;  // records applied to model_
  int64_t end_ns_ = 0;
  std::string name_;
};

// "45s", "1m30s", "1500ms" → nanoseconds; errors name the text.
Result<int64_t> parse_virtual_time(const std::string& text);
std::string format_virtual_time(int64_t ns);

}  // namespace meshsim::gui
