#include "sim/runtime/apps.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "proxy/base/hash.h"
#include "proxy/http/grpc.h"
#include "proxy/http_inspector.h"
#include "proxy/tls/tls_session.h"
#include "sim/apps/http_session.h"
#include "sim/detmath.h"

namespace meshsim::sim {

const char* to_string(ServerAppKind k) {
  switch (k) {
    case ServerAppKind::kEcho: return "echo";
    case ServerAppKind::kHttpEcho: return "http-echo";
    case ServerAppKind::kExtAuthz: return "ext-authz";
    case ServerAppKind::kTcpEcho: return "tcp-echo";
    case ServerAppKind::kMysql: return "mysql-server";
    case ServerAppKind::kHttpbin: return "httpbin";
  }
  return "echo";
}

const char* to_string(AppOutcomeObservation::Outcome o) {
  switch (o) {
    case AppOutcomeObservation::Outcome::kOk: return "ok";
    case AppOutcomeObservation::Outcome::kRefused: return "refused";
    case AppOutcomeObservation::Outcome::kReset: return "reset";
    case AppOutcomeObservation::Outcome::kTimeout: return "timeout";
    case AppOutcomeObservation::Outcome::kTlsError: return "tls_error";
    case AppOutcomeObservation::Outcome::kHttpError: return "http_error";
    case AppOutcomeObservation::Outcome::kDenied: return "denied";
    case AppOutcomeObservation::Outcome::kDnsError: return "dns_error";
  }
  return "ok";
}

const char* to_string(RequestVerdictObservation::Wire w) {
  switch (w) {
    case RequestVerdictObservation::Wire::kUnjudged: return "unjudged";
    case RequestVerdictObservation::Wire::kPlaintext: return "plaintext";
    case RequestVerdictObservation::Wire::kTls: return "tls";
    case RequestVerdictObservation::Wire::kMtls: return "mtls";
  }
  return "unjudged";
}

const char* to_string(RequestVerdictObservation::Transition t) {
  switch (t) {
    case RequestVerdictObservation::Transition::kNone: return "none";
    case RequestVerdictObservation::Transition::kFails: return "fails";
    case RequestVerdictObservation::Transition::kRecovers: return "recovers";
  }
  return "none";
}

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

}  // namespace

bool image_is(std::string_view image, std::string_view name) {
  // "mysql", "mysql:8.0", "docker.io/library/mysql:8", "bitnami/mariadb:10"
  std::string img = lower(image);
  size_t slash = img.rfind('/');
  std::string last = slash == std::string::npos ? img : img.substr(slash + 1);
  last = last.substr(0, last.find(':'));
  last = last.substr(0, last.find('@'));
  return last == name;
}

namespace {

AppInference inferred(ServerAppKind kind, std::string reason) {
  AppInference a;
  a.kind = kind;
  a.reason = std::move(reason);
  return a;
}

}  // namespace

AppInference infer_server_app(const mesh::WorldPod& pod, uint32_t port, std::string_view port_name,
                              std::string_view app_protocol, std::string_view image) {
  if (!pod.app_model.empty()) {
    std::string a = lower(pod.app_model);
    ServerAppKind k = ServerAppKind::kEcho;
    if (a == "mysql-server" || a == "mysql") k = ServerAppKind::kMysql;
    else if (a == "http-echo") k = ServerAppKind::kHttpEcho;
    else if (a == "tcp-echo") k = ServerAppKind::kTcpEcho;
    else if (a == "ext-authz") k = ServerAppKind::kExtAuthz;
    else if (a == "httpbin") k = ServerAppKind::kHttpbin;
    return inferred(k, "annotation meshsim.io/app=" + pod.app_model);
  }
  std::string name = lower(port_name);
  if (name == "mysql" || name.rfind("mysql-", 0) == 0 ||
      (name.size() > 6 && name.compare(name.size() - 6, 6, "-mysql") == 0)) {
    return inferred(ServerAppKind::kMysql, "port name \"" + std::string(port_name) + "\"");
  }
  if (lower(app_protocol) == "mysql") return inferred(ServerAppKind::kMysql, "appProtocol mysql");
  if (port == 3306) return inferred(ServerAppKind::kMysql, "port 3306");
  if (image_is(image, "mysql") || image_is(image, "mariadb")) {
    return inferred(ServerAppKind::kMysql, "container image " + std::string(image));
  }
  if (image_is(image, "tcp-echo-server")) {
    return inferred(ServerAppKind::kTcpEcho, "container image " + std::string(image));
  }
  if (image_is(image, "ext-authz")) {
    return inferred(ServerAppKind::kExtAuthz, "container image " + std::string(image));
  }
  if (image_is(image, "go-httpbin")) {
    return inferred(ServerAppKind::kHttpbin, "container image " + std::string(image) + ": go-httpbin");
  }
  if (AppInference b; bookinfo_app(image, b)) return b;
  return inferred(ServerAppKind::kEcho, "default: Istio's echo app (HTTP echo, other bytes echoed)");
}

// docs/istio/telemetry.md §9: productpage.py (details then reviews, 3 s each,
// reviews tried twice), LibertyRestEndpoint.java (ratings only with
// ENABLE_RATINGS, i.e. the v2/v3 images; 10 s for v2's black stars, 2.5 s for
// v3's red ones), details.rb and ratings.js (no HTTP calls).
bool bookinfo_app(std::string_view image, AppInference& out) {
  auto call = [](std::string host, std::string path, Duration timeout, int attempts) {
    AppCall c;
    c.host = std::move(host);
    c.port = 9080;
    c.path = std::move(path);
    c.timeout = timeout;
    c.attempts = attempts;
    return c;
  };
  std::string what;
  out = {};
  out.kind = ServerAppKind::kEcho;
  if (image_is(image, "examples-bookinfo-productpage-v1")) {
    what = "productpage";
    out.calls = {call("details", "/details/0", Duration::seconds(3), 1),
                 call("reviews", "/reviews/0", Duration::seconds(3), 2)};
    out.propagate = apps::HeaderPropagation::productpage();
  } else if (image_is(image, "examples-bookinfo-details-v1")) {
    what = "details";
    out.propagate = apps::HeaderPropagation::all();
  } else if (image_is(image, "examples-bookinfo-reviews-v1")) {
    what = "reviews v1";
    out.propagate = apps::HeaderPropagation::all();
  } else if (image_is(image, "examples-bookinfo-reviews-v2") || image_is(image, "examples-bookinfo-reviews-v3")) {
    bool v2 = image_is(image, "examples-bookinfo-reviews-v2");
    what = v2 ? "reviews v2" : "reviews v3";
    out.calls = {call("ratings", "/ratings/0", v2 ? Duration::seconds(10) : Duration::millis(2500), 1)};
    out.propagate = apps::HeaderPropagation::all();
  } else if (image_is(image, "examples-bookinfo-ratings-v1") || image_is(image, "examples-bookinfo-ratings-v2") ||
             image_is(image, "examples-bookinfo-ratings-v2-mysql") ||
             image_is(image, "examples-bookinfo-ratings-v2-mysql-vm")) {
    what = "ratings";
  } else {
    return false;
  }
  out.reason = "container image " + std::string(image) + ": Bookinfo " + what;
  if (out.calls.empty()) {
    out.reason += " (no calls)";
  } else {
    out.reason += " (calls";
    for (size_t i = 0; i < out.calls.size(); ++i) {
      out.reason += (i ? ", " : " ") + out.calls[i].target() + out.calls[i].path;
    }
    out.reason += "; propagates " + out.propagate.text + ")";
  }
  return true;
}

Duration LatencyModel::sample(RandomStream& rng) const {
  switch (kind) {
    case Kind::kFixed: return a;
    case Kind::kUniform: return rng.uniform_duration(a, b > a ? b : a + Duration::nanos(1));
    case Kind::kExponential: return rng.exponential_duration(a);
    case Kind::kLognormal: {
      // median a, 99th percentile b: mu = ln(a), sigma = ln(b/a) / z(0.99).
      double median = static_cast<double>(std::max<int64_t>(a.ns(), 1));
      double p99 = static_cast<double>(std::max(b.ns(), a.ns() + 1));
      double sigma = det_log(p99 / median) / 2.326347874;
      double v = rng.lognormal(det_log(median), sigma);
      return Duration::nanos(static_cast<int64_t>(v));
    }
  }
  return a;
}

// ======================================================== server apps ===

struct ServerApp::Conn {
  ServerApp* app = nullptr;
  uint64_t id = 0;
  uint64_t network = 0;   // network connection number
  uint64_t requests = 0;  // requests held on it so far
  bool close_after_answer = false;  // the peer sent FIN while a request was held
  TcpSocket socket;
  std::unique_ptr<apps::EchoServerSession> echo;
  std::unique_ptr<mysql::ServerSession> mysql;
  std::unique_ptr<tls::TlsSession> tls;
  Duration next_send;  // responses leave in order, each after its latency
  bool closing = false;
  std::string plain, out;  // reused per read
  std::string line;        // tcp-echo: the line read so far
};

struct ServerApp::Handling {
  uint64_t id = 0;
  uint64_t conn = 0;  // the accepted connection the request came on
  std::string method, path, host, request_id;
  apps::PropagatedHeaders prop;  // computed once: the same for every call of the request
  std::vector<std::string_view> carried, forwarded, dropped;  // views into prop
  size_t call = 0;       // index into calls_
  int attempt = 0;       // of the current call, 1-based
  bool in_flight = false;
  uint64_t upstream = 0;  // the connection carrying the attempt (0: none yet / gone)
  uint64_t connection = 0;
  uint64_t connection_request = 0;  // the attempt's ordinal on that connection
  uint64_t inbound_connection = 0, inbound_connection_request = 0;
  std::string local;
  Duration started;
  EventId timeout;
  std::string summary;  // the answer's Call= lines
  bool failed = false;
};

struct ServerApp::Upstream {
  Upstream(const std::string& h, uint16_t p) : host(h), port(p), http(h, p) {}
  uint64_t id = 0;
  std::string host;
  uint16_t port;
  TcpSocket socket;
  bool connected = false;
  uint64_t handling = 0;  // the request whose attempt it carries (0: idle)
  uint64_t connection = 0;
  uint64_t requests = 0;  // requests sent on it
  std::string local;
  Duration opened;
  apps::HttpClientSession http;
  proxy::http::Request req;  // reused per request
  std::string out;
};

ServerApp::ServerApp(Simulator& sim, Network& net, AppPodInfo pod, uint16_t port, ServerAppOptions options)
    : sim_(sim),
      net_(net),
      pod_(std::move(pod)),
      port_(port),
      o_(std::move(options)),
      actor_(sim.actor("app/" + pod_.ns + "/" + pod_.pod + ":" + std::to_string(port))),
      k_(sim.kind("app.server")),
      rng_(sim.rng("app/" + pod_.ns + "/" + pod_.pod + "/" + std::to_string(port))) {
  pod_key_ = pod_.ns + "/" + pod_.pod;
  if (is_http_server(o_.kind)) {
    if (o_.calls) calls_ = *o_.calls;
    if (o_.propagate) propagate_ = *o_.propagate;
  }
  if (!calls_.empty()) {
    k_call_ = sim.kind("app.call");
    k_call_timeout_ = sim.kind("app.call_timeout");
  }
}

ServerApp::~ServerApp() { stop(); }

bool ServerApp::start() {
  if (o_.tls.enabled && !tls_ctx_) {
    tls::TlsContextConfig c;
    c.role = tls::TlsRole::kServer;
    c.name = "app-tls/" + pod_.pod;
    c.identity = o_.tls.identity;
    c.trusted_roots = o_.tls.roots;
    c.require_client_certificate = o_.tls.require_client_certificate;
    c.alpn = o_.tls.alpn;
    auto made = tls::TlsContext::create(std::move(c));
    if (!made.ok()) return false;
    tls_ctx_ = *made;
  }
  listener_ = net_.listen(pod_.host, {Ipv4::any(), port_},
                          [this](TcpSocket s, const ConnectionInfo& info) { return accept(s, info); });
  return static_cast<bool>(listener_);
}

void ServerApp::stop() {
  if (listener_) net_.close_listener(listener_);
  listener_ = {};
  conns_.clear();
  for (auto& [id, h] : handlings_) sim_.cancel(h->timeout);
  handlings_.clear();
  for (auto& [id, u] : upstreams_) {
    if (u->socket) net_.close(u->socket);
  }
  upstreams_.clear();
}

// Istio's sample external authorizer (samples/extauthz, HTTP check on any
// port): allows a request carrying `x-ext-authz: allow`, denies every other
// with 403 and its fixed body; the verdict in x-ext-authz-check-result.
static bool ext_authz_check(const proxy::http::Request& req, proxy::http::Response& r) {
  bool allow = req.headers.get("x-ext-authz").value_or("") == "allow";
  r.status = allow ? 200 : 403;
  r.headers.set("x-ext-authz-check-result", allow ? "allowed" : "denied");
  if (auto o = req.headers.get("x-ext-authz-additional-header-override")) r.headers.set("x-ext-authz-additional-header-override", *o);
  r.headers.set("x-ext-authz-check-received", req.method + " " + std::string(req.host()) + req.target);
  if (!allow) r.body = "denied by ext_authz for not found header `x-ext-authz: allow` in the request";
  return true;
}

void ServerApp::set_behavior(std::optional<double> error_rate, std::optional<int> error_status,
                             const std::optional<LatencyModel>& latency) {
  if (error_rate) o_.error_rate = *error_rate;
  if (error_status) o_.error_status = *error_status;
  if (latency) o_.latency = *latency;
  // Open keep-alive connections answer their next request the new way too.
  if (o_.error_rate > 0) {
    for (auto& [id, c] : conns_) {
      if (c->echo) c->echo->set_handler(&ServerApp::handle_http, this);
    }
  }
}

bool ServerApp::handle_http(void* self, const proxy::http::Request& req, proxy::http::Response& r) {
  auto* app = static_cast<ServerApp*>(self);
  const ServerAppOptions& o = app->o_;
  if (o.kind == ServerAppKind::kExtAuthz) return ext_authz_check(req, r);
  if (o.error_rate > 0 && app->rng_.bernoulli(o.error_rate)) {
    r.status = o.error_status;
    r.body = "simulated error\n";
    return true;
  }
  if (o.body_bytes >= 0) {
    r.status = 200;
    r.body.assign(static_cast<size_t>(o.body_bytes), 'x');
    return true;
  }
  return false;
}

// Sends `plain` on an accepted connection (through the app's TLS if it has
// one), in order after any response still waiting for its latency; closes
// afterwards if asked.
void ServerApp::send_out(uint64_t id, std::string_view plain, bool close_after) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& cn = *it->second;
  std::string_view wire = plain;
  std::string tls_out;
  if (cn.tls) {
    if (!plain.empty()) cn.tls->write({reinterpret_cast<const uint8_t*>(plain.data()), plain.size()});
    if (close_after) cn.tls->close();
    auto p = cn.tls->pending_output();
    tls_out.assign(reinterpret_cast<const char*>(p.data()), p.size());
    cn.tls->consume_output(p.size());
    wire = tls_out;
  }
  Duration at = std::max(sim_.now(), cn.next_send);
  cn.next_send = at;
  if (at == sim_.now()) {
    if (!wire.empty()) net_.send(TcpSocket{id}, {reinterpret_cast<const uint8_t*>(wire.data()), wire.size()});
    if (close_after) {
      net_.close(TcpSocket{id});
      conns_.erase(it);
    }
    return;
  }
  sim_.schedule_at(at, actor_, k_, [this, id, bytes = std::string(wire), close_after] {
    auto it2 = conns_.find(id);
    if (it2 == conns_.end()) return;
    if (!bytes.empty()) net_.send(TcpSocket{id}, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    if (close_after) {
      net_.close(TcpSocket{id});
      conns_.erase(it2);
    }
  });
}

TcpCallbacks ServerApp::accept(TcpSocket s, const ConnectionInfo& info) {
  ++connections_;
  auto c = std::make_unique<Conn>();
  c->socket = s;
  c->network = info.connection;
  c->next_send = sim_.now();
  std::string peer = to_string(info.remote.ip);
  if (o_.kind == ServerAppKind::kMysql) {
    std::string scramble(20, '\0');
    rng_.fill(reinterpret_cast<unsigned char*>(scramble.data()), scramble.size());
    c->mysql = std::make_unique<mysql::ServerSession>(o_.mysql, static_cast<uint32_t>(connections_), scramble, peer);
  } else if (o_.kind != ServerAppKind::kTcpEcho) {
    c->echo = std::make_unique<apps::EchoServerSession>(
        apps::EchoIdentity{pod_.pod, pod_.ns, pod_.version, port_, o_.kind == ServerAppKind::kHttpbin}, peer,
        info.remote.port);
    if (o_.error_rate > 0 || o_.body_bytes >= 0 || o_.kind == ServerAppKind::kExtAuthz)
      c->echo->set_handler(&ServerApp::handle_http, this);
    c->echo->set_random([](void* self) { return static_cast<ServerApp*>(self)->rng_.next_u64(); }, this);
    if (!calls_.empty()) c->echo->set_deferred_handler(&ServerApp::hold_request, c.get());
  }
  if (tls_ctx_) c->tls = std::make_unique<tls::TlsSession>(tls_ctx_);
  Conn* cp = c.get();
  uint64_t id = s.id;
  c->app = this;
  c->id = id;
  conns_[id] = std::move(c);

  if (cp->mysql && !cp->tls) {
    // Server-first: the greeting leaves as soon as the connection is accepted.
    std::string g = cp->mysql->greeting();
    net_.send(s, {reinterpret_cast<const uint8_t*>(g.data()), g.size()});
  }

  TcpCallbacks cb;
  cb.on_data = [this, id](std::span<const uint8_t> bytes) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& cn = *it->second;
    std::string_view plain;
    if (cn.tls) {
      bool was = cn.tls->established();
      cn.tls->feed(bytes);
      auto p = cn.tls->pending_output();
      if (!p.empty()) {
        net_.send(TcpSocket{id}, p);
        cn.tls->consume_output(p.size());
      }
      if (cn.tls->state() == tls::HandshakeState::kFailed) {
        net_.close(TcpSocket{id});
        conns_.erase(it);
        return;
      }
      if (!was && cn.tls->established() && cn.mysql) {
        std::string g = cn.mysql->greeting();
        send_out(id, g, false);
      }
      uint8_t buf[16384];
      cn.plain.clear();
      for (;;) {
        tls::IoResult r = cn.tls->read({buf, sizeof buf});
        if (r.bytes > 0) cn.plain.append(reinterpret_cast<const char*>(buf), r.bytes);
        if (r.status != tls::IoStatus::kOk || r.bytes == 0) break;
      }
      if (cn.plain.empty()) return;
      plain = cn.plain;
    } else {
      plain = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    std::string& out = cn.out;
    out.clear();
    bool keep = true;
    if (cn.mysql) {
      keep = cn.mysql->on_data(plain, out);
      send_out(id, out, !keep);
      return;
    }
    if (!cn.echo) {
      // Istio's tcp-echo server: bufio ReadBytes('\n'), then writes
      // fmt.Sprintf("%s %s", prefix, line); a partial line waits for more.
      for (size_t nl; (nl = plain.find('\n')) != std::string_view::npos; plain.remove_prefix(nl + 1)) {
        out.append(o_.line_prefix).append(" ").append(cn.line).append(plain.substr(0, nl + 1));
        cn.line.clear();
      }
      cn.line.append(plain);
      if (!out.empty()) send_out(id, out, false);
      return;
    }
    keep = cn.echo->on_data(plain, out);
    if (!out.empty() || !keep) {
      // Latency applies to HTTP responses only (raw echo is immediate).
      if (cn.echo->requests() > 0 && (o_.latency.a > Duration::zero() || o_.latency.b > Duration::zero())) {
        cn.next_send = std::max(cn.next_send, sim_.now() + o_.latency.sample(rng_));
      }
      // Istio's echo server: ?delay= holds the response.
      if (cn.echo->requested_delay() > Duration::zero()) {
        cn.next_send = std::max(cn.next_send, sim_.now() + cn.echo->requested_delay());
      }
      send_out(id, out, !keep);
    }
  };
  cb.on_peer_fin = [this, id] {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    if (it->second->echo && it->second->echo->pending()) {
      // A request is held for its calls: answer it, then close.
      it->second->close_after_answer = true;
      return;
    }
    // Finish whatever is queued, then close our side too.
    Duration at = std::max(sim_.now(), it->second->next_send);
    sim_.schedule_at(at, actor_, k_, [this, id] {
      auto it2 = conns_.find(id);
      if (it2 == conns_.end()) return;
      net_.close(TcpSocket{id});
      conns_.erase(it2);
    });
  };
  cb.on_reset = [this, id](ResetReason) { conns_.erase(id); };
  return cb;
}

// ================================================ calls of server apps ===

// The echo session's deferred hook: every request of an app with calls is
// held until its calls are done.
bool ServerApp::hold_request(void* conn, const proxy::http::Request& req) {
  auto* c = static_cast<Conn*>(conn);
  ServerApp& app = *c->app;
  auto h = std::make_unique<Handling>();
  h->id = ++app.next_handling_;
  h->conn = c->id;
  h->inbound_connection = c->network;
  h->inbound_connection_request = ++c->requests;
  h->method = req.method;
  h->path = req.target;
  h->host = std::string(req.host());
  h->request_id = std::string(req.headers.get("x-request-id").value_or(""));
  h->prop = apps::propagate_headers(app.propagate_, req.headers);
  for (const auto& n : h->prop.carried) h->carried.push_back(n);
  for (const auto& n : h->prop.forwarded) h->forwarded.push_back(n);
  for (const auto& n : h->prop.dropped) h->dropped.push_back(n);
  uint64_t id = h->id;
  app.handlings_[id] = std::move(h);
  // Start from the event loop, not from inside the session's parse.
  app.sim_.schedule_at(app.sim_.now(), app.actor_, app.k_call_, [a = &app, id] { a->next_call(id); });
  return true;
}

void ServerApp::next_call(uint64_t hid) {
  auto it = handlings_.find(hid);
  if (it == handlings_.end()) return;
  Handling& h = *it->second;
  if (h.call >= calls_.size()) {
    answer(hid);
    return;
  }
  attempt(h);
}

void ServerApp::attempt(Handling& h) {
  const AppCall& c = calls_[h.call];
  ++h.attempt;
  ++calls_made_;
  h.in_flight = true;
  h.started = sim_.now();
  h.upstream = 0;
  h.connection = 0;
  h.connection_request = 0;
  h.local.clear();
  uint64_t hid = h.id;
  int att = h.attempt;
  h.timeout = sim_.schedule_after(c.timeout, actor_, k_call_timeout_, [this, hid, att] {
    auto it = handlings_.find(hid);
    if (it == handlings_.end() || !it->second->in_flight || it->second->attempt != att) return;
    Handling& hh = *it->second;
    int64_t ms = (sim_.now() - hh.started).ns() / 1'000'000;
    const AppCall& cc = calls_[hh.call];
    std::string err = "curl: (28) Failed to connect to " + cc.host + " port " + std::to_string(cc.port) + " after " +
                      std::to_string(ms) + " ms: Timeout was reached";
    if (auto u = upstreams_.find(hh.upstream); u != upstreams_.end()) {
      u->second->http.on_timeout(ms);
      if (u->second->connected) err = u->second->http.outcome().curl_error;
      drop_upstream(hh.upstream);  // a timed-out connection is not reused
    }
    call_done(hid, AppOutcomeObservation::Outcome::kTimeout, 0, err);
  });
  // A keep-alive connection to the same target that is idle carries the call.
  for (auto& [uid, u] : upstreams_) {
    if (u->host == c.host && u->port == c.port && u->connected && u->handling == 0 && u->socket) {
      u->handling = hid;
      h.upstream = uid;
      h.connection = u->connection;
      h.local = u->local;
      send_call(*u, h);
      return;
    }
  }
  SocketAddress addr;
  if (auto ip = parse_ipv4(c.host); ip.ok()) {
    addr = {*ip, c.port};
  } else {
    auto a = net_.dns().resolve(c.host, pod_.ns);
    if (!a.found || a.addresses.empty()) {
      std::string err = "curl: (6) Could not resolve host: " + c.host;
      sim_.schedule_at(sim_.now(), actor_, k_call_, [this, hid, err] {
        call_done(hid, AppOutcomeObservation::Outcome::kDnsError, 0, err);
      });
      return;
    }
    addr = {a.addresses.front(), c.port};
  }
  auto up = std::make_unique<Upstream>(c.host, c.port);
  uint64_t uid = ++next_upstream_;
  up->id = uid;
  up->handling = hid;
  up->opened = sim_.now();
  ++call_connections_;
  // The response (or its failure) of the attempt an upstream carries.
  auto finish_attempt = [this, uid](bool closed, bool reset) {
    auto it = upstreams_.find(uid);
    if (it == upstreams_.end()) return;
    Upstream& u = *it->second;
    uint64_t hid2 = u.handling;
    auto hit = handlings_.find(hid2);
    int64_t ms = hit == handlings_.end() ? 0 : (sim_.now() - hit->second->started).ns() / 1'000'000;
    if (closed) u.http.on_closed(reset, ms);
    const apps::HttpOutcome& o = u.http.outcome();
    int st = o.status;
    AppOutcomeObservation::Outcome oc = AppOutcomeObservation::Outcome::kOk;
    std::string err;
    if (st == 0) {
      oc = AppOutcomeObservation::Outcome::kReset;
      err = o.curl_error;
    } else if (st == 403 && o.response.body.find("RBAC: access denied") != std::string::npos) {
      oc = AppOutcomeObservation::Outcome::kDenied;
    } else if (st >= 400) {
      oc = AppOutcomeObservation::Outcome::kHttpError;
    }
    u.handling = 0;
    if (closed || st == 0 || !o.response.keep_alive()) {
      if (!reset && u.socket) net_.close(u.socket);
      u.socket = {};
      upstreams_.erase(it);  // `u` is gone from here on
    }
    if (hid2) call_done(hid2, oc, st, err);
  };
  TcpCallbacks cb;
  cb.on_connected = [this, uid] {
    auto it = upstreams_.find(uid);
    if (it == upstreams_.end()) return;
    Upstream& u = *it->second;
    u.connected = true;
    auto h2 = handlings_.find(u.handling);
    if (h2 != handlings_.end()) send_call(u, *h2->second);
  };
  cb.on_data = [this, uid, finish_attempt](std::span<const uint8_t> b) {
    auto it = upstreams_.find(uid);
    if (it == upstreams_.end() || it->second->handling == 0) return;
    if (!it->second->http.on_data(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()))) return;
    finish_attempt(false, false);
  };
  cb.on_peer_fin = [this, uid, finish_attempt] {
    auto it = upstreams_.find(uid);
    if (it == upstreams_.end()) return;
    if (it->second->handling == 0) {  // an idle pooled connection the peer closed
      drop_upstream(uid);
      return;
    }
    finish_attempt(true, false);
  };
  cb.on_reset = [this, uid, finish_attempt](ResetReason) {
    auto it = upstreams_.find(uid);
    if (it == upstreams_.end()) return;
    it->second->socket = {};
    if (it->second->handling == 0) {
      upstreams_.erase(it);
      return;
    }
    finish_attempt(true, true);
  };
  cb.on_connect_failed = [this, uid](ConnectError e) {
    auto it = upstreams_.find(uid);
    if (it == upstreams_.end()) return;
    Upstream& u = *it->second;
    u.socket = {};
    uint64_t hid2 = u.handling;
    int err = e == ConnectError::kRefused ? 111 : e == ConnectError::kTimeout ? 110 : 113;
    u.http.on_connect_failed(err, (sim_.now() - u.opened).ns() / 1'000'000);
    std::string text = u.http.outcome().curl_error;
    upstreams_.erase(it);
    call_done(hid2, e == ConnectError::kTimeout ? AppOutcomeObservation::Outcome::kTimeout
                                                : AppOutcomeObservation::Outcome::kRefused,
              0, text);
  };
  upstreams_[uid] = std::move(up);
  TcpSocket sock = net_.connect(pod_.host, addr, ConnectOptions{}, std::move(cb));
  // Look both up again: a failure reported from inside connect() would have
  // finished the attempt already.
  auto uit = upstreams_.find(uid);
  if (uit == upstreams_.end() || !handlings_.count(hid)) return;
  Upstream& u = *uit->second;
  u.socket = sock;
  if (auto info = net_.info(u.socket)) {
    u.connection = info->connection;
    u.local = to_string(info->local);
  }
  h.upstream = uid;
  h.connection = u.connection;
  h.local = u.local;
}

void ServerApp::send_call(Upstream& u, Handling& h) {
  const AppCall& c = calls_[h.call];
  proxy::http::Request& req = u.req;
  req.clear();
  req.method = c.method;
  req.target = c.path;
  // Host as an HTTP client library writes it for the URL http://host:port/path.
  u.out.assign(c.host);
  if (c.port != 80) u.out.append(":").append(std::to_string(c.port));
  req.headers.add("Host", u.out);
  for (const auto& [name, value] : h.prop.headers) req.headers.add(name, value);
  u.out.clear();
  h.connection_request = ++u.requests;
  u.http.send(req, u.out);
  net_.send(u.socket, {reinterpret_cast<const uint8_t*>(u.out.data()), u.out.size()});
}

void ServerApp::drop_upstream(uint64_t uid) {
  auto it = upstreams_.find(uid);
  if (it == upstreams_.end()) return;
  if (it->second->socket) net_.reset(it->second->socket);
  upstreams_.erase(it);
}

void ServerApp::call_done(uint64_t hid, AppOutcomeObservation::Outcome o, int status, const std::string& error) {
  auto it = handlings_.find(hid);
  if (it == handlings_.end() || !it->second->in_flight) return;
  Handling& h = *it->second;
  h.in_flight = false;
  sim_.cancel(h.timeout);
  const AppCall& c = calls_[h.call];
  std::string target = c.target();
  AppCallObservation ob;
  ob.pod = pod_key_;
  ob.workload = pod_.workload.empty() ? std::string_view(pod_.pod) : std::string_view(pod_.workload);
  ob.server_port = port_;
  ob.inbound_request = h.id;
  ob.inbound_method = h.method;
  ob.inbound_path = h.path;
  ob.inbound_request_id = h.request_id;
  ob.target = target;
  ob.path = c.path;
  ob.call_index = static_cast<uint32_t>(h.call);
  ob.attempt = static_cast<uint32_t>(h.attempt);
  ob.carried = h.carried;
  ob.forwarded = h.forwarded;
  ob.dropped = h.dropped;
  ob.propagation = propagate_.text;
  ob.outcome = o;
  ob.http_status = status;
  ob.error = error;
  ob.latency_ns = (sim_.now() - h.started).ns();
  ob.connection = h.connection;
  ob.connection_request = h.connection_request;
  ob.inbound_connection = h.inbound_connection;
  ob.inbound_connection_request = h.inbound_connection_request;
  ob.local = h.local;
  uint64_t digest = hash_combine(fnv1a64(target), fnv1a64(c.path));
  digest = hash_combine(digest, hash_combine(static_cast<uint64_t>(o), static_cast<uint64_t>(status)));
  for (std::string_view n : h.forwarded) digest = hash_combine(digest, fnv1a64(n));
  sim_.publish(actor_, k_call_, digest, ob);

  bool ok = status >= 200 && status < 300;
  if (h.attempt == 1) h.summary.append("Call=").append(c.method).append(" ").append(target).append(c.path);
  h.summary.append(" ").append(status > 0 ? std::to_string(status) : std::string(to_string(o)));
  if (!ok && h.attempt < c.attempts) {
    attempt(h);
    return;
  }
  h.summary.append("\n");
  if (!ok && c.on_error == AppCall::OnError::kFail) {
    h.failed = true;
    answer(hid);
    return;
  }
  ++h.call;
  h.attempt = 0;
  next_call(hid);
}

// The held request's answer once its calls are done: 200 (500 when a call
// with onError: fail failed), or the app's configured error / fixed body.
void ServerApp::answer(uint64_t hid) {
  auto it = handlings_.find(hid);
  if (it == handlings_.end()) return;
  std::unique_ptr<Handling> h = std::move(it->second);
  handlings_.erase(it);
  sim_.cancel(h->timeout);
  auto c = conns_.find(h->conn);
  if (c == conns_.end() || !c->second->echo || !c->second->echo->pending()) return;  // the client went away
  Conn& cn = *c->second;
  proxy::http::Response r;
  r.status = h->failed ? 500 : 200;
  r.headers.set("content-type", "text/plain");
  if (o_.error_rate > 0 && rng_.bernoulli(o_.error_rate)) {
    r.status = o_.error_status;
    r.body = "simulated error\n";
  } else if (o_.body_bytes >= 0) {
    r.body.assign(static_cast<size_t>(o_.body_bytes), 'x');
  } else {
    r.body.append("ServiceVersion=").append(pod_.version).append("\n");
    r.body.append("Host=").append(h->host).append("\n");
    r.body.append("URL=").append(h->path).append("\n");
    r.body.append("Method=").append(h->method).append("\n");
    r.body.append(h->summary);
    r.body.append("Hostname=").append(pod_.pod).append("\n");
  }
  std::string out;
  bool keep = cn.echo->complete(r, out);
  if (o_.latency.a > Duration::zero() || o_.latency.b > Duration::zero()) {
    cn.next_send = std::max(cn.next_send, sim_.now() + o_.latency.sample(rng_));
  }
  bool close = !keep || (cn.close_after_answer && !cn.echo->pending());
  send_out(h->conn, out, close);
}

}  // namespace meshsim::sim

namespace meshsim::sim {

// ======================================================== client apps ===

namespace {

size_t count_lines(std::string_view s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

// A payload of whole lines is answered line by line (an echo server returns
// each line, Istio's tcp-echo returns it with a prefix): the reply is
// complete with as many lines. Other payloads come back byte for byte.
bool tcp_reply_complete(std::string_view payload, std::string_view reply) {
  if (!payload.empty() && payload.back() == '\n') return count_lines(reply) >= count_lines(payload);
  return reply.size() >= payload.size();
}

// Whether `reply` echoes `payload`: byte for byte, or, for whole lines, each
// reply line ending with the line sent (a prefix is allowed).
bool tcp_reply_echoes(std::string_view payload, std::string_view reply) {
  if (payload.empty() || payload.back() != '\n') return reply.substr(0, payload.size()) == payload;
  while (!payload.empty()) {
    size_t a = payload.find('\n'), b = reply.find('\n');
    if (b == std::string_view::npos) return false;
    std::string_view sent = payload.substr(0, a), got = reply.substr(0, b);
    if (got.size() < sent.size() || got.substr(got.size() - sent.size()) != sent) return false;
    payload.remove_prefix(a + 1);
    reply.remove_prefix(b + 1);
  }
  return true;
}

struct ClientApp::Worker {
  int index = 0;
  TcpSocket socket;
  bool connected = false;
  bool busy = false;         // an attempt is in progress
  bool tls_done = false;
  std::unique_ptr<tls::TlsSession> tls;
  std::unique_ptr<apps::HttpClientSession> http;
  std::unique_ptr<mysql::ClientSession> mysql;
  std::string tcp_reply;
  Duration started;
  EventId timeout;
  uint64_t connection = 0;
  std::string host_for_errors;
  uint16_t port = 0;
  uint64_t generation = 0;       // bumps per attempt; stale attempt timeouts are ignored
  uint64_t conn_generation = 0;  // bumps per connection; callbacks of older sockets are ignored
  proxy::http::Request req;      // reused request message and output buffer
  std::string out;
  int grpc_status = -1;          // the attempt's gRPC status (grpc clients)
};

ClientApp::ClientApp(Simulator& sim, Network& net, AppPodInfo pod, std::string name, ClientRequestSpec spec,
                     ClientSchedule schedule)
    : sim_(sim),
      net_(net),
      pod_(std::move(pod)),
      name_(std::move(name)),
      spec_(std::move(spec)),
      sched_(schedule),
      actor_(sim.actor("client/" + name_)),
      k_start_(sim.kind("app.request")),
      k_outcome_(sim.kind("app.outcome")),
      k_timeout_(sim.kind("app.timeout")) {}

ClientApp::~ClientApp() {
  stop();
}

void ClientApp::start() {
  if (spec_.tls.enabled && !tls_ctx_) {
    tls::TlsContextConfig c;
    c.role = tls::TlsRole::kClient;
    c.name = "app-tls/" + name_;
    c.identity = spec_.tls.identity;
    c.trusted_roots = spec_.tls.roots;
    c.alpn = spec_.tls.alpn;
    c.sni = spec_.tls.sni;
    auto made = tls::TlsContext::create(std::move(c));
    if (made.ok()) tls_ctx_ = *made;
  }
  int n = std::max(1, sched_.concurrency);
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    workers_.push_back(std::move(w));
  }
  Duration first = std::max(sim_.now(), sched_.start);
  for (int i = 0; i < n; ++i) {
    Duration at = first;
    if (sched_.interval > Duration::zero() && n > 1) at = first + sched_.interval * i / n;
    sim_.schedule_at(at, actor_, k_start_, [this, i] { launch(i); });
  }
}

void ClientApp::stop() {
  stopped_ = true;
  for (auto& w : workers_) {
    if (w->socket) net_.close(w->socket);
    w->socket = {};
    sim_.cancel(w->timeout);
  }
}

bool ClientApp::resolve(SocketAddress* out, std::string* host_for_errors, std::string* error) {
  std::string t = spec_.target;
  if (t.rfind("http://", 0) == 0) t = t.substr(7);
  else if (t.rfind("https://", 0) == 0) t = t.substr(8);
  size_t slash = t.find('/');
  if (slash != std::string::npos) t = t.substr(0, slash);
  size_t colon = t.rfind(':');
  std::string host = colon == std::string::npos ? t : t.substr(0, colon);
  uint16_t port = 80;
  if (colon != std::string::npos) {  // validated by the scenario loader; never throws here
    uint32_t v = 0;
    std::from_chars(t.data() + colon + 1, t.data() + t.size(), v);
    port = static_cast<uint16_t>(v);
  }
  else if (spec_.protocol == "mysql") port = 3306;
  else if (spec_.target.rfind("https://", 0) == 0) port = 443;
  *host_for_errors = host;
  if (auto ip = parse_ipv4(host); ip.ok()) {
    *out = {*ip, port};
    return true;
  }
  auto a = net_.dns().resolve(host, pod_.ns);
  if (!a.found || a.addresses.empty()) {
    *error = host;
    return false;
  }
  *out = {a.addresses.front(), port};
  return true;
}

void ClientApp::launch(int wi) {
  Worker& w = *workers_[static_cast<size_t>(wi)];
  if (stopped_ || w.busy) return;
  if (sched_.count >= 0 && launched_ >= static_cast<uint64_t>(sched_.count)) return;
  if (sim_.now() > sched_.stop) return;
  ++launched_;
  w.busy = true;
  w.started = sim_.now();
  uint64_t gen = ++w.generation;
  // A keep-alive HTTP connection that is still up carries the next request
  // without a new name lookup (curl reuses the connection for the same host).
  bool reuse = w.socket && w.connected && (spec_.protocol == "http" || spec_.protocol == "grpc");
  w.grpc_status = -1;
  SocketAddress addr;
  if (!reuse) {
    std::string err_host;
    if (!resolve(&addr, &w.host_for_errors, &err_host)) {
      // Each client's own words for a name the cluster DNS does not know.
      std::string port = spec_.target.substr(spec_.target.rfind(':') + 1);
      std::string e = spec_.protocol == "mysql" ? "ERROR 2005 (HY000): Unknown MySQL server host '" + err_host + "' (-2)"
                      : spec_.protocol == "http"
                          ? "curl: (6) Could not resolve host: " + err_host
                          : "nc: getaddrinfo for host \"" + err_host + "\" port " + port + ": Name or service not known";
      finish(w, AppOutcomeObservation::Outcome::kDnsError, 0, e);
      return;
    }
    w.port = addr.port;
    w.http.reset();  // a new connection: a fresh HTTP client session
  }
  // A per-attempt deadline (curl --max-time, the mysql client's connect timeout).
  w.timeout = sim_.schedule_after(spec_.timeout, actor_, k_timeout_, [this, wi, gen] {
    Worker& ww = *workers_[static_cast<size_t>(wi)];
    if (ww.generation != gen || !ww.busy) return;
    int64_t ms = (sim_.now() - ww.started).ns() / 1'000'000;
    if (ww.mysql) {
      ww.mysql->on_timeout();
      if (ww.socket) net_.reset(ww.socket);
      ww.socket = {};
      finish(ww, AppOutcomeObservation::Outcome::kTimeout, 0, ww.mysql->error());
      return;
    }
    if (ww.socket) net_.reset(ww.socket);
    ww.socket = {};
    ww.connected = false;
    if (ww.http) {
      ww.http->on_timeout(ms);
      ww.grpc_status = ww.http->outcome().grpc_status;
      finish(ww, AppOutcomeObservation::Outcome::kTimeout, 0, ww.http->outcome().curl_error);
      return;
    }
    finish(ww, AppOutcomeObservation::Outcome::kTimeout, 0,
           "connection to " + ww.host_for_errors + ":" + std::to_string(ww.port) + " timed out after " +
               std::to_string(ms) + " ms");
  });

  auto send_plain = [this, wi](std::string_view plain) {
    Worker& ww = *workers_[static_cast<size_t>(wi)];
    if (!ww.socket) return;
    if (ww.tls) {
      if (!plain.empty()) ww.tls->write({reinterpret_cast<const uint8_t*>(plain.data()), plain.size()});
      auto p = ww.tls->pending_output();
      if (!p.empty()) {
        net_.send(ww.socket, p);
        ww.tls->consume_output(p.size());
      }
    } else if (!plain.empty()) {
      net_.send(ww.socket, {reinterpret_cast<const uint8_t*>(plain.data()), plain.size()});
    }
  };

  auto start_request = [this, wi, send_plain] {
    Worker& ww = *workers_[static_cast<size_t>(wi)];
    if (spec_.protocol == "http") {
      // Reused per worker: the request message, the output buffer, the session.
      proxy::http::Request& req = ww.req;
      req.clear();
      req.method = spec_.method;
      req.target = spec_.paths.empty() ? spec_.path : spec_.paths[next_path_++ % spec_.paths.size()];
      if (spec_.host_header.empty()) {
        ww.out.assign(ww.host_for_errors);
        if (ww.port != 80) ww.out.append(":").append(std::to_string(ww.port));
        req.headers.add("Host", ww.out);
      } else {
        req.headers.add("Host", spec_.host_header);
      }
      req.headers.add("User-Agent", "curl/8.5.0");
      req.headers.add("Accept", "*/*");
      // curl -H: a header curl sets itself (Host, User-Agent, Accept) is
      // replaced, or removed by an empty value; others are added.
      for (const auto& [k, v] : spec_.headers) {
        bool internal = proxy::http::iequals(k, "host") || proxy::http::iequals(k, "user-agent") ||
                        proxy::http::iequals(k, "accept");
        if (internal && v.empty()) req.headers.remove(k);
        else if (internal) req.headers.set(k, v);
        else req.headers.add(k, v);
      }
      if (!spec_.keep_alive) req.headers.add("Connection", "close");
      req.body = spec_.body;
      ww.out.clear();
      if (!ww.http) ww.http = std::make_unique<apps::HttpClientSession>(ww.host_for_errors, ww.port);
      else ww.http->retarget(ww.host_for_errors, ww.port);
      ww.http->send(req, ww.out);
      send_plain(ww.out);
    } else if (spec_.protocol == "grpc") {
      // A unary call as grpc-go makes it over h2c: POST /service/method,
      // content-type application/grpc, te: trailers, one length-prefixed
      // message (HealthCheckRequest{service} or EchoRequest{message}).
      proxy::http::Request& req = ww.req;
      req.clear();
      req.method = "POST";
      req.target = "/" + spec_.grpc_service + "/" + spec_.grpc_method;
      ww.out.assign(ww.host_for_errors).append(":").append(std::to_string(ww.port));
      req.headers.add("host", spec_.host_header.empty() ? ww.out : spec_.host_header);
      req.headers.add("content-type", "application/grpc");
      req.headers.add("user-agent", "grpc-go/1.60.1");
      req.headers.add("te", "trailers");
      for (const auto& [k, v] : spec_.headers) req.headers.add(k, v);
      std::string message;
      if (!spec_.grpc_message.empty()) proxy::http::grpc::append_bytes_field(1, spec_.grpc_message, message);
      proxy::http::grpc::append_frame(message, req.body);
      ww.out.clear();
      if (!ww.http) ww.http = std::make_unique<apps::HttpClientSession>(ww.host_for_errors, ww.port, /*grpc=*/true);
      else ww.http->retarget(ww.host_for_errors, ww.port);
      ww.http->send(req, ww.out);
      send_plain(ww.out);
      if (!ww.http->waiting()) {
        ww.grpc_status = ww.http->outcome().grpc_status;
        finish(ww, AppOutcomeObservation::Outcome::kReset, 0, ww.http->outcome().curl_error);
      }
    } else if (spec_.protocol == "tcp") {
      ww.tcp_reply.clear();
      send_plain(spec_.tcp_payload);
    }
    // mysql: the server speaks first.
  };

  auto on_app_bytes = [this, wi, send_plain](std::string_view plain) {
    Worker& ww = *workers_[static_cast<size_t>(wi)];
    if (!ww.busy) return;
    if (spec_.protocol == "grpc" && ww.http) {
      bool done = ww.http->on_data(plain);
      ww.out.clear();
      ww.http->take_output(ww.out);
      send_plain(ww.out);
      if (!done) return;
      const auto& o = ww.http->outcome();
      last_.response = o.response;
      ww.grpc_status = o.grpc_status;
      AppOutcomeObservation::Outcome oc = o.grpc_status == 0   ? AppOutcomeObservation::Outcome::kOk
                                          : o.grpc_status == 7 ? AppOutcomeObservation::Outcome::kDenied
                                          : o.status == 0      ? AppOutcomeObservation::Outcome::kReset
                                                               : AppOutcomeObservation::Outcome::kHttpError;
      finish(ww, oc, o.status, o.curl_error);
      return;
    }
    if (spec_.protocol == "http" && ww.http) {
      if (!ww.http->on_data(plain)) return;
      const auto& o = ww.http->outcome();
      last_.response = o.response;  // copy-assign: reuses last_'s buffers
      int st = o.status;
      AppOutcomeObservation::Outcome oc = AppOutcomeObservation::Outcome::kOk;
      if (st == 403 && o.response.body.find("RBAC: access denied") != std::string::npos) {
        oc = AppOutcomeObservation::Outcome::kDenied;
      } else if (st >= 400) {
        oc = AppOutcomeObservation::Outcome::kHttpError;
      }
      bool keep = spec_.keep_alive && o.response.keep_alive();
      if (!keep && ww.socket) {
        net_.close(ww.socket);
        ww.socket = {};
        ww.connected = false;
      }
      finish(ww, oc, st, st >= 400 ? o.response.body : std::string());
    } else if (spec_.protocol == "mysql" && ww.mysql) {
      std::string out;
      ww.mysql->on_data(plain, out);
      send_plain(out);
      if (ww.mysql->finished()) {
        last_.mysql_rows = ww.mysql->rows();
        bool ok = ww.mysql->succeeded();
        if (ww.socket) net_.close(ww.socket);
        ww.socket = {};
        ww.connected = false;
        int code = ww.mysql->error_code();
        auto oc = ok ? AppOutcomeObservation::Outcome::kOk
                     : (code == 1045 ? AppOutcomeObservation::Outcome::kDenied : AppOutcomeObservation::Outcome::kReset);
        finish(ww, oc, 0, ww.mysql->error());
      }
    } else if (spec_.protocol == "tcp") {
      ww.tcp_reply += plain;
      if (tcp_reply_complete(spec_.tcp_payload, ww.tcp_reply)) {
        last_.tcp_reply = ww.tcp_reply;
        if (ww.socket) net_.close(ww.socket);
        ww.socket = {};
        ww.connected = false;
        bool same = tcp_reply_echoes(spec_.tcp_payload, ww.tcp_reply);
        finish(ww, AppOutcomeObservation::Outcome::kOk, 0,
               same ? std::string() : "reply differs from what was sent (" + std::to_string(ww.tcp_reply.size()) +
                                          " bytes)");
      }
    }
  };

  if (reuse) {  // keep-alive reuse
    last_.connection = w.connection;
    start_request();
    return;
  }
  if (spec_.protocol == "mysql") {
    mysql::ClientConfig mc = spec_.mysql;
    mc.host = w.host_for_errors;
    mc.port = w.port;
    w.mysql = std::make_unique<mysql::ClientSession>(mc);
  }
  w.tls.reset();
  if (tls_ctx_) {
    tls::SessionOptions so;
    w.tls = std::make_unique<tls::TlsSession>(tls_ctx_, so);
  }
  ConnectOptions co;
  co.connect_timeout = spec_.connect_timeout;
  uint64_t cgen = ++w.conn_generation;
  TcpCallbacks cb;
  cb.on_connected = [this, wi, cgen, start_request, send_plain] {
    Worker& ww = *workers_[static_cast<size_t>(wi)];
    if (ww.conn_generation != cgen) return;
    ww.connected = true;
    if (spec_.protocol == "tcp-connect") {  // a TCP probe: connecting is the success
      net_.close(ww.socket);
      ww.socket = {};
      ww.connected = false;
      finish(ww, AppOutcomeObservation::Outcome::kOk, 0, "");
      return;
    }
    if (ww.tls) {
      ww.tls->start();
      send_plain("");
      return;
    }
    start_request();
  };
  cb.on_data = [this, wi, cgen, start_request, send_plain, on_app_bytes](std::span<const uint8_t> b) {
    Worker& ww = *workers_[static_cast<size_t>(wi)];
    if (ww.conn_generation != cgen) return;
    if (!ww.tls) {
      on_app_bytes(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
      return;
    }
    bool was = ww.tls->established();
    ww.tls->feed(b);
    send_plain("");
    if (ww.tls->state() == tls::HandshakeState::kFailed) {
      const auto& f = ww.tls->failure();
      std::string why = f.detail.empty() ? std::string(tls::to_string(f.reason)) : f.detail;
      if (ww.socket) net_.reset(ww.socket);
      ww.socket = {};
      ww.connected = false;
      finish(ww, AppOutcomeObservation::Outcome::kTlsError, 0,
             spec_.protocol == "http" ? "curl: (35) " + why : "TLS handshake failed: " + why);
      return;
    }
    if (!was && ww.tls->established()) {
      last_.tls_alpn = ww.tls->info().alpn;
      start_request();
    }
    std::string plain;
    uint8_t buf[16384];
    for (;;) {
      tls::IoResult r = ww.tls->read({buf, sizeof buf});
      if (r.bytes > 0) plain.append(reinterpret_cast<const char*>(buf), r.bytes);
      if (r.status == tls::IoStatus::kError) {
        const auto& f = ww.tls->failure();
        if (ww.socket) net_.reset(ww.socket);
        ww.socket = {};
        ww.connected = false;
        finish(ww, AppOutcomeObservation::Outcome::kTlsError, 0,
               (spec_.protocol == "http" ? "curl: (56) " : "TLS error: ") +
                   (f.detail.empty() ? std::string(tls::to_string(f.reason)) : f.detail));
        return;
      }
      if (r.status != tls::IoStatus::kOk || r.bytes == 0) break;
    }
    if (!plain.empty()) on_app_bytes(plain);
  };
  auto closed = [this, wi, cgen](bool reset) {
    Worker& ww = *workers_[static_cast<size_t>(wi)];
    if (ww.conn_generation != cgen) return;
    ww.socket = {};
    ww.connected = false;
    if (!ww.busy) return;
    int64_t ms = (sim_.now() - ww.started).ns() / 1'000'000;
    if (ww.mysql) {
      ww.mysql->on_closed(reset ? 104 : 0);
      finish(ww, AppOutcomeObservation::Outcome::kReset, 0, ww.mysql->error());
    } else if (ww.http) {
      ww.http->on_closed(reset, ms);
      const auto& o = ww.http->outcome();
      ww.grpc_status = o.grpc_status;
      if (o.status > 0 && !ww.http->grpc()) {
        last_.response = o.response;
        finish(ww, o.status >= 400 ? AppOutcomeObservation::Outcome::kHttpError : AppOutcomeObservation::Outcome::kOk,
               o.status, "");
      } else {
        finish(ww, AppOutcomeObservation::Outcome::kReset, 0, o.curl_error);
      }
    } else if (ww.tls && !ww.tls->established()) {
      finish(ww, AppOutcomeObservation::Outcome::kReset, 0,
             spec_.protocol == "http" ? "curl: (35) OpenSSL SSL_connect: Connection reset by peer"
                                      : "connection closed during the TLS handshake");
    } else {
      finish(ww, AppOutcomeObservation::Outcome::kReset, 0,
             reset ? "Connection reset by peer" : "connection closed by peer after " +
                                                      std::to_string(ww.tcp_reply.size()) + " bytes");
    }
  };
  cb.on_peer_fin = [this, wi, cgen, closed] {
    Worker& ww = *workers_[static_cast<size_t>(wi)];
    if (ww.conn_generation != cgen) return;
    if (ww.socket) net_.close(ww.socket);
    closed(false);
  };
  cb.on_reset = [closed](ResetReason) { closed(true); };
  cb.on_connect_failed = [this, wi, cgen](ConnectError e) {
    Worker& ww = *workers_[static_cast<size_t>(wi)];
    if (ww.conn_generation != cgen) return;
    ww.socket = {};
    int err = e == ConnectError::kRefused ? 111 : e == ConnectError::kTimeout ? 110 : 113;
    int64_t ms = (sim_.now() - ww.started).ns() / 1'000'000;
    auto oc = e == ConnectError::kTimeout ? AppOutcomeObservation::Outcome::kTimeout
                                          : AppOutcomeObservation::Outcome::kRefused;
    if (ww.mysql) {
      ww.mysql->on_connect_failed(err);
      finish(ww, oc, 0, ww.mysql->error());
    } else if (spec_.protocol == "http" || spec_.protocol == "grpc") {
      apps::HttpClientSession h(ww.host_for_errors, ww.port, spec_.protocol == "grpc");
      std::string ignored;
      h.send({}, ignored);
      h.on_connect_failed(err, ms);
      ww.grpc_status = h.outcome().grpc_status;
      finish(ww, oc, 0, h.outcome().curl_error);
    } else {
      finish(ww, oc, 0,
             std::string("connect to ") + ww.host_for_errors + ":" + std::to_string(ww.port) + " failed: " +
                 (err == 111 ? "Connection refused" : err == 110 ? "Connection timed out" : "No route to host"));
    }
  };
  w.socket = net_.connect(pod_.host, addr, co, std::move(cb));
  if (auto info = net_.info(w.socket)) w.connection = info->connection;
  last_.connection = w.connection;
}

void ClientApp::finish(Worker& w, AppOutcomeObservation::Outcome o, int status, const std::string& error) {
  if (!w.busy) return;
  w.busy = false;
  sim_.cancel(w.timeout);
  ++completed_;
  if (o == AppOutcomeObservation::Outcome::kOk) ++succeeded_;
  last_.outcome = o;
  last_.http_status = status;
  last_.grpc_status = w.grpc_status;
  last_.error = error;
  last_.latency = sim_.now() - w.started;
  last_.connection = w.connection;
  AppOutcomeObservation obs;
  obs.client = name_;
  obs.target = spec_.target;
  obs.protocol = spec_.protocol;
  obs.outcome = o;
  obs.http_status = status;
  obs.grpc_status = w.grpc_status;
  obs.error = error;
  obs.latency_ns = last_.latency.ns();
  obs.connection = w.connection;
  obs.request_index = completed_;
  uint64_t digest = hash_combine(static_cast<uint64_t>(o), static_cast<uint64_t>(status));
  if (w.grpc_status >= 0) digest = hash_combine(digest, static_cast<uint64_t>(w.grpc_status));
  sim_.publish(actor_, k_outcome_, hash_combine(digest, fnv1a64(error)), obs);
  if (on_complete_) on_complete_(last_);
  // Next request of this worker.
  if (stopped_) return;
  int wi = w.index;
  Duration next = sim_.now();
  if (sched_.interval > Duration::zero()) {
    // Open loop: this worker's next slot on the interval grid.
    Duration period = sched_.interval * std::max(1, sched_.concurrency);
    Duration base = std::max(sched_.start, Duration::zero());
    int64_t k = (sim_.now() - base).ns() / std::max<int64_t>(period.ns(), 1) + 1;
    next = base + period * k + sched_.interval * wi;
    if (next < sim_.now()) next = sim_.now();
  }
  sim_.schedule_at(next, actor_, k_start_, [this, wi] { launch(wi); });
}

}  // namespace meshsim::sim
