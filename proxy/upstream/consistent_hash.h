// The consistent-hash host tables of Envoy's thread-aware load balancers:
// RING_HASH (ketama, ring_hash_lb.cc Ring) and MAGLEV (maglev_lb.cc
// OriginalMaglevTable), as docs/istio/http-traffic-management.md §7.3
// transcribes them. A table is immutable once built from one priority's
// hosts and is built once per cluster of a configuration snapshot, never per
// request. Host keys are the endpoint's "ip:port" (or its envoy.lb hash_key
// metadata); every hash is XXH64. Deterministic: the same hosts give the same
// table bit for bit (checked against tests/oracles/consistent_hash.py).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config.h"

namespace meshsim::proxy::upstream {

// XXH64 of `bytes` (xxHash 64-bit, Envoy's HashUtil::xxHash64).
uint64_t xxhash64(std::string_view bytes, uint64_t seed = 0);

// The key a host is hashed by (HashingLoadBalancer::hashKey): the endpoint
// metadata "envoy.lb/hash_key" when non-empty, else the address as Envoy
// prints it ("10.1.0.7:9080").
std::string host_hash_key(const LbEndpoint& e);

class ConsistentHashTable {
 public:
  virtual ~ConsistentHashTable() = default;
  // The host for `hash` on host-selection attempt `attempt` (0 first; later
  // attempts move as Envoy moves them when a retry predicate rejects a host);
  // nullptr when the table is empty.
  virtual const LbEndpoint* choose(uint64_t hash, uint32_t attempt) const = 0;
  virtual size_t size() const = 0;
};

// Builds the table of `c.lb_policy` (kRingHash or kMaglev) over `hosts` in
// host-set order with weights normalised to their sum; nullptr for other policies.
std::unique_ptr<const ConsistentHashTable> build_consistent_hash_table(const Cluster& c,
                                                                       const std::vector<const LbEndpoint*>& hosts);

}  // namespace meshsim::proxy::upstream
