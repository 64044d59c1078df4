// ClusterManager is Envoy's upstream side for one sidecar: it resolves
// clusters in a configuration snapshot, picks endpoints with the cluster's
// load balancer, opens upstream connections with the transport socket the
// endpoint's metadata selects, and keeps the HTTP/1 connection pools (idle
// keep-alive connections per cluster/host/protocol, with the cluster's idle
// timeout). After a push, idle connections of clusters that did not change
// move to the new snapshot's pools and the others are closed, as Envoy keeps
// a cluster whose CDS update changes nothing.
//
// Single-threaded; deterministic: every random choice is an Io::random() draw.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/engine/context.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/load_balancer.h"
#include "proxy/upstream/shadow_writer.h"
#include "proxy/upstream/upstream_connection.h"

namespace meshsim::proxy::upstream {

// A cluster's circuit-breaker accounting (Envoy's ResourceManager, priority
// DEFAULT, per proxy process): open connections, attached requests,
// requests waiting for a connection, retries in back-off.
struct ClusterResources {
  uint32_t connections = 0;
  uint32_t requests = 0;
  uint32_t pending = 0;
  uint32_t retries = 0;
};

class ClusterManager {
 public:
  explicit ClusterManager(engine::EngineContext& ctx) : ctx_(ctx), lb_(ctx), shadows_(ctx, *this) {}

  LoadBalancer& load_balancer() { return lb_; }
  ShadowWriter& shadows() { return shadows_; }

  // Weighted choice among clusters (route or tcp_proxy weighted_clusters).
  std::string_view pick_weighted(const std::vector<WeightedCluster>& w) { return pick_weighted_entry(w).name; }
  const WeightedCluster& pick_weighted_entry(const std::vector<WeightedCluster>& w);

  // Opens a new connection to `ep` of `cc`. `alpn_override` replaces the
  // ISTIO_MUTUAL context's ALPN (istio.alpn); the TLS session cache is per
  // cluster.
  UpstreamConnection* connect(const std::shared_ptr<const engine::Snapshot>& snap, const CompiledCluster& cc,
                              const LbEndpoint& ep, const std::vector<std::string>& alpn_override,
                              const PoolKey& key);

  // HTTP/2 pool (Envoy's Http2::ConnPoolImpl): the pool's connection that
  // may take another stream (not draining, fewer streams than the peer's
  // SETTINGS_MAX_CONCURRENT_STREAMS and max_requests_per_connection), else a
  // new one — one multiplexed connection per (cluster, host) in the steady
  // state. `opened` says whether it is new.
  UpstreamConnection* h2_connection(const std::shared_ptr<const engine::Snapshot>& snap, const CompiledCluster& cc,
                                    const LbEndpoint& ep, const std::vector<std::string>& alpn_override,
                                    const PoolKey& key, bool& opened);
  // An HTTP/2 connection's last stream ended: idle (the cluster's idle
  // timeout runs) or, when draining, closed.
  void h2_idle(UpstreamConnection& c);

  // HTTP/1 pool: the most recently idle connection for `key`, now owned by
  // `owner`; nullptr when none.
  UpstreamConnection* take_idle(const PoolKey& key, ConnectionOwner& owner);
  // Returns a keep-alive connection to its pool (or closes it when its
  // cluster changed since it was opened).
  void release(UpstreamConnection& c);
  void close(UpstreamConnection& c, CloseType how);

  // Whether `c` may serve the current configuration: its cluster is the
  // current one, or an identical one from an earlier push (then it moves to
  // the current snapshot).
  bool current_cluster(UpstreamConnection& c);

  // ---- circuit breakers (CircuitBreakers of the cluster) ----
  ClusterResources& resources(const Cluster& c) { return resources_[c.name]; }
  ClusterResources& resources(const CompiledCluster& cc) {
    if (!cc.resources) cc.resources = &resources_[cc.cluster->name];
    return *cc.resources;
  }
  // Whether the pool of `key` has any connection (Envoy creates one for a
  // host that has none even past max_connections).
  bool has_connections(const PoolKey& key) const;
  // A request waits for a connection of `key` (FIFO); cancel() forgets it.
  void enqueue(const PoolKey& key, ConnectionOwner& waiter) { waiters_[key].push_back(&waiter); }
  void cancel(const PoolKey& key, ConnectionOwner& waiter);
  // After a push: idle connections of unchanged clusters move to the new
  // pools, the others close.
  void repool_idle();

 private:
  void arm_idle(UpstreamConnection& c, Duration after);
  void idle_check(ConnId id);

  engine::EngineContext& ctx_;
  LoadBalancer lb_;
  ShadowWriter shadows_;
  // pool key → idle upstream connections (most recently idle last)
  std::unordered_map<PoolKey, std::vector<ConnId>, PoolKeyHash> idle_;
  std::unordered_map<PoolKey, uint32_t, PoolKeyHash> open_;  // open connections per pool key
  std::unordered_map<PoolKey, std::vector<ConnectionOwner*>, PoolKeyHash> waiters_;
  // HTTP/2 pools: the open connections of each key, oldest first.
  std::unordered_map<PoolKey, std::vector<ConnId>, PoolKeyHash> h2_;
  std::vector<ConnId> h2_scratch_;  // h2_connection()'s copy of a pool's ids
  std::unordered_map<std::string, ClusterResources> resources_;
};

}  // namespace meshsim::proxy::upstream
