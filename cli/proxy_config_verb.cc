// `meshsim proxy-config KIND NS/POD --mesh PATH…` — the configuration the
// simulated sidecar of a pod runs, generated from the manifests exactly as the
// engine gets it; like `istioctl proxy-config`, offline.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/mesh_input.h"
#include "cli/proxy_config_render.h"
#include "cli/verb.h"
#include "mesh/control_plane.h"

namespace meshsim::cli {

namespace {
struct ProxyConfigOptions {
  std::string kind;
  std::string pod;
  MeshInput input;
  std::string output = "text";
};
}  // namespace

void register_proxy_config(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<ProxyConfigOptions>();
  CLI::App* sub = app.add_subcommand(
      "proxy-config",
      "Show the configuration istiod would push to a pod's sidecar — the same config meshsim's\n"
      "engine runs — like `istioctl proxy-config`, from manifests instead of a live cluster.\n\n"
      "KIND is listener, cluster, route, endpoint or all. POD is NS/NAME or NAME (namespace\n"
      "default); a workload or app name picks its first pod.\n\n"
      "Examples:\n"
      "  meshsim proxy-config listener default/productpage-v1 --mesh samples/bookinfo/\n"
      "  meshsim proxy-config cluster reviews --mesh bookinfo.yaml -o json\n"
      "  meshsim proxy-config all default/ratings-v1 --mesh k8s/ --mesh-config mesh.yaml -o json");
  sub->alias("pc");
  sub->add_option("kind", o->kind, "listener | cluster | route | endpoint | all")
      ->required()
      ->check(CLI::IsMember({"listener", "listeners", "cluster", "clusters", "route", "routes", "endpoint",
                             "endpoints", "all"}));
  sub->add_option("pod", o->pod, "NS/POD (or POD in namespace default, or a workload/app name)")->required();
  sub->add_option("--mesh", o->input.paths, "Manifest files or directories (repeatable)")->required();
  sub->add_option("--mesh-config", o->input.mesh_config_file, "MeshConfig file or IstioOperator");
  sub->add_option("-o,--output", o->output, "text (istioctl tables) or json (Envoy config protos)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  sub->add_flag("-v,--verbose", o->input.verbose, "Also print warnings about the manifests");
  sub->callback([o, &ctx] {
    auto world = load_world(o->input);
    if (!world) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    const mesh::WorldPod* pod = resolve_pod(*world, o->pod);
    if (!pod) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!pod->injected) {
      std::fprintf(stderr, "note: %s/%s has no sidecar (%s); showing the config it would get if injected\n",
                   pod->namespace_.c_str(), pod->name.c_str(), pod->injection_reason.c_str());
    }
    auto cfg = mesh::build_sidecar_config(*world, *pod);
    std::string k = o->kind;
    if (k.back() == 's') k.pop_back();
    bool json = o->output == "json";
    std::string out;
    if (k == "listener") out = json ? render_listeners_json(*cfg) : render_listeners_text(*cfg);
    else if (k == "cluster") out = json ? render_clusters_json(*cfg) : render_clusters_text(*cfg);
    else if (k == "route") out = json ? render_routes_json(*cfg) : render_routes_text(*cfg);
    else if (k == "endpoint") out = json ? render_endpoints_json(*cfg) : render_endpoints_text(*cfg);
    else if (json) out = render_all_json(*cfg, {});
    else {
      out = render_listeners_text(*cfg) + "\n" + render_clusters_text(*cfg) + "\n" + render_routes_text(*cfg) + "\n" +
            render_endpoints_text(*cfg);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    ctx.exit_code = kExitOk;
  });
}

}  // namespace meshsim::cli
