#include "proxy/http/connection_manager.h"

#include "proxy/http/path_normalization.h"

#include <charconv>
#include <cstdio>

#include "proxy/base/ascii.h"
#include "proxy/engine/context.h"
#include "proxy/engine/snapshot.h"
#include "proxy/http/filter.h"
#include "proxy/http/headers_util.h"
#include "proxy/http/grpc.h"
#include "proxy/http/http2_codec.h"
#include "proxy/route_match.h"
#include "proxy/tracing/tracer.h"
#include "proxy/upstream/cluster_manager.h"

namespace meshsim::proxy::http {

namespace {

// The interim response to `Expect: 100-continue` (HTTP/1.1 downstreams).
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

constexpr uint32_t kIdleTimer = 1;

// "a.b.c.d" into buf (at least 16 bytes); returns its length.
size_t format_ip(Ipv4 ip, char* buf) {
  char* p = buf;
  for (int i = 3; i >= 0; --i) {
    auto [e, ec] = std::to_chars(p, buf + 16, (ip.value >> (i * 8)) & 0xff);
    (void)ec;
    p = e;
    if (i) *p++ = '.';
  }
  return static_cast<size_t>(p - buf);
}

// "a.b.c.d:port" into `out` (no allocation once out has capacity).
void format_addr(const SocketAddress& a, std::string& out) {
  char buf[24];
  char* p = buf + format_ip(a.ip, buf);
  *p++ = ':';
  auto [e, ec] = std::to_chars(p, buf + sizeof buf, a.port);
  (void)ec;
  out.assign(buf, static_cast<size_t>(e - buf));
}

}  // namespace

// ========================================================= ActiveStream ===

// One request/response exchange and the filters that run for it. Names of
// config objects point into `snap`, which the stream keeps alive.
class ConnectionManager::ActiveStream final : public StreamDecoderFilterCallbacks {
 public:
  explicit ActiveStream(ConnectionManager& m) : m_(m) {
    if (!m.chain_) return;
    filters_.reserve(m.chain_->filters.size());
    for (const auto& e : m.chain_->filters) {
      filters_.push_back(e.factory->create());
      filters_.back()->set_decoder_callbacks(*this);
      if (e.factory->encodes()) encoders_.push_back(filters_.back().get());
      if (e.factory->has_stream_state()) stateful_.push_back(filters_.back().get());
      if (e.factory->logs()) loggers_.push_back(filters_.back().get());
    }
  }

  void reset(Duration now) {
    snap.reset();
    req.clear();
    resp.clear();
    route_ = nullptr;
    action_ = nullptr;
    vhost_ = nullptr;
    weighted_ = nullptr;
    routes_ = nullptr;
    keep_alive_ = true;
    done = false;
    decoding_data_ = false;
    next_filter_ = 0;
    StreamInfo& i = info;
    i.start = now;
    i.upstream_start = Duration::zero();
    i.response_flags = 0;
    i.route_config = i.virtual_host = i.route_name = i.cluster = i.cluster_description = {};
    i.has_upstream = false;
    i.upstream_transport_failure_reason.clear();
    i.attempts = 0;
    engine::clear_security(i.upstream_tls);
    i.upstream_alpn = nullptr;
    i.mirrored_to.clear();
    i.rbac.clear();
    i.metadata.clear();
    i.request_auth.clear();
    i.wire_bytes_received = i.wire_bytes_sent = 0;
    i.span.clear();
    i.downstream_request = 0;
    i.upstream_connection = 0;
    i.upstream_request = 0;
    decorated_ = nullptr;
    for (StreamFilter* f : stateful_) f->reset();
  }

  // Runs the decoder filters from where the chain stopped: decode_headers
  // over every filter, then decode_data with the body when there is one.
  void decode() {
    bool end_after_headers = req.body.empty();
    while (!done) {
      if (next_filter_ == filters_.size()) {
        if (decoding_data_ || end_after_headers) break;
        decoding_data_ = true;
        next_filter_ = 0;
        continue;
      }
      StreamFilter& f = *filters_[next_filter_++];
      bool stop = decoding_data_ ? f.decode_data(req.body, true) == FilterDataStatus::kStopIteration
                                 : f.decode_headers(req, end_after_headers) == FilterHeadersStatus::kStopIteration;
      if (stop) return;  // the filter resumes the chain, or ended the stream
    }
    if (!done) {
      // Every filter continued and none answered: the chain has no router.
      send_local_reply(500, "", "no_router_filter", 0);
    }
  }

  void end_filters() {
    for (StreamFilter* f : stateful_) f->on_stream_end();
  }
  void log_filters() {
    for (StreamFilter* f : loggers_) f->on_log();
  }
  void encode_filters() {
    bool end = resp.body.empty();
    for (size_t i = encoders_.size(); i-- > 0;) {
      if (encoders_[i]->encode_headers(resp, end) == FilterHeadersStatus::kStopIteration) break;
    }
  }

  // ---- StreamDecoderFilterCallbacks ----
  network::Connection& connection() override { return m_.conn_; }
  const HttpConnectionManager& manager_config() const override { return m_.config_; }
  StreamInfo& stream_info() override { return info; }
  const Route* route() const override { return route_; }
  const RouteAction* route_entry() const override { return action_; }
  const VirtualHost* virtual_host() const override { return vhost_; }
  const WeightedCluster* weighted_cluster() const override { return weighted_; }
  const engine::Snapshot& route_snapshot() const override { return *snap; }
  const CompiledRoutes* route_table() const override { return routes_; }
  const std::shared_ptr<const engine::Snapshot>& route_snapshot_ptr() const override { return snap; }
  Request& request() override { return req; }
  Response& response() override { return resp; }
  void continue_decoding() override {
    if (!done) decode();
  }
  void send_local_reply(int code, std::string_view body, std::string_view details, uint32_t flags) override {
    info.response_flags |= flags;
    m_.local_reply(*this, code, body, details);
  }
  void send_local_reply_with_headers(int code, std::string_view body, std::string_view details, uint32_t flags,
                                     const std::vector<std::pair<std::string, std::string>>& headers) override {
    info.response_flags |= flags;
    m_.local_reply(*this, code, body, details, &headers);
  }
  void encode_response(std::string_view details) override { m_.send_upstream_response(*this, details); }
  engine::EngineContext& engine() override { return m_.ctx_; }
  bool keep_alive() const override { return keep_alive_; }

  ConnectionManager& m_;
  std::shared_ptr<const engine::Snapshot> snap;
  Request req;
  Response resp;
  StreamInfo info;
  const Route* route_ = nullptr;
  const RouteAction* action_ = nullptr;
  const VirtualHost* vhost_ = nullptr;
  const WeightedCluster* weighted_ = nullptr;
  const CompiledRoutes* routes_ = nullptr;
  bool keep_alive_ = true;  // the downstream request keeps the connection open
  // The route decorator's operation, when it names the span and goes to
  // the response (ingress) — cleared when the client's overrides it.
  const std::string* decorated_ = nullptr;
  bool done = false;
  bool decoding_data_ = false;
  size_t next_filter_ = 0;
  StreamId id = 0;  // the codec's stream id
  std::vector<std::unique_ptr<StreamFilter>> filters_;
  std::vector<StreamFilter*> encoders_;  // filters with an encoder side, in chain order
  std::vector<StreamFilter*> stateful_;  // filters with per-stream state to reset and end
  std::vector<StreamFilter*> loggers_;   // filters with an access-log callback (istio.stats)
};

// ==================================================== ConnectionManager ===

ConnectionManager::ConnectionManager(engine::EngineContext& ctx, network::Connection& connection,
                                     const HttpConnectionManager& config)
    : ctx_(ctx), conn_(connection), config_(config) {}

// Every path that closes the connection ends its active stream first, so no
// upstream connection is left pointing at a destroyed router.
ConnectionManager::~ConnectionManager() = default;

network::FilterStatus ConnectionManager::on_new_connection() {
  chain_ = conn_.snapshot()->filter_chain(config_);
  idle_since_ = ctx_.io.now();
  arm_idle(config_.idle_timeout);
  // Inline route configurations (inbound) belong to the listener, like the
  // chain; RDS ones are looked up per request in the current configuration
  // (an RDS update applies to the next request of an open connection).
  if (config_.route_config) inline_routes_ = conn_.snapshot()->compiled(config_.route_config);
  return network::FilterStatus::kContinue;
}

// Envoy's codec_type AUTO: ALPN "h2" from the TLS handshake, else the
// prior-knowledge preface's first 12 bytes; anything else is HTTP/1.1.
void ConnectionManager::choose_codec(std::string_view first) {
  codec_chosen_ = true;
  const SecurityInfo& sec = conn_.security();
  bool h2 = (sec.tls && sec.alpn == "h2") ||
            (first.size() >= kH2PrefacePrefix.size() && first.substr(0, kH2PrefacePrefix.size()) == kH2PrefacePrefix);
  if (!h2) return;
  h2_ = std::make_unique<Http2ServerCodec>();
  codec_ = h2_.get();
  ++ctx_.stats.downstream_cx_http2;
}

network::FilterStatus ConnectionManager::on_data(std::string_view data) {
  if (!retired_.empty()) {
    for (auto& s : retired_) spare_.push_back(std::move(s));
    retired_.clear();
  }
  if (!codec_chosen_) choose_codec(data);
  if (!http2() && !active_.empty()) {
    codec_->feed(data);  // a request is in flight: parse the next one after it
    return network::FilterStatus::kStopIteration;
  }
  process(codec_->feed_next(data));
  if (http2() && !conn_.closed()) {
    handle_resets();
    flush_codec();
  }
  return network::FilterStatus::kStopIteration;
}

void ConnectionManager::flush_codec() {
  if (conn_.closed()) return;
  std::string& wire = ctx_.wire;
  wire.clear();
  codec_->drain_output(wire);
  if (!wire.empty()) conn_.write(wire);
  if (codec_->wants_close() && !conn_.closed()) conn_.close(CloseType::kFin);
}

// RST_STREAM from the client: the stream ends without a response (Envoy:
// onResetStream, response flag DR, details "downstream_remote_reset").
void ConnectionManager::handle_resets() {
  StreamId id;
  uint32_t code;
  while (codec_->take_reset(id, code)) {
    ++ctx_.stats.downstream_rq_rx_reset;
    for (auto& a : active_) {
      if (a->id != id || a->done) continue;
      ActiveStream& s = *a;
      s.info.response_flags |= kDownstreamRemoteReset;
      log_stream(s, 0, "http2.remote_reset", 0);
      abandon(s);
      retire(s);
      break;
    }
  }
}

void ConnectionManager::retire(ActiveStream& s) {
  for (size_t i = 0; i < active_.size(); ++i) {
    if (active_[i].get() != &s) continue;
    retired_.push_back(std::move(active_[i]));
    active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
}

void ConnectionManager::process_next() {
  if (!active_.empty() || conn_.closed()) return;
  process(codec_->next());
}

void ConnectionManager::process(ParseStatus st) {
  for (;;) {
    if (conn_.closed()) return;
    if (!http2() && !active_.empty()) return;
    if (st == ParseStatus::kNeedMore) {
      // Envoy with proxy_100_continue false (Istio's setting): the HCM answers
      // `Expect: 100-continue` itself with an interim 100 as soon as the
      // headers are in, and removes Expect before the request goes upstream
      // (start_stream), so the client sends its body without waiting.
      if (codec_->take_continue()) {
        conn_.write(kContinue);
        continue_sent_ = true;
      }
      return;
    }
    if (st == ParseStatus::kError && http2()) {
      // A connection-level HTTP/2 error: nghttp2 queued GOAWAY; the streams
      // in flight end with the connection (Envoy: codec protocol error).
      ++ctx_.stats.http_codec_errors;
      while (!active_.empty()) {
        ActiveStream& s = *active_.front();
        s.info.response_flags |= kDownstreamProtocolError;
        log_stream(s, 0, "codec_error:" + codec_->error(), 0);
        abandon(s);
        retire(s);
      }
      std::string& wire = ctx_.wire;
      wire.clear();
      codec_->drain_output(wire);
      if (!wire.empty()) conn_.write(wire);
      conn_.close(CloseType::kFin);
      return;
    }
    if (st == ParseStatus::kError) {
      ++ctx_.stats.http_codec_errors;
      ActiveStream& s = new_stream();
      s.info.response_flags |= kDownstreamProtocolError;
      close_after_ = true;
      local_reply(s, 400, "Bad Request", "codec_error:" + codec_->error());
      return;
    }
    ActiveStream& s = new_stream();
    s.id = codec_->take_into(s.req);
    s.info.wire_bytes_received = codec_->request_wire_bytes();
    ++ctx_.stats.downstream_rq_total;
    if (http2()) ++ctx_.stats.downstream_rq_http2_total;
    start_stream(s);
    // The stream may have completed and closed the connection: this object
    // lives on until the entry point returns (deferred deletion).
    if (conn_.closed()) return;
    if (!http2() && !active_.empty()) return;
    st = codec_->next();
  }
}

ConnectionManager::ActiveStream& ConnectionManager::new_stream() {
  std::unique_ptr<ActiveStream> s;
  if (!spare_.empty()) {
    s = std::move(spare_.back());
    spare_.pop_back();
  } else {
    s = std::make_unique<ActiveStream>(*this);
  }
  s->reset(ctx_.io.now());
  active_.push_back(std::move(s));
  return *active_.back();
}

const CompiledRoutes* ConnectionManager::routes_for_request(std::shared_ptr<const engine::Snapshot>& snap) {
  if (inline_routes_) {
    snap = conn_.snapshot();
    return inline_routes_;
  }
  snap = ctx_.current;
  if (rds_snap_ != ctx_.current.get()) {
    rds_snap_ = ctx_.current.get();
    rds_routes_ = ctx_.current->rds(config_.route_config_name);
  }
  return rds_routes_;
}

void ConnectionManager::start_stream(ActiveStream& s) {
  s.info.downstream_request = ++requests_;
  // Decided before the hop-by-hop headers (Connection) are stripped.
  s.keep_alive_ = s.req.keep_alive();
  if (!s.keep_alive_) close_after_ = true;
  if (std::optional<std::string_view> e = s.req.headers.get("expect"); e && ascii_iequals(*e, "100-continue")) {
    // Envoy answers in decodeHeaders whether or not the body came along:
    // the 100 goes out here unless process() sent it while the body was awaited.
    if (!continue_sent_ && !http2()) conn_.write(kContinue);
    s.req.headers.remove("expect");  // answered here: not handled again upstream
  }
  continue_sent_ = false;
  if (s.req.version == 10 && !config_.accept_http_10) {
    // Envoy's HTTP/1 codec refuses HTTP/1.0 unless accept_http_10 is set.
    close_after_ = true;
    s.info.response_flags |= kDownstreamProtocolError;
    local_reply(s, 426, "", "low_version");
    return;
  }
  // Path normalization, then route resolution (Envoy's cached route),
  // request header mutation and the tracing decision, before the filters.
  normalize_request_path(s.req.target, config_.normalize_path, config_.merge_slashes);
  resolve_route(s);
  mutate_request_headers(s);
  if (config_.tracing) trace_request(s);
  if (s.vhost_ && s.vhost_->require_tls && !conn_.security().tls) {
    // VirtualHost require_tls ALL (config_impl.cc SslRedirectRoute, whatever
    // route would match): 301 to https://<Host><path> (Utility::createSslRedirectPath).
    RedirectAction rd;
    rd.scheme_redirect = "https";
    rd.response_code = 301;
    rd.host_redirect = std::string(s.req.host());
    rd.path_redirect = s.req.target;
    rd.strip_query = true;  // the path above already carries the query
    s.route_ = nullptr;
    s.info.route_name = {};
    s.info.cluster = {};
    s.action_ = nullptr;
    redirect(s, rd);
    return;
  }
  if (!s.route_) {
    s.info.response_flags |= kNoRouteFound;
    local_reply(s, 404, "", "route_not_found");
    return;
  }
  if (const auto* dr = std::get_if<DirectResponse>(&s.route_->action)) {
    local_reply(s, static_cast<int>(dr->status), dr->body, "direct_response");
    return;
  }
  if (const auto* rd = std::get_if<RedirectAction>(&s.route_->action)) {
    redirect(s, *rd);
    return;
  }
  s.decode();
}

void ConnectionManager::resolve_route(ActiveStream& s) {
  const CompiledRoutes* routes = routes_for_request(s.snap);
  if (!routes) return;
  s.routes_ = routes;
  s.info.route_config = routes->config().name;
  const VirtualHost* vh = routes->match_virtual_host(s.req.host());
  if (!vh) return;
  s.vhost_ = vh;
  s.info.virtual_host = vh->name;
  const Route* route = routes->match_route(*vh, s.req);
  if (!route) return;
  s.route_ = route;
  s.info.route_name = route->name;
  const RouteAction* a = std::get_if<RouteAction>(&route->action);
  if (!a) return;
  s.action_ = a;
  if (a->weighted_clusters.empty()) {
    s.info.cluster = a->cluster;
  } else {
    s.weighted_ = &ctx_.clusters->pick_weighted_entry(a->weighted_clusters);
    s.info.cluster = s.weighted_->name;
  }
}

// ActiveStream::traceRequest with ConnectionManagerUtility::
// mutateTracingRequestHeader before it: the decision (packed into
// x-request-id), the span, the route decorator's name; egress passes the
// operation on in x-envoy-decorator-operation, ingress takes the client's.
void ConnectionManager::trace_request(ActiveStream& s) {
  const TracingConfig& tc = *config_.tracing;
  Request& r = s.req;
  tracing::Reason reason = tracing::decide(r.headers, tc, ctx_.io);
  switch (reason) {
    case tracing::Reason::kSampling: ++ctx_.stats.tracing_random_sampling; break;
    case tracing::Reason::kClientForced: ++ctx_.stats.tracing_client_enabled; break;
    case tracing::Reason::kServiceForced: ++ctx_.stats.tracing_service_forced; break;
    default: ++ctx_.stats.tracing_not_traceable; break;
  }
  const bool egress = config_.direction == TrafficDirection::kOutbound;
  tracing::start_span(s.info.span, tc, r.headers, reason, egress, r.host(), s.info.start, ctx_.io);
  if (s.route_ && !s.route_->decorator_operation.empty()) {
    s.info.span.name = s.route_->decorator_operation;
    s.decorated_ = &s.route_->decorator_operation;
  }
  if (egress) {
    if (s.decorated_) r.headers.set("x-envoy-decorator-operation", *s.decorated_);
  } else if (auto op = r.headers.get("x-envoy-decorator-operation")) {
    if (!op->empty()) {
      s.info.span.name.assign(*op);
      s.decorated_ = nullptr;
    }
    r.headers.remove("x-envoy-decorator-operation");
  }
}

// encodeHeaders' tracing part: ingress tells the client its decorator's
// operation; egress takes the server's and keeps it from the app.
void ConnectionManager::trace_response(ActiveStream& s) {
  Response& r = s.resp;
  if (config_.direction != TrafficDirection::kOutbound) {
    if (s.decorated_) r.headers.set("x-envoy-decorator-operation", *s.decorated_);
    return;
  }
  if (auto op = r.headers.get("x-envoy-decorator-operation")) {
    if (!op->empty() && s.info.span.state != tracing::ActiveSpan::State::kOff) s.info.span.name.assign(*op);
    r.headers.remove("x-envoy-decorator-operation");
  }
}

// finalizeDownstreamSpan: tags, then the sink.
void ConnectionManager::finish_span(ActiveStream& s, int code, uint64_t body_sent) {
  tracing::ActiveSpan& span = s.info.span;
  if (!span.live() || !ctx_.spans) return;
  const Request& r = s.req;
  tracing::SpanFacts f;
  f.node_id = ctx_.node_id;
  f.zone = conn_.snapshot()->config().node.zone;
  f.request_id = r.headers.get("x-request-id").value_or("");
  f.client_trace_id = r.headers.get("x-client-trace-id").value_or("");
  f.scheme = r.headers.get("x-forwarded-proto").value_or("http");
  f.authority = r.host();
  f.path = r.headers.get("x-envoy-original-path").value_or(std::string_view(r.target));
  f.method = r.method;
  f.user_agent = r.headers.get("user-agent").value_or("");
  f.downstream_cluster = r.headers.get("x-envoy-downstream-service-cluster").value_or("");
  f.protocol = r.version == 10 ? "HTTP/1.0" : r.version == 20 ? "HTTP/2" : "HTTP/1.1";
  char peer[16];
  f.peer_address = std::string_view(peer, format_ip(conn_.info().remote.ip, peer));
  f.upstream_cluster = s.info.cluster;
  std::string flags;
  if (s.info.response_flags) flags = format_response_flags(s.info.response_flags);
  f.response_flags = flags.empty() ? std::string_view("-") : std::string_view(flags);
  f.status = code;
  f.request_size = r.body.size();
  f.response_size = body_sent;
  tracing::span_tags(f, *config_.tracing, ctx_.span_tags);
  const NodeMetadata& node = conn_.snapshot()->config().node;
  tracing::FinishedSpan done{span, ctx_.io.now(), ctx_.span_tags, node.cluster, node.ip, config_.tracing->provider_name};
  done.downstream = conn_.id();
  done.downstream_request = s.info.downstream_request;
  done.upstream = s.info.upstream_connection;
  done.upstream_request = s.info.upstream_request;
  if (span.context.sampled) ++ctx_.stats.tracing_spans_sent;
  ctx_.spans->on_span(done);
}

// Envoy's ConnectionManagerUtility::mutateRequestHeaders: hop-by-hop headers
// removed, x-request-id generated when absent, x-forwarded-proto,
// x-forwarded-client-cert per forward_client_cert_details.
void ConnectionManager::mutate_request_headers(ActiveStream& s) {
  Request& r = s.req;
  strip_hop_by_hop(r.headers);
  // cleanInternalHeaders: a sidecar's requests are never "internal" (no
  // internal_address_config since Envoy 1.33), so x-envoy-force-trace goes.
  r.headers.remove("x-envoy-force-trace");
  if (!r.headers.has("x-request-id")) {
    char uuid[tracing::kUuidLength];
    uint64_t a = ctx_.io.random();
    uint64_t b = ctx_.io.random();
    r.headers.set("x-request-id", tracing::format_uuid(a, b, uuid));
  }
  const SecurityInfo& sec = conn_.security();
  if (!r.headers.has("x-forwarded-proto")) r.headers.set("x-forwarded-proto", sec.tls ? "https" : "http");
  // x-forwarded-client-cert: SANITIZE strips it; APPEND_FORWARD appends the
  // mTLS peer's element, and strips it when the connection is not mTLS.
  using Fcc = HttpConnectionManager::ForwardClientCert;
  if (config_.forward_client_cert != Fcc::kSanitize && sec.tls && sec.peer_certificate) {
    std::string& element = ctx_.scratch;
    element.clear();
    if (auto existing = r.headers.get("x-forwarded-client-cert");
        existing && config_.forward_client_cert == Fcc::kAppendForward)
      element.append(*existing).append(",");
    element.append("By=").append(sec.local_uri_san).append(";Hash=").append(sec.peer_certificate_sha256);
    element.append(";Subject=\"").append(sec.peer_subject).append("\";URI=");
    if (!sec.peer_uri_sans.empty()) element.append(sec.peer_uri_sans.front());
    for (const std::string& dns : sec.peer_dns_sans) element.append(";DNS=").append(dns);
    r.headers.set("x-forwarded-client-cert", element);
  } else {
    r.headers.remove("x-forwarded-client-cert");
  }
}

// Envoy's redirect (router.cc direct response + Utility::newUri): Location =
// scheme://host[:port]path, the request's query kept (Istio never sets
// strip_query); the request port survives unless a port is given or the
// scheme changes away from the port's default.
void ConnectionManager::redirect(ActiveStream& s, const RedirectAction& rd) {
  const Request& req = s.req;
  std::string_view xfp = req.headers.get("x-forwarded-proto").value_or(conn_.security().tls ? "https" : "http");
  std::string scheme = rd.scheme_redirect.empty() ? std::string(xfp) : rd.scheme_redirect;
  std::string port = rd.port_redirect ? ":" + std::to_string(rd.port_redirect) : "";
  std::string host;
  if (!rd.host_redirect.empty()) {
    host = rd.host_redirect;
  } else {
    host = std::string(req.host());
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
      std::string_view request_port = std::string_view(host).substr(colon);
      bool remove = !port.empty();
      if (scheme != xfp) {
        remove = remove || (xfp == "https" && request_port == ":443") || (xfp == "http" && request_port == ":80");
      }
      if (remove) host.resize(colon);
    }
  }
  std::string path;
  if (!rd.path_redirect.empty()) {
    path = rd.path_redirect;
    size_t q = req.target.find('?');
    if (path.find('?') == std::string::npos && q != std::string::npos && !rd.strip_query) path += req.target.substr(q);
  } else {
    path = req.target;
    if (!rd.prefix_rewrite.empty() && s.route_) {
      const RouteMatch& m = s.route_->match;
      std::string_view matched = m.kind == RouteMatch::Kind::kRegex ? req.path() : std::string_view(m.value);
      if (path.size() >= matched.size() && iequals(std::string_view(path).substr(0, matched.size()), matched)) {
        path = rd.prefix_rewrite + path.substr(matched.size());
      }
    }
    if (rd.strip_query) path = path.substr(0, path.find('?'));
  }
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
  std::string location = scheme + "://" + host + port + path;
  Response& r = s.resp;
  r.clear();
  r.status = static_cast<int>(rd.response_code);
  r.version = req.version == 10 ? 10 : 11;
  r.headers.set("location", location);
  r.headers.set("content-length", "0");
  r.headers.set("date", format_http_date(ctx_.io.now()));
  r.headers.set("server", config_.server_name.empty() ? std::string_view("envoy") : std::string_view(config_.server_name));
  if (s.route_) apply_header_mutations(r.headers, s.route_->headers.response_add, s.route_->headers.response_remove);
  if (close_after_ || !s.keep_alive_) r.headers.set("connection", "close");
  s.encode_filters();
  send_response(s, "direct_response");
}

void ConnectionManager::local_reply(ActiveStream& s, int status, std::string_view body, std::string_view details,
                                    const std::vector<std::pair<std::string, std::string>>* extra) {
  Response& r = s.resp;
  r.clear();
  r.version = s.req.version == 10 ? 10 : 11;
  if (grpc::is_grpc_request(s.req)) {
    // Envoy's local reply to a gRPC request (Utility::encodeLocalReply,
    // is_grpc): a trailers-only response — :status 200, content-type
    // application/grpc, grpc-status mapped from the HTTP code
    // (httpToGrpcStatus: 503 → UNAVAILABLE, 403 → PERMISSION_DENIED, …),
    // grpc-message the percent-encoded body; no body, no content-length.
    r.status = 200;
    r.headers.set("content-type", "application/grpc");
    char g[8];
    auto [ge, gec] = std::to_chars(g, g + sizeof g, grpc::http_to_grpc_status(status));
    (void)gec;
    r.headers.set("grpc-status", std::string_view(g, static_cast<size_t>(ge - g)));
    if (!body.empty() && s.req.method != "HEAD") r.headers.set("grpc-message", grpc::percent_encode(body));
    r.headers.set("date", format_http_date(ctx_.io.now()));
    std::string_view server = config_.server_name;
    r.headers.set("server", server.empty() ? "envoy" : server);
    if (extra)
      for (const auto& [k, v] : *extra) r.headers.set(k, v);
    if (close_after_ || !s.keep_alive_) r.headers.set("connection", "close");
    s.encode_filters();
    send_response(s, details);
    return;
  }
  r.status = status;
  if (!body.empty()) r.headers.set("content-type", "text/plain");
  char n[24];
  auto [e, ec] = std::to_chars(n, n + sizeof n, body.size());
  (void)ec;
  r.headers.set("content-length", std::string_view(n, static_cast<size_t>(e - n)));
  r.headers.set("date", format_http_date(ctx_.io.now()));
  std::string_view server = config_.server_name;
  r.headers.set("server", server.empty() ? "envoy" : server);
  r.body.assign(body);
  if (extra)
    for (const auto& [k, v] : *extra) r.headers.set(k, v);
  if (close_after_ || !s.keep_alive_) r.headers.set("connection", "close");
  s.encode_filters();
  send_response(s, details);
}

void ConnectionManager::send_upstream_response(ActiveStream& s, std::string_view details) {
  Response& r = s.resp;
  s.encode_filters();
  if (!config_.server_name.empty()) r.headers.set("server", config_.server_name);
  // HTTP/1: a connection that closes after this response says so (Envoy's
  // encodeHeaders adds connection: close while draining or closing).
  if (!s.keep_alive_ || close_after_) r.headers.set("connection", "close");
  send_response(s, details);
}

void ConnectionManager::send_response(ActiveStream& s, std::string_view details) {
  Response& r = s.resp;
  if (config_.tracing) trace_response(s);
  s.done = true;
  s.end_filters();
  int code = r.status;
  if (code >= 200 && code < 300) ++ctx_.stats.downstream_rq_2xx;
  else if (code < 400) ++ctx_.stats.downstream_rq_3xx;
  else if (code < 500) ++ctx_.stats.downstream_rq_4xx;
  else ++ctx_.stats.downstream_rq_5xx;
  uint64_t body_bytes = r.body.size();
  std::string& wire = ctx_.wire;
  wire.clear();
  codec_->encode(s.id, r, wire);
  s.info.wire_bytes_sent = wire.size();
  conn_.write(wire);
  // HTTP/2: the connection outlives the stream; it closes once drained (or
  // the client half-closed) and no stream is left.
  bool close = http2() ? false : close_after_ || !r.keep_alive();
  log_stream(s, code, details, body_bytes);
  // The stream may still be on the call stack (a filter's callback): it is
  // reusable from the next downstream read on.
  retire(s);
  if (active_.empty()) {
    idle_since_ = ctx_.io.now();
    if (!idle_timer_armed_) arm_idle(config_.idle_timeout);
  }
  if (http2()) {
    if (active_.empty() && (close_after_ || conn_.peer_half_closed())) conn_.close(CloseType::kFin);
    return;
  }
  if (close || conn_.peer_half_closed()) {
    conn_.close(CloseType::kFin);
    return;
  }
  process_next();
}

void ConnectionManager::abandon(ActiveStream& s) {
  s.end_filters();
  s.done = true;
}

void ConnectionManager::on_remote_close(CloseType how) {
  conn_.set_peer_half_closed();
  while (!active_.empty()) {
    ActiveStream& s = *active_.front();
    if (!s.done) {
      s.info.response_flags |= kDownstreamConnectionTermination;
      log_stream(s, 0, "downstream_remote_disconnect", 0);
      abandon(s);
    }
    retire(s);
  }
  conn_.close(how == CloseType::kReset ? CloseType::kReset : CloseType::kFin);
}

void ConnectionManager::on_transport_failure(std::string_view reason) {
  while (!active_.empty()) {
    // A TLS record failure mid-request: the stream is reset with the
    // connection (its upstream request is cancelled).
    ActiveStream& s = *active_.front();
    if (!s.done) {
      s.info.response_flags |= kDownstreamConnectionTermination;
      log_stream(s, 0, "downstream_remote_disconnect", 0);
      abandon(s);
    }
    retire(s);
  }
  AccessLogEntry& e = conn_.access_log_entry();
  e.connection_termination_details = "TLS error: ";
  e.connection_termination_details.append(reason);
  e.response_flags = "-";
  e.protocol = "tcp";
  ctx_.log(e);
  conn_.close(CloseType::kFin);
}

// Listener drain (a push removed or changed the chain): an HTTP/1 connection
// closes after its current response ("connection: close"), or at once when idle.
// HTTP/2: GOAWAY (last stream id processed), then the close once the
// streams in flight are answered (Envoy's drain: ConnectionManagerImpl::
// startDrainSequence → goAway).
void ConnectionManager::on_drain(Duration) {
  close_after_ = true;
  if (http2() && !conn_.closed()) {
    std::string& wire = ctx_.wire;
    wire.clear();
    codec_->shutdown(wire);
    if (!wire.empty()) conn_.write(wire);
  }
  if (active_.empty()) conn_.close(CloseType::kFin);
}

void ConnectionManager::arm_idle(Duration after) {
  if (idle_timer_armed_ || config_.idle_timeout <= Duration::zero()) return;
  idle_timer_armed_ = true;
  conn_.arm_timer(after, kIdleTimer);
}

void ConnectionManager::on_timer(uint32_t which) {
  if (which == kIdleTimer) idle_check();
}

void ConnectionManager::idle_check() {
  idle_timer_armed_ = false;
  if (!active_.empty()) return;  // a stream is active; re-armed when it ends
  Duration idle_for = ctx_.io.now() - idle_since_;
  if (idle_for >= config_.idle_timeout) {
    ++ctx_.stats.downstream_cx_idle_timeout;
    conn_.close(CloseType::kFin);
    return;
  }
  arm_idle(config_.idle_timeout - idle_for);
}

void ConnectionManager::log_stream(ActiveStream& s, int code, std::string_view details, uint64_t body_sent) {
  s.info.response_code = code;
  s.log_filters();
  finish_span(s, code, body_sent);
  const StreamInfo& i = s.info;
  if (!ctx_.detailed_log()) {
    // Nobody reads the details: only what the run's fingerprint digests.
    AccessLogEntry& e = ctx_.entry;
    e.listener.assign(conn_.listener().name);
    e.filter_chain.assign(conn_.filter_chain().name);
    e.cluster.assign(i.cluster);
    if (i.response_flags) e.response_flags = format_response_flags(i.response_flags);
    else e.response_flags.assign("-");
    e.response_code = code;
    e.direction = conn_.listener().direction;
    e.http = true;
    ctx_.log(e);
    return;
  }
  AccessLogEntry& e = conn_.access_log_entry();
  e.start_time = i.start;
  e.duration = ctx_.io.now() - i.start;
  e.http = true;
  e.protocol = s.req.version == 10 ? "HTTP/1.0" : s.req.version == 20 ? "HTTP/2" : "HTTP/1.1";
  e.method = s.req.method;
  e.path = s.req.target;
  e.authority.assign(s.req.host());
  e.request_id.assign(s.req.headers.get("x-request-id").value_or(""));
  e.route_config.assign(i.route_config);
  e.virtual_host.assign(i.virtual_host);
  e.route.assign(i.route_name);
  e.cluster.assign(i.cluster);
  e.cluster_description.assign(i.cluster_description);
  if (i.has_upstream) format_addr(i.upstream_host, e.upstream_host);
  e.response_code = code;
  e.response_code_details.assign(details);
  if (i.response_flags) e.response_flags = format_response_flags(i.response_flags);
  e.upstream_transport_failure_reason = i.upstream_transport_failure_reason;
  e.attempts = i.attempts;
  e.mirrored_to.assign(i.mirrored_to.begin(), i.mirrored_to.end());
  e.rbac = i.rbac;
  e.request_auth = i.request_auth;
  e.bytes_received = s.req.body.size();
  e.bytes_sent = body_sent;
  e.upstream_tls = i.upstream_tls;
  ctx_.log(e);
}

}  // namespace meshsim::proxy::http
