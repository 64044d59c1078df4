// HTTP tracing as Envoy's connection manager and its Zipkin / OpenTelemetry
// drivers do it for Istio (docs/istio/telemetry.md §1–§5):
//  * decide(): ConnectionManagerUtility::mutateTracingRequestHeader — the
//    decision packed in x-request-id is honoured, else x-client-trace-id,
//    else random_sampling over (first 8 hex of the id) % 10000, then
//    overall_sampling; the decision is written back into the id.
//  * start_span(): the driver's startSpan — the sampled flag the headers
//    carry wins over the decision; a parent context makes a child span (a
//    new span id, parent = the context's span), no context a root span (the
//    span id is the low 64 bits of the trace id, one more draw for the high
//    half); a malformed context makes a NullSpan (nothing reported, nothing
//    injected). Sidecars never spawn upstream spans, so the kind follows the
//    listener: egress CLIENT, ingress SERVER.
//  * inject(): injectContext into each upstream attempt's request headers.
//  * span_tags(): HttpTracerUtility::finalizeDownstreamSpan's tags plus the
//    configured custom (istio.*) tags.
// Every random draw comes from the proxy's Io (the pod's seeded stream), in
// a fixed order: span id, then (roots) the trace id's high half.
// Spans are values; the sink sees each one once, when its stream ends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/config.h"
#include "proxy/io.h"
#include "proxy/tracing/propagation.h"
#include "proxy/tracing/request_id.h"

namespace meshsim::proxy::http {
class Headers;
}

namespace meshsim::proxy::tracing {

using Tag = std::pair<std::string, std::string>;

struct ActiveSpan {
  enum class State : uint8_t {
    kOff,   // the connection manager has no tracing block
    kNull,  // Envoy's NullSpan: no tracer configured, or a malformed context
    kLive,  // a real span of the configured tracer
  };
  State state = State::kOff;
  Reason reason = Reason::kNotTraceable;
  SpanContext context;  // trace ids, this span's id, its parent, sampled
  bool client = false;  // CLIENT (egress) or SERVER (ingress)
  std::string name;
  Duration start;
  std::string tracestate;  // W3C, carried from the parent
  bool live() const { return state == State::kLive; }
  void clear() {
    state = State::kOff;
    reason = Reason::kNotTraceable;
    context = SpanContext{};
    client = false;
    name.clear();
    start = Duration::zero();
    tracestate.clear();
  }
};

// mutateTracingRequestHeader (call after x-request-id exists or not).
Reason decide(http::Headers& h, const TracingConfig& cfg, Io& io);

// Driver::startSpan. `host` names an egress span ("egress <host>") until a
// decorator renames it.
void start_span(ActiveSpan& span, const TracingConfig& cfg, const http::Headers& h, Reason reason, bool egress,
                std::string_view host, Duration now, Io& io);

// injectContext: B3 (and traceparent when configured) of a live span, unless
// context propagation is disabled.
void inject(const ActiveSpan& span, const TracingConfig& cfg, http::Headers& h);

// What finalizeDownstreamSpan reads about the stream.
struct SpanFacts {
  std::string_view node_id, zone;
  std::string_view request_id, client_trace_id;
  std::string_view scheme, authority, path;  // path: x-envoy-original-path, else :path
  std::string_view method, user_agent, downstream_cluster, protocol;
  std::string_view peer_address;  // the downstream connection's remote IP
  std::string_view upstream_cluster, response_flags;
  int status = 0;                // 0: no response
  uint64_t request_size = 0, response_size = 0;  // body bytes
};
// The span's tags, sorted by name (Zipkin's JSON writes them as an object),
// tags with an empty name or value dropped as Span::setTag does.
void span_tags(const SpanFacts& f, const TracingConfig& cfg, std::vector<Tag>& out);

// One finished span, handed to the sink when its stream ends.
struct FinishedSpan {
  const ActiveSpan& span;
  Duration end;
  const std::vector<Tag>& tags;
  std::string_view service_name;  // localEndpoint.serviceName: the node's cluster (<app>.<ns>)
  std::string_view local_ip;      // localEndpoint.ipv4: the pod IP
  std::string_view provider;      // the tracer's provider name
  // Which connections carried the request, for joining spans across hops:
  // the downstream connection and the request's ordinal on it (1-based),
  // the upstream connection of the last attempt and its ordinal (0: none).
  ConnId downstream = 0;
  uint64_t downstream_request = 0;
  ConnId upstream = 0;
  uint64_t upstream_request = 0;
};

class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void on_span(const FinishedSpan& span) = 0;
};

}  // namespace meshsim::proxy::tracing
