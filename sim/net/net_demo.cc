#include "sim/net/net_demo.h"

#include <algorithm>

#include "sim/net/capture_rules.h"
#include "sim/net/network.h"
#include "sim/net/resolver.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace meshsim::sim {
namespace {

constexpr uint16_t kEchoPort = 7;  // RFC 862 echo: Wireshark decodes it as ECHO
const Ipv4 kClientIp = Ipv4::of(10, 244, 0, 5);
const Ipv4 kEchoIp = Ipv4::of(10, 244, 1, 7);
const SocketAddress kServiceVip{Ipv4::of(10, 96, 0, 10), 7};

// A TCP relay standing in for a sidecar: two sockets, bytes copied across,
// FIN and RST propagated, both closed once both directions are finished.
struct Pipe {
  Network* net = nullptr;
  TcpSocket down;  // accepted from the app / the peer sidecar
  TcpSocket up;    // opened towards the original destination
  bool down_fin = false;
  bool up_fin = false;
  void maybe_close() {
    if (down_fin && up_fin) {
      net->close(down);
      net->close(up);
    }
  }
};

void install_relay(Network& net, HostId pod, uint16_t port, bool inbound) {
  net.listen(pod, {Ipv4::any(), port}, [&net, pod, inbound](TcpSocket down, const ConnectionInfo& info) {
    auto p = std::make_shared<Pipe>();
    p->net = &net;
    p->down = down;
    ConnectOptions o;
    o.uid = 1337;
    o.connect_timeout = Duration::seconds(10);  // meshConfig.connectTimeout
    if (inbound) o.source_ip = kInboundPassthroughSource;
    TcpCallbacks up;
    up.on_data = [p](std::span<const uint8_t> b) { p->net->send(p->down, b); };
    up.on_peer_fin = [p] {
      p->up_fin = true;
      p->net->shutdown_write(p->down);
      p->maybe_close();
    };
    up.on_reset = [p](ResetReason) { p->net->reset(p->down); };
    up.on_connect_failed = [p](ConnectError) { p->net->reset(p->down); };
    SocketAddress target = info.original_dst.value_or(info.local);
    p->up = net.connect(pod, target, o, std::move(up));
    TcpCallbacks dn;
    dn.on_data = [p](std::span<const uint8_t> b) { p->net->send(p->up, b); };
    dn.on_peer_fin = [p] {
      p->down_fin = true;
      p->net->shutdown_write(p->up);
      p->maybe_close();
    };
    dn.on_reset = [p](ResetReason) { p->net->reset(p->up); };
    return dn;
  });
}

}  // namespace

struct NetDemo::State {
  explicit State(const NetDemoOptions& o) : opts(o), sim(o.seed), net(sim) {}

  struct Client {
    std::string payload;
    std::string received;
    TcpSocket sock;
    NetDemoConnection result;
    bool done = false;
  };

  NetDemoOptions opts;
  Simulator sim;
  Network net;
  HostId client = kNoHost;
  HostId echo = kNoHost;
  std::vector<std::unique_ptr<Client>> clients;
};

NetDemo::NetDemo(const NetDemoOptions& o) : s_(std::make_unique<State>(o)) {
  State& s = *s_;
  Network& net = s.net;
  for (int r = 0; r < kRelationCount; ++r) {
    auto rel = static_cast<Relation>(r);
    LinkProfile p = net.links().profile(rel);
    if (rel != Relation::kLoopback) {
      if (o.latency) p.latency = *o.latency;
      if (o.bandwidth_bps) p.bandwidth_bps = *o.bandwidth_bps;
      if (o.jitter) p.jitter = *o.jitter;
      if (o.loss) p.loss = *o.loss;
    }
    net.links().set_profile(rel, p);
  }
  (void)net.add_node({"node-a", "us-east1", "us-east1-b", ""});
  (void)net.add_node({"node-b", "us-east1", "us-east1-b", ""});
  HostSpec h;
  h.ns = "default";
  h.name = "client";
  h.ip = kClientIp;
  h.node = "node-a";
  h.injected = o.sidecars;
  h.interception = default_interception();
  s.client = *net.add_host(h);
  h.name = "echo";
  h.ip = kEchoIp;
  h.node = "node-b";
  s.echo = *net.add_host(h);
  if (o.service) {
    (void)net.add_service_vip(kServiceVip, {{kEchoIp, kEchoPort}});
    (void)net.dns().add_service("default", "echo", kServiceVip.ip);
  }
  if (o.sidecars) {
    install_relay(net, s.client, kProxyOutboundPort, false);
    install_relay(net, s.client, kProxyInboundPort, true);
    install_relay(net, s.echo, kProxyOutboundPort, false);
    install_relay(net, s.echo, kProxyInboundPort, true);
  }
  // The echo app.
  net.listen(s.echo, {Ipv4::any(), kEchoPort}, [&net](TcpSocket sock, const ConnectionInfo&) {
    TcpCallbacks cb;
    cb.on_data = [&net, sock](std::span<const uint8_t> b) { net.send(sock, b); };
    cb.on_peer_fin = [&net, sock] { net.close(sock); };
    return cb;
  });
}

NetDemo::~NetDemo() = default;

Simulator& NetDemo::simulator() { return s_->sim; }
Network& NetDemo::network() { return s_->net; }

NetDemoResult NetDemo::run() {
  State& s = *s_;
  Simulator& sim = s.sim;
  Network& net = s.net;
  RandomStream payload_rng = sim.rng("demo/payload");
  SocketAddress target{kEchoIp, kEchoPort};
  if (s.opts.service) {
    auto a = net.dns().resolve("echo", "default");
    target = SocketAddress{a.addresses.front(), kServiceVip.port};
  }
  const ActorId actor = sim.actor("demo/client");
  const EventKindId kind = sim.kind("demo.open");
  for (int i = 0; i < s.opts.connections; ++i) {
    auto c = std::make_unique<State::Client>();
    c->payload.resize(s.opts.bytes);
    payload_rng.fill(reinterpret_cast<unsigned char*>(c->payload.data()), c->payload.size());
    State::Client* cp = c.get();
    s.clients.push_back(std::move(c));
    sim.schedule_at(Duration::millis(i), actor, kind, [&s, &sim, &net, cp, target] {
      TcpCallbacks cb;
      cb.on_connected = [&s, &net, cp] {
        const uint64_t n = cp->payload.size();
        const int writes = std::max(1, s.opts.writes);
        uint64_t off = 0;
        for (int w = 0; w < writes; ++w) {
          uint64_t len = w + 1 == writes ? n - off : n / static_cast<uint64_t>(writes);
          net.send(cp->sock, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(cp->payload.data()) + off,
                                                      static_cast<size_t>(len)));
          off += len;
        }
        if (n == 0) net.shutdown_write(cp->sock);
      };
      cb.on_data = [&net, cp](std::span<const uint8_t> b) {
        cp->received.append(reinterpret_cast<const char*>(b.data()), b.size());
        if (cp->received.size() >= cp->payload.size()) net.shutdown_write(cp->sock);
      };
      cb.on_peer_fin = [&sim, &net, cp] {
        cp->done = true;
        cp->result.finished = sim.now();
        if (auto k = net.counters(cp->sock)) cp->result.counters = *k;
        const bool same = cp->received == cp->payload;
        cp->result.ok = same;
        cp->result.outcome = same ? "ok" : "echo mismatch";
        net.close(cp->sock);
      };
      cb.on_reset = [&sim, &net, cp](ResetReason r) {
        cp->done = true;
        cp->result.finished = sim.now();
        cp->result.outcome = std::string("reset (") + to_string(r) + ")";
        if (auto k = net.counters(cp->sock)) cp->result.counters = *k;
      };
      cb.on_connect_failed = [&sim, cp](ConnectError e) {
        cp->done = true;
        cp->result.finished = sim.now();
        cp->result.outcome = std::string("connect failed (") + to_string(e) + ")";
      };
      cp->result.started = sim.now();
      cp->result.server = target;
      cp->sock = net.connect(s.client, target, {}, std::move(cb));
      if (auto info = net.info(cp->sock)) {
        cp->result.connection = info->connection;
        cp->result.client = info->local;
        cp->result.loopback = info->relation == Relation::kLoopback;
      }
    });
  }
  sim.run();
  NetDemoResult r;
  r.all_ok = true;
  for (auto& c : s.clients) {
    if (!c->done) c->result.outcome = "unfinished";
    r.all_ok = r.all_ok && c->result.ok;
    r.connections.push_back(c->result);
  }
  r.virtual_time = sim.now();
  r.events = sim.events_executed();
  r.fingerprint = sim.fingerprint();
  return r;
}

}  // namespace meshsim::sim
