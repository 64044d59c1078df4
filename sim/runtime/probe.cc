#include "sim/runtime/probe.h"

#include "mesh/coverage.h"
#include "mesh/gateway.h"

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "proxy/access_log.h"
#include "proxy/http/grpc.h"
#include "proxy/tls/client_hello_inspector.h"
#include "sim/runtime/mesh_simulation.h"

namespace meshsim::sim {

const mesh::WorldPod* find_pod_ref(const mesh::World& w, const std::string& ref) {
  std::string ns = "default", name = ref;
  if (size_t slash = ref.find('/'); slash != std::string::npos) {
    ns = ref.substr(0, slash);
    name = ref.substr(slash + 1);
  }
  if (const mesh::WorldPod* p = w.find_pod(ns, name)) return p;
  for (mesh::Kind k : {mesh::Kind::kDeployment, mesh::Kind::kStatefulSet, mesh::Kind::kDaemonSet, mesh::Kind::kReplicaSet}) {
    auto pods = w.pods_of_workload(k, ns, name);
    if (!pods.empty()) return pods.front();
  }
  auto by_app = w.pods_matching(ns, mesh::Labels{{"app", name}});
  return by_app.empty() ? nullptr : by_app.front();
}

CaptureOptions resolve_pod_captures(CaptureOptions o, const mesh::World& w) {
  for (std::string& entry : o.pcap_pods) {
    auto spec = parse_pod_capture(entry);
    if (!spec.ok() || w.find_pod(spec->ns, spec->pod)) continue;
    if (const mesh::WorldPod* p = find_pod_ref(w, spec->ns + "/" + spec->pod)) {
      entry = p->namespace_ + "/" + p->name + "=" + spec->file;
    }
  }
  return o;
}

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(',', start);
    std::string t = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
    if (!t.empty()) out.push_back(t);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

std::string hex(std::string_view b, size_t max) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (size_t i = 0; i < b.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(b[i]);
    o.push_back(d[c >> 4]);
    o.push_back(d[c & 15]);
  }
  return o;
}

std::string server_result(const proxy::AccessLogEntry& e) {
  if (e.connection_termination_details == "filter_chain_not_found") return "no_filter_chain";
  if (e.connection_termination_details == proxy::kClosedDuringListenerFilters) return "inspecting";
  if (e.connection_termination_details.rfind("TLS error", 0) == 0 ||
      e.connection_termination_details.rfind("downstream TLS handshake failed", 0) == 0) {
    const std::string& why = e.downstream_tls.failure_reason;
    if (why.find("CERTIFICATE_REQUIRED") != std::string::npos || why.find("PEER_DID_NOT_RETURN") != std::string::npos)
      return "mtls_error";
    return "tls_error";
  }
  if (e.http && e.response_code == 400 && e.response_flags.find("DPE") != std::string::npos) return "protocol_error";
  if (e.http && e.response_code == 404 && e.response_flags.find("NR") != std::string::npos) {
    return e.virtual_host.empty() ? "no_virtual_host" : "no_route";
  }
  return "ok";
}

ProbeSidecarView view_of(const std::string& pod, const proxy::AccessLogEntry& e, bool server) {
  ProbeSidecarView v;
  v.pod = pod;
  v.listener = e.listener;
  v.filter_chain = e.filter_chain;
  v.route_config = e.route_config;
  v.virtual_host = e.virtual_host;
  v.route = e.route;
  v.cluster = e.cluster;
  v.upstream_host = e.upstream_host;
  v.response_flags = e.response_flags;
  v.response_code = e.response_code;
  v.transport_failure = e.upstream_transport_failure_reason;
  v.details = e.http ? e.response_code_details : e.connection_termination_details;
  v.mirrored_to = e.mirrored_to;
  v.rbac = e.rbac;
  v.request_auth = e.request_auth;
  for (const auto& rv : e.rbac) {
    if (!rv.denied || rv.shadow) continue;
    ProbeDenial d;
    auto rule_of = [](const proxy::AuthzRuleRef& ref) { return ref.ok ? std::optional<int>(ref.rule) : std::nullopt; };
    for (const auto& why : rv.reasons) {
      auto [name, clause] = proxy::split_rbac_reason(why);
      proxy::AuthzRuleRef ref = proxy::parse_authz_policy_name(name);
      d.rules.push_back({ref.ok ? ref.namespace_ + "/" + ref.name : std::string(), rule_of(ref), name, clause});
    }
    proxy::AuthzRuleRef ref = proxy::parse_authz_policy_name(rv.policy);
    d.action = rv.istio_action;
    d.filter = rv.filter;
    d.policy = ref.ok ? ref.namespace_ + "/" + ref.name : std::string();
    d.rule = rule_of(ref);
    d.rbac_policy = rv.policy.empty() ? std::string("none") : rv.policy;
    v.denied_by = std::move(d);
    break;
  }
  if (server) {
    v.result = server_result(e);
    v.transport_protocol = e.transport_protocol;
    v.tls_termination = e.tls_termination;
  } else {
    // The transport socket the engine chose for the endpoint (never
    // re-derived here from the cluster's config).
    v.tls_mode = !e.upstream_tls.tls_mode.empty()          ? e.upstream_tls.tls_mode
                 : !e.upstream_tls.transport_socket.empty() ? std::string("plaintext")
                                                            : std::string();
    v.transport_socket = e.upstream_tls.transport_socket;
  }
  v.filter_chain_description = e.filter_chain_description;
  v.cluster_description = e.cluster_description;
  v.filter_chain_miss = e.filter_chain_miss;
  return v;
}

}  // namespace

Result<ProbeResult> run_probe(std::shared_ptr<const mesh::World> world, const ProbeRequest& req,
                              const CaptureOptions* capture) {
  MeshSimulationOptions mo;
  mo.seed = req.seed;
  mo.kubelet_probes = false;  // only the probe's own traffic
  MeshSimulation ms(world, mo);
  if (Status st = ms.build(); !st.ok()) return Error{st.message()};
  std::unique_ptr<CaptureSession> cap;
  if (capture && capture->any()) {
    auto c = CaptureSession::start(resolve_pod_captures(*capture, *world), ms.sim(), ms.net());
    if (!c.ok()) return Error{c.message()};
    cap = std::move(*c);
    if (cap->keylog()) ms.enable_keylog();
  }
  auto r = probe_on(ms, req);
  if (r.ok()) {
    for (const auto& nm : mesh::not_modelled(world->resources(), &world->mesh_config())) r->not_modelled.push_back(nm.line());
  }
  if (cap) {
    if (!r.ok()) {
      cap->abandon();
      return r;
    }
    if (Status st = cap->finish(); !st.ok()) return Error{st.message()};
    for (const auto& f : cap->summary()) r->outputs.push_back({f.path, describe_capture_file(f)});
  }
  return r;
}

Result<ProbeDistribution> run_probe_count(std::shared_ptr<const mesh::World> world, const ProbeRequest& req,
                                          uint32_t count) {
  MeshSimulationOptions mo;
  mo.seed = req.seed;
  mo.kubelet_probes = false;
  MeshSimulation ms(world, mo);
  if (Status st = ms.build(); !st.ok()) return Error{st.message()};
  ProbeDistribution d;
  for (uint32_t i = 0; i < count; ++i) {
    auto r = probe_on(ms, req);
    if (!r.ok()) return Error{r.message()};
    ++d.count;
    ++d.outcomes[r->outcome];
    std::string ep = "-", loc = "-";
    if (r->client_sidecar && !r->client_sidecar->upstream_host.empty()) {
      const std::string& h = r->client_sidecar->upstream_host;
      ep = h;
      auto ip = parse_ipv4(h.substr(0, h.rfind(':')));
      if (ip.ok()) {
        if (const mesh::WorldPod* p = world->pod_by_ip(*ip)) {
          ep += " (" + p->namespace_ + "/" + p->name + ")";
          if (p->scheduled()) {
            const mesh::Locality& l = world->nodes()[static_cast<size_t>(p->node)].locality;
            loc = l.region + "/" + l.zone + (l.subzone.empty() ? "" : "/" + l.subzone);
          }
        }
      }
    }
    ++d.endpoints[ep];
    ++d.localities[loc];
    d.probes.push_back(std::move(*r));
  }
  return d;
}

std::string probe_distribution_text(const ProbeDistribution& d) {
  std::string t = std::to_string(d.count) + " probes\n";
  auto section = [&](const char* title, const std::map<std::string, uint32_t>& m) {
    t += std::string("\n") + title + "\n";
    for (const auto& [k, n] : m) {
      char pct[16];
      std::snprintf(pct, sizeof pct, "%5.1f%%", d.count ? 100.0 * n / d.count : 0.0);
      t += "  " + std::string(pct) + "  " + std::to_string(n) + "  " + k + "\n";
    }
  };
  section("OUTCOMES", d.outcomes);
  section("ENDPOINTS (the client sidecar's upstream host)", d.endpoints);
  section("LOCALITIES", d.localities);
  return t;
}

std::string probe_distribution_json(const ProbeDistribution& d) {
  nlohmann::ordered_json j;
  j["count"] = d.count;
  j["outcomes"] = d.outcomes;
  j["endpoints"] = d.endpoints;
  j["localities"] = d.localities;
  nlohmann::ordered_json probes = nlohmann::ordered_json::array();
  for (const ProbeResult& r : d.probes) probes.push_back(nlohmann::ordered_json::parse(probe_result_json(r)));
  j["probes"] = probes;
  return j.dump(2) + "\n";
}

Result<ProbeResult> probe_on(MeshSimulation& ms, const ProbeRequest& req) {
  const mesh::World& w = ms.world();

  // --- the client ---
  HostId client_host = kNoHost;
  const mesh::WorldPod* client_pod = nullptr;
  ProbeResult r;
  if (req.from == "external") {
    client_host = ms.external_host("client");
    r.from_description = "external client " + to_string(ms.net().topology().host(client_host).ip) + " (no sidecar)";
  } else {
    client_pod = find_pod_ref(w, req.from);
    if (!client_pod) return Error{"--from: no pod, workload or app \"" + req.from + "\""};
    client_host = ms.host_of(client_pod->namespace_, client_pod->name);
    if (client_host == kNoHost) return Error{"--from: pod " + client_pod->namespace_ + "/" + client_pod->name + " is not running (unscheduled or hostNetwork)"};
    r.from_description = client_pod->namespace_ + "/" + client_pod->name + " (" + to_string(client_pod->ip) + ", " +
                         (client_pod->injected ? std::string("sidecar")
                          : client_pod->ambient
                              ? "ambient, ztunnel " + mesh::ztunnel_pod_name(w.nodes()[static_cast<size_t>(client_pod->node)].name)
                              : std::string("no sidecar")) +
                         ")";
  }

  // --- the target ---
  std::string target = req.to;
  size_t colon = target.rfind(':');
  if (colon == std::string::npos || colon + 1 >= target.size()) return Error{"--to: expected HOST:PORT, IP:PORT or NS/WORKLOAD:PORT, got \"" + req.to + "\""};
  std::string host_part = target.substr(0, colon);
  unsigned long port = 0;
  try {
    port = std::stoul(target.substr(colon + 1));
  } catch (...) {
    port = 0;
  }
  if (port == 0 || port > 65535) return Error{"--to: bad port in \"" + req.to + "\""};
  if (host_part.find('/') != std::string::npos) {
    const mesh::WorldPod* p = find_pod_ref(w, host_part);
    if (!p) return Error{"--to: no pod, workload or app \"" + host_part + "\""};
    host_part = to_string(p->ip);
    r.to_description = p->namespace_ + "/" + p->name + " " + host_part + ":" + std::to_string(port) + " (direct to the pod IP)";
  } else {
    r.to_description = req.to;
  }
  std::string connect_to = host_part + ":" + std::to_string(port);
  std::string host_header;
  if (req.via == "ingress" || req.via.find('/') != std::string::npos) {
    auto a = mesh::ingress_address(w, static_cast<uint32_t>(port), req.via == "ingress" ? "" : req.via);
    if (!a.ok()) return Error{"--via " + req.via + ": " + a.message()};
    std::string addr = to_string(a->ip) + ":" + std::to_string(a->port);
    host_header = port == 80 || port == 443 ? host_part : host_part + ":" + std::to_string(port);
    r.to_description = req.to + " via the ingress gateway " + a->service->namespace_ + "/" + a->service->name + " at " +
                       addr + (a->load_balancer ? " (load balancer)" : " (NodePort)");
    connect_to = addr;
  } else if (!req.via.empty()) {
    return Error{"--via: expected \"ingress\" or a gateway Service NS/NAME, got \"" + req.via + "\""};
  }

  ClientRequestSpec spec;
  spec.protocol = req.protocol;
  spec.target = connect_to;
  spec.host_header = host_header;
  spec.method = req.method;
  spec.path = req.path;
  spec.headers = req.headers;
  spec.keep_alive = false;
  spec.timeout = req.timeout;
  spec.tcp_payload = req.payload;
  spec.grpc_service = req.grpc_service;
  spec.grpc_method = req.grpc_method;
  spec.grpc_message = req.grpc_message;
  if (req.protocol == "mysql") spec.mysql.query = "SELECT * FROM ratings";
  if (req.client_tls != "plaintext") {
    spec.tls.enabled = true;
    spec.tls.sni = req.sni.empty() ? (parse_ipv4(host_part).ok() ? "" : host_part) : req.sni;
    if (!req.alpn.empty()) {
      spec.tls.alpn = split_commas(req.alpn);
    } else if (req.client_tls == "mtls") {
      spec.tls.alpn = {req.protocol == "http" ? "istio-http/1.1" : req.protocol == "grpc" ? "istio-h2" : "istio"};
    } else if (req.protocol == "http") {
      spec.tls.alpn = {"http/1.1"};
    } else if (req.protocol == "grpc") {
      spec.tls.alpn = {"h2"};
    }
    if (!req.ca_pem.empty()) {
      auto roots = tls::Certificate::chain_from_pem(req.ca_pem);
      if (!roots.ok() || roots->empty()) return Error{"--cacert: not a PEM certificate" + (roots.ok() ? std::string() : ": " + roots.message())};
      spec.tls.roots = std::move(*roots);
    }
    if (!req.cert_pem.empty() || !req.key_pem.empty()) {
      auto chain = tls::Certificate::chain_from_pem(req.cert_pem);
      if (!chain.ok() || chain->empty()) return Error{"--cert: not a PEM certificate" + (chain.ok() ? std::string() : ": " + chain.message())};
      auto key = tls::PrivateKey::from_pem(req.key_pem);
      if (!key.ok()) return Error{"--key: not a PEM private key: " + key.message()};
      spec.tls.identity = tls::CertifiedKey{chain->front(), std::vector<tls::Certificate>(chain->begin() + 1, chain->end()), std::move(*key)};
    }
    if (req.client_tls == "mtls") {
      std::string ns = client_pod ? client_pod->namespace_ : "external";
      std::string sa = client_pod ? client_pod->service_account : "default";
      tls::EnvironmentScope scope(&ms.tls_environment());
      spec.tls.identity = ms.ca().issue_workload(w.mesh_config().trust_domain, ns, sa, Duration::zero(),
                                                Duration::hours(24 * 365));
      spec.tls.roots = {ms.ca().root()};
    }
  }

  // --- observe ---
  struct ConnFacts {
    HostId client_host = kNoHost;
    HostId server_host = kNoHost;
    std::string first_bytes;
    SocketAddress from, to;
  };
  std::map<uint64_t, ConnFacts> conns;
  std::vector<std::pair<std::string, proxy::AccessLogEntry>> logs;
  std::vector<std::string> ztunnel_lines;
  int token = ms.sim().subscribe([&](const Observation& o) {
    if (const auto* c = std::get_if<TcpConnectionObservation>(&o.payload)) {
      ConnFacts& f = conns[c->connection];
      if (c->client_side && c->event == TcpEvent::kConnect) {
        f.client_host = c->host;
        f.from = c->local;
        f.to = c->remote;
      }
      if (!c->client_side && c->event == TcpEvent::kAccepted) {
        f.server_host = c->host;
        f.to = c->redirected ? c->original_dst : c->local;  // as it arrived (after kube-proxy DNAT)
      }
    } else if (const auto* d = std::get_if<TcpDataObservation>(&o.payload)) {
      if (d->to_client) return;
      ConnFacts& f = conns[d->connection];
      if (f.server_host == kNoHost) f.server_host = d->host;
      if (f.first_bytes.size() < 16384) {
        f.first_bytes.append(reinterpret_cast<const char*>(d->bytes.data()), std::min<size_t>(d->bytes.size(), 16384));
      }
    } else if (const auto* a = std::get_if<AccessLogObservation>(&o.payload)) {
      logs.emplace_back(std::string(a->pod), *a->entry);
    } else if (const auto* z = std::get_if<ZtunnelObservation>(&o.payload)) {
      if (z->event == ZtunnelObservation::Event::kStarted || z->event == ZtunnelObservation::Event::kStopped) return;
      std::string_view zt = z->ztunnel.substr(z->ztunnel.find('/') + 1);
      std::string line = std::string(zt) + " (" + std::string(z->node) + ") " + to_string(z->event) + " " +
                         std::string(z->protocol) + " " + std::string(z->pod) + (z->event == ZtunnelObservation::Event::kOutbound ? " → " : " ← ") +
                         std::string(z->peer);
      if (!z->identity.empty()) line += " [" + std::string(z->identity) + "]";
      if (!z->detail.empty()) line += ": " + std::string(z->detail);
      ztunnel_lines.push_back(std::move(line));
    }
  });

  Duration start = std::max(req.at, ms.sim().now());
  ClientSchedule sched;
  sched.count = 1;
  sched.start = start;
  ClientApp* app = ms.add_client(client_host, req.from, spec, sched);
  Duration deadline = start + req.timeout + Duration::seconds(1);
  Duration t = start;
  while (app->completed() == 0 && t < deadline) {
    t = std::min(deadline, t + Duration::millis(100));
    ms.run_until(t);
  }
  // Let the sidecars finish their access logs (connections closing).
  ms.run_until(t + Duration::seconds(1));
  ms.sim().unsubscribe(token);

  const ClientApp::Last& last = app->last();
  r.outcome = app->completed() ? to_string(last.outcome) : "timeout";
  r.http_status = last.http_status;
  if (req.protocol == "grpc") {
    r.grpc_status = last.grpc_status;
    r.grpc_status_name = last.grpc_status >= 0 ? proxy::http::grpc::status_name(last.grpc_status) : "";
    if (auto st = proxy::http::grpc::call_status(last.response)) r.grpc_message = st->message;
  }
  r.client_error = last.error;
  r.elapsed_ms = last.latency.to_millis();
  r.response_body = req.protocol == "tcp" ? last.tcp_reply : last.response.body;
  if (req.protocol != "tcp" && last.http_status) {
    for (const auto& f : last.response.headers) r.response_headers.emplace_back(f.name, f.value);
    for (const auto& f : last.response.trailers) r.response_headers.emplace_back(f.name, f.value);
  }
  r.fingerprint = [&] {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%016" PRIx64, ms.sim().fingerprint());
    return std::string(buf);
  }();
  r.events = ms.sim().events_executed();

  // The wire: the first connection from the client's pod to another host.
  const ConnFacts* wire = nullptr;
  for (const auto& [id, f] : conns) {
    if (f.client_host != client_host || f.server_host == kNoHost || f.server_host == client_host) continue;
    if (f.to.ip.is_loopback()) continue;
    wire = &f;
    break;
  }

  std::string client_key = client_pod ? client_pod->namespace_ + "/" + client_pod->name : "";
  const proxy::AccessLogEntry* client_log = nullptr;
  std::string server_key;
  const proxy::AccessLogEntry* server_log = nullptr;
  for (auto& [pod, e] : logs) {
    if (!client_log && pod == client_key && e.direction == proxy::TrafficDirection::kOutbound) client_log = &e;
  }
  // The server sidecar's entry for the connection on the wire (the remote
  // address it saw is the wire's source), else its first inbound entry.
  for (int pass = 0; pass < 2 && !server_log; ++pass) {
    for (auto& [pod, e] : logs) {
      // (The client's own pod too: a pod calling its own Service.)
      if (e.direction != proxy::TrafficDirection::kInbound) continue;
      if (pass == 0 && (!wire || !(e.downstream_remote == wire->from))) continue;
      server_log = &e;
      server_key = pod;
      break;
    }
  }
  if (client_log) {
    r.client_sidecar = view_of(client_key, *client_log, false);
  }
  // The gateway hop: the first entry of a gateway proxy; the server is then
  // the sidecar the gateway's request arrived at.
  const proxy::AccessLogEntry* gateway_log = nullptr;
  for (auto& [pod, e] : logs) {
    SidecarHost* sc = ms.sidecar(pod.substr(0, pod.find('/')), pod.substr(pod.find('/') + 1));
    if (!sc || !sc->router() || pod == client_key) continue;
    gateway_log = &e;
    r.gateway = view_of(pod, e, true);
    ProbeSidecarView up = view_of(pod, e, false);  // its upstream side: the transport socket the engine chose
    r.gateway->tls_mode = up.tls_mode;
    r.gateway->transport_socket = up.transport_socket;
    r.gateway->cluster_description = up.cluster_description;
    const mesh::WorldPod* gp = w.find_pod(pod.substr(0, pod.find('/')), pod.substr(pod.find('/') + 1));
    server_log = nullptr;
    for (auto& [spod, se] : logs) {
      if (se.direction != proxy::TrafficDirection::kInbound || !gp || !(se.downstream_remote.ip == gp->ip)) continue;
      server_log = &se;
      server_key = spod;
      break;
    }
    break;
  }
  if (server_log) r.server_sidecar = view_of(server_key, *server_log, true);
  r.ztunnel = std::move(ztunnel_lines);

  if (wire) {
    const ConnFacts& f = *wire;
    r.wire.observed = true;
    r.wire.from = to_string(f.from);
    r.wire.to = to_string(f.to);
    r.wire.first_bytes_hex = hex(f.first_bytes, 16);
    tls::ClientHelloInfo hi;
    auto ir = tls::inspect_client_hello(
        {reinterpret_cast<const uint8_t*>(f.first_bytes.data()), f.first_bytes.size()}, &hi);
    r.wire.tls = ir == tls::InspectResult::kTls;
    if (r.wire.tls) {
      r.wire.alpn = hi.alpn;
      r.wire.sni = hi.sni;
    }
  }
  if (server_log && server_log->downstream_tls.handshake_complete) {
    r.wire.mtls = server_log->downstream_tls.peer_certificate;
    r.wire.client_identity = server_log->downstream_tls.peer_principal();
    r.wire.negotiated_alpn = server_log->downstream_tls.alpn;
    r.wire.tls_version = server_log->downstream_tls.version;
    // What the server sidecar presented (seen by a client without a sidecar,
    // whose own TLS has no access log).
    r.wire.server_identity = server_log->downstream_tls.local_uri_san;
  }
  if (gateway_log && gateway_log->downstream_tls.handshake_complete) {
    // The wire is the client's hop to the gateway.
    r.wire.mtls = gateway_log->downstream_tls.peer_certificate;
    r.wire.client_identity = gateway_log->downstream_tls.peer_principal();
    r.wire.negotiated_alpn = gateway_log->downstream_tls.alpn;
    r.wire.tls_version = gateway_log->downstream_tls.version;
    r.wire.server_identity = gateway_log->downstream_tls.local_uri_san;
  } else if (gateway_log) {
    r.wire.mtls = false;
    r.wire.client_identity.clear();
    r.wire.negotiated_alpn.clear();
    r.wire.tls_version.clear();
    r.wire.server_identity.clear();
  }
  if (client_log && client_log->upstream_tls.handshake_complete) {
    if (std::string p = client_log->upstream_tls.peer_principal(); !p.empty()) r.wire.server_identity = p;
    if (r.wire.negotiated_alpn.empty()) r.wire.negotiated_alpn = client_log->upstream_tls.alpn;
    if (r.wire.tls_version.empty()) r.wire.tls_version = client_log->upstream_tls.version;
    if (!server_log || !server_log->downstream_tls.handshake_complete) {
      r.wire.mtls = !client_log->upstream_tls.local_uri_san.empty() && r.wire.tls;
    }
  }
  return r;
}

std::string probe_result_json(const ProbeResult& r) {
  nlohmann::ordered_json j;
  j["outcome"] = r.outcome;
  j["http_status"] = r.http_status;
  if (r.grpc_status >= 0) {
    j["grpc_status"] = r.grpc_status;
    j["grpc_status_name"] = r.grpc_status_name;
    j["grpc_message"] = r.grpc_message;
  }
  j["client_error"] = r.client_error;
  j["elapsed_ms"] = std::round(r.elapsed_ms * 1000.0) / 1000.0;
  j["response_body"] = r.response_body;
  nlohmann::ordered_json hdrs = nlohmann::ordered_json::array();
  for (const auto& [k, v] : r.response_headers) hdrs.push_back({{"name", k}, {"value", v}});
  j["response_headers"] = hdrs;
  auto side = [](const std::optional<ProbeSidecarView>& v, bool server) -> nlohmann::ordered_json {
    if (!v) return nullptr;
    nlohmann::ordered_json s;
    s["pod"] = v->pod;
    s["listener"] = v->listener;
    s["filter_chain"] = v->filter_chain;
    if (server) s["virtual_host"] = v->virtual_host;
    s["route"] = v->route.empty() ? v->route_config : v->route;
    s["route_config"] = v->route_config;
    s["cluster"] = v->cluster;
    s["upstream_host"] = v->upstream_host;
    if (!server) s["tls_mode"] = v->tls_mode;
    if (server) s["result"] = v->result;
    if (server) s["tls_termination"] = v->tls_termination;
    if (server) s["transport_protocol"] = v->transport_protocol;
    if (server && !v->tls_mode.empty()) s["upstream_tls_mode"] = v->tls_mode;
    s["response_flags"] = v->response_flags;
    s["details"] = v->details;
    if (!server) s["mirrored_to"] = v->mirrored_to;
    if (server) {
      nlohmann::ordered_json authz = nlohmann::ordered_json::array();
      for (const auto& rv : v->rbac) {
        authz.push_back({{"filter", rv.filter},   {"action", rv.istio_action}, {"shadow", rv.shadow},
                         {"denied", rv.denied},   {"policy", rv.policy},       {"summary", proxy::rbac_verdict_summary(rv)},
                         {"reasons", rv.reasons}});
      }
      auto rule = [](const std::optional<int>& idx) { return idx ? nlohmann::ordered_json(*idx) : nlohmann::ordered_json(nullptr); };
      nlohmann::ordered_json denied_by = nullptr;
      if (const auto& d = v->denied_by) {
        nlohmann::ordered_json rules = nlohmann::ordered_json::array();
        for (const auto& c : d->rules) {
          rules.push_back({{"policy", c.policy}, {"rule", rule(c.rule)}, {"rbac_policy", c.rbac_policy}, {"clause", c.clause}});
        }
        denied_by = {{"action", d->action}, {"filter", d->filter},           {"policy", d->policy},
                     {"rule", rule(d->rule)}, {"rbac_policy", d->rbac_policy}, {"rules", rules}};
      }
      s["request_auth"] = v->request_auth;
      s["authz"] = authz;
      s["denied_by"] = denied_by;
      s["filter_chain_description"] = v->filter_chain_description;
      if (!v->filter_chain_miss.empty()) s["filter_chain_miss"] = v->filter_chain_miss;
    } else {
      s["transport_socket"] = v->transport_socket;
      s["cluster_description"] = v->cluster_description;
    }
    if (!v->transport_failure.empty()) s["transport_failure_reason"] = v->transport_failure;
    return s;
  };
  j["client_sidecar"] = side(r.client_sidecar, false);
  if (r.gateway) j["gateway"] = side(r.gateway, true);
  j["server_sidecar"] = side(r.server_sidecar, true);
  if (!r.ztunnel.empty()) j["ztunnel"] = r.ztunnel;
  nlohmann::ordered_json wire;
  wire["tls"] = r.wire.tls;
  wire["mtls"] = r.wire.mtls;
  wire["alpn"] = r.wire.negotiated_alpn;
  wire["alpn_offered"] = r.wire.alpn;
  wire["sni"] = r.wire.sni;
  wire["client_identity"] = r.wire.client_identity;
  wire["server_identity"] = r.wire.server_identity;
  wire["tls_version"] = r.wire.tls_version;
  wire["first_bytes"] = r.wire.first_bytes_hex;
  wire["src"] = r.wire.from;
  wire["dst"] = r.wire.to;
  j["wire"] = r.wire.observed ? wire : nlohmann::ordered_json(nullptr);
  j["from"] = r.from_description;
  j["to"] = r.to_description;
  j["fingerprint"] = r.fingerprint;
  j["not_modelled"] = r.not_modelled;
  return j.dump(2) + "\n";
}

std::string probe_result_text(const ProbeResult& r) {
  std::string t;
  auto line = [&](const std::string& k, const std::string& v) { t += k + std::string(k.size() < 18 ? 18 - k.size() : 1, ' ') + v + "\n"; };
  line("from", r.from_description);
  line("to", r.to_description);
  std::string out = r.outcome;
  if (r.http_status) out += " (HTTP " + std::to_string(r.http_status) + ")";
  if (r.grpc_status >= 0) {
    out += " grpc-status " + std::to_string(r.grpc_status) + " " + r.grpc_status_name;
    if (!r.grpc_message.empty()) out += " \"" + r.grpc_message + "\"";
  }
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f ms", r.elapsed_ms);
  line("outcome", out + " after " + ms);
  if (!r.client_error.empty()) line("client saw", r.client_error);
  if (r.http_status == 0 && !r.response_body.empty()) {  // a raw TCP reply, as nc would print it
    std::string shown;
    for (char c : r.response_body.substr(0, 200)) {
      if (c == '\n') shown += "\\n";
      else if (c == '\r') shown += "\\r";
      else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) shown += '.';
      else shown += c;
    }
    line("client got", "\"" + shown + (r.response_body.size() > 200 ? "…" : "") + "\"");
  }
  // What traffic management changed, as curl -i would show it: the redirect
  // target, CORS and VirtualService response headers; and, from the echo
  // app's answer, the request line and Host the server application received.
  for (const auto& [k, v] : r.response_headers) {
    std::string name = k;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "location" || name.rfind("access-control-", 0) == 0) line(name, v);
  }
  if (r.http_status && r.response_body.find("\nURL=") != std::string::npos) {
    auto field = [&](const std::string& key) {
      size_t at = r.response_body.find("\n" + key + "=");
      if (at == std::string::npos) return std::string();
      at += key.size() + 2;
      return r.response_body.substr(at, r.response_body.find('\n', at) - at);
    };
    line("server app saw", field("Method") + " " + field("URL") + "  Host: " + field("Host"));
    // An app with calls names each call and its attempts' results.
    for (size_t at = r.response_body.find("\nCall="); at != std::string::npos;
         at = r.response_body.find("\nCall=", at + 1)) {
      size_t from = at + 6;
      line("server app called", r.response_body.substr(from, r.response_body.find('\n', from) - from));
    }
  }
  auto side = [&](const char* title, const std::optional<ProbeSidecarView>& v, bool server) {
    if (!v) {
      line(title, "none");
      return;
    }
    t += std::string(title) + " (" + v->pod + ")\n";
    line("  listener", v->listener + (v->filter_chain.empty() ? "" : "  chain " + v->filter_chain));
    if (!v->route_config.empty() || !v->virtual_host.empty()) {
      line("  route", v->route_config + (v->virtual_host.empty() ? "" : "  vhost " + v->virtual_host) +
                          (v->route.empty() ? "" : "  route " + v->route));
    }
    if (!v->cluster.empty()) line("  cluster", v->cluster + (v->upstream_host.empty() ? "" : " → " + v->upstream_host));
    if (!server && !v->tls_mode.empty()) {
      line("  tls", v->tls_mode + (v->transport_socket.empty() ? "" : "  (transport socket " + v->transport_socket + ")"));
    }
    if (!server && !v->cluster_description.empty()) line("  why", v->cluster_description);
    if (server) {
      line("  result", v->result);
      if (!v->filter_chain_description.empty()) line("  why", v->filter_chain_description);
      if (!v->filter_chain_miss.empty()) line("  no chain", v->filter_chain_miss);
      if (!v->tls_termination.empty()) line("  tls", v->tls_termination + " (detected " + v->transport_protocol + ")");
      if (!v->tls_mode.empty())  // a gateway: its upstream hop
        line("  upstream tls", v->tls_mode + (v->transport_socket.empty() ? "" : "  (transport socket " + v->transport_socket + ")"));
    }
    line("  flags", v->response_flags + (v->details.empty() ? "" : "  (" + v->details + ")"));
    for (const std::string& m : v->mirrored_to) line("  mirrored to", m + "  (response discarded)");
    if (v->request_auth.rfind("ext_authz ", 0) == 0) line("  ext_authz", v->request_auth.substr(10));
    else if (!v->request_auth.empty()) line("  authn", v->request_auth);
    for (const auto& rv : v->rbac) {
      line("  authz", proxy::rbac_verdict_summary(rv));
      for (const auto& why : rv.reasons) line("", "  " + proxy::rbac_reason_text(why));
    }
    if (!v->transport_failure.empty()) line("  transport", v->transport_failure);
  };
  side("client sidecar", r.client_sidecar, false);
  if (r.gateway) side("gateway", r.gateway, true);
  side("server sidecar", r.server_sidecar, true);
  for (size_t i = 0; i < r.ztunnel.size(); ++i) line(i == 0 ? "ztunnel" : "", r.ztunnel[i]);
  if (r.wire.observed) {
    std::string w = r.wire.tls ? (r.wire.mtls ? "mTLS" : "TLS") : "plaintext";
    if (r.wire.tls) {
      std::string alpn;
      for (size_t i = 0; i < r.wire.alpn.size(); ++i) alpn += (i ? "," : "") + r.wire.alpn[i];
      w += "  ALPN offered [" + alpn + "]";
      if (!r.wire.negotiated_alpn.empty()) w += " negotiated " + r.wire.negotiated_alpn;
      if (!r.wire.sni.empty()) w += "  SNI " + r.wire.sni;
    }
    line("wire", r.wire.from + " → " + r.wire.to + "  " + w);
    if (!r.wire.client_identity.empty()) line("  client identity", r.wire.client_identity);
    if (!r.wire.server_identity.empty()) line("  server identity", r.wire.server_identity);
  } else {
    line("wire", "no pod-to-pod connection");
  }
  return t;
}

}  // namespace meshsim::sim
