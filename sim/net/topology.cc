#include "sim/net/topology.h"

namespace meshsim::sim {

const char* to_string(Relation r) {
  switch (r) {
    case Relation::kLoopback: return "loopback";
    case Relation::kSameNode: return "same-node";
    case Relation::kSameZone: return "same-zone";
    case Relation::kOtherZone: return "other-zone";
    case Relation::kOtherRegion: return "other-region";
  }
  return "?";
}

Result<NodeId> Topology::add_node(NodeSpec spec) {
  if (spec.name.empty()) return Error{"node: empty name"};
  if (node_index_.count(spec.name)) return Error{"node \"" + spec.name + "\": defined twice"};
  auto id = static_cast<NodeId>(nodes_.size());
  node_index_.emplace(spec.name, id);
  nodes_.push_back(std::move(spec));
  return id;
}

Result<HostId> Topology::add_host(HostSpec spec) {
  std::string label = spec.ns + "/" + spec.name;
  if (spec.name.empty() || spec.ns.empty()) return Error{"host \"" + label + "\": namespace and name are required"};
  NodeId node = find_node(spec.node);
  if (node == kNoNode) return Error{"host \"" + label + "\": unknown node \"" + spec.node + "\""};
  if (host_index_.count(label)) return Error{"host \"" + label + "\": defined twice"};
  if (spec.ip.is_any()) return Error{"host \"" + label + "\": no IP address"};
  if (spec.ip.is_loopback()) return Error{"host \"" + label + "\": loopback IP " + to_string(spec.ip)};
  if (auto it = ip_index_.find(spec.ip.value); it != ip_index_.end()) {
    return Error{"host \"" + label + "\": IP " + to_string(spec.ip) + " already used by " + hosts_[it->second].label};
  }
  auto id = static_cast<HostId>(hosts_.size());
  host_index_.emplace(label, id);
  ip_index_.emplace(spec.ip.value, id);
  hosts_.push_back(Host{std::move(spec), node, std::move(label)});
  return id;
}

NodeId Topology::find_node(std::string_view name) const {
  auto it = node_index_.find(name);
  return it == node_index_.end() ? kNoNode : it->second;
}

HostId Topology::find_host(std::string_view ns, std::string_view name) const {
  std::string key;
  key.reserve(ns.size() + name.size() + 1);
  key.append(ns).append("/").append(name);
  return find_host(key);
}

HostId Topology::find_host(std::string_view ns_slash_name) const {
  auto it = host_index_.find(ns_slash_name);
  return it == host_index_.end() ? kNoHost : it->second;
}

HostId Topology::host_by_ip(Ipv4 ip) const {
  auto it = ip_index_.find(ip.value);
  return it == ip_index_.end() ? kNoHost : it->second;
}

Relation Topology::relation(HostId a, HostId b) const {
  if (a == b) return Relation::kLoopback;
  NodeId na = hosts_[a].node, nb = hosts_[b].node;
  if (na == nb) return Relation::kSameNode;
  const NodeSpec& x = nodes_[na];
  const NodeSpec& y = nodes_[nb];
  if (x.region != y.region) return Relation::kOtherRegion;
  if (x.zone != y.zone) return Relation::kOtherZone;
  return Relation::kSameZone;
}

}  // namespace meshsim::sim
