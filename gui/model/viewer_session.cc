#include "gui/model/viewer_session.h"

#include <algorithm>
#include <cstdio>

#include "mesh/control_plane.h"
#include "mesh/world.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls/environment.h"
#include "proxy/tls_transport.h"
#include "sim/runtime/mesh_simulation.h"
#include "sim/runtime/proxy_config_render.h"
#include "sim/scenario/runner.h"

namespace meshsim::gui {

Result<int64_t> parse_virtual_time(const std::string& text) {
  auto d = parse_duration(text);
  if (!d.ok()) return Error{"not a virtual time: \"" + text + "\" (write it like 45s, 1m30s or 1500ms)"};
  if (d->ns() < 0) return Error{"a virtual time cannot be negative: \"" + text + "\""};
  return d->ns();
}

std::string format_virtual_time(int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3fs", static_cast<double>(ns) / 1e9);
  return b;
}

ViewerSession::ViewerSession() = default;
ViewerSession::~ViewerSession() {
  // The simulation still publishes while it is torn down (connections close);
  // the observer writes into recording_, which outlives it.
  session_.reset();
}

Result<std::unique_ptr<ViewerSession>> ViewerSession::open_live(const sim::Scenario& scenario) {
  std::unique_ptr<ViewerSession> v(new ViewerSession());
  v->scenario_ = std::make_unique<sim::Scenario>(scenario);
  v->name_ = scenario.name;
  v->end_ns_ = scenario.duration.ns();
  sim::RunOptions ro;
  ViewerSession* self = v.get();
  ro.observer = [self](const sim::Simulator& sim, const sim::Observation& o) { self->recording_.add(sim, o); };
  auto s = sim::ScenarioSession::start(scenario, std::move(ro));
  if (!s.ok()) return Error{s.message()};
  v->session_ = std::move(*s);
  v->initial_world_ = v->session_->world_at(Duration::zero());
  v->model_ = std::make_unique<GraphModel>(v->initial_world_);
  v->recording_.replay_into(*v->model_, 0, &v->cursor_);
  return v;
}

Result<std::unique_ptr<ViewerSession>> ViewerSession::open_recorded(const sim::Scenario& scenario,
                                                                    const std::string& events_file) {
  auto rec = Recording::load_jsonl(events_file);
  if (!rec.ok()) return Error{rec.message()};
  std::unique_ptr<ViewerSession> v(new ViewerSession());
  v->scenario_ = std::make_unique<sim::Scenario>(scenario);
  v->name_ = scenario.name;
  v->recording_ = std::move(*rec);
  v->end_ns_ = v->recording_.horizon_ns();
  std::vector<mesh::Diagnostic> diags;
  v->initial_world_ = std::make_shared<const mesh::World>(mesh::build_world(scenario.resources, scenario.mesh_config, diags));
  for (const auto& d : diags) {
    if (d.severity == mesh::Severity::kError) return Error{d.format()};
  }
  v->model_ = std::make_unique<GraphModel>(v->initial_world_);
  v->recording_.replay_into(*v->model_, 0, &v->cursor_);
  return v;
}

int64_t ViewerSession::end_ns() const { return end_ns_; }

void ViewerSession::seek(int64_t t_ns) {
  t_ns = std::clamp<int64_t>(t_ns, 0, end_ns_);
  if (t_ns < model_->now_ns()) {
    model_ = std::make_unique<GraphModel>(initial_world_);
    cursor_ = 0;
  }
  if (session_ && t_ns > session_->now().ns()) {
    session_->run_until(Duration::nanos(t_ns));
    recording_.set_horizon(session_->now().ns());
  }
  recording_.replay_into(*model_, t_ns, &cursor_);
}

Result<std::string> ViewerSession::pod_config_text(const std::string& pod) const {
  size_t slash = pod.find('/');
  if (slash == std::string::npos) return Error{"a pod is written ns/name, got \"" + pod + "\""};
  std::string ns = pod.substr(0, slash), name = pod.substr(slash + 1);
  Duration t = Duration::nanos(model_->now_ns());
  std::shared_ptr<const mesh::World> world = session_ ? session_->world_at(t) : initial_world_;
  const mesh::WorldPod* p = world->find_pod(ns, name);
  if (!p) return Error{"no pod " + pod + " in the mesh"};
  std::string out = "proxy-config of " + pod + " at " + format_virtual_time(t.ns());
  if (!session_) out += " (recorded run: the configuration the scenario starts with)";
  out += "\n";
  if (!p->injected) {
    out += pod + " has no sidecar (" + p->injection_reason + "): it runs no proxy configuration.\n";
    return out;
  }
  auto cfg = mesh::build_sidecar_config(*world, *p);
  out += "\nLISTENERS\n" + sim::render_listeners_text(*cfg) + "\nCLUSTERS\n" + sim::render_clusters_text(*cfg) +
         "\nROUTES\n" + sim::render_routes_text(*cfg);
  if (session_ && session_->now().ns() == t.ns()) {
    if (sim::SidecarHost* sc = session_->mesh().sidecar(ns, name)) {
      std::vector<sim::SecretView> secrets = sim::sidecar_secrets(*sc, t);
      out += "\nSECRETS\n" + sim::render_secrets_text(secrets);
    }
  } else {
    out += "\nSECRETS\n(the sidecar's certificates are read from the running simulation; seek forward to the\n"
           "simulation's time, " + format_virtual_time(session_ ? session_->now().ns() : 0) + ", to see them)\n";
  }
  return out;
}

Status ViewerSession::export_flow(size_t ei, const std::string& pcap, const std::string& keylog) const {
  if (!session_) return Error{"a recorded run holds no bytes: open the scenario live to export a flow"};
  const GraphEdge& e = model_->edges().at(ei);
  const GraphNode& from = model_->nodes()[e.from];
  if (from.pod_names.empty()) return Error{from.id + " is not a pod of the mesh: no capture point"};
  sim::RunOptions ro;
  ro.capture.pcap_pods = {from.pod_names.front() + "=" + pcap};
  ro.capture.keylog = keylog;
  if (Status st = sim::validate_capture_options(ro.capture); !st.ok()) return st;
  auto s = sim::ScenarioSession::start(*scenario_, std::move(ro));
  if (!s.ok()) return Error{s.message()};
  (*s)->run_until(Duration::nanos(model_->now_ns()));
  auto r = (*s)->finish();
  if (!r.ok()) return Error{r.message()};
  return Status::Ok();
}

std::string ViewerSession::edge_text(size_t ei) const {
  const GraphEdge& e = model_->edges().at(ei);
  EdgeView v = model_->edge_view(ei);
  const auto& nodes = model_->nodes();
  std::string t = nodes[e.from].id + " → " + nodes[e.to].id + " (" + e.protocol + ") at " +
                  format_virtual_time(model_->now_ns()) + "\n";
  std::string who;
  for (const auto& c : e.clients) who += (who.empty() ? "" : ", ") + c;
  t += "sources: " + who + "\n\n";
  char b[256];
  std::snprintf(b, sizeof b, "last %.0f s: %s, %.1f%% ok, %s, mTLS %.1f%%, plaintext %.1f%%\n",
                static_cast<double>(GraphModel::kWindowNs) / 1e9, format_rate(v.rate_per_s).c_str(), 100 * v.success,
                to_string(v.health), 100 * v.mtls_share, 100 * v.plaintext_share);
  t += b;
  if (v.p50_ns) t += "latency of successful requests: p50 " + format_latency(v.p50_ns) + ", p99 " + format_latency(v.p99_ns) + "\n";
  std::snprintf(b, sizeof b,
                "whole run so far: %llu requests on %llu connections, %llu ok; wire: %llu mTLS, %llu TLS, %llu plaintext, "
                "%llu not judged\n",
                static_cast<unsigned long long>(e.total.requests), static_cast<unsigned long long>(e.connections),
                static_cast<unsigned long long>(e.total.ok), static_cast<unsigned long long>(e.total.mtls),
                static_cast<unsigned long long>(e.total.tls), static_cast<unsigned long long>(e.total.plaintext),
                static_cast<unsigned long long>(e.total.unjudged));
  t += b;
  if (!e.failures.empty()) {
    t += "outcomes:";
    for (const auto& [k, n] : e.failures) t += " " + k + " " + std::to_string(n);
    t += "\n";
  }
  if (!e.last_error.empty()) t += "client-visible error: " + e.last_error + "\n";
  if (!e.why.empty()) t += "\nwhy (at " + format_virtual_time(e.why_ns) + "): " + e.why + "\n";
  t += "\nThe wire column is the runner's judgement of each request (scenario.request): the first bytes of the\n"
       "app's own connection when it left the pod without a sidecar, else the client sidecar's upstream TLS.\n";
  return t;
}

}  // namespace meshsim::gui
