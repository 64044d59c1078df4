// LoadBalancer picks an endpoint of a cluster as Envoy's load balancers do:
// the healthy hosts of the lowest priority that has any (locality failover),
// previous_hosts avoided when the retry policy asks, then round-robin,
// least-request (power of two choices over active requests) or random. The
// ORIGINAL_DST cluster yields the connection's original destination.
// RING_HASH / MAGLEV clusters look the request's hash up in the cluster's
// table (consistent_hash.h), a random value when the request has no hash;
// a host the retry predicate rejects is re-chosen with attempt 1, 2, … up to
// host_selection_retry_max_attempts (ThreadAwareLoadBalancerBase::chooseHost).
// Active request counts per host are kept here (request_started/finished).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/config.h"
#include "proxy/io.h"
#include "proxy/upstream/cluster.h"

namespace meshsim::proxy::upstream {

class LoadBalancer {
 public:
  explicit LoadBalancer(Io& io) : io_(io) {}

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

  // The hosts a choice is made among: the healthy endpoints of the lowest
  // priority that has any, in host-set order.
  static std::vector<const LbEndpoint*> priority_hosts(const CompiledCluster& cc);

  void request_started(const SocketAddress& host);
  void request_finished(const SocketAddress& host);

  // The transport socket an endpoint gets: the first match whose metadata
  // criteria it satisfies, else the cluster's own socket; nullptr = raw_buffer.
  // The transport socket for an endpoint: the first transport_socket_matches
  // entry whose match the endpoint's metadata satisfies (Envoy's
  // TransportSocketMatcher), else the cluster's own socket.
  struct TransportChoice {
    const UpstreamTlsContext* tls = nullptr;  // nullptr: raw_buffer
    std::string_view name;                    // "tlsMode-istio", …, or "tls" / "raw_buffer"
  };
  static TransportChoice transport_for(const Cluster& c, const LbEndpoint& e);

 private:
  Io& io_;
  std::unordered_map<std::string, uint64_t> rr_;
  std::unordered_map<uint64_t, uint32_t> active_rq_;  // host → requests in flight
  LbEndpoint original_dst_endpoint_;
  std::vector<const LbEndpoint*> pool_, fresh_;
};

}  // namespace meshsim::proxy::upstream
