// PrioritySet is one cluster's hosts as Envoy's load balancers see them:
// grouped by EDS priority (and, for locality-weighted clusters, by locality
// within a priority), each host healthy when EDS says so and outlier
// detection has not ejected it, and the load each priority receives
// (source/common/upstream/load_balancer_impl.cc, LoadBalancerBase):
//
//   health(P)  = min(100, overprovisioning_factor · healthy(P) / hosts(P))
//   total      = min(100, Σ health(P))
//   load(P)    = min(left, health(P) · 100 / total), in priority order, the
//                rounding rest to the first priority with health
//   panic(P)   = total < 100 and 100 · healthy(P)/hosts(P) < panic threshold
//   all priorities in panic: load by host count; threshold 0 and total 0:
//                all load on priority 0 (which has no healthy host: "no
//                healthy upstream")
//
// Locality-weighted priorities weigh each locality by
// weight · min(1, factor · healthy/hosts) (effectiveLocalityWeight).
// Rebuilt by the load balancer when the snapshot or an ejection changes;
// choosing reads it only. Deterministic, never throws.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/config.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/consistent_hash.h"

namespace meshsim::proxy::upstream {

class OutlierDetector;

struct LocalityHosts {
  Locality locality;
  uint32_t weight = 0;
  std::vector<const LbEndpoint*> hosts, healthy;
  double effective_weight = 0;
};

struct HostsPerPriority {
  std::vector<const LbEndpoint*> hosts, healthy;
  std::vector<LocalityHosts> localities;  // locality-weighted clusters only
  double effective_weight_total = 0;
  uint32_t health = 0;
  bool panic = false;
  // RING_HASH / MAGLEV: the table over healthy hosts (all hosts in panic),
  // built on first use.
  mutable std::shared_ptr<const ConsistentHashTable> table;
  mutable bool table_built = false;
};

class PrioritySet {
 public:
  void build(const CompiledCluster& cc, const OutlierDetector* outliers);

  const std::vector<HostsPerPriority>& priorities() const { return priorities_; }
  const std::vector<uint32_t>& load() const { return load_; }
  bool total_panic() const { return total_panic_; }
  // The one priority carrying all the load, or -1 when a draw is needed.
  int32_t sole_priority() const { return sole_; }
  // LoadBalancerBase::choosePriority: hash % 100 + 1 against cumulative loads.
  uint32_t choose_priority(uint64_t hash) const;
  // The table of priority `p` (consistent-hash clusters).
  const ConsistentHashTable* table(const CompiledCluster& cc, uint32_t p) const;

 private:
  std::vector<HostsPerPriority> priorities_;
  std::vector<uint32_t> load_;
  bool total_panic_ = false;
  int32_t sole_ = 0;
};

}  // namespace meshsim::proxy::upstream
