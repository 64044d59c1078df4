// LoadBalancer picks an endpoint of a cluster as Envoy's load balancers do
// (source/common/upstream/load_balancer_impl.cc): the priority by the
// per-priority load of the cluster's PrioritySet (healthy = EDS healthy and
// not ejected by outlier detection; spill-over with the overprovisioning
// factor; panic mode below healthy_panic_threshold), then — for
// locality-weighted clusters — the locality by its effective weight, then
// round-robin, least-request (power of two choices over active requests) or
// random among that source's hosts, previous_hosts avoided when the retry
// policy asks. The ORIGINAL_DST cluster yields the connection's original
// destination. RING_HASH / MAGLEV clusters pick the priority by the request's
// hash (a random value when it has none) and look it up in that priority's
// table (consistent_hash.h); a host the retry predicate rejects is re-chosen
// with attempt 1, 2, … up to host_selection_retry_max_attempts.
//
// It also owns each cluster's OutlierDetector (clusters with
// outlier_detection): sync_clusters() after every push keeps a detector while
// its cluster's configuration is unchanged (hosts follow EDS) and replaces it
// otherwise, as Envoy replaces a cluster whose CDS entry changed; the
// detector's interval sweep runs on the engine's timers. Active request
// counts per host are kept here (request_started/finished).
//
// Random draws (Io::random) are made only where the outcome depends on them:
// the priority draw only when more than one priority has load, the locality
// draw only when more than one locality can be chosen.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/config.h"
#include "proxy/engine/timers.h"
#include "proxy/io.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/outlier_detection.h"
#include "proxy/upstream/priority_set.h"

namespace meshsim::proxy::engine {
struct EngineContext;
class Snapshot;
}  // namespace meshsim::proxy::engine

namespace meshsim::proxy::upstream {

// What the balancer knows about one cluster name across pushes. Never
// destroyed while the engine lives (CompiledCluster caches a pointer).
struct ClusterLbState {
  std::string name;
  std::unique_ptr<OutlierDetector> outliers;  // nullptr: no outlier_detection
  engine::Timer sweep;                        // the detector's interval timer
  PrioritySet set;
  const CompiledCluster* bound = nullptr;     // the cluster `set` was built from
  bool dirty = true;
  // What was last published as a PriorityLoadEvent.
  std::vector<uint32_t> published_load;
  std::vector<uint8_t> published_panic;
  bool published = false;
  uint64_t rr = 0;  // round-robin position
};

class LoadBalancer {
 public:
  explicit LoadBalancer(engine::EngineContext& ctx);

  // What a choice may depend on (Envoy's LoadBalancerContext).
  struct Context {
    SocketAddress original_destination;             // ORIGINAL_DST
    const std::vector<SocketAddress>* avoid = nullptr;  // previous_hosts predicate; nullptr = none
    std::optional<uint64_t> hash;                   // the request's hash (hash_policy), RING_HASH / MAGLEV
    uint32_t host_selection_retry_max_attempts = 0;
  };

  // The pointer is valid until the next call (ORIGINAL_DST) or for the
  // snapshot's lifetime (EDS/static endpoints); nullptr: no healthy host.
  const LbEndpoint* choose(const CompiledCluster& cc, const Context& ctx);

  // The healthy endpoints of the lowest priority that has any, in host-set
  // order (what a snapshot's consistent-hash table is built over).
  static std::vector<const LbEndpoint*> priority_hosts(const CompiledCluster& cc);

  void request_started(const SocketAddress& host);
  void request_finished(const SocketAddress& host);

  // After a push: detectors created, kept (hosts re-synced) or replaced.
  void sync_clusters(const engine::Snapshot& snap);
  // An outcome of a request or connection to `host` of `cc` (HTTP status
  // `code` with ext-origin results). Ignored for clusters without outlier
  // detection and for hosts the detector does not know.
  void put_result(const CompiledCluster& cc, const SocketAddress& host, OutlierResult r, uint32_t code = 0);

  // The state of a cluster (priority loads, ejections), refreshed; nullptr
  // for an ORIGINAL_DST cluster.
  const ClusterLbState* state(const CompiledCluster& cc);
  const OutlierDetector* outliers(std::string_view cluster) const;

  // The transport socket for an endpoint: the first transport_socket_matches
  // entry whose match the endpoint's metadata satisfies (Envoy's
  // TransportSocketMatcher), else the cluster's own socket.
  struct TransportChoice {
    const UpstreamTlsContext* tls = nullptr;  // nullptr: raw_buffer
    std::string_view name;                    // "tlsMode-istio", …, or "tls" / "raw_buffer"
  };
  static TransportChoice transport_for(const Cluster& c, const LbEndpoint& e);

 private:
  ClusterLbState& lookup(const CompiledCluster& cc);
  void refresh(ClusterLbState& st, const CompiledCluster& cc);
  void arm_sweep(ClusterLbState& st);
  void on_sweep(ClusterLbState& st);

  engine::EngineContext& ctx_;
  Io& io_;
  std::unordered_map<std::string, std::unique_ptr<ClusterLbState>> states_;
  std::unordered_map<uint64_t, uint32_t> active_rq_;  // host → requests in flight
  LbEndpoint original_dst_endpoint_;
  std::vector<const LbEndpoint*> fresh_;
};

}  // namespace meshsim::proxy::upstream
