#include "sim/scenario/runner.h"

#include "mesh/gateway.h"

#include <set>

#include "mesh/coverage.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>

#include "mesh/policy.h"
#include "proxy/access_log.h"
#include "proxy/base/check.h"
#include "proxy/base/hash.h"
#include "proxy/http/grpc.h"
#include "proxy/tls/client_hello_inspector.h"
#include "sim/runtime/event_log.h"
#include "sim/runtime/mesh_simulation.h"
#include "sim/runtime/probe.h"
#include "sim/scenario/metrics_output.h"

namespace meshsim::sim {

bool ScenarioRunResult::passed() const {
  return std::all_of(expectations.begin(), expectations.end(), [](const auto& e) { return e.passed; });
}

std::string format_fingerprint(uint64_t fp) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, fp);
  return buf;
}

namespace {

using Outcome = AppOutcomeObservation::Outcome;

struct OutcomeRec {
  std::string client;
  Duration start, end;
  Outcome outcome;
  int status;
  std::string error;
  Duration latency;
  uint64_t connection = 0;  // the app's network connection (0: none)
  int grpc_status = -1;     // grpc clients: the call's status
};

struct WireConn {
  HostId client_host = kNoHost;
  HostId server_host = kNoHost;
  SocketAddress client_local;  // the client's address of the connection
  Duration start;
  Duration last_data;  // the connection was in use from start to last_data
  std::string first_bytes;
  SocketAddress dst;
};

struct LogRec {
  std::string pod;
  Duration time;
  proxy::AccessLogEntry e;
};

struct CertRec {
  Duration not_before, not_after;
  bool rotation;
  Duration at;
};

// Display width of UTF-8 text (one column per code point).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string fmt_time(Duration t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%10.3fs", t.to_seconds());
  return buf;
}

std::string fmt_ms(Duration d) {
  char buf[32];
  double ms = d.to_millis();
  if (ms >= 1000) std::snprintf(buf, sizeof buf, "%.2fs", ms / 1000);
  else if (ms >= 1) std::snprintf(buf, sizeof buf, "%.2fms", ms);
  else std::snprintf(buf, sizeof buf, "%.0fus", ms * 1000);
  return buf;
}

std::string fmt_ratio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", r);
  return buf;
}

Duration percentile(std::vector<Duration> v, double p) {
  if (v.empty()) return Duration::zero();
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  if (idx > 0) --idx;
  return v[std::min(idx, v.size() - 1)];
}

// Judges one connection from its first bytes: TLS with Istio's ALPN = mtls.
std::string classify_wire(const std::string& bytes, std::vector<std::string>* alpn, std::string* sni = nullptr) {
  tls::ClientHelloInfo hi;
  auto r = tls::inspect_client_hello({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, &hi);
  if (r != tls::InspectResult::kTls) return "plaintext";
  if (alpn) *alpn = hi.alpn;
  if (sni) *sni = hi.sni;
  for (const auto& a : hi.alpn) {
    if (a == "istio" || a.rfind("istio-", 0) == 0) return "mtls";
  }
  return "tls";
}

// A request's access logs come up to 5 ms after its outcome.
constexpr Duration kLogGrace = Duration::nanos(RequestVerdictObservation::kEvidenceDelayNs);

class Runner {
 public:
  Runner(const Scenario& s, const RunOptions& o) : s_(s), o_(o) {}
  // The simulation goes first: tearing it down still publishes observations
  // (sockets closing) to subscribers that write into this object.
  ~Runner() {
    // The captures and the event log unsubscribe from the simulator (a run
    // that stopped early leaves no half-written file).
    cap_.reset();
    events_.reset();
    if (ms_) ms_->sim().set_tracer(nullptr);
    ms_.reset();
  }

  Result<ScenarioRunResult> run();
  // The steps of run(), for ScenarioSession.
  Status start();
  void advance(Duration t);
  Result<ScenarioRunResult> finish();
  MeshSimulation& mesh() { return *ms_; }
  Duration duration() const { return s_.duration; }
  std::shared_ptr<const mesh::World> world_at(Duration t) const {
    std::shared_ptr<const mesh::World> w = worlds_.empty() ? world_ : worlds_.front().second;
    for (const auto& [from, world] : worlds_) {
      if (from <= t) w = world;
    }
    return w;
  }

 private:
  using Wire = RequestVerdictObservation::Wire;
  // An outbound call a server app made (AppCallObservation), waiting for its verdict.
  struct CallRec {
    OutcomeRec o;
    std::string pod, target;
  };
  // How the request left the client's pod (see RequestVerdictObservation).
  Wire judge_wire(const OutcomeRec& o) const;
  // Publishes the verdict of every request whose evidence is complete at
  // `now` (its outcome plus 5 ms of access logs), or of all when `all`.
  void judge_ready(Duration now, bool all);
  Status setup_world();
  Status start_apps();
  std::vector<std::pair<const ScenarioServer*, ServerAppOptions>> external_servers_;
  void schedule_timeline();
  void subscribe();
  void evaluate();
  void build_edges();
  void build_story_failures();
  void build_failover();
  std::string pod_key_of(const WorkloadRef& r, Status* err);
  HostId host_of_ref(const std::string& ref);
  bool client_matches(const std::string& sel, const std::string& client) const;
  std::string explain_failure(const OutcomeRec& o) const;
  const LogRec* outbound_log_for(const OutcomeRec& o, const SocketAddress& app_addr) const;
  // Access-log entries by downstream address (ip << 16 | port), built on first use.
  // Kept up to date as entries arrive (verdicts are judged during the run).
  std::unordered_map<uint64_t, std::vector<uint32_t>> logs_by_downstream_;

  const Scenario& s_;
  const RunOptions& o_;
  mesh::ResourceSet current_;
  std::shared_ptr<const mesh::World> world_;
  // Every world the sidecars ran with: from when its configuration reached
  // them (applied + push delay) — a failure is explained with the policy of
  // its time, not the final one.
  std::vector<std::pair<Duration, std::shared_ptr<const mesh::World>>> worlds_;
  Duration push_delay_;
  std::unique_ptr<MeshSimulation> ms_;
  // The scenario's user CA (DestinationRule MUTUAL/SIMPLE peers, app TLS):
  // created on first use, every random byte from the seed's "scenario/pki" stream.
  tls::CertificateAuthority& user_ca() {
    if (!user_ca_) {
      tls::EnvironmentScope scope(&pki_env_);
      tls::CaOptions co;
      co.organization = "meshsim user CA";
      co.common_name = "meshsim user CA";
      user_ca_ = tls::CertificateAuthority::create_self_signed(co);
    }
    return *user_ca_;
  }
  RandomStream pki_rng_ = RandomStream::derive(s_.seed, "scenario/pki");
  tls::Environment pki_env_{[this](unsigned char* p, std::size_t n) { pki_rng_.fill(p, n); }, nullptr, nullptr};
  std::optional<tls::CertificateAuthority> user_ca_;
  std::map<std::string, tls::CertifiedKey> pki_certs_;
  ScenarioRunResult r_;
  std::vector<OutcomeRec> outcomes_;
  std::vector<OutcomeRec> probe_outcomes_;  // kubelet probes: client "kubelet/<ns>/<pod>/<container>/<kind>"
  std::map<uint64_t, WireConn> wire_;
  // Ambient: the app connections a ztunnel proxied, by network connection
  // number → true for HBONE (mTLS), false for plain TCP (ZtunnelObservation).
  std::map<uint64_t, bool> ztunnel_wire_;
  std::vector<LogRec> logs_;
  std::map<std::string, std::vector<CertRec>> certs_;
  std::map<std::string, std::string> client_pod_;   // client name → pod key or external/<name>
  std::map<std::string, HostId> client_host_;
  std::map<std::string, std::pair<std::string, std::string>> client_meta_;  // name → (target, protocol)
  std::map<std::string, std::pair<Duration, uint64_t>> pushes_;  // version → first time, count
  std::map<std::string, uint32_t> partitions_;
  std::vector<FailoverRecord> failover_;
  ActorId actor_ = 0;
  EventKindId k_timeline_ = 0;
  EventKindId k_action_ = 0;   // scenario.action (view)
  EventKindId k_verdict_ = 0;  // scenario.request (view)
  // Verdicts: one wire judgement per entry of outcomes_ (judged_ of them so
  // far), the calls of server apps still waiting, and each source's state
  // (working, or the outcome|error it fails with) for the story's transitions.
  std::vector<Wire> wires_;
  size_t judged_ = 0;
  std::vector<CallRec> calls_;
  size_t calls_judged_ = 0;
  std::map<std::string, std::string> source_state_;
  std::vector<StoryEvent> failure_story_;
  // run()'s state between start() and finish().
  std::chrono::steady_clock::time_point wall0_;
  uint64_t unscoped0_ = 0;
  std::unique_ptr<TraceRecorder> tracer_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<CaptureSession> cap_;
};

std::string Runner::pod_key_of(const WorkloadRef& r, Status* err) {
  if (r.external()) return "external/" + r.external_name();
  const mesh::WorldPod* p = find_pod_ref(*world_, r.text);
  if (!p) {
    *err = Error{"no pod, workload or app \"" + r.text + "\" in the mesh"};
    return "";
  }
  return p->namespace_ + "/" + p->name;
}

HostId Runner::host_of_ref(const std::string& ref) {
  if (ref.rfind("external", 0) == 0) {
    WorkloadRef w{ref};
    return ms_->external_host(w.external_name());
  }
  const mesh::WorldPod* p = find_pod_ref(*world_, ref);
  return p ? ms_->host_of(p->namespace_, p->name) : kNoHost;
}

Status Runner::setup_world() {
  current_ = s_.resources;
  std::vector<mesh::Diagnostic> diags;
  world_ = std::make_shared<const mesh::World>(mesh::build_world(current_, s_.mesh_config, diags));
  for (const auto& d : diags) {
    if (d.severity == mesh::Severity::kError) return Error{d.format()};
  }
  MeshSimulationOptions mo;
  mo.seed = s_.seed;
  mo.links = s_.links;
  // The user PKI: certificates of the scenario (not Istio's CA), from the seed.
  for (const PkiCertificate& pc : s_.pki) {
    tls::LeafOptions lo;
    lo.common_name = pc.dns_names.empty() ? pc.name : pc.dns_names.front();
    lo.dns_sans = pc.dns_names;
    lo.uri_sans = pc.uri_names;
    lo.not_after = Duration::hours(24 * 3650);
    lo.server_auth = true;
    lo.client_auth = true;
    tls::EnvironmentScope scope(&pki_env_);
    pki_certs_.emplace(pc.name, user_ca().issue(lo));
  }
  // Server overrides from the scenario.
  for (const auto& sv : s_.servers) {
    Status err;
    std::string key = pod_key_of(sv.pod, &err);
    if (!err.ok()) return Error{sv.location.str() + ": apps: server: " + err.message()};
    ServerAppOptions so = sv.options;
    if (sv.options.tls.enabled) {
      if (!sv.tls_certificate.empty()) {
        so.tls.identity = pki_certs_.at(sv.tls_certificate);
      } else {
        tls::LeafOptions lo;
        lo.common_name = sv.tls_dns_names.front();
        lo.dns_sans = sv.tls_dns_names;
        lo.not_after = Duration::hours(24 * 365);
        lo.server_auth = true;
        tls::EnvironmentScope scope(&pki_env_);
        so.tls.identity = user_ca().issue(lo);
      }
      // A server that asks for client certificates trusts the user CA.
      if (so.tls.require_client_certificate && so.tls.roots.empty()) so.tls.roots = {user_ca().root()};
    }
    if (sv.pod.external()) {
      external_servers_.emplace_back(&sv, std::move(so));  // started once the network exists
      continue;
    }
    mo.server_overrides[key + ":" + std::to_string(sv.port)] = so;
  }
  ms_ = std::make_unique<MeshSimulation>(world_, mo);
  worlds_.assign(1, {Duration::zero(), world_});
  push_delay_ = mo.push_delay;
  return Status::Ok();
}

Status Runner::start_apps() {
  // Servers outside the mesh: a host at the given address (else an
  // allocated one) whose name the DNS beyond the cluster resolves.
  for (auto& [sv, so] : external_servers_) {
    std::optional<Ipv4> ip;
    if (!sv->address.empty()) ip = *parse_ipv4(sv->address);
    HostId host = ms_->external_host(sv->pod.external_name(), ip);
    if (host == kNoHost)
      return Error{sv->location.str() + ": apps: server " + sv->pod.text + ": cannot place it at " + sv->address +
                   " (the address is taken)"};
    if (!sv->hostname.empty()) (void)ms_->net().dns().add_name(sv->hostname, {*ip});
    if (!ms_->add_server(host, sv->port, so))
      return Error{sv->location.str() + ": apps: server " + sv->pod.text + ": port " + std::to_string(sv->port) + " is taken"};
  }
  for (const auto& c : s_.clients) {
    Status err;
    std::string key = pod_key_of(c.from, &err);
    if (!err.ok()) return Error{c.location.str() + ": apps: client " + c.name + ": " + err.message()};
    HostId host = c.from.external() ? ms_->external_host(c.from.external_name()) : host_of_ref(c.from.text);
    if (host == kNoHost) return Error{c.location.str() + ": apps: client " + c.name + ": the pod is not running"};
    ClientRequestSpec spec = c.request;
    std::string host_part = spec.target.substr(0, spec.target.rfind(':'));
    if (!c.via.empty()) {
      // The ingress gateway Service's (or the named gateway Service's)
      // load-balancer address, else a node's NodePort; the URL's host in
      // Host and SNI (mesh/gateway.h).
      uint32_t port = static_cast<uint32_t>(std::stoul(spec.target.substr(spec.target.rfind(':') + 1)));
      auto a = mesh::ingress_address(*world_, port, c.via == "ingress" ? "" : c.via);
      if (!a.ok()) return Error{c.location.str() + ": apps: client " + c.name + ": via " + c.via + ": " + a.message()};
      if (spec.host_header.empty()) spec.host_header = port == 80 || port == 443 ? host_part : spec.target;
      spec.target = to_string(a->ip) + ":" + std::to_string(a->port);
    }
    if (c.client_tls != "plaintext") {
      spec.tls.enabled = true;
      if (!parse_ipv4(host_part).ok()) spec.tls.sni = host_part;
      if (c.client_tls == "mtls") {
        spec.tls.alpn = {spec.protocol == "http" ? "istio-http/1.1" : "istio"};
        const mesh::WorldPod* p = c.from.external() ? nullptr : find_pod_ref(*world_, c.from.text);
        tls::EnvironmentScope scope(&ms_->tls_environment());
        spec.tls.identity = ms_->ca().issue_workload(world_->mesh_config().trust_domain, p ? p->namespace_ : "external",
                                                     p ? p->service_account : "default", Duration::zero(),
                                                     Duration::hours(24 * 3650));
        spec.tls.roots = {ms_->ca().root()};
      } else if (spec.protocol == "http") {
        spec.tls.alpn = {"http/1.1"};
      }
    }
    client_pod_[c.name] = key;
    client_host_[c.name] = host;
    client_meta_[c.name] = {spec.target, spec.protocol};
    ms_->add_client(host, c.name, spec, c.schedule);
  }
  return Status::Ok();
}

void Runner::schedule_timeline() {
  k_timeline_ = ms_->sim().kind("scenario.timeline");
  for (size_t i = 0; i < s_.timeline.size(); ++i) {
    ms_->sim().schedule_at(s_.timeline[i].at, actor_, k_timeline_, [this, i] {
      const TimelineAction& a = s_.timeline[i];
      StoryEvent ev{ms_->sim().now(), "timeline: " + a.name, {}};
      using K = TimelineAction::Kind;
      switch (a.kind) {
        case K::kApply:
        case K::kDelete: {
          if (a.kind == K::kApply) {
            mesh::ResourceSet add = a.objects;
            auto describe = [&](const auto& list) {
              for (const auto& o : list) {
                current_.remove(o.kind, o.meta.namespace_, o.meta.name);
                std::string d = "apply " + o.display();
                if constexpr (std::is_same_v<std::decay_t<decltype(o)>, mesh::PeerAuthentication>) {
                  d += " (mode " + std::string(mesh::mtls_mode_name(o.mode)) + ")";
                }
                ev.details.push_back(d);
              }
            };
            describe(add.peer_authentications);
            describe(add.destination_rules);
            describe(add.virtual_services);
            describe(add.authorization_policies);
            describe(add.request_authentications);
            describe(add.sidecars);
            describe(add.service_entries);
            describe(add.workload_entries);
            describe(add.telemetries);
            describe(add.config_maps);
            describe(add.istio_operators);
            describe(add.gateways);
            current_.merge(std::move(add));
          } else {
            for (const auto& d : a.deletes) {
              bool removed = current_.remove(d.kind, d.ns, d.name);
              ev.details.push_back(std::string(removed ? "delete " : "delete (not present) ") + mesh::kind_name(d.kind) +
                                   " " + d.ns + "/" + d.name);
            }
          }
          std::vector<mesh::Diagnostic> diags;
          mesh::MeshConfig mc = mesh::resolve_mesh_config(current_, diags);
          if (s_.mesh_config_overlay.valid()) mesh::apply_mesh_config(s_.mesh_config_overlay, "scenario", mc, diags);
          mc.inject_namespaces = s_.mesh_config.inject_namespaces;
          auto next = std::make_shared<const mesh::World>(mesh::build_world(current_, mc, diags, world_.get()));
          world_ = next;
          worlds_.push_back({ms_->sim().now() + push_delay_, next});
          ms_->apply_world(next);
          break;
        }
        case K::kKillPod:
        case K::kRestartPod:
        case K::kStopRenewal:
          for (const auto& p : a.pods) {
            const mesh::WorldPod* wp = find_pod_ref(*world_, p.text);
            if (!wp) {
              ev.details.push_back("no pod " + p.text);
              continue;
            }
            if (a.kind == K::kKillPod) ms_->kill_pod(wp->namespace_, wp->name);
            else if (a.kind == K::kRestartPod) ms_->restart_pod(wp->namespace_, wp->name);
            else ms_->stop_renewal(wp->namespace_, wp->name);
            ev.details.push_back(std::string(a.kind == K::kKillPod ? "killed " : a.kind == K::kRestartPod ? "restarted " : "certificate renewal stopped for ") + wp->namespace_ + "/" + wp->name);
          }
          break;
        case K::kNodeDown:
        case K::kNodeUp:
          if (!ms_->set_node_up(a.node, a.kind == K::kNodeUp)) {
            ev.details.push_back("no node " + a.node);
          } else {
            std::string pods;
            const auto& nodes = world_->nodes();
            for (const auto& p : world_->pods()) {
              if (p.node < 0 || static_cast<size_t>(p.node) >= nodes.size() || nodes[static_cast<size_t>(p.node)].name != a.node) continue;
              pods += (pods.empty() ? "" : ", ") + p.namespace_ + "/" + p.name;
            }
            ev.details.push_back("node " + a.node + (a.kind == K::kNodeUp ? " up, restarting: " : " down, taking: ") +
                                 (pods.empty() ? "no pods" : pods));
            if (a.kind == K::kNodeDown) {
              ev.details.push_back("their endpoints stay ready until the node monitor grace period (40 s) has passed");
            }
          }
          break;
        case K::kKillZtunnel:
        case K::kRestartZtunnel: {
          Ztunnel* z = ms_->ztunnel(a.node);
          if (!z) {
            ev.details.push_back("no ztunnel on node " + a.node);
            break;
          }
          std::string pods;
          const auto& nodes = world_->nodes();
          for (const auto& p : world_->pods()) {
            if (!p.ambient || p.node < 0 || nodes[static_cast<size_t>(p.node)].name != a.node) continue;
            pods += (pods.empty() ? "" : ", ") + p.namespace_ + "/" + p.name;
          }
          if (a.kind == K::kKillZtunnel) {
            ms_->kill_ztunnel(a.node);
            ev.details.push_back("ztunnel " + z->pod() + " on node " + a.node + " killed: ambient pods " +
                                 (pods.empty() ? "none" : pods) +
                                 " lose their connections (reset) and cannot open new ones (no listener behind the "
                                 "in-pod redirect); other nodes are not affected");
          } else {
            ms_->restart_ztunnel(a.node);
            ev.details.push_back("ztunnel " + z->pod() + " on node " + a.node + " restarted: serving " +
                                 (pods.empty() ? "no ambient pods" : pods) + " again");
          }
          break;
        }
        case K::kPartition: {
          PartitionSide sa, sb;
          auto fill = [&](PartitionSide& side, const std::vector<std::string>& nodes, const std::vector<WorkloadRef>& pods) {
            std::string who;
            for (const auto& n : nodes) {
              NodeId id = ms_->net().topology().find_node(n);
              if (id != kNoNode) side.nodes.push_back(id), who += (who.empty() ? "node " : ", node ") + n;
              else ev.details.push_back("no node " + n);
            }
            for (const auto& p : pods) {
              HostId h = host_of_ref(p.text);
              const mesh::WorldPod* wp = find_pod_ref(*world_, p.text);
              if (h != kNoHost && wp) side.hosts.push_back(h), who += (who.empty() ? "" : ", ") + wp->namespace_ + "/" + wp->name;
              else ev.details.push_back("no pod " + p.text);
            }
            return who;
          };
          std::string wa = fill(sa, a.a_nodes, a.a_pods);
          std::string wb = fill(sb, a.b_nodes, a.b_pods);
          partitions_[a.partition] = ms_->net().partition(sa, sb);
          ev.details.push_back("partition " + a.partition + ": every segment between {" + wa + "} and {" + wb +
                               "} is dropped (both directions); TCP keeps retransmitting");
          break;
        }
        case K::kHeal: {
          auto it = partitions_.find(a.partition);
          if (it != partitions_.end()) {
            ms_->net().heal(it->second);
            ev.details.push_back("partition " + a.partition + " healed: retransmissions get through again");
          } else {
            ev.details.push_back("no partition " + a.partition);
          }
          break;
        }
        case K::kLatency:
          for (auto [rel, lat] : a.latency) {
            LinkProfile lp = ms_->net().links().profile(rel);
            lp.latency = lat;
            ms_->net().links().set_profile(rel, lp);
            ev.details.push_back(std::string(to_string(rel)) + " latency " + format_duration(lat));
          }
          ms_->net().refresh_link_profiles();  // open connections (sidecar pools) too
          break;
        case K::kZoneDown:
        case K::kZoneUp: {
          std::string nodes;
          for (const auto& n : world_->nodes()) {
            if (n.locality.zone != a.zone) continue;
            if (ms_->set_node_up(n.name, a.kind == K::kZoneUp)) nodes += (nodes.empty() ? "" : ", ") + n.name;
          }
          ev.details.push_back("zone " + a.zone + (a.kind == K::kZoneUp ? " up, nodes: " : " down, nodes: ") +
                               (nodes.empty() ? "none" : nodes));
          if (a.kind == K::kZoneDown) {
            ev.details.push_back("their pods vanish without FIN or RST; endpoints stay ready until the node monitor grace period (40 s) has passed");
          }
          break;
        }
        case K::kAppFault:
          for (const auto& p : a.pods) {
            const mesh::WorldPod* wp = find_pod_ref(*world_, p.text);
            if (!wp) {
              ev.details.push_back("no pod " + p.text);
              continue;
            }
            size_t n = ms_->set_app_behavior(wp->namespace_, wp->name, a.port, a.error_rate, a.error_status, a.app_latency);
            std::string what;
            if (a.error_rate) {
              char b[64];
              std::snprintf(b, sizeof b, "error rate %.3g", *a.error_rate);
              what += b;
            }
            if (a.error_status) what += (what.empty() ? "" : ", ") + std::string("error status ") + std::to_string(*a.error_status);
            if (a.app_latency) what += (what.empty() ? "" : ", ") + std::string("new latency");
            ev.details.push_back(wp->namespace_ + "/" + wp->name + (a.port ? ":" + std::to_string(a.port) : "") + ": " + what +
                                 " (" + std::to_string(n) + " server app" + (n == 1 ? "" : "s") + ")");
          }
          break;
        case K::kClockJump:
          ms_->jump_clock(a.jump);
          ev.details.push_back("wall clocks now " + format_duration(ms_->wall_clock_offset()) + " ahead of virtual time");
          break;
      }
      if (ms_->sim().has_subscribers()) {
        ScenarioActionObservation action;
        action.name = a.name;
        action.category = a.kind == K::kApply || a.kind == K::kDelete ? ScenarioActionObservation::Category::kConfig
                                                                      : ScenarioActionObservation::Category::kFault;
        action.details = ev.details;
        ms_->sim().publish(actor_, k_action_, fnv1a64(a.name), action);
      }
      r_.story.push_back(std::move(ev));
    });
  }
}

void Runner::subscribe() {
  ms_->sim().subscribe([this](const Observation& o) {
    std::visit(
        [&](const auto& p) {
          using T = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<T, AppOutcomeObservation>) {
            std::string client(p.client);
            Duration lat = Duration::nanos(p.latency_ns);
            if (client.rfind("kubelet/", 0) == 0) {
              probe_outcomes_.push_back(
                  {client, o.time - lat, o.time, p.outcome, p.http_status, std::string(p.error), lat, p.connection});
              return;
            }
            if (!client_meta_.count(client)) return;
            outcomes_.push_back(
                {client, o.time - lat, o.time, p.outcome, p.http_status, std::string(p.error), lat, p.connection, p.grpc_status});
                      } else if constexpr (std::is_same_v<T, AppCallObservation>) {
            Duration lat = Duration::nanos(p.latency_ns);
            calls_.push_back({{"", o.time - lat, o.time, p.outcome, p.http_status, std::string(p.error), lat, p.connection, 0},
                              std::string(p.pod),
                              std::string(p.target)});
          } else if constexpr (std::is_same_v<T, TcpConnectionObservation>) {
            if (p.client_side && p.event == TcpEvent::kConnect) {
              WireConn& w = wire_[p.connection];
              w.client_host = p.host;
              w.client_local = p.local;
              w.start = o.time;
            } else if (!p.client_side && p.event == TcpEvent::kAccepted) {
              WireConn& w = wire_[p.connection];
              w.server_host = p.host;
              w.dst = p.redirected ? p.original_dst : p.local;
            }
          } else if constexpr (std::is_same_v<T, TcpDataObservation>) {
            auto it = wire_.find(p.connection);
            if (it == wire_.end()) return;
            it->second.last_data = o.time;
            if (p.to_client || it->second.first_bytes.size() >= 2048) return;
            it->second.first_bytes.append(reinterpret_cast<const char*>(p.bytes.data()),
                                          std::min<size_t>(p.bytes.size(), 2048));
          } else if constexpr (std::is_same_v<T, AccessLogObservation>) {
            logs_.push_back({std::string(p.pod), o.time, *p.entry});
            const SocketAddress& d = p.entry->downstream_remote;
            logs_by_downstream_[(static_cast<uint64_t>(d.ip.value) << 16) | d.port].push_back(
                static_cast<uint32_t>(logs_.size() - 1));
          } else if constexpr (std::is_same_v<T, ConfigPushObservation>) {
            auto& e = pushes_[std::string(p.version)];
            if (e.second == 0) e.first = o.time;
            if (o.time == e.first) ++e.second;  // a restarted pod getting it later is not this push
          } else if constexpr (std::is_same_v<T, OutlierObservation>) {
            FailoverRecord f;
            f.at = o.time;
            f.pod = p.pod;
            f.cluster = p.cluster;
            f.action = p.action == OutlierObservation::Action::kEject ? (p.enforced ? "eject" : "not-enforced")
                                                                       : to_string(p.action);
            f.host = p.host;
            f.hostname = p.hostname;
            f.type = p.type;
            f.num_ejections = p.num_ejections;
            f.ejections_active = p.ejections_active;
            f.hosts = p.hosts;
            f.ejection_time = Duration::nanos(p.ejection_time_ns);
            f.ejected_for = Duration::nanos(p.ejected_for_ns);
            failover_.push_back(std::move(f));
          } else if constexpr (std::is_same_v<T, PodHealthObservation>) {
            FailoverRecord f;
            f.at = o.time;
            f.pod = p.pod;
            f.action = to_string(p.event);
            f.container = p.container;
            f.probe = p.probe;
            f.last_error = p.last_error;
            f.consecutive = p.consecutive;
            failover_.push_back(std::move(f));
          } else if constexpr (std::is_same_v<T, PriorityLoadObservation>) {
            FailoverRecord f;
            f.at = o.time;
            f.pod = p.pod;
            f.cluster = p.cluster;
            f.action = "priority";
            f.load.assign(p.load.begin(), p.load.end());
            f.priority_hosts.assign(p.hosts.begin(), p.hosts.end());
            f.priority_healthy.assign(p.healthy.begin(), p.healthy.end());
            f.panic.assign(p.panic.begin(), p.panic.end());
            failover_.push_back(std::move(f));
          } else if constexpr (std::is_same_v<T, ZtunnelObservation>) {
            if (p.event == ZtunnelObservation::Event::kOutbound && p.connection)
              ztunnel_wire_[p.connection] = p.protocol == "HBONE";
          } else if constexpr (std::is_same_v<T, CertificateObservation>) {
            certs_[std::string(p.pod)].push_back(
                {Duration::nanos(p.not_before_ns), Duration::nanos(p.not_after_ns), p.rotation, o.time});
          }
        },
        o.payload);
  });
}

bool Runner::client_matches(const std::string& sel, const std::string& client) const {
  if (sel.empty() || sel == client) return true;
  auto it = s_.clients.begin();
  for (; it != s_.clients.end(); ++it) {
    if (it->name == client) break;
  }
  if (it == s_.clients.end()) return false;
  if (it->from.text == sel) return true;
  auto pk = client_pod_.find(client);
  if (pk == client_pod_.end()) return false;
  if (pk->second == sel) return true;
  if (sel == "external" && it->from.external()) return true;
  // A workload / app reference resolving to the client's pod.
  if (const mesh::WorldPod* p = find_pod_ref(*world_, sel)) return p->namespace_ + "/" + p->name == pk->second;
  return false;
}

// The client sidecar's outbound access-log entry of one request: the entry
// whose downstream is the app's connection, logged while the request was open.
const LogRec* Runner::outbound_log_for(const OutcomeRec& o, const SocketAddress& app_addr) const {
  auto key = [](const SocketAddress& a) { return (static_cast<uint64_t>(a.ip.value) << 16) | a.port; };
  auto it = logs_by_downstream_.find(key(app_addr));
  if (it == logs_by_downstream_.end()) return nullptr;
  const LogRec* found = nullptr;
  for (uint32_t i : it->second) {
    const LogRec& l = logs_[i];
    if (l.time < o.start || l.time > o.end + kLogGrace) continue;
    if (l.e.direction == proxy::TrafficDirection::kOutbound) found = &l;
  }
  return found;
}

std::string Runner::explain_failure(const OutcomeRec& o) const {
  // The sidecar access log of this client's traffic (its own sidecar's
  // outbound log, or a server sidecar's inbound log of a connection from the
  // client's address) that recorded a problem while the request was open.
  auto pk = client_pod_.find(o.client);
  std::string client_pod = pk == client_pod_.end() ? "" : pk->second;
  auto hk = client_host_.find(o.client);
  Ipv4 client_ip = hk == client_host_.end() ? Ipv4{} : ms_->net().topology().host(hk->second).ip;
  // The app's own connection, when known: the client sidecar's outbound log
  // and a server sidecar's inbound log both name its address as downstream.
  std::optional<SocketAddress> app_addr;
  if (o.connection == 0 && o.outcome != Outcome::kOk) return "";  // no connection was made (e.g. DNS)
  if (auto w = wire_.find(o.connection); o.connection != 0 && w != wire_.end()) app_addr = w->second.client_local;
  auto problem = [](const proxy::AccessLogEntry& e) {
    return e.response_flags != "-" || (e.http && e.response_code >= 400) || !e.upstream_transport_failure_reason.empty() ||
           e.connection_termination_details.find("TLS") != std::string::npos ||
           e.connection_termination_details.rfind("rbac_access_denied", 0) == 0;
  };
  const LogRec* best = nullptr;
  const LogRec* link = nullptr;  // the client sidecar's entry of this request, problem or not
  for (const LogRec& l : logs_) {
    if (l.time < o.start || l.time > o.end + kLogGrace) continue;
    bool mine = app_addr ? l.e.downstream_remote == *app_addr
                         : (l.pod == client_pod && l.e.direction == proxy::TrafficDirection::kOutbound) ||
                               (l.e.direction == proxy::TrafficDirection::kInbound && l.e.downstream_remote.ip == client_ip);
    if (!mine) continue;
    if (!link && l.e.direction == proxy::TrafficDirection::kOutbound && !l.e.upstream_host.empty()) link = &l;
    if (!problem(l.e)) continue;
    if (!best || l.e.direction == proxy::TrafficDirection::kInbound) best = &l;
  }
  // The client sidecar's view leads to the server sidecar's: its inbound
  // entry for the same upstream address says why (an RBAC denial, a reset),
  // even when the client side saw nothing wrong (a TCP session cut short).
  if (const LogRec* out = best && best->e.direction == proxy::TrafficDirection::kOutbound ? best : (!best ? link : nullptr)) {
    for (const LogRec& l : logs_) {
      if (l.time < o.start || l.time > o.end + kLogGrace) continue;
      if (l.e.direction != proxy::TrafficDirection::kInbound || to_string(l.e.downstream_local) != out->e.upstream_host)
        continue;
      // An HTTP request is the same on both sides by its x-request-id.
      if (out->e.http && !out->e.request_id.empty() && l.e.request_id != out->e.request_id) continue;
      if (problem(l.e)) {
        best = &l;
        break;
      }
    }
  }
  if (!best) return "";
  const proxy::AccessLogEntry& e = best->e;
  std::string side = e.direction == proxy::TrafficDirection::kInbound ? "server sidecar " : "client sidecar ";
  std::string why;
  if (e.connection_termination_details == "filter_chain_not_found") {
    why = "no filter chain on " + e.listener + " accepts this connection to port " +
          std::to_string(e.downstream_local.port);
    // The engine's own sieve: what the listener's chains for the port wanted
    // (their descriptions name the PeerAuthentication behind them).
    if (!e.filter_chain_miss.empty()) why += " (" + e.filter_chain_miss + ")";
  } else {
    why = "flags " + e.response_flags;
    if (e.http) why += ", HTTP " + std::to_string(e.response_code) + " " + e.response_code_details;
    else if (!e.connection_termination_details.empty()) why += ", " + e.connection_termination_details;
    if (!e.upstream_transport_failure_reason.empty()) why += ", transport: " + e.upstream_transport_failure_reason;
    if (!e.cluster.empty()) why += ", cluster " + e.cluster;
  }
  // What jwt_authn / ext_authz decided about the request, when it refused it.
  if (e.http && (e.response_code == 401 || e.response_code == 403) && !e.request_auth.empty())
    why += "; " + e.request_auth;
  // The RBAC filter's own account of a denial: which policy, rule and clause.
  for (const proxy::RbacVerdict& v : e.rbac) {
    if (!v.denied || v.shadow) continue;
    why += "; " + proxy::rbac_verdict_summary(v);
    if (!v.reasons.empty()) why += ": " + proxy::rbac_reason_text(v.reasons.front());
    if (v.reasons.size() > 1) why += " (+" + std::to_string(v.reasons.size() - 1) + " more rules)";
    break;
  }
  return side + best->pod + ": " + why;
}

Runner::Wire Runner::judge_wire(const OutcomeRec& o) const {
  if (o.connection == 0) return Wire::kUnjudged;
  auto w = wire_.find(o.connection);
  if (w == wire_.end()) return Wire::kUnjudged;
  std::string kind;
  if (w->second.server_host != w->second.client_host) {
    if (w->second.first_bytes.empty()) return Wire::kUnjudged;
    kind = classify_wire(w->second.first_bytes, nullptr);  // the app's own connection left the pod
  } else if (auto z = ztunnel_wire_.find(o.connection); z != ztunnel_wire_.end()) {
    kind = z->second ? "mtls" : "plaintext";  // what the pod's ztunnel sent: HBONE, or passthrough TCP
  } else if (const LogRec* l = outbound_log_for(o, w->second.client_local)) {
    const proxy::SecurityInfo& t = l->e.upstream_tls;
    if (l->e.cluster.empty() || l->e.upstream_host.empty()) return Wire::kUnjudged;
    kind = !t.tls ? "plaintext" : !t.local_uri_san.empty() ? "mtls" : "tls";
  } else {
    return Wire::kUnjudged;
  }
  return kind == "mtls" ? Wire::kMtls : kind == "tls" ? Wire::kTls : Wire::kPlaintext;
}

void Runner::judge_ready(Duration now, bool all) {
  using Transition = RequestVerdictObservation::Transition;
  auto ready = [&](const OutcomeRec& o) { return all || o.end + kLogGrace <= now; };
  const bool publish = ms_->sim().has_subscribers();
  for (;;) {
    bool client_next = judged_ < outcomes_.size() && ready(outcomes_[judged_]);
    bool call_next = calls_judged_ < calls_.size() && ready(calls_[calls_judged_].o);
    if (client_next && call_next) client_next = outcomes_[judged_].end <= calls_[calls_judged_].o.end;
    if (!client_next && !call_next) break;
    const OutcomeRec& o = client_next ? outcomes_[judged_] : calls_[calls_judged_].o;
    const CallRec* call = client_next ? nullptr : &calls_[calls_judged_];
    Wire wire = judge_wire(o);
    // Each change of a source between working and failing (by outcome and
    // error): the story's lines for client apps, a transition for every source.
    std::string key = call ? "call " + call->pod + " " + call->target : o.client;
    std::string state = o.outcome == Outcome::kOk ? "ok" : std::string(to_string(o.outcome)) + "|" + o.error;
    auto it = source_state_.find(key);
    std::string before = it == source_state_.end() ? "ok" : it->second;
    Transition transition = Transition::kNone;
    std::string why;
    if (state != before) {
      source_state_[key] = state;
      transition = o.outcome == Outcome::kOk ? Transition::kRecovers : Transition::kFails;
      if (transition == Transition::kFails) why = explain_failure(o);
      if (!call) {
        StoryEvent ev;
        ev.at = o.end;
        if (o.outcome == Outcome::kOk) {
          ev.text = o.client + " works again";
        } else {
          std::string err = o.error.empty() ? (o.status ? "HTTP " + std::to_string(o.status) : "") : o.error;
          size_t nl = err.find('\n');
          if (nl != std::string::npos) err = err.substr(0, nl);
          ev.text = o.client + " fails (" + to_string(o.outcome) + "): " + err;
          if (!why.empty()) ev.details.push_back(why);
        }
        failure_story_.push_back(std::move(ev));
      }
    }
    if (publish) {
      RequestVerdictObservation v;
      v.source = call ? RequestVerdictObservation::Source::kCall : RequestVerdictObservation::Source::kClient;
      v.client = o.client;
      if (call) {
        v.from = call->pod;
        v.target = call->target;
        v.protocol = "http";
      } else {
        v.from = client_pod_[o.client];
        v.target = client_meta_[o.client].first;
        v.protocol = client_meta_[o.client].second;
      }
      v.outcome = o.outcome;
      v.http_status = o.status;
      v.error = o.error;
      v.latency_ns = o.latency.ns();
      v.end_ns = o.end.ns();
      v.connection = o.connection;
      v.wire = wire;
      v.transition = transition;
      v.why = why;
      ms_->sim().publish(actor_, k_verdict_, fnv1a64(key) ^ static_cast<uint64_t>(o.end.ns()), v);
    }
    if (client_next) {
      wires_.push_back(wire);
      ++judged_;
    } else {
      ++calls_judged_;
    }
  }
}

void Runner::build_story_failures() {
  for (StoryEvent& ev : failure_story_) r_.story.push_back(std::move(ev));
  for (const auto& [version, p] : pushes_) {
    if (version == "1") continue;
    r_.story.push_back({p.first, "config version " + version + " pushed to " + std::to_string(p.second) + " sidecar(s)", {}});
  }
  std::stable_sort(r_.story.begin(), r_.story.end(), [](const StoryEvent& a, const StoryEvent& b) { return a.at < b.at; });
}

// The histogram bucket of a latency: the first bound it does not exceed (le).
size_t latency_bucket(Duration d) {
  const double ms = d.to_millis();
  return static_cast<size_t>(std::lower_bound(kEdgeLatencyBoundsMs.begin(), kEdgeLatencyBoundsMs.end(), ms) -
                             kEdgeLatencyBoundsMs.begin());
}

// The failover timeline: the detectors' and balancers' own decisions as the
// event stream carried them, with the clients' error rate per second.
void Runner::build_failover() {
  bool acted = false;
  for (const FailoverRecord& f : failover_) {
    // A priority load that only says "all on priority 0" at start-up is not an action.
    if (f.action != "priority" || f.load.empty() || f.load[0] != 100) acted = true;
  }
  if (!acted) return;
  FailoverTimeline t;
  t.events = failover_;
  const int64_t seconds = r_.virtual_time.ns() / 1'000'000'000 + 1;
  t.per_second.resize(static_cast<size_t>(seconds));
  for (int64_t i = 0; i < seconds; ++i) t.per_second[static_cast<size_t>(i)].second = i;
  for (const OutcomeRec& o : outcomes_) {
    int64_t sec = o.end.ns() / 1'000'000'000;
    if (sec < 0 || sec >= seconds) continue;
    ErrorRateSecond& e = t.per_second[static_cast<size_t>(sec)];
    ++e.requests;
    if (o.outcome != Outcome::kOk) ++e.failed;
  }
  for (const FailoverRecord& f : failover_) {
    StoryEvent ev;
    ev.at = f.at;
    std::string who = f.hostname.empty() ? f.host : f.hostname + " (" + f.host + ")";
    if (f.action == "eject") {
      ev.text = "sidecar " + f.pod + " ejects " + who + " from " + f.cluster;
      ev.details.push_back(f.type + ", ejection " + std::to_string(f.num_ejections) + ", out for at least " +
                           format_duration(f.ejection_time) + "; " + std::to_string(f.ejections_active) + " of " +
                           std::to_string(f.hosts) + " hosts ejected");
    } else if (f.action == "uneject") {
      ev.text = "sidecar " + f.pod + " returns " + who + " to " + f.cluster + " after " + format_duration(f.ejected_for);
    } else if (f.action == "overflow") {
      ev.text = "sidecar " + f.pod + " does not eject " + who + " from " + f.cluster + " (" + f.type + ")";
      ev.details.push_back("max_ejection_percent: ejecting it would make " + std::to_string(f.ejections_active + 1) +
                           " of " + std::to_string(f.hosts) + " hosts ejected");
    } else if (f.action == "not-enforced") {
      ev.text = "sidecar " + f.pod + " detects " + f.type + " on " + who + " (not enforced)";
    } else if (f.action == "not-ready") {
      ev.text = "kubelet: pod " + f.pod + " is not ready: its endpoints leave the clusters with the next push";
      ev.details.push_back("readiness probe of container " + f.container + " failed " + std::to_string(f.consecutive) +
                           " times in a row: " + f.last_error);
    } else if (f.action == "ready") {
      ev.text = "kubelet: pod " + f.pod + " is ready again: its endpoints return with the next push";
      ev.details.push_back("readiness probe of container " + f.container + " passed " + std::to_string(f.consecutive) +
                           " times in a row");
    } else if (f.action == "restart") {
      ev.text = "kubelet: restarts container " + f.container + " of pod " + f.pod;
      ev.details.push_back("liveness probe failed " + std::to_string(f.consecutive) + " times in a row: " + f.last_error);
    } else {
      std::string loads;
      for (size_t i = 0; i < f.load.size(); ++i) {
        loads += (i ? " · " : "") + std::string("P") + std::to_string(i) + " " + std::to_string(f.load[i]) + "% (" +
                 std::to_string(f.priority_healthy[i]) + "/" + std::to_string(f.priority_hosts[i]) + " healthy" +
                 (f.panic[i] ? ", panic" : "") + ")";
      }
      ev.text = "sidecar " + f.pod + " balances " + f.cluster + ": " + loads;
    }
    r_.story.push_back(std::move(ev));
  }
  std::stable_sort(r_.story.begin(), r_.story.end(), [](const StoryEvent& a, const StoryEvent& b) { return a.at < b.at; });
  r_.failover = std::move(t);
}

void Runner::build_edges() {
  for (const auto& c : s_.clients) {
    EdgeSummary e;
    e.client = c.name;
    e.from = client_pod_[c.name];
    e.target = client_meta_[c.name].first;
    e.protocol = client_meta_[c.name].second;
    std::vector<Duration> lats;
    std::vector<uint64_t> conns;
    Duration first = Duration::max(), last;
    for (const OutcomeRec& o : outcomes_) {
      if (o.client != c.name) continue;
      ++e.requests;
      if (o.connection != 0) conns.push_back(o.connection);
      first = std::min(first, o.start);
      last = std::max(last, o.end);
      ++(o.outcome == Outcome::kOk ? e.latency_ok : e.latency_failed)[latency_bucket(o.latency)];
      if (o.grpc_status >= 0) ++e.grpc_statuses[proxy::http::grpc::status_name(o.grpc_status)];
      if (o.outcome == Outcome::kOk) {
        ++e.ok;
        lats.push_back(o.latency);
      } else {
        ++e.failures[to_string(o.outcome)];
        e.last_error = o.error;
      }
    }
    std::sort(conns.begin(), conns.end());
    e.connections = static_cast<uint64_t>(std::unique(conns.begin(), conns.end()) - conns.begin());
    e.p50 = percentile(lats, 50);
    e.p99 = percentile(lats, 99);
    // The verdicts published during the run (judge_ready), counted.
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      if (outcomes_[i].client != c.name || wires_[i] == Wire::kUnjudged) continue;
      ++e.judged;
      if (wires_[i] == Wire::kMtls) ++e.mtls;
      else if (wires_[i] == Wire::kTls) ++e.tls;
    }
    r_.edges.push_back(std::move(e));
  }
}

void Runner::evaluate() {
  for (const Expectation& x : s_.expectations) {
    ExpectationVerdict v;
    v.name = x.name;
    v.kind = to_string(x.kind);
    v.location = x.location;
    auto in_window = [&](Duration t) { return t >= x.window_start && t <= x.window_end; };
    auto selected = [&] {
      std::vector<const OutcomeRec*> out;
      for (const OutcomeRec& o : outcomes_) {
        if (!in_window(o.start) || !client_matches(x.from, o.client)) continue;
        if (!x.to.empty() && client_meta_[o.client].first.find(x.to) == std::string::npos &&
            o.client.find(x.to) == std::string::npos) {
          continue;
        }
        out.push_back(&o);
      }
      return out;
    };
    auto probes_selected = [&] {
      std::vector<const OutcomeRec*> out;
      const mesh::WorldPod* pod = find_pod_ref(*world_, x.pod);
      if (!pod) return out;
      std::string prefix = "kubelet/" + pod->namespace_ + "/" + pod->name + "/";
      for (const OutcomeRec& o : probe_outcomes_) {
        if (!in_window(o.start) || o.client.rfind(prefix, 0) != 0) continue;
        std::string_view rest = std::string_view(o.client).substr(prefix.size());  // container/kind
        size_t slash = rest.rfind('/');
        if (slash == std::string_view::npos || rest.substr(slash + 1) != x.probe_kind) continue;
        if (!x.container.empty() && rest.substr(0, slash) != x.container) continue;
        out.push_back(&o);
      }
      return out;
    };
    switch (x.kind) {
      case Expectation::Kind::kRequests:
      case Expectation::Kind::kProbes: {
        auto sel = x.kind == Expectation::Kind::kProbes ? probes_selected() : selected();
        size_t ok = std::count_if(sel.begin(), sel.end(), [](const OutcomeRec* o) { return o->outcome == Outcome::kOk; });
        std::map<std::string, size_t> by;
        for (const OutcomeRec* o : sel) ++by[to_string(o->outcome)];
        std::string actual = std::to_string(sel.size()) + " requests";
        for (const auto& [k, n] : by) actual += ", " + std::to_string(n) + " " + k;
        v.passed = true;
        std::vector<std::string> expected;
        if (x.ok_ratio) {
          double ratio = sel.empty() ? 0 : static_cast<double>(ok) / static_cast<double>(sel.size());
          expected.push_back("ok ratio " + x.ok_ratio->text);
          actual = "ok ratio " + fmt_ratio(ratio) + " (" + std::to_string(ok) + "/" + std::to_string(sel.size()) + "); " + actual;
          if (sel.empty() || !x.ok_ratio->holds(ratio)) v.passed = false;
          if (sel.empty()) {
            v.message = x.kind == Expectation::Kind::kProbes
                            ? "the kubelet ran no " + x.probe_kind + " probe of " + x.pod + " (does the pod declare one?)"
                            : "no request matched the selector";
          }
        }
        if (x.count) {
          expected.push_back("count " + x.count->text);
          if (!x.count->holds(static_cast<double>(sel.size()))) v.passed = false;
        }
        for (const auto& [name, cmp] : x.outcomes) {
          expected.push_back(name + " " + cmp.text);
          if (!cmp.holds(static_cast<double>(by[name]))) v.passed = false;
        }
        std::string ex;
        for (size_t i = 0; i < expected.size(); ++i) ex += (i ? ", " : "") + expected[i];
        v.expected = ex;
        v.actual = actual;
        if (!v.passed && v.message.empty()) {
          for (const OutcomeRec* o : sel) {
            if (o->outcome != Outcome::kOk) {
              v.message = "e.g. at " + format_duration(o->end) + ": " + (o->error.empty() ? "HTTP " + std::to_string(o->status) : o->error);
              break;
            }
          }
        }
        break;
      }
      case Expectation::Kind::kClientError: {
        auto sel = selected();
        size_t hits = 0;
        std::string example;
        for (const OutcomeRec* o : sel) {
          if (o->error.find(x.error_contains) != std::string::npos) ++hits;
          else if (example.empty() && !o->error.empty()) example = o->error;
        }
        v.expected = std::string(x.every ? "every" : "some") + " selected request fails with \"" + x.error_contains + "\"";
        v.actual = std::to_string(hits) + " of " + std::to_string(sel.size()) + " requests";
        if (hits == 0 && !example.empty()) v.actual += "; other error: " + example;
        v.passed = x.every ? (!sel.empty() && hits == sel.size()) : hits > 0;
        break;
      }
      case Expectation::Kind::kWire: {
        HostId from = host_of_ref(x.from), to = host_of_ref(x.to);
        size_t n = 0, match = 0;
        std::map<std::string, size_t> kinds;
        bool alpn_ok = true;
        std::set<std::string> snis;  // SNIs that differ from the expected one
        for (const auto& [id, w] : wire_) {
          // Connections in use during the window (opened in it, or carrying data in it).
          bool active = w.start <= x.window_end && std::max(w.start, w.last_data) >= x.window_start;
          if (w.client_host != from || w.server_host != to || !active || w.first_bytes.empty()) continue;
          if (x.port != 0 && w.dst.port != x.port) continue;
          ++n;
          std::vector<std::string> alpn;
          std::string sni;
          std::string k = classify_wire(w.first_bytes, &alpn, &sni);
          ++kinds[k];
          if (k == x.wire) ++match;
          if (!x.alpn.empty() && std::find(alpn.begin(), alpn.end(), x.alpn) == alpn.end()) alpn_ok = false;
          if (!x.sni.empty() && sni != x.sni) {
            alpn_ok = false;
            snis.insert(sni.empty() ? "(none)" : sni);
          }
        }
        v.expected = "every connection " + x.from + " → " + x.to + (x.port ? ":" + std::to_string(x.port) : "") + " is " + x.wire + (x.alpn.empty() ? "" : " with ALPN " + x.alpn) +
                     (x.sni.empty() ? "" : " and SNI " + x.sni);
        v.actual = std::to_string(n) + " connections";
        for (const auto& [k, c] : kinds) v.actual += ", " + std::to_string(c) + " " + k;
        for (const auto& x2 : snis) v.actual += "; SNI " + x2;
        v.passed = n > 0 && match == n && alpn_ok;
        if (n == 0) v.message = "no connection between these pods on the wire (is a pod name wrong, or did no traffic flow?)";
        break;
      }
      case Expectation::Kind::kIdentity: {
        const mesh::WorldPod* server = find_pod_ref(*world_, x.to);
        const mesh::WorldPod* client = x.from.empty() || x.from == "external" ? nullptr : find_pod_ref(*world_, x.from);
        std::string server_key = server ? server->namespace_ + "/" + server->name : x.to;
        size_t n = 0, match = 0;
        std::set<std::string> seen;
        for (const LogRec& l : logs_) {
          if (l.pod != server_key || l.e.direction != proxy::TrafficDirection::kInbound || !in_window(l.time)) continue;
          if (client && l.e.downstream_remote.ip != client->ip) continue;
          ++n;
          std::string peer = l.e.downstream_tls.peer_principal();
          seen.insert(peer.empty() ? "(none)" : peer);
          if (peer == x.principal) ++match;
        }
        v.expected = "the server sidecar sees peer identity " + (x.principal.empty() ? "(none)" : x.principal);
        v.actual = std::to_string(n) + " requests/connections; identities:";
        for (const auto& s : seen) v.actual += " " + s;
        v.passed = n > 0 && match == n;
        if (n == 0) v.message = "no request reached " + server_key + "'s sidecar from " + (x.from.empty() ? "anyone" : x.from);
        break;
      }
      case Expectation::Kind::kTraces: {
        uint64_t n = 0, spans = 0, sampled_spans = 0, sampled_requests = 0, broken = 0, traces = 0;
        if (r_.traces) {
          for (const TreeSize& t : r_.traces->all) {
            Duration at = Duration::nanos(t.at_ns);
            if (!in_window(at) || !client_matches(x.from, t.client)) continue;
            ++n;
            spans += t.spans;
            sampled_spans += t.sampled_spans;
            sampled_requests += t.sampled_spans > 0;
            broken += t.traces > 1;
            traces += t.traces;
          }
        }
        std::vector<std::string> ex, act;
        v.passed = true;
        auto check = [&](const std::optional<Comparison>& c, const char* what, double value, const std::string& shown) {
          if (!c) return;
          ex.push_back(std::string(what) + " " + c->text);
          act.push_back(std::string(what) + " " + shown);
          v.passed = v.passed && c->holds(value);
        };
        auto num = [](uint64_t u) { return std::to_string(u); };
        check(x.user_requests, "user requests", static_cast<double>(n), num(n));
        check(x.spans, "spans", static_cast<double>(spans), num(spans));
        check(x.sampled_spans, "sampled spans", static_cast<double>(sampled_spans), num(sampled_spans));
        check(x.sampled_requests, "sampled requests", static_cast<double>(sampled_requests), num(sampled_requests));
        check(x.broken, "broken", static_cast<double>(broken), num(broken));
        if (x.traces_per_request) {
          double per = n ? static_cast<double>(traces) / static_cast<double>(n) : 0;
          char b[32];
          std::snprintf(b, sizeof b, "%.3f", per);
          check(x.traces_per_request, "traces per request", per, b);
        }
        auto find = [&](const std::vector<std::pair<std::string, uint64_t>>& list, const std::string& text, const char* what) {
          if (text.empty()) return;
          ex.push_back(std::string(what) + " containing \"" + text + "\"");
          const std::pair<std::string, uint64_t>* hit = nullptr;
          if (r_.traces)
            for (const auto& f : list)
              if (f.first.find(text) != std::string::npos) hit = &f;
          if (!hit) {
            v.passed = false;
            act.push_back(std::string("no such ") + what + (list.empty() ? "" : " (first: " + list.front().first + ")"));
          } else {
            act.push_back(hit->first);
          }
        };
        if (r_.traces) {
          find(r_.traces->findings, x.finding, "finding");
          find(r_.traces->outbound_only, x.outbound_only, "outbound-only finding");
        } else {
          static const std::vector<std::pair<std::string, uint64_t>> none;
          find(none, x.finding, "finding");
          find(none, x.outbound_only, "outbound-only finding");
        }
        auto join = [](const std::vector<std::string>& l) {
          std::string o;
          for (const auto& e : l) o += (o.empty() ? "" : ", ") + e;
          return o;
        };
        v.expected = join(ex);
        v.actual = join(act) + " over " + num(n) + " user requests" + (r_.traces ? "" : " (no sidecar finished a span)");
        break;
      }
      case Expectation::Kind::kLatency: {
        auto sel = selected();
        std::vector<Duration> lats;
        for (const OutcomeRec* o : sel) {
          if (o->outcome == Outcome::kOk) lats.push_back(o->latency);
        }
        Duration p = percentile(lats, x.percentile);
        char label[16];
        if (x.percentile >= 100) std::snprintf(label, sizeof label, "max");
        else std::snprintf(label, sizeof label, "p%g", x.percentile);
        v.expected = std::string(label) + " " + x.latency->text;
        v.actual = std::string(label) + " " + fmt_ms(p) + " over " + std::to_string(lats.size()) + " successful requests";
        v.passed = !lats.empty() && x.latency->holds(static_cast<double>(p.ns()));
        break;
      }
      case Expectation::Kind::kCertificates: {
        const mesh::WorldPod* pod = find_pod_ref(*world_, x.pod);
        std::string key = pod ? pod->namespace_ + "/" + pod->name : x.pod;
        const auto& list = certs_[key];
        size_t rotations = std::count_if(list.begin(), list.end(), [](const CertRec& c) { return c.rotation; });
        v.passed = !list.empty();
        std::vector<std::string> ex;
        v.actual = std::to_string(list.size()) + " certificates issued, " + std::to_string(rotations) + " rotations";
        if (!list.empty()) v.actual += ", TTL " + format_duration(list.front().not_after - list.front().not_before);
        if (x.ttl) {
          ex.push_back("TTL " + format_duration(*x.ttl));
          if (list.empty() || list.front().not_after - list.front().not_before != *x.ttl) v.passed = false;
        }
        if (x.rotations) {
          ex.push_back("rotations " + x.rotations->text);
          if (!x.rotations->holds(static_cast<double>(rotations))) v.passed = false;
        }
        for (size_t i = 0; i < ex.size(); ++i) v.expected += (i ? ", " : "") + ex[i];
        if (list.empty()) v.message = "no certificate was issued for " + key + " (does it have a sidecar?)";
        break;
      }
      case Expectation::Kind::kSidecar: {
        const mesh::WorldPod* pod = find_pod_ref(*world_, x.pod);
        v.expected = x.pod + (x.injected ? " has" : " has no") + " istio-proxy sidecar";
        if (!pod) {
          v.actual = "no such pod";
          v.passed = false;
          break;
        }
        v.actual = pod->namespace_ + "/" + pod->name + (pod->injected ? " has" : " has no") + " sidecar";
        if (!pod->injection_reason.empty()) v.actual += " (" + pod->injection_reason + ")";
        v.passed = pod->injected == x.injected;
        break;
      }
      case Expectation::Kind::kOutliers: {
        std::string pod_key, host_pod;
        if (!x.pod.empty()) {
          if (const mesh::WorldPod* wp = find_pod_ref(*world_, x.pod)) pod_key = wp->namespace_ + "/" + wp->name;
        }
        if (!x.host.empty()) {
          if (const mesh::WorldPod* wp = find_pod_ref(*world_, x.host)) host_pod = wp->name;
        }
        uint64_t ej = 0, un = 0, ov = 0;
        std::vector<Duration> times;
        for (const FailoverRecord& f : failover_) {
          if (f.action == "priority" || !in_window(f.at)) continue;
          if (!pod_key.empty() && f.pod != pod_key) continue;
          if (!host_pod.empty() && f.hostname != host_pod) continue;
          if (!x.cluster.empty() && f.cluster.find(x.cluster) == std::string::npos) continue;
          if (f.action == "eject") ++ej, times.push_back(f.ejection_time);
          else if (f.action == "uneject") ++un;
          else if (f.action == "overflow") ++ov;
        }
        v.passed = true;
        std::vector<std::string> ex;
        if (x.ejections) ex.push_back("ejections " + x.ejections->text), v.passed &= x.ejections->holds(static_cast<double>(ej));
        if (x.unejections) ex.push_back("unejections " + x.unejections->text), v.passed &= x.unejections->holds(static_cast<double>(un));
        if (x.overflows) ex.push_back("overflows " + x.overflows->text), v.passed &= x.overflows->holds(static_cast<double>(ov));
        std::string got_times;
        for (Duration d : times) got_times += (got_times.empty() ? "" : ", ") + format_duration(d);
        if (!x.ejection_times.empty()) {
          std::string want;
          for (Duration d : x.ejection_times) want += (want.empty() ? "" : ", ") + format_duration(d);
          ex.push_back("ejection times [" + want + "]");
          if (times.size() < x.ejection_times.size() ||
              !std::equal(x.ejection_times.begin(), x.ejection_times.end(), times.begin())) {
            v.passed = false;
          }
        }
        for (size_t i = 0; i < ex.size(); ++i) v.expected += (i ? ", " : "") + ex[i];
        v.actual = std::to_string(ej) + " ejections, " + std::to_string(un) + " unejections, " + std::to_string(ov) +
                   " overflows; ejection times [" + got_times + "]";
        break;
      }
      case Expectation::Kind::kFingerprint:
        break;
      case Expectation::Kind::kMetric:
        evaluate_metric_expectation(x, *ms_, v);
        break;
    }
    r_.expectations.push_back(std::move(v));
  }
}

Result<ScenarioRunResult> Runner::run() {
  if (Status st = start(); !st.ok()) return Error{st.message()};
  // Run in steps so progress can be reported.
  Duration step = std::max(Duration::millis(100), s_.duration / 200);
  for (Duration t = Duration::zero(); t < s_.duration;) {
    t = std::min(s_.duration, t + step);
    advance(t);
    if (o_.progress) o_.progress(t, ms_->sim().events_executed());
  }
  return finish();
}

Status Runner::start() {
  wall0_ = std::chrono::steady_clock::now();
  unscoped0_ = tls::unscoped_random_bytes();
  if (Status st = setup_world(); !st.ok()) return st;
  r_.name = s_.name;
  r_.seed = s_.seed;
  if (o_.record_trace) {
    ms_->sim().set_tracer([this](const Simulator::TraceEntry& t) {
      r_.trace.push_back({t.time.ns(), std::string(ms_->sim().actor_name(t.actor)), std::string(ms_->sim().kind_name(t.kind)),
                          t.digest, t.publication, t.fingerprint});
    });
  }
  actor_ = ms_->sim().actor("scenario");
  k_action_ = ms_->sim().view_kind("scenario.action");
  k_verdict_ = ms_->sim().view_kind("scenario.request");
  subscribe();
  tracer_ = std::make_unique<TraceRecorder>(o_.trace_format, !o_.trace_file.empty());
  ms_->sim().subscribe([t = tracer_.get()](const Observation& o) { t->on_observation(o); });
  if (o_.observer) {
    // The simulator by reference: ms_ is already null while the mesh is torn down.
    ms_->sim().subscribe([this, &sim = ms_->sim()](const Observation& o) { o_.observer(sim, o); });
  }
  // The event log listens from the start: the first certificates are issued while the mesh is built.
  if (!o_.events_file.empty()) {
    auto e = EventLog::open(o_.events_file, ms_->sim());
    if (!e.ok()) return Error{e.message()};
    events_ = std::move(*e);
  }
  if (Status st = ms_->build(); !st.ok()) return st;
  // pki mounts: files in a sidecar, as sidecar.istio.io/userVolumeMount would put them.
  for (const PkiCertificate& pc : s_.pki) {
    for (const auto& m : pc.mounts) {
      Status err;
      std::string key = pod_key_of(m.pod, &err);
      if (!err.ok()) return Error{pc.location.str() + ": pki " + pc.name + ": " + err.message()};
      size_t slash = key.find('/');
      SidecarHost* sc = ms_->sidecar(key.substr(0, slash), key.substr(slash + 1));
      if (!sc) return Error{pc.location.str() + ": pki " + pc.name + ": " + key + " has no sidecar to mount certificates into"};
      if (!m.cert.empty()) sc->secrets().set_certified_key("file-cert:" + m.cert + "~" + m.key, pki_certs_.at(pc.name));
      if (!m.ca.empty()) sc->secrets().set_trusted("file-root:" + m.ca, {user_ca().root()});
    }
  }
  if (o_.capture.any()) {
    auto c = CaptureSession::start(resolve_pod_captures(o_.capture, *world_), ms_->sim(), ms_->net());
    if (!c.ok()) return Error{c.message()};
    cap_ = std::move(*c);
    if (cap_->keylog()) ms_->enable_keylog();
  }
  if (Status st = start_apps(); !st.ok()) return st;
  schedule_timeline();
  {
    const mesh::World& w = *world_;
    size_t injected = 0, running = 0;
    for (const auto& p : w.pods()) {
      running += p.scheduled();
      injected += p.injected && p.scheduled();
    }
    // The namespace-wide mode of every namespace that runs sidecars.
    std::vector<std::string> details;
    std::set<std::string> namespaces;
    for (const auto& p : w.pods()) {
      if (p.injected && p.scheduled()) namespaces.insert(p.namespace_);
    }
    for (const std::string& ns : namespaces) {
      mesh::MtlsDecision d = mesh::effective_peer_authentication(w, ns, {}, 0);
      details.push_back("mTLS in namespace " + ns + ": " + std::string(mesh::mtls_mode_name(d.mode)) + " (" + d.reason + ")");
    }
    r_.story.push_back({Duration::zero(),
                        "start: " + std::to_string(running) + " pods (" + std::to_string(injected) + " with sidecars), " +
                            std::to_string(w.services().size()) + " services, " + std::to_string(s_.clients.size()) +
                            " client apps",
                        std::move(details)});
  }
  return Status::Ok();
}

void Runner::advance(Duration t) {
  t = std::min(t, s_.duration);
  if (t <= ms_->sim().now()) return;
  if (o_.metrics) o_.metrics->run_until(*ms_, t);
  else ms_->run_until(t);
  judge_ready(t, false);
}

Result<ScenarioRunResult> Runner::finish() {
  // What finished in the last few milliseconds is judged with the logs there are.
  judge_ready(ms_->sim().now(), true);
  r_.fingerprint = ms_->sim().fingerprint();
  r_.unscoped_random_bytes = tls::unscoped_random_bytes() - unscoped0_;
  r_.events = ms_->sim().events_executed();
  r_.virtual_time = ms_->sim().now();
  if (cap_) {
    if (Status st = cap_->finish(); !st.ok()) return Error{st.message()};
    for (const auto& f : cap_->summary()) r_.outputs.push_back(f.path + " (" + describe_capture_file(f) + ")");
  }
  if (o_.metrics) {
    if (Status st = o_.metrics->finish(*ms_, r_.outputs); !st.ok()) return Error{st.message()};
  }
  // The broken-trace report's findings go on the event stream (a view, at
  // the end of the run), before the event log closes.
  if (tracer_->any()) {
    r_.traces = tracer_->report();
    Simulator& sim = ms_->sim();
    ActorId actor = sim.actor("tracing");
    EventKindId kind = sim.view_kind("trace.finding");
    using Kind = TraceFindingObservation::Kind;
    auto publish = [&](Kind k, const std::string& f, uint64_t n) {
      sim.publish(actor, kind, hash_combine(fnv1a64(f), n), TraceFindingObservation{k, f, n});
    };
    for (const auto& [f, n] : r_.traces->findings) publish(Kind::kBrokenPropagation, f, n);
    for (const auto& [f, n] : r_.traces->outbound_only) publish(Kind::kOutboundOnly, f, n);
  }
  if (events_) {
    uint64_t lines = events_->lines();
    if (Status st = events_->finish(); !st.ok()) return Error{st.message()};
    r_.outputs.push_back(o_.events_file + " (" + std::to_string(lines) + " events)");
  }
  if (!o_.trace_file.empty()) {
    if (Status st = tracer_->write(o_.trace_file); !st.ok()) return Error{st.message()};
    r_.outputs.push_back(o_.trace_file + " (" + std::to_string(tracer_->sampled_spans()) + " sampled spans, " +
                         (o_.trace_format == TraceRecorder::Format::kOtlp ? "OTLP JSON" : "Zipkin v2 JSON") + ")");
  }
  if (r_.traces) {
    const TraceReport& t = *r_.traces;
    StoryEvent e;
    e.at = ms_->sim().now();
    e.text = "tracing: " + std::to_string(t.user_requests) + " user requests, " + std::to_string(t.spans) + " spans (" +
             std::to_string(t.sampled_spans) + " sampled); " +
             (t.broken ? std::to_string(t.broken) + " broken into more than one trace" : std::string("every trace whole"));
    for (const auto& [f, n] : t.findings) e.details.push_back(f + " (" + std::to_string(n) + (n == 1 ? " request)" : " requests)"));
    for (const auto& [f, n] : t.outbound_only) e.details.push_back(f + " (" + std::to_string(n) + (n == 1 ? " span)" : " spans)"));
    for (const TraceTree& tt : t.trees) {
      if (tt.trace_ids.size() < 2) break;
      e.details.push_back("e.g. " + tt.client + " request #" + std::to_string(tt.request_index) + " to " + tt.target + ": 1 user request became " +
                          std::to_string(tt.trace_ids.size()) + " traces (" + std::to_string(tt.spans) + " spans)");
      break;
    }
    r_.story.push_back(std::move(e));
  }
  build_story_failures();
  build_failover();
  build_edges();
  evaluate();
  if (s_.pinned_fingerprint) {
    ExpectationVerdict v;
    v.name = "fingerprint";
    v.kind = "fingerprint";
    v.expected = *s_.pinned_fingerprint;
    v.actual = format_fingerprint(r_.fingerprint);
    v.passed = v.expected == v.actual;
    v.location = s_.fingerprint_location;
    if (!v.passed) v.message = "the run's behaviour changed (or the scenario did); see the first divergent event";
    r_.expectations.push_back(v);
  }
  // The coverage report over every configuration the run had (the initial
  // one and each timeline apply), each line once.
  std::set<std::string> seen;
  auto report = [&](const mesh::World& w) {
    for (const auto& nm : mesh::not_modelled(w.resources(), &w.mesh_config())) {
      std::string line = nm.line();
      if (seen.insert(line).second) r_.not_modelled.push_back(std::move(line));
    }
  };
  if (world_) report(*world_);
  for (const auto& [at, w] : worlds_) report(*w);
  r_.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0_).count();
  ms_->sim().set_tracer(nullptr);
  return std::move(r_);
}

}  // namespace

Result<ScenarioRunResult> run_scenario(const Scenario& s, const RunOptions& options) {
  Runner r(s, options);
  return r.run();
}

struct ScenarioSession::Impl {
  Impl(Scenario sc, RunOptions op) : scenario(std::move(sc)), options(std::move(op)), runner(scenario, options) {}
  Scenario scenario;
  RunOptions options;
  Runner runner;
};

ScenarioSession::ScenarioSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ScenarioSession::~ScenarioSession() = default;

Result<std::unique_ptr<ScenarioSession>> ScenarioSession::start(Scenario s, RunOptions options) {
  auto impl = std::make_unique<Impl>(std::move(s), std::move(options));
  if (Status st = impl->runner.start(); !st.ok()) return Error{st.message()};
  return std::unique_ptr<ScenarioSession>(new ScenarioSession(std::move(impl)));
}

void ScenarioSession::run_until(Duration t) {
  MESHSIM_CHECK(!finished_, "ScenarioSession::run_until after finish()");
  impl_->runner.advance(t);
}
Duration ScenarioSession::now() const { return impl_->runner.mesh().sim().now(); }
Duration ScenarioSession::duration() const { return impl_->runner.duration(); }
const Scenario& ScenarioSession::scenario() const { return impl_->scenario; }
MeshSimulation& ScenarioSession::mesh() { return impl_->runner.mesh(); }
std::shared_ptr<const mesh::World> ScenarioSession::world_at(Duration t) const { return impl_->runner.world_at(t); }
Result<ScenarioRunResult> ScenarioSession::finish() {
  MESHSIM_CHECK(!finished_, "ScenarioSession::finish called twice");
  finished_ = true;
  return impl_->runner.finish();
}

std::string format_run_text(const ScenarioRunResult& r) {
  std::string t;
  t += "scenario " + r.name + " (seed " + std::to_string(r.seed) + ", " + format_duration(r.virtual_time) + " virtual)\n\n";
  t += "STORY\n";
  for (const StoryEvent& e : r.story) {
    t += fmt_time(e.at) + "  " + e.text + "\n";
    for (const auto& d : e.details) t += std::string(14, ' ') + d + "\n";
  }
  if (r.failover) {
    const FailoverTimeline& f = *r.failover;
    size_t ej = 0, un = 0, ov = 0, pr = 0;
    for (const auto& e : f.events) {
      if (e.action == "eject") ++ej;
      else if (e.action == "uneject") ++un;
      else if (e.action == "overflow") ++ov;
      else if (e.action == "priority") ++pr;
    }
    size_t nr = 0, rs = 0;
    for (const auto& e : f.events) {
      if (e.action == "not-ready") ++nr;
      else if (e.action == "restart") ++rs;
    }
    t += "\nFAILOVER  " + std::to_string(ej) + " ejections, " + std::to_string(un) + " returns, " + std::to_string(ov) +
         " refused by maxEjectionPercent, " + std::to_string(pr) + " priority-load changes";
    if (nr || rs) t += ", " + std::to_string(nr) + " pods not ready, " + std::to_string(rs) + " container restarts";
    t += "\n";
    t += "  client-visible errors per second (seconds with a failed request):\n";
    size_t shown = 0, with_errors = 0;
    uint64_t failed = 0, total = 0;
    for (const auto& s : f.per_second) {
      failed += s.failed;
      total += s.requests;
      if (!s.failed) continue;
      ++with_errors;
      if (shown++ >= 40) continue;
      char line[96];
      std::snprintf(line, sizeof line, "  %6" PRId64 "s  %" PRIu64 "/%" PRIu64 " failed (%.0f%%)\n", s.second, s.failed,
                    s.requests, 100.0 * static_cast<double>(s.failed) / static_cast<double>(s.requests));
      t += line;
    }
    if (shown > 40) t += "  … " + std::to_string(shown - 40) + " more seconds with errors\n";
    if (!with_errors) t += "  none\n";
    t += "  in all: " + std::to_string(failed) + " of " + std::to_string(total) + " requests failed\n";
  }
  t += "\nEDGES\n";
  std::vector<std::vector<std::string>> rows = {{"CLIENT", "REQUESTS", "CONNS", "SUCCESS", "mTLS", "p50", "p99", "ERRORS"}};
  for (const auto& e : r.edges) {
    char ok[16], mtls[16];
    std::snprintf(ok, sizeof ok, "%.1f%%", e.requests ? 100.0 * static_cast<double>(e.ok) / static_cast<double>(e.requests) : 0.0);
    if (e.judged) {
      std::snprintf(mtls, sizeof mtls, "%.1f%%", 100.0 * static_cast<double>(e.mtls) / static_cast<double>(e.judged));
    } else {
      std::snprintf(mtls, sizeof mtls, "-");
    }
    std::string errs;
    for (const auto& [k, n] : e.failures) errs += (errs.empty() ? "" : ", ") + k + " " + std::to_string(n);
    // gRPC edges: the calls' statuses other than OK (grpc UNAVAILABLE 3).
    for (const auto& [k, n] : e.grpc_statuses) {
      if (k != "OK") errs += (errs.empty() ? "" : ", ") + std::string("grpc ") + k + " " + std::to_string(n);
    }
    rows.push_back({e.client, std::to_string(e.requests), std::to_string(e.connections), ok, mtls, e.ok ? fmt_ms(e.p50) : "-", e.ok ? fmt_ms(e.p99) : "-",
                    errs.empty() ? "-" : errs});
  }
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], display_width(row[i]));
  }
  for (const auto& row : rows) {
    std::string line = "  ";
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i] + (i + 1 < row.size() ? std::string(w[i] - display_width(row[i]) + 3, ' ') : "");
    }
    t += line + "\n";
  }
  if (!r.not_modelled.empty()) {
    t += "\nNOT MODELLED (the answer does not account for these)\n";
    for (const auto& l : r.not_modelled) t += "  " + l.substr(std::string("not modelled: ").size()) + "\n";
  }
  if (!r.expectations.empty()) {
    t += "\nEXPECTATIONS\n";
    for (const auto& e : r.expectations) {
      t += std::string(e.passed ? "  PASS  " : "  FAIL  ") + e.name + "\n";
      t += "          expected " + e.expected + "\n          actual   " + e.actual + "\n";
      if (!e.passed && !e.message.empty()) t += "          " + e.message + "\n";
    }
  }
  char footer[256];
  std::snprintf(footer, sizeof footer, "\nfingerprint %s  events %" PRIu64 "  wall %.2fs  time compression %.0fx\n",
                format_fingerprint(r.fingerprint).c_str(), r.events, r.wall_seconds, r.time_compression());
  if (r.unscoped_random_bytes != 0) {
    t += "\nWARNING: " + std::to_string(r.unscoped_random_bytes) +
           " random bytes were drawn outside the seed's streams; this run is not reproducible (a meshsim bug)\n";
  }
  t += footer;
  if (!r.expectations.empty()) {
    size_t failed = std::count_if(r.expectations.begin(), r.expectations.end(), [](const auto& e) { return !e.passed; });
    t += failed ? std::to_string(failed) + " of " + std::to_string(r.expectations.size()) + " expectations FAILED\n"
                : "all " + std::to_string(r.expectations.size()) + " expectations passed\n";
  }
  return t;
}

std::string format_run_json(const ScenarioRunResult& r) {
  nlohmann::ordered_json j;
  j["scenario"] = r.name;
  j["seed"] = r.seed;
  j["fingerprint"] = format_fingerprint(r.fingerprint);
  j["unscoped_random_bytes"] = r.unscoped_random_bytes;
  j["events"] = r.events;
  j["virtual_seconds"] = r.virtual_time.to_seconds();
  j["wall_seconds"] = r.wall_seconds;
  j["time_compression"] = r.time_compression();
  j["passed"] = r.passed();
  j["not_modelled"] = r.not_modelled;
  nlohmann::ordered_json story = nlohmann::ordered_json::array();
  for (const auto& e : r.story) story.push_back({{"t", e.at.to_seconds()}, {"text", e.text}, {"details", e.details}});
  j["story"] = story;
  nlohmann::ordered_json edges = nlohmann::ordered_json::array();
  for (const auto& e : r.edges) {
    edges.push_back({{"client", e.client}, {"from", e.from}, {"target", e.target}, {"protocol", e.protocol},
                     {"requests", e.requests}, {"connections", e.connections}, {"ok", e.ok}, {"judged", e.judged},
                     {"mtls", e.mtls}, {"tls", e.tls},
                     {"p50_ms", e.p50.to_millis()}, {"p99_ms", e.p99.to_millis()},
                     {"latency_histogram", {{"le_ms", kEdgeLatencyBoundsMs}, {"ok", e.latency_ok}, {"failed", e.latency_failed}}},
                     {"failures", e.failures}, {"last_error", e.last_error}});
    if (!e.grpc_statuses.empty()) edges.back()["grpc_statuses"] = e.grpc_statuses;
  }
  j["edges"] = edges;
  nlohmann::ordered_json ex = nlohmann::ordered_json::array();
  for (const auto& e : r.expectations) {
    ex.push_back({{"name", e.name}, {"kind", e.kind}, {"passed", e.passed}, {"expected", e.expected},
                  {"actual", e.actual}, {"message", e.message}, {"location", e.location.str()}});
  }
  j["expectations"] = ex;
  if (r.traces) {
    const TraceReport& t = *r.traces;
    nlohmann::ordered_json tr;
    tr["spans"] = t.spans;
    tr["sampled_spans"] = t.sampled_spans;
    tr["user_requests"] = t.user_requests;
    tr["broken"] = t.broken;
    nlohmann::ordered_json findings = nlohmann::ordered_json::array();
    for (const auto& [f, n] : t.findings) findings.push_back({{"finding", f}, {"requests", n}});
    tr["findings"] = findings;
    nlohmann::ordered_json outbound = nlohmann::ordered_json::array();
    for (const auto& [f, n] : t.outbound_only) outbound.push_back({{"finding", f}, {"spans", n}});
    tr["outbound_only"] = outbound;
    nlohmann::ordered_json trees = nlohmann::ordered_json::array();
    for (const TraceTree& tt : t.trees)
      trees.push_back({{"client", tt.client}, {"target", tt.target}, {"request", tt.request_index},
                       {"t", static_cast<double>(tt.at_ns) / 1e9}, {"spans", tt.spans}, {"trace_ids", tt.trace_ids},
                       {"sampled", tt.sampled_any}, {"breaks", tt.breaks}});
    tr["trees"] = trees;
    j["traces"] = tr;
  }
  if (r.failover) {
    nlohmann::ordered_json fo;
    nlohmann::ordered_json evs = nlohmann::ordered_json::array();
    for (const FailoverRecord& e : r.failover->events) {
      nlohmann::ordered_json x;
      x["t"] = e.at.to_seconds();
      x["pod"] = e.pod;
      x["cluster"] = e.cluster;
      x["action"] = e.action;
      if (e.action == "not-ready" || e.action == "ready" || e.action == "restart") {
        x["container"] = e.container;
        x["probe"] = e.probe;
        x["consecutive"] = e.consecutive;
        if (!e.last_error.empty()) x["last_error"] = e.last_error;
      } else if (e.action == "priority") {
        x["load"] = e.load;
        x["hosts"] = e.priority_hosts;
        x["healthy"] = e.priority_healthy;
        std::vector<bool> panic;
        for (uint8_t p : e.panic) panic.push_back(p != 0);
        x["panic"] = panic;
      } else {
        x["host"] = e.host;
        x["hostname"] = e.hostname;
        x["type"] = e.type;
        x["num_ejections"] = e.num_ejections;
        if (e.action == "eject") x["ejection_time_s"] = e.ejection_time.to_seconds();
        if (e.action == "uneject") x["ejected_for_s"] = e.ejected_for.to_seconds();
        x["ejections_active"] = e.ejections_active;
        x["hosts_total"] = e.hosts;
      }
      evs.push_back(std::move(x));
    }
    fo["events"] = evs;
    nlohmann::ordered_json ps = nlohmann::ordered_json::array();
    for (const auto& s : r.failover->per_second) {
      ps.push_back({{"second", s.second}, {"requests", s.requests}, {"failed", s.failed},
                    {"error_rate", s.requests ? static_cast<double>(s.failed) / static_cast<double>(s.requests) : 0.0}});
    }
    fo["error_rate_per_second"] = ps;
    j["failover"] = fo;
  }
  j["outputs"] = r.outputs;
  return j.dump(2) + "\n";
}

}  // namespace meshsim::sim
