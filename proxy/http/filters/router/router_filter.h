// RouterFilter is envoy.filters.http.router, the terminal HTTP filter: it
// sends the request to the route's cluster — endpoint from the cluster
// manager's load balancer, a pooled keep-alive connection or a new one —
// applies the route timeout (504 UT) and per-try timeout, retries per the
// route's retry policy with Envoy's back-off, and hands the upstream response
// back to the connection manager, or answers locally with Envoy's reset
// texts (503 UF/UC/URX/UPE, 502/503 NC/UH). One object per stream, recycled.
#pragma once

#include <string>
#include <vector>

#include "proxy/engine/timers.h"
#include "proxy/http/filter.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/outlier_detection.h"
#include "proxy/http/hash_policy.h"
#include "proxy/upstream/retry_state.h"
#include "proxy/upstream/upstream_connection.h"

namespace meshsim::proxy::upstream {
struct ClusterResources;
}

namespace meshsim::proxy::http {

inline constexpr const char* kRouterFilterName = "envoy.filters.http.router";

class RouterFilter final : public StreamFilter, public upstream::ConnectionOwner {
 public:
  ~RouterFilter() override;
  void reset() override;
  FilterHeadersStatus decode_headers(Request& req, bool end_stream) override;
  FilterDataStatus decode_data(std::string& body, bool end_stream) override;
  FilterHeadersStatus encode_headers(Response& resp, bool end_stream) override;
  void on_stream_end() override;

  void on_upstream_ready(upstream::UpstreamConnection& c) override;
  void on_upstream_data(upstream::UpstreamConnection& c, std::string_view data) override;
  void on_upstream_closed(upstream::UpstreamConnection& c, CloseType how) override;
  void on_upstream_failed(upstream::UpstreamConnection& c, bool connect_failure, const std::string& reason,
                          const std::string& transport) override;
  void on_pool_capacity() override;
  void on_stream_response(upstream::UpstreamConnection& c, uint32_t stream) override;
  void on_stream_reset(upstream::UpstreamConnection& c, uint32_t stream, uint32_t h2_error_code) override;

 private:
  void start();
  void attempt();
  void response_complete();
  void attempt_failed(bool connect_failure, const std::string& reason, const std::string& transport,
                      uint32_t reset_flag = 0, bool refused_stream = false);
  // The attempt's upstream goes away: HTTP/1 closes the connection, HTTP/2
  // resets the stream (the connection serves others).
  void drop_upstream();
  void schedule_retry();
  void on_timeout(bool per_try);
  void detach();
  void release_host();
  void set_expected_timeout_header(Request& req);
  void finalize_request_headers(Request& req);
  void open_connection();
  void leave_pending();
  void overflow();
  bool retry_slot();
  void end_retry();
  // Tells the cluster's outlier detector how this attempt went.
  void report(upstream::OutlierResult r, uint32_t code);

  upstream::RetryState retry_;
  std::vector<SocketAddress> tried_;
  HashResult hash_;  // the request's hash_policy result, computed in start()
  upstream::UpstreamConnection* up_ = nullptr;
  bool h2_ = false;  // the attempt goes over an HTTP/2 pool (up_ multiplexes)
  bool request_sent_ = false;  // this attempt's request went upstream
  bool host_counted_ = false;  // the attempt counts as active on its host
  // Circuit-breaker state of the current attempt.
  upstream::PoolKey key_;
  const upstream::CompiledCluster* cluster_ = nullptr;
  const LbEndpoint* endpoint_ = nullptr;
  upstream::ClusterResources* res_ = nullptr;  // the cluster's circuit-breaker counters (stable address)
  bool pending_ = false;   // counted in the cluster's pending requests
  bool queued_ = false;    // waiting in the pool's queue (max_connections)
  bool attached_ = false;  // counted in the cluster's requests
  bool overloaded_ = false;
  const upstream::CompiledCluster* retrying_ = nullptr;  // counted in the cluster's retries
  Duration started_;           // when the downstream request was complete
  Duration per_try_timeout_;   // effective per-try timeout (0 = none)
  engine::Timer timeout_, per_try_, backoff_;
};

class RouterFilterFactory final : public FilterFactory {
 public:
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<RouterFilter>(); }
};

}  // namespace meshsim::proxy::http
