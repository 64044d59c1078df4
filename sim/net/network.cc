// The behavioural TCP model of sim::Network: routing and capture rules at
// connect(), handshakes, byte streams delivered in pieces, FIN/RST, loss as
// retransmission delay, partitions and node faults. Segment-level detail for
// captures lives in network_wire.cc and only observes what happens here.
#include "sim/net/network.h"

#include <algorithm>
#include <cstring>

#include "proxy/base/check.h"
#include "proxy/base/hash.h"
#include "sim/net/network_impl.h"

namespace meshsim::sim {

using namespace netconst;  // NOLINT(google-build-using-namespace)

const char* to_string(TcpEvent e) {
  switch (e) {
    case TcpEvent::kConnect: return "connect";
    case TcpEvent::kEstablished: return "established";
    case TcpEvent::kAccepted: return "accepted";
    case TcpEvent::kRefused: return "refused";
    case TcpEvent::kTimedOut: return "timed-out";
    case TcpEvent::kUnreachable: return "unreachable";
    case TcpEvent::kAddressInUse: return "address-in-use";
    case TcpEvent::kFinSent: return "fin-sent";
    case TcpEvent::kFinReceived: return "fin-received";
    case TcpEvent::kResetSent: return "reset-sent";
    case TcpEvent::kResetReceived: return "reset-received";
    case TcpEvent::kAborted: return "aborted";
    case TcpEvent::kClosed: return "closed";
  }
  return "?";
}

const char* to_string(ConnectError e) {
  switch (e) {
    case ConnectError::kRefused: return "refused";
    case ConnectError::kTimeout: return "timeout";
    case ConnectError::kUnreachable: return "unreachable";
    case ConnectError::kAddressInUse: return "address-in-use";
    case ConnectError::kHostDown: return "host-down";
  }
  return "?";
}

const char* to_string(ResetReason r) {
  switch (r) {
    case ResetReason::kPeerReset: return "peer-reset";
    case ResetReason::kTimeout: return "timeout";
  }
  return "?";
}

namespace {

uint64_t listen_key(HostId h, uint16_t port) { return (uint64_t{h} << 16) | port; }

std::pair<uint64_t, uint64_t> tuple_key(SocketAddress local, SocketAddress remote) {
  return {(uint64_t{local.ip.value} << 16) | local.port, (uint64_t{remote.ip.value} << 16) | remote.port};
}

bool contains_host(const PartitionSide& s, const Topology& t, HostId h) {
  if (std::find(s.hosts.begin(), s.hosts.end(), h) != s.hosts.end()) return true;
  NodeId n = t.node_of(h);
  return std::find(s.nodes.begin(), s.nodes.end(), n) != s.nodes.end();
}

}  // namespace

// ---------------------------------------------------------------------------------------
Network::Impl::Impl(Network& n, Simulator& s)
    : net(n),
      sim(s),
      jitter_rng(s.rng("net/jitter")),
      loss_rng(s.rng("net/loss")),
      iss_rng(s.rng("net/tcp-iss")),
      kube_proxy_rng(s.rng("net/kube-proxy")) {
  net_actor = sim.actor("net");
  k_syn = sim.kind("tcp.syn");
  k_synack = sim.kind("tcp.syn-ack");
  k_ack = sim.kind("tcp.handshake-ack");
  k_deliver = sim.kind("tcp.deliver");
  k_retry = sim.kind("tcp.retransmit");
  k_timeout = sim.kind("tcp.connect-timeout");
  k_rst = sim.kind("tcp.rst");
  k_fail = sim.kind("tcp.connect-failed");
  k_wire = sim.view_kind("tcp.wire");
  k_flush = sim.kind("tcp.flush-held");
  o_conn = sim.kind("tcp.connection");
  o_data = sim.kind("tcp.data");
  o_segment = sim.view_kind("tcp.segment");
  o_node = sim.kind("net.node");
  o_partition = sim.kind("net.partition");
}

Network::Network(Simulator& sim, LinkModel links)
    : sim_(sim), links_(std::move(links)), impl_(std::make_unique<Impl>(*this, sim)) {}

Network::~Network() = default;

size_t Network::connection_footprint_bytes() { return sizeof(NetConnection); }

Result<NodeId> Network::add_node(NodeSpec spec) {
  auto r = topo_.add_node(std::move(spec));
  if (r.ok()) impl_->nodes_up.push_back(true);
  return r;
}

Result<HostId> Network::add_host(HostSpec spec) {
  auto r = topo_.add_host(std::move(spec));
  if (!r.ok()) return r;
  NetHost h;
  h.actor = sim_.actor("pod/" + topo_.host_label(*r));
  h.up = impl_->nodes_up[topo_.node_of(*r)];
  impl_->hosts.push_back(h);
  return r;
}

Status Network::add_node_port(SocketAddress node_port, std::vector<SocketAddress> endpoints) {
  if (impl_->vips.count(node_port)) return Error{"NodePort " + to_string(node_port) + ": defined twice"};
  impl_->vips.emplace(node_port, std::move(endpoints));
  return Status::Ok();
}

Status Network::add_service_vip(SocketAddress vip, std::vector<SocketAddress> endpoints) {
  if (impl_->vips.count(vip)) return Error{"ClusterIP " + to_string(vip) + ": defined twice"};
  if (topo_.host_by_ip(vip.ip) != kNoHost) return Error{"ClusterIP " + to_string(vip) + ": is a pod IP"};
  impl_->vips.emplace(vip, std::move(endpoints));
  impl_->vip_ips.insert(vip.ip.value);
  return Status::Ok();
}

size_t Network::reset_host_connections(HostId host) {
  Impl& m = *impl_;
  std::vector<TcpSocket> socks;
  for (auto& slot_ptr : m.slots) {
    NetConnection* c = slot_ptr.get();
    if (!c || c->finished) continue;
    for (int side = 0; side < 2; ++side) {
      const NetEndpoint& e = c->ends[side];
      if (e.host == host && e.exists && !e.released) socks.push_back(Impl::socket_of(*c, side));
    }
  }
  for (TcpSocket s : socks) reset(s);
  return socks.size();
}

Status Network::set_service_endpoints(SocketAddress vip, std::vector<SocketAddress> endpoints) {
  auto it = impl_->vips.find(vip);
  if (it == impl_->vips.end()) return Error{"ClusterIP " + to_string(vip) + ": not defined"};
  it->second = std::move(endpoints);
  return Status::Ok();
}

bool Network::node_up(NodeId node) const { return node < impl_->nodes_up.size() && impl_->nodes_up[node]; }
bool Network::host_up(HostId host) const { return host < impl_->hosts.size() && impl_->hosts[host].up; }
bool Network::path_blocked(HostId a, HostId b) const { return impl_->blocked(a, b); }

void Network::enable_wire_records() { wire_enabled_ = true; }

Network::WireCounts Network::wire_counts(uint64_t connection, bool from_client) const {
  auto it = impl_->wire_counts.find(connection);
  if (it == impl_->wire_counts.end()) return {};
  return it->second[from_client ? 0 : 1];
}

// ---- helpers ------------------------------------------------------------------------------
bool Network::Impl::separated(HostId a, HostId b) const {
  if (a == b || active_partitions == 0) return false;
  const Topology& t = net.topo_;
  for (const Partition& p : partitions) {
    if (!p.active) continue;
    if ((contains_host(p.a, t, a) && contains_host(p.b, t, b)) || (contains_host(p.b, t, a) && contains_host(p.a, t, b))) {
      return true;
    }
  }
  return false;
}

bool Network::Impl::blocked(HostId a, HostId b) const {
  if (a >= hosts.size() || b >= hosts.size()) return true;
  if (!hosts[a].up || !hosts[b].up) return true;
  return separated(a, b);
}

Duration Network::Impl::draw_jitter(const LinkProfile& p) {
  if (p.jitter.ns() <= 0) return Duration::zero();
  return Duration::nanos(static_cast<int64_t>(jitter_rng.uniform_u64(static_cast<uint64_t>(p.jitter.ns()) + 1)));
}

NetConnection* Network::Impl::resolve(TcpSocket s, int* side) {
  if (!s) return nullptr;
  uint32_t gen = static_cast<uint32_t>(s.id >> 32);
  uint64_t low = s.id & 0xffffffffULL;
  if ((low >> 1) == 0) return nullptr;
  uint32_t slot = static_cast<uint32_t>((low >> 1) - 1);
  NetConnection* c = get(slot, gen);
  if (!c) return nullptr;
  int sd = static_cast<int>(low & 1);
  if (!c->ends[sd].exists || c->ends[sd].released) return nullptr;
  *side = sd;
  return c;
}

void Network::Impl::publish_conn(NetConnection& c, int side, TcpEvent e) {
  const NetEndpoint& ep = c.ends[side];
  uint64_t digest = hash_combine(hash_combine(c.id, static_cast<uint64_t>(e)), static_cast<uint64_t>(side));
  TcpConnectionObservation o;
  o.event = e;
  o.connection = c.id;
  o.client_side = side == 0;
  o.host = ep.host;
  o.local = ep.local;
  o.remote = ep.remote;
  o.redirected = side == 1 && c.original_dst.has_value();
  if (o.redirected) o.original_dst = *c.original_dst;
  o.counters = ep.counters;
  sim.publish(actor_of(ep.host), o_conn, digest, o);
}

template <typename Member, typename... Args>
bool Network::Impl::invoke(NetConnection*& c, int side, Member member, Args... args) {
  NetEndpoint& e = c->ends[side];
  auto& stored = e.cb.*member;
  if (!stored) return false;
  const uint32_t slot = c->slot, gen = c->gen;
  auto fn = std::move(stored);
  stored = nullptr;
  const uint32_t version = e.cb_version;
  ++c->busy;
  fn(args...);
  --c->busy;
  NetEndpoint& after = c->ends[side];
  if (!after.released && after.cb_version == version && !(after.cb.*member)) after.cb.*member = std::move(fn);
  if (c->busy == 0 && c->free_pending) {
    c->free_pending = false;
    maybe_free(*c);
    c = get(slot, gen);  // null when it was freed
  }
  return true;
}

Time Network::Impl::nic_free(NetConnection& c, int d, Time t, Duration busy) {
  HostId h = d == 0 ? c.flow.client_host : c.flow.server_host;
  NetHost& host = hosts[h];
  Time& f = c.flow.loopback ? host.lo_free : host.eth_free;
  Time start = std::max(t, f);
  f = start + busy;
  return start;
}

// ---- listeners ------------------------------------------------------------------------------
ListenerId Network::listen(HostId host, SocketAddress bind, AcceptHandler on_accept) {
  Impl& m = *impl_;
  if (host >= m.hosts.size() || !m.hosts[host].up || !on_accept || bind.port == 0) return {};
  auto& idx = m.listen_index[listen_key(host, bind.port)];
  for (uint32_t li : idx) {
    const NetListener& l = m.listeners[li];
    if (l.active && (l.bind.ip.is_any() || bind.ip.is_any() || l.bind.ip == bind.ip)) return {};
  }
  NetListener l;
  l.host = host;
  l.bind = bind;
  l.on_accept = std::move(on_accept);
  l.active = true;
  m.listeners.push_back(std::move(l));
  auto li = static_cast<uint32_t>(m.listeners.size() - 1);
  idx.push_back(li);
  return ListenerId{li + 1};
}

bool Network::close_listener(ListenerId id) {
  Impl& m = *impl_;
  if (!id || id.value > m.listeners.size()) return false;
  NetListener& l = m.listeners[id.value - 1];
  if (!l.active) return false;
  l.active = false;
  ++l.version;
  auto& idx = m.listen_index[listen_key(l.host, l.bind.port)];
  std::erase(idx, id.value - 1);
  // Safe even from inside the handler: on_ack_arrive() moves the handler out
  // while it runs and puts it back only if the listener is unchanged.
  l.on_accept = nullptr;
  return true;
}

namespace {
int find_listener(const Network::Impl& m, HostId host, SocketAddress local) {
  auto it = m.listen_index.find(listen_key(host, local.port));
  if (it == m.listen_index.end()) return -1;
  int any = -1;
  for (uint32_t li : it->second) {
    const NetListener& l = m.listeners[li];
    if (!l.active) continue;
    if (l.bind.ip == local.ip) return static_cast<int>(li);
    if (l.bind.ip.is_any()) any = static_cast<int>(li);
  }
  return any;
}
}  // namespace

// ---- connect --------------------------------------------------------------------------------
TcpSocket Network::connect(HostId from, SocketAddress to, const ConnectOptions& options, TcpCallbacks callbacks) {
  Impl& m = *impl_;
  if (from >= m.hosts.size()) return {};
  uint32_t slot;
  if (!m.free_slots.empty()) {
    slot = m.free_slots.back();
    m.free_slots.pop_back();
  } else {
    slot = static_cast<uint32_t>(m.slots.size());
    m.slots.emplace_back();
  }
  m.slots[slot] = std::make_unique<NetConnection>();
  NetConnection& c = *m.slots[slot];
  c.slot = slot;
  // Generations only grow (connection numbers do), so a stale handle never
  // matches a later connection in the same slot (until 2^32 connections).
  c.gen = static_cast<uint32_t>(next_connection_id_) == 0 ? 1 : static_cast<uint32_t>(next_connection_id_);
  c.id = next_connection_id_++;
  ++live_connections_;
  NetEndpoint& client = c.ends[0];
  client.exists = true;
  client.host = from;
  client.cb = std::move(callbacks);

  const HostSpec& hs = topo_.host(from);
  const Ipv4 src_ip = options.source_ip ? *options.source_ip : (to.ip.is_loopback() ? Ipv4::loopback() : hs.ip);
  const bool dst_local = to.ip.is_loopback() || to.ip == hs.ip;
  c.out_cap = hs.injected  ? classify_outbound(hs.interception, {options.uid, src_ip, to, dst_local})
              : hs.ambient ? classify_ambient_outbound({options.uid, src_ip, to, dst_local})
                           : CaptureDecision{CaptureAction::kNone, CaptureReason::kNotInjected};
  c.in_cap = {CaptureAction::kNone, CaptureReason::kNotInjected};
  c.client_dst = to;

  HostId server_host = kNoHost;
  SocketAddress server_local = to;
  SocketAddress server_on_wire = to;
  bool loopback = false;
  bool hairpin = false;
  std::optional<ConnectError> failure;
  Duration fail_after = Duration::zero();

  if (c.out_cap.action != CaptureAction::kNone) {
    uint16_t port = c.out_cap.action == CaptureAction::kRedirectOutbound ? kProxyOutboundPort : kProxyInboundPort;
    server_host = from;
    server_local = server_on_wire = SocketAddress{Ipv4::loopback(), port};  // REDIRECT in OUTPUT: 127.0.0.1
    loopback = true;
    c.original_dst = to;
  } else if (dst_local) {
    server_host = from;
    loopback = true;
  } else {
    if (auto it = m.vips.find(to); it != m.vips.end()) {
      if (it->second.empty()) {
        failure = ConnectError::kRefused;  // kube-proxy REJECT: ICMP port unreachable
        fail_after = links_.profile(Relation::kSameNode).latency * 2;
      } else {
        server_on_wire = it->second[m.kube_proxy_rng.uniform_u64(it->second.size())];
      }
    } else if (m.vip_ips.count(to.ip.value)) {
      c.blackhole = true;  // a ClusterIP, but not this port: nothing answers
    }
    if (!failure && !c.blackhole) {
      server_host = topo_.host_by_ip(server_on_wire.ip);
      if (server_host == kNoHost) {
        failure = ConnectError::kUnreachable;
      } else {
        hairpin = server_host == from;
        server_local = server_on_wire;
        const HostSpec& ts = topo_.host(server_host);
        if (ts.injected || ts.ambient) {
          c.in_cap = ts.injected ? classify_inbound(ts.interception, server_on_wire.port)
                                 : classify_ambient_inbound(server_on_wire.port,
                                                            hs.node_host && topo_.node_of(from) == topo_.node_of(server_host));
          if (c.in_cap.action == CaptureAction::kRedirectInbound) {
            server_local = SocketAddress{ts.ip, kProxyInboundPort};  // REDIRECT in PREROUTING: pod IP
            c.original_dst = server_on_wire;
          }
        }
      }
    }
  }
  if (!m.hosts[from].up) failure = ConnectError::kHostDown;

  if (loopback) {
    c.relation = Relation::kLoopback;
    c.profile = links_.profile(Relation::kLoopback);
  } else if (hairpin) {
    c.relation = Relation::kSameNode;
    c.profile = links_.profile(Relation::kSameNode);
  } else if (server_host != kNoHost) {
    c.relation = topo_.relation(from, server_host);
    c.profile = links_.between(topo_, from, server_host);
  } else {
    c.relation = Relation::kSameZone;
    c.profile = links_.profile(Relation::kSameZone);
  }

  // Source port: explicit, or the host's ephemeral cursor (skipping 4-tuples in use).
  uint16_t port = options.source_port;
  if (port != 0) {
    if (m.tuples.count(tuple_key({src_ip, port}, to))) failure = ConnectError::kAddressInUse;
  } else {
    NetHost& h = m.hosts[from];
    const int range = kEphemeralHigh - kEphemeralLow + 1;
    for (int i = 0; i < range; ++i) {
      uint16_t p = h.next_port;
      h.next_port = p == kEphemeralHigh ? kEphemeralLow : static_cast<uint16_t>(p + 1);
      if (!m.tuples.count(tuple_key({src_ip, p}, to))) {
        port = p;
        break;
      }
    }
    if (port == 0) failure = ConnectError::kAddressInUse;
  }
  client.local = SocketAddress{src_ip, port};
  client.remote = to;
  if (!failure || *failure != ConnectError::kAddressInUse) {
    m.tuples.insert(tuple_key(client.local, to));
    c.has_tuple = true;
  }

  NetEndpoint& server = c.ends[1];
  server.host = server_host;
  server.local = server_local;
  server.remote = client.local;

  c.flow.client = client.local;
  c.flow.server_at_client = loopback ? server_local : to;
  c.flow.server_on_wire = loopback ? server_local : server_on_wire;
  c.flow.client_host = from;
  c.flow.server_host = server_host;
  c.flow.loopback = loopback;

  // Sequence-number material, drawn for every connection whether or not it is captured.
  uint64_t r0 = m.iss_rng.next_u64();
  uint64_t r1 = m.iss_rng.next_u64();
  if (wire_enabled_) {
    m.wire_init(c);
    c.wire->d[0].iss = static_cast<uint32_t>(r0);
    c.wire->d[0].ts_offset = static_cast<uint32_t>(r0 >> 32);
    c.wire->d[1].iss = static_cast<uint32_t>(r1);
    c.wire->d[1].ts_offset = static_cast<uint32_t>(r1 >> 32);
    c.wire->d[0].ip_id = static_cast<uint16_t>(r0 >> 16);
    c.wire->d[1].ip_id = static_cast<uint16_t>(r1 >> 16);
  }

  m.publish_conn(c, 0, TcpEvent::kConnect);
  TcpSocket sock = Impl::socket_of(c, 0);
  const uint32_t gen = c.gen;

  if (failure && *failure != ConnectError::kRefused) {
    ConnectError err = *failure;
    m.sim.schedule_after(fail_after, m.actor_of(from), m.k_fail, [mp = &m, slot, gen, err] {
      if (NetConnection* cc = mp->get(slot, gen)) mp->fail_connect(*cc, err);
    });
    return sock;
  }
  if (failure) {  // kube-proxy REJECT: the SYN leaves, an ICMP error comes back
    if (c.wire) {
      WireSingle s;
      s.dep = m.sim.now();
      s.arr = kNever;
      s.flags = kTcpSyn;
      m.wire_add_single(c, 0, s);
    }
    m.sim.schedule_after(fail_after, m.actor_of(from), m.k_fail, [mp = &m, slot, gen] {
      if (NetConnection* cc = mp->get(slot, gen)) mp->fail_connect(*cc, ConnectError::kRefused);
    });
    return sock;
  }
  Duration timeout = options.connect_timeout.ns() > 0 ? std::min(options.connect_timeout, kKernelConnectTimeout)
                                                      : kKernelConnectTimeout;
  c.connect_deadline = m.sim.now() + timeout;
  c.connect_timer = m.sim.schedule_at(c.connect_deadline, m.actor_of(from), m.k_timeout, [mp = &m, slot, gen] {
    NetConnection* cc = mp->get(slot, gen);
    if (cc && !cc->established) mp->fail_connect(*cc, ConnectError::kTimeout);
  });
  m.syn_attempt(c);
  return sock;
}

void Network::Impl::syn_attempt(NetConnection& c) {
  const int n = c.syn_attempts++;
  if (n > 0) ++c.ends[0].counters.retransmitted_segments;
  const Time now = sim.now();
  NetDirection& D = c.dirs[0];
  bool lost = c.blackhole || blocked(c.flow.client_host, c.flow.server_host) || draw_loss(c.profile);
  Time arr = kNever;
  if (!lost) {
    arr = std::max(now + c.profile.latency + draw_jitter(c.profile), D.last_arrival);
    D.last_arrival = arr;
  }
  D.last_depart = now;
  if (c.wire) {
    WireSingle s;
    s.dep = now;
    s.arr = arr;
    s.flags = kTcpSyn;
    s.retrans = n > 0;
    wire_add_single(c, 0, s);
  }
  const uint32_t slot = c.slot, gen = c.gen;
  if (!lost) {
    sim.schedule_at(arr, actor_of(c.flow.server_host), k_syn, [this, slot, gen] { on_syn_arrive(slot, gen); });
  }
  Time next = now + kSynRto * (int64_t{1} << n);
  if (n < kSynRetries && next < c.connect_deadline) {
    c.syn_retry = sim.schedule_at(next, actor_of(c.flow.client_host), k_retry, [this, slot, gen] {
      NetConnection* cc = get(slot, gen);
      if (cc && !cc->established && !cc->finished) syn_attempt(*cc);
    });
  }
}

void Network::Impl::on_syn_arrive(uint32_t slot, uint32_t gen) {
  NetConnection* c = get(slot, gen);
  if (!c || c->finished || c->established) return;
  const HostId sh = c->flow.server_host;
  if (!hosts[sh].up) return;
  const Time now = sim.now();
  NetDirection& D = c->dirs[1];
  const bool lost = blocked(sh, c->flow.client_host) || draw_loss(c->profile);
  Time arr = kNever;
  if (!lost) {
    arr = std::max(now + c->profile.latency + draw_jitter(c->profile), D.last_arrival);
    D.last_arrival = arr;
  }
  D.last_depart = now;
  const int li = find_listener(*this, sh, c->ends[1].local);
  if (li < 0) {  // closed port: RST|ACK
    if (c->wire) {
      WireSingle s;
      s.dep = now;
      s.arr = arr;
      s.flags = kTcpRst | kTcpAck;
      s.kind = WireKind::kRefusal;
      wire_add_single(*c, 1, s);
    }
    if (!lost) {
      sim.schedule_at(arr, actor_of(c->flow.client_host), k_rst, [this, slot, gen] { on_refused(slot, gen); });
    }
    return;
  }
  if (c->wire) {
    WireSingle s;
    s.dep = now;
    s.arr = arr;
    s.flags = kTcpSyn | kTcpAck;
    s.retrans = c->wire->d[1].snd_nxt > 0;
    wire_add_single(*c, 1, s);
  }
  if (!lost) {
    sim.schedule_at(arr, actor_of(c->flow.client_host), k_synack, [this, slot, gen] { on_synack_arrive(slot, gen); });
  }
}

void Network::Impl::on_refused(uint32_t slot, uint32_t gen) {
  NetConnection* c = get(slot, gen);
  if (!c || c->finished || c->established) return;
  fail_connect(*c, ConnectError::kRefused);
}

void Network::Impl::on_synack_arrive(uint32_t slot, uint32_t gen) {
  NetConnection* c = get(slot, gen);
  if (!c || c->finished || c->established || c->ends[0].released) return;
  c->established = true;
  sim.cancel(c->syn_retry);
  sim.cancel(c->connect_timer);
  publish_conn(*c, 0, TcpEvent::kEstablished);
  if (blocked(c->flow.client_host, c->flow.server_host)) {
    // The handshake ACK falls into a partition: the server stays half-open and
    // retransmits its SYN-ACK; the client's next segment that gets through
    // (or the ACK to a SYN-ACK retransmission) completes the handshake.
    c->ack_lost = true;
    if (c->wire) {
      WireSingle s;
      s.dep = sim.now();
      s.arr = kNever;
      s.flags = kTcpAck;
      wire_add_single(*c, 0, s);
    }
    c->dirs[0].last_depart = sim.now();
    sim.schedule_after(kSynRto, actor_of(c->flow.server_host), k_retry,
                       [this, slot, gen] { on_synack_retry(slot, gen, 0); });
  } else {
    send_handshake_ack(*c);
  }
  transmit(*c, 0);
  invoke(c, 0, &TcpCallbacks::on_connected);
}

void Network::Impl::send_handshake_ack(NetConnection& c) {
  const Time now = sim.now();
  NetDirection& D = c.dirs[0];
  Time arr = std::max(now + c.profile.latency + draw_jitter(c.profile), D.last_arrival);
  D.last_arrival = arr;
  D.last_depart = std::max(D.last_depart, now);
  if (c.wire) {
    WireSingle s;
    s.dep = now;
    s.arr = arr;
    s.flags = kTcpAck;
    wire_add_single(c, 0, s);
  }
  const uint32_t slot = c.slot, gen = c.gen;
  sim.schedule_at(arr, actor_of(c.flow.server_host), k_ack, [this, slot, gen] { on_ack_arrive(slot, gen); });
}

void Network::Impl::on_synack_retry(uint32_t slot, uint32_t gen, int n) {
  NetConnection* c = get(slot, gen);
  if (!c || c->finished || c->accepted || !c->ack_lost) return;
  const Time now = sim.now();
  const bool lost = blocked(c->flow.server_host, c->flow.client_host);
  if (c->wire) {
    WireSingle s;
    s.dep = now;
    s.arr = lost ? kNever : now + c->profile.latency;
    s.flags = kTcpSyn | kTcpAck;
    s.retrans = true;
    wire_add_single(*c, 1, s);
  }
  if (lost) {
    Duration wait = std::min(kSynRto * (int64_t{2} << std::min(n, 6)), kRtoMax);
    sim.schedule_after(wait, actor_of(c->flow.server_host), k_retry,
                       [this, slot, gen, n] { on_synack_retry(slot, gen, n + 1); });
    return;
  }
  // The client answers the retransmitted SYN-ACK with an ACK.
  c->ack_lost = false;
  const Time at_client = now + c->profile.latency;
  NetDirection& D = c->dirs[0];
  Time arr = std::max(at_client + c->profile.latency, D.last_arrival);
  D.last_arrival = arr;
  if (c->wire) {
    WireSingle s;
    s.dep = at_client;
    s.arr = arr;
    s.flags = kTcpAck;
    wire_add_single(*c, 0, s);
  }
  sim.schedule_at(arr, actor_of(c->flow.server_host), k_ack, [this, slot, gen] { on_ack_arrive(slot, gen); });
}

void Network::Impl::on_ack_arrive(uint32_t slot, uint32_t gen) {
  NetConnection* c = get(slot, gen);
  if (!c || c->finished || c->accepted) return;
  const HostId sh = c->flow.server_host;
  c->accepted = true;
  NetEndpoint& srv = c->ends[1];
  srv.exists = true;
  if (!hosts[sh].up) {  // the server's node died during the handshake
    srv.dead = true;
    release(*c, 1);
    return;
  }
  const int li = find_listener(*this, sh, srv.local);
  if (li < 0) {  // the listener went away between SYN and ACK: the stack resets
    srv.released = true;
    send_rst(*c, 1, WireKind::kStackRst);
    release(*c, 1);
    return;
  }
  publish_conn(*c, 1, TcpEvent::kAccepted);
  NetListener& l = listeners[static_cast<size_t>(li)];
  AcceptHandler handler = std::move(l.on_accept);
  l.on_accept = nullptr;
  const uint32_t version = l.version;
  ConnectionInfo ci = *net.info(socket_of(*c, 1));
  ++c->busy;
  TcpCallbacks cbs = handler(socket_of(*c, 1), ci);
  --c->busy;
  NetListener& l2 = listeners[static_cast<size_t>(li)];
  if (l2.version == version && !l2.on_accept) l2.on_accept = std::move(handler);
  NetEndpoint& srv2 = c->ends[1];
  if (!srv2.released) {
    srv2.cb = std::move(cbs);
    ++srv2.cb_version;
  }
  if (c->busy == 0 && c->free_pending) {
    c->free_pending = false;
    maybe_free(*c);
  }
}

void Network::Impl::fail_connect(NetConnection& c, ConnectError err) {
  if (c.finished || c.ends[0].released || c.established) return;
  sim.cancel(c.syn_retry);
  sim.cancel(c.connect_timer);
  TcpEvent e = TcpEvent::kTimedOut;
  switch (err) {
    case ConnectError::kRefused: e = TcpEvent::kRefused; break;
    case ConnectError::kTimeout: e = TcpEvent::kTimedOut; break;
    case ConnectError::kUnreachable: e = TcpEvent::kUnreachable; break;
    case ConnectError::kAddressInUse: e = TcpEvent::kAddressInUse; break;
    case ConnectError::kHostDown: e = TcpEvent::kUnreachable; break;
  }
  publish_conn(c, 0, e);
  NetConnection* cp = &c;
  invoke(cp, 0, &TcpCallbacks::on_connect_failed, err);
  if (cp) release(*cp, 0);
}

// ---- byte streams ---------------------------------------------------------------------------
bool Network::send(TcpSocket s, std::span<const uint8_t> bytes) {
  Impl& m = *impl_;
  int side;
  NetConnection* c = m.resolve(s, &side);
  if (!c) return false;
  NetEndpoint& e = c->ends[side];
  if (e.shut_wr || e.dead) return false;
  if (bytes.empty()) return true;
  NetDirection& D = c->dirs[side];
  // Keep bytes that a delivery in progress may still point to.
  if (D.buf.size() + bytes.size() > D.buf.capacity() && c->busy > 0) {
    std::vector<uint8_t> nb;
    nb.reserve(std::max<size_t>(2 * (D.buf.size() - D.head + bytes.size()), 4096));
    nb.insert(nb.end(), D.buf.begin() + static_cast<ptrdiff_t>(D.head), D.buf.end());
    c->retired.push_back(std::move(D.buf));  // freed once no callback runs
    D.buf = std::move(nb);
    D.head = 0;
  }
  if (D.head == D.buf.size()) {
    // Empty buffer: choose where the bytes land. glibc's rep-movsb memcpy
    // runs several times slower on some CPUs when the destination sits just
    // above the source modulo 4 KiB (an app reusing a same-sized heap
    // buffer hits that every time), so keep that distance >= 256 bytes.
    D.buf.clear();
    D.head = 0;
    if (D.buf.capacity() < bytes.size() + 512) D.buf.reserve(bytes.size() + 512);
    const auto delta = (reinterpret_cast<uintptr_t>(D.buf.data()) - reinterpret_cast<uintptr_t>(bytes.data())) & 4095;
    if (delta < 256) {
      D.buf.resize(256);
      D.head = 256;
    }
  }
  D.buf.insert(D.buf.end(), bytes.begin(), bytes.end());
  D.written += bytes.size();
  e.counters.bytes_sent += bytes.size();
  if (side == 0 && !c->established) return true;  // goes out with the handshake
  m.transmit(*c, side);
  return true;
}

void Network::Impl::transmit(NetConnection& c, int d) {
  NetDirection& D = c.dirs[d];
  const bool fin_pending = D.fin_queued && !D.fin_sent;
  if (D.written == D.sent && !fin_pending) return;
  const HostId from = d == 0 ? c.flow.client_host : c.flow.server_host;
  const HostId to = d == 0 ? c.flow.server_host : c.flow.client_host;
  if (D.blocked || blocked(from, to) || c.ends[1 - d].dead) {
    enter_blocked(c, d);
    return;
  }
  if (d == 0 && c.ack_lost) {  // the first segment through completes the handshake
    c.ack_lost = false;
    send_handshake_ack(c);
  }
  while (D.sent < D.written) {
    uint64_t len = std::min<uint64_t>(kPieceBytes, D.written - D.sent);
    make_train(c, d, D.sent, static_cast<uint32_t>(len), D.sent + len == D.written, D.sent < D.transmitted);
    D.sent += len;
  }
  D.transmitted = std::max(D.transmitted, D.written);
  if (fin_pending) {
    make_fin(c, d, false);
    D.fin_sent = true;
  }
}

void Network::Impl::make_train(NetConnection& c, int d, uint64_t off, uint32_t len, bool psh, bool retrans) {
  NetDirection& D = c.dirs[d];
  const LinkProfile& p = c.profile;
  const Time now = sim.now();
  const uint32_t nseg = (len + kMss - 1) / kMss;
  const uint32_t last_len = len - (nseg - 1) * kMss;
  const Duration ser_full = serialisation_delay(kMss + kWireOverheadBytes, p.bandwidth_bps);
  const Duration ser_last = serialisation_delay(last_len + kWireOverheadBytes, p.bandwidth_bps);
  const Duration busy = ser_full * (nseg - 1) + ser_last;
  // Receive window: the last byte of this piece may leave only once the
  // sender knows everything up to (end - window) was received, i.e. one
  // latency after the piece holding that byte was delivered.
  Time earliest = std::max(now, D.last_depart);
  const uint64_t end = off + len;
  if (end > kSendWindow) {
    const uint64_t y = end - kSendWindow;
    for (size_t i = D.hist_head; i < D.hist.size(); ++i) {
      if (D.hist[i].first >= y) {
        earliest = std::max(earliest, D.hist[i].second + p.latency);
        break;
      }
    }
  }
  Time d0;
  if (earliest > std::max(now, D.last_depart) &&
      earliest > (c.flow.loopback ? hosts[c.ends[d].host].lo_free : hosts[c.ends[d].host].eth_free)) {
    d0 = earliest;  // window-limited: the NIC is idle meanwhile; do not hold it for others
  } else {
    d0 = nic_free(c, d, earliest, busy);
  }
  Duration prop = p.latency + draw_jitter(p);
  const Duration ser0 = nseg == 1 ? ser_last : ser_full;
  if (d0 + ser0 + prop < D.last_arrival) prop = D.last_arrival - d0 - ser0;  // never overtake earlier bytes
  const Time last_dep = d0 + ser_full * (nseg - 1);
  const Time a_last = last_dep + ser_last + prop;
  Time all = a_last;

  NetEndpoint& sender = c.ends[d];
  if (retrans) sender.counters.retransmitted_segments += nseg;
  else sender.counters.segments_sent += nseg;

  WireTrain wt;
  const bool wire = c.wire != nullptr;
  if (wire) {
    wt.off = off;
    wt.len = len;
    wt.nseg = static_cast<uint16_t>(nseg);
    wt.d0 = d0;
    wt.ser_full = ser_full.ns();
    wt.ser_last = ser_last.ns();
    wt.prop = prop.ns();
    wt.psh = psh;
    wt.retrans = retrans;
  }
  if (p.loss > 0) {
    const Duration rto0 = rto(c);
    for (uint32_t k = 0; k < nseg; ++k) {
      if (!draw_loss(p)) continue;
      const Duration serk = k + 1 < nseg ? ser_full : ser_last;
      const uint32_t lenk = k + 1 < nseg ? kMss : last_len;
      if (wire) wt.lost.push_back(static_cast<uint16_t>(k));
      // Fast retransmit once the third duplicate ACK is back, else an RTO.
      Time r = k + 3 < nseg ? d0 + ser_full * (k + 3) + (k + 4 < nseg ? ser_full : ser_last) + prop + p.latency
                            : d0 + ser_full * k + rto0;
      Duration next_rto = rto0;
      for (int attempt = 1;; ++attempt) {
        ++sender.counters.retransmitted_segments;
        const bool again = draw_loss(p) && attempt < kRetries2;
        const Time arr = r + serk + prop;
        if (wire) {
          WireSingle s;
          s.dep = r;
          s.arr = again ? kNever : arr;
          s.flags = kTcpAck | ((psh && k + 1 == nseg) ? kTcpPsh : 0);
          s.off = off + uint64_t{k} * kMss;
          s.len = lenk;
          s.retrans = true;
          wire_add_single(c, d, s);
        }
        if (!again) {
          all = std::max(all, arr);
          break;
        }
        r = r + next_rto;
        next_rto = std::min(next_rto * 2, kRtoMax);
      }
    }
  }
  const Time deliver_at = std::max(all, D.last_delivery);
  D.last_depart = last_dep;
  D.last_arrival = std::max(D.last_arrival, a_last);
  D.last_delivery = deliver_at;
  D.q.push_back(NetChunk{off + len, deliver_at, nseg, false});
  D.hist.emplace_back(off + len, deliver_at);
  while (D.hist_head < D.hist.size() && D.hist[D.hist_head].first + kSendWindow < off + len) ++D.hist_head;
  if (D.hist_head > 64 && D.hist_head * 2 > D.hist.size()) {
    D.hist.erase(D.hist.begin(), D.hist.begin() + static_cast<ptrdiff_t>(D.hist_head));
    D.hist_head = 0;
  }
  const uint32_t slot = c.slot, gen = c.gen;
  sim.schedule_at(deliver_at, actor_of(d == 0 ? c.flow.server_host : c.flow.client_host), k_deliver,
                  [this, slot, gen, d] { on_deliver(slot, gen, d); });
  if (wire) {
    wire_add_train(c, d, std::move(wt));
  }
}

Time Network::Impl::lossy_single_arrival(NetConnection& c, int d, Time dep, Duration first_rto, uint8_t flags,
                                         uint64_t off, uint32_t len, bool retrans, int* attempts_out) {
  NetDirection& D = c.dirs[d];
  const LinkProfile& p = c.profile;
  Duration next_rto = first_rto;
  int attempts = 0;
  for (;;) {
    Time arr = std::max(dep + p.latency + draw_jitter(p), D.last_arrival);
    const bool lost = draw_loss(p) && attempts < kRetries2;
    if (c.wire) {
      WireSingle s;
      s.dep = dep;
      s.arr = lost ? kNever : arr;
      s.flags = flags;
      s.off = off;
      s.len = len;
      s.retrans = retrans || attempts > 0;
      wire_add_single(c, d, s);
    }
    if (!lost) {
      D.last_arrival = arr;
      if (attempts_out) *attempts_out = attempts;
      return arr;
    }
    ++attempts;
    ++c.ends[d].counters.retransmitted_segments;
    dep = dep + next_rto;
    next_rto = std::min(next_rto * 2, kRtoMax);
  }
}

void Network::Impl::make_fin(NetConnection& c, int d, bool retrans) {
  NetDirection& D = c.dirs[d];
  const Time dep = std::max(sim.now(), D.last_depart);
  int attempts = 0;
  Time arr = lossy_single_arrival(c, d, dep, rto(c), kTcpFin | kTcpAck, D.written, 0, retrans, &attempts);
  const Time deliver_at = std::max(arr, D.last_delivery);
  D.last_depart = dep;
  D.last_delivery = deliver_at;
  D.q.push_back(NetChunk{D.written, deliver_at, 0, true});
  const uint32_t slot = c.slot, gen = c.gen;
  sim.schedule_at(deliver_at, actor_of(d == 0 ? c.flow.server_host : c.flow.client_host), k_deliver,
                  [this, slot, gen, d] { on_deliver(slot, gen, d); });
}

void Network::Impl::enter_blocked(NetConnection& c, int d) {
  NetDirection& D = c.dirs[d];
  const Time now = sim.now();
  // What departs now is dropped by the network; a capture still sees it leave.
  if (D.written > D.transmitted) {
    uint64_t off = D.transmitted;
    while (off < D.written) {
      uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(kPieceBytes, D.written - off));
      const uint32_t nseg = (len + kMss - 1) / kMss;
      c.ends[d].counters.segments_sent += nseg;
      if (c.wire) {
        WireTrain wt;
        wt.off = off;
        wt.len = len;
        wt.nseg = static_cast<uint16_t>(nseg);
        const Duration ser_full = serialisation_delay(kMss + kWireOverheadBytes, c.profile.bandwidth_bps);
        const Duration ser_last =
            serialisation_delay(len - (nseg - 1) * kMss + kWireOverheadBytes, c.profile.bandwidth_bps);
        wt.d0 = nic_free(c, d, std::max(now, D.last_depart), ser_full * (nseg - 1) + ser_last);
        wt.ser_full = ser_full.ns();
        wt.ser_last = ser_last.ns();
        wt.psh = off + len == D.written;
        wt.all_lost = true;
        D.last_depart = wt.d0 + ser_full * (nseg - 1);
        wire_add_train(c, d, std::move(wt));
      }
      off += len;
    }
    D.transmitted = D.written;
  }
  if (D.fin_queued && !D.fin_sent && c.wire && !D.blocked) {
    WireSingle s;
    s.dep = std::max(now, D.last_depart);
    s.arr = kNever;
    s.flags = kTcpFin | kTcpAck;
    s.off = D.written;
    wire_add_single(c, d, s);
  }
  if (D.blocked) return;
  D.blocked = true;
  D.backoff = 0;
  const uint32_t slot = c.slot, gen = c.gen;
  const Duration wait = c.ends[1 - d].dead && hosts[d == 0 ? c.flow.server_host : c.flow.client_host].up
                            ? Duration::zero()
                            : rto(c);
  D.retry = sim.schedule_after(wait, actor_of(d == 0 ? c.flow.client_host : c.flow.server_host), k_retry,
                               [this, slot, gen, d] { on_retry(slot, gen, d); });
}

void Network::Impl::on_retry(uint32_t slot, uint32_t gen, int d) {
  NetConnection* c = get(slot, gen);
  if (!c || c->finished) return;
  NetDirection& D = c->dirs[d];
  if (!D.blocked || c->ends[d].dead) return;
  const HostId from = d == 0 ? c->flow.client_host : c->flow.server_host;
  const HostId to = d == 0 ? c->flow.server_host : c->flow.client_host;
  const Time now = sim.now();
  const bool fin_only = D.sent == D.written;
  auto retransmit_head = [&](Time arr) {
    if (!c->wire) return;
    WireSingle s;
    s.dep = now;
    s.arr = arr;
    s.retrans = true;
    if (fin_only) {
      s.flags = kTcpFin | kTcpAck;
      s.off = D.written;
    } else {
      s.flags = kTcpAck;
      s.off = D.sent;
      s.len = static_cast<uint32_t>(std::min<uint64_t>(kMss, D.written - D.sent));
    }
    wire_add_single(*c, d, s);
  };
  if (blocked(from, to)) {
    if (++D.backoff > kRetries2) {
      D.blocked = false;
      abort_endpoint(*c, d, ResetReason::kTimeout);
      return;
    }
    ++c->ends[d].counters.retransmitted_segments;
    retransmit_head(kNever);
    Duration wait = rto(*c);
    for (int i = 0; i < D.backoff && wait < kRtoMax; ++i) wait = wait * 2;
    wait = std::min(wait, kRtoMax);
    D.retry = sim.schedule_after(wait, actor_of(from), k_retry, [this, slot, gen, d] { on_retry(slot, gen, d); });
    return;
  }
  if (c->ends[1 - d].dead) {
    // The peer's host is back, but its sockets are gone: the retransmission
    // meets a host without a socket for it, which answers with RST.
    ++c->ends[d].counters.retransmitted_segments;
    Time arr = std::max(now + c->profile.latency, D.last_arrival);
    D.last_arrival = arr;
    retransmit_head(arr);
    D.blocked = false;
    NetDirection& R = c->dirs[1 - d];
    Time rst_arr = std::max(arr + c->profile.latency, R.last_arrival);
    R.last_arrival = rst_arr;
    if (c->wire) {
      WireSingle s;
      s.dep = arr;
      s.arr = rst_arr;
      s.flags = kTcpRst;
      s.kind = WireKind::kStackRst;
      wire_add_single(*c, 1 - d, s);
    }
    sim.schedule_at(rst_arr, actor_of(from), k_rst, [this, slot, gen, d] { on_rst_arrive(slot, gen, d); });
    return;
  }
  D.blocked = false;
  D.backoff = 0;
  transmit(*c, d);
}

void Network::Impl::on_deliver(uint32_t slot, uint32_t gen, int d) {
  NetConnection* c = get(slot, gen);
  if (!c) return;
  NetDirection& D = c->dirs[d];
  if (D.q_empty()) return;
  const NetChunk ch = D.q[D.q_head];
  if (ch.at > sim.now()) return;
  if (++D.q_head == D.q.size()) {
    D.q.clear();
    D.q_head = 0;
  }
  const int r = 1 - d;
  if (c->finished) {
    D.delivered = std::max(D.delivered, ch.end);
    trim(*c, d);
    return;
  }
  NetEndpoint& R = c->ends[r];
  if (ch.fin) {
    D.fin_delivered = true;
    if (R.released || R.dead) return;
    R.peer_fin = true;
    publish_conn(*c, r, TcpEvent::kFinReceived);
    if (!R.held.empty() || !R.cb.on_data) {
      R.held_fin = true;
      return;
    }
    invoke(c, r, &TcpCallbacks::on_peer_fin);
    return;
  }
  const uint64_t start = D.delivered;
  const uint64_t len = ch.end - start;
  D.delivered = ch.end;
  R.counters.bytes_received += len;
  R.counters.segments_received += ch.segments;
  if (R.released || R.dead) {
    // Data for a socket the application closed: Linux answers with RST.
    if (!R.dead && !c->rst_sent[r]) send_rst(*c, r, WireKind::kStackRst);
    trim(*c, d);
    return;
  }
  std::span<const uint8_t> bytes(D.at(start), static_cast<size_t>(len));
  {
    TcpDataObservation o;
    o.connection = c->id;
    o.to_client = d == 1;
    o.host = R.host;
    o.stream_offset = start;
    o.bytes = bytes;
    sim.publish(actor_of(R.host), o_data, hash_combine(hash_combine(c->id, start), len * 2 + static_cast<uint64_t>(d)),
                o);
  }
  if (R.cb.on_data && R.held.empty()) {
    invoke(c, r, &TcpCallbacks::on_data, bytes);
    if (!c) return;
  } else {
    R.held.insert(R.held.end(), bytes.begin(), bytes.end());
  }
  trim(*c, d);
}

void Network::Impl::trim(NetConnection& c, int d) {
  if (c.busy == 0 && !c.retired.empty()) c.retired.clear();
  NetDirection& D = c.dirs[d];
  uint64_t keep = D.delivered;
  if (c.wire) keep = std::min(keep, wire_needed_offset(c, d));
  if (keep <= D.base) return;
  D.head += static_cast<size_t>(keep - D.base);
  D.base = keep;
  if (D.head == D.buf.size()) {
    D.buf.clear();
    D.head = 0;
  } else if (D.head >= 65536 && D.head * 2 >= D.buf.size() && c.busy == 0) {
    D.buf.erase(D.buf.begin(), D.buf.begin() + static_cast<ptrdiff_t>(D.head));
    D.head = 0;
  }
}

bool Network::shutdown_write(TcpSocket s) {
  Impl& m = *impl_;
  int side;
  NetConnection* c = m.resolve(s, &side);
  if (!c) return false;
  NetEndpoint& e = c->ends[side];
  if (e.shut_wr || e.dead) return e.shut_wr;
  e.shut_wr = true;
  c->dirs[side].fin_queued = true;
  m.publish_conn(*c, side, TcpEvent::kFinSent);
  if (side == 1 || c->established) m.transmit(*c, side);
  return true;
}

void Network::Impl::send_rst(NetConnection& c, int from_side, WireKind kind) {
  c.rst_sent[from_side] = true;
  NetDirection& D = c.dirs[from_side];
  const HostId from = from_side == 0 ? c.flow.client_host : c.flow.server_host;
  const HostId to = from_side == 0 ? c.flow.server_host : c.flow.client_host;
  const Time dep = std::max(sim.now(), D.last_depart);
  const bool lost = blocked(from, to);
  Time arr = kNever;
  if (!lost) {
    arr = std::max(dep + c.profile.latency + draw_jitter(c.profile), D.last_arrival);
    D.last_arrival = arr;
  }
  D.last_depart = dep;
  if (c.wire) {
    WireSingle s;
    s.dep = dep;
    s.arr = arr;
    s.flags = kind == WireKind::kStackRst ? kTcpRst : (kTcpRst | kTcpAck);
    s.kind = kind;
    wire_add_single(c, from_side, s);
  }
  if (!lost) {
    const uint32_t slot = c.slot, gen = c.gen;
    const int to_side = 1 - from_side;
    sim.schedule_at(arr, actor_of(to), k_rst, [this, slot, gen, to_side] { on_rst_arrive(slot, gen, to_side); });
  }
}

void Network::Impl::on_rst_arrive(uint32_t slot, uint32_t gen, int to_side) {
  NetConnection* c = get(slot, gen);
  if (!c || c->finished) return;
  NetEndpoint& E = c->ends[to_side];
  if (!E.exists || E.released || E.dead) return;
  if (to_side == 0 && !c->established) {
    fail_connect(*c, ConnectError::kRefused);
    return;
  }
  // Bytes still in flight towards E are discarded with the connection.
  NetDirection& in = c->dirs[1 - to_side];
  in.q_head = in.q.size();
  sim.cancel(c->dirs[to_side].retry);
  c->dirs[to_side].blocked = false;
  c->rst_sent[to_side] = true;  // a reset socket answers nothing
  publish_conn(*c, to_side, TcpEvent::kResetReceived);
  invoke(c, to_side, &TcpCallbacks::on_reset, ResetReason::kPeerReset);
  if (c) release(*c, to_side);
}

void Network::Impl::abort_endpoint(NetConnection& c, int side, ResetReason why) {
  publish_conn(c, side, TcpEvent::kAborted);
  c.rst_sent[side] = true;
  NetConnection* cp = &c;
  invoke(cp, side, &TcpCallbacks::on_reset, why);
  if (cp) release(*cp, side);
}

bool Network::reset(TcpSocket s) {
  Impl& m = *impl_;
  int side;
  NetConnection* c = m.resolve(s, &side);
  if (!c) return false;
  if (side == 0 && !c->established) {  // abandon the handshake
    m.publish_conn(*c, 0, TcpEvent::kClosed);
    m.release(*c, 0);
    return true;
  }
  NetDirection& D = c->dirs[side];
  m.sim.cancel(D.retry);
  D.blocked = false;
  m.send_rst(*c, side, WireKind::kNormal);
  m.publish_conn(*c, side, TcpEvent::kResetSent);
  m.release(*c, side);
  return true;
}

bool Network::close(TcpSocket s) {
  Impl& m = *impl_;
  int side;
  NetConnection* c = m.resolve(s, &side);
  if (!c) return false;
  NetEndpoint& e = c->ends[side];
  if (side == 0 && !c->established) {
    m.publish_conn(*c, 0, TcpEvent::kClosed);
    m.release(*c, 0);
    return true;
  }
  if (!e.held.empty()) {  // unread data: Linux sends RST instead of FIN
    NetDirection& D = c->dirs[side];
    m.sim.cancel(D.retry);
    D.blocked = false;
    m.send_rst(*c, side, WireKind::kNormal);
    m.publish_conn(*c, side, TcpEvent::kResetSent);
    m.release(*c, side);
    return true;
  }
  if (!e.shut_wr) shutdown_write(s);
  e.user_closed = true;
  m.publish_conn(*c, side, TcpEvent::kClosed);
  m.release(*c, side);
  return true;
}

bool Network::set_callbacks(TcpSocket s, TcpCallbacks callbacks) {
  Impl& m = *impl_;
  int side;
  NetConnection* c = m.resolve(s, &side);
  if (!c) return false;
  NetEndpoint& e = c->ends[side];
  e.cb = std::move(callbacks);
  ++e.cb_version;
  if ((!e.held.empty() || e.held_fin) && e.cb.on_data) {
    const uint32_t slot = c->slot, gen = c->gen;
    m.sim.schedule_after(Duration::zero(), m.actor_of(e.host), m.k_flush,
                         [mp = &m, slot, gen, side] { mp->flush_held(slot, gen, side); });
  }
  return true;
}

void Network::Impl::flush_held(uint32_t slot, uint32_t gen, int side) {
  NetConnection* c = get(slot, gen);
  if (!c) return;
  NetEndpoint& e = c->ends[side];
  if (e.released || !e.cb.on_data) return;
  if (!e.held.empty()) {
    std::vector<uint8_t> bytes = std::move(e.held);
    e.held.clear();
    invoke(c, side, &TcpCallbacks::on_data, std::span<const uint8_t>(bytes));
    if (!c) return;
  }
  NetEndpoint& e2 = c->ends[side];
  if (e2.held_fin && !e2.released) {
    e2.held_fin = false;
    invoke(c, side, &TcpCallbacks::on_peer_fin);
  }
}

void Network::Impl::release(NetConnection& c, int side) {
  NetEndpoint& e = c.ends[side];
  if (!e.released) {
    e.released = true;
    e.cb = TcpCallbacks{};
    ++e.cb_version;
    e.held.clear();
    e.held.shrink_to_fit();
  }
  if (side == 0 && !c.established) {
    sim.cancel(c.syn_retry);
    sim.cancel(c.connect_timer);
  }
  const bool server_done = c.ends[1].released || (!c.accepted && !c.established);
  if (c.ends[0].released && server_done) {
    c.finished = true;
    sim.cancel(c.dirs[0].retry);
    sim.cancel(c.dirs[1].retry);
    maybe_free(c);
  }
}

void Network::Impl::maybe_free(NetConnection& c) {
  if (!c.finished) return;
  if (c.busy > 0) {
    c.free_pending = true;
    return;
  }
  if (c.wire && !wire_idle(c)) return;  // wire_run frees it once the last segment is out
  free_connection(c);
}

void Network::Impl::free_connection(NetConnection& c) {
  if (c.has_tuple) tuples.erase(tuple_key(c.ends[0].local, c.client_dst));
  sim.cancel(c.connect_timer);
  sim.cancel(c.syn_retry);
  sim.cancel(c.dirs[0].retry);
  sim.cancel(c.dirs[1].retry);
  if (c.wire) sim.cancel(c.wire->event);
  --net.live_connections_;
  const uint32_t slot = c.slot;
  c.gen = 0;
  slots[slot].reset();
  free_slots.push_back(slot);
}

// ---- queries --------------------------------------------------------------------------------
std::optional<ConnectionInfo> Network::info(TcpSocket s) const {
  int side;
  NetConnection* c = impl_->resolve(s, &side);
  if (!c) return std::nullopt;
  const NetEndpoint& e = c->ends[side];
  ConnectionInfo ci;
  ci.connection = c->id;
  ci.host = e.host;
  ci.client_side = side == 0;
  ci.local = e.local;
  ci.remote = e.remote;
  if (side == 1) ci.original_dst = c->original_dst;
  ci.outbound_capture = c->out_cap;
  ci.inbound_capture = c->in_cap;
  ci.relation = c->relation;
  return ci;
}

std::optional<TcpCounters> Network::counters(TcpSocket s) const {
  int side;
  NetConnection* c = impl_->resolve(s, &side);
  if (!c) return std::nullopt;
  return c->ends[side].counters;
}

bool Network::is_open(TcpSocket s) const {
  int side;
  return impl_->resolve(s, &side) != nullptr;
}

// ---- faults ---------------------------------------------------------------------------------
uint32_t Network::partition(PartitionSide a, PartitionSide b) {
  Impl& m = *impl_;
  m.partitions.push_back({std::move(a), std::move(b), true});
  ++m.active_partitions;
  auto id = static_cast<uint32_t>(m.partitions.size());
  m.sim.publish(m.net_actor, m.o_partition, hash_combine(id, 1), PartitionObservation{id, true});
  return id;
}

void Network::refresh_link_profiles() {
  Impl& m = *impl_;
  for (const auto& slot : m.slots) {
    NetConnection* c = slot.get();
    if (!c || c->finished) continue;
    // The same choice as at connect time (loopback, hairpin, between hosts).
    HostId a = c->flow.client_host, b = c->flow.server_host;
    if (c->relation == Relation::kLoopback) {
      c->profile = links_.profile(Relation::kLoopback);
    } else if (a == b) {
      c->profile = links_.profile(Relation::kSameNode);
    } else if (b != kNoHost && b < m.hosts.size()) {
      c->profile = links_.between(topo_, a, b);
    } else {
      c->profile = links_.profile(Relation::kSameZone);
    }
  }
}

bool Network::heal(uint32_t id) {
  Impl& m = *impl_;
  if (id == 0 || id > m.partitions.size() || !m.partitions[id - 1].active) return false;
  m.partitions[id - 1].active = false;
  --m.active_partitions;
  m.sim.publish(m.net_actor, m.o_partition, hash_combine(id, 0), PartitionObservation{id, false});
  return true;
}

void Network::set_node_up(NodeId node, bool up) {
  Impl& m = *impl_;
  if (node >= m.nodes_up.size() || m.nodes_up[node] == up) return;
  m.nodes_up[node] = up;
  for (HostId h = 0; h < m.hosts.size(); ++h) {
    if (topo_.node_of(h) == node) m.hosts[h].up = up;
  }
  if (!up) {
    for (NetListener& l : m.listeners) {
      if (l.active && topo_.node_of(l.host) == node) close_listener(ListenerId{static_cast<uint32_t>(&l - m.listeners.data()) + 1});
    }
    for (auto& slot_ptr : m.slots) {
      NetConnection* c = slot_ptr.get();
      if (!c || c->finished) continue;
      bool dead[2] = {false, false};
      for (int s = 0; s < 2; ++s) {
        NetEndpoint& e = c->ends[s];
        HostId h = s == 0 ? c->flow.client_host : c->flow.server_host;
        if (h == kNoHost || topo_.node_of(h) != node) continue;
        if (s == 1 && !e.exists) continue;  // not accepted yet: the handshake fails by itself
        if (e.released && !e.exists) continue;
        dead[s] = true;
      }
      if (!dead[0] && !dead[1]) continue;
      for (int s = 0; s < 2; ++s) {
        if (!dead[s] || dead[1 - s]) continue;
        // The survivor's bytes in flight towards the dead side are lost; it
        // retransmits them with backoff from now on.
        NetDirection& D = c->dirs[1 - s];
        if (!D.q_empty()) {
          D.q_head = D.q.size();
          D.sent = D.delivered;
          if (!D.fin_delivered) D.fin_sent = false;
          if (!D.blocked && !c->ends[1 - s].released) {
            D.blocked = true;
            D.backoff = 0;
            const uint32_t slot = c->slot, gen = c->gen;
            const int d = 1 - s;
            D.retry = m.sim.schedule_after(m.rto(*c), m.actor_of(c->ends[d].host), m.k_retry,
                                           [mp = &m, slot, gen, d] { mp->on_retry(slot, gen, d); });
          }
        }
      }
      for (int s = 0; s < 2; ++s) {
        if (!dead[s]) continue;
        c->ends[s].dead = true;
        m.sim.cancel(c->dirs[s].retry);
        c->dirs[s].blocked = false;
      }
      const uint32_t slot = c->slot, gen = c->gen;
      for (int s = 0; s < 2; ++s) {
        if (!dead[s]) continue;
        m.release(*c, s);
        c = m.get(slot, gen);  // null once freed
        if (!c) break;
      }
    }
  }
  m.sim.publish(m.net_actor, m.o_node, hash_combine(node, up ? 1 : 0),
                NodeStateObservation{node, topo_.node(node).name, up});
}

}  // namespace meshsim::sim
