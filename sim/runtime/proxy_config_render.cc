#include "sim/runtime/proxy_config_render.h"

#include <cstdio>
#include <map>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "proxy/tls/certificates.h"
#include "proxy/tls/environment.h"
#include "sim/runtime/sidecar_host.h"

namespace meshsim::sim {

// proxy_config_rbac.cc
nlohmann::ordered_json rbac_filter_typed_config(const proxy::RbacFilterConfig& c, bool network);
nlohmann::ordered_json ext_authz_typed_config(const proxy::ExtAuthzConfig& c);

namespace {

using nlohmann::ordered_json;
using namespace meshsim::proxy;

// Column-aligned table: every column as wide as its widest cell, 5 spaces
// between columns (istioctl uses a tabwriter with padding).
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows) {
    if (w.size() < r.size()) w.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 5, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string o;
  for (size_t i = 0; i < v.size(); ++i) o += (i ? sep : "") + v[i];
  return o;
}

std::string duration_json(Duration d) {
  // protobuf's JSON mapping of Duration, as istioctl (Go protojson) and
  // Envoy's config dump print it: seconds, then 0, 3, 6 or 9 fractional
  // digits — as many groups of three as the value needs ("0.500s", "1.000001s").
  int64_t ns = d.ns();
  std::string s = std::to_string(ns / 1'000'000'000);
  int64_t frac = ns % 1'000'000'000;
  if (frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 9 - f.size(), '0');
    while (f.size() > 3 && f.compare(f.size() - 3, 3, "000") == 0) f.resize(f.size() - 3);
    s += "." + f;
  }
  return s + "s";
}

const char* direction_name(TrafficDirection d) {
  switch (d) {
    case TrafficDirection::kInbound: return "INBOUND";
    case TrafficDirection::kOutbound: return "OUTBOUND";
    default: return "UNSPECIFIED";
  }
}

const char* type_name(DiscoveryType t) {
  switch (t) {
    case DiscoveryType::kEds: return "EDS";
    case DiscoveryType::kStatic: return "STATIC";
    case DiscoveryType::kStrictDns: return "STRICT_DNS";
    case DiscoveryType::kOriginalDst: return "ORIGINAL_DST";
  }
  return "EDS";
}

const char* lb_name(LbPolicy p) {
  switch (p) {
    case LbPolicy::kRoundRobin: return "ROUND_ROBIN";
    case LbPolicy::kLeastRequest: return "LEAST_REQUEST";
    case LbPolicy::kRandom: return "RANDOM";
    case LbPolicy::kClusterProvided: return "CLUSTER_PROVIDED";
    case LbPolicy::kRingHash: return "RING_HASH";
    case LbPolicy::kMaglev: return "MAGLEV";
  }
  return "ROUND_ROBIN";
}

// RouteAction.hash_policy as Envoy's config dump shows it.
ordered_json hash_policy_json(const HashPolicy& h) {
  ordered_json j;
  switch (h.kind) {
    case HashPolicy::Kind::kHeader: j["header"] = {{"header_name", h.name}}; break;
    case HashPolicy::Kind::kCookie: {
      ordered_json c = {{"name", h.name}};
      if (h.ttl) c["ttl"] = duration_json(*h.ttl);
      if (!h.path.empty()) c["path"] = h.path;
      if (!h.attributes.empty()) {
        ordered_json a = ordered_json::array();
        for (const auto& at : h.attributes) a.push_back({{"name", at.name}, {"value", at.value}});
        c["attributes"] = a;
      }
      j["cookie"] = c;
      break;
    }
    case HashPolicy::Kind::kSourceIp: j["connection_properties"] = {{"source_ip", h.source_ip}}; break;
    case HashPolicy::Kind::kQueryParameter: j["query_parameter"] = {{"name", h.name}}; break;
  }
  if (h.terminal) j["terminal"] = true;
  return j;
}

// One line per hash policy entry for the text tables.
std::string hash_policy_text(const HashPolicy& h) {
  switch (h.kind) {
    case HashPolicy::Kind::kHeader: return "header " + h.name;
    case HashPolicy::Kind::kCookie: {
      std::string t = "cookie " + h.name;
      if (h.ttl) t += " ttl=" + std::to_string(h.ttl->ns() / 1'000'000'000) + "s";
      if (!h.path.empty()) t += " path=" + h.path;
      return t;
    }
    case HashPolicy::Kind::kSourceIp: return h.source_ip ? "source_ip" : "source_ip:false";
    case HashPolicy::Kind::kQueryParameter: return "query_parameter " + h.name;
  }
  return "";
}

std::string lb_text(const Cluster& c) {
  std::string t = lb_name(c.lb_policy);
  if (c.ring_hash_lb_config && c.ring_hash_lb_config->minimum_ring_size)
    t += " minimum_ring_size=" + std::to_string(*c.ring_hash_lb_config->minimum_ring_size);
  if (c.maglev_lb_config && c.maglev_lb_config->table_size)
    t += " table_size=" + std::to_string(*c.maglev_lb_config->table_size);
  return t;
}

std::string tls_version(TlsVersion v) { return v == TlsVersion::kTls12 ? "TLSv1_2" : "TLSv1_3"; }

ordered_json socket_address(const SocketAddress& a) {
  return {{"socket_address", {{"address", to_string(a.ip)}, {"port_value", a.port}}}};
}

ordered_json upstream_tls_json(const UpstreamTlsContext& t) {
  ordered_json common;
  common["tls_params"] = {{"tls_minimum_protocol_version", tls_version(t.min_version)},
                          {"tls_maximum_protocol_version", tls_version(t.max_version)}};
  if (!t.alpn_protocols.empty()) common["alpn_protocols"] = t.alpn_protocols;
  if (!t.certificate_secret.empty()) {
    common["tls_certificate_sds_secret_configs"] = ordered_json::array({{{"name", t.certificate_secret}}});
  }
  if (!t.validation_secret.empty()) {
    ordered_json v = {{"validation_context_sds_secret_config", {{"name", t.validation_secret}}}};
    if (!t.match_subject_alt_names.empty()) {
      ordered_json m = ordered_json::array();
      for (const auto& s : t.match_subject_alt_names) m.push_back({{"exact", s}});
      v["default_validation_context"] = {{"match_subject_alt_names", m}};
    }
    common["combined_validation_context"] = v;
  }
  ordered_json ctx = {{"@type", "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"},
                      {"common_tls_context", common}};
  if (!t.sni.empty()) ctx["sni"] = t.sni;
  return {{"name", "envoy.transport_sockets.tls"}, {"typed_config", ctx}};
}

ordered_json downstream_tls_json(const DownstreamTlsContext& t) {
  ordered_json common;
  common["tls_params"] = {{"tls_minimum_protocol_version", tls_version(t.min_version)},
                          {"tls_maximum_protocol_version", tls_version(t.max_version)}};
  if (!t.alpn_protocols.empty()) common["alpn_protocols"] = t.alpn_protocols;
  common["tls_certificate_sds_secret_configs"] = ordered_json::array({{{"name", t.certificate_secret}}});
  if (!t.validation_secret.empty()) {
    common["combined_validation_context"] = {{"validation_context_sds_secret_config", {{"name", t.validation_secret}}}};
  }
  return {{"name", "envoy.transport_sockets.tls"},
          {"typed_config",
           {{"@type", "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"},
            {"common_tls_context", common},
            {"require_client_certificate", t.require_client_certificate}}}};
}

ordered_json route_config_json(const RouteConfiguration& rc);

ordered_json network_filter_json(const NetworkFilter& f) {
  ordered_json j = {{"name", f.name}};
  if (const auto* tp = std::get_if<TcpProxy>(&f.config)) {
    ordered_json c = {{"@type", "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"},
                      {"stat_prefix", tp->stat_prefix}};
    if (!tp->weighted_clusters.empty()) {
      ordered_json w = ordered_json::array();
      for (const auto& wc : tp->weighted_clusters) w.push_back({{"name", wc.name}, {"weight", wc.weight}});
      c["weighted_clusters"] = {{"clusters", w}};
    } else {
      c["cluster"] = tp->cluster;
    }
    c["idle_timeout"] = duration_json(tp->idle_timeout);
    j["typed_config"] = c;
  } else if (const auto* rbac = std::get_if<NetworkRbac>(&f.config)) {
    if (rbac->config) j["typed_config"] = rbac_filter_typed_config(*rbac->config, true);
  } else if (const auto* mx = std::get_if<NetworkMetadataExchange>(&f.config)) {
    j["typed_config"] = {{"@type", "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange"},
                         {"protocol", mx->protocol},
                         {"enable_discovery", true}};
  } else if (const auto* st = std::get_if<NetworkIstioStats>(&f.config)) {
    ordered_json c = {{"@type", "type.googleapis.com/stats.PluginConfig"}};
    if (st->config) {
      if (st->config->disable_host_header_fallback) c["disable_host_header_fallback"] = true;
      c["tcp_reporting_duration"] = duration_json(st->config->tcp_reporting_duration);
    }
    j["typed_config"] = c;
  } else {
    const auto& h = std::get<HttpConnectionManager>(f.config);
    ordered_json c = {
        {"@type", "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"},
        {"stat_prefix", h.stat_prefix}};
    if (h.route_config && h.route_config_name.empty()) {
      c["route_config"] = route_config_json(*h.route_config);
    } else {
      c["rds"] = {{"config_source", {{"ads", ordered_json::object()}}}, {"route_config_name", h.route_config_name}};
    }
    ordered_json hf = ordered_json::array();
    for (const auto& x : h.http_filters) {
      ordered_json one = {{"name", x.name}};
      if (x.rbac) one["typed_config"] = rbac_filter_typed_config(*x.rbac, false);
      if (x.ext_authz) one["typed_config"] = ext_authz_typed_config(*x.ext_authz);
      hf.push_back(one);
    }
    c["http_filters"] = hf;
    if (h.forward_client_cert == HttpConnectionManager::ForwardClientCert::kAppendForward) {
      c["forward_client_cert_details"] = "APPEND_FORWARD";
      c["set_current_client_cert_details"] = {{"subject", true}, {"dns", true}, {"uri", true}};
    } else if (h.forward_client_cert == HttpConnectionManager::ForwardClientCert::kSanitizeSet) {
      c["forward_client_cert_details"] = "SANITIZE_SET";
      c["set_current_client_cert_details"] = {{"subject", true}, {"dns", true}, {"uri", true}};
    }
    c["stream_idle_timeout"] = duration_json(h.stream_idle_timeout);
    if (!h.server_name.empty()) c["server_name"] = h.server_name;
    c["server_header_transformation"] = h.server_name.empty() ? "PASS_THROUGH" : "OVERWRITE";
    if (h.accept_http_10) c["http_protocol_options"] = {{"accept_http_10", true}};
    if (h.tracing) {
      const proxy::TracingConfig& t = *h.tracing;
      ordered_json tr;
      tr["client_sampling"] = {{"value", t.client_sampling}};
      tr["random_sampling"] = {{"value", static_cast<double>(t.random_sampling) / 100.0}};
      tr["overall_sampling"] = {{"value", static_cast<double>(t.overall_sampling) / 100.0}};
      ordered_json tags = ordered_json::array();
      for (const auto& [k, v] : t.custom_tags) tags.push_back({{"tag", k}, {"literal", {{"value", v}}}});
      if (!tags.empty()) tr["custom_tags"] = tags;
      if (t.max_path_tag_length != 256) tr["max_path_tag_length"] = t.max_path_tag_length;
      if (t.no_context_propagation) tr["no_context_propagation"] = true;
      if (t.provider == proxy::TracingConfig::Provider::kZipkin) {
        tr["provider"] = {{"name", "envoy.tracers.zipkin"},
                          {"typed_config",
                           {{"@type", "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig"},
                            {"collector_cluster", t.collector_cluster},
                            {"collector_endpoint", t.collector_path},
                            {"trace_id_128bit", t.trace_id_128bit},
                            {"shared_span_context", false},
                            {"collector_endpoint_version", "HTTP_JSON"},
                            {"trace_context_option", t.w3c_propagation ? "USE_B3_WITH_W3C_PROPAGATION" : "USE_B3"}}}};
      } else if (t.provider == proxy::TracingConfig::Provider::kOpenTelemetry) {
        tr["provider"] = {{"name", "envoy.tracers.opentelemetry"},
                          {"typed_config",
                           {{"@type", "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig"},
                            {"grpc_service", {{"envoy_grpc", {{"cluster_name", t.collector_cluster}}}}}}}};
      }
      c["tracing"] = tr;
      c["request_id_extension"] = {
          {"typed_config",
           {{"@type", "type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig"},
            {"use_request_id_for_trace_sampling", t.use_request_id_for_trace_sampling}}}};
    }
    j["typed_config"] = c;
  }
  return j;
}

ordered_json filter_chain_json(const FilterChain& fc) {
  ordered_json j;
  if (!fc.name.empty()) j["name"] = fc.name;
  ordered_json m = ordered_json::object();
  if (fc.match.destination_port) m["destination_port"] = *fc.match.destination_port;
  if (!fc.match.prefix_ranges.empty()) {
    ordered_json pr = ordered_json::array();
    for (const Cidr& c : fc.match.prefix_ranges) {
      pr.push_back({{"address_prefix", to_string(c.base)}, {"prefix_len", c.prefix_len}});
    }
    m["prefix_ranges"] = pr;
  }
  if (!fc.match.server_names.empty()) m["server_names"] = fc.match.server_names;
  if (!fc.match.transport_protocol.empty()) m["transport_protocol"] = fc.match.transport_protocol;
  if (!fc.match.application_protocols.empty()) m["application_protocols"] = fc.match.application_protocols;
  j["filter_chain_match"] = m;
  ordered_json filters = ordered_json::array();
  for (const auto& f : fc.filters) filters.push_back(network_filter_json(f));
  j["filters"] = filters;
  if (fc.tls) j["transport_socket"] = downstream_tls_json(*fc.tls);
  if (!fc.description.empty()) j["metadata"] = {{"filter_metadata", {{"meshsim", {{"why", fc.description}}}}}};
  return j;
}

ordered_json listener_json(const Listener& l) {
  ordered_json j = {{"name", l.name}, {"address", socket_address(l.address)}};
  ordered_json chains = ordered_json::array();
  for (const auto& fc : l.filter_chains) chains.push_back(filter_chain_json(fc));
  j["filter_chains"] = chains;
  if (l.default_filter_chain) j["default_filter_chain"] = filter_chain_json(*l.default_filter_chain);
  ordered_json lf = ordered_json::array();
  for (const auto& f : l.listener_filters) {
    ordered_json x = {{"name", f.name}};
    if (!f.disabled.never_disabled) {
      ordered_json ranges = ordered_json::array();
      for (uint16_t p : f.disabled.ports) ranges.push_back({{"destination_port_range", {{"start", p}, {"end", p + 1}}}});
      ordered_json pred = {{"or_match", {{"rules", ranges}}}};
      x["filter_disabled"] = f.disabled.invert ? ordered_json{{"not_match", pred}} : pred;
    }
    lf.push_back(x);
  }
  j["listener_filters"] = lf;
  j["listener_filters_timeout"] = duration_json(l.listener_filters_timeout);
  j["continue_on_listener_filters_timeout"] = l.continue_on_listener_filters_timeout;
  j["traffic_direction"] = direction_name(l.direction);
  if (l.use_original_dst) j["use_original_dst"] = true;
  if (!l.bind_to_port) j["bind_to_port"] = false;
  return j;
}

ordered_json route_config_json(const RouteConfiguration& rc) {
  ordered_json vhs = ordered_json::array();
  for (const auto& vh : rc.virtual_hosts) {
    ordered_json routes = ordered_json::array();
    for (const auto& r : vh.routes) {
      ordered_json match;
      switch (r.match.kind) {
        case RouteMatch::Kind::kPrefix: match["prefix"] = r.match.value; break;
        case RouteMatch::Kind::kPath: match["path"] = r.match.value; break;
        case RouteMatch::Kind::kRegex: match["safe_regex"] = {{"regex", r.match.value}}; break;
        case RouteMatch::Kind::kPathSeparatedPrefix: match["path_separated_prefix"] = r.match.value; break;
      }
      if (!r.match.case_sensitive) match["case_sensitive"] = false;
      ordered_json jr = {{"name", r.name}, {"match", match}};
      if (const auto* a = std::get_if<RouteAction>(&r.action)) {
        ordered_json ra;
        if (!a->weighted_clusters.empty()) {
          ordered_json w = ordered_json::array();
          for (const auto& c : a->weighted_clusters) {
            ordered_json wc = {{"name", c.name}, {"weight", c.weight}};
            if (!c.host_rewrite.empty()) wc["host_rewrite_literal"] = c.host_rewrite;
            if (!c.headers.request_add.empty()) {
              ordered_json h = ordered_json::array();
              for (const auto& o : c.headers.request_add) h.push_back({{"header", {{"key", o.key}, {"value", o.value}}}});
              wc["request_headers_to_add"] = h;
            }
            w.push_back(wc);
          }
          ra["weighted_clusters"] = {{"clusters", w}};
        } else {
          ra["cluster"] = a->cluster;
        }
        ra["timeout"] = duration_json(a->timeout);
        if (a->retry_policy) {
          ordered_json rp = {{"retry_on", a->retry_policy->retry_on}, {"num_retries", a->retry_policy->num_retries}};
          if (a->retry_policy->previous_hosts_predicate) {
            rp["retry_host_predicate"] = ordered_json::array({{{"name", "envoy.retry_host_predicates.previous_hosts"}}});
          }
          if (a->retry_policy->host_selection_retry_max_attempts) {
            rp["host_selection_retry_max_attempts"] = a->retry_policy->host_selection_retry_max_attempts;
          }
          if (!a->retry_policy->retriable_status_codes.empty()) {
            rp["retriable_status_codes"] = a->retry_policy->retriable_status_codes;
          }
          if (a->retry_policy->back_off_base_interval > Duration::zero())
            rp["retry_back_off"] = {{"base_interval", duration_json(a->retry_policy->back_off_base_interval)}};
          if (a->retry_policy->per_try_timeout > Duration::zero()) {
            rp["per_try_timeout"] = duration_json(a->retry_policy->per_try_timeout);
          }
          ra["retry_policy"] = rp;
        }
        if (!a->prefix_rewrite.empty()) ra["prefix_rewrite"] = a->prefix_rewrite;
        if (a->regex_rewrite) {
          ra["regex_rewrite"] = {{"pattern", {{"regex", a->regex_rewrite->pattern}}},
                                 {"substitution", a->regex_rewrite->substitution}};
        }
        if (!a->host_rewrite.empty()) ra["host_rewrite_literal"] = a->host_rewrite;
        if (a->cluster_not_found_response_code == 500) ra["cluster_not_found_response_code"] = "INTERNAL_SERVER_ERROR";
        else if (a->cluster_not_found_response_code == 404) ra["cluster_not_found_response_code"] = "NOT_FOUND";
        if (!a->mirrors.empty()) {
          ordered_json m = ordered_json::array();
          for (const auto& p : a->mirrors) {
            m.push_back({{"cluster", p.cluster},
                         {"runtime_fraction", {{"default_value", {{"numerator", p.per_million}, {"denominator", "MILLION"}}}}},
                         {"disable_shadow_host_suffix_append", p.disable_shadow_host_suffix}});
          }
          ra["request_mirror_policies"] = m;
        }
        if (!a->hash_policy.empty()) {
          ordered_json hp = ordered_json::array();
          for (const auto& h : a->hash_policy) hp.push_back(hash_policy_json(h));
          ra["hash_policy"] = hp;
        }
        jr["route"] = ra;
      } else if (const auto* rd = std::get_if<RedirectAction>(&r.action)) {
        ordered_json j;
        if (!rd->scheme_redirect.empty()) j["scheme_redirect"] = rd->scheme_redirect;
        if (!rd->host_redirect.empty()) j["host_redirect"] = rd->host_redirect;
        if (rd->port_redirect) j["port_redirect"] = rd->port_redirect;
        if (!rd->path_redirect.empty()) j["path_redirect"] = rd->path_redirect;
        if (!rd->prefix_rewrite.empty()) j["prefix_rewrite"] = rd->prefix_rewrite;
        static const std::map<uint32_t, const char*> kCodes = {
            {301, "MOVED_PERMANENTLY"}, {302, "FOUND"}, {303, "SEE_OTHER"}, {307, "TEMPORARY_REDIRECT"},
            {308, "PERMANENT_REDIRECT"}};
        auto code = kCodes.find(rd->response_code);
        j["response_code"] = code == kCodes.end() ? std::to_string(rd->response_code) : code->second;
        jr["redirect"] = j;
      } else {
        const auto& d = std::get<DirectResponse>(r.action);
        jr["direct_response"] = {{"status", d.status}, {"body", {{"inline_string", d.body}}}};
      }
      auto header_list = [](const std::vector<HeaderValueOption>& v) {
        ordered_json a = ordered_json::array();
        for (const auto& o : v) {
          a.push_back({{"header", {{"key", o.key}, {"value", o.value}}},
                       {"append_action", o.append ? "APPEND_IF_EXISTS_OR_ADD" : "OVERWRITE_IF_EXISTS_OR_ADD"}});
        }
        return a;
      };
      if (!r.headers.request_add.empty()) jr["request_headers_to_add"] = header_list(r.headers.request_add);
      if (!r.headers.request_remove.empty()) jr["request_headers_to_remove"] = r.headers.request_remove;
      if (!r.headers.response_add.empty()) jr["response_headers_to_add"] = header_list(r.headers.response_add);
      if (!r.headers.response_remove.empty()) jr["response_headers_to_remove"] = r.headers.response_remove;
      if (r.cors) {
        ordered_json origins = ordered_json::array();
        for (const auto& o : r.cors->allow_origins) {
          const char* k = o.kind == CorsPolicy::OriginMatcher::Kind::kExact    ? "exact"
                          : o.kind == CorsPolicy::OriginMatcher::Kind::kPrefix ? "prefix"
                          : o.kind == CorsPolicy::OriginMatcher::Kind::kSuffix ? "suffix"
                                                                               : "safe_regex";
          origins.push_back({{k, o.value}});
        }
        ordered_json c = {{"allow_origin_string_match", origins}};
        if (!r.cors->allow_methods.empty()) c["allow_methods"] = r.cors->allow_methods;
        if (!r.cors->allow_headers.empty()) c["allow_headers"] = r.cors->allow_headers;
        if (!r.cors->expose_headers.empty()) c["expose_headers"] = r.cors->expose_headers;
        if (!r.cors->max_age.empty()) c["max_age"] = r.cors->max_age;
        if (r.cors->allow_credentials) c["allow_credentials"] = *r.cors->allow_credentials;
        c["forward_not_matching_preflights"] = r.cors->forward_not_matching_preflights;
        c["@type"] = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";
        jr["typed_per_filter_config"] = {{"envoy.filters.http.cors", c}};
      }
      if (r.fault) {
        ordered_json f = ordered_json::object();
        if (r.fault->abort_http_status) {
          f["abort"] = {{"http_status", *r.fault->abort_http_status},
                        {"percentage", {{"numerator", r.fault->abort_per_million}, {"denominator", "MILLION"}}}};
        }
        if (r.fault->delay) {
          f["delay"] = {{"fixed_delay", duration_json(*r.fault->delay)},
                        {"percentage", {{"numerator", r.fault->delay_per_million}, {"denominator", "MILLION"}}}};
        }
        jr["typed_per_filter_config"]["envoy.filters.http.fault"] = f;
      }
      if (!r.decorator_operation.empty()) jr["decorator"] = {{"operation", r.decorator_operation}};
      routes.push_back(jr);
    }
    ordered_json jv = {{"name", vh.name}, {"domains", vh.domains}, {"routes", routes}};
    if (vh.include_request_attempt_count) jv["include_request_attempt_count"] = true;
    if (vh.require_tls) jv["require_tls"] = "ALL";
    vhs.push_back(jv);
  }
  ordered_json j = {{"name", rc.name}, {"virtual_hosts", vhs}, {"validate_clusters", false}};
  if (rc.ignore_port_in_host_matching) j["ignore_port_in_host_matching"] = true;
  return j;
}

ordered_json cluster_json(const Cluster& c) {
  ordered_json j = {{"name", c.name}, {"type", type_name(c.type)},
                    {"connect_timeout", duration_json(c.connect_timeout)}, {"lb_policy", lb_name(c.lb_policy)}};
  if (c.ring_hash_lb_config) {
    ordered_json r = ordered_json::object();
    // UInt64Value fields print as strings in Envoy's JSON.
    if (c.ring_hash_lb_config->minimum_ring_size) r["minimum_ring_size"] = std::to_string(*c.ring_hash_lb_config->minimum_ring_size);
    if (c.ring_hash_lb_config->maximum_ring_size) r["maximum_ring_size"] = std::to_string(*c.ring_hash_lb_config->maximum_ring_size);
    j["ring_hash_lb_config"] = r;
  }
  if (c.maglev_lb_config) {
    ordered_json m = ordered_json::object();
    if (c.maglev_lb_config->table_size) m["table_size"] = std::to_string(*c.maglev_lb_config->table_size);
    j["maglev_lb_config"] = m;
  }
  if (c.type == DiscoveryType::kEds) {
    j["eds_cluster_config"] = {{"eds_config", {{"ads", ordered_json::object()}}}, {"service_name", c.name}};
  }
  j["circuit_breakers"] = {{"thresholds", ordered_json::array({{{"max_connections", c.circuit_breakers.max_connections},
                                                                 {"max_pending_requests", c.circuit_breakers.max_pending_requests},
                                                                 {"max_requests", c.circuit_breakers.max_requests},
                                                                 {"max_retries", c.circuit_breakers.max_retries}}})}};
  if (!c.transport_socket_matches.empty()) {
    ordered_json tsm = ordered_json::array();
    for (const auto& m : c.transport_socket_matches) {
      ordered_json x = {{"name", m.name}, {"match", m.match}};
      x["transport_socket"] = m.tls ? upstream_tls_json(*m.tls)
                                    : ordered_json{{"name", "envoy.transport_sockets.raw_buffer"}};
      tsm.push_back(x);
    }
    j["transport_socket_matches"] = tsm;
  } else if (c.tls) {
    j["transport_socket"] = upstream_tls_json(*c.tls);
  }
  if (c.outlier_detection) {
    const auto& o = *c.outlier_detection;
    ordered_json od = {{"consecutive_5xx", o.consecutive_5xx},
                       {"interval", duration_json(o.interval)},
                       {"base_ejection_time", duration_json(o.base_ejection_time)},
                       {"max_ejection_percent", o.max_ejection_percent},
                       {"enforcing_consecutive_5xx", o.enforcing_consecutive_5xx},
                       {"enforcing_success_rate", 0},
                       {"consecutive_gateway_failure", o.consecutive_gateway_failure},
                       {"enforcing_consecutive_gateway_failure", o.enforcing_consecutive_gateway_failure}};
    if (o.split_external_local_origin_errors) {
      od["split_external_local_origin_errors"] = true;
      od["consecutive_local_origin_failure"] = o.consecutive_local_origin_failure;
      od["enforcing_consecutive_local_origin_failure"] = o.enforcing_consecutive_local_origin_failure;
      od["enforcing_local_origin_success_rate"] = 0;
    }
    j["outlier_detection"] = od;
  }
  {
    ordered_json cl = ordered_json::object();
    if (c.outlier_detection || c.healthy_panic_threshold != 50) cl["healthy_panic_threshold"] = {{"value", c.healthy_panic_threshold}};
    if (c.locality_weighted_lb) cl["locality_weighted_lb_config"] = ordered_json::object();
    if (!cl.empty()) j["common_lb_config"] = cl;
  }
  if (c.upstream_bind) {
    j["upstream_bind_config"] = {{"source_address", {{"address", to_string(*c.upstream_bind)}, {"port_value", 0}}}};
  }
  if (c.http2) j["typed_extension_protocol_options"] = {{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions", {{"explicit_http_config", {{"http2_protocol_options", ordered_json::object()}}}}}};
  ordered_json md = ordered_json::object();
  if (!c.service.empty()) md["services"] = ordered_json::array({{{"host", c.service}}});
  if (!c.subset.empty()) md["subset"] = c.subset;
  if (!c.description.empty()) md["why"] = c.description;
  if (!md.empty()) j["metadata"] = {{"filter_metadata", {{"istio", md}}}};
  return j;
}

std::string chain_destination(const FilterChain& fc) {
  if (fc.filters.empty()) return "-";
  const NetworkFilter& f = fc.filters.back();
  if (const auto* tp = std::get_if<TcpProxy>(&f.config)) {
    if (tp->cluster == kPassthroughCluster || tp->cluster == kInboundPassthroughCluster ||
        tp->cluster == kBlackHoleCluster) {
      return tp->cluster;
    }
    if (!tp->weighted_clusters.empty()) return "WeightedClusters";
    return "Cluster: " + tp->cluster;
  }
  const auto& h = std::get<HttpConnectionManager>(f.config);
  if (!h.route_config_name.empty()) return "Route: " + h.route_config_name;
  if (h.route_config) {
    // istioctl shows the single cluster of an inline route config when there is one.
    for (const auto& vh : h.route_config->virtual_hosts) {
      for (const auto& r : vh.routes) {
        if (const auto* a = std::get_if<RouteAction>(&r.action)) return "Inline Route: " + a->cluster;
        return "Inline Route: " + r.match.value + "*";
      }
    }
    return "Inline Route: " + h.route_config->name;
  }
  return "Non-HTTP/Non-TCP";
}

std::string chain_match(const FilterChain& fc, const Listener& l) {
  std::vector<std::string> parts;
  if (!fc.match.transport_protocol.empty()) parts.push_back("Trans: " + fc.match.transport_protocol);
  if (!fc.match.application_protocols.empty()) parts.push_back("App: " + join(fc.match.application_protocols));
  if (!fc.match.server_names.empty()) parts.push_back("SNI: " + join(fc.match.server_names));
  std::string addr;
  if (!fc.match.prefix_ranges.empty()) {
    std::vector<std::string> r;
    for (const auto& c : fc.match.prefix_ranges) r.push_back(to_string(c));
    addr = join(r);
  }
  if (fc.match.destination_port) {
    addr = (addr.empty() ? "*" : addr) + ":" + std::to_string(*fc.match.destination_port);
  }
  if (!addr.empty()) parts.push_back("Addr: " + addr);
  if (parts.empty()) return l.use_original_dst && fc.filters.empty() ? "Non-HTTP/Non-TCP" : "ALL";
  return join(parts, "; ");
}

}  // namespace

std::string render_listeners_text(const ProxyConfig& cfg) {
  std::vector<std::vector<std::string>> rows = {{"ADDRESSES", "PORT", "MATCH", "DESTINATION"}};
  std::vector<const Listener*> ls;
  for (const auto& l : cfg.listeners) ls.push_back(&l);
  std::stable_sort(ls.begin(), ls.end(), [](const Listener* a, const Listener* b) { return a->address.port < b->address.port; });
  for (const Listener* l : ls) {
    for (const auto& fc : l->filter_chains) {
      rows.push_back({to_string(l->address.ip), std::to_string(l->address.port), chain_match(fc, *l), chain_destination(fc)});
    }
    if (l->default_filter_chain) {
      rows.push_back({to_string(l->address.ip), std::to_string(l->address.port), "ALL",
                      chain_destination(*l->default_filter_chain)});
    }
  }
  return table(rows);
}

std::string render_clusters_text(const ProxyConfig& cfg) {
  std::vector<std::vector<std::string>> rows = {{"SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"}};
  std::vector<const Cluster*> cs;
  for (const auto& c : cfg.clusters) cs.push_back(&c);
  std::stable_sort(cs.begin(), cs.end(), [](const Cluster* a, const Cluster* b) { return a->name < b->name; });
  for (const Cluster* c : cs) {
    std::string fqdn = c->service.empty() ? c->name : c->service;
    std::string dir = "-";
    if (c->name.rfind("outbound|", 0) == 0) dir = "outbound";
    else if (c->name.rfind("inbound|", 0) == 0) {
      dir = "inbound";
      fqdn = c->name;
    }
    std::string dr = "-";
    const std::string& why = c->description;
    if (auto p = why.find("DestinationRule "); p != std::string::npos) dr = why.substr(p + 16, why.find(' ', p + 16) - p - 16);
    rows.push_back({fqdn, c->port ? std::to_string(c->port) : "-", c->subset.empty() ? "-" : c->subset, dir,
                    type_name(c->type), dr});
  }
  // istioctl's table has no LB column; consistent-hash clusters are listed below it.
  std::string out = table(rows);
  std::vector<std::vector<std::string>> lb = {{"CLUSTER", "LB POLICY"}};
  for (const Cluster* c : cs)
    if (c->lb_policy == LbPolicy::kRingHash || c->lb_policy == LbPolicy::kMaglev) lb.push_back({c->name, lb_text(*c)});
  if (lb.size() > 1) out += "\n" + table(lb);
  // Likewise the clusters whose outlier detection decides failover.
  std::vector<std::vector<std::string>> od = {{"CLUSTER", "OUTLIER DETECTION", "PANIC THRESHOLD", "LOCALITY LB"}};
  for (const Cluster* c : cs) {
    if (!c->outlier_detection) continue;
    const auto& o = *c->outlier_detection;
    std::string d = "5xx " + std::to_string(o.consecutive_5xx) + (o.enforcing_consecutive_5xx ? "" : " (not enforced)") +
                    ", gateway " + std::to_string(o.consecutive_gateway_failure) +
                    (o.enforcing_consecutive_gateway_failure ? "" : " (not enforced)");
    if (o.split_external_local_origin_errors) d += ", local-origin " + std::to_string(o.consecutive_local_origin_failure);
    d += ", interval " + format_duration(o.interval) + ", base " + format_duration(o.base_ejection_time) + ", max " +
         std::to_string(o.max_ejection_percent) + "%";
    char panic[16];
    std::snprintf(panic, sizeof panic, "%g%%", c->healthy_panic_threshold);
    od.push_back({c->name, d, panic, c->locality_weighted_lb ? "locality-weighted" : "priorities"});
  }
  if (od.size() > 1) out += "\n" + table(od);
  return out;
}

std::string render_routes_text(const ProxyConfig& cfg) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"}};
  std::vector<std::vector<std::string>> hashed = {{"NAME", "VHOST NAME", "MATCH", "HASH POLICY"}};
  auto add = [&](const RouteConfiguration& rc) {
    for (const auto& vh : rc.virtual_hosts) {
      std::string domains = vh.domains.empty() ? "-" : vh.domains.front();
      if (vh.domains.size() > 1) domains += " + " + std::to_string(vh.domains.size() - 1) + " more...";
      for (const auto& r : vh.routes) {
        std::string m;
        switch (r.match.kind) {
          case RouteMatch::Kind::kPrefix: m = r.match.value + "*"; break;
          case RouteMatch::Kind::kPath: m = r.match.value; break;
          case RouteMatch::Kind::kRegex: m = r.match.value; break;
          case RouteMatch::Kind::kPathSeparatedPrefix: m = r.match.value + "/*"; break;
        }
        std::string vs = r.source;
        rows.push_back({rc.name, vh.name, domains, m, vs});
        if (const auto* a = std::get_if<RouteAction>(&r.action)) {
          for (const auto& h : a->hash_policy) hashed.push_back({rc.name, vh.name, m, hash_policy_text(h)});
        }
      }
    }
  };
  for (const auto& rc : cfg.routes) add(*rc);
  for (const auto& l : cfg.listeners) {
    for (const auto& fc : l.filter_chains) {
      for (const auto& f : fc.filters) {
        if (const auto* h = std::get_if<HttpConnectionManager>(&f.config); h && h->route_config && h->route_config_name.empty()) {
          add(*h->route_config);
        }
      }
    }
  }
  std::string out = table(rows);
  if (hashed.size() > 1) out += "\n" + table(hashed);
  return out;
}

std::string render_endpoints_text(const ProxyConfig& cfg) {
  std::vector<std::vector<std::string>> rows = {{"ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER"}};
  // Priorities and locality weights (what locality failover decides), for
  // clusters where they are not all 0 / unweighted.
  std::vector<std::vector<std::string>> prio = {{"ENDPOINT", "LOCALITY", "PRIORITY", "LOCALITY WEIGHT", "CLUSTER"}};
  const Cluster* cl = nullptr;
  for (const auto& cla : cfg.endpoints) {
    for (const auto& c : cfg.clusters)
      if (c.name == cla.cluster_name) cl = &c;
    bool show = false;
    for (const auto& e : cla.endpoints) show = show || e.priority != 0;
    show = show || (cl && cl->name == cla.cluster_name && (cl->locality_weighted_lb || cl->outlier_detection));
    for (const auto& e : cla.endpoints) {
      rows.push_back({to_string(e.address), e.healthy ? "HEALTHY" : "UNHEALTHY", "OK", cla.cluster_name});
      if (!show) continue;
      std::string loc = e.locality.region + "/" + e.locality.zone + (e.locality.subzone.empty() ? "" : "/" + e.locality.subzone);
      prio.push_back({to_string(e.address), loc, std::to_string(e.priority), std::to_string(e.locality_weight), cla.cluster_name});
    }
  }
  std::string out = table(rows);
  if (prio.size() > 1) out += "\n" + table(prio);
  return out;
}

std::string render_secrets_text(const std::vector<SecretView>& secrets) {
  std::vector<std::vector<std::string>> rows = {
      {"RESOURCE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE"}};
  for (const auto& s : secrets) {
    rows.push_back({s.name, s.type, "ACTIVE", s.valid ? "true" : "false", s.serial, s.not_after, s.not_before});
  }
  return table(rows);
}

std::string render_listeners_json(const ProxyConfig& cfg) {
  ordered_json a = ordered_json::array();
  for (const auto& l : cfg.listeners) a.push_back(listener_json(l));
  return a.dump(2) + "\n";
}

std::string render_clusters_json(const ProxyConfig& cfg) {
  ordered_json a = ordered_json::array();
  for (const auto& c : cfg.clusters) a.push_back(cluster_json(c));
  return a.dump(2) + "\n";
}

std::string render_routes_json(const ProxyConfig& cfg) {
  ordered_json a = ordered_json::array();
  for (const auto& r : cfg.routes) a.push_back(route_config_json(*r));
  return a.dump(2) + "\n";
}

std::string render_endpoints_json(const ProxyConfig& cfg) {
  ordered_json a = ordered_json::array();
  for (const auto& cla : cfg.endpoints) {
    ordered_json eps = ordered_json::array();
    for (const auto& e : cla.endpoints) {
      ordered_json ep = {{"endpoint", {{"address", socket_address(e.address)}}},
                         {"health_status", e.healthy ? "HEALTHY" : "UNHEALTHY"},
                         {"load_balancing_weight", e.weight}};
      if (!e.metadata.empty()) ep["metadata"] = {{"filter_metadata", {{"istio", e.metadata}}}};
      if (!e.hostname.empty()) ep["endpoint"]["hostname"] = e.hostname;
      ordered_json loc = {{"region", e.locality.region}, {"zone", e.locality.zone}, {"sub_zone", e.locality.subzone}};
      ordered_json group = {{"locality", loc}, {"priority", e.priority}, {"lb_endpoints", ordered_json::array({ep})}};
      if (e.locality_weight) group["load_balancing_weight"] = e.locality_weight;
      eps.push_back(std::move(group));
    }
    a.push_back({{"cluster_name", cla.cluster_name}, {"endpoints", eps}});
  }
  return a.dump(2) + "\n";
}

std::string render_secrets_json(const std::vector<SecretView>& secrets) {
  ordered_json a = ordered_json::array();
  // Envoy's SecretsConfigDump.DynamicSecret shape (inline PEM instead of
  // base64 bytes; the private key redacted as Envoy's admin does), plus the
  // certificate facts istioctl derives from it.
  for (const auto& s : secrets) {
    ordered_json secret = {{"name", s.name}};
    if (s.type == "CA") {
      secret["validation_context"] = {{"trusted_ca", {{"inline_string", s.pem}}}};
    } else {
      secret["tls_certificate"] = {{"certificate_chain", {{"inline_string", s.pem}}},
                                   {"private_key", {{"inline_string", "[redacted]"}}}};
    }
    a.push_back({{"name", s.name}, {"type", s.type}, {"valid", s.valid}, {"serial_number", s.serial},
                 {"not_before", s.not_before}, {"not_after", s.not_after}, {"uri_sans", s.uri_sans},
                 {"dns_sans", s.dns_sans}, {"secret", secret}});
  }
  return a.dump(2) + "\n";
}

std::string add_not_modelled_json(const std::string& json, const std::vector<std::string>& lines) {
  ordered_json j = ordered_json::parse(json);
  j["not_modelled"] = lines;
  return j.dump(2) + "\n";
}

std::string render_all_json(const ProxyConfig& cfg, const std::vector<SecretView>& secrets) {
  ordered_json dump = {{"node", {{"id", cfg.node_id}}}, {"version_info", cfg.version}};
  dump["configs"] = ordered_json::array(
      {{{"@type", "type.googleapis.com/envoy.admin.v3.ListenersConfigDump"},
        {"dynamic_listeners", ordered_json::parse(render_listeners_json(cfg))}},
       {{"@type", "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"},
        {"dynamic_active_clusters", ordered_json::parse(render_clusters_json(cfg))}},
       {{"@type", "type.googleapis.com/envoy.admin.v3.RoutesConfigDump"},
        {"dynamic_route_configs", ordered_json::parse(render_routes_json(cfg))}},
       {{"@type", "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump"},
        {"dynamic_endpoint_configs", ordered_json::parse(render_endpoints_json(cfg))}},
       {{"@type", "type.googleapis.com/envoy.admin.v3.SecretsConfigDump"},
        {"dynamic_active_secrets", ordered_json::parse(render_secrets_json(secrets))}}});
  return dump.dump(2) + "\n";
}

namespace {
SecretView secret_view(const std::string& name, const std::string& type, const tls::Certificate& leaf,
                       const std::string& pem, Duration now) {
  tls::CertificateInfo info = leaf.info();
  SecretView v;
  v.name = name;
  v.type = type;
  v.valid = info.not_before <= now && now < info.not_after;
  v.serial = info.serial_hex;
  v.not_before = tls::format_rfc3339(info.not_before);
  v.not_after = tls::format_rfc3339(info.not_after);
  v.uri_sans = info.uri_sans;
  v.dns_sans = info.dns_sans;
  v.pem = pem;
  return v;
}
}  // namespace

std::vector<SecretView> sidecar_secrets(SidecarHost& sidecar, Duration now) { return secret_views(sidecar.secrets(), now); }

std::vector<SecretView> secret_views(const proxy::SecretStore& s, Duration now) {
  std::vector<SecretView> out;
  if (s.identity()) out.push_back(secret_view("default", "Cert Chain", s.identity()->certificate, s.identity()->chain_pem(), now));
  for (const tls::Certificate& root : s.roots()) out.push_back(secret_view("ROOTCA", "CA", root, root.to_pem(), now));
  for (const auto& [name, key] : s.certified_keys()) {
    out.push_back(secret_view(name, "Cert Chain", key.certificate, key.chain_pem(), now));
  }
  for (const auto& [name, roots] : s.trusted_sets()) {
    for (const tls::Certificate& root : roots) out.push_back(secret_view(name, "CA", root, root.to_pem(), now));
  }
  return out;
}

}  // namespace meshsim::sim
