// The wire model of sim::Network (capture mode). The behavioural model
// (network.cc) fixes when every segment departs and arrives; this file plays
// those schedules out segment by segment, per connection and in time order,
// and adds what only a capture can see: sequence and acknowledgement numbers,
// timestamps options, IP ids, pure ACKs under the delayed-ACK model, duplicate
// ACKs with SACK blocks after a loss. Each departure and each arrival is
// published as a TcpSegmentObservation at the moment it happens.
//
// Per connection one pending simulator event ("tcp.wire") sits at the time of
// the next thing that happens on the wire; at equal times arrivals are
// processed before departures (a segment leaving at t acknowledges what
// arrived at t) and departures before delayed-ACK deadlines.
#include <algorithm>

#include "proxy/base/hash.h"
#include "sim/net/network_impl.h"
#include "sim/net/packet.h"

namespace meshsim::sim {

using namespace netconst;  // NOLINT(google-build-using-namespace)

namespace {

bool heap_after(const WireInFlight& a, const WireInFlight& b) {
  return a.arr != b.arr ? a.arr > b.arr : a.order > b.order;
}

uint32_t ms_clock(Time t) { return static_cast<uint32_t>(t.ns() / 1'000'000); }

const WireSingle* min_single(const std::vector<WireSingle>& v, size_t* idx) {
  const WireSingle* best = nullptr;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!best || v[i].dep < best->dep || (v[i].dep == best->dep && v[i].order < best->order)) {
      best = &v[i];
      *idx = i;
    }
  }
  return best;
}

}  // namespace

void Network::Impl::wire_init(NetConnection& c) {
  c.wire = std::make_unique<WireConn>();
  wire_counts[c.id] = {};
}

void Network::Impl::wire_add_train(NetConnection& c, int d, WireTrain t) {
  t.order = c.wire->next_order++;
  c.wire->d[d].trains.push_back(std::move(t));
  wire_schedule(c);
}

void Network::Impl::wire_add_single(NetConnection& c, int d, WireSingle s) {
  s.order = c.wire->next_order++;
  c.wire->d[d].singles.push_back(s);
  wire_schedule(c);
}

bool Network::Impl::wire_idle(const NetConnection& c) const {
  if (!c.wire) return true;
  for (const WireDir& w : c.wire->d) {
    if (!w.trains.empty() || !w.singles.empty() || !w.inflight.empty() || w.delack_at != kNever) return false;
  }
  return true;
}

uint64_t Network::Impl::wire_needed_offset(const NetConnection& c, int d) const {
  uint64_t need = UINT64_MAX;
  const WireDir& w = c.wire->d[d];
  if (!w.trains.empty()) {
    const WireTrain& t = w.trains.front();
    need = std::min(need, t.off + uint64_t{t.next} * kMss);
  }
  for (const WireSingle& s : w.singles) {
    if (s.len) need = std::min(need, s.off);
  }
  for (const WireInFlight& f : w.inflight) {
    if (!f.seg.payload.empty() || f.rel_end > f.rel_start + 1) need = std::min(need, f.off);
  }
  return need;
}

namespace {

struct NextItem {
  Time t = kNever;
  int cls = 3;  // 0 arrival, 1 departure, 2 delayed ACK
  int d = 0;
  uint64_t order = 0;
  bool before(const NextItem& o) const {
    if (t != o.t) return t < o.t;
    if (cls != o.cls) return cls < o.cls;
    if (d != o.d) return d < o.d;
    return order < o.order;
  }
};

NextItem next_item(const WireConn& w) {
  NextItem best;
  for (int d = 0; d < 2; ++d) {
    const WireDir& x = w.d[d];
    if (!x.inflight.empty()) {
      NextItem n{x.inflight.front().arr, 0, d, x.inflight.front().order};
      if (n.before(best)) best = n;
    }
    if (!x.trains.empty()) {
      const WireTrain& t = x.trains.front();
      NextItem n{t.dep(t.next), 1, d, t.order};
      if (n.before(best)) best = n;
    }
    size_t idx = 0;
    if (const WireSingle* s = min_single(x.singles, &idx)) {
      NextItem n{s->dep, 1, d, s->order};
      if (n.before(best)) best = n;
    }
    if (x.delack_at != kNever) {
      NextItem n{x.delack_at, 2, d, 0};
      if (n.before(best)) best = n;
    }
  }
  return best;
}

}  // namespace

void Network::Impl::wire_schedule(NetConnection& c) {
  WireConn& w = *c.wire;
  NextItem n = next_item(w);
  if (n.t == kNever) {
    if (sim.is_pending(w.event)) sim.cancel(w.event);
    w.event_at = kNever;
    return;
  }
  const Time at = std::max(n.t, sim.now());
  if (sim.is_pending(w.event)) {
    if (w.event_at <= at) return;
    sim.cancel(w.event);
  }
  w.event_at = at;
  const uint32_t slot = c.slot, gen = c.gen;
  w.event = sim.schedule_at(at, actor_of(c.flow.client_host), k_wire, [this, slot, gen] { wire_run(slot, gen); });
}

namespace {

// Everything needed to emit one departing segment.
struct Departure {
  uint8_t flags = 0;
  uint64_t rel_start = 0;
  uint64_t rel_end = 0;
  uint64_t off = 0;
  uint32_t len = 0;
  Time arr = kNever;
  bool retrans = false;
  WireKind kind = WireKind::kNormal;
  uint32_t sack_left = 0, sack_right = 0;
};

}  // namespace

void Network::Impl::wire_run(uint32_t slot, uint32_t gen) {
  NetConnection* c = get(slot, gen);
  if (!c || !c->wire) return;
  WireConn& w = *c->wire;
  w.event_at = kNever;
  const Time now = sim.now();
  auto& counts = wire_counts[c->id];

  auto publish_seg = [&](const TcpSegmentObservation& seg, int d) {
    uint64_t digest = hash_combine(hash_combine(c->id, seg.seq), (uint64_t{seg.flags} << 2) |
                                                                      (seg.point == TcpSegmentObservation::Point::kArrived ? 2 : 0) |
                                                                      static_cast<uint64_t>(d));
    HostId h = seg.point == TcpSegmentObservation::Point::kDeparted
                   ? (d == 0 ? c->flow.client_host : c->flow.server_host)
                   : (d == 0 ? c->flow.server_host : c->flow.client_host);
    sim.publish(actor_of(h), o_segment, digest, seg);
  };

  auto depart = [&](int d, const Departure& dep) {
    WireDir& W = w.d[d];
    WireDir& R = w.d[1 - d];
    TcpSegmentObservation seg;
    seg.point = TcpSegmentObservation::Point::kDeparted;
    seg.connection = c->id;
    seg.flow = &c->flow;
    seg.from_client = d == 0;
    seg.lost = dep.arr == kNever;
    seg.retransmission = dep.retrans;
    seg.flags = dep.flags;
    seg.ip_id = W.ip_id++;
    seg.departed_ns = now.ns();
    seg.arrives_ns = dep.arr == kNever ? -1 : dep.arr.ns();
    if (dep.kind == WireKind::kRefusal) {
      seg.seq = 0;
      seg.ack = R.iss + 1;
      seg.window = 0;
      seg.has_timestamps = false;
    } else {
      seg.seq = static_cast<uint32_t>(W.iss + dep.rel_start);
      if (dep.flags & kTcpAck) seg.ack = static_cast<uint32_t>(R.iss + R.rcv_nxt);
      seg.has_timestamps = dep.kind != WireKind::kStackRst;
      seg.window = (dep.flags & kTcpRst) ? 0
                   : (dep.flags & kTcpSyn) ? kSynWindow
                                           : static_cast<uint16_t>(kReceiveWindow >> kWindowScale);
      seg.tsval = W.ts_offset + ms_clock(now);
      seg.tsecr = (dep.flags & kTcpAck) ? R.ts_recent : 0;
      if (dep.flags & kTcpSyn) {
        seg.syn_mss = kSynMss;
        seg.syn_wscale = kWindowScale;
      }
      seg.sack_left = dep.sack_left;
      seg.sack_right = dep.sack_right;
    }
    if (dep.len) seg.payload = std::span<const uint8_t>(c->dirs[d].at(dep.off), dep.len);
    ++counts[d].frames;
    counts[d].bytes += kEthernetHeaderBytes + ipv4_packet_bytes(seg);
    publish_seg(seg, d);
    if ((dep.flags & kTcpAck) && dep.kind != WireKind::kRefusal) {
      R.acked = R.rcv_nxt;  // piggybacked acknowledgement
      R.delack_at = kNever;
    }
    W.snd_nxt = std::max(W.snd_nxt, dep.rel_end);
    if (dep.flags & kTcpFin) W.fin_departed = true;
    if (dep.arr != kNever) {
      W.ack_clamp = std::max(W.ack_clamp, dep.arr);
      WireInFlight f;
      f.arr = dep.arr;
      f.order = w.next_order++;
      f.seg = seg;
      f.seg.payload = {};
      f.off = dep.off;
      f.rel_start = dep.rel_start;
      f.rel_end = dep.rel_end;
      f.seg.payload = seg.payload;  // re-pointed on arrival; kept here for the length
      W.inflight.push_back(f);
      std::push_heap(W.inflight.begin(), W.inflight.end(), heap_after);
    }
  };

  // A pure ACK from the receiver of stream d.
  auto ack_now = [&](int d, uint32_t sack_left, uint32_t sack_right) {
    WireDir& X = w.d[d];      // the stream being acknowledged
    WireDir& R = w.d[1 - d];  // the acknowledger's own stream
    const HostId from = d == 0 ? c->flow.server_host : c->flow.client_host;
    const HostId to = d == 0 ? c->flow.client_host : c->flow.server_host;
    Departure dep;
    dep.flags = kTcpAck;
    dep.rel_start = dep.rel_end = R.snd_nxt;
    dep.sack_left = sack_left;
    dep.sack_right = sack_right;
    if (!blocked(from, to)) dep.arr = std::max(now + c->profile.latency, R.ack_clamp);
    (void)X;
    depart(1 - d, dep);
  };

  for (;;) {
    NextItem n = next_item(w);
    if (n.t > now) break;
    WireDir& W = w.d[n.d];
    if (n.cls == 0) {  // ---- arrival
      std::pop_heap(W.inflight.begin(), W.inflight.end(), heap_after);
      WireInFlight f = W.inflight.back();
      W.inflight.pop_back();
      TcpSegmentObservation seg = f.seg;
      seg.point = TcpSegmentObservation::Point::kArrived;
      const size_t len = f.seg.payload.size();
      seg.payload = len ? std::span<const uint8_t>(c->dirs[n.d].at(f.off), len) : std::span<const uint8_t>{};
      publish_seg(seg, n.d);
      if (seg.has_timestamps) W.ts_recent = seg.tsval;
      if (seg.flags & kTcpRst) continue;
      if (seg.flags & kTcpSyn) {
        W.rx_syn = true;
        W.rcv_nxt = std::max<uint64_t>(W.rcv_nxt, 1);
        W.acked = std::max<uint64_t>(W.acked, 1);
        continue;
      }
      if (f.rel_end == f.rel_start) continue;  // pure ACK
      if (f.rel_start == W.rcv_nxt) {
        const bool had_hole = !W.ooo.empty();
        W.rcv_nxt = f.rel_end;
        while (!W.ooo.empty() && W.ooo.front().first <= W.rcv_nxt) {
          W.rcv_nxt = std::max(W.rcv_nxt, W.ooo.front().second);
          W.ooo.erase(W.ooo.begin());
        }
        if (had_hole) {
          uint32_t l = 0, r = 0;
          if (!W.ooo.empty()) {
            l = static_cast<uint32_t>(W.iss + W.ooo.front().first);
            r = static_cast<uint32_t>(W.iss + W.ooo.front().second);
          }
          ack_now(n.d, l, r);
        } else if (W.rcv_nxt - W.acked > kMss) {
          ack_now(n.d, 0, 0);
        } else if ((seg.flags & kTcpFin) && w.d[1 - n.d].fin_departed) {
          ack_now(n.d, 0, 0);  // FIN in FIN_WAIT: ACK at once and enter TIME_WAIT
        } else if (W.delack_at == kNever) {
          W.delack_at = now + kDelayedAck;
        }
      } else if (f.rel_start > W.rcv_nxt) {  // out of order: duplicate ACK with SACK
        auto& v = W.ooo;
        v.emplace_back(f.rel_start, f.rel_end);
        std::sort(v.begin(), v.end());
        std::vector<std::pair<uint64_t, uint64_t>> merged;
        for (auto& r : v) {
          if (!merged.empty() && r.first <= merged.back().second) merged.back().second = std::max(merged.back().second, r.second);
          else merged.push_back(r);
        }
        v = std::move(merged);
        uint32_t l = 0, r = 0;
        for (auto& blk : v) {
          if (blk.first <= f.rel_start && f.rel_start < blk.second) {
            l = static_cast<uint32_t>(W.iss + blk.first);
            r = static_cast<uint32_t>(W.iss + blk.second);
          }
        }
        ack_now(n.d, l, r);
      } else {
        ack_now(n.d, 0, 0);  // duplicate data
      }
    } else if (n.cls == 1) {  // ---- departure
      Departure dep;
      size_t idx = 0;
      const WireSingle* s = min_single(W.singles, &idx);
      const bool from_train = !W.trains.empty() && (!s || W.trains.front().dep(W.trains.front().next) < s->dep ||
                                                    (W.trains.front().dep(W.trains.front().next) == s->dep &&
                                                     W.trains.front().order < s->order));
      if (from_train) {
        WireTrain& t = W.trains.front();
        const uint32_t k = t.next++;
        const uint32_t len = t.seg_len(k);
        dep.off = t.off + uint64_t{k} * kMss;
        dep.len = len;
        dep.rel_start = 1 + dep.off;
        dep.rel_end = dep.rel_start + len;
        dep.flags = kTcpAck | ((t.psh && k + 1 == t.nseg) ? kTcpPsh : 0);
        dep.retrans = t.retrans;
        const bool lost = t.all_lost || std::binary_search(t.lost.begin(), t.lost.end(), static_cast<uint16_t>(k));
        dep.arr = lost ? kNever : t.dep(k) + Duration::nanos(t.ser(k) + t.prop);
        if (t.next == t.nseg) W.trains.pop_front();
      } else {
        WireSingle sg = *s;
        W.singles.erase(W.singles.begin() + static_cast<ptrdiff_t>(idx));
        dep.flags = sg.flags;
        dep.arr = sg.arr;
        dep.retrans = sg.retrans;
        dep.kind = sg.kind;
        dep.off = sg.off;
        dep.len = sg.len;
        if (sg.flags & kTcpSyn) {
          dep.rel_start = 0;
          dep.rel_end = 1;
        } else if (sg.flags & kTcpFin) {
          dep.rel_start = 1 + sg.off;
          dep.rel_end = dep.rel_start + 1;
        } else if (sg.len) {
          dep.rel_start = 1 + sg.off;
          dep.rel_end = dep.rel_start + sg.len;
        } else {
          dep.rel_start = dep.rel_end = W.snd_nxt;
        }
      }
      depart(n.d, dep);
    } else {  // ---- delayed ACK deadline
      W.delack_at = kNever;
      if (W.rcv_nxt > W.acked) ack_now(n.d, 0, 0);
    }
  }
  // Bytes every remaining segment no longer needs can go.
  for (int d = 0; d < 2; ++d) trim(*c, d);
  wire_schedule(*c);
  if (c->finished && wire_idle(*c)) maybe_free(*c);
}

}  // namespace meshsim::sim
