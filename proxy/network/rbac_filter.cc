#include "proxy/network/rbac_filter.h"

#include "proxy/engine/context.h"
#include "proxy/engine/snapshot.h"
#include "proxy/rbac.h"

namespace meshsim::proxy::network {

NetworkRbacFilter::NetworkRbacFilter(engine::EngineContext& ctx, Connection& connection, const NetworkRbac& config)
    : ctx_(ctx), conn_(connection), compiled_(connection.snapshot()->network_rbac(config.config.get())) {}

FilterStatus NetworkRbacFilter::on_data(std::string_view) {
  if (decision_ == Decision::kAllow) return FilterStatus::kContinue;
  if (decision_ == Decision::kDeny) return FilterStatus::kStopIteration;
  decision_ = Decision::kAllow;
  if (!compiled_) return FilterStatus::kContinue;
  const RbacFilterConfig& cfg = *compiled_->config;
  const bool explain = ctx_.detailed_log();
  RbacInput in;
  in.tls = &conn_.security();
  in.direct_remote = conn_.info().remote;
  in.remote = in.direct_remote;
  in.local = conn_.info().original_destination;
  in.sni = conn_.security().sni;
  const std::string base = cfg.stat_prefix + "rbac.";
  auto record = [&](const CompiledRbac& engine, const RbacResult& r, bool is_shadow) {
    if (!explain) return;
    RbacVerdict v;
    v.filter = kNetworkRbacFilterName;
    v.istio_action = cfg.istio_action;
    v.shadow = is_shadow;
    v.denied = engine.action() == RbacAction::kLog ? false : !r.allowed;
    v.policy.assign(r.effective_policy);
    v.reasons = r.reasons;
    conn_.rbac_verdicts().push_back(std::move(v));
  };
  if (compiled_->shadow) {
    RbacResult r = compiled_->shadow->evaluate(in, explain);
    ctx_.stats.inc(base + cfg.shadow_rules_stat_prefix + (r.allowed ? "shadow_allowed" : "shadow_denied"));
    record(*compiled_->shadow, r, true);
  }
  if (!compiled_->rules) return FilterStatus::kContinue;
  RbacResult r = compiled_->rules->evaluate(in, explain);
  record(*compiled_->rules, r, false);
  if (r.allowed) {
    ctx_.stats.inc(base + "allowed");
    return FilterStatus::kContinue;
  }
  ctx_.stats.inc(base + "denied");
  decision_ = Decision::kDeny;
  conn_.close_by_filter(CloseType::kFin, "rbac_access_denied_matched_policy[" +
                                             (r.effective_policy.empty() ? std::string("none") : std::string(r.effective_policy)) +
                                             "]");
  return FilterStatus::kStopIteration;
}

}  // namespace meshsim::proxy::network
