// `meshsim gateway-status --mesh PATH…` — the status Istio's gateway
// controller would write on Gateway API objects (GatewayClass, Gateway and
// its listeners, HTTPRoute/GRPCRoute/TLSRoute/TCPRoute parents), as
// `kubectl get gateway,httproute -o yaml` shows it in a cluster; plus, with
// --translated, the Istio Gateways and VirtualServices the gateway pods run.
// One conversion (mesh/gateway_api.h) serves this verb, `meshsim analyze`
// and the gateway pods' configuration.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/mesh_input.h"
#include "cli/verb.h"
#include "mesh/gateway_api.h"

namespace meshsim::cli {

namespace {

struct GatewayStatusOptions {
  MeshInput input;
  std::string output = "text";
  bool translated = false;
};

nlohmann::json conditions_json(const std::vector<mesh::GatewayApiCondition>& cs) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& c : cs)
    a.push_back({{"type", c.type}, {"status", c.status ? "True" : "False"}, {"reason", c.reason}, {"message", c.message}});
  return a;
}

void print_conditions(const std::vector<mesh::GatewayApiCondition>& cs, const char* indent) {
  for (const auto& c : cs)
    std::printf("%s%-12s %-5s %-26s %s\n", indent, c.type.c_str(), c.status ? "True" : "False", c.reason.c_str(),
                c.message.c_str());
}

// Istio's StringMatch field name: exact, prefix or regex.
const char* match_type(const mesh::StringMatch& s) {
  return s.type == mesh::StringMatch::Type::kExact ? "exact" : s.type == mesh::StringMatch::Type::kPrefix ? "prefix" : "regex";
}

nlohmann::json string_match_json(const mesh::StringMatch& s) { return {{match_type(s), s.value}}; }

// The VirtualService fields in Istio's YAML names (what `kubectl get virtualservice -o yaml` shows).
nlohmann::json headers_json(const mesh::Headers& h) {
  auto ops = [](const mesh::HeaderOperations& o) {
    nlohmann::json j = nlohmann::json::object();
    if (!o.set.empty()) j["set"] = o.set;
    if (!o.add.empty()) j["add"] = o.add;
    if (!o.remove.empty()) j["remove"] = o.remove;
    return j;
  };
  nlohmann::json j = nlohmann::json::object();
  if (!h.request.set.empty() || !h.request.add.empty() || !h.request.remove.empty()) j["request"] = ops(h.request);
  if (!h.response.set.empty() || !h.response.add.empty() || !h.response.remove.empty()) j["response"] = ops(h.response);
  return j;
}

nlohmann::json cors_json(const mesh::CorsPolicy& c) {
  nlohmann::json j = nlohmann::json::object();
  nlohmann::json origins = nlohmann::json::array();
  for (const auto& o : c.allow_origins) origins.push_back(string_match_json(o));
  if (!origins.empty()) j["allowOrigins"] = origins;
  if (!c.allow_methods.empty()) j["allowMethods"] = c.allow_methods;
  if (!c.allow_headers.empty()) j["allowHeaders"] = c.allow_headers;
  if (!c.expose_headers.empty()) j["exposeHeaders"] = c.expose_headers;
  if (c.max_age) j["maxAge"] = format_duration(*c.max_age);
  if (c.allow_credentials) j["allowCredentials"] = *c.allow_credentials;
  if (!c.unmatched_preflights.empty()) j["unmatchedPreflights"] = c.unmatched_preflights;
  return j;
}

std::string match_text(const mesh::HttpMatchRequest& m) {
  std::string s;
  if (m.uri) {
    s += std::string("uri ") + match_type(*m.uri) + " " + m.uri->value;
  }
  for (const auto& [k, v] : m.headers) s += (s.empty() ? "" : ", ") + std::string("header ") + k + "=" + v.value;
  for (const auto& [k, v] : m.query_params) s += (s.empty() ? "" : ", ") + std::string("query ") + k + "=" + v.value;
  if (m.method) s += (s.empty() ? "" : ", ") + std::string("method ") + m.method->value;
  return s.empty() ? "(any)" : s;
}

}  // namespace

void register_gateway_status(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<GatewayStatusOptions>();
  CLI::App* sub = app.add_subcommand(
      "gateway-status",
      "Show the status Istio's gateway controller writes on Gateway API objects (GatewayClass,\n"
      "Gateway and listeners, HTTPRoute / GRPCRoute / TLSRoute / TCPRoute parents: Accepted,\n"
      "Programmed, ResolvedRefs with Istio's reasons and messages), what `kubectl get -o yaml`\n"
      "shows in a cluster. --translated also lists the Istio Gateways and VirtualServices the\n"
      "controller generates — what the gateway pods run (`meshsim proxy-config` shows their Envoy config).\n\n"
      "Exit code 1 when some condition is not True (a route not attached, a reference not resolved).\n\n"
      "Examples:\n"
      "  meshsim gateway-status --mesh samples/bookinfo/ --mesh samples/bookinfo/gateway-api/\n"
      "  meshsim gateway-status --mesh k8s/ --translated -o json");
  sub->add_option("--mesh", o->input.paths, "Manifest files or directories (repeatable)")->required();
  sub->add_option("--mesh-config", o->input.mesh_config_file, "MeshConfig file or IstioOperator");
  sub->add_option("-o,--output", o->output, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  sub->add_flag("--translated", o->translated, "Also list the generated Istio Gateways and VirtualServices");
  add_inject_namespace_flag(sub, o->input.inject_namespaces);
  sub->add_flag("-v,--verbose", o->input.verbose, "Also print every warning and note about the manifests");
  sub->callback([o, &ctx] {
    auto world = load_world(o->input);
    if (!world) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    mesh::GatewayApiConversion c = mesh::convert_gateway_api(*world);
    bool all_true = true;
    for (const auto& st : c.statuses) {
      for (const auto& k : st.conditions) all_true = all_true && k.status;
      for (const auto& l : st.listeners)
        for (const auto& k : l.conditions) all_true = all_true && (k.type == "Conflicted" ? !k.status : k.status);
      for (const auto& p : st.parents)
        for (const auto& k : p.conditions) all_true = all_true && k.status;
      if (!st.ignored_parents.empty()) all_true = false;
    }
    if (o->output == "json") {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& st : c.statuses) {
        nlohmann::json j = {{"kind", mesh::kind_name(st.kind)}, {"name", st.name}};
        if (!st.namespace_.empty()) j["namespace"] = st.namespace_;
        if (!st.conditions.empty()) j["status"]["conditions"] = conditions_json(st.conditions);
        for (const auto& l : st.listeners)
          j["status"]["listeners"].push_back(
              {{"name", l.name}, {"attachedRoutes", l.attached_routes}, {"conditions", conditions_json(l.conditions)}});
        for (const auto& p : st.parents)
          j["status"]["parents"].push_back({{"parentRef", p.ref}, {"conditions", conditions_json(p.conditions)}});
        for (const auto& [loc, why] : st.ignored_parents) j["ignoredParents"].push_back(why);
        out.push_back(std::move(j));
      }
      nlohmann::json doc = {{"objects", out}};
      if (o->translated) {
        for (const auto& g : c.gateways) {
          nlohmann::json servers = nlohmann::json::array();
          for (const auto& s : g.servers)
            servers.push_back({{"port", s.port.number}, {"protocol", s.port.protocol}, {"name", s.port.name}, {"hosts", s.hosts}});
          doc["gateways"].push_back({{"name", g.meta.name}, {"namespace", g.meta.namespace_}, {"servers", servers},
                                     {"gatewayServices", g.gateway_services}});
        }
        for (const auto& vs : c.virtual_services) {
          nlohmann::json routes = nlohmann::json::array();
          for (const auto& r : vs.http) {
            nlohmann::json dests = nlohmann::json::array();
            for (const auto& d : r.route) {
              nlohmann::json dj = {{"host", d.destination.host}, {"port", d.destination.port.value_or(0)}, {"weight", d.weight}};
              if (d.headers) dj["headers"] = headers_json(*d.headers);
              dests.push_back(std::move(dj));
            }
            nlohmann::json m = nlohmann::json::array();
            for (const auto& mm : r.match) m.push_back(match_text(mm));
            nlohmann::json rj = {{"name", r.name}, {"match", m}, {"route", dests}};
            if (r.timeout) rj["timeout"] = format_duration(*r.timeout);
            if (r.retries) {
              rj["retries"] = {{"attempts", r.retries->attempts}, {"retryOn", r.retries->retry_on}};
              if (r.retries->per_try_timeout) rj["retries"]["perTryTimeout"] = format_duration(*r.retries->per_try_timeout);
              if (r.retries->backoff) rj["retries"]["backoff"] = format_duration(*r.retries->backoff);
            }
            if (r.cors_policy) rj["corsPolicy"] = cors_json(*r.cors_policy);
            if (r.headers) rj["headers"] = headers_json(*r.headers);
            routes.push_back(std::move(rj));
          }
          auto l4 = [](const auto& list) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& t : list) {
              nlohmann::json dests = nlohmann::json::array();
              for (const auto& d : t.route)
                dests.push_back({{"host", d.destination.host}, {"port", d.destination.port.value_or(0)}, {"weight", d.weight}});
              a.push_back({{"route", dests}});
            }
            return a;
          };
          doc["virtualServices"].push_back({{"name", vs.meta.name}, {"namespace", vs.meta.namespace_}, {"hosts", vs.hosts},
                                            {"gateways", vs.gateways}, {"http", routes}, {"tcp", l4(vs.tcp)}, {"tls", l4(vs.tls)},
                                            {"parents", vs.meta.annotations.at("internal.istio.io/parents")}});
        }
      }
      std::printf("%s\n", doc.dump(2).c_str());
    } else {
      if (c.statuses.empty()) std::printf("no Gateway API objects handled by Istio's gateway controller in the input\n");
      for (const auto& st : c.statuses) {
        std::printf("%s %s%s\n", mesh::kind_name(st.kind), st.namespace_.empty() ? "" : (st.namespace_ + "/").c_str(),
                    st.name.c_str());
        print_conditions(st.conditions, "  ");
        for (const auto& l : st.listeners) {
          std::printf("  listener %s (attached routes: %d)\n", l.name.c_str(), l.attached_routes);
          print_conditions(l.conditions, "    ");
        }
        for (const auto& p : st.parents) {
          std::printf("  parent %s\n", p.ref.c_str());
          print_conditions(p.conditions, "    ");
        }
        for (const auto& [loc, why] : st.ignored_parents)
          std::printf("  ignored: %s%s\n", why.c_str(), loc.known() ? ("  [" + loc.str() + "]").c_str() : "");
      }
      if (o->translated) {
        std::printf("\ntranslated (what the gateway pods run):\n");
        for (const auto& g : c.gateways) {
          std::string hosts;
          for (const auto& s : g.servers)
            for (const auto& h : s.hosts) hosts += (hosts.empty() ? "" : ",") + h;
          const auto& s = g.servers.front();
          std::printf("  Gateway %s/%s  port %u %s  hosts %s\n", g.meta.namespace_.c_str(), g.meta.name.c_str(), s.port.number,
                      s.port.protocol.c_str(), hosts.c_str());
        }
        for (const auto& vs : c.virtual_services) {
          std::printf("  VirtualService %s/%s  hosts %s  gateway %s\n", vs.meta.namespace_.c_str(), vs.meta.name.c_str(),
                      vs.hosts.front().c_str(), vs.gateways.front().c_str());
          for (const auto& r : vs.http) {
            std::string dests;
            for (const auto& d : r.route)
              dests += (dests.empty() ? "" : ", ") + (d.destination.host.empty() ? std::string("(invalid backend)") : d.destination.host) +
                       ":" + std::to_string(d.destination.port.value_or(0)) + (d.weight ? " w" + std::to_string(d.weight) : "");
            if (r.direct_response) dests = "direct response " + std::to_string(r.direct_response->status);
            if (r.redirect) dests = "redirect " + std::to_string(r.redirect->redirect_code);
            if (r.timeout) dests += "  timeout " + format_duration(*r.timeout);
            if (r.retries)
              dests += "  retries " + std::to_string(r.retries->attempts) + (r.retries->retry_on.empty() ? "" : " on " + r.retries->retry_on) +
                       (r.retries->per_try_timeout ? " per try " + format_duration(*r.retries->per_try_timeout) : "") +
                       (r.retries->backoff ? " backoff " + format_duration(*r.retries->backoff) : "");
            if (r.cors_policy) dests += "  cors";
            std::printf("    %-24s %-40s → %s\n", r.name.c_str(), r.match.empty() ? "(any)" : match_text(r.match[0]).c_str(),
                        dests.c_str());
          }
          for (const auto& t : vs.tls)
            for (const auto& d : t.route) std::printf("    tls → %s:%u\n", d.destination.host.c_str(), d.destination.port.value_or(0));
          for (const auto& t : vs.tcp)
            for (const auto& d : t.route) std::printf("    tcp → %s:%u\n", d.destination.host.c_str(), d.destination.port.value_or(0));
        }
      }
    }
    ctx.exit_code = all_true ? kExitOk : kExitCheckFailed;
  });
}

}  // namespace meshsim::cli
