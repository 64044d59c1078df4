#include "proxy/http/filters/router/router_filter.h"

#include "proxy/tracing/tracer.h"

#include <algorithm>
#include <charconv>

#include <re2/re2.h>

#include "proxy/engine/context.h"
#include "proxy/engine/snapshot.h"
#include "proxy/http/headers_util.h"
#include "proxy/http/http2_codec.h"
#include "proxy/network/filter.h"
#include "proxy/route_match.h"
#include "proxy/upstream/cluster_manager.h"

namespace meshsim::proxy::http {

namespace {
const std::vector<std::string> kNoAlpnOverride;
}  // namespace

RouterFilter::~RouterFilter() = default;

void RouterFilter::reset() {
  retry_.reset(nullptr);
  tried_.clear();
  hash_ = HashResult{};
  up_ = nullptr;
  h2_ = false;
  request_sent_ = false;
  host_counted_ = false;
  pending_ = queued_ = attached_ = overloaded_ = false;
  cluster_ = nullptr;
  endpoint_ = nullptr;
  res_ = nullptr;
  retrying_ = nullptr;
  timeout_ = per_try_ = backoff_ = engine::Timer{};
}

// A request with a body starts upstream once decode_data delivers it (the
// connection manager runs the data pass only when every filter continued the
// headers; the router is last, so continuing passes nothing on).
FilterHeadersStatus RouterFilter::decode_headers(Request&, bool end_stream) {
  if (!end_stream) return FilterHeadersStatus::kContinue;
  start();
  return FilterHeadersStatus::kStopIteration;
}

FilterDataStatus RouterFilter::decode_data(std::string&, bool end_stream) {
  if (end_stream) start();
  return FilterDataStatus::kStopIteration;
}

// Envoy starts the route timeout when the downstream request is complete
// (onRequestComplete) and keeps it running across retries and back-off.
// Envoy's RouteEntryImplBase::finalizeRequestHeaders, in its order: the
// chosen weighted cluster's headers and host rewrite, the route's headers,
// the route's host rewrite, then the path rewrite (prefix or regex) with
// x-envoy-original-path. Runs once per request, after every other filter saw
// the original path and host.
void RouterFilter::finalize_request_headers(Request& req) {
  const RouteAction& action = *callbacks_->route_entry();
  const Route& route = *callbacks_->route();
  if (const WeightedCluster* w = callbacks_->weighted_cluster()) {
    apply_header_mutations(req.headers, w->headers.request_add, w->headers.request_remove);
    if (!w->host_rewrite.empty()) req.headers.set("host", w->host_rewrite);
  }
  apply_header_mutations(req.headers, route.headers.request_add, route.headers.request_remove);
  if (!action.host_rewrite.empty()) req.headers.set("host", action.host_rewrite);
  std::string rewritten;
  if (action.regex_rewrite) {
    size_t cut = req.target.find_first_of("?#");
    std::string path_only = req.target.substr(0, cut);
    const CompiledRoutes* table = callbacks_->route_table();
    const RE2* re = table ? table->regex(&*action.regex_rewrite) : nullptr;
    if (re && RE2::GlobalReplace(&path_only, *re, action.regex_rewrite->substitution) > 0 && !path_only.empty()) {
      rewritten = path_only + (cut == std::string::npos ? std::string() : req.target.substr(cut));
    }
  } else if (!action.prefix_rewrite.empty()) {
    // The matched part: the configured prefix, the whole configured path
    // (exact match), or the whole path (regex match); compared ignoring case.
    std::string_view matched =
        route.match.kind == RouteMatch::Kind::kRegex ? req.path() : std::string_view(route.match.value);
    if (req.target.size() >= matched.size() && iequals(std::string_view(req.target).substr(0, matched.size()), matched)) {
      rewritten = action.prefix_rewrite + req.target.substr(matched.size());
    }
  }
  if (!rewritten.empty() && rewritten != req.target) {
    req.headers.set("x-envoy-original-path", req.target);
    req.target = std::move(rewritten);
  }
}

void RouterFilter::start() {
  engine::EngineContext& ctx = callbacks_->engine();
  const RouteAction& action = *callbacks_->route_entry();
  // The request's hash (computeHashKey), from the headers as the client sent
  // them, before the route's header mutations; once per stream, so a
  // generated cookie is asked for once even when the request is retried.
  hash_ = HashResult{};
  if (!action.hash_policy.empty()) {
    const DownstreamInfo& di = callbacks_->connection().info();
    hash_ = generate_hash(action.hash_policy, {&callbacks_->request(), di.remote, di.original_destination});
  }
  finalize_request_headers(callbacks_->request());
  // Mirrors (maybeDoShadowing): decided once per request, after the header
  // mutations; a fraction below 100 % costs one draw per policy.
  for (const RequestMirrorPolicy& m : action.mirrors) {
    if (m.per_million < 1'000'000 && ctx.io.random() % 1'000'000 >= m.per_million) continue;
    StreamInfo& info = callbacks_->stream_info();
    const std::vector<std::string>& alpn = info.upstream_alpn ? *info.upstream_alpn : kNoAlpnOverride;
    if (ctx.clusters->shadows().shadow(callbacks_->route_snapshot_ptr(), m, callbacks_->request(), alpn)) {
      info.mirrored_to.push_back(m.cluster);
    }
  }
  started_ = ctx.io.now();
  if (action.timeout > Duration::zero()) timeout_ = ctx.timers.arm(action.timeout, [this] { on_timeout(false); });
  retry_.reset(action.retry_policy ? &*action.retry_policy : nullptr);
  // A per-try timeout not shorter than the route timeout is ignored
  // (FilterUtility::finalTimeout).
  per_try_timeout_ = retry_.policy().per_try_timeout;
  if (action.timeout > Duration::zero() && per_try_timeout_ >= action.timeout) per_try_timeout_ = Duration::zero();
  attempt();
}

// x-envoy-expected-rq-timeout-ms on every attempt: the per-try timeout when
// set, else what is left of the route timeout (at least 1 ms); absent with
// neither (FilterUtility::setTimeoutHeaders).
void RouterFilter::set_expected_timeout_header(Request& req) {
  const RouteAction& action = *callbacks_->route_entry();
  int64_t ms = 0;
  if (per_try_timeout_ > Duration::zero()) {
    ms = per_try_timeout_.ns() / 1'000'000;
  } else if (action.timeout > Duration::zero()) {
    Duration left = action.timeout - (callbacks_->engine().io.now() - started_);
    ms = std::max<int64_t>(1, left.ns() / 1'000'000);
  }
  if (ms > 0) req.headers.set("x-envoy-expected-rq-timeout-ms", std::to_string(ms));
}

void RouterFilter::attempt() {
  engine::EngineContext& ctx = callbacks_->engine();
  StreamInfo& info = callbacks_->stream_info();
  std::string_view cluster = info.cluster;
  const upstream::CompiledCluster* cc = callbacks_->route_snapshot().cluster(cluster);
  if (!cc) {
    callbacks_->send_local_reply(callbacks_->route_entry()->cluster_not_found_response_code, "", "cluster_not_found",
                                 kNoClusterFound);
    return;
  }
  info.cluster_description = cc->cluster->description;
  if (cluster == kBlackHoleCluster) {
    callbacks_->send_local_reply(502, "", "cluster_not_found", 0);
    return;
  }
  upstream::ClusterManager& cm = *ctx.clusters;
  const RetryPolicy& rp = retry_.policy();
  const LbEndpoint* ep = cm.load_balancer().choose(
      *cc, {callbacks_->connection().info().original_destination, rp.previous_hosts_predicate ? &tried_ : nullptr,
            hash_.hash, rp.previous_hosts_predicate ? rp.host_selection_retry_max_attempts : 0});
  if (!ep) {
    callbacks_->send_local_reply(503, "no healthy upstream", "no_healthy_upstream", kNoHealthyUpstream);
    return;
  }
  ++info.attempts;
  request_sent_ = false;
  ++ctx.stats.upstream_rq_total;
  tried_.push_back(ep->address);
  info.upstream_host = ep->address;
  info.has_upstream = true;
  info.upstream_start = ctx.io.now();
  info.upstream_transport_failure_reason.clear();
  cm.load_balancer().request_started(ep->address);
  host_counted_ = true;
  Request& req = callbacks_->request();
  set_expected_timeout_header(req);
  const CircuitBreakers& cb = cc->cluster->circuit_breakers;
  upstream::ClusterResources& res = cm.resources(*cc);
  res_ = &res;
  key_ = upstream::PoolKey{cc->cluster, packed(ep->address), req.version < 11 && !cc->cluster->http2};
  h2_ = cc->cluster->http2;
  cluster_ = cc;
  endpoint_ = ep;
  // max_requests: the cluster's attached requests (http2MaxRequests, which
  // limits HTTP/1 clusters too).
  if (res.requests >= cb.max_requests) {
    overflow();
    return;
  }
  if (h2_) {
    // HTTP/2 pool: a stream on the host's multiplexed connection; the
    // request is pending until that connection is ready.
    if (per_try_timeout_ > Duration::zero()) per_try_ = ctx.timers.arm(per_try_timeout_, [this] { on_timeout(true); });
    const std::vector<std::string>& alpn = info.upstream_alpn ? *info.upstream_alpn : kNoAlpnOverride;
    bool opened = false;
    upstream::UpstreamConnection* c = cm.h2_connection(callbacks_->route_snapshot_ptr(), *cc, *ep, alpn, key_, opened);
    if (!c->established()) {
      if (res.pending >= cb.max_pending_requests) {
        if (per_try_.armed()) ctx.timers.disarm(per_try_);
        if (opened) cm.close(*c, CloseType::kFin);
        overflow();
        return;
      }
      ++res.pending;
      pending_ = true;
    }
    up_ = c;
    c->attach_stream(*this);
    return;
  }
  // Reuse an idle keep-alive connection to this host if there is one.
  upstream::UpstreamConnection* idle = cm.take_idle(key_, *this);
  // The per-try timer runs per attempt, pooled connection or new.
  if (per_try_timeout_ > Duration::zero()) per_try_ = ctx.timers.arm(per_try_timeout_, [this] { on_timeout(true); });
  if (idle) {
    up_ = idle;
    on_upstream_ready(*idle);
    return;
  }
  // No ready connection: the request is pending until one is ready
  // (http1MaxPendingRequests), on a new connection unless max_connections
  // is reached and the host already has one (then it waits in the queue).
  if (res.pending >= cb.max_pending_requests) {
    if (per_try_.armed()) ctx.timers.disarm(per_try_);
    overflow();
    return;
  }
  ++res.pending;
  pending_ = true;
  if (res.connections >= cb.max_connections && cm.has_connections(key_)) {
    ++ctx.stats.upstream_cx_overflow;
    queued_ = true;
    cm.enqueue(key_, *this);
    return;
  }
  open_connection();
}

void RouterFilter::open_connection() {
  upstream::ClusterManager& cm = *callbacks_->engine().clusters;
  const StreamInfo& info = callbacks_->stream_info();
  const std::vector<std::string>& alpn = info.upstream_alpn ? *info.upstream_alpn : kNoAlpnOverride;
  up_ = cm.connect(callbacks_->route_snapshot_ptr(), *cluster_, *endpoint_, alpn, key_);
  up_->set_owner(this);
}

void RouterFilter::on_pool_capacity() {
  queued_ = false;
  open_connection();
}

// The request is no longer waiting for a connection.
void RouterFilter::leave_pending() {
  if (queued_) {
    callbacks_->engine().clusters->cancel(key_, *this);
    queued_ = false;
  }
  if (!pending_) return;
  pending_ = false;
  if (res_->pending > 0) --res_->pending;
}

// Circuit breaker overflow (Envoy onPoolFailure(Overflow)): 503 UO, never
// retried, x-envoy-overloaded.
void RouterFilter::overflow() {
  engine::EngineContext& ctx = callbacks_->engine();
  release_host();
  ++ctx.stats.upstream_rq_pending_overflow;
  StreamInfo& info = callbacks_->stream_info();
  std::string body = "upstream connect error or disconnect/reset before headers. ";
  body += info.attempts > 1 ? "retried and the latest reset reason: overflow" : "reset reason: overflow";
  overloaded_ = true;
  callbacks_->send_local_reply(503, body, "upstream_reset_before_response_started{overflow}", kUpstreamOverflow);
}

FilterHeadersStatus RouterFilter::encode_headers(Response& r, bool) {
  if (overloaded_) r.headers.set("x-envoy-overloaded", "true");
  return FilterHeadersStatus::kContinue;
}

void RouterFilter::on_upstream_ready(upstream::UpstreamConnection& u) {
  StreamInfo& info = callbacks_->stream_info();
  Request& req = callbacks_->request();
  up_ = &u;
  leave_pending();
  ++res_->requests;
  attached_ = true;
  u.count_request();
  info.upstream_tls = u.security();
  if (!h2_) u.codec().expect_head_response(req.method == "HEAD");
  const VirtualHost* vh = callbacks_->virtual_host();
  if (vh && vh->include_request_attempt_count) {
    char n[12];
    auto [e, ec] = std::to_chars(n, n + sizeof n, info.attempts);
    (void)ec;
    req.headers.set("x-envoy-attempt-count", std::string_view(n, static_cast<size_t>(e - n)));
  }
  // injectContext, per attempt (a retry carries the same span's context).
  if (const auto& tc = callbacks_->manager_config().tracing) tracing::inject(info.span, *tc, req.headers);
  info.upstream_connection = u.id();
  info.upstream_request = u.requests_served();
  request_sent_ = true;
  // UpstreamRequest::onPoolReady.
  report(upstream::OutlierResult::kLocalOriginConnectSuccess, 0);
  std::string& wire = callbacks_->engine().wire;
  wire.clear();
  if (h2_) {
    uint32_t stream = u.h2()->submit(req, u.security().tls, wire);
    if (stream == 0) {
      // GOAWAY arrived first: the stream is refused before any byte went up.
      request_sent_ = false;
      up_ = nullptr;
      attempt_failed(false, "remote refused stream reset", "", kUpstreamRemoteReset, /*refused_stream=*/true);
      return;
    }
    u.bind_stream(stream, *this);
    u.send(wire);
    return;
  }
  u.codec().encode(req, wire);
  u.send(wire);
}

void RouterFilter::on_stream_response(upstream::UpstreamConnection& u, uint32_t stream) {
  up_ = nullptr;
  u.h2()->take_response(stream, callbacks_->response());
  release_host();
  response_complete();
}

// Envoy's stream reset reasons: RST_STREAM(REFUSED_STREAM) (or a stream a
// GOAWAY did not process) is "remote refused stream reset", any other code
// "remote reset"; both are UR (Router::Filter::streamResetReasonToResponseFlag).
void RouterFilter::on_stream_reset(upstream::UpstreamConnection&, uint32_t, uint32_t code) {
  up_ = nullptr;
  bool refused = code == kH2RefusedStream;
  attempt_failed(false, refused ? "remote refused stream reset" : "remote reset", "", kUpstreamRemoteReset, refused);
}

void RouterFilter::drop_upstream() {
  if (!up_) return;
  upstream::UpstreamConnection* u = up_;
  if (h2_) {
    up_ = nullptr;
    u->abandon_stream(*this);
    return;
  }
  detach();
  callbacks_->engine().clusters->close(*u, CloseType::kReset);
}

void RouterFilter::detach() {
  if (!up_) return;
  up_->set_owner(nullptr);
  up_ = nullptr;
}

// The attempt is over: the host's active-request count (least-request LB)
// goes down once, whichever way it ended.
void RouterFilter::release_host() {
  leave_pending();
  if (attached_) {
    attached_ = false;
    if (res_->requests > 0) --res_->requests;
  }
  if (!host_counted_) return;
  host_counted_ = false;
  callbacks_->engine().clusters->load_balancer().request_finished(callbacks_->stream_info().upstream_host);
}

void RouterFilter::on_upstream_data(upstream::UpstreamConnection& u, std::string_view data) {
  upstream::ClusterManager& cm = *callbacks_->engine().clusters;
  ParseStatus st = u.codec().feed_next(data);
  if (st == ParseStatus::kNeedMore) return;
  if (st == ParseStatus::kError) {
    detach();
    cm.close(u, CloseType::kReset);
    release_host();
    report(upstream::OutlierResult::kLocalOriginConnectFailed, 0);  // onUpstreamReset(ProtocolError)
    callbacks_->send_local_reply(
        503, "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
        "upstream_reset_before_response_started{protocol_error}", kUpstreamProtocolError);
    return;
  }
  Response& resp = callbacks_->response();
  u.codec().take_into(resp);
  uint32_t max_rq = u.cluster().max_requests_per_connection;
  bool at_max = max_rq != 0 && u.requests_served() >= max_rq;
  if (at_max) ++callbacks_->engine().stats.upstream_cx_max_requests;
  bool reusable = resp.keep_alive() && u.codec().buffered() == 0 && !at_max;
  detach();
  release_host();  // before the pool hands the connection to a queued request
  if (reusable) cm.release(u);
  else cm.close(u, CloseType::kFin);
  response_complete();
}

void RouterFilter::on_upstream_closed(upstream::UpstreamConnection& u, CloseType how) {
  if (how == CloseType::kFin && u.codec().mid_message()) {
    if (u.codec().finish_eof() == ParseStatus::kComplete) {
      u.codec().take_into(callbacks_->response());
      detach();
      callbacks_->engine().clusters->close(u, CloseType::kFin);
      response_complete();
      return;
    }
  }
  // Envoy's codec client: a close before the connection counted as
  // connected (TLS: before the handshake completed) is a "remote
  // connection failure"; after it, FIN or RST alike, a "connection
  // termination" (source/common/http/codec_client.cc onEvent).
  if (!u.established()) {
    on_upstream_failed(u, true, "remote connection failure", "");
    return;
  }
  on_upstream_failed(u, false, "connection termination", "");
}

void RouterFilter::on_upstream_failed(upstream::UpstreamConnection& u, bool connect_failure,
                                      const std::string& reason, const std::string& transport) {
  callbacks_->stream_info().upstream_tls = u.security();
  if (h2_) {
    // The connection is failing every stream it carries; it closes itself.
    up_ = nullptr;
    attempt_failed(connect_failure, reason, transport, reason == "protocol error" ? uint32_t{kUpstreamProtocolError} : 0u);
    return;
  }
  detach();
  callbacks_->engine().clusters->close(u, CloseType::kReset);
  attempt_failed(connect_failure, reason, transport);
}

void RouterFilter::response_complete() {
  engine::EngineContext& ctx = callbacks_->engine();
  Response& r = callbacks_->response();
  release_host();
  if (per_try_.armed()) ctx.timers.disarm(per_try_);
  // onUpstreamHeaders: the host's outlier detector sees every attempt's status.
  report(r.status >= 500 ? upstream::OutlierResult::kExtOriginRequestFailed
                         : upstream::OutlierResult::kExtOriginRequestSuccess,
         static_cast<uint32_t>(r.status));
  if (retry_.would_retry_status(r.status)) {
    if (!retry_.can_retry()) {
      // Retriable, but the budget is spent: forwarded with URX.
      callbacks_->stream_info().response_flags |= kUpstreamRetryLimitExceeded;
    } else if (!retry_slot()) {
      // max_retries reached (retry circuit breaker): forwarded with UO.
      callbacks_->stream_info().response_flags |= kUpstreamOverflow;
    } else {
      schedule_retry();
      return;
    }
  }
  strip_hop_by_hop(r.headers);
  // finalizeResponseHeaders: the weighted cluster's, then the route's.
  if (const WeightedCluster* w = callbacks_->weighted_cluster()) {
    apply_header_mutations(r.headers, w->headers.response_add, w->headers.response_remove);
  }
  const HeaderMutations& rh = callbacks_->route()->headers;
  apply_header_mutations(r.headers, rh.response_add, rh.response_remove);
  // A cookie the hash policy generated (Router::Filter::onUpstreamHeaders).
  for (const std::string& c : hash_.set_cookies) r.headers.add("set-cookie", c);
  int64_t ms = (ctx.io.now() - callbacks_->stream_info().upstream_start).ns() / 1'000'000;
  char n[24];
  auto [e, ec] = std::to_chars(n, n + sizeof n, ms);
  (void)ec;
  r.headers.set("x-envoy-upstream-service-time", std::string_view(n, static_cast<size_t>(e - n)));
  callbacks_->encode_response("via_upstream");
}

void RouterFilter::schedule_retry() {
  engine::EngineContext& ctx = callbacks_->engine();
  Duration delay = retry_.consume(callbacks_->stream_info().attempts, ctx.io.random());
  ++ctx.stats.upstream_rq_retry;
  backoff_ = ctx.timers.arm(delay, [this] {
    backoff_ = engine::Timer{};
    end_retry();
    attempt();
  });
}

// The retry circuit breaker: a retry may start only while fewer than
// max_retries of the cluster's requests are in back-off.
bool RouterFilter::retry_slot() {
  engine::EngineContext& ctx = callbacks_->engine();
  const upstream::CompiledCluster* cc = callbacks_->route_snapshot().cluster(callbacks_->stream_info().cluster);
  if (!cc) return true;
  upstream::ClusterResources& res = ctx.clusters->resources(*cc->cluster);
  if (res.retries >= cc->cluster->circuit_breakers.max_retries) {
    ++ctx.stats.upstream_rq_retry_overflow;
    return false;
  }
  ++res.retries;
  retrying_ = cc;
  return true;
}

void RouterFilter::end_retry() {
  if (!retrying_) return;
  upstream::ClusterResources& res = callbacks_->engine().clusters->resources(*retrying_->cluster);
  if (res.retries > 0) --res.retries;
  retrying_ = nullptr;
}

void RouterFilter::attempt_failed(bool connect_failure, const std::string& reason, const std::string& transport,
                                  uint32_t reset_flag, bool refused_stream) {
  engine::EngineContext& ctx = callbacks_->engine();
  StreamInfo& info = callbacks_->stream_info();
  release_host();
  if (per_try_.armed()) ctx.timers.disarm(per_try_);
  // onUpstreamReset: every reset but an overflow counts against the host.
  report(upstream::OutlierResult::kLocalOriginConnectFailed, 0);
  info.upstream_transport_failure_reason = transport;
  bool retriable = retry_.would_retry_reset(connect_failure, /*before_request=*/!request_sent_, refused_stream);
  uint32_t flags = reset_flag          ? reset_flag
                   : connect_failure ? kUpstreamConnectionFailure
                                     : kUpstreamConnectionTermination;
  if (retriable && retry_.can_retry()) {
    if (retry_slot()) {
      schedule_retry();
      return;
    }
    flags |= kUpstreamOverflow;
  } else if (retriable) {
    flags |= kUpstreamRetryLimitExceeded;
  }
  std::string body = "upstream connect error or disconnect/reset before headers. ";
  body += info.attempts > 1 ? "retried and the latest reset reason: " : "reset reason: ";
  body += reason;
  if (!transport.empty()) body += ", transport failure reason: " + transport;
  std::string details = "upstream_reset_before_response_started{" + reason +
                        (transport.empty() ? std::string() : "|" + transport) + "}";
  std::replace(details.begin(), details.end(), ' ', '_');
  callbacks_->send_local_reply(503, body, details, flags);
}

void RouterFilter::on_timeout(bool per_try) {
  if (per_try) per_try_ = engine::Timer{};
  else timeout_ = engine::Timer{};
  bool before_request = !request_sent_;
  // onPerTryTimeout / onResponseTimeout: the attempt in flight timed out.
  if (host_counted_) report(upstream::OutlierResult::kLocalOriginTimeout, 0);
  if (up_) {
    drop_upstream();
    release_host();
  }
  if (!per_try) {
    // The route timeout: no retry (onResponseTimeout).
    callbacks_->send_local_reply(504, "upstream request timeout", "response_timeout", kUpstreamRequestTimeout);
    return;
  }
  // A per-try timeout resets the attempt like a local reset
  // (onPerTryTimeout → maybeRetryReset).
  bool retriable = retry_.would_retry_reset(/*connect_failure=*/false, before_request);
  if (retriable && retry_.can_retry() && retry_slot()) {
    schedule_retry();
    return;
  }
  uint32_t flags = kUpstreamRequestTimeout | (retriable ? uint32_t{kUpstreamRetryLimitExceeded} : 0u);
  callbacks_->send_local_reply(504, "upstream request timeout", "upstream_per_try_timeout", flags);
}

void RouterFilter::report(upstream::OutlierResult r, uint32_t code) {
  if (!cluster_) return;
  callbacks_->engine().clusters->load_balancer().put_result(*cluster_, callbacks_->stream_info().upstream_host, r,
                                                             code);
}

void RouterFilter::on_stream_end() {
  engine::EngineContext& ctx = callbacks_->engine();
  if (timeout_.armed()) ctx.timers.disarm(timeout_);
  if (per_try_.armed()) ctx.timers.disarm(per_try_);
  if (backoff_.armed()) ctx.timers.disarm(backoff_);
  end_retry();
  if (cluster_) leave_pending();
  if (up_) {
    // Abandoned with a request in flight (the client went away).
    drop_upstream();
    release_host();
  }
}

}  // namespace meshsim::proxy::http
