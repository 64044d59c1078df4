#include "proxy/http/filters/rbac/rbac_filter.h"

#include "proxy/engine/context.h"
#include "proxy/network/filter.h"

namespace meshsim::proxy::http {

namespace {

// Envoy's trusted client address with use_remote_address false and no
// trusted hops (Istio's sidecar inbound): the last x-forwarded-for entry,
// else the connection's peer.
SocketAddress remote_address(const Request& req, const SocketAddress& direct) {
  auto xff = req.headers.get("x-forwarded-for");
  if (!xff) return direct;
  std::string_view v = *xff;
  size_t comma = v.rfind(',');
  std::string_view last = comma == std::string_view::npos ? v : v.substr(comma + 1);
  while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
  while (!last.empty() && last.back() == ' ') last.remove_suffix(1);
  auto ip = parse_ipv4(last);
  if (!ip.ok()) return direct;
  return {*ip, 0};
}

}  // namespace

RbacFilterFactory::RbacFilterFactory(std::shared_ptr<const RbacFilterConfig> config, const HttpConnectionManager& hcm)
    : compiled_(std::move(config)) {
  std::string base = "http." + hcm.stat_prefix + ".rbac.";
  allowed_ = base + "allowed";
  denied_ = base + "denied";
  logged_ = base + "logged";
  not_logged_ = base + "not_logged";
  std::string sp = compiled_.config ? compiled_.config->shadow_rules_stat_prefix : std::string();
  shadow_allowed_ = base + sp + "shadow_allowed";
  shadow_denied_ = base + sp + "shadow_denied";
  metadata_policy_key_ = sp + "shadow_effective_policy_id";
  metadata_result_key_ = sp + "shadow_engine_result";
}

FilterHeadersStatus RbacFilter::decode_headers(Request& req, bool) {
  const RbacFilterFactory& f = factory_;
  const CompiledRbac* rules = f.compiled_.rules.get();
  const CompiledRbac* shadow = f.compiled_.shadow.get();
  if (!rules && !shadow) return FilterHeadersStatus::kContinue;
  engine::EngineContext& ctx = callbacks_->engine();
  network::Connection& conn = callbacks_->connection();
  StreamInfo& info = callbacks_->stream_info();
  const bool explain = ctx.detailed_log();

  RbacInput in;
  in.tls = &conn.security();
  in.direct_remote = conn.info().remote;
  in.remote = remote_address(req, in.direct_remote);
  in.local = conn.info().original_destination;
  in.sni = conn.security().sni;
  in.request = &req;
  in.metadata = &info.metadata;

  auto record = [&](const CompiledRbac& engine, const RbacResult& r, bool is_shadow) {
    if (!explain) return;
    RbacVerdict v;
    v.filter = kRbacFilterName;
    v.istio_action = f.compiled_.config->istio_action;
    v.shadow = is_shadow;
    v.denied = engine.action() == RbacAction::kLog ? false : !r.allowed;
    v.policy.assign(r.effective_policy);
    v.reasons = r.reasons;
    info.rbac.push_back(std::move(v));
  };

  if (shadow) {
    RbacResult r = shadow->evaluate(in, explain);
    ctx.stats.inc(r.allowed ? f.shadow_allowed_ : f.shadow_denied_);
    record(*shadow, r, true);
    // Dynamic metadata for later filters (ext_authz's filter_enabled_metadata):
    // <shadow prefix>shadow_effective_policy_id and …shadow_engine_result.
    if (!r.effective_policy.empty())
      info.metadata.set(kRbacFilterName, {f.metadata_policy_key_}, MetadataValue{false, {std::string(r.effective_policy)}});
    info.metadata.set(kRbacFilterName, {f.metadata_result_key_}, MetadataValue{false, {r.allowed ? "allowed" : "denied"}});
  }
  if (!rules) return FilterHeadersStatus::kContinue;
  RbacResult r = rules->evaluate(in, explain);
  record(*rules, r, false);
  if (rules->action() == RbacAction::kLog) ctx.stats.inc(r.effective_policy.empty() ? f.not_logged_ : f.logged_);
  if (r.allowed) {
    ctx.stats.inc(f.allowed_);
    return FilterHeadersStatus::kContinue;
  }
  ctx.stats.inc(f.denied_);
  std::string details = "rbac_access_denied_matched_policy[" +
                        (r.effective_policy.empty() ? std::string("none") : std::string(r.effective_policy)) + "]";
  callbacks_->send_local_reply(403, "RBAC: access denied", details, 0);
  return FilterHeadersStatus::kStopIteration;
}

}  // namespace meshsim::proxy::http
