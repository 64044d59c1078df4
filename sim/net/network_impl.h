// Internal state of sim::Network, shared by network.cc (the behavioural TCP
// model: handshakes, byte streams, FIN/RST, partitions, node faults) and
// network_wire.cc (the wire model that turns the same schedule into
// individual segments with headers when wire records are enabled).
// Not part of the public API; include only from sim/net/*.cc and tests.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sim/net/network.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace meshsim::sim {

namespace netconst {
inline constexpr uint32_t kMss = 1448;                 // payload per segment (1460 - 12 bytes of timestamps)
inline constexpr uint16_t kSynMss = 1460;              // MSS option in SYN / SYN-ACK
inline constexpr uint32_t kPieceSegments = 45;         // delivery granularity: 45 × MSS = 65,160 bytes
inline constexpr uint64_t kPieceBytes = uint64_t{kMss} * kPieceSegments;
inline constexpr Duration kSynRto = Duration::seconds(1);     // TCP_TIMEOUT_INIT
inline constexpr Duration kRtoMin = Duration::millis(200);    // TCP_RTO_MIN
inline constexpr Duration kRtoMax = Duration::seconds(120);   // TCP_RTO_MAX
inline constexpr int kSynRetries = 6;                           // tcp_syn_retries
inline constexpr int kRetries2 = 15;                            // tcp_retries2
inline constexpr Duration kDelayedAck = Duration::millis(40);   // TCP_DELACK_MIN
inline constexpr uint8_t kWindowScale = 7;
inline constexpr uint32_t kReceiveWindow = 6291456;             // tcp_rmem max
// Bytes in flight a sender allows itself: the advertised window less a margin
// for the delayed ACKs a capture shows (the model assumes immediate ACKs).
inline constexpr uint64_t kSendWindow = kReceiveWindow - 4 * 1448;
inline constexpr uint16_t kSynWindow = 64240;
inline constexpr uint16_t kEphemeralLow = 32768;                // ip_local_port_range
inline constexpr uint16_t kEphemeralHigh = 60999;
inline constexpr Time kNever = Time::max();
}  // namespace netconst

struct NetChunk {
  uint64_t end = 0;       // stream offset after this chunk
  Time at;                // delivery time
  uint32_t segments = 0;  // payload segments it took (for counters)
  bool fin = false;
};

// One direction of a connection: the sender's byte stream and its schedule.
struct NetDirection {
  std::vector<uint8_t> buf;  // bytes [base, base + buf.size() - head) of the stream
  size_t head = 0;
  uint64_t base = 0;
  uint64_t written = 0;      // accepted by send()
  uint64_t sent = 0;         // delivery scheduled up to here
  uint64_t transmitted = 0;  // departed on the wire (some possibly into a partition)
  uint64_t delivered = 0;
  bool fin_queued = false;
  bool fin_sent = false;     // FIN delivery scheduled
  bool fin_delivered = false;
  Time last_depart;
  Time last_arrival;
  Time last_delivery;
  std::vector<NetChunk> q;
  size_t q_head = 0;
  bool blocked = false;      // segments are being dropped; retrying with backoff
  int backoff = 0;
  EventId retry;
  // (end offset, delivery time) of recent pieces, for the receive window.
  std::vector<std::pair<uint64_t, Time>> hist;
  size_t hist_head = 0;

  const uint8_t* at(uint64_t offset) const { return buf.data() + head + (offset - base); }
  bool q_empty() const { return q_head == q.size(); }
};

struct NetEndpoint {
  TcpCallbacks cb;
  uint32_t cb_version = 0;
  std::vector<uint8_t> held;  // delivered while on_data was unset
  bool held_fin = false;
  HostId host = kNoHost;
  SocketAddress local;
  SocketAddress remote;
  TcpCounters counters;
  bool exists = false;
  bool released = false;
  bool user_closed = false;
  bool shut_wr = false;
  bool peer_fin = false;
  bool dead = false;
};

// ---- wire model state (capture mode) ------------------------------------------------
struct WireTrain {
  uint64_t order = 0;
  uint64_t off = 0;
  uint32_t len = 0;
  uint16_t nseg = 0;
  uint16_t next = 0;  // next segment to depart
  Time d0;
  int64_t ser_full = 0;
  int64_t ser_last = 0;
  int64_t prop = 0;  // arrival = departure + ser + prop
  bool psh = false;
  bool all_lost = false;
  bool retrans = false;
  std::vector<uint16_t> lost;  // sorted indices whose first transmission is lost

  Time dep(uint32_t k) const { return d0 + Duration::nanos(int64_t{k} * ser_full); }
  uint32_t seg_len(uint32_t k) const {
    return k + 1 < nseg ? netconst::kMss : len - (nseg - 1) * netconst::kMss;
  }
  int64_t ser(uint32_t k) const { return k + 1 < nseg ? ser_full : ser_last; }
};

enum class WireKind : uint8_t {
  kNormal,     // a segment of the connection (SYN, SYN-ACK, ACK, FIN, RST, retransmission)
  kStackRst,   // RST from a host with no socket for it (no options, seq = what was expected)
  kRefusal,    // RST|ACK answering a SYN on a closed port (seq 0, ack = SYN + 1)
};

struct WireSingle {
  uint64_t order = 0;
  Time dep;
  Time arr;          // kNever when lost
  uint8_t flags = 0;
  uint64_t off = 0;  // data offset (data retransmission) / stream end (FIN)
  uint32_t len = 0;
  bool retrans = false;
  WireKind kind = WireKind::kNormal;
};

struct WireInFlight {
  Time arr;
  uint64_t order = 0;
  TcpSegmentObservation seg;  // header fields fixed at departure; payload re-pointed on arrival
  uint64_t off = 0;           // payload stream offset
  uint64_t rel_start = 0;     // relative sequence numbers it occupies
  uint64_t rel_end = 0;
};

struct WireDir {
  uint32_t iss = 0;
  uint32_t ts_offset = 0;
  uint16_t ip_id = 0;
  std::deque<WireTrain> trains;
  std::vector<WireSingle> singles;
  std::vector<WireInFlight> inflight;  // min-heap on (arr, order)
  uint64_t snd_nxt = 0;                // relative: 0 = SYN, 1 + offset = data
  // The receiver's view of this stream.
  bool rx_syn = false;
  uint64_t rcv_nxt = 0;
  uint64_t acked = 0;                  // last ack (relative) the receiver sent
  std::vector<std::pair<uint64_t, uint64_t>> ooo;  // out-of-order ranges beyond rcv_nxt
  Time delack_at = netconst::kNever;
  uint32_t ts_recent = 0;
  Time ack_clamp;                      // pure ACKs of the other side never overtake its data
  bool fin_departed = false;
};

struct WireConn {
  WireDir d[2];
  uint64_t next_order = 1;
  EventId event;
  Time event_at = netconst::kNever;
};

struct NetConnection {
  uint32_t slot = 0;
  uint32_t gen = 0;
  uint64_t id = 0;
  NetEndpoint ends[2];     // 0 client, 1 server
  NetDirection dirs[2];    // 0 client → server, 1 server → client
  TcpFlowAddresses flow;
  LinkProfile profile;
  Relation relation = Relation::kSameZone;
  CaptureDecision out_cap;
  CaptureDecision in_cap;
  std::optional<SocketAddress> original_dst;
  SocketAddress client_dst;  // as the client addressed it (4-tuple key)
  bool blackhole = false;    // SYNs go nowhere (unrouted port of a ClusterIP)
  bool established = false;  // client got the SYN-ACK
  bool accepted = false;     // server endpoint exists
  bool ack_lost = false;     // the handshake ACK fell into a partition; the server is half-open
  bool finished = false;     // both endpoints released: behaviour over
  bool free_pending = false;
  int busy = 0;              // callbacks of this connection on the stack
  bool rst_sent[2] = {false, false};
  bool has_tuple = false;    // registered in the 4-tuple table
  std::vector<std::vector<uint8_t>> retired;  // buffers a running on_data may still point into
  int syn_attempts = 0;
  Time connect_deadline;
  EventId syn_retry;
  EventId connect_timer;
  std::unique_ptr<WireConn> wire;
};

struct NetListener {
  HostId host = kNoHost;
  SocketAddress bind;
  AcceptHandler on_accept;
  uint32_t version = 0;
  bool active = false;
};

struct NetHost {
  bool up = true;
  uint16_t next_port = netconst::kEphemeralLow;
  ActorId actor = 0;
  Time eth_free;
  Time lo_free;
};

struct Network::Impl {
  Impl(Network& n, Simulator& s);

  Network& net;
  Simulator& sim;
  std::vector<NetHost> hosts;
  std::vector<bool> nodes_up;
  std::vector<std::unique_ptr<NetConnection>> slots;
  std::vector<uint32_t> free_slots;
  std::vector<NetListener> listeners;  // id = index + 1
  std::unordered_map<uint64_t, std::vector<uint32_t>> listen_index;  // (host << 16 | port) → listener indices
  std::map<SocketAddress, std::vector<SocketAddress>> vips;
  std::set<uint32_t> vip_ips;
  struct Partition {
    PartitionSide a, b;
    bool active = true;
  };
  std::vector<Partition> partitions;
  size_t active_partitions = 0;
  struct TupleHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& t) const {
      return static_cast<size_t>(t.first * 0x9e3779b97f4a7c15ULL ^ (t.second + (t.first >> 17)));
    }
  };
  std::unordered_set<std::pair<uint64_t, uint64_t>, TupleHash> tuples;
  std::unordered_map<uint64_t, std::array<WireCounts, 2>> wire_counts;

  RandomStream jitter_rng;
  RandomStream loss_rng;
  RandomStream iss_rng;
  RandomStream kube_proxy_rng;

  ActorId net_actor = 0;
  EventKindId k_syn, k_synack, k_ack, k_deliver, k_retry, k_timeout, k_rst, k_fail, k_wire, k_flush;
  EventKindId o_conn, o_data, o_segment, o_node, o_partition;

  // ---- helpers (network.cc) ----
  NetConnection* get(uint32_t slot, uint32_t gen) {
    if (slot >= slots.size()) return nullptr;
    NetConnection* c = slots[slot].get();
    return c && c->gen == gen ? c : nullptr;
  }
  NetConnection* resolve(TcpSocket s, int* side);
  static TcpSocket socket_of(const NetConnection& c, int side) {
    return TcpSocket{(uint64_t{c.gen} << 32) | (uint64_t{c.slot + 1} << 1) | static_cast<uint64_t>(side)};
  }
  ActorId actor_of(HostId h) const { return h < hosts.size() ? hosts[h].actor : net_actor; }
  bool blocked(HostId a, HostId b) const;
  bool separated(HostId a, HostId b) const;
  Duration rto(const NetConnection& c) const { return c.profile.latency * 2 + netconst::kRtoMin; }
  Duration draw_jitter(const LinkProfile& p);
  bool draw_loss(const LinkProfile& p) { return p.loss > 0 && loss_rng.bernoulli(p.loss); }

  void publish_conn(NetConnection& c, int side, TcpEvent e);

  // behaviour
  void syn_attempt(NetConnection& c);
  void on_syn_arrive(uint32_t slot, uint32_t gen);
  void on_synack_arrive(uint32_t slot, uint32_t gen);
  void send_handshake_ack(NetConnection& c);
  void on_synack_retry(uint32_t slot, uint32_t gen, int n);
  void on_ack_arrive(uint32_t slot, uint32_t gen);
  void on_refused(uint32_t slot, uint32_t gen);
  void fail_connect(NetConnection& c, ConnectError err);
  void transmit(NetConnection& c, int d);
  void make_train(NetConnection& c, int d, uint64_t off, uint32_t len, bool psh, bool retrans);
  void make_fin(NetConnection& c, int d, bool retrans);
  Time lossy_single_arrival(NetConnection& c, int d, Time dep, Duration first_rto, uint8_t flags, uint64_t off,
                            uint32_t len, bool retrans, int* attempts_out);
  void enter_blocked(NetConnection& c, int d);
  void on_retry(uint32_t slot, uint32_t gen, int d);
  void on_deliver(uint32_t slot, uint32_t gen, int d);
  void send_rst(NetConnection& c, int from_side, WireKind kind);
  void on_rst_arrive(uint32_t slot, uint32_t gen, int to_side);
  void abort_endpoint(NetConnection& c, int side, ResetReason why);
  void release(NetConnection& c, int side);
  void maybe_free(NetConnection& c);
  void free_connection(NetConnection& c);
  void trim(NetConnection& c, int d);
  void flush_held(uint32_t slot, uint32_t gen, int side);
  Time nic_free(NetConnection& c, int d, Time t, Duration busy);

  template <typename Member, typename... Args>
  bool invoke(NetConnection*& c, int side, Member member, Args... args);

  // wire model (network_wire.cc)
  void wire_init(NetConnection& c);
  void wire_add_train(NetConnection& c, int d, WireTrain t);
  void wire_add_single(NetConnection& c, int d, WireSingle s);
  void wire_schedule(NetConnection& c);
  void wire_run(uint32_t slot, uint32_t gen);
  bool wire_idle(const NetConnection& c) const;
  uint64_t wire_needed_offset(const NetConnection& c, int d) const;
};

}  // namespace meshsim::sim
