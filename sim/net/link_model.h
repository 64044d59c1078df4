// LinkModel says how long a segment takes to get from one host to another:
// one-way latency, bandwidth (serialisation delay), jitter and loss, chosen by
// the locality relation of the two hosts (sim/net/topology.h) and optionally
// overridden per node pair. The model and its default numbers are documented,
// with their sources and assumptions, in docs/model/network.md.
//
// Pure data plus arithmetic: no randomness here (the Network draws jitter and
// loss from its named streams), no allocation on lookups.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "proxy/base/duration.h"
#include "proxy/base/result.h"
#include "sim/net/topology.h"

namespace meshsim::sim {

struct LinkProfile {
  Duration latency;              // one-way propagation + switching delay
  uint64_t bandwidth_bps = 0;    // bits per second; 0 = no serialisation delay
  Duration jitter;               // extra delay drawn uniformly in [0, jitter] per write
  double loss = 0;               // probability that one transmission of a segment is lost
};

// Bytes a segment occupies on the wire besides its payload: Ethernet (14),
// IPv4 (20), TCP (20) and the timestamps option (12).
inline constexpr uint32_t kWireOverheadBytes = 66;

// Serialisation delay of `frame_bytes` at `bps`, rounded up to whole ns.
inline Duration serialisation_delay(uint64_t frame_bytes, uint64_t bps) {
  if (bps == 0) return Duration::zero();
  // frame_bytes * 8e9 fits in 64 bits for frames up to ~2 GB.
  return Duration::nanos(static_cast<int64_t>((frame_bytes * 8'000'000'000ULL + bps - 1) / bps));
}

class LinkModel {
 public:
  // The documented defaults (docs/model/network.md):
  //   loopback 10us / 40 Gbit/s, same node 25us / 25 Gbit/s,
  //   same zone 100us / 10 Gbit/s, other zone 500us / 10 Gbit/s,
  //   other region 30ms / 1 Gbit/s; no jitter, no loss.
  LinkModel();

  const LinkProfile& profile(Relation r) const { return by_relation_[static_cast<int>(r)]; }
  void set_profile(Relation r, const LinkProfile& p) { by_relation_[static_cast<int>(r)] = p; }
  // Overrides the profile between two nodes (both directions), whatever their
  // relation; pods on one node use it too when a == b.
  void set_node_pair(NodeId a, NodeId b, const LinkProfile& p);
  // The profile for traffic between hosts a and b.
  const LinkProfile& between(const Topology& topo, HostId a, HostId b) const;

 private:
  std::array<LinkProfile, kRelationCount> by_relation_;
  std::map<std::pair<NodeId, NodeId>, LinkProfile> node_pairs_;
};

// "10Gbps", "10Gbit", "1.5Gbps", "100Mbps", "800kbps", "1000000bps" → bits/s.
// Units are decimal (k = 1e3). Also accepts a bare integer (bits/s).
Result<uint64_t> parse_bandwidth(std::string_view text);
std::string format_bandwidth(uint64_t bps);

}  // namespace meshsim::sim
