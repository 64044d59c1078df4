// MeshSimulation puts a mesh model (mesh::World) on the virtual network and
// runs it: one host per scheduled pod plus a kubelet host per node, kube-proxy
// ClusterIPs and cluster DNS, the mesh CA, and for every injected pod a
// sidecar (SidecarHost, configured by the control plane) and its agent
// (PodAgent: certificates, status port); server applications on the pods'
// ports (inferred, see sim/runtime/apps.h) and the kubelet's probes. Client
// applications and probes are added by the caller (scenarios, `meshsim probe`).
//
// Configuration changes are pushed in virtual time: apply_world() builds the
// new per-proxy configs and installs them push_delay later (istiod's debounce
// and distribution); connections already open keep what they matched.
//
// TLS runs with randomness from the named stream "tls" and virtual time (the
// EnvironmentScope installed by build() and run_until()), so a run is
// byte-for-byte reproducible. Single-threaded.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mesh/control_plane.h"
#include "mesh/world.h"
#include "proxy/base/result.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls/environment.h"
#include "sim/net/network.h"
#include "sim/runtime/apps.h"
#include "sim/runtime/pod_agent.h"
#include "sim/runtime/sidecar_host.h"
#include "sim/runtime/ztunnel.h"
#include "sim/simulator.h"

namespace meshsim::sim {

struct MeshSimulationOptions {
  uint64_t seed = 1;
  LinkModel links;
  mesh::ControlPlaneOptions control_plane;
  Duration push_delay = Duration::millis(100);
  bool server_apps = true;      // start the inferred server app on every pod port
  bool kubelet_probes = true;   // run the kubelet's readiness/liveness/startup probes
  // The injected pods ("ns/pod") that get a sidecar and agent; unset = every
  // one. Other injected pods keep their host, capture rules and server apps
  // but run no sidecar: for callers that know no traffic reaches them
  // (`whatif` builds only the pods its probes touch). Gateway pods always run.
  std::optional<std::set<std::string>> sidecar_pods;
  // Per-pod overrides of the inferred server apps: "ns/pod:port" → options.
  std::map<std::string, ServerAppOptions> server_overrides;
};

class MeshSimulation {
 public:
  MeshSimulation(std::shared_ptr<const mesh::World> world, MeshSimulationOptions options);
  ~MeshSimulation();
  MeshSimulation(const MeshSimulation&) = delete;
  MeshSimulation& operator=(const MeshSimulation&) = delete;

  // Builds everything at t = 0. Errors: topology problems (duplicate IPs …).
  Status build();

  Simulator& sim() { return *sim_; }
  Network& net() { return *net_; }
  const mesh::World& world() const { return *world_; }
  std::shared_ptr<const mesh::World> world_ptr() const { return world_; }
  tls::CertificateAuthority& ca() { return *ca_; }
  const tls::Environment& tls_environment() const { return env_; }

  // Publishes TLS key-log lines (KeyLogLine observations) from now on, for --keylog.
  void enable_keylog();

  // Runs until `t` (inclusive) with the TLS environment installed.
  RunStats run_until(Time t);

  HostId host_of(std::string_view ns, std::string_view pod) const;
  HostId kubelet_host(std::string_view node) const;
  // A host outside the mesh (namespace "external", not injected), created on demand.
  // `ip`: its address (a server outside the cluster); kNoHost when a host
  // named so exists at another address, or the address is taken.
  HostId external_host(const std::string& name = "client", std::optional<Ipv4> ip = std::nullopt);
  AppPodInfo pod_info(HostId host) const;
  SidecarHost* sidecar(std::string_view ns, std::string_view pod);
  // Every running sidecar by "ns/pod", in key order.
  const std::map<std::string, std::unique_ptr<SidecarHost>, std::less<>>& sidecars() const { return sidecars_; }
  PodAgent* agent(std::string_view ns, std::string_view pod);
  // Ambient: the ztunnel of a node (nullptr when the mesh has no ambient pod
  // or the node is unknown), and every ztunnel by node name.
  Ztunnel* ztunnel(std::string_view node);
  // Accepts the node name or the ztunnel pod ("istio-system/ztunnel-xxxxx", "ztunnel-xxxxx").
  Ztunnel* find_ztunnel(std::string_view node_or_pod);
  const std::map<std::string, std::unique_ptr<Ztunnel>, std::less<>>& ztunnels() const { return ztunnels_; }
  const std::vector<std::unique_ptr<ServerApp>>& servers() const { return servers_; }

  // The control plane's current config for a pod's sidecar.
  std::shared_ptr<const proxy::ProxyConfig> config_of(std::string_view ns, std::string_view pod) const;

  ClientApp* add_client(HostId host, std::string name, ClientRequestSpec spec, ClientSchedule schedule);
  ServerApp* add_server(HostId host, uint16_t port, ServerAppOptions options);

  // A new mesh model (manifests applied or deleted): configs pushed after
  // push_delay; kube-proxy re-syncs ClusterIP endpoints at once.
  void apply_world(std::shared_ptr<const mesh::World> next);

  // ---- faults and lifecycle (scenario timelines) ----
  // The pod dies: its processes (app, sidecar, agent) stop, its connections
  // are reset, and its endpoints become not ready (pushed after push_delay).
  bool kill_pod(std::string_view ns, std::string_view pod);
  // The pod comes back (same IP): new certificate, listeners, ready again.
  bool restart_pod(std::string_view ns, std::string_view pod);
  // The ztunnel of a node dies / comes back (scenario faults killZtunnel /
  // restartZtunnel): only that node's ambient pods lose their connections
  // and cannot open new ones. False when the node has no ztunnel.
  bool kill_ztunnel(std::string_view node_or_pod);
  bool restart_ztunnel(std::string_view node_or_pod);
  // Node down: every pod on it vanishes (no FIN, no RST); after the node
  // monitor grace period (40 s) its pods' endpoints become not ready.
  bool set_node_up(std::string_view node, bool up);
  // Every pod's wall clock jumps forward (certificates are checked and issued
  // in wall-clock time; renewal timers keep running on virtual time).
  void jump_clock(Duration d);
  Duration wall_clock_offset() const { return clock_offset_; }
  // The pod's agent stops renewing its certificate (e.g. istiod unreachable).
  bool stop_renewal(std::string_view ns, std::string_view pod);
  // The pod's server apps on `port` (0: every port) change behaviour
  // (ServerApp::set_behavior). Returns how many apps changed.
  size_t set_app_behavior(std::string_view ns, std::string_view pod, uint16_t port, std::optional<double> error_rate,
                          std::optional<int> error_status, const std::optional<LatencyModel>& latency);

  // Where the server apps came from: "ns/pod:port" → kind and reason.
  const std::map<std::string, AppInference>& inferred_apps() const { return inferred_; }

 private:
  void push_configs(bool initial);
  void start_server_apps();
  void start_probes();
  // The kubelet's prober: one probe result of container `container` of pod
  // `key`; readiness and liveness thresholds as Kubernetes applies them.
  struct ProbeTrack;
  void on_probe_result(ProbeTrack& t, bool ok, const std::string& error);
  void start_pod_processes(const std::string& key, bool first_start);
  void stop_pod_processes(const std::string& key);
  Ztunnel* ztunnel_of_pod(const std::string& key);  // the ztunnel serving an ambient pod, else nullptr
  std::shared_ptr<const mesh::World> effective_world() const;
  void resync_kube_proxy(const mesh::World& w);
  void add_external_addresses(const mesh::World& w, const mesh::WorldService& s);
  Status install_gateway_secrets(const std::string& key, const mesh::World& w);

  std::shared_ptr<const mesh::World> world_;
  MeshSimulationOptions o_;
  std::unique_ptr<Simulator> sim_;
  std::unique_ptr<Network> net_;
  RandomStream tls_rng_;
  tls::Environment env_;
  std::optional<tls::CertificateAuthority> ca_;
  std::map<std::string, HostId, std::less<>> hosts_;       // "ns/pod"
  std::map<std::string, HostId, std::less<>> kubelets_;    // node name
  std::map<HostId, int32_t> host_pod_;                     // host → pod index in world
  std::map<std::string, std::unique_ptr<SidecarHost>, std::less<>> sidecars_;
  std::map<std::string, std::unique_ptr<PodAgent>, std::less<>> agents_;
  std::map<std::string, std::unique_ptr<Ztunnel>, std::less<>> ztunnels_;  // by node name
  std::map<std::string, std::shared_ptr<const proxy::ProxyConfig>, std::less<>> configs_;
  std::vector<std::unique_ptr<ServerApp>> servers_;
  std::vector<std::unique_ptr<ClientApp>> clients_;
  std::map<std::string, AppInference> inferred_;
  std::vector<std::shared_ptr<const mesh::World>> retired_worlds_;  // keep pods alive for agents
  uint64_t push_version_ = 0;
  Duration clock_offset_;
  std::vector<std::string> unready_;                 // pods whose endpoints are not ready (killed, node down)
  std::map<std::string, int> probe_unready_;         // pod → readiness probes failing now (> 0: not ready)
  std::vector<std::unique_ptr<ProbeTrack>> probe_tracks_;
  ActorId kubelet_actor_ = 0;
  EventKindId k_pod_health_ = 0;
  std::map<std::string, std::vector<size_t>> pod_servers_;  // "ns/pod" → indices into servers_
  ActorId actor_;
  EventKindId k_push_;
};

}  // namespace meshsim::sim
