// ShadowWriter sends the mirrored copies of requests (Envoy's ShadowWriter /
// AsyncClient with is_shadow): each copy is its own upstream request to the
// mirror cluster — endpoint from that cluster's load balancer, a pooled
// connection or a new one with the cluster's own transport socket — whose
// response is read and discarded. No retries, no timeout (Istio's route
// timeout is 0), nothing flows back to the client's stream; a copy whose
// cluster or endpoint is missing is silently dropped, as Envoy does.
// Requests in flight are owned here and destroyed (deferred) when done.
//
// The same machinery is the engine's async HTTP client (Envoy's
// Http::AsyncClient::send) for filters that need an answer — the ext_authz
// check: send() takes callbacks that get the response or the failure, and
// cancel() detaches them (the request then finishes unobserved).
#pragma once

#include <memory>
#include <string_view>
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

class AsyncCallbacks {
 public:
  virtual ~AsyncCallbacks() = default;
  virtual void on_async_response(http::Response& response) = 0;
  // No response: no endpoint, connect failure, reset, a malformed reply.
  virtual void on_async_failure(std::string_view reason) = 0;
};

class ShadowWriter {
 public:
  ShadowWriter(engine::EngineContext& ctx, ClusterManager& cm);
  ~ShadowWriter();
  // Sends `request` (copied) to `policy.cluster`; returns false when the
  // copy was dropped (no such cluster, no healthy endpoint).
  bool shadow(const std::shared_ptr<const engine::Snapshot>& snap, const RequestMirrorPolicy& policy,
              const http::Request& request, const std::vector<std::string>& alpn);
  // One request to `cluster` whose outcome goes to `cb`; nullptr (and
  // on_async_failure is not called) when the cluster does not exist or has
  // no healthy endpoint — the caller decides what that means.
  ShadowRequest* send(const std::shared_ptr<const engine::Snapshot>& snap, const std::string& cluster,
                      const http::Request& request, AsyncCallbacks* cb);
  void cancel(ShadowRequest* r);
  void finished(ShadowRequest* r);
  size_t in_flight() const { return requests_.size(); }

 private:
  engine::EngineContext& ctx_;
  ClusterManager& cm_;
  std::unordered_map<ShadowRequest*, std::unique_ptr<ShadowRequest>> requests_;
};

}  // namespace meshsim::proxy::upstream
