#include "sim/runtime/mesh_simulation.h"

#include <algorithm>
#include <charconv>

#include "mesh/gateway.h"
#include "proxy/base/hash.h"
#include "sim/net/capture_rules.h"
#include "sim/runtime/gateway_secrets.h"

#include <set>

namespace meshsim::sim {

namespace {
std::string key(std::string_view ns, std::string_view pod) { return std::string(ns) + "/" + std::string(pod); }
}  // namespace

MeshSimulation::MeshSimulation(std::shared_ptr<const mesh::World> world, MeshSimulationOptions options)
    : world_(std::move(world)),
      o_(std::move(options)),
      sim_(std::make_unique<Simulator>(o_.seed)),
      net_(std::make_unique<Network>(*sim_, o_.links)),
      tls_rng_(sim_->rng("tls")) {
  env_.random = [this](unsigned char* p, size_t n) { tls_rng_.fill(p, n); };
  env_.clock = [this] { return sim_->now() + clock_offset_; };
  actor_ = sim_->actor("istiod");
  k_push_ = sim_->kind("istiod.push");
  kubelet_actor_ = sim_->actor("kubelet");
  k_pod_health_ = sim_->kind("kubelet.probe");
}

void MeshSimulation::enable_keylog() {
  // Key-log lines are a view (they never change the fingerprint); TLS formats
  // them only while someone listens.
  ActorId keylog_actor = sim_->actor("tls");
  EventKindId k_keylog = sim_->view_kind("tls.keylog");
  env_.keylog = [this, keylog_actor, k_keylog](std::string_view line) {
    sim_->publish(keylog_actor, k_keylog, fnv1a64(line), KeyLogLine{line});
  };
}

MeshSimulation::~MeshSimulation() {
  tls::EnvironmentScope scope(&env_);
  clients_.clear();
  servers_.clear();
  agents_.clear();
  sidecars_.clear();
  ztunnels_.clear();
}

Status MeshSimulation::build() {
  tls::EnvironmentScope scope(&env_);
  const mesh::World& w = *world_;
  for (const auto& n : w.nodes()) {
    auto id = net_->add_node({n.name, n.locality.region, n.locality.zone, n.locality.subzone});
    if (!id.ok()) return Error{"node " + n.name + ": " + id.message()};
    // The kubelet lives in the node's host network namespace.
    HostSpec k;
    k.ns = "kube-node";
    k.node_host = true;
    k.name = n.name;
    k.ip = n.ip;
    k.node = n.name;
    auto h = net_->add_host(std::move(k));
    if (!h.ok()) return Error{"node " + n.name + ": " + h.message()};
    kubelets_[n.name] = *h;
  }
  for (size_t i = 0; i < w.pods().size(); ++i) {
    const mesh::WorldPod& p = w.pods()[i];
    if (!p.scheduled() || p.host_network) continue;  // hostNetwork pods share the node's stack (not simulated)
    HostSpec h;
    h.ns = p.namespace_;
    h.name = p.name;
    h.ip = p.ip;
    h.node = w.nodes()[static_cast<size_t>(p.node)].name;
    // A gateway pod runs Envoy as its application: no capture rules.
    h.injected = p.injected && !mesh::is_gateway_pod(p);
    h.interception = p.interception;
    h.ambient = p.ambient;
    for (const auto& [k, v] : p.labels) h.labels.emplace_back(k, v);
    auto id = net_->add_host(std::move(h));
    if (!id.ok()) return Error{"pod " + key(p.namespace_, p.name) + ": " + id.message()};
    hosts_[key(p.namespace_, p.name)] = *id;
    host_pod_[*id] = static_cast<int32_t>(i);
  }
  // kube-proxy and DNS.
  for (const auto& s : w.services()) {
    if (s.origin != mesh::WorldService::Origin::kKubernetes) {
      if (s.has_vip && !s.vip_auto_allocated) (void)net_->dns().add_name(s.hostname, {s.vip});
      continue;
    }
    if (s.headless) {
      std::vector<Ipv4> ips;
      std::set<uint32_t> seen;
      for (const auto& [port, eps] : s.endpoints) {
        for (const auto& e : eps) {
          if (e.has_ip && e.ready && seen.insert(e.ip.value).second) ips.push_back(e.ip);
        }
      }
      (void)net_->dns().add_headless_service(s.namespace_, s.name, ips);
      for (const auto& [port, eps] : s.endpoints) {
        for (const auto& e : eps) {
          if (e.pod < 0) continue;
          const auto& p = w.pods()[static_cast<size_t>(e.pod)];
          if (!p.hostname.empty() && p.subdomain == s.name) {
            (void)net_->dns().add_pod_hostname(s.namespace_, s.name, p.hostname, p.ip);
          }
        }
      }
      continue;
    }
    add_external_addresses(w, s);
    if (!s.has_vip) continue;
    (void)net_->dns().add_service(s.namespace_, s.name, s.vip);
    for (const auto& sp : s.ports) {
      if (sp.protocol == mesh::Protocol::kUdp) continue;
      std::vector<SocketAddress> eps;
      auto it = s.endpoints.find(sp.port);
      if (it != s.endpoints.end()) {
        for (const auto& e : it->second) {
          if (e.has_ip && e.ready) eps.push_back({e.ip, static_cast<uint16_t>(e.port)});
        }
      }
      (void)net_->add_service_vip({s.vip, static_cast<uint16_t>(sp.port)}, std::move(eps));
    }
  }
  // The mesh CA and, per injected pod, sidecar + agent.
  ca_ = tls::CertificateAuthority::create_self_signed({w.mesh_config().trust_domain, "", Duration::zero(),
                                                      Duration::hours(24 * 3650)});
  for (const auto& [k, host] : hosts_) {
    const mesh::WorldPod& p = w.pods()[static_cast<size_t>(host_pod_.at(host))];
    bool gateway = mesh::is_gateway_pod(p);
    if (!p.injected && !gateway) continue;
    if (!gateway && o_.sidecar_pods && !o_.sidecar_pods->count(k)) continue;
    auto sc = std::make_unique<SidecarHost>(*sim_, *net_, host, k, mesh::sidecar_node_id(p, w.mesh_config()));
    sc->set_router(gateway);
    if (!sc->start()) return Error{"pod " + k + ": a sidecar port (15001/15006/15021/15090) is taken"};
    auto agent = std::make_unique<PodAgent>(*sim_, *net_, host, p, w.mesh_config(), *ca_, sc->secrets(),
                                            [this] { return sim_->now() + clock_offset_; });
    if (!agent->start()) return Error{"pod " + k + ": the status port is taken"};
    sidecars_[k] = std::move(sc);
    agents_[k] = std::move(agent);
  }
  // Ambient: the ztunnel DaemonSet runs on every node once any pod is enrolled.
  bool ambient = std::any_of(w.pods().begin(), w.pods().end(), [](const mesh::WorldPod& p) { return p.ambient && p.scheduled(); });
  if (ambient) {
    for (const auto& n : w.nodes()) {
      auto z = std::make_unique<Ztunnel>(*sim_, *net_, *ca_, n.name, [this] { return sim_->now() + clock_offset_; });
      z->set_world(world_);
      ztunnels_[n.name] = std::move(z);
    }
    for (const auto& [k, host] : hosts_) {
      int32_t pi = host_pod_.at(host);
      const mesh::WorldPod& p = w.pods()[static_cast<size_t>(pi)];
      if (p.ambient) ztunnels_.at(w.nodes()[static_cast<size_t>(p.node)].name)->add_workload(host, pi);
    }
    for (auto& [n, z] : ztunnels_)
      if (!z->start()) return Error{"ztunnel on node " + n + ": a port (15001/15006/15008) of an ambient pod is taken"};
  }
  push_configs(true);
  for (const auto& [k, sc] : sidecars_) {
    if (!sc->router()) continue;
    if (Status st = install_gateway_secrets(k, *world_); !st.ok()) return st;
  }
  if (o_.server_apps) start_server_apps();
  if (o_.kubelet_probes) start_probes();
  return Status::Ok();
}

RunStats MeshSimulation::run_until(Time t) {
  tls::EnvironmentScope scope(&env_);
  return sim_->run_until(t);
}

std::shared_ptr<const mesh::World> MeshSimulation::effective_world() const {
  std::vector<std::string> unready = unready_;
  for (const auto& [k, failing] : probe_unready_)
    if (failing > 0 && std::find(unready.begin(), unready.end(), k) == unready.end()) unready.push_back(k);
  if (unready.empty()) return world_;
  return std::make_shared<const mesh::World>(world_->with_unready_pods(unready));
}

struct MeshSimulation::ProbeTrack {
  std::string pod_key, container, kind;  // kind: readiness | liveness | startup
  int success_threshold = 1, failure_threshold = 3;
  int oks = 0, fails = 0;
  bool failing = false;  // readiness: this probe holds the pod not ready
};

// Kubernetes' prober (pkg/kubelet/prober/worker.go): a result changes the
// container's state only after failureThreshold failures or successThreshold
// successes in a row. The pods start ready (the run begins with the mesh
// rolled out); a readiness failure takes the pod's endpoints out with the
// next push and brings them back once it passes again; a liveness failure
// restarts the application container (its connections reset, the sidecar
// stays) and counts afresh.
void MeshSimulation::on_probe_result(ProbeTrack& t, bool ok, const std::string& error) {
  // A killed pod, or one on a node that is down, is not probed (its endpoints
  // are already not ready); it counts afresh when it comes back.
  if (std::find(unready_.begin(), unready_.end(), t.pod_key) != unready_.end()) {
    t.oks = t.fails = 0;
    return;
  }
  if (ok) {
    ++t.oks;
    t.fails = 0;
  } else {
    ++t.fails;
    t.oks = 0;
  }
  PodHealthObservation obs;
  obs.pod = t.pod_key;
  obs.container = t.container;
  obs.probe = t.kind;
  obs.last_error = ok ? std::string_view() : std::string_view(error);
  auto publish = [&](PodHealthObservation::Event e, int consecutive) {
    obs.event = e;
    obs.consecutive = static_cast<uint32_t>(consecutive);
    uint64_t digest = hash_combine(fnv1a64(t.pod_key), hash_combine(fnv1a64(t.kind), static_cast<uint64_t>(e)));
    sim_->publish(kubelet_actor_, k_pod_health_, digest, obs);
  };
  tls::EnvironmentScope scope(&env_);
  if (t.kind == "readiness") {
    if (!t.failing && t.fails >= t.failure_threshold) {
      t.failing = true;
      ++probe_unready_[t.pod_key];
      publish(PodHealthObservation::Event::kNotReady, t.fails);
      push_configs(false);
    } else if (t.failing && t.oks >= t.success_threshold) {
      t.failing = false;
      --probe_unready_[t.pod_key];
      publish(PodHealthObservation::Event::kReady, t.oks);
      push_configs(false);
    }
  } else if (t.kind == "liveness" && t.fails >= t.failure_threshold) {
    publish(PodHealthObservation::Event::kRestarted, t.fails);
    t.fails = 0;
    // The container restarts after the callback that decided it has returned.
    std::string key = t.pod_key;
    sim_->schedule_after(Duration::zero(), kubelet_actor_, k_pod_health_, [this, key] {
      for (size_t i : pod_servers_[key]) {
        servers_[i]->stop();
        (void)servers_[i]->start();
      }
    });
  }
}

void MeshSimulation::resync_kube_proxy(const mesh::World& w) {
  for (const auto& s : w.services()) {
    if (s.origin != mesh::WorldService::Origin::kKubernetes || s.headless || !s.has_vip) continue;
    for (const auto& sp : s.ports) {
      if (sp.protocol == mesh::Protocol::kUdp) continue;
      std::vector<SocketAddress> eps;
      auto it = s.endpoints.find(sp.port);
      if (it != s.endpoints.end()) {
        for (const auto& e : it->second) {
          if (e.has_ip && e.ready) eps.push_back({e.ip, static_cast<uint16_t>(e.port)});
        }
      }
      (void)net_->set_service_endpoints({s.vip, static_cast<uint16_t>(sp.port)}, std::move(eps));
    }
    add_external_addresses(w, s);
  }
}

// A LoadBalancer Service's external address (mesh/gateway.h) and every
// NodePort on every node's IP lead to the Service's endpoints, as the cloud
// load balancer and kube-proxy's NodePort rules do.
void MeshSimulation::add_external_addresses(const mesh::World& w, const mesh::WorldService& s) {
  if (s.origin != mesh::WorldService::Origin::kKubernetes || s.headless || s.source_index < 0) return;
  const mesh::Service& svc = w.resources().services[static_cast<size_t>(s.source_index)];
  std::optional<Ipv4> lb = mesh::load_balancer_ip(w, s);
  for (const auto& sp : s.ports) {
    int32_t node_port = 0;
    for (const auto& p : svc.ports)
      if (static_cast<uint32_t>(p.port) == sp.port && p.protocol == sp.k8s_protocol) node_port = p.node_port;
    if (sp.protocol == mesh::Protocol::kUdp) continue;
    std::vector<SocketAddress> eps;
    auto it = s.endpoints.find(sp.port);
    if (it != s.endpoints.end()) {
      for (const auto& e : it->second)
        if (e.has_ip && e.ready) eps.push_back({e.ip, static_cast<uint16_t>(e.port)});
    }
    if (lb && !net_->set_service_endpoints({*lb, static_cast<uint16_t>(sp.port)}, eps).ok())
      (void)net_->add_service_vip({*lb, static_cast<uint16_t>(sp.port)}, eps);
    if (node_port > 0 && (svc.type == "NodePort" || svc.type == "LoadBalancer")) {
      for (const auto& n : w.nodes()) {
        SocketAddress a{n.ip, static_cast<uint16_t>(node_port)};
        if (!net_->set_service_endpoints(a, eps).ok()) (void)net_->add_node_port(a, eps);
      }
    }
  }
}

// The TLS material a gateway's listeners name (kubernetes://<credentialName>
// and kubernetes://<credentialName>-cacert), from the input's Secrets in the
// gateway's namespace, as istiod's SDS serves it (mesh/gateway.h
// find_credential). A Secret that is not PEM is bad input; a Secret that is
// missing leaves the secret unset: the chain's handshakes fail, as Envoy's
// do while SDS has nothing to send.
Status MeshSimulation::install_gateway_secrets(const std::string& k, const mesh::World& w) {
  auto sc = sidecars_.find(k);
  auto cfg = configs_.find(k);
  if (sc == sidecars_.end() || cfg == configs_.end() || !cfg->second) return Status::Ok();
  tls::EnvironmentScope scope(&env_);
  return sim::install_gateway_secrets(*cfg->second, w, k.substr(0, k.find('/')), sc->second->secrets());
}

void MeshSimulation::push_configs(bool initial) {
  std::shared_ptr<const mesh::World> eff = effective_world();
  const mesh::World& w = *eff;
  if (!initial) {
    retired_worlds_.push_back(eff);
    resync_kube_proxy(w);
  }
  std::string version = std::to_string(++push_version_);
  // ztunnel's WDS (workloads, services, endpoints, policies) follows the same push.
  for (auto& [n, z] : ztunnels_) {
    if (initial) {
      z->set_world(eff);
    } else {
      Ztunnel* target = z.get();
      sim_->schedule_after(o_.push_delay, actor_, k_push_, [target, eff] { target->set_world(eff); });
    }
  }
  mesh::ControlPlaneOptions cpo = o_.control_plane;
  cpo.version = version;
  for (auto& [k, sc] : sidecars_) {
    HostId host = hosts_.at(k);
    auto pod_index = host_pod_.at(host);
    (void)pod_index;
    size_t slash = k.find('/');
    const mesh::WorldPod* p = w.find_pod(k.substr(0, slash), k.substr(slash + 1));
    if (!p) continue;  // the pod no longer exists in the new world
    auto cfg = mesh::build_sidecar_config(w, *p, cpo);
    configs_[k] = cfg;
    if (initial) {
      sc->apply_config(cfg, version);
    } else {
      SidecarHost* target = sc.get();
      // A gateway's secrets follow its configuration (SDS); a Secret that
      // became unusable keeps the previous material.
      if (sc->router()) (void)install_gateway_secrets(k, w);
      sim_->schedule_after(o_.push_delay, actor_, k_push_, [target, cfg, version] { target->apply_config(cfg, version); });
    }
  }
}

void MeshSimulation::apply_world(std::shared_ptr<const mesh::World> next) {
  retired_worlds_.push_back(world_);
  world_ = std::move(next);
  tls::EnvironmentScope scope(&env_);
  push_configs(false);
}

void MeshSimulation::start_server_apps() {
  const mesh::World& w = *world_;
  for (const auto& [k, host] : hosts_) {
    int32_t pi = host_pod_.at(host);
    const mesh::WorldPod& p = w.pods()[static_cast<size_t>(pi)];
    if (!p.spec) continue;
    if (mesh::is_gateway_pod(p)) continue;  // its Envoy is the application
    // Ports to serve: declared container ports, plus Service target ports.
    struct PortInfo {
      std::string name, app_protocol, image;
    };
    std::map<uint32_t, PortInfo> ports;
    for (const auto& c : p.spec->containers) {
      for (const auto& cp : c.ports) {
        if (cp.protocol != "TCP" && !cp.protocol.empty()) continue;
        ports[static_cast<uint32_t>(cp.container_port)] = {cp.name, "", c.image};
      }
    }
    // Istio's tcp-echo server listens on the ports of its first argument
    // (CMD ["9000", "hello"]; the sample passes "9000,9001,9002" — declared
    // or not) and prefixes replies with the second.
    std::string echo_prefix = "hello";
    for (const auto& c : p.spec->containers) {
      if (!image_is(c.image, "tcp-echo-server") || !c.command.empty()) continue;
      std::string list = c.args.empty() ? "9000" : c.args[0];
      if (c.args.size() >= 2) echo_prefix = c.args[1];
      for (size_t at = 0; at <= list.size();) {
        size_t comma = std::min(list.find(',', at), list.size());
        uint32_t port = 0;
        auto [e, ec] = std::from_chars(list.data() + at, list.data() + comma, port);
        if (ec == std::errc() && e == list.data() + comma && port > 0 && port < 65536) {
          PortInfo& info = ports[port];
          if (info.image.empty()) info.image = c.image;
        }
        at = comma + 1;
      }
    }
    std::string image = p.spec->containers.empty() ? "" : p.spec->containers.front().image;
    for (const mesh::WorldService* s : w.services_of_pod(pi)) {
      for (const auto& sp : s->ports) {
        auto it = s->endpoints.find(sp.port);
        if (it == s->endpoints.end()) continue;
        for (const auto& e : it->second) {
          if (e.pod != pi) continue;
          PortInfo& info = ports[e.port];
          if (info.image.empty()) info.image = image;
          // A Service port name says more than an unnamed container port.
          if (info.name.empty() || sp.name.find("mysql") != std::string::npos) info.name = sp.name;
          if (sp.app_protocol) info.app_protocol = *sp.app_protocol;
        }
      }
    }
    for (const auto& [port, info] : ports) {
      if (port >= 15000 && port <= 15090 && p.injected) continue;  // sidecar ports
      std::string id = k + ":" + std::to_string(port);
      ServerAppOptions so;
      auto ov = o_.server_overrides.find(id);
      AppInference inf = infer_server_app(p, port, info.name, info.app_protocol, info.image);
      if (ov != o_.server_overrides.end()) {
        so = ov->second;
        // An override that says nothing about calls or propagation keeps the
        // inferred ones (a Bookinfo image with added latency still calls).
        bool http = is_http_server(so.kind);
        std::string reason = "scenario";
        if (http && !so.calls && !inf.calls.empty()) {
          so.calls = inf.calls;
          reason += "; calls from " + inf.reason;
        }
        if (http && !so.propagate) so.propagate = inf.propagate;
        inferred_[id] = {so.kind, reason, so.calls.value_or(std::vector<AppCall>{}),
                         so.propagate.value_or(apps::HeaderPropagation{})};
      } else {
        so.kind = inf.kind;
        so.line_prefix = echo_prefix;
        so.calls = inf.calls;
        so.propagate = inf.propagate;
        inferred_[id] = inf;
      }
      if (add_server(host, static_cast<uint16_t>(port), so)) pod_servers_[k].push_back(servers_.size() - 1);
    }
  }
}

Ztunnel* MeshSimulation::ztunnel_of_pod(const std::string& key) {
  auto h = hosts_.find(key);
  if (h == hosts_.end() || ztunnels_.empty()) return nullptr;
  const mesh::WorldPod& p = world_->pods()[static_cast<size_t>(host_pod_.at(h->second))];
  if (!p.ambient) return nullptr;
  return ztunnel(world_->nodes()[static_cast<size_t>(p.node)].name);
}

void MeshSimulation::stop_pod_processes(const std::string& key) {
  if (Ztunnel* z = ztunnel_of_pod(key)) z->pod_stopped(key);
  if (auto it = sidecars_.find(key); it != sidecars_.end()) it->second->stop();
  if (auto it = agents_.find(key); it != agents_.end()) it->second->stop();
  for (size_t i : pod_servers_[key]) servers_[i]->stop();
}

void MeshSimulation::start_pod_processes(const std::string& key, bool) {
  tls::EnvironmentScope scope(&env_);
  if (Ztunnel* z = ztunnel_of_pod(key)) z->pod_started(key);
  if (auto it = agents_.find(key); it != agents_.end()) it->second->start();
  if (auto it = sidecars_.find(key); it != sidecars_.end()) {
    it->second->start();
    auto cfg = configs_.find(key);
    if (cfg != configs_.end()) it->second->apply_config(cfg->second, std::to_string(push_version_));
  }
  for (size_t i : pod_servers_[key]) servers_[i]->start();
}

Ztunnel* MeshSimulation::ztunnel(std::string_view node) {
  auto it = ztunnels_.find(node);
  return it == ztunnels_.end() ? nullptr : it->second.get();
}

Ztunnel* MeshSimulation::find_ztunnel(std::string_view what) {
  if (Ztunnel* z = ztunnel(what)) return z;
  for (auto& [n, z] : ztunnels_) {
    std::string_view pod = z->pod();
    if (what == pod || what == pod.substr(pod.find('/') + 1)) return z.get();
  }
  return nullptr;
}

bool MeshSimulation::kill_ztunnel(std::string_view what) {
  Ztunnel* z = find_ztunnel(what);
  if (!z) return false;
  tls::EnvironmentScope scope(&env_);
  z->stop();
  return true;
}

bool MeshSimulation::restart_ztunnel(std::string_view what) {
  Ztunnel* z = find_ztunnel(what);
  if (!z) return false;
  tls::EnvironmentScope scope(&env_);
  (void)z->start();
  return true;
}

bool MeshSimulation::kill_pod(std::string_view ns, std::string_view pod) {
  std::string k = key(ns, pod);
  auto h = hosts_.find(k);
  if (h == hosts_.end()) return false;
  stop_pod_processes(k);
  net_->reset_host_connections(h->second);
  if (std::find(unready_.begin(), unready_.end(), k) == unready_.end()) unready_.push_back(k);
  tls::EnvironmentScope scope(&env_);
  push_configs(false);
  return true;
}

bool MeshSimulation::restart_pod(std::string_view ns, std::string_view pod) {
  std::string k = key(ns, pod);
  if (!hosts_.count(k)) return false;
  start_pod_processes(k, false);
  unready_.erase(std::remove(unready_.begin(), unready_.end(), k), unready_.end());
  // A new pod process: its probes count afresh.
  for (auto& t : probe_tracks_)
    if (t->pod_key == k) t->oks = t->fails = 0, t->failing = false;
  probe_unready_.erase(k);
  tls::EnvironmentScope scope(&env_);
  push_configs(false);
  return true;
}

bool MeshSimulation::set_node_up(std::string_view node, bool up) {
  NodeId n = net_->topology().find_node(node);
  if (n == kNoNode) return false;
  std::vector<std::string> pods;
  for (const auto& [k, host] : hosts_) {
    if (net_->topology().node_of(host) == n && host_pod_.count(host)) pods.push_back(k);
  }
  net_->set_node_up(n, up);
  if (!up) {
    // The processes vanish with the node; Kubernetes notices after the node
    // monitor grace period and marks the pods' endpoints not ready.
    for (const auto& k : pods) stop_pod_processes(k);
    if (Ztunnel* z = ztunnel(node)) {
      tls::EnvironmentScope scope(&env_);
      z->stop();
    }
    sim_->schedule_after(Duration::seconds(40), actor_, k_push_, [this, pods, n] {
      if (net_->node_up(n)) return;
      for (const auto& k : pods) {
        if (std::find(unready_.begin(), unready_.end(), k) == unready_.end()) unready_.push_back(k);
      }
      tls::EnvironmentScope scope(&env_);
      push_configs(false);
    });
  } else {
    for (const auto& k : pods) {
      start_pod_processes(k, false);
      unready_.erase(std::remove(unready_.begin(), unready_.end(), k), unready_.end());
    }
    tls::EnvironmentScope scope(&env_);
    if (Ztunnel* z = ztunnel(node)) (void)z->start();
    push_configs(false);
  }
  return true;
}

void MeshSimulation::jump_clock(Duration d) { clock_offset_ += d; }

bool MeshSimulation::stop_renewal(std::string_view ns, std::string_view pod) {
  PodAgent* a = agent(ns, pod);
  if (!a) return false;
  a->set_renewal_enabled(false);
  return true;
}

void MeshSimulation::start_probes() {
  const mesh::World& w = *world_;
  for (const auto& [k, host] : hosts_) {
    const mesh::WorldPod& p = w.pods()[static_cast<size_t>(host_pod_.at(host))];
    if (!p.spec) continue;
    HostId kubelet = kubelets_.at(w.nodes()[static_cast<size_t>(p.node)].name);
    for (const auto& c : p.spec->containers) {
      const std::pair<const char*, const std::optional<mesh::Probe>*> kinds[] = {
          {"readyz", &c.readiness}, {"livez", &c.liveness}, {"startupz", &c.startup}};
      for (const auto& [kind, probe] : kinds) {
        if (!*probe) continue;
        const mesh::Probe& pr = **probe;
        if (pr.handler != mesh::Probe::Handler::kHttpGet && pr.handler != mesh::Probe::Handler::kTcpSocket) continue;
        uint32_t port = pr.port.is_int ? static_cast<uint32_t>(pr.port.int_value) : p.named_port(pr.port.str_value);
        bool rewrite = p.injected && p.rewrite_app_http_probers;
        ClientRequestSpec spec;
        std::string target_ip = to_string(p.ip);
        if (rewrite) {
          // The injector rewrote the probe to the agent's status port (ISTIO_BEHAVIOR.md §5).
          spec.protocol = "http";
          spec.target = target_ip + ":" + std::to_string(p.interception.status_port);
          spec.path = "/app-health/" + c.name + "/" + kind;
        } else if (pr.handler == mesh::Probe::Handler::kHttpGet) {
          spec.protocol = "http";
          spec.target = target_ip + ":" + std::to_string(port);
          spec.path = pr.path.empty() ? "/" : pr.path;
        } else {
          spec.protocol = "tcp-connect";
          spec.target = target_ip + ":" + std::to_string(port);
        }
        spec.headers = {{"User-Agent", "kube-probe/1.30"}};
        spec.keep_alive = false;
        spec.timeout = Duration::seconds(std::max(1, pr.timeout_seconds));
        ClientSchedule sched;
        sched.count = -1;
        sched.interval = Duration::seconds(std::max(1, pr.period_seconds));
        sched.start = Duration::seconds(pr.initial_delay_seconds) + Duration::millis(1);
        std::string kind_name = std::string(kind) == "readyz" ? "readiness" : std::string(kind) == "livez" ? "liveness" : "startup";
        ClientApp* prober = add_client(kubelet, "kubelet/" + k + "/" + c.name + "/" + kind_name, spec, sched);
        auto track = std::make_unique<ProbeTrack>();
        track->pod_key = k;
        track->container = c.name;
        track->kind = kind_name;
        track->success_threshold = std::max(1, pr.success_threshold);
        track->failure_threshold = std::max(1, pr.failure_threshold);
        ProbeTrack* t = track.get();
        probe_tracks_.push_back(std::move(track));
        bool http = spec.protocol == "http";
        prober->set_on_complete([this, t, http](const ClientApp::Last& l) {
          // Kubernetes: an HTTP probe passes with 200 ≤ status < 400; a TCP probe when it connects.
          bool ok = http ? l.http_status >= 200 && l.http_status < 400 : l.outcome == AppOutcomeObservation::Outcome::kOk;
          on_probe_result(*t, ok, l.error.empty() && http ? "HTTP probe failed with statuscode: " + std::to_string(l.http_status) : l.error);
        });
      }
    }
  }
}

HostId MeshSimulation::host_of(std::string_view ns, std::string_view pod) const {
  auto it = hosts_.find(key(ns, pod));
  return it == hosts_.end() ? kNoHost : it->second;
}

HostId MeshSimulation::kubelet_host(std::string_view node) const {
  auto it = kubelets_.find(node);
  return it == kubelets_.end() ? kNoHost : it->second;
}

HostId MeshSimulation::external_host(const std::string& name, std::optional<Ipv4> ip) {
  std::string k = "external/" + name;
  auto it = hosts_.find(k);
  if (it != hosts_.end()) return !ip || net_->topology().host(it->second).ip == *ip ? it->second : kNoHost;
  // 10.255.x.y: outside the pod and service ranges; on the first node.
  HostSpec h;
  h.ns = "external";
  h.name = name;
  h.ip = ip ? *ip : Ipv4::of(10, 255, 0, static_cast<uint8_t>(10 + hosts_.size() % 200));
  h.node = world_->nodes().empty() ? "" : world_->nodes().front().name;
  auto id = net_->add_host(std::move(h));
  if (!id.ok()) return kNoHost;
  hosts_[k] = *id;
  return *id;
}

AppPodInfo MeshSimulation::pod_info(HostId host) const {
  AppPodInfo a;
  a.host = host;
  const HostSpec& h = net_->topology().host(host);
  a.ns = h.ns;
  a.pod = h.name;
  a.ip = h.ip;
  auto it = host_pod_.find(host);
  if (it != host_pod_.end()) {
    const mesh::WorldPod& p = world_->pods()[static_cast<size_t>(it->second)];
    auto v = p.labels.find("version");
    if (v != p.labels.end()) a.version = v->second;
    a.service_account = p.service_account;
    a.workload = p.owner_name;
  }
  return a;
}

SidecarHost* MeshSimulation::sidecar(std::string_view ns, std::string_view pod) {
  auto it = sidecars_.find(key(ns, pod));
  return it == sidecars_.end() ? nullptr : it->second.get();
}

PodAgent* MeshSimulation::agent(std::string_view ns, std::string_view pod) {
  auto it = agents_.find(key(ns, pod));
  return it == agents_.end() ? nullptr : it->second.get();
}

std::shared_ptr<const proxy::ProxyConfig> MeshSimulation::config_of(std::string_view ns, std::string_view pod) const {
  auto it = configs_.find(key(ns, pod));
  return it == configs_.end() ? nullptr : it->second;
}

ClientApp* MeshSimulation::add_client(HostId host, std::string name, ClientRequestSpec spec, ClientSchedule schedule) {
  tls::EnvironmentScope scope(&env_);
  clients_.push_back(std::make_unique<ClientApp>(*sim_, *net_, pod_info(host), std::move(name), std::move(spec), schedule));
  clients_.back()->start();
  return clients_.back().get();
}

ServerApp* MeshSimulation::add_server(HostId host, uint16_t port, ServerAppOptions options) {
  tls::EnvironmentScope scope(&env_);
  auto s = std::make_unique<ServerApp>(*sim_, *net_, pod_info(host), port, std::move(options));
  if (!s->start()) return nullptr;
  servers_.push_back(std::move(s));
  return servers_.back().get();
}

size_t MeshSimulation::set_app_behavior(std::string_view ns, std::string_view pod, uint16_t port,
                                        std::optional<double> error_rate, std::optional<int> error_status,
                                        const std::optional<LatencyModel>& latency) {
  auto it = pod_servers_.find(std::string(ns) + "/" + std::string(pod));
  if (it == pod_servers_.end()) return 0;
  size_t n = 0;
  for (size_t i : it->second) {
    ServerApp& app = *servers_[i];
    if (port != 0 && app.port() != port) continue;
    app.set_behavior(error_rate, error_status, latency);
    ++n;
  }
  return n;
}

}  // namespace meshsim::sim
