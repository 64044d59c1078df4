// `meshsim probe` — one connection (and one request) through the full
// simulation: the client's sidecar (if any), real TLS on the virtual wire, the
// server's sidecar, the server application. See docs/cli/probe.md.
#include <fstream>
#include <iterator>
#include <tuple>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>

#include "cli/capture_flags.h"
#include "cli/mesh_input.h"
#include "cli/verb.h"
#include "proxy/base/ip.h"
#include "sim/runtime/probe.h"

namespace meshsim::cli {

namespace {
struct ProbeOptions {
  MeshInput input;
  sim::ProbeRequest req;
  std::vector<std::string> headers;
  std::string at = "0s";
  std::string timeout = "10s";
  std::string output = "text";
  std::string expect;
  uint32_t count = 1;
  std::string grpc_method = "grpc.health.v1.Health/Check";
  std::string cacert, cert, key;  // files
  sim::CaptureOptions capture;
};

// The Service port --to HOST:PORT names (the client's DNS search path), or nullptr.
const mesh::ServicePortInfo* target_service_port(const mesh::World& w, const mesh::WorldPod* client,
                                                 const std::string& to) {
  size_t colon = to.rfind(':');
  if (colon == std::string::npos || colon == 0) return nullptr;
  std::string host = to.substr(0, colon);
  unsigned long port = std::strtoul(to.c_str() + colon + 1, nullptr, 10);
  if (host.find('/') != std::string::npos || parse_ipv4(host).ok() || port == 0 || port > 65535) return nullptr;
  const std::string ns = client ? client->namespace_ : "default";
  const std::string domain = w.mesh_config().cluster_domain;
  for (const std::string& candidate : {host + "." + ns + ".svc." + domain, host + ".svc." + domain, host + "." + domain, host}) {
    if (const mesh::WorldService* svc = w.service_by_hostname(candidate)) return svc->port(static_cast<uint32_t>(port));
  }
  return nullptr;
}
// --to HOST:PORT naming a Service that does not expose PORT: say which ports
// it does expose. The probe still runs — a sidecar sends such a connection to
// PassthroughCluster (the original destination), which is what Istio does.
void warn_about_unexposed_port(const mesh::World& w, const mesh::WorldPod* client, const std::string& to) {
  size_t colon = to.rfind(':');
  if (colon == std::string::npos || colon == 0) return;
  std::string host = to.substr(0, colon);
  unsigned long port = std::strtoul(to.c_str() + colon + 1, nullptr, 10);
  if (host.find('/') != std::string::npos || parse_ipv4(host).ok() || port == 0 || port > 65535) return;
  const std::string ns = client ? client->namespace_ : "default";
  const std::string domain = w.mesh_config().cluster_domain;
  // The client's resolv.conf search path: <ns>.svc.<domain>, svc.<domain>, <domain>.
  const mesh::WorldService* svc = nullptr;
  for (const std::string& candidate : {host + "." + ns + ".svc." + domain, host + ".svc." + domain, host + "." + domain, host}) {
    if ((svc = w.service_by_hostname(candidate))) break;
  }
  if (!svc || svc->port(static_cast<uint32_t>(port))) return;
  std::string ports;
  for (const auto& p : svc->ports) ports += (ports.empty() ? "" : ", ") + std::to_string(p.port) + (p.name.empty() ? "" : "/" + p.name);
  print_warning("--to " + to + ": service " + svc->hostname + " does not expose port " + std::to_string(port) +
                " (it exposes " + (ports.empty() ? std::string("no ports") : ports) +
                "); probing anyway: a client sidecar sends such a connection to PassthroughCluster, straight to the "
                "address it resolved");
}

}  // namespace

void register_probe(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<ProbeOptions>();
  CLI::App* sub = app.add_subcommand(
      "probe",
      "Send one connection (and one request) from a workload, or from a client outside the mesh,\n"
      "through the full simulation, and show what the client saw, what each sidecar matched\n"
      "(listener, filter chain, route, cluster, response flags) and what crossed the wire (TLS,\n"
      "ALPN, SNI, identities).\n\n"
      "Examples:\n"
      "  meshsim probe --mesh bookinfo/ --from default/productpage --to reviews:9080 --path /reviews/0\n"
      "  meshsim probe --mesh k8s/ --from legacy/sleep --to httpbin.foo:8000 -o json\n"
      "  meshsim probe --mesh k8s/ --from external --to default/mysqldb:3306 --protocol mysql\n"
      "  meshsim probe --mesh k8s/ --from default/sleep --to echo:9090 --grpc-method proto.EchoTestService/Echo\n"
      "  meshsim probe --mesh k8s/ --from external --to 10.244.1.7:8080 --client-tls mtls\n\n"
      "Exit codes: 0 the probe ran (whatever its outcome; use --expect to check it),\n"
      "1 --expect did not match, 2 bad input.");
  sub->add_option("--mesh", o->input.paths, "Manifest files or directories (repeatable)")->required();
  sub->add_option("--mesh-config", o->input.mesh_config_file, "MeshConfig file or IstioOperator");
  sub->add_option("--from", o->req.from, "NS/WORKLOAD (pod, workload or app name) or 'external'")
      ->capture_default_str();
  sub->add_option("--to", o->req.to, "HOST:PORT, IP:PORT or NS/WORKLOAD:PORT (a pod's IP, no Service)")->required();
  auto* protocol = sub->add_option("--protocol", o->req.protocol,
                                   "What the client speaks: http, grpc (h2c, like grpc-go), tcp or mysql\n"
                                   "(default: grpc when --to names a Service port declared grpc, else http)")
                       ->check(CLI::IsMember({"http", "grpc", "tcp", "mysql"}))
                       ->capture_default_str();
  sub->add_option("--grpc-method", o->grpc_method, "grpc: the unary call SERVICE/METHOD")->capture_default_str();
  sub->add_option("--grpc-message", o->req.grpc_message,
                  "grpc: field 1 of the request message (EchoRequest.message, HealthCheckRequest.service)");
  sub->add_option("--method", o->req.method, "HTTP method")->capture_default_str();
  sub->add_option("--path", o->req.path, "HTTP path")->capture_default_str();
  sub->add_option("-H,--header", o->headers, "HTTP header 'Name: value' (repeatable)");
  sub->add_option("--payload", o->req.payload,
                  "tcp: what the client writes, like `echo … | nc` (\\n for a newline; line-based servers such as "
                  "Istio's tcp-echo answer whole lines only)")
      ->capture_default_str();
  sub->add_option("--client-tls", o->req.client_tls,
                  "What a client without a sidecar speaks itself: plaintext, tls, or mtls (a mesh workload\n"
                  "certificate, ALPN istio-http/1.1 for http, istio for tcp)")
      ->check(CLI::IsMember({"plaintext", "tls", "mtls"}))
      ->capture_default_str();
  sub->add_option("--alpn", o->req.alpn, "ALPN the client's own TLS offers (comma list)");
  sub->add_option("--sni", o->req.sni, "SNI the client's own TLS sends (default: the target host)");
  sub->add_option("--via", o->req.via,
                  "ingress: connect to the ingress gateway Service's external address (LoadBalancer IP, else a\n"
                  "NodePort), the host of --to being the Host header and SNI (curl --resolve); NS/NAME: that\n"
                  "gateway Service instead (e.g. default/bookinfo-gateway-istio, a Gateway API gateway)")
      ->check([](const std::string& v) {
        return v == "ingress" || v.find('/') != std::string::npos ? std::string()
                                                                  : std::string("expected ingress or NS/NAME");
      });
  sub->add_option("--cacert", o->cacert, "--client-tls tls: verify the server's certificate against this CA (PEM file)");
  sub->add_option("--cert", o->cert, "--client-tls tls: present this client certificate (PEM file; needs --key)");
  sub->add_option("--key", o->key, "--client-tls tls: the private key of --cert (PEM file)");
  sub->add_option("--at", o->at, "Virtual time at which the probe starts (e.g. 25h, after certificates expire)")
      ->capture_default_str();
  sub->add_option("--timeout", o->timeout, "Client timeout (curl --max-time; the mysql client's connect timeout)")
      ->capture_default_str();
  sub->add_option("--count", o->count,
                  "Send N probes one after the other on one simulation and show the distribution of\n"
                  "endpoints, localities and outcomes (the client sidecar's own choices)")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  sub->add_option("--seed", o->req.seed, "Seed of every random stream")->capture_default_str();
  sub->add_option("-o,--output", o->output, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  sub->add_option("--expect", o->expect, "Exit 1 unless the outcome is this (ok, refused, reset, timeout, tls_error, http_error, denied, dns_error)")
      ->check(CLI::IsMember({"ok", "refused", "reset", "timeout", "tls_error", "http_error", "denied", "dns_error"}));
  add_inject_namespace_flag(sub, o->input.inject_namespaces);
  add_jwks_flag(sub, o->input.jwks);
  sub->add_flag("-v,--verbose", o->input.verbose,
                "Also print every warning and note about the manifests (those that change the answer, such as\n"
                "pods without a sidecar, are always printed)");
  add_capture_flags(sub, o->capture);
  sub->callback([o, &ctx, protocol] {
    auto at = parse_duration(o->at);
    auto timeout = parse_duration(o->timeout);
    if (!at.ok() || at->ns() < 0) {
      print_error("--at: " + (at.ok() ? std::string("must not be negative") : at.message()));
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!timeout.ok() || timeout->ns() <= 0) {
      print_error("--timeout: " + (timeout.ok() ? std::string("must be positive") : timeout.message()));
      ctx.exit_code = kExitBadInput;
      return;
    }
    o->req.at = *at;
    o->req.timeout = *timeout;
    for (auto [flag, file, out] : {std::tuple{"--cacert", &o->cacert, &o->req.ca_pem},
                                   std::tuple{"--cert", &o->cert, &o->req.cert_pem},
                                   std::tuple{"--key", &o->key, &o->req.key_pem}}) {
      if (file->empty()) continue;
      std::ifstream f(*file);
      if (!f) {
        print_error(std::string(flag) + ": cannot read " + *file);
        ctx.exit_code = kExitBadInput;
        return;
      }
      out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    if (o->cert.empty() != o->key.empty()) {
      print_error("--cert and --key go together");
      ctx.exit_code = kExitBadInput;
      return;
    }
    // --payload 'world\n' as typed in a shell: backslash escapes like echo -e.
    std::string payload;
    for (size_t i = 0; i < o->req.payload.size(); ++i) {
      char c = o->req.payload[i];
      if (c == '\\' && i + 1 < o->req.payload.size()) {
        char n = o->req.payload[++i];
        payload += n == 'n' ? '\n' : n == 'r' ? '\r' : n == 't' ? '\t' : n;
      } else {
        payload += c;
      }
    }
    o->req.payload = payload;
    for (const std::string& h : o->headers) {
      size_t colon = h.find(':');
      if (colon == std::string::npos || colon == 0) {
        print_error("-H: expected 'Name: value', got \"" + h + "\"");
        ctx.exit_code = kExitBadInput;
        return;
      }
      std::string v = h.substr(colon + 1);
      v.erase(0, v.find_first_not_of(' '));
      o->req.headers.emplace_back(h.substr(0, colon), v);
    }
    if (Status st = sim::validate_capture_options(o->capture); !st.ok()) {
      print_error(st.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    auto world = load_world(o->input);
    if (!world) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    const mesh::WorldPod* client = nullptr;
    if (o->req.from != "external") {
      client = resolve_pod(*world, o->req.from, "--from");
      if (!client) {
        ctx.exit_code = kExitBadInput;
        return;
      }
    }
    warn_about_unexposed_port(*world, client, o->req.to);
    // A port declared grpc is probed with a gRPC call unless --protocol says otherwise.
    if (protocol->count() == 0) {
      const mesh::ServicePortInfo* sp = target_service_port(*world, client, o->req.to);
      if (sp && sp->protocol == mesh::Protocol::kGrpc) o->req.protocol = "grpc";
    }
    if (o->req.protocol == "grpc") {
      std::string m = o->grpc_method;
      if (!m.empty() && m.front() == '/') m.erase(0, 1);
      size_t slash = m.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == m.size()) {
        print_error("--grpc-method: expected SERVICE/METHOD (e.g. grpc.health.v1.Health/Check), got \"" +
                    o->grpc_method + "\"");
        ctx.exit_code = kExitBadInput;
        return;
      }
      o->req.grpc_service = m.substr(0, slash);
      o->req.grpc_method = m.substr(slash + 1);
    }
    auto w = std::make_shared<const mesh::World>(std::move(*world));
    if (o->count > 1) {
      if (o->capture.any()) {
        print_error("--count: captures are written for a single probe only");
        ctx.exit_code = kExitBadInput;
        return;
      }
      auto d = sim::run_probe_count(w, o->req, o->count);
      if (!d.ok()) {
        print_error(d.message());
        ctx.exit_code = kExitBadInput;
        return;
      }
      std::string out = o->output == "json" ? sim::probe_distribution_json(*d) : sim::probe_distribution_text(*d);
      std::fwrite(out.data(), 1, out.size(), stdout);
      bool all = !o->expect.empty() && d->outcomes.size() == 1 && d->outcomes.count(o->expect);
      ctx.exit_code = (!o->expect.empty() && !all) ? kExitCheckFailed : kExitOk;
      return;
    }
    auto r = sim::run_probe(w, o->req, &o->capture);
    if (!r.ok()) {
      print_error(r.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    std::string out = o->output == "json" ? sim::probe_result_json(*r) : sim::probe_result_text(*r);
    std::fwrite(out.data(), 1, out.size(), stdout);
    for (const auto& f : r->outputs) print_wrote(f.path, f.what);
    ctx.exit_code = (!o->expect.empty() && o->expect != r->outcome) ? kExitCheckFailed : kExitOk;
  });
}

}  // namespace meshsim::cli
