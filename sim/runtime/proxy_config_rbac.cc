// `meshsim proxy-config rbac`: the RBAC filters istiod generated for a
// sidecar's inbound chains (from AuthorizationPolicy), as Envoy's config
// dump prints them (snake_case JSON) and as a readable table.
#include <nlohmann/json.hpp>

#include "sim/runtime/proxy_config_render.h"
#include "proxy/rbac.h"
#include "proxy/rbac_config.h"
#include "proxy/ext_authz_config.h"

namespace meshsim::sim {

using nlohmann::ordered_json;
using proxy::RbacMatcher;
using proxy::StringMatcher;

namespace {

ordered_json string_matcher_json(const StringMatcher& m) {
  ordered_json j;
  switch (m.kind) {
    case StringMatcher::Kind::kExact: j["exact"] = m.value; break;
    case StringMatcher::Kind::kPrefix: j["prefix"] = m.value; break;
    case StringMatcher::Kind::kSuffix: j["suffix"] = m.value; break;
    case StringMatcher::Kind::kContains: j["contains"] = m.value; break;
    case StringMatcher::Kind::kRegex: j["safe_regex"] = {{"regex", m.value}}; break;
  }
  if (m.ignore_case) j["ignore_case"] = true;
  return j;
}

ordered_json cidr_json(const Cidr& c) {
  return {{"address_prefix", to_string(c.base)}, {"prefix_len", c.prefix_len}};
}

ordered_json value_matcher_json(const RbacMatcher& m) {
  using S = RbacMatcher::ValueShape;
  std::vector<ordered_json> strings;
  for (const auto& v : m.metadata_values) strings.push_back({{"string_match", string_matcher_json(v)}});
  ordered_json one = strings.size() == 1 ? strings.front() : ordered_json{{"or_match", {{"value_matchers", strings}}}};
  if (m.metadata_shape == S::kString) return one;
  ordered_json list = {{"list_match", {{"one_of", one}}}};
  if (m.metadata_shape == S::kList) return list;
  return {{"or_match", {{"value_matchers", {list, one}}}}};
}

// One Permission or Principal; `principal` picks the field names.
ordered_json matcher_json(const RbacMatcher& m, bool principal) {
  using K = RbacMatcher::Kind;
  auto children = [&] {
    ordered_json a = ordered_json::array();
    for (const auto& c : m.children) a.push_back(matcher_json(c, principal));
    return a;
  };
  switch (m.kind) {
    case K::kAny: return {{"any", true}};
    case K::kAnd:
      return principal ? ordered_json{{"and_ids", {{"ids", children()}}}}
                       : ordered_json{{"and_rules", {{"rules", children()}}}};
    case K::kOr:
      return principal ? ordered_json{{"or_ids", {{"ids", children()}}}} : ordered_json{{"or_rules", {{"rules", children()}}}};
    case K::kNot:
      return {{principal ? "not_id" : "not_rule", m.children.empty() ? ordered_json::object()
                                                                      : matcher_json(m.children.front(), principal)}};
    case K::kAuthenticated: {
      ordered_json a = ordered_json::object();
      if (m.string) a["principal_name"] = string_matcher_json(*m.string);
      return {{"authenticated", a}};
    }
    case K::kDirectRemoteIp: return {{"direct_remote_ip", cidr_json(m.cidr)}};
    case K::kRemoteIp: return {{"remote_ip", cidr_json(m.cidr)}};
    case K::kSourceIp: return {{"source_ip", cidr_json(m.cidr)}};
    case K::kDestinationIp: return {{"destination_ip", cidr_json(m.cidr)}};
    case K::kDestinationPort: return {{"destination_port", m.port}};
    case K::kRequestedServerName:
      return {{"requested_server_name", m.string ? string_matcher_json(*m.string) : ordered_json::object()}};
    case K::kHeader: {
      ordered_json h = {{"name", m.header_name}};
      if (m.string) h["string_match"] = string_matcher_json(*m.string);
      else h["present_match"] = true;
      return {{"header", h}};
    }
    case K::kUrlPath:
      return {{"url_path", {{"path", m.string ? string_matcher_json(*m.string) : ordered_json::object()}}}};
    case K::kUriTemplate:
      return {{"uri_template",
               {{"name", "uri-template"},
                {"typed_config",
                 {{"@type", "type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig"},
                  {"path_template", m.string ? m.string->value : std::string()}}}}}};
    case K::kMetadata: {
      ordered_json path = ordered_json::array();
      for (const auto& p : m.metadata_path) path.push_back({{"key", p}});
      return {{"metadata", {{"filter", m.metadata_filter}, {"path", path}, {"value", value_matcher_json(m)}}}};
    }
  }
  return ordered_json::object();
}

ordered_json rbac_json(const proxy::Rbac& r) {
  ordered_json j = ordered_json::object();
  if (r.action != proxy::RbacAction::kAllow) j["action"] = proxy::rbac_action_name(r.action);
  ordered_json policies = ordered_json::object();
  for (const auto& p : r.policies) {
    ordered_json perms = ordered_json::array(), princs = ordered_json::array();
    for (const auto& m : p.permissions) perms.push_back(matcher_json(m, false));
    for (const auto& m : p.principals) princs.push_back(matcher_json(m, true));
    policies[p.name] = {{"permissions", perms}, {"principals", princs}};
  }
  if (!r.policies.empty()) j["policies"] = policies;
  return j;
}

// A one-line expression of a matcher ("method exact GET AND NOT path prefix /admin").
std::string expr(const RbacMatcher& m) {
  using K = RbacMatcher::Kind;
  auto group = [&](const char* op) {
    if (m.children.size() == 1) return expr(m.children.front());
    std::string s = "(";
    for (size_t i = 0; i < m.children.size(); ++i) {
      if (i) s += op;
      s += expr(m.children[i]);
    }
    return s + ")";
  };
  auto str = [](const std::optional<StringMatcher>& s) { return s ? proxy::describe(*s) : std::string("present"); };
  switch (m.kind) {
    case K::kAny: return "any";
    case K::kAnd: return group(" AND ");
    case K::kOr: return group(" OR ");
    case K::kNot: return "NOT " + (m.children.empty() ? std::string("?") : expr(m.children.front()));
    case K::kAuthenticated: return "principal " + (m.string ? proxy::describe(*m.string) : std::string("(any mTLS peer)"));
    case K::kDirectRemoteIp: return "source.ip " + to_string(m.cidr);
    case K::kRemoteIp: return "remote.ip " + to_string(m.cidr);
    case K::kSourceIp: return "source_ip " + to_string(m.cidr);
    case K::kDestinationIp: return "destination.ip " + to_string(m.cidr);
    case K::kDestinationPort: return "destination.port " + std::to_string(m.port);
    case K::kRequestedServerName: return "sni " + str(m.string);
    case K::kHeader: return "header " + m.header_name + " " + str(m.string);
    case K::kUrlPath: return "path " + str(m.string);
    case K::kUriTemplate: return "path template " + (m.string ? m.string->value : std::string());
    case K::kMetadata: {
      std::string p = m.metadata_filter;
      for (const auto& k : m.metadata_path) p += "." + k;
      std::string v;
      for (size_t i = 0; i < m.metadata_values.size(); ++i) v += (i ? " | " : "") + proxy::describe(m.metadata_values[i]);
      return "metadata " + p + " " + v;
    }
  }
  return "?";
}

struct Found {
  std::vector<const proxy::HttpFilter*> http;
  std::vector<const proxy::NetworkFilter*> tcp;
};

// The RBAC filters of the inbound listener: every chain carries the same
// ones, so the first HTTP chain's and the first TCP chain's are shown.
Found find_rbac(const proxy::ProxyConfig& cfg) {
  Found f;
  const proxy::Listener* l = cfg.find_listener("virtualInbound");
  if (!l) return f;
  bool http_done = false, tcp_done = false;
  for (const auto& fc : l->filter_chains) {
    bool has_tcp = false;
    for (const auto& nf : fc.filters) {
      if (const auto* hcm = std::get_if<proxy::HttpConnectionManager>(&nf.config); hcm && !http_done) {
        for (const auto& hf : hcm->http_filters)
          if (hf.rbac || hf.ext_authz) f.http.push_back(&hf);
        http_done = true;
      }
      if (std::holds_alternative<proxy::NetworkRbac>(nf.config) && !tcp_done) {
        f.tcp.push_back(&nf);
        has_tcp = true;
      }
    }
    if (has_tcp) tcp_done = true;
  }
  return f;
}

}  // namespace

ordered_json ext_authz_typed_config(const proxy::ExtAuthzConfig& c) {
  auto patterns = [](const std::vector<StringMatcher>& v) {
    ordered_json a = ordered_json::array();
    for (const auto& m : v) a.push_back(string_matcher_json(m));
    return ordered_json{{"patterns", a}};
  };
  ordered_json j = {{"@type", "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"}};
  if (!c.allowed_headers.empty()) j["allowed_headers"] = patterns(c.allowed_headers);
  if (c.failure_mode_allow) j["failure_mode_allow"] = true;
  j["filter_enabled_metadata"] = {{"filter", "envoy.filters.http.rbac"},
                                  {"path", {{{"key", c.enabled_metadata_key}}}},
                                  {"value", {{"string_match", {{"prefix", c.enabled_prefix}}}}}};
  ordered_json svc;
  ordered_json req = ordered_json::object(), resp = ordered_json::object();
  if (!c.headers_to_add.empty()) {
    ordered_json h = ordered_json::array();
    for (const auto& [k, v] : c.headers_to_add) h.push_back({{"key", k}, {"value", v}});
    req["headers_to_add"] = h;
  }
  if (!c.allowed_client_headers.empty()) resp["allowed_client_headers"] = patterns(c.allowed_client_headers);
  if (!c.allowed_client_headers_on_success.empty())
    resp["allowed_client_headers_on_success"] = patterns(c.allowed_client_headers_on_success);
  if (!c.allowed_upstream_headers.empty()) resp["allowed_upstream_headers"] = patterns(c.allowed_upstream_headers);
  if (!req.empty()) svc["authorization_request"] = req;
  if (!resp.empty()) svc["authorization_response"] = resp;
  if (!c.path_prefix.empty()) svc["path_prefix"] = c.path_prefix;
  svc["server_uri"] = {{"cluster", c.cluster}, {"timeout", std::to_string(c.timeout.ns() / 1'000'000'000) + "s"}, {"uri", c.uri}};
  j["http_service"] = svc;
  j["status_on_error"] = {{"code", c.status_on_error}};
  j["transport_api_version"] = "V3";
  return j;
}

ordered_json rbac_filter_typed_config(const proxy::RbacFilterConfig& c, bool network) {
  ordered_json j = {{"@type", network ? "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC"
                                      : "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"}};
  if (c.rules) j["rules"] = rbac_json(*c.rules);
  if (network) j["stat_prefix"] = c.stat_prefix;
  if (c.shadow_rules) j["shadow_rules"] = rbac_json(*c.shadow_rules);
  if (!c.shadow_rules_stat_prefix.empty()) j["shadow_rules_stat_prefix"] = c.shadow_rules_stat_prefix;
  return j;
}

std::string render_rbac_json(const proxy::ProxyConfig& cfg, const std::vector<std::string>& notes) {
  Found f = find_rbac(cfg);
  ordered_json http = ordered_json::array(), tcp = ordered_json::array();
  for (const auto* hf : f.http) {
    if (hf->rbac) http.push_back({{"name", hf->name}, {"typed_config", rbac_filter_typed_config(*hf->rbac, false)}});
    else if (hf->ext_authz) http.push_back({{"name", hf->name}, {"typed_config", ext_authz_typed_config(*hf->ext_authz)}});
  }
  for (const auto* nf : f.tcp) {
    const auto& r = std::get<proxy::NetworkRbac>(nf->config);
    tcp.push_back({{"name", nf->name}, {"typed_config", rbac_filter_typed_config(*r.config, true)}});
  }
  ordered_json j = {{"http_filters", http}, {"network_filters", tcp}, {"notes", notes}};
  return j.dump(2) + "\n";
}

std::string render_rbac_text(const proxy::ProxyConfig& cfg, const std::vector<std::string>& notes) {
  Found f = find_rbac(cfg);
  std::string out;
  auto one = [&](const std::string& where, const proxy::RbacFilterConfig& c) {
    for (const auto* r : {&c.rules, &c.shadow_rules}) {
      if (!*r) continue;
      bool shadow = r == &c.shadow_rules;
      std::string kind = !shadow ? std::string()
                         : c.istio_action == "CUSTOM"
                             ? "  shadow rules: the requests to send to ext_authz, prefix " + c.shadow_rules_stat_prefix
                             : "  shadow rules (dry-run), prefix " + c.shadow_rules_stat_prefix;
      out += where + "  " + c.istio_action + " (" + proxy::rbac_action_name((*r)->action) + ")" + kind + "\n";
      if ((*r)->policies.empty()) {
        out += "  (no policies: " +
               std::string((*r)->action == proxy::RbacAction::kAllow ? "denies every request)" : "matches nothing)") + "\n";
      }
      for (const auto& p : (*r)->policies) {
        out += "  " + p.name + "\n";
        for (const auto& m : p.permissions) out += "    permission  " + expr(m) + "\n";
        for (const auto& m : p.principals) out += "    principal   " + expr(m) + "\n";
      }
    }
  };
  for (const auto* hf : f.http) {
    if (hf->rbac) one("HTTP chains: " + hf->name, *hf->rbac);
    else if (hf->ext_authz)
      out += "HTTP chains: " + hf->name + "  provider " + hf->ext_authz->provider + " → " + hf->ext_authz->cluster +
             hf->ext_authz->path_prefix + " (for requests the CUSTOM rules above select)\n";
  }
  for (const auto* nf : f.tcp) one("TCP chains:  " + nf->name, *std::get<proxy::NetworkRbac>(nf->config).config);
  if (f.http.empty() && f.tcp.empty()) out += "no AuthorizationPolicy applies to this workload: every request is allowed\n";
  for (const auto& n : notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace meshsim::sim
