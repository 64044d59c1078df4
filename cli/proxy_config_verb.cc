// `meshsim proxy-config KIND NS/POD --mesh PATH…` — the configuration the
// simulated sidecar of a pod runs, generated from the manifests exactly as the
// engine gets it; like `istioctl proxy-config`, offline.
#include <algorithm>
#include <set>
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/mesh_input.h"
#include "cli/verb.h"
#include "mesh/gateway.h"
#include "mesh/authz_translation.h"
#include "mesh/control_plane.h"
#include "mesh/istio_iptables.h"
#include "mesh/coverage.h"
#include "proxy/tls/environment.h"
#include "sim/runtime/mesh_simulation.h"
#include "sim/runtime/proxy_config_render.h"

namespace meshsim::cli {

using sim::SecretView;
using sim::add_not_modelled_json;
using sim::render_all_json;
using sim::render_clusters_json;
using sim::render_clusters_text;
using sim::render_endpoints_json;
using sim::render_endpoints_text;
using sim::render_listeners_json;
using sim::render_listeners_text;
using sim::render_rbac_json;
using sim::render_rbac_text;
using sim::render_routes_json;
using sim::render_routes_text;
using sim::render_secrets_json;
using sim::render_secrets_text;

namespace {
struct ProxyConfigOptions {
  std::string kind;
  std::string pod;
  MeshInput input;
  std::string output = "text";
  std::string at = "0s";
  uint64_t seed = 1;
  // istioctl's filters.
  int port = 0;
  std::string fqdn, subset, direction, name, address, cluster;
};

// Keeps what istioctl's filter flags select (the renderers show the rest).
void filter_config(proxy::ProxyConfig& cfg, const ProxyConfigOptions& o, bool route_view) {
  auto drop = [](auto& v, auto keep) { v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& x) { return !keep(x); }), v.end()); };
  auto cluster_kept = [&](const proxy::Cluster& c) {
    if (o.port && c.port != o.port) return false;
    if (!o.fqdn.empty() && c.service != o.fqdn) return false;
    if (!o.subset.empty() && c.subset != o.subset) return false;
    if (!o.direction.empty() && c.name.rfind(o.direction + "|", 0) != 0) return false;
    if (!o.cluster.empty() && c.name != o.cluster) return false;
    return true;
  };
  bool cluster_filter = o.port || !o.fqdn.empty() || !o.subset.empty() || !o.direction.empty() || !o.cluster.empty();
  if (cluster_filter) {
    std::set<std::string> kept;
    for (const auto& c : cfg.clusters) {
      if (cluster_kept(c)) kept.insert(c.name);
    }
    drop(cfg.clusters, cluster_kept);
    drop(cfg.endpoints, [&](const proxy::ClusterLoadAssignment& e) { return kept.count(e.cluster_name) > 0; });
  }
  if (o.port || !o.address.empty()) {
    drop(cfg.listeners, [&](const proxy::Listener& l) {
      return (!o.port || l.address.port == o.port) && (o.address.empty() || to_string(l.address.ip) == o.address);
    });
  }
  if (!o.address.empty()) {
    for (auto& e : cfg.endpoints) {
      drop(e.endpoints, [&](const proxy::LbEndpoint& ep) { return to_string(ep.address.ip) == o.address; });
    }
  }
  if (route_view && !o.name.empty()) {
    drop(cfg.routes, [&](const std::shared_ptr<const proxy::RouteConfiguration>& r) { return r->name == o.name; });
    // Inline route configurations (inbound) are shown from the listeners.
    for (auto& l : cfg.listeners) {
      auto strip = [&](proxy::FilterChain& fc) {
        for (auto& f : fc.filters) {
          if (auto* h = std::get_if<proxy::HttpConnectionManager>(&f.config); h && h->route_config &&
                                                                           h->route_config->name != o.name) {
            h->route_config = nullptr;
          }
        }
      };
      for (auto& fc : l.filter_chains) strip(fc);
      if (l.default_filter_chain) strip(*l.default_filter_chain);
    }
  }
}

// The secrets the pod's sidecar holds at virtual time `at`: the simulation
// runs (pilot-agent issues the workload certificate at start and renews it)
// until then, and the sidecar's SDS cache is read — like `istioctl
// proxy-config secret`, which reads Envoy's secrets config dump.
Result<std::vector<SecretView>> secrets_at(std::shared_ptr<const mesh::World> world, const mesh::WorldPod& pod,
                                           Duration at, uint64_t seed) {
  sim::MeshSimulationOptions mo;
  mo.seed = seed;
  mo.server_apps = false;
  mo.kubelet_probes = false;
  sim::MeshSimulation ms(world, mo);
  if (Status st = ms.build(); !st.ok()) return Error{st.message()};
  ms.run_until(at);
  sim::SidecarHost* sc = ms.sidecar(pod.namespace_, pod.name);
  if (!sc) return Error{pod.namespace_ + "/" + pod.name + " has no sidecar: it holds no secrets"};
  return sim::sidecar_secrets(*sc, at);
}
}  // namespace

void register_proxy_config(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<ProxyConfigOptions>();
  CLI::App* sub = app.add_subcommand(
      "proxy-config",
      "Show the configuration istiod would push to a pod's sidecar — the same config meshsim's\n"
      "engine runs — like `istioctl proxy-config`, from manifests instead of a live cluster.\n\n"
      "KIND is listener, cluster, route, endpoint, secret, rbac, iptables or all. POD is NS/NAME or NAME\n"
      "(namespace default); a workload or app name picks its first pod.\n\n"
      "secret (and all) runs the simulation until --at (virtual time since 2026-01-01T00:00:00Z)\n"
      "so pilot-agent has issued — and by then renewed — the workload certificate; the sidecar's\n"
      "SDS secrets are shown: `default` (workload certificate chain) and `ROOTCA` (mesh root).\n\n"
      "rbac shows the RBAC filters istiod generates from the AuthorizationPolicies that select the\n"
      "workload (AUDIT, DENY, ALLOW; HTTP and TCP chains differ in HTTP-only fields) and the rules\n"
      "it skipped.\n\n"
      "Examples:\n"
      "  meshsim proxy-config listener default/productpage-v1 --mesh samples/bookinfo/\n"
      "  meshsim proxy-config cluster reviews --mesh bookinfo.yaml -o json\n"
      "  meshsim proxy-config all default/ratings-v1 --mesh k8s/ --mesh-config mesh.yaml -o json\n"
      "  meshsim proxy-config secret default/productpage-v1 --mesh samples/bookinfo/ --at 30h\n"
      "  meshsim proxy-config rbac default/httpbin --mesh k8s/ -o json");
  sub->alias("pc");
  sub->add_option("kind", o->kind,
                  "listener | cluster | route | endpoint | secret | rbac | all | iptables (istio-init's args and the\n"
                  "iptables-restore input istio-iptables builds from them: what `meshsim up --netns` applies)")
      ->required()
      ->check(CLI::IsMember({"listener", "listeners", "cluster", "clusters", "route", "routes", "endpoint",
                             "endpoints", "secret", "secrets", "rbac", "all", "iptables"}));
  sub->add_option("pod", o->pod, "NS/POD (or POD in namespace default, or a workload/app name)")->required();
  sub->add_option("--mesh", o->input.paths, "Manifest files or directories (repeatable)")->required();
  sub->add_option("--mesh-config", o->input.mesh_config_file, "MeshConfig file or IstioOperator");
  sub->add_option("-o,--output", o->output, "text (istioctl tables) or json (Envoy config protos)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  sub->add_option("--at", o->at, "secret/all: virtual time to show the secrets at (e.g. 13h: after the first rotation)")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "secret/all: seed of the simulation (certificate keys and serials)")
      ->capture_default_str();
  add_inject_namespace_flag(sub, o->input.inject_namespaces);
  add_jwks_flag(sub, o->input.jwks);
  sub->add_flag("-v,--verbose", o->input.verbose,
                "Also print every warning and note about the manifests (those that change the answer, such as\n"
                "pods without a sidecar, are always printed)");
  sub->add_option("--port", o->port, "listener/cluster/endpoint: only this port (istioctl --port)");
  sub->add_option("--fqdn", o->fqdn, "cluster/endpoint: only clusters of this service FQDN (istioctl --fqdn)");
  sub->add_option("--subset", o->subset, "cluster/endpoint: only this subset (istioctl --subset)");
  sub->add_option("--direction", o->direction, "cluster: inbound or outbound (istioctl --direction)")
      ->check(CLI::IsMember({"inbound", "outbound"}));
  sub->add_option("--name", o->name, "route: only the route configuration of this name (istioctl --name)");
  sub->add_option("--address", o->address, "listener/endpoint: only this IP address (istioctl --address)");
  sub->add_option("--cluster", o->cluster, "endpoint: only the endpoints of this cluster (istioctl --cluster)");
  sub->callback([o, &ctx] {
    auto at = parse_duration(o->at);
    if (!at.ok() || at->ns() < 0) {
      print_error("--at: " + (at.ok() ? std::string("must not be negative") : at.message()));
      ctx.exit_code = kExitBadInput;
      return;
    }
    auto world = load_world(o->input);
    if (!world) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    // Ambient: a ztunnel is not Envoy — it has no listeners, clusters or
    // routes to dump. What it holds (istioctl ztunnel-config workload /
    // policy) is shown for `all` and `rbac`; an ambient pod points there.
    std::string zt_node = sim::ztunnel_node(*world, o->pod);
    if (zt_node.empty()) {
      const mesh::WorldPod* ap = o->pod.find('/') == std::string::npos ? world->find_pod("default", o->pod)
                                                                        : world->find_pod(o->pod.substr(0, o->pod.find('/')),
                                                                                          o->pod.substr(o->pod.find('/') + 1));
      if (ap && ap->ambient) {
        zt_node = world->nodes()[static_cast<size_t>(ap->node)].name;
        std::fprintf(stderr,
                     "note: %s/%s is an ambient pod (%s): it has no sidecar; ztunnel istio-system/%s on node %s carries "
                     "its traffic — showing that ztunnel\n",
                     ap->namespace_.c_str(), ap->name.c_str(), ap->ambient_reason.c_str(),
                     mesh::ztunnel_pod_name(zt_node).c_str(), zt_node.c_str());
      }
    }
    if (!zt_node.empty()) {
      std::string k = o->kind;
      if (k != "all" && k != "rbac") {
        print_error("a ztunnel is not Envoy: it has no " + k +
                    " configuration; `proxy-config all` or `proxy-config rbac` shows its workloads and L4 policies");
        ctx.exit_code = kExitBadInput;
        return;
      }
      std::vector<std::string> lines = sim::describe_ztunnel(*world, zt_node);
      std::string out;
      if (o->output == "json") {
        out = "{\"ztunnel\": \"istio-system/" + mesh::ztunnel_pod_name(zt_node) + "\", \"node\": \"" + zt_node +
              "\", \"lines\": [";
        for (size_t i = 0; i < lines.size(); ++i) {
          std::string esc;
          for (char c : lines[i]) {
            if (c == '"' || c == '\\') esc.push_back('\\');
            esc.push_back(c);
          }
          out += (i ? ", \"" : "\"") + esc + "\"";
        }
        out += "]}\n";
      } else {
        for (const auto& l : lines) out += l + "\n";
      }
      std::fwrite(out.data(), 1, out.size(), stdout);
      ctx.exit_code = kExitOk;
      return;
    }
    const mesh::WorldPod* pod = resolve_pod(*world, o->pod);
    if (!pod) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!pod->ambient && !pod->ambient_reason.empty()) {
      std::fprintf(stderr, "note: %s/%s is not in ambient mode: %s\n", pod->namespace_.c_str(), pod->name.c_str(),
                   pod->ambient_reason.c_str());
    }
    if (mesh::is_gateway_pod(*pod)) {
      std::fprintf(stderr, "note: %s/%s is a gateway proxy (router): its listeners come from the Gateways selecting it\n",
                   pod->namespace_.c_str(), pod->name.c_str());
    } else if (!pod->injected) {
      std::fprintf(stderr, "note: %s/%s has no sidecar (%s); showing the config it would get if injected\n",
                   pod->namespace_.c_str(), pod->name.c_str(), pod->injection_reason.c_str());
    }
    if (o->kind == "iptables") {
      mesh::IstioIptablesConfig ic = mesh::istio_init_config(*pod, world->mesh_config().status_port);
      auto rules = mesh::istio_iptables_restore(ic);
      if (!rules.ok()) {
        print_error(pod->namespace_ + "/" + pod->name + ": istio-iptables: " + rules.message());
        ctx.exit_code = kExitBadInput;
        return;
      }
      std::vector<std::string> args = mesh::istio_init_args(ic);
      std::string out;
      if (o->output == "json") {
        nlohmann::json j = {{"pod", pod->namespace_ + "/" + pod->name}, {"istioInit", {{"args", args}}},
                            {"iptablesRestore", *rules}};
        out = j.dump(2) + "\n";
      } else {
        out = "# istio-init:";
        for (const std::string& a : args) out += " " + (a.empty() || a == "*" ? "\"" + a + "\"" : a);
        out += "\n# iptables-restore --noflush input (IPv4):\n" + *rules;
      }
      std::fwrite(out.data(), 1, out.size(), stdout);
      ctx.exit_code = kExitOk;
      return;
    }
    auto cfg = mesh::build_sidecar_config(*world, *pod);
    // --name selects route configurations, so it applies to the route view only.
    filter_config(*cfg, *o, /*route_view=*/o->kind == "route" || o->kind == "routes");
    std::string k = o->kind;
    if (k.back() == 's') k.pop_back();
    bool json = o->output == "json";
    // Before `world` may move into the secrets' simulation below.
    std::vector<std::string> not_modelled_lines;
    for (const auto& line : mesh::not_modelled(world->resources(), &world->mesh_config()))
      not_modelled_lines.push_back(line.line());
    std::vector<SecretView> secrets;
    if (k == "secret" || (k == "all" && pod->injected)) {
      std::string ns = pod->namespace_, name = pod->name;
      auto shared = std::make_shared<const mesh::World>(std::move(*world));
      const mesh::WorldPod* p = shared->find_pod(ns, name);
      auto s = secrets_at(shared, *p, *at, o->seed);
      if (!s.ok()) {
        print_error(s.message());
        ctx.exit_code = kExitBadInput;
        return;
      }
      secrets = std::move(*s);
    }
    std::string out;
    if (k == "listener") out = json ? render_listeners_json(*cfg) : render_listeners_text(*cfg);
    else if (k == "cluster") out = json ? render_clusters_json(*cfg) : render_clusters_text(*cfg);
    else if (k == "route") out = json ? render_routes_json(*cfg) : render_routes_text(*cfg);
    else if (k == "endpoint") out = json ? render_endpoints_json(*cfg) : render_endpoints_text(*cfg);
    else if (k == "rbac") {
      std::vector<std::string> notes = mesh::build_authz_filters(*world, *pod).skipped;
      for (const auto& line : not_modelled_lines)
        if (line.find(": AuthorizationPolicy ") != std::string::npos) notes.push_back(line);
      out = json ? render_rbac_json(*cfg, notes) : render_rbac_text(*cfg, notes);
    } else if (k == "secret") out = json ? render_secrets_json(secrets) : render_secrets_text(secrets);
    else if (json) {
      // The config dump, plus what in the input this configuration does not account for.
      out = render_all_json(*cfg, secrets);
      out = add_not_modelled_json(out, not_modelled_lines);
    }
    else {
      out = render_listeners_text(*cfg) + "\n" + render_clusters_text(*cfg) + "\n" + render_routes_text(*cfg) + "\n" +
            render_endpoints_text(*cfg);
      if (!secrets.empty()) out += "\n" + render_secrets_text(secrets);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    ctx.exit_code = kExitOk;
  });
}

}  // namespace meshsim::cli
