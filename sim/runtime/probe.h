// A probe: one connection (and one request) from a workload — through its
// sidecar when it has one — or from a client outside the mesh, to a host:port,
// run through the full simulation (control plane config, real TLS, virtual
// TCP). The result says what the client application saw, what each sidecar
// matched and did (listener, filter chain, route, cluster, response flags),
// and what crossed the wire between the pods (TLS or not, ALPN, SNI,
// identities). docs/cli/probe.md describes the fields.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/access_log.h"
#include "proxy/base/result.h"
#include "sim/net/capture_session.h"

namespace meshsim::sim {

class MeshSimulation;

struct ProbeRequest {
  std::string from = "external";  // "NS/WORKLOAD" (a pod, workload or app name) or "external"
  std::string to;                 // "HOST:PORT", "IP:PORT" or "NS/WORKLOAD:PORT"
  std::string protocol = "http";  // http | grpc | tcp | mysql
  // grpc: the unary call (h2c from the client app, like grpc-go) and field 1
  // of its request message.
  std::string grpc_service = "grpc.health.v1.Health", grpc_method = "Check", grpc_message;
  std::string method = "GET";
  std::string path = "/";
  std::string payload = "hello meshsim\n";  // tcp: what the client writes (like `echo … | nc HOST PORT`)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string client_tls = "plaintext";  // what a client without sidecar speaks: plaintext | tls | mtls
  std::string alpn;  // comma list; default by protocol and client_tls
  std::string sni;   // default: the target host
  // "ingress": connect to the ingress gateway Service's external address
  // (its LoadBalancer IP, else a node's NodePort), as `curl --resolve`
  // would; the host of `to` is the Host header and the SNI. "" = resolve `to`.
  std::string via;
  // A client without sidecar speaking TLS: verify the server against this
  // CA (PEM; "" = no verification, like curl -k), present this certificate
  // and key (PEM; a gateway server in MUTUAL mode asks for one).
  std::string ca_pem, cert_pem, key_pem;
  Duration at;       // virtual time the probe starts
  Duration timeout = Duration::seconds(10);
  uint64_t seed = 1;
};

// The enforced RBAC verdict that denied the request or connection, as the
// engine reported it: DENY names the rule that matched; ALLOW lists every
// rule with the clause that missed.
struct ProbeDenial {
  std::string action;       // DENY | ALLOW | CUSTOM
  std::string filter;       // envoy.filters.http.rbac | envoy.filters.network.rbac
  std::string policy;       // "ns/name" of the AuthorizationPolicy, "" for none (ALLOW: nothing matched)
  std::optional<int> rule;  // its rule index
  std::string rbac_policy;  // Envoy's policy name, "none" when no rule matched
  struct Clause {
    std::string policy;  // ns/name
    std::optional<int> rule;
    std::string rbac_policy;
    std::string clause;  // "from[0].source.principals: …"
  };
  std::vector<Clause> rules;
};

struct ProbeSidecarView {
  std::string pod;
  std::string listener, filter_chain, route_config, virtual_host, route, cluster, upstream_host;
  // client: the transport socket the engine chose for the endpoint
  // ("tlsMode-istio", "tlsMode-disabled", "tls", "raw_buffer"; "" when no
  // upstream connection was made) and its TLS mode ("ISTIO_MUTUAL" |
  // "SIMPLE" | "MUTUAL" | "plaintext").
  std::string transport_socket;
  std::string tls_mode;
  // Why istiod built the chain / cluster the engine used; when no filter
  // chain matched, what the listener's chains wanted (the engine's sieve).
  std::string filter_chain_description, cluster_description, filter_chain_miss;
  std::string response_flags;
  // server: ok | no_filter_chain | mtls_error | tls_error | protocol_error |
  // no_virtual_host | no_route | inspecting (closed while the listener
  // filters still waited for the client's first bytes)
  std::string result;
  // server: what the chosen chain did with TLS: "mtls" (terminated, client
  // certificate), "tls" (terminated, none), "passthrough" (TLS bytes proxied
  // untouched), "none" (plaintext); "" when no chain was chosen.
  std::string tls_termination;
  std::string transport_protocol;  // what the listener filters detected: tls | raw_buffer
  std::string details;         // response code details / termination details
  std::string transport_failure;
  int response_code = 0;
  std::vector<std::string> mirrored_to;  // client: mirror clusters a copy of the request went to
  // server: what each RBAC filter decided (the engine's own verdicts), in
  // chain order; the enforced one that denied is the probe's denied_by.
  std::vector<proxy::RbacVerdict> rbac;
  std::optional<ProbeDenial> denied_by;  // server: the enforced verdict that denied, if any
  std::string request_auth;  // server: what jwt_authn decided ("" when it did not run)
};

struct ProbeWireView {
  bool observed = false;  // a pod-to-pod connection was seen
  bool tls = false;
  bool mtls = false;
  std::vector<std::string> alpn;  // offered in the ClientHello
  std::string negotiated_alpn;
  std::string sni;
  std::string client_identity;
  std::string server_identity;
  std::string tls_version;
  std::string first_bytes_hex;  // the first up to 16 bytes the client side sent
  std::string from, to;         // addresses on the wire
};

struct ProbeResult {
  std::string outcome;  // ok | refused | reset | timeout | tls_error | http_error | denied | dns_error
  int http_status = 0;
  // grpc: the call's status as the client saw it (grpc-status, or grpc-go's
  // code for a transport failure) and its name; -1 when not a gRPC probe.
  int grpc_status = -1;
  std::string grpc_status_name;
  std::string grpc_message;
  std::string client_error;
  double elapsed_ms = 0;
  std::string response_body;
  // The response headers the client received, in order (HTTP only).
  std::vector<std::pair<std::string, std::string>> response_headers;
  std::optional<ProbeSidecarView> client_sidecar;
  // The gateway the request went through (its listener, route, cluster), as
  // its access log says; a server-side view (result, TLS termination).
  std::optional<ProbeSidecarView> gateway;
  std::optional<ProbeSidecarView> server_sidecar;
  // Ambient: what the ztunnels decided for this request's connections
  // (ZtunnelObservation), in order: "ztunnel-6974g (node-1) outbound HBONE …".
  std::vector<std::string> ztunnel;
  ProbeWireView wire;
  std::string from_description, to_description;
  std::string fingerprint;
  uint64_t events = 0;
  struct Output {
    std::string path;
    std::string what;  // "12 packets, wire", "4 lines, TLS key log"
  };
  std::vector<Output> outputs;  // files run_probe's captures wrote
  // The coverage report of the mesh (mesh/coverage.h): what this answer does
  // not account for, one line each.
  std::vector<std::string> not_modelled;
};

// Runs the probe; errors are bad input (unknown workload, malformed target).
// `capture` (optional) writes the probe's packets like `meshsim run --pcap`.
Result<ProbeResult> run_probe(std::shared_ptr<const mesh::World> world, const ProbeRequest& request,
                              const CaptureOptions* capture = nullptr);

// Runs the probe on a simulation that is already built (tests use this to
// change server apps, agents or configuration first, or to probe one
// simulation several times). The probe starts at max(request.at, now) and the
// simulation is left at the time the probe's connections have settled; only
// what this probe caused is reported. `request.seed` is ignored (the
// simulation has its seed).
Result<ProbeResult> probe_on(MeshSimulation& sim, const ProbeRequest& request);

// `probe --count N`: N probes one after the other on one simulation (each
// starts when the previous one has settled), and where they went as the
// client sidecar's access log said: the upstream host, its pod and locality,
// and the outcomes. The per-probe results are kept in order.
struct ProbeDistribution {
  uint32_t count = 0;
  std::map<std::string, uint32_t> outcomes;     // "ok" → n
  std::map<std::string, uint32_t> endpoints;    // "10.244.1.2:8080 (backend-z2-…)" → n ("-" = no upstream)
  std::map<std::string, uint32_t> localities;   // "r1/z2" → n
  std::vector<ProbeResult> probes;
};
Result<ProbeDistribution> run_probe_count(std::shared_ptr<const mesh::World> world, const ProbeRequest& request,
                                          uint32_t count);
std::string probe_distribution_text(const ProbeDistribution& d);
std::string probe_distribution_json(const ProbeDistribution& d);

std::string probe_result_json(const ProbeResult& r);
std::string probe_result_text(const ProbeResult& r);

// "NS/NAME" or "NAME" → a pod (exact pod, then workload, then app label); nullptr if none.
const mesh::WorldPod* find_pod_ref(const mesh::World& w, const std::string& ref);

// --pcap-pod accepts what --from does: "NS/WORKLOAD" or "NS/APP" is
// rewritten to its first pod (the file name stays "<NS>_<WORKLOAD>.pcap"
// unless given). Entries that name no pod are left for CaptureSession to
// report.
CaptureOptions resolve_pod_captures(CaptureOptions o, const mesh::World& w);

}  // namespace meshsim::sim
