// A cluster of one configuration snapshot, prepared for load balancing: the
// Cluster (CDS) and the endpoints of its ClusterLoadAssignment (EDS), which
// live in the snapshot's ProxyConfig.
#pragma once

#include <memory>
#include <vector>

#include "proxy/config.h"
#include "proxy/upstream/consistent_hash.h"

namespace meshsim::proxy::upstream {

struct ClusterResources;
struct ClusterLbState;

struct CompiledCluster {
  const Cluster* cluster = nullptr;
  std::vector<const LbEndpoint*> endpoints;
  // RING_HASH / MAGLEV: the table over the healthy hosts of the lowest
  // priority that has any, built once with the snapshot; nullptr otherwise.
  std::shared_ptr<const ConsistentHashTable> hash_table;
  // The cluster manager's circuit-breaker counters for this cluster name,
  // looked up once (a cache; the snapshot is otherwise immutable).
  mutable ClusterResources* resources = nullptr;
  // The load balancer's state for this cluster name (priority loads, outlier
  // detector), looked up once.
  mutable ClusterLbState* lb_state = nullptr;
};

}  // namespace meshsim::proxy::upstream
