#include "proxy/access_log.h"

#include <utility>

namespace meshsim::proxy {

std::string format_response_flags(uint32_t flags) {
  // Envoy's order (source/common/stream_info/utility.h).
  static const std::pair<uint32_t, const char*> kOrder[] = {
      {kFailedLocalHealthCheck, "LH"}, {kNoHealthyUpstream, "UH"},
      {kUpstreamRequestTimeout, "UT"}, {kLocalReset, "LR"},
      {kUpstreamRemoteReset, "UR"}, {kUpstreamConnectionFailure, "UF"},
      {kUpstreamConnectionTermination, "UC"}, {kUpstreamOverflow, "UO"},
      {kNoRouteFound, "NR"}, {kDelayInjected, "DI"},
      {kFaultInjected, "FI"}, {kRateLimited, "RL"},
      {kUnauthorizedExternalService, "UAEX"}, {kRateLimitServiceError, "RLSE"},
      {kDownstreamConnectionTermination, "DC"}, {kUpstreamRetryLimitExceeded, "URX"},
      {kStreamIdleTimeout, "SI"}, {kInvalidEnvoyRequestHeaders, "IH"},
      {kDownstreamProtocolError, "DPE"}, {kUpstreamMaxStreamDurationReached, "UMSDR"},
      {kNoFilterConfigFound, "NFCF"}, {kDurationTimeout, "DT"},
      {kUpstreamProtocolError, "UPE"}, {kNoClusterFound, "NC"},
      {kDownstreamRemoteReset, "DR"},
  };
  std::string out;
  for (const auto& [bit, name] : kOrder) {
    if (flags & bit) {
      if (!out.empty()) out += ',';
      out += name;
    }
  }
  return out.empty() ? "-" : out;
}

std::string istio_text_access_log(const AccessLogEntry& e, std::string_view start_time) {
  auto or_dash = [](std::string_view v) { return v.empty() ? std::string("-") : std::string(v); };
  std::string out;
  out.reserve(256);
  out += '[';
  out += start_time;
  out += "] \"";
  if (e.http) {
    out += or_dash(e.method) + ' ' + or_dash(e.path) + ' ' + or_dash(e.protocol);
  } else {
    out += "- - -";
  }
  out += "\" " + std::to_string(e.response_code) + ' ' + or_dash(e.response_flags) + ' ' +
         or_dash(e.response_code_details) + ' ' + or_dash(e.connection_termination_details) + " \"" +
         or_dash(e.upstream_transport_failure_reason) + "\" " + std::to_string(e.bytes_received) + ' ' +
         std::to_string(e.bytes_sent) + ' ' + std::to_string(e.duration.ns() / 1'000'000) + " - \"-\" \"-\" \"" +
         or_dash(e.request_id) + "\" \"" + or_dash(e.authority) + "\" \"" + or_dash(e.upstream_host) + "\" " +
         or_dash(e.cluster) + " - " + to_string(e.downstream_local) + ' ' + to_string(e.downstream_remote) + ' ' +
         or_dash(e.downstream_tls.sni) + ' ' + or_dash(e.route);
  return out;
}

AuthzRuleRef parse_authz_policy_name(std::string_view p) {
  AuthzRuleRef r;
  // CUSTOM rules: "istio-ext-authz-<provider>-ns[…]-policy[…]-rule[…]".
  if (p.rfind("istio-ext-authz-", 0) == 0) {
    size_t at = p.find("-ns[");
    if (at == std::string_view::npos) return r;
    p.remove_prefix(at + 1);
  }
  auto take = [&](std::string_view tag, std::string& out) {
    if (p.substr(0, tag.size()) != tag) return false;
    p.remove_prefix(tag.size());
    size_t end = p.find(']');
    if (end == std::string_view::npos) return false;
    out.assign(p.substr(0, end));
    p.remove_prefix(end + 1);
    return true;
  };
  std::string rule;
  if (!take("ns[", r.namespace_) || !take("-policy[", r.name) || !take("-rule[", rule) || !p.empty() || rule.empty())
    return AuthzRuleRef{};
  for (char c : rule)
    if (c < '0' || c > '9') return AuthzRuleRef{};
  r.rule = std::stoi(rule);
  r.ok = true;
  return r;
}

std::pair<std::string, std::string> split_rbac_reason(std::string_view reason) {
  size_t colon = reason.find("]: ");
  if (colon == std::string_view::npos || (reason.substr(0, 3) != "ns[" && reason.rfind("istio-ext-authz-", 0) != 0))
    return {"", std::string(reason)};
  return {std::string(reason.substr(0, colon + 1)), std::string(reason.substr(colon + 3))};
}

std::string rbac_reason_text(std::string_view reason) {
  auto [policy, clause] = split_rbac_reason(reason);
  AuthzRuleRef ref = parse_authz_policy_name(policy);
  if (!ref.ok) return std::string(reason);
  return ref.namespace_ + "/" + ref.name + " rule " + std::to_string(ref.rule) + ": " + clause;
}

std::string rbac_verdict_summary(const RbacVerdict& v) {
  AuthzRuleRef ref = parse_authz_policy_name(v.policy);
  std::string who = ref.ok ? "AuthorizationPolicy " + ref.namespace_ + "/" + ref.name + " rule " + std::to_string(ref.rule)
                           : v.policy;
  std::string s;
  if (v.istio_action == "ALLOW") {
    if (v.denied) s = "denied: no ALLOW rule matched";
    else s = "allowed by " + who;
  } else if (v.istio_action == "CUSTOM") {
    if (v.shadow) {
      s = v.policy.empty() ? "CUSTOM: no rule selects this request for the external check"
                           : "CUSTOM: " + who + " selects this request for the external check";
      return s;
    }
    s = v.denied ? "denied: CUSTOM provider unavailable (" + v.policy + ")" : "CUSTOM: not selected";
  } else if (v.istio_action == "AUDIT") {
    s = v.policy.empty() ? "not audited (no AUDIT rule matched)" : "audited by " + who;
  } else {
    s = v.denied ? v.istio_action + " by " + who : "not denied (no " + v.istio_action + " rule matched)";
  }
  if (v.shadow) s = "dry-run: " + s + " (not enforced)";
  return s;
}

}  // namespace meshsim::proxy
