#include "proxy/sidecar.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "proxy/filter_chain_match.h"
#include "proxy/http/parser.h"
#include "proxy/http_inspector.h"
#include "proxy/route_match.h"

namespace meshsim::proxy {
namespace {

constexpr uint16_t kVirtualInboundPort = 15006;

std::string addr_key(const SocketAddress& a) { return to_string(a); }

uint64_t addr_bits(const SocketAddress& a) { return (static_cast<uint64_t>(a.ip.value) << 16) | a.port; }

// "a.b.c.d:port" into `out` (no allocation once out has capacity).
void format_addr(const SocketAddress& a, std::string& out) {
  char buf[24];
  char* p = buf;
  for (int i = 3; i >= 0; --i) {
    auto [e, ec] = std::to_chars(p, buf + sizeof buf, (a.ip.value >> (i * 8)) & 0xff);
    (void)ec;
    p = e;
    *p++ = i ? '.' : ':';
  }
  auto [e, ec] = std::to_chars(p, buf + sizeof buf, a.port);
  (void)ec;
  out.assign(buf, static_cast<size_t>(e - buf));
}

// Transparent hashing so maps keyed by std::string can be searched with a
// string_view without building a string.
// Back to a default SecurityInfo, keeping string/vector capacity.
void clear_security(SecurityInfo& s) {
  s.tls = s.handshake_complete = s.peer_certificate = s.resumed = false;
  s.version.clear();
  s.cipher.clear();
  s.alpn.clear();
  s.sni.clear();
  s.peer_uri_sans.clear();
  s.peer_dns_sans.clear();
  s.local_uri_san.clear();
  s.peer_subject.clear();
  s.peer_certificate_sha256.clear();
  s.failure_reason.clear();
}

// Envoy keeps one HTTP connection pool per (cluster, host, protocol): here
// the cluster object, the endpoint and the ALPN variant the connection was
// opened with.
struct PoolKey {
  const Cluster* cluster = nullptr;
  uint64_t addr = 0;
  bool http10 = false;
  bool operator==(const PoolKey&) const = default;
};
struct PoolKeyHash {
  size_t operator()(const PoolKey& k) const {
    uint64_t h = reinterpret_cast<uintptr_t>(k.cluster) * 0x9e3779b97f4a7c15ULL;
    h ^= (k.addr + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2)) ^ (k.http10 ? 0x85ebca6bULL : 0);
    return static_cast<size_t>(h);
  }
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Hop-by-hop headers Envoy removes before forwarding: connection,
// keep-alive, proxy-connection, transfer-encoding, upgrade, te.

bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2: return http::iequals(name, "te");
    case 7: return http::iequals(name, "upgrade");
    case 10: return http::iequals(name, "connection") || http::iequals(name, "keep-alive");
    case 16: return http::iequals(name, "proxy-connection");
    case 17: return http::iequals(name, "transfer-encoding");
    default: return false;
  }
}

void strip_hop_by_hop(http::Headers& h) { h.remove_if(is_hop_by_hop); }

// RFC 4122 version 4 layout, lower-case hex: 8-4-4-4-12 (36 characters).
std::string_view format_uuid(uint64_t a, uint64_t b, char (&buf)[36]) {
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  static const char* d = "0123456789abcdef";
  int pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) buf[pos++] = d[(v >> (i * 4)) & 0xf];
  };
  put(a >> 32, 8);
  buf[pos++] = '-';
  put((a >> 16) & 0xffff, 4);
  buf[pos++] = '-';
  put(a & 0xffff, 4);
  buf[pos++] = '-';
  put(b >> 48, 4);
  buf[pos++] = '-';
  put(b & 0xffffffffffffULL, 12);
  return std::string_view(buf, 36);
}

bool retry_on_has(const RetryPolicy& p, std::string_view what) {
  std::string_view s = p.retry_on;
  while (!s.empty()) {
    size_t c = s.find(',');
    std::string_view t = s.substr(0, c);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (t == what) return true;
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return false;
}

}  // namespace

// ============================================================== Impl ======

class Sidecar::Impl {
 public:
  Impl(Io& io, Options o) : io_(io), opt_(std::move(o)) {}
  ~Impl() = default;

  // ---------------------------------------------------------- snapshots --
  struct CompiledCluster {
    const Cluster* cluster = nullptr;
    std::vector<const LbEndpoint*> endpoints;
  };
  struct Snapshot {
    std::shared_ptr<const ProxyConfig> config;
    std::unordered_map<uint64_t, const Listener*> by_address;  // addr_bits(address)
    const Listener* virtual_outbound = nullptr;
    const Listener* virtual_inbound = nullptr;
    std::unordered_map<std::string, CompiledCluster, StringHash, std::equal_to<>> clusters;
    std::unordered_map<std::string, std::shared_ptr<const RouteConfiguration>, StringHash, std::equal_to<>> routes;
    // Every route configuration of the snapshot (RDS and inline), compiled once.
    std::unordered_map<const RouteConfiguration*, std::unique_ptr<CompiledRoutes>> compiled_routes;
    const CompiledRoutes* compiled(const std::shared_ptr<const RouteConfiguration>& rc) const {
      auto it = compiled_routes.find(rc.get());
      return it == compiled_routes.end() ? nullptr : it->second.get();
    }
  };

  void apply_config(std::shared_ptr<const ProxyConfig> config) {
    auto s = std::make_shared<Snapshot>();
    s->config = std::move(config);
    auto compile = [&](const std::shared_ptr<const RouteConfiguration>& rc) {
      if (rc && !s->compiled_routes.count(rc.get())) {
        s->compiled_routes.emplace(rc.get(), std::make_unique<CompiledRoutes>(rc));
      }
    };
    auto compile_chain = [&](const FilterChain& fc) {
      for (const NetworkFilter& f : fc.filters) {
        if (const auto* hcm = std::get_if<HttpConnectionManager>(&f.config)) compile(hcm->route_config);
      }
    };
    for (const Listener& l : s->config->listeners) {
      if (l.name == "virtualOutbound") s->virtual_outbound = &l;
      else if (l.name == "virtualInbound") s->virtual_inbound = &l;
      else s->by_address.emplace(addr_bits(l.address), &l);
      for (const FilterChain& fc : l.filter_chains) compile_chain(fc);
      if (l.default_filter_chain) compile_chain(*l.default_filter_chain);
    }
    for (const Cluster& c : s->config->clusters) s->clusters[c.name].cluster = &c;
    for (const ClusterLoadAssignment& cla : s->config->endpoints) {
      auto it = s->clusters.find(cla.cluster_name);
      if (it == s->clusters.end()) continue;
      for (const LbEndpoint& e : cla.endpoints) it->second.endpoints.push_back(&e);
    }
    for (const auto& r : s->config->routes) {
      s->routes[r->name] = r;
      compile(r);
    }
    bool had = snap_ != nullptr;
    snap_ = std::move(s);
    drain_changed_chains();
    if (had) repool_idle();
  }

  const ProxyConfig* config() const { return snap_ ? snap_->config.get() : nullptr; }

  // ------------------------------------------------------- connections --
  struct Conn {
    ConnId id = 0;
    bool upstream = false;
    virtual ~Conn() = default;
  };
  struct HttpStream;
  struct HttpSession;
  struct TcpSession;

  struct Downstream : Conn {
    DownstreamInfo info;
    std::shared_ptr<const Snapshot> snap;
    const Listener* listener = nullptr;
    bool inspecting = true;
    std::string peeked;
    ConnectionMatchInput match;
    bool tls_pending = false, http_pending = false;
    uint64_t inspect_timer = 0;
    TimerToken inspect_token = 0;
    const FilterChain* chain = nullptr;
    std::unique_ptr<TransportSocket> transport;
    Duration start;
    bool peer_fin = false;
    bool fin_sent = false;
    bool closed = false;
    bool draining = false;
    std::unique_ptr<TcpSession> tcp;
    std::unique_ptr<HttpSession> http;
  };

  struct Upstream : Conn {
    std::shared_ptr<const Snapshot> snap;
    std::string cluster;
    const Cluster* cluster_cfg = nullptr;
    SocketAddress address;
    std::unique_ptr<TransportSocket> transport;
    PoolKey pool_key;
    bool connected = false;
    bool established = false;
    bool closed = false;
    std::string pending;  // plaintext queued until established
    bool pending_fin = false;
    // owners (exactly one is set while in use)
    Downstream* tcp_owner = nullptr;
    HttpStream* http_owner = nullptr;
    http::ResponseParser resp_parser;
    // Pooled HTTP connection idle timeout (cluster idle_timeout, Envoy 1h):
    // one timer per connection, re-armed lazily from idle_since.
    bool idle = false;
    Duration idle_since;
    bool idle_timer_armed = false;
  };

  struct TcpSession {
    Upstream* up = nullptr;
    std::string cluster;
    std::string upstream_host;
    uint32_t flags = 0;
    uint64_t bytes_received = 0, bytes_sent = 0;
    bool down_fin = false, up_fin = false;
    std::string failure_reason;
    std::string termination;
    SecurityInfo upstream_tls;
  };

  // One request/response exchange. Objects are recycled per HTTP session
  // (reset() keeps string and message capacity), so a keep-alive request
  // allocates nothing in the engine once warmed up. Names of config objects
  // point into the snapshot the downstream connection holds.
  struct HttpStream {
    Downstream* down = nullptr;
    // The configuration this request was routed with (RDS routes and CDS
    // clusters are current per request; the listener and chain are the
    // connection's). Keeps the route and cluster objects below alive.
    std::shared_ptr<const Snapshot> snap;
    http::Request req;
    http::Response resp;
    std::string_view route_config, vhost, route_name, cluster;
    const RouteAction* action = nullptr;
    Duration start;
    Duration upstream_start;
    uint32_t flags = 0;
    uint32_t attempts = 0;
    uint32_t retries_left = 0;
    const RetryPolicy* retry = nullptr;  // never null once routed (kNoRetry when none)
    std::vector<SocketAddress> tried;
    Upstream* up = nullptr;
    SocketAddress upstream_addr;
    bool has_upstream = false;
    std::string failure_reason;   // transport failure reason of the last attempt
    std::string reset_reason;     // Envoy's reset reason text of the last attempt
    uint64_t timeout_timer = 0, per_try_timer = 0, backoff_timer = 0;
    TimerToken timeout_token = 0, per_try_token = 0, backoff_token = 0;
    SecurityInfo upstream_tls;
    bool done = false;
    bool attempt_count_header = false;
    bool request_sent = false;  // this attempt's request went upstream
    bool keep_alive = true;     // the downstream request keeps the connection open

    void reset(Downstream* d, Duration now) {
      down = d;
      snap.reset();
      req.clear();
      resp.clear();
      route_config = vhost = route_name = cluster = {};
      action = nullptr;
      start = now;
      upstream_start = Duration::zero();
      flags = attempts = retries_left = 0;
      retry = &kNoRetry;
      tried.clear();
      up = nullptr;
      has_upstream = false;
      failure_reason.clear();
      reset_reason.clear();
      timeout_timer = per_try_timer = backoff_timer = 0;
      timeout_token = per_try_token = backoff_token = 0;
      clear_security(upstream_tls);
      done = attempt_count_header = request_sent = false;
      keep_alive = true;
    }
  };
  static inline const RetryPolicy kNoRetry{};

  struct HttpSession {
    const HttpConnectionManager* hcm = nullptr;
    const CompiledRoutes* routes = nullptr;  // inline route config; nullptr = RDS
    // RDS: the compiled route config of `rds_snap` (re-resolved after a push).
    const Snapshot* rds_snap = nullptr;
    const CompiledRoutes* rds_routes = nullptr;
    http::RequestParser parser;
    std::unique_ptr<HttpStream> active;
    std::unique_ptr<HttpStream> spare;  // the previous stream, recycled
    bool close_after = false;
    // HCM idle timeout (common_http_protocol_options.idle_timeout): no active
    // stream for that long closes the connection. Lazily re-armed.
    Duration idle_since;
    bool idle_timer_armed = false;
  };

  // -------------------------------------------------------- entry points --
  void on_downstream_accepted(ConnId id, const DownstreamInfo& info) {
    auto d = std::make_unique<Downstream>();
    d->id = id;
    d->info = info;
    d->snap = snap_;
    d->start = io_.now();
    ++stats_.downstream_cx_total;
    ++stats_.downstream_cx_active;
    Downstream* dp = d.get();
    conns_[id] = std::move(d);
    if (!dp->snap) {
      reject(*dp, "no configuration");
      return;
    }
    dp->listener = pick_listener(*dp->snap, info);
    if (!dp->listener) {
      reject(*dp, "no listener");
      return;
    }
    dp->match.destination = info.original_destination;
    // Listener filters: which inspectors run for this destination port.
    uint16_t port = info.original_destination.port;
    for (const ListenerFilter& f : dp->listener->listener_filters) {
      if (f.disabled.disabled_for(port)) continue;
      if (f.name == kTlsInspectorFilter) dp->tls_pending = true;
      if (f.name == kHttpInspectorFilter) dp->http_pending = true;
    }
    if (!dp->tls_pending) dp->match.transport_protocol = "raw_buffer";
    if (dp->tls_pending || dp->http_pending) {
      if (dp->listener->listener_filters_timeout > Duration::zero()) {
        dp->inspect_token = arm(dp->listener->listener_filters_timeout, [this, id] { inspect_timeout(id); },
                                &dp->inspect_timer);
      }
      return;  // wait for the client's first bytes
    }
    finish_inspection(*dp);
  }

  void on_data(ConnId id, std::span<const uint8_t> bytes) {
    Conn* c = find(id);
    if (!c) return;
    std::string_view data = as_chars(bytes);
    if (c->upstream) {
      upstream_data(static_cast<Upstream&>(*c), data);
      return;
    }
    Downstream& d = static_cast<Downstream&>(*c);
    if (d.inspecting) {
      d.peeked.append(data);
      run_inspectors(d);
      return;
    }
    downstream_network(d, data);
  }

  void on_peer_closed(ConnId id, CloseType how) {
    Conn* c = find(id);
    if (!c) return;
    if (c->upstream) {
      upstream_closed(static_cast<Upstream&>(*c), how);
    } else {
      downstream_closed(static_cast<Downstream&>(*c), how);
    }
  }

  void on_upstream_connected(ConnId id) {
    Conn* c = find(id);
    if (!c || !c->upstream) return;
    Upstream& u = static_cast<Upstream&>(*c);
    u.connected = true;
    if (u.transport->is_tls()) {
      out_.clear();
      u.transport->start(out_);
      flush(u.id);
      return;
    }
    u.established = true;
    upstream_ready(u);
  }

  void on_upstream_connect_failed(ConnId id, ConnectFailure why) {
    Conn* c = find(id);
    if (!c || !c->upstream) return;
    Upstream& u = static_cast<Upstream&>(*c);
    ++stats_.upstream_cx_connect_fail;
    if (why == ConnectFailure::kTimeout) ++stats_.upstream_cx_connect_timeout;
    std::string reason = why == ConnectFailure::kTimeout ? "connection timeout" : "remote connection failure";
    std::string transport = why == ConnectFailure::kTimeout
                                ? ""
                                : "delayed connect error: " + std::string(to_string(why));
    upstream_failed(u, /*connect_failure=*/true, reason, transport);
  }

  void on_timer(TimerToken token) {
    auto it = timers_.find(token);
    if (it == timers_.end()) return;
    auto fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }

  const SidecarStats& stats() const { return stats_; }
  size_t open_connections() const { return conns_.size(); }

 private:
  // ------------------------------------------------------------ helpers --
  Conn* find(ConnId id) {
    auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second.get();
  }

  TimerToken arm(Duration after, std::function<void()> fn, uint64_t* handle) {
    TimerToken t = ++next_token_;
    timers_.emplace(t, std::move(fn));
    *handle = io_.arm_timer(after, t);
    return t;
  }
  void disarm(uint64_t* handle, TimerToken token) {
    if (*handle) io_.cancel_timer(*handle);
    *handle = 0;
    timers_.erase(token);
  }

  void flush(ConnId id) {
    if (!out_.empty()) {
      io_.send(id, as_bytes(out_));
      out_.clear();
    }
  }

  const Listener* pick_listener(const Snapshot& s, const DownstreamInfo& info) {
    if (info.listener_port == kVirtualInboundPort) return s.virtual_inbound;
    // virtualOutbound hands the connection to the listener for the original
    // destination: exact IP:port, then 0.0.0.0:port; otherwise keeps it.
    auto it = s.by_address.find(addr_bits(info.original_destination));
    if (it != s.by_address.end()) return it->second;
    it = s.by_address.find(addr_bits(SocketAddress{Ipv4::any(), info.original_destination.port}));
    if (it != s.by_address.end()) return it->second;
    return s.virtual_outbound;
  }

  // ------------------------------------------------------- inspection --
  void run_inspectors(Downstream& d) {
    if (d.tls_pending) {
      ClientHelloInfo hello;
      if (opt_.transport) hello = opt_.transport->inspect_client_hello(d.peeked);
      else hello.status = ClientHelloInfo::Status::kNotTls;
      if (hello.status == ClientHelloInfo::Status::kNeedMoreBytes) return;
      d.tls_pending = false;
      if (hello.status == ClientHelloInfo::Status::kClientHello) {
        d.match.transport_protocol = "tls";
        d.match.server_name = hello.server_name;
        d.match.application_protocols = hello.alpn;
        d.http_pending = false;  // the HTTP inspector only looks at plaintext
      } else {
        d.match.transport_protocol = "raw_buffer";
      }
    }
    if (d.http_pending) {
      HttpInspection h = inspect_http(d.peeked);
      if (h.status == HttpInspection::Status::kNeedMoreBytes) return;
      d.http_pending = false;
      if (!h.protocol.empty()) d.match.application_protocols = {h.protocol};
    }
    finish_inspection(d);
  }

  void inspect_timeout(ConnId id) {
    Conn* c = find(id);
    if (!c || c->upstream) return;
    Downstream& d = static_cast<Downstream&>(*c);
    d.inspect_timer = 0;
    if (!d.inspecting) return;
    ++stats_.listener_filter_timeouts;
    if (!d.listener->continue_on_listener_filters_timeout) {
      reject(d, "listener filters timed out");
      return;
    }
    // Continue with whatever was detected: nothing, i.e. plaintext, no ALPN.
    if (d.tls_pending) d.match.transport_protocol = "raw_buffer";
    d.tls_pending = d.http_pending = false;
    finish_inspection(d);
  }

  void finish_inspection(Downstream& d) {
    d.inspecting = false;
    if (d.inspect_timer) disarm(&d.inspect_timer, d.inspect_token);
    if (d.match.transport_protocol.empty()) d.match.transport_protocol = "raw_buffer";
    FilterChainSelection sel = select_filter_chain(*d.listener, d.match);
    if (!sel.chain) {
      ++stats_.no_filter_chain_match;
      reject(d, "filter_chain_not_found");
      return;
    }
    d.chain = sel.chain;
    if (d.chain->tls) {
      if (!opt_.transport) {
        reject(d, "no TLS support");
        return;
      }
      d.transport = opt_.transport->make_server(*d.chain->tls);
    } else {
      d.transport = std::make_unique<RawTransportSocket>();
    }
    const NetworkFilter* terminal = d.chain->filters.empty() ? nullptr : &d.chain->filters.back();
    if (!terminal) {
      reject(d, "filter chain has no network filter");
      return;
    }
    if (const auto* tp = std::get_if<TcpProxy>(&terminal->config)) {
      d.tcp = std::make_unique<TcpSession>();
      start_tcp(d, *tp);
    } else {
      const auto& hcm = std::get<HttpConnectionManager>(terminal->config);
      d.http = std::make_unique<HttpSession>();
      d.http->hcm = &hcm;
      d.http->idle_since = io_.now();
      arm_downstream_idle(d, hcm.idle_timeout);
      // Inline route configurations (inbound) belong to the listener, like
      // the chain; RDS ones are looked up per request in the current
      // configuration (an RDS update applies to the next request of an open
      // connection in Envoy).
      if (hcm.route_config) d.http->routes = d.snap->compiled(hcm.route_config);
    }
    // Whatever the inspectors peeked is the first input of the transport.
    std::string first;
    first.swap(d.peeked);
    if (!first.empty() && conns_.count(d.id)) downstream_network(d, first);
  }

  // Envoy drains the connections of a filter chain that a push removed or
  // changed (Istio runs sidecars with --drain-strategy immediate): an HTTP/1
  // connection closes after its current response ("connection: close"), or at
  // once when idle; a TCP connection is closed when the drain period ends.
  // Connections on unchanged chains are untouched.
  static std::string chain_signature(const FilterChain& fc) {
    std::string sig = fc.name + "|" + std::to_string(fc.match.destination_port.value_or(0)) + "|" +
                      fc.match.transport_protocol + "|" + (fc.tls ? (fc.tls->require_client_certificate ? "mtls" : "tls") : "raw");
    for (const auto& a : fc.match.application_protocols) sig += "," + a;
    for (const auto& n : fc.match.server_names) sig += ";" + n;
    for (const auto& r : fc.match.prefix_ranges) sig += "/" + to_string(r);
    if (!fc.filters.empty()) {
      if (const auto* tp = std::get_if<TcpProxy>(&fc.filters.back().config)) {
        sig += "|tcp:" + tp->cluster;
        for (const auto& w : tp->weighted_clusters) sig += "+" + w.name;
      } else {
        const auto& h = std::get<HttpConnectionManager>(fc.filters.back().config);
        sig += "|http:" + h.route_config_name;
      }
    }
    return sig;
  }

  void drain_changed_chains() {
    std::vector<ConnId> ids;
    for (const auto& [id, c] : conns_) {
      if (!c->upstream) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    for (ConnId id : ids) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      Downstream& d = static_cast<Downstream&>(*it->second);
      if (d.inspecting || d.closed || !d.chain || !d.listener) continue;
      std::string sig = chain_signature(*d.chain);
      bool kept = false;
      for (const Listener& l : snap_->config->listeners) {
        if (l.name != d.listener->name) continue;
        for (const FilterChain& fc : l.filter_chains) kept = kept || chain_signature(fc) == sig;
        if (l.default_filter_chain) kept = kept || chain_signature(*l.default_filter_chain) == sig;
      }
      if (kept) continue;
      if (d.http) {
        d.http->close_after = true;
        if (!d.http->active) close_downstream(d, CloseType::kFin);
      } else if (d.tcp && !d.draining) {
        d.draining = true;
        ConnId cid = d.id;
        uint64_t handle = 0;
        arm(snap_->config->drain_duration, [this, cid] {
          Conn* c = find(cid);
          if (!c || c->upstream) return;
          Downstream& dd = static_cast<Downstream&>(*c);
          if (!dd.tcp || dd.closed) return;
          dd.tcp->termination = "drained after a configuration change";
          tcp_finish(dd, CloseType::kFin);
        }, &handle);
      }
    }
  }

  // Closes a connection that never reached a network filter and logs it. The
  // listener filters only peeked at the client's bytes (MSG_PEEK), so if the
  // client sent any, they are still unread in the socket and the kernel
  // answers the close with RST (curl: "(56) Recv failure: Connection reset").
  void reject(Downstream& d, std::string_view why) {
    AccessLogEntry& e = base_entry(d);
    e.response_flags = format_response_flags(kNoRouteFound);
    e.connection_termination_details = std::string(why);
    e.protocol = "tcp";
    log(e);
    close_downstream(d, d.peeked.empty() ? CloseType::kFin : CloseType::kReset);
  }

  // --------------------------------------------------- downstream bytes --
  void downstream_network(Downstream& d, std::string_view data) {
    if (!d.transport->is_tls()) {
      // raw_buffer: the bytes are the application's (no copy).
      if (d.tcp) tcp_downstream_data(d, data);
      else if (d.http) http_downstream_data(d, data);
      return;
    }
    plain_.clear();
    out_.clear();
    TransportResult r = d.transport->on_network(data, plain_, out_);
    ConnId id = d.id;
    flush(id);
    if (r == TransportResult::kFailed) {
      ++stats_.ssl_connection_error;
      downstream_transport_failed(d);
      return;
    }
    if (r == TransportResult::kEstablished) {
      ++stats_.ssl_handshake;
      if (d.transport->security().resumed) ++stats_.ssl_session_reused;
    }
    if (!plain_.empty()) {
      // Processed in place: nothing on this path reads from a downstream
      // transport again before it returns (Io never calls back synchronously).
      std::string_view app(plain_);
      if (d.tcp) tcp_downstream_data(d, app);
      else if (d.http) http_downstream_data(d, app);
    }
    if (r == TransportResult::kPeerClosed && conns_.count(id)) downstream_closed(d, CloseType::kFin);
  }

  void downstream_transport_failed(Downstream& d) {
    if (d.tcp) {
      d.tcp->termination = "downstream TLS handshake failed: " + d.transport->security().failure_reason;
      tcp_finish(d, CloseType::kFin);
      return;
    }
    AccessLogEntry& e = base_entry(d);
    e.connection_termination_details = "TLS error: " + d.transport->security().failure_reason;
    e.response_flags = "-";
    e.protocol = "tcp";
    log(e);
    close_downstream(d, CloseType::kFin);
  }

  void send_downstream(Downstream& d, std::string_view plaintext) {
    if (!d.transport->is_tls()) {
      if (!plaintext.empty()) io_.send(d.id, as_bytes(plaintext));
      return;
    }
    out_.clear();
    d.transport->write(plaintext, out_);
    flush(d.id);
  }

  void downstream_closed(Downstream& d, CloseType how) {
    if (d.inspecting) {
      if (d.inspect_timer) disarm(&d.inspect_timer, d.inspect_token);
      AccessLogEntry& e = base_entry(d);
      e.connection_termination_details = kClosedDuringListenerFilters;
      e.response_flags = format_response_flags(kDownstreamConnectionTermination);
      e.protocol = "tcp";
      log(e);
      forget(d);
      return;
    }
    if (d.tcp) {
      if (how == CloseType::kReset) {
        d.tcp->termination = "downstream reset";
        tcp_finish(d, CloseType::kReset);
        return;
      }
      d.tcp->down_fin = true;
      d.peer_fin = true;
      Upstream* u = d.tcp->up;
      if (u && u->established) {
        out_.clear();
        u->transport->shutdown(out_);
        flush(u->id);
        io_.shutdown_write(u->id);
      } else if (u) {
        u->pending_fin = true;
      } else {
        tcp_finish(d, CloseType::kFin);
        return;
      }
      if (d.tcp->up_fin) tcp_finish(d, CloseType::kFin);
      return;
    }
    if (d.http) {
      d.peer_fin = true;
      if (d.http->active && !d.http->active->done) {
        HttpStream& s = *d.http->active;
        s.flags |= kDownstreamConnectionTermination;
        finish_stream_log(s, 0, "downstream_remote_disconnect");
        abandon_stream(s);
      }
      close_downstream(d, how == CloseType::kReset ? CloseType::kReset : CloseType::kFin);
      return;
    }
    close_downstream(d, CloseType::kFin);
  }

  void close_downstream(Downstream& d, CloseType how) {
    if (d.closed) return;
    d.closed = true;
    if (how == CloseType::kFin && d.transport && d.transport->is_tls() && d.transport->security().handshake_complete) {
      out_.clear();
      d.transport->shutdown(out_);
      flush(d.id);
    }
    io_.close(d.id, how);
    forget(d);
  }

  void forget(Conn& c) {
    if (!c.upstream) {
      Downstream& d = static_cast<Downstream&>(c);
      if (d.inspect_timer) disarm(&d.inspect_timer, d.inspect_token);
      if (stats_.downstream_cx_active > 0) --stats_.downstream_cx_active;
    }
    conns_.erase(c.id);
  }

  // ---------------------------------------------------------- clusters --
  const CompiledCluster* cluster_of(const Snapshot& s, std::string_view name) {
    auto it = s.clusters.find(name);
    return it == s.clusters.end() ? nullptr : &it->second;
  }

  // Chooses an endpoint, avoiding `avoid` (previous_hosts) when possible.
  // The pointer is valid until the next call (ORIGINAL_DST) or for the
  // snapshot's lifetime (EDS/static endpoints).
  const LbEndpoint* choose_endpoint(const CompiledCluster& cc, const Downstream& d,
                                    const std::vector<SocketAddress>* avoid) {
    const Cluster& c = *cc.cluster;
    if (c.type == DiscoveryType::kOriginalDst) {
      original_dst_endpoint_.address = d.info.original_destination;
      return &original_dst_endpoint_;
    }
    // Healthy hosts of the lowest priority level that has any (locality failover).
    std::vector<const LbEndpoint*>& pool = lb_scratch_;
    pool.clear();
    uint32_t prio = UINT32_MAX;
    for (const LbEndpoint* e : cc.endpoints) {
      if (!e->healthy) continue;
      if (e->priority < prio) {
        prio = e->priority;
        pool.clear();
      }
      if (e->priority == prio) pool.push_back(e);
    }
    if (pool.empty()) return nullptr;
    if (avoid && !avoid->empty()) {
      std::vector<const LbEndpoint*>& fresh = lb_fresh_;
      fresh.clear();
      for (const LbEndpoint* e : pool) {
        if (std::find(avoid->begin(), avoid->end(), e->address) == avoid->end()) fresh.push_back(e);
      }
      if (!fresh.empty()) pool.swap(fresh);
    }
    const LbEndpoint* pick = nullptr;
    switch (c.lb_policy) {
      case LbPolicy::kRoundRobin: {
        uint64_t& next = rr_[c.name];
        pick = pool[next++ % pool.size()];
        break;
      }
      case LbPolicy::kLeastRequest: {
        // Envoy: power of two choices among equally weighted hosts.
        const LbEndpoint* a = pool[io_.random() % pool.size()];
        const LbEndpoint* b = pool[io_.random() % pool.size()];
        auto load = [&](const LbEndpoint* e) {
          auto it = active_rq_.find(addr_bits(e->address));
          return it == active_rq_.end() ? 0u : it->second;
        };
        pick = load(b) < load(a) ? b : a;
        break;
      }
      default:
        pick = pool[io_.random() % pool.size()];
        break;
    }
    return pick;
  }

  // Which transport socket an endpoint gets: the first match whose metadata
  // criteria the endpoint satisfies, else the cluster's plain socket.
  const UpstreamTlsContext* upstream_tls_for(const Cluster& c, const LbEndpoint& e, std::string* match_name) {
    if (!c.transport_socket_matches.empty()) {
      for (const TransportSocketMatch& m : c.transport_socket_matches) {
        bool ok = true;
        for (const auto& [k, v] : m.match) {
          auto it = e.metadata.find(k);
          if (it == e.metadata.end() || it->second != v) ok = false;
        }
        if (ok) {
          *match_name = m.name;
          return m.tls ? &*m.tls : nullptr;
        }
      }
      return nullptr;
    }
    return c.tls ? &*c.tls : nullptr;
  }

  Upstream* open_upstream(const std::shared_ptr<const Snapshot>& snap, const CompiledCluster& cc,
                          const LbEndpoint& ep, const std::vector<std::string>& alpn_override,
                          const PoolKey& pool_key) {
    auto u = std::make_unique<Upstream>();
    u->upstream = true;
    u->snap = snap;
    u->cluster = cc.cluster->name;
    u->cluster_cfg = cc.cluster;
    u->address = ep.address;
    u->pool_key = pool_key;
    std::string match_name;
    const UpstreamTlsContext* tls = upstream_tls_for(*cc.cluster, ep, &match_name);
    if (tls && opt_.transport) {
      bool istio = tls->istio_mode == "ISTIO_MUTUAL";
      u->transport = opt_.transport->make_client(*tls, istio ? alpn_override : std::vector<std::string>{},
                                                 cc.cluster->name);
    } else {
      u->transport = std::make_unique<RawTransportSocket>();
    }
    u->id = io_.connect(ep.address, cc.cluster->connect_timeout, cc.cluster->upstream_bind);
    ++stats_.upstream_cx_total;
    Upstream* raw = u.get();
    conns_[u->id] = std::move(u);
    return raw;
  }

  void upstream_data(Upstream& u, std::string_view data) {
    if (!u.transport->is_tls()) {
      upstream_app_data(u, data);
      return;
    }
    plain_up_.clear();
    out_.clear();
    TransportResult r = u.transport->on_network(data, plain_up_, out_);
    ConnId id = u.id;
    flush(id);
    if (r == TransportResult::kFailed) {
      ++stats_.upstream_ssl_connection_error;
      // Envoy: the transport asks to close from the read path, which the
      // connection raises as RemoteClose — before the handshake completed
      // that is "remote connection failure" (codec_client.cc onEvent), with
      // the TLS error as the transport failure reason.
      upstream_failed(u, /*connect_failure=*/!u.established,
                      u.established ? "connection termination" : "remote connection failure",
                      "TLS_error:|" + u.transport->security().failure_reason + ":TLS_error_end");
      return;
    }
    if (r == TransportResult::kEstablished) {
      ++stats_.upstream_ssl_handshake;
      if (u.transport->security().resumed) ++stats_.upstream_ssl_session_reused;
      u.established = true;
      std::string app;
      app.swap(plain_up_);  // upstream_ready may send (and a TLS 1.3 server may answer at once)
      upstream_ready(u);
      if (!conns_.count(id)) return;
      if (!app.empty()) upstream_app_data(u, app);
    } else if (!plain_up_.empty()) {
      upstream_app_data(u, plain_up_);
    }
    if (r == TransportResult::kPeerClosed && conns_.count(id)) upstream_closed(u, CloseType::kFin);
  }

  void send_upstream(Upstream& u, std::string_view plaintext) {
    if (!u.transport->is_tls()) {
      if (!plaintext.empty()) io_.send(u.id, as_bytes(plaintext));
      return;
    }
    out_.clear();
    u.transport->write(plaintext, out_);
    flush(u.id);
  }

  void upstream_ready(Upstream& u) {
    if (u.tcp_owner) {
      Downstream& d = *u.tcp_owner;
      d.tcp->upstream_tls = u.transport->security();
      if (!u.pending.empty()) {
        std::string p;
        p.swap(u.pending);
        send_upstream(u, p);
      }
      if (u.pending_fin) {
        out_.clear();
        u.transport->shutdown(out_);
        flush(u.id);
        io_.shutdown_write(u.id);
      }
      return;
    }
    if (u.http_owner) http_upstream_ready(*u.http_owner);
  }

  void upstream_app_data(Upstream& u, std::string_view data) {
    if (u.tcp_owner) {
      Downstream& d = *u.tcp_owner;
      d.tcp->bytes_sent += data.size();
      send_downstream(d, data);
      return;
    }
    if (u.http_owner) {
      http_upstream_data(*u.http_owner, data);
      return;
    }
    // Data on an idle pooled connection: Envoy treats it as a protocol error.
    close_upstream(u, CloseType::kReset);
  }

  void upstream_closed(Upstream& u, CloseType how) {
    if (u.tcp_owner) {
      Downstream& d = *u.tcp_owner;
      if (how == CloseType::kReset) {
        d.tcp->termination = "upstream reset";
        d.tcp->flags |= kUpstreamRemoteReset;
        tcp_finish(d, CloseType::kReset);
        return;
      }
      d.tcp->up_fin = true;
      out_.clear();
      d.transport->shutdown(out_);
      flush(d.id);
      io_.shutdown_write(d.id);
      d.fin_sent = true;
      if (d.tcp->down_fin) tcp_finish(d, CloseType::kFin);
      return;
    }
    if (u.http_owner) {
      HttpStream& s = *u.http_owner;
      if (how == CloseType::kFin && u.resp_parser.mid_message()) {
        if (u.resp_parser.finish_eof() == http::ParseStatus::kComplete) {
          u.resp_parser.take_into(s.resp);
          u.http_owner = nullptr;
          close_upstream(u, CloseType::kFin);
          s.up = nullptr;
          http_response_complete(s);
          return;
        }
      }
      // Envoy's codec client: a close before the connection counted as
      // connected (TLS: before the handshake completed) is a "remote
      // connection failure"; after it, FIN or RST alike, a "connection
      // termination" (source/common/http/codec_client.cc onEvent).
      if (!u.established) {
        upstream_failed(u, true, "remote connection failure", "");
        return;
      }
      upstream_failed(u, false, "connection termination", "");
      return;
    }
    close_upstream(u, CloseType::kFin);  // idle pooled connection closed by the server
  }

  void close_upstream(Upstream& u, CloseType how) {
    if (u.closed) return;
    u.closed = true;
    if (u.idle) {
      auto it = idle_.find(u.pool_key);
      if (it != idle_.end()) {
        auto& v = it->second;
        v.erase(std::remove(v.begin(), v.end(), u.id), v.end());
      }
    }
    io_.close(u.id, how);
    conns_.erase(u.id);
  }

  void upstream_failed(Upstream& u, bool connect_failure, const std::string& reason, const std::string& transport) {
    if (u.tcp_owner) {
      Downstream& d = *u.tcp_owner;
      d.tcp->flags |= connect_failure ? kUpstreamConnectionFailure : kUpstreamConnectionTermination;
      d.tcp->failure_reason = transport;
      d.tcp->upstream_tls = u.transport->security();
      d.tcp->termination = reason;
      // Envoy keeps downstream reads disabled until the upstream connects; a
      // close with bytes the client sent still unread makes the kernel send RST.
      bool unread = connect_failure && d.tcp->bytes_received > 0;
      tcp_finish(d, unread ? CloseType::kReset : CloseType::kFin);
      return;
    }
    if (u.http_owner) {
      HttpStream& s = *u.http_owner;
      s.upstream_tls = u.transport->security();
      u.http_owner = nullptr;
      s.up = nullptr;
      close_upstream(u, CloseType::kReset);
      http_attempt_failed(s, connect_failure, reason, transport);
      return;
    }
    close_upstream(u, CloseType::kReset);
  }

  // ---------------------------------------------------------- tcp_proxy --
  void start_tcp(Downstream& d, const TcpProxy& tp) {
    TcpSession& t = *d.tcp;
    std::string cluster = tp.cluster;
    if (!tp.weighted_clusters.empty()) cluster = pick_weighted(tp.weighted_clusters);
    t.cluster = cluster;
    const CompiledCluster* cc = cluster_of(*d.snap, cluster);
    if (!cc) {
      t.flags |= kNoClusterFound;
      t.termination = "cluster not found";
      tcp_finish(d, CloseType::kFin);
      return;
    }
    if (cluster == kBlackHoleCluster) {
      t.termination = "BlackHoleCluster";
      tcp_finish(d, CloseType::kFin);
      return;
    }
    const LbEndpoint* ep = choose_endpoint(*cc, d, nullptr);
    if (!ep) {
      t.flags |= kNoHealthyUpstream;
      t.termination = "no healthy upstream";
      tcp_finish(d, CloseType::kFin);
      return;
    }
    t.upstream_host = addr_key(ep->address);
    Upstream* u = open_upstream(d.snap, *cc, *ep, {}, PoolKey{});
    u->tcp_owner = &d;
    t.up = u;
  }

  void tcp_downstream_data(Downstream& d, std::string_view data) {
    TcpSession& t = *d.tcp;
    t.bytes_received += data.size();
    if (!t.up) return;
    if (t.up->established) send_upstream(*t.up, data);
    else t.up->pending.append(data);
  }

  void tcp_finish(Downstream& d, CloseType how) {
    TcpSession& t = *d.tcp;
    AccessLogEntry& e = base_entry(d);
    e.protocol = "tcp";
    e.cluster = t.cluster;
    e.upstream_host = t.upstream_host;
    if (t.flags) e.response_flags = format_response_flags(t.flags);
    e.upstream_transport_failure_reason = t.failure_reason;
    e.connection_termination_details = t.termination;
    e.bytes_received = t.bytes_received;
    e.bytes_sent = t.bytes_sent;
    if (detailed_log()) e.upstream_tls = t.up ? t.up->transport->security() : t.upstream_tls;
    if (t.up) {
      Upstream* u = t.up;
      t.up = nullptr;
      u->tcp_owner = nullptr;
      close_upstream(*u, how);
    }
    log(e);
    close_downstream(d, how);
  }

  std::string_view pick_weighted(const std::vector<WeightedCluster>& w) {
    uint64_t total = 0;
    for (const auto& c : w) total += c.weight;
    if (total == 0) return w.front().name;
    uint64_t r = io_.random() % total;
    for (const auto& c : w) {
      if (r < c.weight) return c.name;
      r -= c.weight;
    }
    return w.back().name;
  }

  // ---------------------------------------------------------------- HTTP --
  void http_downstream_data(Downstream& d, std::string_view data) {
    HttpSession& h = *d.http;
    if (h.active) {
      h.parser.feed(data);  // a request is in flight: parse the next one after it
      return;
    }
    http_process(d, h.parser.feed_next(data));
  }

  HttpStream& new_stream(Downstream& d) {
    HttpSession& h = *d.http;
    if (h.spare) h.active = std::move(h.spare);
    else h.active = std::make_unique<HttpStream>();
    h.active->reset(&d, io_.now());
    return *h.active;
  }

  void http_process(Downstream& d) {
    if (d.http->active || d.closed) return;
    http_process(d, d.http->parser.next());
  }

  void http_process(Downstream& d, http::ParseStatus st) {
    HttpSession& h = *d.http;
    for (;;) {
      if (h.active || d.closed) return;
      if (st == http::ParseStatus::kNeedMore) return;
      if (st == http::ParseStatus::kError) {
        ++stats_.http_codec_errors;
        HttpStream& s = new_stream(d);
        s.flags |= kDownstreamProtocolError;
        h.close_after = true;
        local_reply(s, 400, "Bad Request", "codec_error:" + h.parser.error());
        return;
      }
      HttpStream& s = new_stream(d);
      h.parser.take_into(s.req);
      ++stats_.downstream_rq_total;
      http_route(s);
      if (h.active || d.closed || !conns_.count(d.id)) return;
      st = h.parser.next();
    }
  }

  void http_route(HttpStream& s) {
    Downstream& d = *s.down;
    HttpSession& h = *d.http;
    // Decided before the hop-by-hop headers (Connection) are stripped.
    s.keep_alive = s.req.keep_alive();
    if (!s.keep_alive) h.close_after = true;
    if (s.req.version == 10 && !h.hcm->accept_http_10) {
      // Envoy's HTTP/1 codec refuses HTTP/1.0 unless accept_http_10 is set.
      h.close_after = true;
      s.flags |= kDownstreamProtocolError;
      local_reply(s, 426, "", "low_version");
      return;
    }
    const CompiledRoutes* routes = h.routes;
    s.snap = h.routes ? d.snap : snap_;
    if (!routes) {
      if (h.rds_snap != snap_.get()) {
        h.rds_snap = snap_.get();
        h.rds_routes = nullptr;
        auto it = snap_->routes.find(std::string_view(h.hcm->route_config_name));
        if (it != snap_->routes.end()) h.rds_routes = snap_->compiled(it->second);
      }
      routes = h.rds_routes;
    }
    if (!routes) {
      s.flags |= kNoRouteFound;
      local_reply(s, 404, "", "route_not_found");
      return;
    }
    s.route_config = routes->config().name;
    const VirtualHost* vh = routes->match_virtual_host(s.req.host());
    if (!vh) {
      s.flags |= kNoRouteFound;
      local_reply(s, 404, "", "route_not_found");
      return;
    }
    s.vhost = vh->name;
    s.attempt_count_header = vh->include_request_attempt_count;
    const Route* route = routes->match_route(*vh, s.req);
    if (!route) {
      s.flags |= kNoRouteFound;
      local_reply(s, 404, "", "route_not_found");
      return;
    }
    s.route_name = route->name;
    if (const auto* dr = std::get_if<DirectResponse>(&route->action)) {
      local_reply(s, static_cast<int>(dr->status), dr->body, "direct_response");
      return;
    }
    const RouteAction& a = std::get<RouteAction>(route->action);
    s.action = &a;
    s.cluster = a.weighted_clusters.empty() ? std::string_view(a.cluster) : pick_weighted(a.weighted_clusters);
    if (route->fault) {
      const FaultPolicy& f = *route->fault;
      if (f.abort_http_status && io_.random() % 1'000'000 < f.abort_per_million) {
        s.flags |= kFaultInjected;
        local_reply(s, static_cast<int>(*f.abort_http_status), "fault filter abort", "fault_filter_abort");
        return;
      }
      if (f.delay && io_.random() % 1'000'000 < f.delay_per_million) {
        s.flags |= kDelayInjected;
        ConnId id = d.id;
        s.backoff_token = arm(*f.delay, [this, id] { resume_after_delay(id); }, &s.backoff_timer);
        return;
      }
    }
    http_prepare(s);
  }

  void resume_after_delay(ConnId id) {
    Conn* c = find(id);
    if (!c || c->upstream) return;
    Downstream& d = static_cast<Downstream&>(*c);
    if (!d.http || !d.http->active) return;
    d.http->active->backoff_timer = 0;
    http_prepare(*d.http->active);
  }

  void http_prepare(HttpStream& s) {
    Downstream& d = *s.down;
    const HttpConnectionManager& hcm = *d.http->hcm;
    http::Request& r = s.req;
    strip_hop_by_hop(r.headers);
    if (!r.headers.has("x-request-id")) {
      char uuid[36];
      uint64_t a = io_.random();
      uint64_t b = io_.random();
      r.headers.set("x-request-id", format_uuid(a, b, uuid));
    }
    const SecurityInfo& sec = d.transport->security();
    if (!r.headers.has("x-forwarded-proto")) r.headers.set("x-forwarded-proto", sec.tls ? "https" : "http");
    if (hcm.direction == TrafficDirection::kOutbound) {
      if (!opt_.node_id.empty()) r.headers.set("x-envoy-peer-metadata-id", opt_.node_id);
    } else if (hcm.direction == TrafficDirection::kInbound) {
      r.headers.remove("x-envoy-peer-metadata-id");
      r.headers.remove("x-envoy-peer-metadata");
    }
    // x-forwarded-client-cert: SANITIZE strips it; APPEND_FORWARD appends the
    // mTLS peer's element, and strips it when the connection is not mTLS.
    if (hcm.forward_client_cert == HttpConnectionManager::ForwardClientCert::kAppendForward && sec.tls &&
        sec.peer_certificate) {
      std::string& element = scratch_;
      element.clear();
      if (auto existing = r.headers.get("x-forwarded-client-cert")) element.append(*existing).append(",");
      element.append("By=").append(sec.local_uri_san).append(";Hash=").append(sec.peer_certificate_sha256);
      element.append(";Subject=\"").append(sec.peer_subject).append("\";URI=");
      if (!sec.peer_uri_sans.empty()) element.append(sec.peer_uri_sans.front());
      for (const std::string& dns : sec.peer_dns_sans) element.append(";DNS=").append(dns);
      r.headers.set("x-forwarded-client-cert", element);
    } else {
      r.headers.remove("x-forwarded-client-cert");
    }
    if (s.action->timeout > Duration::zero()) {
      r.headers.set("x-envoy-expected-rq-timeout-ms", std::to_string(s.action->timeout.ns() / 1'000'000));
      ConnId id = d.id;
      s.timeout_token = arm(s.action->timeout, [this, id] { http_timeout(id, false); }, &s.timeout_timer);
    }
    if (s.action->retry_policy) {
      s.retry = &*s.action->retry_policy;
      s.retries_left = s.retry->num_retries;
    }
    http_attempt(s);
  }

  void http_attempt(HttpStream& s) {
    Downstream& d = *s.down;
    const CompiledCluster* cc = cluster_of(*s.snap, s.cluster);
    if (!cc) {
      s.flags |= kNoClusterFound;
      local_reply(s, 503, "", "cluster_not_found");
      return;
    }
    if (s.cluster == kBlackHoleCluster) {
      local_reply(s, 502, "", "cluster_not_found");
      return;
    }
    const LbEndpoint* ep = choose_endpoint(*cc, d, s.retry->previous_hosts_predicate ? &s.tried : nullptr);
    if (!ep) {
      s.flags |= kNoHealthyUpstream;
      local_reply(s, 503, "no healthy upstream", "no_healthy_upstream");
      return;
    }
    ++s.attempts;
    s.request_sent = false;
    ++stats_.upstream_rq_total;
    s.tried.push_back(ep->address);
    s.upstream_addr = ep->address;
    s.has_upstream = true;
    s.upstream_start = io_.now();
    s.failure_reason.clear();
    ++active_rq_[addr_bits(s.upstream_addr)];
    // istio.alpn: the upstream ALPN by downstream protocol (filters.go Alpn).
    static const std::vector<std::string> kAlpn11 = {"istio-http/1.1", "istio", "http/1.1"};
    static const std::vector<std::string> kAlpn10 = {"istio-http/1.0", "istio", "http/1.0"};
    const std::vector<std::string>& alpn = s.req.version >= 11 ? kAlpn11 : kAlpn10;
    PoolKey key{cc->cluster, addr_bits(ep->address), s.req.version < 11};
    // Reuse an idle keep-alive connection to this host if there is one.
    auto it = idle_.find(key);
    if (it != idle_.end() && !it->second.empty()) {
      ConnId uid = it->second.back();
      it->second.pop_back();
      Upstream& u = static_cast<Upstream&>(*conns_.at(uid));
      u.idle = false;
      u.http_owner = &s;
      s.up = &u;
      http_upstream_ready(s);
      return;
    }
    Upstream* u = open_upstream(s.snap, *cc, *ep, alpn, key);
    u->http_owner = &s;
    s.up = u;
    if (s.retry->per_try_timeout > Duration::zero()) {
      ConnId id = d.id;
      s.per_try_token = arm(s.retry->per_try_timeout, [this, id] { http_timeout(id, true); }, &s.per_try_timer);
    }
  }

  // Whether `u` may serve the current configuration: its cluster is the
  // current one, or an identical one from an earlier push (then it is
  // moved to the current snapshot). Envoy keeps a cluster whose CDS update
  // changes nothing, and drains the pools of one that changed.
  bool current_cluster(Upstream& u) {
    if (!snap_ || u.snap == snap_) return true;
    auto it = snap_->clusters.find(std::string_view(u.cluster_cfg->name));
    if (it == snap_->clusters.end() || !(*it->second.cluster == *u.cluster_cfg)) return false;
    u.snap = snap_;
    u.cluster_cfg = it->second.cluster;
    u.pool_key.cluster = it->second.cluster;
    return true;
  }

  // After a push: idle pooled connections of unchanged clusters move to the
  // new pools, the others are closed.
  void repool_idle() {
    std::vector<ConnId> idle;
    for (auto& [key, ids] : idle_) idle.insert(idle.end(), ids.begin(), ids.end());
    std::sort(idle.begin(), idle.end());  // deterministic order
    idle_.clear();
    for (ConnId id : idle) {
      Conn* c = find(id);
      if (!c || !c->upstream) continue;
      Upstream& u = static_cast<Upstream&>(*c);
      if (current_cluster(u)) {
        idle_[u.pool_key].push_back(u.id);
      } else {
        u.idle = false;
        close_upstream(u, CloseType::kFin);
      }
    }
  }

  void arm_upstream_idle(Upstream& u, Duration after) {
    if (u.idle_timer_armed || u.cluster_cfg->idle_timeout <= Duration::zero()) return;
    u.idle_timer_armed = true;
    ConnId id = u.id;
    uint64_t ignored = 0;
    arm(after, [this, id] { upstream_idle_check(id); }, &ignored);
  }

  void upstream_idle_check(ConnId id) {
    Conn* c = find(id);
    if (!c || !c->upstream) return;
    Upstream& u = static_cast<Upstream&>(*c);
    u.idle_timer_armed = false;
    if (!u.idle) return;  // busy again; armed anew when it next becomes idle
    Duration timeout = u.cluster_cfg->idle_timeout;
    Duration idle_for = io_.now() - u.idle_since;
    if (idle_for >= timeout) {
      close_upstream(u, CloseType::kFin);
      return;
    }
    arm_upstream_idle(u, timeout - idle_for);
  }

  void arm_downstream_idle(Downstream& d, Duration after) {
    HttpSession& h = *d.http;
    if (h.idle_timer_armed || h.hcm->idle_timeout <= Duration::zero()) return;
    h.idle_timer_armed = true;
    ConnId id = d.id;
    uint64_t ignored = 0;
    arm(after, [this, id] { downstream_idle_check(id); }, &ignored);
  }

  void downstream_idle_check(ConnId id) {
    Conn* c = find(id);
    if (!c || c->upstream) return;
    Downstream& d = static_cast<Downstream&>(*c);
    if (!d.http || d.closed) return;
    HttpSession& h = *d.http;
    h.idle_timer_armed = false;
    if (h.active) return;  // a stream is active; re-armed when it ends
    Duration idle_for = io_.now() - h.idle_since;
    if (idle_for >= h.hcm->idle_timeout) {
      ++stats_.downstream_cx_idle_timeout;
      close_downstream(d, CloseType::kFin);
      return;
    }
    arm_downstream_idle(d, h.hcm->idle_timeout - idle_for);
  }

  void http_upstream_ready(HttpStream& s) {
    Upstream& u = *s.up;
    s.upstream_tls = u.transport->security();
    u.resp_parser.expect_head_response(s.req.method == "HEAD");
    if (s.attempt_count_header) {
      char n[12];
      auto [e, ec] = std::to_chars(n, n + sizeof n, s.attempts);
      (void)ec;
      s.req.headers.set("x-envoy-attempt-count", std::string_view(n, static_cast<size_t>(e - n)));
    }
    s.request_sent = true;
    std::string& wire = wire_;
    wire.clear();
    http::serialize(s.req, wire);
    send_upstream(u, wire);
  }

  void http_upstream_data(HttpStream& s, std::string_view data) {
    Upstream& u = *s.up;
    http::ParseStatus st = u.resp_parser.feed_next(data);
    if (st == http::ParseStatus::kNeedMore) return;
    if (st == http::ParseStatus::kError) {
      s.flags |= kUpstreamProtocolError;
      u.http_owner = nullptr;
      s.up = nullptr;
      close_upstream(u, CloseType::kReset);
      local_reply(s, 503, "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
                  "upstream_reset_before_response_started{protocol_error}");
      return;
    }
    u.resp_parser.take_into(s.resp);
    bool reusable = s.resp.keep_alive() && u.resp_parser.buffered() == 0 &&
                    (u.cluster_cfg->max_requests_per_connection != 1);
    u.http_owner = nullptr;
    s.up = nullptr;
    if (reusable && !current_cluster(u)) reusable = false;  // its cluster changed: drained
    if (reusable) {
      idle_[u.pool_key].push_back(u.id);
      u.idle = true;
      u.idle_since = io_.now();
      arm_upstream_idle(u, u.cluster_cfg->idle_timeout);
    } else {
      close_upstream(u, CloseType::kFin);
    }
    http_response_complete(s);
  }

  void release_active_rq(HttpStream& s) {
    if (!s.has_upstream) return;
    auto it = active_rq_.find(addr_bits(s.upstream_addr));
    if (it != active_rq_.end() && it->second > 0) --it->second;
  }

  void http_response_complete(HttpStream& s) {
    http::Response& r = s.resp;
    release_active_rq(s);
    if (s.per_try_timer) disarm(&s.per_try_timer, s.per_try_token);
    // Retriable status codes.
    if (s.retries_left > 0 && retry_on_has(*s.retry, "retriable-status-codes") &&
        std::find(s.retry->retriable_status_codes.begin(), s.retry->retriable_status_codes.end(),
                  static_cast<uint32_t>(r.status)) != s.retry->retriable_status_codes.end()) {
      schedule_retry(s);
      return;
    }
    if (s.retries_left > 0 && r.status >= 500 && retry_on_has(*s.retry, "5xx")) {
      schedule_retry(s);
      return;
    }
    if (s.retries_left > 0 && (r.status == 502 || r.status == 503 || r.status == 504) &&
        retry_on_has(*s.retry, "gateway-error")) {
      schedule_retry(s);
      return;
    }
    Downstream& d = *s.down;
    const HttpConnectionManager& hcm = *d.http->hcm;
    strip_hop_by_hop(r.headers);
    int64_t ms = (io_.now() - s.upstream_start).ns() / 1'000'000;
    char n[24];
    auto [e, ec] = std::to_chars(n, n + sizeof n, ms);
    (void)ec;
    r.headers.set("x-envoy-upstream-service-time", std::string_view(n, static_cast<size_t>(e - n)));
    if (!hcm.server_name.empty()) r.headers.set("server", hcm.server_name);
    if (!s.keep_alive) r.headers.set("connection", "close");
    send_response(s, "via_upstream");
  }

  void schedule_retry(HttpStream& s) {
    --s.retries_left;
    ++stats_.upstream_rq_retry;
    // Envoy's fully jittered exponential back-off: base 25 ms, cap 250 ms.
    uint32_t n = s.attempts;  // attempts made so far (>= 1)
    int64_t base = 25'000'000;
    int64_t bound = std::min<int64_t>(base * ((int64_t{1} << std::min<uint32_t>(n, 10)) - 1), 10 * base);
    Duration delay = Duration::nanos(static_cast<int64_t>(io_.random() % static_cast<uint64_t>(bound)));
    ConnId id = s.down->id;
    s.backoff_token = arm(delay, [this, id] { retry_now(id); }, &s.backoff_timer);
  }

  void retry_now(ConnId id) {
    Conn* c = find(id);
    if (!c || c->upstream) return;
    Downstream& d = static_cast<Downstream&>(*c);
    if (!d.http || !d.http->active) return;
    d.http->active->backoff_timer = 0;
    http_attempt(*d.http->active);
  }

  void http_attempt_failed(HttpStream& s, bool connect_failure, const std::string& reason,
                           const std::string& transport) {
    release_active_rq(s);
    if (s.per_try_timer) disarm(&s.per_try_timer, s.per_try_token);
    s.reset_reason = reason;
    s.failure_reason = transport;
    // Envoy RetryStateImpl::wouldRetryFromReset: reset-before-request retries
    // any reset that happened before the request went upstream (connection
    // failures included); connect-failure covers connection failures and
    // timeouts; reset and 5xx cover every reset.
    bool before_request = !s.request_sent;
    bool retriable = s.retries_left > 0 &&
                     ((connect_failure && retry_on_has(*s.retry, "connect-failure")) ||
                      (before_request && retry_on_has(*s.retry, "reset-before-request")) ||
                      retry_on_has(*s.retry, "5xx") || retry_on_has(*s.retry, "reset") ||
                      (connect_failure && retry_on_has(*s.retry, "gateway-error")));
    if (retriable) {
      schedule_retry(s);
      return;
    }
    if (connect_failure) s.flags |= kUpstreamConnectionFailure;
    else s.flags |= kUpstreamConnectionTermination;
    if (s.attempts > 1) s.flags |= kUpstreamRetryLimitExceeded;
    std::string body = "upstream connect error or disconnect/reset before headers. ";
    body += s.attempts > 1 ? "retried and the latest reset reason: " : "reset reason: ";
    body += reason;
    if (!transport.empty()) body += ", transport failure reason: " + transport;
    std::string details = "upstream_reset_before_response_started{" + reason +
                          (transport.empty() ? std::string() : "|" + transport) + "}";
    for (char& ch : details) {
      if (ch == ' ') ch = '_';
    }
    local_reply(s, 503, body, details);
  }

  void http_timeout(ConnId id, bool per_try) {
    Conn* c = find(id);
    if (!c || c->upstream) return;
    Downstream& d = static_cast<Downstream&>(*c);
    if (!d.http || !d.http->active) return;
    HttpStream& s = *d.http->active;
    if (per_try) s.per_try_timer = 0;
    else s.timeout_timer = 0;
    if (s.up) {
      Upstream* u = s.up;
      s.up = nullptr;
      u->http_owner = nullptr;
      close_upstream(*u, CloseType::kReset);
      release_active_rq(s);
    }
    if (per_try && s.retries_left > 0) {
      schedule_retry(s);
      return;
    }
    s.flags |= kUpstreamRequestTimeout;
    local_reply(s, 504, "upstream request timeout", "response_timeout");
  }

  void local_reply(HttpStream& s, int status, std::string_view body, std::string_view details) {
    http::Response& r = s.resp;
    r.clear();
    r.status = status;
    r.version = s.req.version == 10 ? 10 : 11;
    if (!body.empty()) r.headers.set("content-type", "text/plain");
    char n[24];
    auto [e, ec] = std::to_chars(n, n + sizeof n, body.size());
    (void)ec;
    r.headers.set("content-length", std::string_view(n, static_cast<size_t>(e - n)));
    r.headers.set("date", "Thu, 01 Jan 2026 00:00:00 GMT");
    std::string_view server = s.down->http->hcm ? std::string_view(s.down->http->hcm->server_name) : "envoy";
    r.headers.set("server", server.empty() ? "envoy" : server);
    r.body.assign(body);
    if (s.down->http->close_after || !s.keep_alive) r.headers.set("connection", "close");
    send_response(s, details);
  }

  void send_response(HttpStream& s, std::string_view details) {
    http::Response& r = s.resp;
    Downstream& d = *s.down;
    s.done = true;
    if (s.timeout_timer) disarm(&s.timeout_timer, s.timeout_token);
    if (s.per_try_timer) disarm(&s.per_try_timer, s.per_try_token);
    if (s.backoff_timer) disarm(&s.backoff_timer, s.backoff_token);
    int code = r.status;
    if (code >= 200 && code < 300) ++stats_.downstream_rq_2xx;
    else if (code < 400) ++stats_.downstream_rq_3xx;
    else if (code < 500) ++stats_.downstream_rq_4xx;
    else ++stats_.downstream_rq_5xx;
    uint64_t body_bytes = r.body.size();
    std::string& wire = wire_;
    wire.clear();
    http::serialize(r, wire);
    send_downstream(d, wire);
    bool close = d.http->close_after || !r.keep_alive();
    finish_stream_log(s, code, details, body_bytes);
    d.http->spare = std::move(d.http->active);  // recycled by the next request
    d.http->idle_since = io_.now();
    if (!d.http->idle_timer_armed) arm_downstream_idle(d, d.http->hcm->idle_timeout);
    if (close) {
      close_downstream(d, CloseType::kFin);
      return;
    }
    if (d.peer_fin) {
      close_downstream(d, CloseType::kFin);
      return;
    }
    http_process(d);
  }

  void finish_stream_log(HttpStream& s, int code, std::string_view details, uint64_t body_sent = 0) {
    Downstream& d = *s.down;
    if (!detailed_log()) {
      // Nobody reads the details: only what the run's fingerprint digests.
      AccessLogEntry& e = entry_;
      e.listener.assign(d.listener ? std::string_view(d.listener->name) : std::string_view());
      e.filter_chain.assign(d.chain ? std::string_view(d.chain->name) : std::string_view());
      e.cluster.assign(s.cluster);
      if (s.flags) e.response_flags = format_response_flags(s.flags);
      else e.response_flags.assign("-");
      e.response_code = code;
      e.direction = d.listener ? d.listener->direction : TrafficDirection::kUnspecified;
      e.http = true;
      log(e);
      return;
    }
    AccessLogEntry& e = base_entry(d);
    e.start_time = s.start;
    e.duration = io_.now() - s.start;
    e.http = true;
    e.protocol = s.req.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
    e.method = s.req.method;
    e.path = s.req.target;
    e.authority.assign(s.req.host());
    e.request_id.assign(s.req.headers.get("x-request-id").value_or(""));
    e.route_config.assign(s.route_config);
    e.virtual_host.assign(s.vhost);
    e.route.assign(s.route_name);
    e.cluster.assign(s.cluster);
    if (s.has_upstream) format_addr(s.upstream_addr, e.upstream_host);
    e.response_code = code;
    e.response_code_details.assign(details);
    if (s.flags) e.response_flags = format_response_flags(s.flags);
    e.upstream_transport_failure_reason = s.failure_reason;
    e.attempts = s.attempts;
    e.bytes_received = s.req.body.size();
    e.bytes_sent = body_sent;
    if (detailed_log()) e.upstream_tls = s.upstream_tls;
    log(e);
  }

  void abandon_stream(HttpStream& s) {
    if (s.timeout_timer) disarm(&s.timeout_timer, s.timeout_token);
    if (s.per_try_timer) disarm(&s.per_try_timer, s.per_try_token);
    if (s.backoff_timer) disarm(&s.backoff_timer, s.backoff_token);
    if (s.up) {
      Upstream* u = s.up;
      s.up = nullptr;
      u->http_owner = nullptr;
      close_upstream(*u, CloseType::kReset);
    }
    s.done = true;
  }

  // ---------------------------------------------------------------- logs --
  // Whether the sink shows entries to anyone (else only the fields of the
  // run fingerprint's digest matter, and the TLS facts are not copied).
  bool detailed_log() const { return opt_.access_log && opt_.access_log->wants_details(); }

  // The reusable entry, reset and filled with the connection's facts. Valid
  // until the next base_entry() call (log() hands it to the sink at once).
  AccessLogEntry& base_entry(const Downstream& d) {
    AccessLogEntry& e = entry_;
    e.start_time = d.start;
    e.duration = io_.now() - d.start;
    e.direction = d.listener ? d.listener->direction : TrafficDirection::kUnspecified;
    e.listener.assign(d.listener ? std::string_view(d.listener->name) : std::string_view());
    e.filter_chain.assign(d.chain ? std::string_view(d.chain->name) : std::string_view());
    e.route_config.clear();
    e.virtual_host.clear();
    e.route.clear();
    e.cluster.clear();
    e.upstream_host.clear();
    e.downstream_remote = d.info.remote;
    e.downstream_local = d.info.original_destination;
    e.response_flags.assign("-");
    e.upstream_transport_failure_reason.clear();
    e.connection_termination_details.clear();
    e.http = false;
    e.protocol.clear();
    e.method.clear();
    e.path.clear();
    e.authority.clear();
    e.request_id.clear();
    e.response_code = 0;
    e.response_code_details.clear();
    e.attempts = 0;
    e.bytes_received = e.bytes_sent = 0;
    clear_security(e.downstream_tls);
    clear_security(e.upstream_tls);
    if (detailed_log()) {
      if (d.transport) e.downstream_tls = d.transport->security();
      e.downstream_tls.sni = d.match.server_name;
    }
    e.transport_protocol.assign(!d.inspecting ? std::string_view(d.match.transport_protocol) : std::string_view());
    if (d.chain) {
      if (d.chain->tls) e.tls_termination.assign(d.chain->tls->require_client_certificate ? "mtls" : "tls");
      else e.tls_termination.assign(d.match.transport_protocol == "tls" ? "passthrough" : "none");
    } else {
      e.tls_termination.clear();
    }
    return e;
  }

  void log(const AccessLogEntry& e) {
    if (opt_.access_log) opt_.access_log->on_access_log(e);
  }

  Io& io_;
  Options opt_;
  std::shared_ptr<const Snapshot> snap_;
  std::unordered_map<ConnId, std::unique_ptr<Conn>> conns_;
  std::unordered_map<TimerToken, std::function<void()>> timers_;
  TimerToken next_token_ = 0;
  // pool key → idle upstream connections (most recently idle last)
  std::unordered_map<PoolKey, std::vector<ConnId>, PoolKeyHash> idle_;
  std::unordered_map<std::string, uint64_t> rr_;
  std::unordered_map<uint64_t, uint32_t> active_rq_;  // addr_bits(host) → requests in flight
  AccessLogEntry entry_;
  std::string wire_;     // scratch: serialized HTTP messages
  std::string scratch_;  // scratch: pool keys, XFCC
  std::string plain_up_;  // scratch: plaintext from an upstream transport
  LbEndpoint original_dst_endpoint_;
  std::vector<const LbEndpoint*> lb_scratch_, lb_fresh_;
  SidecarStats stats_;
  std::string out_;    // scratch: bytes to the network
  std::string plain_;  // scratch: bytes from a transport
};

// ============================================================ facade ======

Sidecar::Sidecar(Io& io, Options options) : impl_(std::make_unique<Impl>(io, std::move(options))) {}
Sidecar::~Sidecar() = default;
void Sidecar::apply_config(std::shared_ptr<const ProxyConfig> config) { impl_->apply_config(std::move(config)); }
const ProxyConfig* Sidecar::config() const { return impl_->config(); }
void Sidecar::on_downstream_accepted(ConnId id, const DownstreamInfo& info) { impl_->on_downstream_accepted(id, info); }
void Sidecar::on_data(ConnId id, std::span<const uint8_t> bytes) { impl_->on_data(id, bytes); }
void Sidecar::on_peer_closed(ConnId id, CloseType how) { impl_->on_peer_closed(id, how); }
void Sidecar::on_upstream_connected(ConnId id) { impl_->on_upstream_connected(id); }
void Sidecar::on_upstream_connect_failed(ConnId id, ConnectFailure why) { impl_->on_upstream_connect_failed(id, why); }
void Sidecar::on_timer(TimerToken token) { impl_->on_timer(token); }
const SidecarStats& Sidecar::stats() const { return impl_->stats(); }
size_t Sidecar::open_connections() const { return impl_->open_connections(); }

}  // namespace meshsim::proxy
