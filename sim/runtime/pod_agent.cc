#include "sim/runtime/pod_agent.h"

#include "mesh/mesh_config.h"
#include "proxy/base/hash.h"
#include "proxy/http/parser.h"
#include "sim/observations/runtime.h"

namespace meshsim::sim {

namespace {
constexpr double kGraceRatio = mesh::kSecretGracePeriodRatio;         // SECRET_GRACE_PERIOD_RATIO
constexpr double kGraceJitter = mesh::kSecretGracePeriodRatioJitter;  // SECRET_GRACE_PERIOD_RATIO_JITTER
}  // namespace

struct PodAgent::Pending {
  TcpSocket socket;
  proxy::http::RequestParser parser;
  TcpSocket probe;  // the agent's own connection to the application
  std::string probe_reply;
  bool http_probe = false;
  EventId timeout;
  bool answered = false;
};

PodAgent::PodAgent(Simulator& sim, Network& net, HostId host, const mesh::WorldPod& pod, const mesh::MeshConfig& mc,
                   tls::CertificateAuthority& ca, proxy::SecretStore& secrets, std::function<Duration()> wall_clock)
    : sim_(sim),
      net_(net),
      host_(host),
      wall_clock_(std::move(wall_clock)),
      pod_label_(pod.namespace_ + "/" + pod.name),
      spiffe_(pod.spiffe_id(mc.trust_domain)),
      pod_(pod),
      mc_(mc),
      ca_(ca),
      secrets_(secrets),
      actor_(sim.actor("agent/" + pod_label_)),
      k_rotate_(sim.kind("agent.rotate")),
      k_cert_(sim.kind("agent.certificate")),
      k_probe_(sim.kind("agent.probe")),
      rng_(sim.rng("agent/" + pod_label_)),
      ttl_(mesh::workload_cert_ttl(mc, pod.proxy_metadata)),
      status_port_(pod.interception.status_port) {}

PodAgent::~PodAgent() { stop(); }

bool PodAgent::start() {
  secrets_.set_roots({ca_.root()});
  issue(false);
  listener_ = net_.listen(host_, {Ipv4::any(), status_port_},
                          [this](TcpSocket s, const ConnectionInfo& info) { return accept(s, info); });
  return static_cast<bool>(listener_);
}

void PodAgent::stop() {
  sim_.cancel(rotation_);
  if (listener_) net_.close_listener(listener_);
  listener_ = {};
  conns_.clear();
}

void PodAgent::issue(bool rotation) {
  Duration now = sim_.now();
  Duration wall = wall_clock_ ? wall_clock_() : now;
  secrets_.set_identity(ca_.issue_workload(mc_.trust_domain, pod_.namespace_, pod_.service_account, wall, wall + ttl_));
  ++issued_;
  not_after_ = wall + ttl_;
  sim_.publish(actor_, k_cert_, hash_combine(fnv1a64(spiffe_), static_cast<uint64_t>(not_after_.ns())),
               CertificateObservation{pod_label_, spiffe_, wall.ns(), not_after_.ns(), rotation});
  // Renew when the remaining lifetime drops below grace * ttl (± jitter).
  double ratio = kGraceRatio + rng_.uniform(-kGraceJitter, kGraceJitter);
  next_rotation_ = now + scale(ttl_, 1.0 - ratio);
  rotation_ = sim_.schedule_at(next_rotation_, actor_, k_rotate_, [this] {
    if (renew_) issue(true);
  });
}

TcpCallbacks PodAgent::accept(TcpSocket s, const ConnectionInfo&) {
  auto p = std::make_unique<Pending>();
  p->socket = s;
  uint64_t id = s.id;
  conns_[id] = std::move(p);
  TcpCallbacks cb;
  cb.on_data = [this, id](std::span<const uint8_t> b) {
    auto it = conns_.find(id);
    if (it == conns_.end() || it->second->answered) return;
    Pending& pd = *it->second;
    pd.parser.feed({reinterpret_cast<const char*>(b.data()), b.size()});
    auto st = pd.parser.next();
    if (st == proxy::http::ParseStatus::kNeedMore) return;
    if (st == proxy::http::ParseStatus::kError) {
      respond(id, 400, "bad request");
      return;
    }
    proxy::http::Request req = pd.parser.take();
    serve(id, std::string(req.path()));
  };
  cb.on_peer_fin = [this, id] {
    auto it = conns_.find(id);
    if (it != conns_.end() && it->second->answered) {
      net_.close(TcpSocket{id});
      conns_.erase(it);
    }
  };
  cb.on_reset = [this, id](ResetReason) { conns_.erase(id); };
  return cb;
}

void PodAgent::respond(uint64_t id, int status, const std::string& body) {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second->answered) return;
  it->second->answered = true;
  proxy::http::Response r;
  r.status = status;
  r.headers.set("content-type", "text/plain; charset=utf-8");
  r.headers.set("connection", "close");
  r.body = body;
  std::string wire = proxy::http::serialize(r);
  net_.send(TcpSocket{id}, {reinterpret_cast<const uint8_t*>(wire.data()), wire.size()});
  net_.close(TcpSocket{id});
  if (it->second->probe) net_.close(it->second->probe);
  sim_.cancel(it->second->timeout);
  conns_.erase(it);
}

void PodAgent::serve(uint64_t id, const std::string& path) {
  if (path == "/healthz/ready") {
    respond(id, secrets_.identity() ? 200 : 503, "");
    return;
  }
  // /app-health/<container>/<livez|readyz|startupz>
  const std::string prefix = "/app-health/";
  if (path.rfind(prefix, 0) != 0 || !pod_.spec) {
    respond(id, 404, "404 page not found\n");
    return;
  }
  std::string rest = path.substr(prefix.size());
  size_t slash = rest.find('/');
  std::string container = rest.substr(0, slash);
  std::string which = slash == std::string::npos ? "" : rest.substr(slash + 1);
  const mesh::Probe* probe = nullptr;
  for (const auto& c : pod_.spec->containers) {
    if (c.name != container) continue;
    if (which == "livez" && c.liveness) probe = &*c.liveness;
    if (which == "readyz" && c.readiness) probe = &*c.readiness;
    if (which == "startupz" && c.startup) probe = &*c.startup;
  }
  if (!probe || (probe->handler != mesh::Probe::Handler::kHttpGet && probe->handler != mesh::Probe::Handler::kTcpSocket)) {
    respond(id, 404, "no such probe\n");
    return;
  }
  uint32_t port = probe->port.is_int ? static_cast<uint32_t>(probe->port.int_value) : pod_.named_port(probe->port.str_value);
  // The agent probes the application over localhost (bypassing Envoy).
  Pending& pd = *conns_.at(id);
  pd.http_probe = probe->handler == mesh::Probe::Handler::kHttpGet;
  std::string probe_path = probe->path.empty() ? "/" : probe->path;
  pd.timeout = sim_.schedule_after(Duration::seconds(std::max(1, probe->timeout_seconds)), actor_, k_probe_,
                                   [this, id] { respond(id, 500, "probe timed out\n"); });
  ConnectOptions co;
  co.uid = 1337;
  TcpCallbacks cb;
  cb.on_connected = [this, id, probe_path, port] {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    if (!it->second->http_probe) {
      respond(id, 200, "");
      return;
    }
    std::string req = "GET " + probe_path + " HTTP/1.1\r\nHost: localhost:" + std::to_string(port) +
                      "\r\nUser-Agent: kube-probe/1.30\r\nConnection: close\r\n\r\n";
    net_.send(it->second->probe, {reinterpret_cast<const uint8_t*>(req.data()), req.size()});
  };
  cb.on_data = [this, id](std::span<const uint8_t> b) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Pending& p = *it->second;
    p.probe_reply.append(reinterpret_cast<const char*>(b.data()), b.size());
    proxy::http::ResponseParser rp;
    rp.feed(p.probe_reply);
    if (rp.next() != proxy::http::ParseStatus::kComplete) return;
    int status = rp.take().status;
    respond(id, status >= 200 && status < 400 ? 200 : 500, "");
  };
  cb.on_connect_failed = [this, id](ConnectError) { respond(id, 500, "dial tcp: connection refused\n"); };
  cb.on_reset = [this, id](ResetReason) { respond(id, 500, "connection reset\n"); };
  cb.on_peer_fin = [this, id] { respond(id, 500, "EOF\n"); };
  pd.probe = net_.connect(host_, {Ipv4::loopback(), static_cast<uint16_t>(port)}, co, std::move(cb));
}

}  // namespace meshsim::sim
