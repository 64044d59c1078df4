#include "sim/runtime/ztunnel.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>

#include "mesh/interception.h"
#include "mesh/policy.h"
#include "mesh/ztunnel_authz.h"
#include "proxy/base/hash.h"
#include "proxy/http/hbone.h"
#include "proxy/tls_transport.h"
#include "sim/observations/runtime.h"

namespace meshsim::sim {

const char* to_string(ZtunnelObservation::Event e) {
  switch (e) {
    case ZtunnelObservation::Event::kStarted: return "started";
    case ZtunnelObservation::Event::kStopped: return "stopped";
    case ZtunnelObservation::Event::kOutbound: return "outbound";
    case ZtunnelObservation::Event::kInbound: return "inbound";
    case ZtunnelObservation::Event::kDenied: return "denied";
    case ZtunnelObservation::Event::kFailed: return "failed";
  }
  return "?";
}

namespace {

constexpr uint16_t kOutboundPort = 15001;
constexpr uint16_t kInboundPlainPort = 15006;
constexpr uint16_t kHbonePort = 15008;

std::string addr(const SocketAddress& a) { return to_string(a); }

std::string_view bytes_view(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
// "10.244.1.5:8080" (an HBONE :authority).
std::optional<SocketAddress> parse_authority(std::string_view a) {
  auto colon = a.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto ip = parse_ipv4(a.substr(0, colon));
  if (!ip.ok()) return std::nullopt;
  unsigned port = 0;
  std::string_view p = a.substr(colon + 1);
  auto [e, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || e != p.data() + p.size() || port == 0 || port > 65535) return std::nullopt;
  return SocketAddress{*ip, static_cast<uint16_t>(port)};
}

std::span<const uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

struct Ztunnel::Impl {
  // One enrolled ambient pod: its identity and its certificate (ztunnel
  // fetches one per local workload from the CA, impersonating it).
  struct Workload {
    std::string key;  // "ns/name"
    std::string ns, name;
    std::shared_ptr<const mesh::World> origin;
    HostId host = kNoHost;
    int32_t pod_index = -1;
    std::string spiffe;
    proxy::SecretStore secrets;
    std::unique_ptr<proxy::TlsTransportFactory> tls;
    std::vector<ListenerId> listeners;
    bool pod_up = true;  // its network namespace exists (not killed)
  };

  // An outbound connection of an app: plain TCP or one HBONE tunnel.
  struct Outbound {
    Workload* src = nullptr;
    TcpSocket app, up;
    bool hbone = false;
    bool tunnel_up = false;   // 200 received (or the TCP upstream connected)
    std::string pending;      // app bytes before the tunnel was up
    bool app_fin = false;
    bool up_end = false;      // the far side finished sending (END_STREAM / FIN)
    uint64_t pooled = 0;      // HBONE: the pooled connection carrying the stream
    uint32_t stream = 0;
    std::string authority, dst_identity, peer;
    uint64_t app_conn = 0;
  };

  // A pooled HBONE connection (ztunnel src/proxy/pool.rs WorkloadHBONEPool):
  // one per (source identity, destination identity, source IP, destination
  // IP), up to 100 CONNECT streams; released after 5 minutes without a stream
  // (POOL_UNUSED_RELEASE_TIMEOUT).
  struct Pooled {
    Workload* src = nullptr;
    std::string key, dst_identity, peer;
    TcpSocket up;
    std::unique_ptr<proxy::TransportSocket> tls;
    std::unique_ptr<proxy::http::HboneConnection> h2;
    bool tls_up = false;
    std::vector<uint64_t> waiting;         // outbound connections waiting for the handshake
    std::map<uint32_t, uint64_t> streams;  // stream id → outbound connection
    uint64_t idle_epoch = 0;
  };
  std::map<uint64_t, std::unique_ptr<Pooled>> pool;
  static constexpr size_t kMaxStreams = 100;

  // One inbound HBONE connection (TLS + HTTP/2 server), any number of streams.
  struct InboundHbone {
    Workload* dst = nullptr;
    TcpSocket down;
    std::unique_ptr<proxy::TransportSocket> tls;
    std::unique_ptr<proxy::http::HboneConnection> h2;
    SocketAddress remote;
    std::string peer_identity;
    struct Stream {
      TcpSocket app;
      bool connected = false;
      std::string pending;  // tunnel bytes before the app connection was up
      bool end = false;     // the client's END_STREAM arrived
      bool app_fin = false; // the app finished sending
    };
    std::map<uint32_t, Stream> streams;
  };

  // Inbound plaintext (15006) to the app.
  struct InboundPlain {
    Workload* dst = nullptr;
    TcpSocket down, app;
    bool connected = false;
    std::string pending;
    bool down_fin = false;
  };

  Impl(Simulator& s, Network& n, tls::CertificateAuthority& c, std::function<Duration()> clock, std::string node)
      : sim(s), net(n), ca(c), wall(std::move(clock)), rng(s.rng("ztunnel/" + node)) {}

  Simulator& sim;
  Network& net;
  tls::CertificateAuthority& ca;
  std::function<Duration()> wall;
  RandomStream rng;
  std::shared_ptr<const mesh::World> world;
  std::map<std::string, std::unique_ptr<Workload>> workloads;  // by "ns/name"
  std::map<uint64_t, std::unique_ptr<Outbound>> outbound;     // by id
  std::map<uint64_t, std::unique_ptr<InboundHbone>> hbone;
  std::map<uint64_t, std::unique_ptr<InboundPlain>> plain;
  uint64_t next_id = 1;
  bool running = false;
  std::string pod, node;
  ActorId actor = 0;
  EventKindId k_event = 0;

  // ---- observations ----
  void publish(ZtunnelObservation::Event ev, std::string_view wl, std::string_view proto, std::string_view peer,
               std::string_view identity, std::string_view detail, uint64_t connection) {
    ZtunnelObservation o;
    o.ztunnel = pod;
    o.node = node;
    o.event = ev;
    o.pod = wl;
    o.protocol = proto;
    o.peer = peer;
    o.identity = identity;
    o.detail = detail;
    o.connection = connection;
    uint64_t digest = hash_combine(fnv1a64(wl), static_cast<uint64_t>(ev));
    digest = hash_combine(digest, fnv1a64(peer));
    digest = hash_combine(digest, fnv1a64(detail));
    sim.publish(actor, k_event, digest, o);
  }
  uint64_t conn_no(TcpSocket s) const {
    auto i = net.info(s);
    return i ? i->connection : 0;
  }

  // The workload's pod in the current WDS state (the world it was enrolled
  // from if the pod has since been deleted).
  const mesh::WorldPod& pod_of(const Workload& w) const {
    if (const mesh::WorldPod* p = world->find_pod(w.ns, w.name)) return *p;
    return w.origin->pods()[static_cast<size_t>(w.pod_index)];
  }

  // ztunnel's SecretManager: one certificate per local workload (24 h, the
  // CA's default), refreshed at half its lifetime (src/tls/certificate.rs
  // refresh_at: not_before + validity / 2).
  void issue(Workload& w) {
    const mesh::WorldPod& p = pod_of(w);
    Duration now = wall();
    const Duration ttl = Duration::hours(24);
    w.secrets.set_identity(ca.issue_workload(world->mesh_config().trust_domain, p.namespace_, p.service_account, now,
                                             now + ttl));
    w.secrets.set_roots({ca.root()});
    Workload* wp = &w;
    uint64_t gen = generation;
    sim.schedule_after(Duration::nanos(ttl.ns() / 2), actor, k_event, [this, wp, gen] {
      if (running && gen == generation) issue(*wp);
    });
  }
  uint64_t generation = 0;  // bumped by every stop: refresh timers of a dead process do nothing

  // ---- listeners ----
  bool listen(Workload& w) {
    HostId h = w.host;
    Workload* wp = &w;
    ListenerId a = net.listen(h, {Ipv4::any(), kOutboundPort}, [this, wp](TcpSocket s, const ConnectionInfo& info) {
      return accept_outbound(*wp, s, info);
    });
    ListenerId b = net.listen(h, {Ipv4::any(), kInboundPlainPort}, [this, wp](TcpSocket s, const ConnectionInfo& info) {
      return accept_plain(*wp, s, info);
    });
    ListenerId c = net.listen(h, {Ipv4::any(), kHbonePort}, [this, wp](TcpSocket s, const ConnectionInfo& info) {
      return accept_hbone(*wp, s, info);
    });
    for (ListenerId l : {a, b, c})
      if (l) w.listeners.push_back(l);
    return a && b && c;
  }

  // ---- destination resolution (ztunnel's fetch_upstream) ----
  struct Upstream {
    SocketAddress addr;                   // where the workload listens (pod IP : target port)
    const mesh::WorldPod* pod = nullptr;  // the destination workload (nullptr: not a known pod)
    std::string service;                  // hostname when the target was a Service VIP
    bool none = false;                    // a Service without ready endpoints
  };
  Upstream resolve(const SocketAddress& target) {
    Upstream u;
    u.addr = target;
    const mesh::World& w = *world;
    if (const mesh::WorldService* s = w.service_by_vip(target.ip)) {
      u.service = s->hostname;
      auto it = s->endpoints.find(target.port);
      std::vector<const mesh::Endpoint*> ready;
      if (it != s->endpoints.end())
        for (const auto& e : it->second)
          if (e.ready && e.has_ip) ready.push_back(&e);
      if (ready.empty()) {
        u.none = true;
        return u;
      }
      const mesh::Endpoint* e = ready[rng.uniform_u64(ready.size())];
      u.addr = SocketAddress{e->ip, static_cast<uint16_t>(e->port)};
      if (e->pod >= 0) u.pod = &w.pods()[static_cast<size_t>(e->pod)];
      return u;
    }
    u.pod = w.pod_by_ip(target.ip);
    return u;
  }

  std::string baggage(const mesh::WorldPod& p) const {
    std::string wl_type = "pod", wl = p.name;
    switch (p.owner_kind) {
      case mesh::Kind::kDeployment: wl_type = "deployment"; wl = p.owner_name; break;
      case mesh::Kind::kStatefulSet: wl_type = "statefulset"; wl = p.owner_name; break;
      case mesh::Kind::kDaemonSet: wl_type = "daemonset"; wl = p.owner_name; break;
      case mesh::Kind::kReplicaSet: wl_type = "replicaset"; wl = p.owner_name; break;
      default: break;
    }
    auto label = [&](const char* k, const std::string& d) {
      auto it = p.labels.find(k);
      return it == p.labels.end() ? d : it->second;
    };
    std::string out = "k8s.cluster.name=Kubernetes,k8s.namespace.name=" + p.namespace_ + ",k8s." + wl_type + ".name=" + wl +
                      ",service.name=" + label("app", wl) + ",service.version=" + label("version", "latest");
    const mesh::WorldNode& n = world->nodes()[static_cast<size_t>(p.node)];
    if (!n.locality.region.empty()) out += ",cloud.region=" + n.locality.region;
    if (!n.locality.zone.empty()) out += ",cloud.availability_zone=" + n.locality.zone;
    return out;
  }

  // ---- outbound ----
  TcpCallbacks accept_outbound(Workload& w, TcpSocket s, const ConnectionInfo& info) {
    uint64_t id = next_id++;
    auto o = std::make_unique<Outbound>();
    o->src = &w;
    o->app = s;
    o->app_conn = info.connection;
    Outbound& ob = *o;
    outbound[id] = std::move(o);
    TcpCallbacks cb;
    cb.on_data = [this, id](std::span<const uint8_t> b) { out_app_data(id, b); };
    cb.on_peer_fin = [this, id] { out_app_fin(id); };
    cb.on_reset = [this, id](ResetReason) { out_close(id, true, false); };
    SocketAddress target = info.original_dst.value_or(info.local);
    Upstream u = resolve(target);
    const mesh::WorldPod& src = pod_of(w);
    if (u.none) {
      publish(ZtunnelObservation::Event::kFailed, w.key, "", addr(target), "",
              "no healthy upstream: service " + u.service + " has no ready endpoint", ob.app_conn);
      // ztunnel drops the accepted socket: the app sees its connection closed.
      sim.schedule_after(Duration::zero(), actor, k_event, [this, id] { out_close(id, true, true); });
      return cb;
    }
    ConnectOptions opt;
    opt.uid = mesh::kZtunnelUid;  // SO_MARK 0x539: never captured again
    opt.connect_timeout = Duration::seconds(10);  // ztunnel's CONNECTION_TIMEOUT default
    ob.hbone = u.pod && u.pod->ambient;
    if (ob.hbone) {
      ob.authority = addr(u.addr);
      ob.dst_identity = u.pod->spiffe_id(world->mesh_config().trust_domain);
      ob.peer = ob.authority;
      Pooled& pc = pool_for(w, ob.dst_identity, u.addr.ip, opt);
      ob.pooled = pool_id_of(pc);
      if (pc.tls_up) open_stream(pc, id);
      else pc.waiting.push_back(id);
      (void)src;
    } else {
      ob.peer = addr(u.addr);
      TcpCallbacks ucb;
      ucb.on_connected = [this, id] { out_up_connected(id); };
      ucb.on_data = [this, id](std::span<const uint8_t> b) {
        auto it = outbound.find(id);
        if (it != outbound.end()) net.send(it->second->app, b);
      };
      ucb.on_peer_fin = [this, id] {
        auto it = outbound.find(id);
        if (it == outbound.end()) return;
        it->second->up_end = true;
        net.shutdown_write(it->second->app);
        if (it->second->app_fin) out_close(id, false, false);
      };
      ucb.on_reset = [this, id](ResetReason) { out_close(id, false, true); };
      ucb.on_connect_failed = [this, id](ConnectError e) { out_connect_failed(id, e); };
      ob.up = net.connect(w.host, u.addr, opt, std::move(ucb));
    }
    return cb;
  }

  void out_up_connected(uint64_t id) {
    auto it = outbound.find(id);
    if (it == outbound.end()) return;
    Outbound& o = *it->second;
    o.tunnel_up = true;
    publish(ZtunnelObservation::Event::kOutbound, o.src->key, "TCP", o.peer, "", "passthrough (destination is not ambient)",
            o.app_conn);
    if (!o.pending.empty()) net.send(o.up, as_span(o.pending));
    o.pending.clear();
    if (o.app_fin) net.shutdown_write(o.up);
  }

  // ---- the HBONE pool ----
  uint64_t pool_id_of(const Pooled& pc) const {
    for (const auto& [pid, p] : pool)
      if (p.get() == &pc) return pid;
    return 0;
  }

  Pooled& pool_for(Workload& w, const std::string& dst_identity, Ipv4 dst_ip, const ConnectOptions& opt) {
    const mesh::WorldPod& src = pod_of(w);
    std::string key = w.spiffe + "|" + dst_identity + "|" + to_string(src.ip) + "|" + to_string(dst_ip);
    for (auto& [pid, p] : pool) {
      if (p->key == key && !p->h2->goaway_received() && p->streams.size() + p->waiting.size() < kMaxStreams) return *p;
    }
    uint64_t pid = next_id++;
    auto p = std::make_unique<Pooled>();
    p->src = &w;
    p->key = key;
    p->dst_identity = dst_identity;
    SocketAddress to{dst_ip, kHbonePort};
    p->peer = addr(to);
    proxy::UpstreamTlsContext ctx;
    ctx.alpn_protocols = {"h2"};
    ctx.certificate_secret = proxy::kSdsDefault;
    ctx.validation_secret = proxy::kSdsRootCa;
    ctx.match_subject_alt_names = {dst_identity};
    ctx.min_version = proxy::TlsVersion::kTls13;
    ctx.istio_mode = "ISTIO_MUTUAL";
    p->tls = w.tls->make_client(ctx, {}, w.spiffe + ">" + dst_identity);
    p->h2 = std::make_unique<proxy::http::HboneConnection>(proxy::http::HboneConnection::Role::kClient);
    Pooled& ref = *p;
    pool[pid] = std::move(p);
    TcpCallbacks ucb;
    ucb.on_connected = [this, pid] {
      auto it = pool.find(pid);
      if (it == pool.end()) return;
      std::string wire;
      it->second->tls->start(wire);
      if (!wire.empty()) net.send(it->second->up, as_span(wire));
    };
    ucb.on_data = [this, pid](std::span<const uint8_t> b) { pool_data(pid, b); };
    ucb.on_peer_fin = [this, pid] { pool_fail(pid, "", false); };
    ucb.on_reset = [this, pid](ResetReason) { pool_fail(pid, "", true); };
    ucb.on_connect_failed = [this, pid](ConnectError e) {
      auto it = pool.find(pid);
      if (it == pool.end()) return;
      it->second->up = {};
      pool_fail(pid, std::string("connect to ") + it->second->peer + " (HBONE 15008) failed: " + sim::to_string(e), true);
    };
    ref.up = net.connect(w.host, to, opt, std::move(ucb));
    return ref;
  }

  void open_stream(Pooled& pc, uint64_t oid) {
    auto it = outbound.find(oid);
    if (it == outbound.end()) return;
    Outbound& o = *it->second;
    const mesh::WorldPod& src = pod_of(*o.src);
    auto app_info = net.info(o.app);
    std::string fwd = "for=\"" + (app_info ? addr(app_info->remote) : std::string()) + "\"";
    char tp[64];
    std::snprintf(tp, sizeof tp, "00-%016llx%016llx-%016llx-00", static_cast<unsigned long long>(rng.next_u64()),
                  static_cast<unsigned long long>(rng.next_u64()), static_cast<unsigned long long>(rng.next_u64()));
    std::string h2out;
    o.stream = pc.h2->open(o.authority, {{"baggage", baggage(src)}, {"forwarded", fwd}, {"traceparent", tp}}, h2out);
    send_tls(pc.up, *pc.tls, h2out);
    if (o.stream == 0) {
      publish(ZtunnelObservation::Event::kFailed, o.src->key, "HBONE", o.peer, o.dst_identity,
              "the pooled HBONE connection refused a new stream", o.app_conn);
      return out_close(oid, false, true);
    }
    pc.streams[o.stream] = oid;
    ++pc.idle_epoch;
  }

  // The pooled connection is gone (or failed): every stream on it and every
  // connection waiting for it fails.
  void pool_fail(uint64_t pid, const std::string& detail, bool abort) {
    auto it = pool.find(pid);
    if (it == pool.end()) return;
    std::unique_ptr<Pooled> pc = std::move(it->second);
    pool.erase(it);
    std::vector<uint64_t> ids = pc->waiting;
    for (const auto& [sid, oid] : pc->streams) ids.push_back(oid);
    for (uint64_t oid : ids) {
      auto o = outbound.find(oid);
      if (o == outbound.end()) continue;
      if (!detail.empty())
        publish(ZtunnelObservation::Event::kFailed, o->second->src->key, "HBONE", o->second->peer, o->second->dst_identity,
                detail, o->second->app_conn);
      out_close(oid, false, true);
    }
    if (pc->up) abort ? (void)net.reset(pc->up) : (void)net.close(pc->up);
  }

  void pool_data(uint64_t pid, std::span<const uint8_t> b) {
    auto pit = pool.find(pid);
    if (pit == pool.end()) return;
    Pooled& pc = *pit->second;
    std::string plain, wire;
    proxy::TransportResult r = pc.tls->on_network(bytes_view(b), plain, wire);
    if (!wire.empty()) net.send(pc.up, as_span(wire));
    if (r == proxy::TransportResult::kFailed)
      return pool_fail(pid, "TLS handshake failed: " + pc.tls->security().failure_reason, true);
    if (r == proxy::TransportResult::kEstablished && !pc.tls_up) {
      pc.tls_up = true;
      std::vector<uint64_t> waiting;
      waiting.swap(pc.waiting);
      for (uint64_t oid : waiting) open_stream(pc, oid);
    }
    if (!plain.empty()) {
      if (!pc.h2->feed(plain)) return pool_fail(pid, "HTTP/2 error: " + pc.h2->error(), true);
      std::string h2out;
      pc.h2->drain_output(h2out);
      send_tls(pc.up, *pc.tls, h2out);
      proxy::http::HboneConnection::Event e;
      while (pool.count(pid) && pc.h2->next_event(e)) {
        using K = proxy::http::HboneConnection::Event::Kind;
        auto sit = pc.streams.find(e.stream);
        if (sit == pc.streams.end()) continue;
        uint64_t id = sit->second;
        auto it = outbound.find(id);
        if (it == outbound.end()) continue;
        Outbound& o = *it->second;
        if (e.kind == K::kResponse) {
          if (e.status != 200) {
            publish(e.status == 401 ? ZtunnelObservation::Event::kDenied : ZtunnelObservation::Event::kFailed, o.src->key,
                    "HBONE", o.peer, o.dst_identity, "CONNECT answered " + std::to_string(e.status), o.app_conn);
            out_close(id, false, true);
            continue;
          }
          o.tunnel_up = true;
          publish(ZtunnelObservation::Event::kOutbound, o.src->key, "HBONE", o.peer, o.dst_identity,
                  "CONNECT " + o.authority + " → 200", o.app_conn);
          std::string out2;
          if (!o.pending.empty()) pc.h2->write(o.stream, o.pending, out2);
          o.pending.clear();
          if (o.app_fin) pc.h2->close_stream(o.stream, out2);
          send_tls(pc.up, *pc.tls, out2);
        } else if (e.kind == K::kData) {
          net.send(o.app, as_span(e.data));
        } else if (e.kind == K::kEnd) {
          o.up_end = true;
          net.shutdown_write(o.app);
          if (o.app_fin) out_close(id, false, false);
        } else if (e.kind == K::kReset) {
          out_close(id, false, true);
        }
      }
    }
    if (r == proxy::TransportResult::kPeerClosed) pool_fail(pid, "", false);
  }

  // A stream left the pooled connection: an idle connection is released
  // after POOL_UNUSED_RELEASE_TIMEOUT (5 minutes).
  void stream_done(Pooled& pc, uint64_t pid) {
    if (!pc.streams.empty() || !pc.waiting.empty()) return;
    uint64_t epoch = ++pc.idle_epoch;
    uint64_t gen = generation;
    sim.schedule_after(Duration::seconds(300), actor, k_event, [this, pid, epoch, gen] {
      auto it = pool.find(pid);
      if (gen != generation || it == pool.end() || it->second->idle_epoch != epoch) return;
      std::string out;
      it->second->h2->shutdown(out);
      send_tls(it->second->up, *it->second->tls, out);
      TcpSocket up = it->second->up;
      pool.erase(it);
      net.close(up);
    });
  }

  void send_tls(TcpSocket s, proxy::TransportSocket& t, const std::string& plain) {
    if (plain.empty()) return;
    std::string wire;
    t.write(plain, wire);
    if (!wire.empty()) net.send(s, as_span(wire));
  }

  void out_app_data(uint64_t id, std::span<const uint8_t> b) {
    auto it = outbound.find(id);
    if (it == outbound.end()) return;
    Outbound& o = *it->second;
    if (!o.tunnel_up) {
      o.pending.append(bytes_view(b));
      return;
    }
    if (!o.hbone) {
      net.send(o.up, b);
      return;
    }
    auto p = pool.find(o.pooled);
    if (p == pool.end()) return;
    std::string out;
    p->second->h2->write(o.stream, bytes_view(b), out);
    send_tls(p->second->up, *p->second->tls, out);
  }

  void out_app_fin(uint64_t id) {
    auto it = outbound.find(id);
    if (it == outbound.end()) return;
    Outbound& o = *it->second;
    o.app_fin = true;
    if (!o.tunnel_up) return;
    if (!o.hbone) {
      net.shutdown_write(o.up);
    } else if (auto p = pool.find(o.pooled); p != pool.end()) {
      std::string out;
      p->second->h2->close_stream(o.stream, out);
      send_tls(p->second->up, *p->second->tls, out);
    }
    if (o.up_end) out_close(id, true, false);
  }

  void out_connect_failed(uint64_t id, ConnectError e) {
    auto it = outbound.find(id);
    if (it == outbound.end()) return;
    Outbound& o = *it->second;
    o.up = {};
    publish(ZtunnelObservation::Event::kFailed, o.src->key, "TCP", o.peer, "",
            std::string("connect to ") + o.peer + " failed: " + sim::to_string(e), o.app_conn);
    out_close(id, false, true);
  }

  // The connection ends: `from_app` says which side went first; `abort`
  // resets the other side, else an orderly close.
  void out_close(uint64_t id, bool from_app, bool abort) {
    auto it = outbound.find(id);
    if (it == outbound.end()) return;
    Outbound& o = *it->second;
    if (o.hbone) {
      if (auto p = pool.find(o.pooled); p != pool.end()) {
        Pooled& pc = *p->second;
        pc.waiting.erase(std::remove(pc.waiting.begin(), pc.waiting.end(), id), pc.waiting.end());
        if (auto sit = pc.streams.find(o.stream); o.stream && sit != pc.streams.end()) {
          pc.streams.erase(sit);
          // Not finished both ways (the app gave up, an error status, a
          // reset): the stream is cancelled, as hyper does when it is dropped.
          if (pc.h2->stream_open(o.stream)) {
            std::string out;
            pc.h2->reset_stream(o.stream, 0x8, out);
            send_tls(pc.up, *pc.tls, out);
          }
        }
        stream_done(pc, p->first);
      }
      if (o.app) {
        if (!from_app) abort ? (void)net.reset(o.app) : (void)net.close(o.app);
        else if (abort) net.reset(o.app);
        else net.close(o.app);
      }
      outbound.erase(it);
      return;
    }
    if (from_app) {
      if (o.up) abort ? (void)net.reset(o.up) : (void)net.close(o.up);
      if (abort && o.app) net.reset(o.app);
    } else {
      if (o.app) abort ? (void)net.reset(o.app) : (void)net.close(o.app);
      if (o.up) net.close(o.up);
    }
    outbound.erase(it);
  }

  // ---- inbound HBONE ----
  TcpCallbacks accept_hbone(Workload& w, TcpSocket s, const ConnectionInfo& info) {
    uint64_t id = next_id++;
    auto c = std::make_unique<InboundHbone>();
    c->dst = &w;
    c->down = s;
    c->remote = info.remote;
    proxy::DownstreamTlsContext ctx;
    ctx.alpn_protocols = {"h2"};
    ctx.min_version = proxy::TlsVersion::kTls13;
    c->tls = w.tls->make_server(ctx);
    c->h2 = std::make_unique<proxy::http::HboneConnection>(proxy::http::HboneConnection::Role::kServer);
    hbone[id] = std::move(c);
    TcpCallbacks cb;
    cb.on_data = [this, id](std::span<const uint8_t> b) { hb_data(id, b); };
    cb.on_peer_fin = [this, id] { hb_close(id, false); };
    cb.on_reset = [this, id](ResetReason) { hb_close(id, true); };
    return cb;
  }

  void hb_data(uint64_t id, std::span<const uint8_t> b) {
    auto it = hbone.find(id);
    if (it == hbone.end()) return;
    InboundHbone& c = *it->second;
    std::string plain, wire;
    proxy::TransportResult r = c.tls->on_network(bytes_view(b), plain, wire);
    if (!wire.empty()) net.send(c.down, as_span(wire));
    if (r == proxy::TransportResult::kFailed) {
      publish(ZtunnelObservation::Event::kFailed, c.dst->key, "HBONE", addr(c.remote), "",
              "TLS handshake failed: " + c.tls->security().failure_reason, conn_no(c.down));
      return hb_close(id, true);
    }
    if (r == proxy::TransportResult::kEstablished) {
      c.peer_identity = c.tls->security().peer_principal();
      std::string out;
      c.h2->drain_output(out);
      send_tls(c.down, *c.tls, out);
    }
    if (plain.empty()) return;
    if (!c.h2->feed(plain)) {
      std::string out;
      c.h2->drain_output(out);
      send_tls(c.down, *c.tls, out);
      return hb_close(id, true);
    }
    std::string out;
    c.h2->drain_output(out);
    send_tls(c.down, *c.tls, out);
    proxy::http::HboneConnection::Event e;
    while (c.h2->next_event(e)) {
      using K = proxy::http::HboneConnection::Event::Kind;
      if (e.kind == K::kConnect) {
        hb_connect(id, c, e);
      } else if (e.kind == K::kData) {
        auto s = c.streams.find(e.stream);
        if (s == c.streams.end()) continue;
        if (s->second.connected) net.send(s->second.app, as_span(e.data));
        else s->second.pending += e.data;
      } else if (e.kind == K::kEnd) {
        auto s = c.streams.find(e.stream);
        if (s == c.streams.end()) continue;
        s->second.end = true;
        if (s->second.connected) net.shutdown_write(s->second.app);
        if (s->second.app_fin) {
          net.close(s->second.app);
          c.streams.erase(s);
        }
      } else if (e.kind == K::kReset) {
        auto s = c.streams.find(e.stream);
        if (s == c.streams.end()) continue;
        if (s->second.app) net.reset(s->second.app);
        c.streams.erase(s);
      }
    }
  }

  void hb_respond(InboundHbone& c, uint32_t stream, int status) {
    std::string out;
    c.h2->respond(stream, status, out);
    send_tls(c.down, *c.tls, out);
  }

  void hb_connect(uint64_t id, InboundHbone& c, const proxy::http::HboneConnection::Event& e) {
    const mesh::WorldPod& dst = pod_of(*c.dst);
    uint64_t cn = conn_no(c.down);
    auto target = parse_authority(e.authority);
    if (e.method != "CONNECT" || !target) {
      publish(ZtunnelObservation::Event::kFailed, c.dst->key, "HBONE", addr(c.remote), c.peer_identity,
              "bad request: " + e.method + " " + e.authority + " → 400", cn);
      return hb_respond(c, e.stream, 400);
    }
    if (target->ip != dst.ip) {
      publish(ZtunnelObservation::Event::kFailed, c.dst->key, "HBONE", addr(c.remote), c.peer_identity,
              "authority " + e.authority + " is not this workload's address → 400", cn);
      return hb_respond(c, e.stream, 400);
    }
    mesh::ZtunnelConnection zc{c.peer_identity.empty() ? std::nullopt : std::optional<std::string>(c.peer_identity),
                               c.remote.ip, target->ip, target->port};
    mesh::ZtunnelAuthzDecision d = mesh::ztunnel_authorize(*world, dst, zc);
    if (!d.allowed) {
      publish(ZtunnelObservation::Event::kDenied, c.dst->key, "HBONE", addr(c.remote), c.peer_identity,
              "RBAC: " + d.reason + " → 401", cn);
      return hb_respond(c, e.stream, 401);
    }
    uint32_t stream = e.stream;
    c.streams[stream] = {};
    ConnectOptions opt;
    opt.uid = mesh::kZtunnelUid;
    opt.source_ip = c.remote.ip;  // freebind: the app sees the original source IP
    opt.connect_timeout = Duration::seconds(10);
    TcpCallbacks cb;
    std::string allowed = "CONNECT → 200 (" + d.reason + ")";
    cb.on_connected = [this, id, stream, allowed] {
      auto it = hbone.find(id);
      if (it == hbone.end()) return;
      InboundHbone& h = *it->second;
      auto s = h.streams.find(stream);
      if (s == h.streams.end()) return;
      s->second.connected = true;
      hb_respond(h, stream, 200);
      publish(ZtunnelObservation::Event::kInbound, h.dst->key, "HBONE", addr(h.remote), h.peer_identity,
              allowed, conn_no(h.down));
      if (!s->second.pending.empty()) net.send(s->second.app, as_span(s->second.pending));
      s->second.pending.clear();
      if (s->second.end) net.shutdown_write(s->second.app);
    };
    cb.on_connect_failed = [this, id, stream](ConnectError err) {
      auto it = hbone.find(id);
      if (it == hbone.end()) return;
      InboundHbone& h = *it->second;
      h.streams.erase(stream);
      publish(ZtunnelObservation::Event::kFailed, h.dst->key, "HBONE", addr(h.remote), h.peer_identity,
              std::string("connect to the app failed: ") + sim::to_string(err) + " → 503", conn_no(h.down));
      hb_respond(h, stream, 503);
    };
    cb.on_data = [this, id, stream](std::span<const uint8_t> b) {
      auto it = hbone.find(id);
      if (it == hbone.end()) return;
      std::string out;
      it->second->h2->write(stream, bytes_view(b), out);
      send_tls(it->second->down, *it->second->tls, out);
    };
    cb.on_peer_fin = [this, id, stream] {
      auto it = hbone.find(id);
      if (it == hbone.end()) return;
      std::string out;
      it->second->h2->close_stream(stream, out);
      send_tls(it->second->down, *it->second->tls, out);
      auto s = it->second->streams.find(stream);
      if (s == it->second->streams.end()) return;
      s->second.app_fin = true;
      if (s->second.end) {
        net.close(s->second.app);
        it->second->streams.erase(s);
      }
    };
    cb.on_reset = [this, id, stream](ResetReason) {
      auto it = hbone.find(id);
      if (it == hbone.end()) return;
      it->second->streams.erase(stream);
      std::string out;
      it->second->h2->reset_stream(stream, 0x8 /* CANCEL */, out);
      send_tls(it->second->down, *it->second->tls, out);
    };
    c.streams[stream].app = net.connect(c.dst->host, SocketAddress{dst.ip, target->port}, opt, std::move(cb));
  }

  void hb_close(uint64_t id, bool abort) {
    auto it = hbone.find(id);
    if (it == hbone.end()) return;
    InboundHbone& c = *it->second;
    for (auto& [sid, s] : c.streams)
      if (s.app) abort ? (void)net.reset(s.app) : (void)net.close(s.app);
    if (c.down) abort ? (void)net.reset(c.down) : (void)net.close(c.down);
    hbone.erase(it);
  }

  // ---- inbound plaintext ----
  TcpCallbacks accept_plain(Workload& w, TcpSocket s, const ConnectionInfo& info) {
    uint64_t id = next_id++;
    auto c = std::make_unique<InboundPlain>();
    c->dst = &w;
    c->down = s;
    InboundPlain& ip = *c;
    plain[id] = std::move(c);
    TcpCallbacks cb;
    cb.on_data = [this, id](std::span<const uint8_t> b) {
      auto it = plain.find(id);
      if (it == plain.end()) return;
      if (it->second->connected) net.send(it->second->app, b);
      else it->second->pending.append(bytes_view(b));
    };
    cb.on_peer_fin = [this, id] {
      auto it = plain.find(id);
      if (it == plain.end()) return;
      it->second->down_fin = true;
      if (it->second->connected) net.shutdown_write(it->second->app);
    };
    cb.on_reset = [this, id](ResetReason) { plain_close(id, true); };
    const mesh::WorldPod& dst = pod_of(w);
    SocketAddress target = info.original_dst.value_or(info.local);
    uint64_t cn = info.connection;
    mesh::MtlsDecision pa = mesh::effective_peer_authentication(*world, dst, target.port);
    if (pa.mode == mesh::MtlsMode::kStrict) {
      publish(ZtunnelObservation::Event::kDenied, w.key, "TCP", addr(info.remote), "",
              "plaintext rejected: DENY policy istio-system/istio_converted_static_strict (no peer identity) — " +
                  pa.reason,
              cn);
      sim.schedule_after(Duration::zero(), actor, k_event, [this, id] { plain_close(id, true); });
      return cb;
    }
    mesh::ZtunnelAuthzDecision d = mesh::ztunnel_authorize(*world, dst, {std::nullopt, info.remote.ip, target.ip, target.port});
    if (!d.allowed) {
      publish(ZtunnelObservation::Event::kDenied, w.key, "TCP", addr(info.remote), "", "RBAC: " + d.reason, cn);
      sim.schedule_after(Duration::zero(), actor, k_event, [this, id] { plain_close(id, true); });
      return cb;
    }
    ConnectOptions opt;
    opt.uid = mesh::kZtunnelUid;
    opt.source_ip = info.remote.ip;
    opt.connect_timeout = Duration::seconds(10);
    TcpCallbacks ucb;
    std::string peer = addr(info.remote);
    ucb.on_connected = [this, id, peer, cn] {
      auto it = plain.find(id);
      if (it == plain.end()) return;
      InboundPlain& pc = *it->second;
      pc.connected = true;
      publish(ZtunnelObservation::Event::kInbound, pc.dst->key, "TCP", peer, "", "plaintext inbound (15006)", cn);
      if (!pc.pending.empty()) net.send(pc.app, as_span(pc.pending));
      pc.pending.clear();
      if (pc.down_fin) net.shutdown_write(pc.app);
    };
    ucb.on_data = [this, id](std::span<const uint8_t> b) {
      auto it = plain.find(id);
      if (it != plain.end()) net.send(it->second->down, b);
    };
    ucb.on_peer_fin = [this, id] {
      auto it = plain.find(id);
      if (it != plain.end()) net.shutdown_write(it->second->down);
    };
    ucb.on_reset = [this, id](ResetReason) { plain_close(id, true); };
    ucb.on_connect_failed = [this, id](ConnectError) { plain_close(id, true); };
    ip.app = net.connect(w.host, SocketAddress{dst.ip, target.port}, opt, std::move(ucb));
    return cb;
  }

  void plain_close(uint64_t id, bool abort) {
    auto it = plain.find(id);
    if (it == plain.end()) return;
    InboundPlain& c = *it->second;
    if (c.app) abort ? (void)net.reset(c.app) : (void)net.close(c.app);
    if (c.down) abort ? (void)net.reset(c.down) : (void)net.close(c.down);
    plain.erase(it);
  }

  void reset_all() {
    for (auto& [id, o] : outbound) {
      if (o->app) net.reset(o->app);
      if (o->up) net.reset(o->up);
    }
    outbound.clear();
    for (auto& [id, p] : pool)
      if (p->up) net.reset(p->up);
    pool.clear();
    for (auto& [id, c] : hbone) {
      for (auto& [sid, s] : c->streams)
        if (s.app) net.reset(s.app);
      if (c->down) net.reset(c->down);
    }
    hbone.clear();
    for (auto& [id, c] : plain) {
      if (c->app) net.reset(c->app);
      if (c->down) net.reset(c->down);
    }
    plain.clear();
  }
};

Ztunnel::Ztunnel(Simulator& sim, Network& net, tls::CertificateAuthority& ca, std::string node,
                 std::function<Duration()> wall_clock)
    : m_(std::make_unique<Impl>(sim, net, ca, std::move(wall_clock), node)),
      node_(std::move(node)),
      pod_("istio-system/" + mesh::ztunnel_pod_name(node_)) {
  m_->pod = pod_;
  m_->node = node_;
  m_->actor = sim.actor("ztunnel/" + node_);
  m_->k_event = sim.kind("ztunnel.event");
}

Ztunnel::~Ztunnel() = default;

void Ztunnel::set_world(std::shared_ptr<const mesh::World> world) { m_->world = std::move(world); }

void Ztunnel::add_workload(HostId host, int32_t pod_index) {
  const mesh::WorldPod& p = m_->world->pods()[static_cast<size_t>(pod_index)];
  auto w = std::make_unique<Impl::Workload>();
  w->key = p.namespace_ + "/" + p.name;
  w->ns = p.namespace_;
  w->name = p.name;
  w->origin = m_->world;
  w->host = host;
  w->pod_index = pod_index;
  w->spiffe = p.spiffe_id(m_->world->mesh_config().trust_domain);
  w->tls = std::make_unique<proxy::TlsTransportFactory>(w->secrets);
  Impl::Workload& ref = *w;
  m_->workloads[w->key] = std::move(w);
  if (running_) {
    m_->issue(ref);
    (void)m_->listen(ref);
  }
}

void Ztunnel::pod_stopped(std::string_view key) {
  auto it = m_->workloads.find(std::string(key));
  if (it == m_->workloads.end()) return;
  it->second->pod_up = false;
  for (ListenerId l : it->second->listeners) m_->net.close_listener(l);
  it->second->listeners.clear();
}

void Ztunnel::pod_started(std::string_view key) {
  auto it = m_->workloads.find(std::string(key));
  if (it == m_->workloads.end()) return;
  it->second->pod_up = true;
  if (running_ && it->second->listeners.empty()) (void)m_->listen(*it->second);
}

bool Ztunnel::start() {
  if (running_) return true;
  bool ok = true;
  for (auto& [k, w] : m_->workloads) {
    m_->issue(*w);
    if (w->pod_up) ok = m_->listen(*w) && ok;
  }
  running_ = true;
  m_->running = true;
  m_->publish(ZtunnelObservation::Event::kStarted, "", "", "", "",
              std::to_string(m_->workloads.size()) + " ambient workload(s) on node " + node_, 0);
  return ok;
}

void Ztunnel::stop() {
  if (!running_) return;
  for (auto& [k, w] : m_->workloads) {
    for (ListenerId l : w->listeners) m_->net.close_listener(l);
    w->listeners.clear();
  }
  m_->reset_all();
  ++m_->generation;
  running_ = false;
  m_->running = false;
  m_->publish(ZtunnelObservation::Event::kStopped, "", "", "", "",
              "ztunnel on node " + node_ + " died: " + std::to_string(m_->workloads.size()) + " ambient workload(s) cut off", 0);
}

std::vector<std::string> Ztunnel::describe() const {
  std::vector<std::string> out = describe_ztunnel(*m_->world, node_);
  if (!out.empty()) out.front() += running_ ? " (running)" : " (stopped)";
  return out;
}

bool mesh_has_ambient(const mesh::World& w) {
  return std::any_of(w.pods().begin(), w.pods().end(), [](const mesh::WorldPod& p) { return p.ambient && p.scheduled(); });
}

std::string ztunnel_node(const mesh::World& w, std::string_view name) {
  if (!mesh_has_ambient(w)) return {};
  if (name.substr(0, 13) == "istio-system/") name.remove_prefix(13);
  for (const auto& n : w.nodes())
    if (mesh::ztunnel_pod_name(n.name) == name) return n.name;
  return {};
}

std::vector<std::string> describe_ztunnel(const mesh::World& w, std::string_view node) {
  std::vector<std::string> out;
  const mesh::WorldNode* n = w.find_node(node);
  if (!n || !mesh_has_ambient(w)) return out;
  out.push_back("ztunnel istio-system/" + mesh::ztunnel_pod_name(node) + " on node " + std::string(node));
  size_t count = 0;
  for (const auto& p : w.pods()) {
    if (!p.ambient || !p.scheduled() || w.nodes()[static_cast<size_t>(p.node)].name != node) continue;
    ++count;
    out.push_back("workload " + p.namespace_ + "/" + p.name + " " + to_string(p.ip) + " identity " +
                  p.spiffe_id(w.mesh_config().trust_domain) + " protocol HBONE (" + p.ambient_reason + ")");
    out.push_back("  listeners in the pod's network namespace: 15001 outbound, 15006 inbound plaintext, 15008 inbound HBONE");
    std::vector<std::string> pol = mesh::describe_ztunnel_policies(w, p);
    if (pol.empty()) out.push_back("  policies: none (every connection is allowed)");
    for (const auto& l : pol) out.push_back("  policy " + l);
    mesh::MtlsDecision pa = mesh::effective_peer_authentication(w, p, 0);
    out.push_back(std::string("  peer authentication: ") + mesh::mtls_mode_name(pa.mode) +
                  (pa.mode == mesh::MtlsMode::kStrict ? " (plaintext inbound rejected)" : " (plaintext inbound accepted)") +
                  " — " + pa.reason);
  }
  if (count == 0) out.push_back("no ambient workload on this node");
  return out;
}

}  // namespace meshsim::sim
