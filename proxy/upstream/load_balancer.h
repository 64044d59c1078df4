// LoadBalancer picks an endpoint of a cluster as Envoy's load balancers do:
// the healthy hosts of the lowest priority that has any (locality failover),
// previous_hosts avoided when the retry policy asks, then round-robin,
// least-request (power of two choices over active requests) or random. The
// ORIGINAL_DST cluster yields the connection's original destination. Active
// request counts per host are kept here (request_started/finished).
#pragma once

#include <cstdint>
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

  // The pointer is valid until the next call (ORIGINAL_DST) or for the
  // snapshot's lifetime (EDS/static endpoints); nullptr: no healthy host.
  const LbEndpoint* choose(const CompiledCluster& cc, const SocketAddress& original_destination,
                           const std::vector<SocketAddress>* avoid);

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
