// `meshsim proxy --mesh PATH… --pod NS/POD …` — one pod's sidecar on real
// sockets: the engine the simulation runs, with the configuration istiod
// would push to that pod, in front of real programs.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/mesh_input.h"
#include "cli/real_flags.h"
#include "cli/verb.h"
#include "proxy/asio/event_loop.h"
#include "proxy/asio/http_server.h"
#include "real/ca_dir.h"
#include "real/pod_proxy.h"

namespace meshsim::cli {

namespace {
struct ProxyVerbOptions {
  MeshInput input;
  std::string pod;
  std::vector<std::string> inbound, outbound, upstream_map;
  RealCommonOptions common;
};
}  // namespace

void register_proxy(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<ProxyVerbOptions>();
  CLI::App* sub = app.add_subcommand(
      "proxy",
      "Run one pod's sidecar on real sockets: meshsim's engine with the configuration istiod would\n"
      "push to that pod (what `meshsim proxy-config` shows), real TLS with a workload certificate\n"
      "from the mesh CA, in front of real clients and servers on this machine.\n\n"
      "Without iptables, a real client connects to a listener of this process directly; each\n"
      "listener says which of Envoy's capture listeners it stands for and where the client was\n"
      "going (the original destination istio-iptables' REDIRECT would have kept):\n"
      "  --listen-inbound 127.0.0.1:P=PORT       virtualInbound (15006), as if sent to <pod IP>:PORT\n"
      "  --listen-outbound 127.0.0.1:Q=HOST:PORT virtualOutbound (15001), as if sent to HOST:PORT\n"
      "                                          (an IP, or a Service name: its ClusterIP)\n"
      "A listener without '=' asks the kernel (SO_ORIGINAL_DST), for real iptables rules.\n"
      "The engine's upstream connections go where the configuration says (endpoint pod IPs;\n"
      "127.0.0.1:<port> for the pod's own app); --upstream-map IP:PORT=ADDR:PORT sends them to a\n"
      "real address instead (another `meshsim proxy`'s --listen-inbound, or where the app listens).\n\n"
      "Envoy's admin endpoints are served on --admin (default 127.0.0.1:15000): /ready, /stats,\n"
      "/stats/prometheus, /clusters, /config_dump, POST /quitquitquit. SIGTERM drains: listeners\n"
      "close, open connections get --drain-time to finish, then the process exits 0.\n\n"
      "Examples (two sidecars, mTLS between them, a real app on 127.0.0.1:8080):\n"
      "  meshsim proxy --mesh httpbin.yaml --mesh curl.yaml --pod default/httpbin --ca-dir ca/ \\\n"
      "      --listen-inbound 127.0.0.1:18080=8080 --upstream-map 127.0.0.1:8080=127.0.0.1:8080 --admin 127.0.0.1:15100\n"
      "  meshsim proxy --mesh httpbin.yaml --mesh curl.yaml --pod default/curl --ca-dir ca/ \\\n"
      "      --listen-outbound 127.0.0.1:15001=httpbin:8000 --upstream-map 10.244.0.7:8080=127.0.0.1:18080\n"
      "  curl http://127.0.0.1:15001/headers -H 'Host: httpbin'");
  sub->add_option("--mesh", o->input.paths, "Manifest files or directories (repeatable)")->required();
  sub->add_option("--mesh-config", o->input.mesh_config_file, "MeshConfig file or IstioOperator");
  add_inject_namespace_flag(sub, o->input.inject_namespaces);
  add_jwks_flag(sub, o->input.jwks);
  sub->add_option("--pod", o->pod, "The pod whose sidecar to run: NS/NAME, or a workload/app name")->required();
  sub->add_option("--listen-inbound", o->inbound,
                  "ADDR:PORT[=DEST_PORT]: a listener standing for virtualInbound (15006) (repeatable)");
  sub->add_option("--listen-outbound", o->outbound,
                  "ADDR:PORT[=HOST:PORT]: a listener standing for virtualOutbound (15001) (repeatable)");
  sub->add_option("--upstream-map", o->upstream_map,
                  "IP:PORT=ADDR:PORT: send the engine's connections to IP:PORT to ADDR:PORT (repeatable)");
  add_real_common_flags(sub, o->common);
  sub->add_flag("-v,--verbose", o->input.verbose, "Print every loader warning");

  sub->callback([o, &ctx] {
    auto world = load_world(o->input);
    if (!world) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    const mesh::WorldPod* pod = resolve_pod(*world, o->pod, "--pod");
    if (!pod) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!pod->injected) {
      print_warning(pod->namespace_ + "/" + pod->name + " has no sidecar in this mesh (" + pod->injection_reason +
                    "); running the configuration it would get if it were injected");
    }
    auto shared = std::make_shared<const mesh::World>(std::move(*world));
    pod = shared->find_pod(pod->namespace_, pod->name);
    real::PodProxyOptions po;
    auto specs = parse_listen_specs(*shared, *pod, o->inbound, o->outbound);
    if (!specs.ok()) {
      print_error(specs.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    po.listeners = std::move(*specs);
    if (po.listeners.empty()) {
      print_error("no listener: give --listen-inbound and/or --listen-outbound");
      ctx.exit_code = kExitBadInput;
      return;
    }
    auto map = parse_upstream_map(o->upstream_map);
    if (!map.ok()) {
      print_error(map.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    po.upstream_map = std::move(*map);
    RealProcess proc;
    if (Status s = proc.open(o->common, shared->mesh_config().trust_domain); !s.ok()) {
      print_error(s.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    po.seed = proc.seed();
    po.access_log = proc.access_log_sink();
    po.on_quit = proc.quit_hook();
    real::PodProxy proxy(proc.loop(), shared, *pod, proc.ca(), po);
    if (Status s = proxy.start(); !s.ok()) {
      print_error(s.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!o->common.certs_dir.empty()) {
      if (Status s = proxy.write_certs(o->common.certs_dir); !s.ok()) {
        print_error(s.message());
        ctx.exit_code = kExitBadInput;
        return;
      }
      print_wrote(o->common.certs_dir, "cert-chain.pem key.pem root-cert.pem of " + proxy.spiffe_id());
    }
    std::vector<real::PodProxy*> proxies{&proxy};
    ctx.exit_code = proc.serve(proxies, describe_listeners(proxy, po.listeners));
  });
}

}  // namespace meshsim::cli
