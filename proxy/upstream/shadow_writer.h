// ShadowWriter sends the mirrored copies of requests (Envoy's ShadowWriter /
// AsyncClient with is_shadow): each copy is its own upstream request to the
// mirror cluster — endpoint from that cluster's load balancer, a pooled
// connection or a new one with the cluster's own transport socket — whose
// response is read and discarded. No retries, no timeout (Istio's route
// timeout is 0), nothing flows back to the client's stream; a copy whose
// cluster or endpoint is missing is silently dropped, as Envoy does.
// Requests in flight are owned here and destroyed (deferred) when done.
#pragma once

#include <memory>
#include <unordered_map>

#include "proxy/config.h"
#include "proxy/http/message.h"
#include "proxy/upstream/upstream_connection.h"

namespace meshsim::proxy::engine {
struct EngineContext;
class Snapshot;
}  // namespace meshsim::proxy::engine

namespace meshsim::proxy::upstream {

class ClusterManager;
class ShadowRequest;

class ShadowWriter {
 public:
  ShadowWriter(engine::EngineContext& ctx, ClusterManager& cm);
  ~ShadowWriter();
  // Sends `request` (copied) to `policy.cluster`; returns false when the
  // copy was dropped (no such cluster, no healthy endpoint).
  bool shadow(const std::shared_ptr<const engine::Snapshot>& snap, const RequestMirrorPolicy& policy,
              const http::Request& request, const std::vector<std::string>& alpn);
  void finished(ShadowRequest* r);
  size_t in_flight() const { return requests_.size(); }

 private:
  engine::EngineContext& ctx_;
  ClusterManager& cm_;
  std::unordered_map<ShadowRequest*, std::unique_ptr<ShadowRequest>> requests_;
};

}  // namespace meshsim::proxy::upstream
