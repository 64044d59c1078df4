// `meshsim up [SCENARIO] [--mesh PATH…]` — a whole small mesh on loopback,
// every sidecar a real-socket copy of the engine, every app a real local
// server, so real clients (curl, mariadb, openssl s_client) can be pointed at it.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "cli/mesh_input.h"
#include "cli/real_flags.h"
#include "cli/verb.h"
#include "mesh/world.h"
#include "proxy/asio/event_loop.h"
#include "real/mesh_up.h"
#include "real/pod_network.h"
#include "real/pod_proxy.h"
#include "sim/scenario/scenario.h"

namespace meshsim::embedded {
extern const char* const kDefaultScenario;
}

namespace meshsim::cli {

namespace {
struct UpVerbOptions {
  std::string scenario;
  MeshInput input;
  std::vector<std::string> apps;
  bool no_mariadb = false;
  std::string work_dir;
  bool netns = false;
  std::string netns_prefix = "ms";
  RealCommonOptions common;
};

std::optional<mesh::World> world_from_scenario(const UpVerbOptions& o) {
  sim::ScenarioLoadOptions lo;
  lo.inject_namespaces = o.input.inject_namespaces;
  sim::ScenarioLoad load = o.scenario == "default"
                               ? sim::load_scenario_text(embedded::kDefaultScenario,
                                                         "scenarios/bookinfo-migration.yaml (bundled)", ".", lo)
                               : sim::load_scenario(o.scenario, lo);
  mesh::sort_diagnostics(load.diagnostics);
  std::vector<mesh::Diagnostic> warnings;
  for (const auto& d : load.diagnostics) {
    if (d.severity == mesh::Severity::kError) std::fprintf(stderr, "%s\n", d.format().c_str());
    else if (d.severity == mesh::Severity::kWarning) warnings.push_back(d);
  }
  print_warnings(warnings, o.input.verbose);
  if (!load.scenario) return std::nullopt;
  std::vector<mesh::Diagnostic> diags;
  return mesh::build_world(load.scenario->resources, load.scenario->mesh_config, diags);
}
// --netns: one line per pod (its namespace, sidecar or not), one per Service
// (ClusterIP), and how to run a client inside a pod.
void print_namespaces(const real::MeshUp& up) {
  std::map<std::string, std::string> pods;  // from → netns
  std::map<std::string, std::pair<std::string, std::string>> services;  // name:port → address, protocol
  for (const real::UpEntry& e : up.entries()) {
    if (e.kind != "pod") continue;
    pods.emplace(e.from, e.netns);
    services.emplace(e.service, std::make_pair(to_string(e.address), e.protocol));
  }
  std::printf("%-50s %s\n", "POD", "NETWORK NAMESPACE");
  for (const auto& [pod, ns] : pods) std::printf("%-50s %s\n", pod.c_str(), ns.c_str());
  std::printf("\n%-40s %-22s %s\n", "SERVICE", "CLUSTER-IP", "PROTOCOL");
  for (const auto& [svc, v] : services) std::printf("%-40s %-22s %s\n", svc.c_str(), v.first.c_str(), v.second.c_str());
  if (!pods.empty() && !services.empty()) {
    // An example with a Service the example pod is not itself behind.
    const auto& [pod, ns] = *pods.begin();
    std::string svc = services.begin()->first;
    for (const auto& [name, v] : services)
      if (v.second == "HTTP" && pod.find("/" + name.substr(0, name.find('.'))) == std::string::npos) {
        svc = name;
        break;
      }
    std::printf("\nclients run inside a pod: ip netns exec %s curl http://%s/\n"
                "capture rules of a pod:   ip netns exec %s iptables-save -t nat\n",
                ns.c_str(), svc.c_str(), ns.c_str());
  }
}

}  // namespace

void register_up(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<UpVerbOptions>();
  CLI::App* sub = app.add_subcommand(
      "up",
      "Bring a small mesh up on loopback with real sockets: one real-socket sidecar (meshsim's\n"
      "engine, the configuration istiod would push) per injected pod, and each pod's apps as real\n"
      "local servers — an HTTP echo app, or a real MariaDB for MySQL ports when mariadbd is\n"
      "installed (or what --app names). Then point real clients at it; the table printed at start\n"
      "says where:\n"
      "  outbound  a client inside pod FROM: through FROM's sidecar (mTLS to injected servers)\n"
      "  direct    a client without a sidecar: straight to the server pod's inbound listener,\n"
      "            as a pod outside the mesh arrives after the server's iptables capture\n"
      "  app       the app itself, bypassing every sidecar\n\n"
      "SCENARIO is a scenario file (its mesh: is used; apps, timeline and expectations are not run)\n"
      "or 'default' for the bundled Bookinfo + MySQL scenario; or give manifests with --mesh.\n\n"
      "Examples:\n"
      "  meshsim up default --ports-file up.json     # then, from the table:\n"
      "  mariadb -h 127.0.0.1 -P <direct mysqldb port> -uroot --connect-timeout 5 -e 'select 1'\n"
      "      # ERROR 2013 (HY000): Lost connection … 'handshake: reading initial communication packet'\n"
      "  curl http://127.0.0.1:<outbound port, from productpage to reviews>/reviews/0\n"
      "  meshsim up --mesh samples/httpbin/httpbin.yaml --mesh samples/curl/curl.yaml --inject-namespace default\n\n"
      "With --netns (root; iproute2 and iptables) every pod gets its own network namespace, wired as a\n"
      "CNI plugin does, with the iptables rules istio-init applies in injected pods (see\n"
      "`meshsim proxy-config iptables POD`) and kube-proxy's ClusterIP rules on the node, and each\n"
      "sidecar runs in its pod's namespace as uid 1337 behind real REDIRECT capture. Run clients inside a\n"
      "pod, as `kubectl exec` would, by Service name:\n"
      "  meshsim up default --netns &\n"
      "  ip netns exec ms-default-productpage-v1-<hash> curl -s http://reviews:9080/reviews/0\n"
      "  ip netns exec ms-legacy-mysql-client-<hash> mariadb -h mysqldb.default -uroot -e 'select 1'  # ERROR 2013\n"
      "  ip netns exec ms-default-productpage-v1-<hash> iptables-save -t nat");
  sub->add_option("scenario", o->scenario, "Scenario file, or 'default' (the bundled Bookinfo + MySQL scenario)");
  sub->add_option("--mesh", o->input.paths, "Manifest files or directories (instead of a scenario; repeatable)");
  sub->add_option("--mesh-config", o->input.mesh_config_file, "MeshConfig file or IstioOperator (with --mesh)");
  add_inject_namespace_flag(sub, o->input.inject_namespaces);
  sub->add_option("--app", o->apps,
                  "NS/POD:PORT=ADDR:PORT: a real server already running for that container port (repeatable;\n"
                  "POD may be a workload name)");
  sub->add_flag("--no-mariadb", o->no_mariadb, "Do not start MariaDB for MySQL ports (they get no app unless --app)");
  sub->add_flag("--netns", o->netns,
                "Each pod in its own network namespace with istio-init's iptables capture (needs root, ip, iptables)");
  sub->add_option("--netns-prefix", o->netns_prefix,
                  "Prefix of the namespaces' names (default ms: ms-node, ms-<namespace>-<pod>)");
  sub->add_option("--work-dir", o->work_dir, "Where MariaDB keeps its data and logs (default: a new /tmp/meshsim-up-*)");
  add_real_common_flags(sub, o->common);
  o->common.admin = "127.0.0.1:0";
  sub->add_flag("-v,--verbose", o->input.verbose, "Print every loader warning");

  sub->callback([o, &ctx] {
    if (o->scenario.empty() == o->input.paths.empty()) {
      print_error("give a SCENARIO (or 'default') or --mesh manifests, not both and not neither");
      ctx.exit_code = kExitBadInput;
      return;
    }
    std::optional<mesh::World> world = o->scenario.empty() ? load_world(o->input) : world_from_scenario(*o);
    if (!world) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    real::UpOptions uo;
    for (const std::string& a : o->apps) {
      size_t eq = a.find('=');
      auto addr = eq == std::string::npos ? Result<SocketAddress>(Error{"expected NS/POD:PORT=ADDR:PORT"})
                                          : parse_address(a.substr(eq + 1), false);
      if (!addr.ok() || a.find('/') == std::string::npos || a.find(':') > eq) {
        print_error("--app " + a + ": " + (addr.ok() ? std::string("expected NS/POD:PORT=ADDR:PORT") : addr.message()));
        ctx.exit_code = kExitBadInput;
        return;
      }
      uo.apps[a.substr(0, eq)] = *addr;
    }
    uo.mariadb = !o->no_mariadb;
    if (o->netns) {
      std::string why = real::PodNetwork::unavailable_reason();
      if (!why.empty()) {
        print_error("--netns: " + why);
        ctx.exit_code = kExitBadInput;
        return;
      }
      uo.netns = true;
      uo.netns_prefix = o->netns_prefix;
    }
    uo.work_dir = o->work_dir;
    if (uo.work_dir.empty()) {
      char tmpl[] = "/tmp/meshsim-up-XXXXXX";
      if (!::mkdtemp(tmpl)) {
        print_error("cannot create a work directory under /tmp");
        ctx.exit_code = kExitBadInput;
        return;
      }
      uo.work_dir = tmpl;
    }
    auto shared = std::make_shared<const mesh::World>(std::move(*world));
    RealProcess proc;
    if (Status s = proc.open(o->common, shared->mesh_config().trust_domain); !s.ok()) {
      print_error(s.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    uo.seed = proc.seed();
    uo.access_log = proc.access_log_sink();
    uo.on_quit = proc.quit_hook();
    real::MeshUp up(proc.loop(), shared, proc.ca(), uo);
    if (Status s = up.start(); !s.ok()) {
      print_error(s.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!o->common.certs_dir.empty()) {
      for (real::PodProxy* p : up.proxies()) {
        std::string dir = (std::filesystem::path(o->common.certs_dir) / (p->name().substr(0, p->name().find('/')) + "_" +
                                                                         p->name().substr(p->name().find('/') + 1)))
                              .string();
        if (Status s = p->write_certs(dir); !s.ok()) {
          print_error(s.message());
          ctx.exit_code = kExitBadInput;
          return;
        }
      }
      print_wrote(o->common.certs_dir, "one NS_POD/ directory of cert-chain.pem key.pem root-cert.pem per sidecar");
    }
    if (up.network()) {
      print_namespaces(up);
    } else {
      std::printf("%-9s %-40s %-48s %-22s %s\n", "ENTRY", "FROM/TARGET", "SERVICE", "ADDRESS", "PROTOCOL");
    }
    for (const real::UpEntry& e : up.entries()) {
      if (e.kind == "pod") continue;
      std::printf("%-9s %-40s %-48s %-22s %s\n", e.kind.c_str(), (e.kind == "outbound" ? e.from : e.target).c_str(),
                  e.service.empty() ? "-" : e.service.c_str(), to_string(e.address).c_str(),
                  e.protocol.empty() ? "-" : e.protocol.c_str());
    }
    std::fflush(stdout);
    ctx.exit_code = proc.serve(up.proxies(), {}, up.entries_json());
  });
}

}  // namespace meshsim::cli
