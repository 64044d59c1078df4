#include "proxy/tracing/tracer.h"

#include <algorithm>
#include <charconv>

#include "proxy/http/message.h"

namespace meshsim::proxy::tracing {

namespace {

// Runtime featureEnabled over a percentage out of 100 (x-client-trace-id).
bool percent_enabled(uint32_t percent, Io& io) {
  if (percent >= 100) return true;
  if (percent == 0) return false;
  return io.random() % 100 < percent;
}

void write_reason(http::Headers& h, std::string_view id, Reason r) {
  char buf[kUuidLength];
  if (auto v = with_trace_reason(id, r, buf)) h.set("x-request-id", *v);
}

}  // namespace

Reason decide(http::Headers& h, const TracingConfig& cfg, Io& io) {
  if (!cfg.use_request_id_for_trace_sampling) return Reason::kSampling;
  auto id = h.get("x-request-id");
  if (!id) return Reason::kNotTraceable;
  auto n = request_id_integer(*id);
  if (!n) return Reason::kNotTraceable;
  const uint64_t r = *n % 10000;
  Reason reason = trace_reason(*id);
  if (reason == Reason::kNotTraceable) {
    if (h.has("x-client-trace-id") && percent_enabled(cfg.client_sampling, io)) {
      reason = Reason::kClientForced;
      write_reason(h, *h.get("x-request-id"), reason);
    } else if (h.has("x-envoy-force-trace")) {
      reason = Reason::kServiceForced;
      write_reason(h, *h.get("x-request-id"), reason);
    } else if (r < cfg.random_sampling) {
      reason = Reason::kSampling;
      write_reason(h, *h.get("x-request-id"), reason);
    }
  }
  if (reason != Reason::kNotTraceable && !(r < cfg.overall_sampling)) {
    reason = Reason::kNotTraceable;
    write_reason(h, *h.get("x-request-id"), reason);
  }
  return reason;
}

void start_span(ActiveSpan& span, const TracingConfig& cfg, const http::Headers& h, Reason reason, bool egress,
                std::string_view host, Duration now, Io& io) {
  span.clear();
  span.reason = reason;
  span.client = egress;
  span.start = now;
  span.name.assign(egress ? "egress" : "ingress");
  if (egress) span.name.append(" ").append(host);
  const bool decision = traced(reason);
  SpanContext parent;
  Extracted ex = Extracted::kNone;
  switch (cfg.provider) {
    case TracingConfig::Provider::kNone:
      span.state = ActiveSpan::State::kNull;
      return;
    case TracingConfig::Provider::kZipkin: {
      std::optional<bool> carried = b3_sampled(h);
      ex = b3_context(h, carried.value_or(decision), &parent);
      if (ex == Extracted::kNone && cfg.w3c_propagation) {
        std::string_view ts;
        SpanContext w3c;
        Extracted wx = w3c_context(h, &w3c, &ts);
        if (wx == Extracted::kContext) {
          // convertW3CToZipkin: same trace and span id, no parent.
          parent = w3c;
          parent.has_parent = false;
          parent.sampled = w3c.sampled || decision;
          span.tracestate.assign(ts);
          ex = Extracted::kContext;
        }
      }
      if (ex == Extracted::kInvalid) {
        span.state = ActiveSpan::State::kNull;
        return;
      }
      span.state = ActiveSpan::State::kLive;
      if (ex == Extracted::kNone) {
        span.context.span_id = io.random();
        span.context.trace_id = span.context.span_id;
        span.context.trace_id_high = cfg.trace_id_128bit ? io.random() : 0;
        span.context.sampled = carried.value_or(decision);
      } else {
        span.context.span_id = io.random();
        span.context.trace_id = parent.trace_id;
        span.context.trace_id_high = parent.trace_id_high;
        span.context.parent_id = parent.span_id;
        span.context.has_parent = true;
        span.context.sampled = parent.sampled;
      }
      return;
    }
    case TracingConfig::Provider::kOpenTelemetry: {
      std::string_view ts;
      ex = w3c_context(h, &parent, &ts);
      if (ex == Extracted::kInvalid) {
        span.state = ActiveSpan::State::kNull;
        return;
      }
      span.state = ActiveSpan::State::kLive;
      if (ex == Extracted::kNone) {
        span.context.trace_id_high = io.random();
        span.context.trace_id = io.random();
        span.context.span_id = io.random();
        span.context.sampled = decision;
      } else {
        span.context.trace_id_high = parent.trace_id_high;
        span.context.trace_id = parent.trace_id;
        span.context.span_id = io.random();
        span.context.parent_id = parent.span_id;
        span.context.has_parent = true;
        span.context.sampled = parent.sampled;
        span.tracestate.assign(ts);
      }
      return;
    }
  }
}

void inject(const ActiveSpan& span, const TracingConfig& cfg, http::Headers& h) {
  if (!span.live() || cfg.no_context_propagation) return;
  if (cfg.provider == TracingConfig::Provider::kOpenTelemetry) {
    inject_w3c(span.context, span.tracestate, h);
    return;
  }
  inject_b3(span.context, cfg.trace_id_128bit, h);
  if (cfg.w3c_propagation) inject_w3c(span.context, span.tracestate, h);
}

void span_tags(const SpanFacts& f, const TracingConfig& cfg, std::vector<Tag>& out) {
  // Tags are emitted in name order (the built-in ones listed sorted, the
  // custom ones — sorted by istiod — merged in), into strings reused from
  // span to span: no sort and no allocation once warmed up.
  size_t n = 0;
  const auto& custom = cfg.custom_tags;
  size_t ci = 0;
  auto put = [&](std::string_view k) -> std::string& {
    if (n == out.size()) out.emplace_back();
    out[n].first.assign(k);
    return out[n++].second;
  };
  // Custom tags whose names sort before `k` go first; one named `k` replaces it.
  auto before = [&](std::string_view k) -> bool {
    while (ci < custom.size() && custom[ci].first < k) {
      if (!custom[ci].first.empty() && !custom[ci].second.empty()) put(custom[ci].first).assign(custom[ci].second);
      ++ci;
    }
    if (ci < custom.size() && custom[ci].first == k) {
      if (!custom[ci].second.empty()) put(k).assign(custom[ci].second);
      ++ci;
      return false;
    }
    return true;
  };
  auto tag = [&](std::string_view k, std::string_view v) {
    if (before(k) && !v.empty()) put(k).assign(v);
  };
  auto num = [&](std::string_view k, uint64_t v) {
    char b[24];
    auto [e, ec] = std::to_chars(b, b + sizeof b, v);
    (void)ec;
    tag(k, std::string_view(b, static_cast<size_t>(e - b)));
  };
  tag("component", "proxy");
  tag("downstream_cluster", f.downstream_cluster.empty() ? std::string_view("-") : f.downstream_cluster);
  if (f.status == 0 || (f.status >= 500 && f.status < 600)) tag("error", "true");
  tag("guid:x-client-trace-id", f.client_trace_id);
  tag("guid:x-request-id", f.request_id);
  tag("http.method", f.method);
  tag("http.protocol", f.protocol);
  num("http.status_code", static_cast<uint64_t>(f.status < 0 ? 0 : f.status));
  if (before("http.url")) {
    std::string& url = put("http.url");
    url.assign(f.scheme).append("://").append(f.authority);
    std::string_view path = f.path;
    if (path.size() > cfg.max_path_tag_length) path = path.substr(0, cfg.max_path_tag_length);
    url.append(path);
  }
  tag("node_id", f.node_id);
  tag("peer.address", f.peer_address);
  num("request_size", f.request_size);
  tag("response_flags", f.response_flags.empty() ? std::string_view("-") : f.response_flags);
  num("response_size", f.response_size);
  tag("upstream_cluster", f.upstream_cluster);
  tag("upstream_cluster.name", f.upstream_cluster);
  tag("user_agent", f.user_agent.empty() ? std::string_view("-") : f.user_agent);
  tag("zone", f.zone);
  for (; ci < custom.size(); ++ci)  // custom tags after every built-in one
    if (!custom[ci].first.empty() && !custom[ci].second.empty()) put(custom[ci].first).assign(custom[ci].second);
  out.resize(n);
}

}  // namespace meshsim::proxy::tracing
