// Topology is the static shape of the simulated cluster the virtual network
// runs on: nodes with their locality (region / zone / subzone), and hosts —
// one per pod network namespace — with their IP, node, labels and, for pods
// with an injected sidecar, the istio-iptables interception settings.
//
// The mesh model (mesh/) decides placement and IP assignment; an adapter turns
// its world into NodeSpec/HostSpec values. Topology only validates and indexes
// them (duplicate names and IPs, unknown nodes are errors at this edge).
//
// Ids are dense indices in insertion order, so iteration is deterministic.
// Not thread-safe; owned by one Network.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/interception.h"
#include "proxy/base/ip.h"
#include "proxy/base/result.h"

namespace meshsim::sim {

using NodeId = uint32_t;
using HostId = uint32_t;
inline constexpr HostId kNoHost = UINT32_MAX;
inline constexpr NodeId kNoNode = UINT32_MAX;

struct NodeSpec {
  std::string name;
  // topology.kubernetes.io/region, /zone and topology.istio.io/subzone.
  std::string region;
  std::string zone;
  std::string subzone;
};

struct HostSpec {
  std::string ns;          // namespace
  std::string name;        // pod name
  Ipv4 ip;                 // pod IP (unique in the network)
  std::string node;        // NodeSpec::name
  bool injected = false;   // has a sidecar: the interception rules apply
  bool ambient = false;    // enrolled in ambient: istio-cni's in-pod rules apply (ztunnel)
  bool node_host = false;  // the node's own network namespace (the kubelet's)
  mesh::TrafficInterception interception;
  std::vector<std::pair<std::string, std::string>> labels;
};

// How two hosts relate; selects the link profile (sim/net/link_model.h).
enum class Relation : uint8_t {
  kLoopback,     // same network namespace (same pod): lo
  kSameNode,     // different pods on one node: veth + bridge
  kSameZone,     // different nodes, same region and zone
  kOtherZone,    // same region, different zone
  kOtherRegion,  // different region
};
inline constexpr int kRelationCount = 5;
const char* to_string(Relation r);

class Topology {
 public:
  // Errors: duplicate node name.
  Result<NodeId> add_node(NodeSpec spec);
  // Errors: unknown node, duplicate ns/name, duplicate or unspecified IP,
  // loopback IP.
  Result<HostId> add_host(HostSpec spec);

  size_t node_count() const { return nodes_.size(); }
  size_t host_count() const { return hosts_.size(); }
  const NodeSpec& node(NodeId id) const { return nodes_[id]; }
  const HostSpec& host(HostId id) const { return hosts_[id].spec; }
  NodeId node_of(HostId id) const { return hosts_[id].node; }
  // "ns/name", stable for the life of the host (used for actor names).
  const std::string& host_label(HostId id) const { return hosts_[id].label; }

  NodeId find_node(std::string_view name) const;
  HostId find_host(std::string_view ns, std::string_view name) const;
  // Accepts "ns/name".
  HostId find_host(std::string_view ns_slash_name) const;
  HostId host_by_ip(Ipv4 ip) const;

  // Locality relation of two hosts. Empty region (or zone) labels compare
  // equal, so a cluster without locality labels is one zone.
  Relation relation(HostId a, HostId b) const;

 private:
  struct Host {
    HostSpec spec;
    NodeId node;
    std::string label;
  };
  std::vector<NodeSpec> nodes_;
  std::vector<Host> hosts_;
  std::map<std::string, NodeId, std::less<>> node_index_;
  std::map<std::string, HostId, std::less<>> host_index_;  // "ns/name"
  std::map<uint32_t, HostId> ip_index_;
};

}  // namespace meshsim::sim
