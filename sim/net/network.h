// Network is the virtual network of a simulation: hosts (pod network
// namespaces) on nodes, links between them (sim/net/link_model.h), kube-proxy
// ClusterIPs, the istio-iptables capture rules of injected pods
// (sim/net/capture_rules.h), and virtual TCP connections with a callback
// socket API (sim/net/tcp_socket.h) that the sidecar glue and the virtual apps
// use. docs/model/network.md describes the model; this comment states the
// contract.
//
// TCP model (behaviour, always on):
//  * connect(): SYN → SYN-ACK → ACK; the client is connected after one round
//    trip, the server's accept handler runs when the ACK arrives (1.5 RTT).
//    No listener ⇒ RST ⇒ on_connect_failed(kRefused) after one round trip.
//    SYN lost (loss draw, partition, node down) ⇒ retransmitted after 1, 2, 4 … s
//    until the connect timeout ⇒ kTimeout.
//  * send() copies the bytes and puts them on the wire at once (no congestion
//    control, infinite buffers); each write is cut into pieces of at most
//    45 × MSS (65,160 bytes) that are delivered to the peer's on_data as one
//    call each, when the last of their segments arrives. Bytes of one stream
//    are delivered in order, exactly once; jitter never reorders them.
//  * Loss costs time, never bytes: a lost segment is retransmitted after a
//    fast-retransmit delay or an RTO (RTT + 200 ms, doubling) and everything
//    behind it waits (head-of-line blocking).
//  * shutdown_write() sends FIN after the queued bytes (half-close); reset()
//    sends RST and releases the socket; close() = shutdown_write() + release
//    (data arriving after close() is answered with RST, as Linux does).
//  * Partitions and down nodes drop segments at departure: the sender
//    retransmits with RTO backoff and either gets through after the heal, gets
//    an RST from a restarted host (all its sockets are gone), or gives up after
//    15 retransmissions (on_reset(kTimeout)).
//
// Wire records (capture mode, off by default): after enable_wire_records()
// every segment — handshake, data at MSS (1448 bytes), pure ACKs under the
// delayed-ACK model, FIN, RST, retransmissions — is published as a
// TcpSegmentObservation when it departs and when it arrives, with correct
// sequence/ack numbers, timestamps options and SACK blocks. The behaviour (the
// callbacks and when they run) is identical with and without wire records;
// only the wire events themselves are added.
//
// Determinism: every random draw comes from the named streams "net/jitter",
// "net/loss", "net/tcp-iss" and "net/kube-proxy"; ties in virtual time keep
// insertion order. Not thread-safe; belongs to the Simulator's thread. Events
// the Network schedules point into it: do not run the Simulator again after
// destroying the Network.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "proxy/base/result.h"
#include "sim/net/link_model.h"
#include "sim/net/resolver.h"
#include "sim/net/tcp_socket.h"
#include "sim/net/topology.h"
#include "sim/time.h"

namespace meshsim::sim {

class Simulator;

struct PartitionSide {
  std::vector<NodeId> nodes;
  std::vector<HostId> hosts;
};

class Network {
 public:
  explicit Network(Simulator& sim, LinkModel links = {});
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  Simulator& simulator() { return sim_; }

  // ---- topology -----------------------------------------------------------
  Result<NodeId> add_node(NodeSpec spec);
  Result<HostId> add_host(HostSpec spec);
  const Topology& topology() const { return topo_; }
  // The cluster DNS model the adapter fills and apps resolve names with.
  NameResolver& dns() { return dns_; }
  const NameResolver& dns() const { return dns_; }
  LinkModel& links() { return links_; }
  const LinkModel& links() const { return links_; }
  // After changing links() mid-run: open connections use the new profiles
  // for the segments they send from now on (the path changed under them);
  // segments already in flight keep their arrival times.
  void refresh_link_profiles();
  // kube-proxy: connections to `vip` (a ClusterIP:port) go to one of
  // `endpoints`, chosen uniformly ("net/kube-proxy"), as iptables mode does.
  // An empty list makes kube-proxy REJECT: connects are refused.
  Status add_service_vip(SocketAddress vip, std::vector<SocketAddress> endpoints);
  // kube-proxy's NodePort rule: connections to a node's IP on `node_port.port`
  // go to `endpoints`; other ports of that IP stay the node's own.
  Status add_node_port(SocketAddress node_port, std::vector<SocketAddress> endpoints);
  // A process died: every open connection of `host` is reset (RST to the
  // peers). Listeners are left to their owners. Returns the sockets reset.
  size_t reset_host_connections(HostId host);
  // kube-proxy re-syncs a ClusterIP's endpoints (pods became ready / unready).
  Status set_service_endpoints(SocketAddress vip, std::vector<SocketAddress> endpoints);

  // ---- sockets --------------------------------------------------------------
  // Listens on `bind` (IP 0.0.0.0 = every address of the host, or one
  // specific address such as 127.0.0.1). Returns an empty id when the host is
  // down or the address is taken.
  ListenerId listen(HostId host, SocketAddress bind, AcceptHandler on_accept);
  bool close_listener(ListenerId id);

  // Opens a connection from `from` to `to`. The capture rules of `from` (if
  // injected) and of the destination pod apply. Returns the client socket; the
  // outcome arrives through `callbacks` (on_connected or on_connect_failed).
  // Returns an empty socket only when `from` is not a host; every other
  // failure (host down, no route, port in use) comes through on_connect_failed.
  TcpSocket connect(HostId from, SocketAddress to, const ConnectOptions& options, TcpCallbacks callbacks);

  // All return false (and do nothing) for an unknown or released socket.
  bool send(TcpSocket s, std::span<const uint8_t> bytes);
  bool shutdown_write(TcpSocket s);
  bool reset(TcpSocket s);
  bool close(TcpSocket s);
  bool set_callbacks(TcpSocket s, TcpCallbacks callbacks);

  std::optional<ConnectionInfo> info(TcpSocket s) const;
  std::optional<TcpCounters> counters(TcpSocket s) const;
  // The socket is known and not released (it may be half-closed).
  bool is_open(TcpSocket s) const;

  // ---- faults ----------------------------------------------------------------
  // Drops every segment between a member of `a` and a member of `b` (both
  // ways) until heal(). Returns the partition id (> 0).
  uint32_t partition(PartitionSide a, PartitionSide b);
  bool heal(uint32_t partition_id);
  // Node down: its hosts lose every socket and listener at once (no FIN, no
  // RST); peers find out when they next send. Node up: the hosts come back
  // empty (apps re-listen on the kNodeState observation).
  void set_node_up(NodeId node, bool up);
  bool node_up(NodeId node) const;
  bool host_up(HostId host) const;
  // True when a segment from a to b would be dropped right now.
  bool path_blocked(HostId a, HostId b) const;

  // ---- capture support ---------------------------------------------------------
  // Turns on per-segment TcpSegmentObservations (idempotent). Capture writers
  // call it when installed; connections opened before keep no wire records.
  void enable_wire_records();
  bool wire_records_enabled() const { return wire_enabled_; }
  // Wire frame and byte counts of one direction of a connection as a capture
  // on the wire sees them (Ethernet frames incl. headers, retransmissions and
  // pure ACKs), while wire records are enabled. {0,0} otherwise.
  struct WireCounts {
    uint64_t frames = 0;
    uint64_t bytes = 0;
  };
  WireCounts wire_counts(uint64_t connection, bool from_client) const;

  // ---- statistics ----------------------------------------------------------------
  size_t open_connections() const { return live_connections_; }
  uint64_t connections_created() const { return next_connection_id_ - 1; }
  // Approximate heap bytes held per live connection (for benchmarks).
  static size_t connection_footprint_bytes();

  struct Impl;  // sim/net/network_impl.h (internal)

 private:
  Simulator& sim_;
  Topology topo_;
  LinkModel links_;
  NameResolver dns_;
  bool wire_enabled_ = false;
  size_t live_connections_ = 0;
  uint64_t next_connection_id_ = 1;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::sim
