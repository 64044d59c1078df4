#include "proxy/http/filters/ext_authz/ext_authz_filter.h"

#include "proxy/access_log.h"
#include "proxy/engine/context.h"
#include "proxy/rbac.h"
#include "proxy/upstream/cluster_manager.h"

namespace meshsim::proxy::http {

namespace {

bool header_matches(const std::vector<StringMatcher>& patterns, std::string_view name) {
  for (const StringMatcher& m : patterns)
    if (string_matches(m, name)) return true;
  return false;
}

}  // namespace

void ExtAuthzFilter::reset() {
  pending_ = nullptr;
  timeout_ = engine::Timer{};
}

void ExtAuthzFilter::cancel() {
  engine::EngineContext& ctx = callbacks_->engine();
  if (pending_) ctx.clusters->shadows().cancel(std::exchange(pending_, nullptr));
  if (timeout_.armed()) ctx.timers.disarm(timeout_);
}

void ExtAuthzFilter::on_stream_end() { cancel(); }

FilterHeadersStatus ExtAuthzFilter::decode_headers(Request& req, bool) {
  if (!factory_.config_) return FilterHeadersStatus::kContinue;
  const ExtAuthzConfig& cfg = *factory_.config_;
  const MetadataValue* id =
      callbacks_->stream_info().metadata.find("envoy.filters.http.rbac", {cfg.enabled_metadata_key});
  if (!id || id->values.empty() || id->values.front().compare(0, cfg.enabled_prefix.size(), cfg.enabled_prefix) != 0)
    return FilterHeadersStatus::kContinue;
  // The check request (Envoy's ext_authz raw HTTP client).
  Request check;
  check.method = req.method;
  check.target = cfg.path_prefix + req.target;
  check.headers.set("host", req.host());
  for (const auto& f : req.headers) {
    bool always = iequals(f.name, "authorization");
    if (iequals(f.name, "host") || iequals(f.name, "content-length") || iequals(f.name, "transfer-encoding")) continue;
    if (always || header_matches(cfg.allowed_headers, f.name)) check.headers.add(f.name, f.value);
  }
  for (const auto& [k, v] : cfg.headers_to_add) check.headers.set(k, v);
  check.headers.set("content-length", "0");
  // The authorization service's cluster as the cluster manager has it now
  // (the latest push), not the snapshot the downstream connection was
  // accepted with.
  engine::EngineContext& ctx = callbacks_->engine();
  pending_ = ctx.clusters->shadows().send(ctx.current, cfg.cluster, check, this);
  if (!pending_) {
    error("no healthy upstream for " + cfg.cluster);
    return FilterHeadersStatus::kStopIteration;
  }
  if (cfg.timeout > Duration::zero()) {
    timeout_ = ctx.timers.arm(cfg.timeout, [this] {
      timeout_ = engine::Timer{};
      if (pending_) callbacks_->engine().clusters->shadows().cancel(std::exchange(pending_, nullptr));
      error("timeout");
    });
  }
  return FilterHeadersStatus::kStopIteration;
}

void ExtAuthzFilter::on_async_response(Response& r) {
  pending_ = nullptr;
  if (timeout_.armed()) callbacks_->engine().timers.disarm(timeout_);
  const ExtAuthzConfig& cfg = *factory_.config_;
  StreamInfo& info = callbacks_->stream_info();
  if (r.status >= 200 && r.status < 300) {
    Request& req = callbacks_->request();
    for (const auto& f : r.headers)
      if (header_matches(cfg.allowed_upstream_headers, f.name)) req.headers.set(f.name, f.value);
    info.request_auth = "ext_authz " + cfg.provider + ": allowed (HTTP " + std::to_string(r.status) + ")";
    callbacks_->continue_decoding();
    return;
  }
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& f : r.headers)
    if (header_matches(cfg.allowed_client_headers, f.name)) headers.emplace_back(std::string(f.name), std::string(f.value));
  info.request_auth = "ext_authz " + cfg.provider + ": denied (HTTP " + std::to_string(r.status) + ")";
  callbacks_->send_local_reply_with_headers(r.status, r.body, "ext_authz_denied", kUnauthorizedExternalService, headers);
}

void ExtAuthzFilter::on_async_failure(std::string_view reason) {
  pending_ = nullptr;
  if (timeout_.armed()) callbacks_->engine().timers.disarm(timeout_);
  error(reason);
}

void ExtAuthzFilter::error(std::string_view reason) {
  const ExtAuthzConfig& cfg = *factory_.config_;
  StreamInfo& info = callbacks_->stream_info();
  if (cfg.failure_mode_allow) {
    info.request_auth = "ext_authz " + cfg.provider + ": check failed (" + std::string(reason) + "), allowed (failOpen)";
    callbacks_->continue_decoding();
    return;
  }
  info.request_auth = "ext_authz " + cfg.provider + ": check failed (" + std::string(reason) + ")";
  callbacks_->send_local_reply(static_cast<int>(cfg.status_on_error), "", "ext_authz_error", kUnauthorizedExternalService);
}

}  // namespace meshsim::proxy::http
