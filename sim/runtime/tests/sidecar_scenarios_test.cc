// Full-simulation scenarios from Istio's documentation and FAQ (security
// section): server-first protocols and protocolDetectionTimeout,
// excludeInboundPorts and its DestinationRule fix, DestinationRule TLS modes
// (ISTIO_MUTUAL towards a pod without sidecar, MUTUAL with user certificates
// vs ISTIO_MUTUAL, SIMPLE origination), PeerAuthentication scopes that make a
// client send plaintext, port-level mTLS on ports no Service declares,
// workload certificate lifetime and rotation, and configuration pushes.
//
// Each expectation names its source (ISTIO_BEHAVIOR.md sections, istio.io
// pages, Istio's simulation tests, Envoy source); none is copied from what
// meshsim printed.
#include <gtest/gtest.h>

#include "proxy/access_log.h"
#include "sim/runtime/mesh_simulation.h"
#include "sim/runtime/probe.h"
#include "sim/runtime/tests/sim_test_util.h"

namespace meshsim::sim {
namespace {

using testing::UserPki;
using testing::world_from;

constexpr const char* kNamespaces = R"(
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sleep, namespace: foo}
---
apiVersion: v1
kind: Pod
metadata: {name: sleep, namespace: foo, labels: {app: sleep}}
spec:
  serviceAccountName: sleep
  containers: [{name: sleep, image: curlimages/curl}]
---
apiVersion: v1
kind: Pod
metadata: {name: sleep, namespace: legacy, labels: {app: sleep}}
spec:
  containers: [{name: sleep, image: curlimages/curl}]
)";

// A pod `<ns>/<name>` (service account <name>) behind Service <name> with
// the given ports ("name:port[:targetPort]").
std::string workload(const std::string& ns, const std::string& name, const std::vector<std::string>& ports,
                     const std::string& annotations = "", const std::string& image = "istio/app") {
  std::string container_ports, svc_ports;
  for (const std::string& p : ports) {
    size_t c1 = p.find(':');
    size_t c2 = p.find(':', c1 + 1);
    std::string pname = p.substr(0, c1);
    std::string port = p.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
    std::string target = c2 == std::string::npos ? port : p.substr(c2 + 1);
    container_ports += "{containerPort: " + target + "}, ";
    svc_ports += "  - {name: " + pname + ", port: " + port + ", targetPort: " + target + "}\n";
  }
  container_ports.resize(container_ports.size() - 2);
  return "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
         "\n  labels: {app: " + name + "}\n" + (annotations.empty() ? "" : "  annotations: " + annotations + "\n") +
         "spec:\n  serviceAccountName: " + name + "\n  containers: [{name: app, image: " + image +
         ", ports: [" + container_ports + "]}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec:\n  selector: {app: " + name + "}\n  ports:\n" + svc_ports;
}

std::string mesh_config(const std::string& mesh_yaml) {
  return "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n" +
         mesh_yaml;
}

std::string peer_authentication(const std::string& ns, const std::string& name, const std::string& spec) {
  return "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec: " + spec + "\n";
}

std::string destination_rule(const std::string& ns, const std::string& name, const std::string& spec) {
  return "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec: " + spec + "\n";
}

struct Sim {
  explicit Sim(const std::string& yaml, MeshSimulationOptions o = {}) {
    o.kubelet_probes = false;
    ms = std::make_unique<MeshSimulation>(world_from(std::string(kNamespaces) + yaml), o);
    Status st = ms->build();
    EXPECT_TRUE(st.ok()) << st.message();
  }
  ProbeResult probe(const std::string& from, const std::string& to, const std::string& protocol = "http",
                    Duration at = Duration::zero(), Duration timeout = Duration::seconds(10)) {
    ProbeRequest r;
    r.from = from;
    r.to = to;
    r.protocol = protocol;
    r.at = at;
    r.timeout = timeout;
    auto res = probe_on(*ms, r);
    EXPECT_TRUE(res.ok()) << res.message();
    return res.ok() ? *res : ProbeResult{};
  }
  std::unique_ptr<MeshSimulation> ms;
};

const std::string kMysqlLost =
    "ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet', system error: 0";

// ------------------------------------------------- server-first protocols --

// ISTIO_BEHAVIOR.md §3.5 "Server-first outcome matrix (port declared TCP or
// well-known)", with protocolDetectionTimeout 0 (Istio's default since 1.8).
TEST(ServerFirst, OutcomeMatrixWithoutDetectionTimeout) {
  struct Row {
    const char* mode;
    const char* client;
    const char* outcome;
    const char* server_result;
  };
  const Row rows[] = {
      // PERMISSIVE: the TLS inspector waits for bytes a MySQL client never sends.
      {"PERMISSIVE", "legacy/sleep", "timeout", "inspecting"},
      {"PERMISSIVE", "foo/sleep", "ok", "ok"},  // the client sidecar starts mTLS (client-first ClientHello)
      // STRICT: the inspector waits the same way; plaintext would be refused anyway.
      {"STRICT", "legacy/sleep", "timeout", "inspecting"},
      {"STRICT", "foo/sleep", "ok", "ok"},
      // DISABLE: only a raw_buffer chain, no inspector on 3306: proxied at once.
      {"DISABLE", "legacy/sleep", "ok", "ok"},
      {"DISABLE", "foo/sleep", "ok", "ok"},  // the endpoint checker sees DISABLE: plaintext
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(row.mode) + " from " + row.client);
    Sim s(workload("foo", "mysqldb", {"mysql:3306"}) +
          peer_authentication("foo", "default", std::string("{mtls: {mode: ") + row.mode + "}}"));
    ProbeResult r = s.probe(row.client, "mysqldb.foo:3306", "mysql");
    EXPECT_EQ(r.outcome, row.outcome) << probe_result_text(r);
    if (std::string(row.outcome) == "timeout") {
      EXPECT_EQ(r.client_error, kMysqlLost);
    }
    if (std::string(row.outcome) == "ok") {
      EXPECT_EQ(r.client_error, "");
    }
    ASSERT_TRUE(r.server_sidecar);
    EXPECT_EQ(r.server_sidecar->result, row.server_result);
    // Without a detection timeout nothing delays a working connection.
    if (std::string(row.outcome) == "ok") {
      EXPECT_LT(r.elapsed_ms, 50.0);
    }
  }
}

// §3.5: "If protocolDetectionTimeout > 0: after the timeout,
// continue_on_listener_filters_timeout lets the connection fall into the
// raw_buffer TCP chain ⇒ works, but every new connection pays the timeout."
TEST(ServerFirst, DetectionTimeoutMakesPermissiveWorkButDelaysEveryConnection) {
  Sim s(mesh_config("    protocolDetectionTimeout: 2s\n") + workload("foo", "mysqldb", {"mysql:3306"}));
  const proxy::ProxyConfig& cfg = *s.ms->config_of("foo", "mysqldb");
  EXPECT_EQ(cfg.find_listener("virtualInbound")->listener_filters_timeout, Duration::seconds(2));
  for (int i = 0; i < 2; ++i) {  // every connection, not only the first
    ProbeResult r = s.probe("legacy/sleep", "mysqldb.foo:3306", "mysql");
    EXPECT_EQ(r.outcome, "ok") << probe_result_text(r);
    EXPECT_GE(r.elapsed_ms, 2000.0);
    EXPECT_LT(r.elapsed_ms, 2100.0);
    ASSERT_TRUE(r.server_sidecar);
    EXPECT_EQ(r.server_sidecar->filter_chain, "0.0.0.0_3306");
    EXPECT_EQ(r.server_sidecar->transport_protocol, "raw_buffer");
    EXPECT_EQ(r.server_sidecar->tls_termination, "none");
  }
  EXPECT_EQ(s.ms->sidecar("foo", "mysqldb")->stats().listener_filter_timeouts, 2u);
  // A client with a sidecar sends its ClientHello at once: no delay.
  ProbeResult mesh = s.probe("foo/sleep", "mysqldb.foo:3306", "mysql");
  EXPECT_EQ(mesh.outcome, "ok");
  EXPECT_LT(mesh.elapsed_ms, 50.0);
}

// STRICT with a detection timeout: after the timeout the connection is
// raw_buffer, and STRICT has no raw_buffer chain — Envoy closes it. The
// client had sent nothing, so it sees an orderly close while waiting for the
// greeting.
TEST(ServerFirst, DetectionTimeoutUnderStrictClosesPlaintextAfterTheTimeout) {
  Sim s(mesh_config("    protocolDetectionTimeout: 1s\n") + workload("foo", "mysqldb", {"mysql:3306"}) +
        peer_authentication("foo", "default", "{mtls: {mode: STRICT}}"));
  ProbeResult r = s.probe("legacy/sleep", "mysqldb.foo:3306", "mysql");
  EXPECT_EQ(r.outcome, "reset") << probe_result_text(r);
  EXPECT_EQ(r.client_error, kMysqlLost);
  EXPECT_GE(r.elapsed_ms, 1000.0);
  EXPECT_LT(r.elapsed_ms, 1100.0);
  ASSERT_TRUE(r.server_sidecar);
  EXPECT_EQ(r.server_sidecar->result, "no_filter_chain");
}

// §3.5 last row: "DISABLE but port auto (unnamed, not well-known): hangs" —
// the inbound HTTP inspector waits for a plaintext client, and a client with a
// sidecar hangs in its own outbound HTTP sniffing.
TEST(ServerFirst, AutoDetectedPortHangsEvenUnderDisable) {
  MeshSimulationOptions o;
  ServerAppOptions mysql;
  mysql.kind = ServerAppKind::kMysql;
  o.server_overrides["foo/mysqldb:3307"] = mysql;
  Sim s(workload("foo", "mysqldb", {"db:3307"}) + peer_authentication("foo", "default", "{mtls: {mode: DISABLE}}"),
        o);
  ProbeResult plain = s.probe("legacy/sleep", "mysqldb.foo:3307", "mysql");
  EXPECT_EQ(plain.outcome, "timeout") << probe_result_text(plain);
  EXPECT_EQ(plain.client_error, kMysqlLost);
  ASSERT_TRUE(plain.server_sidecar);
  EXPECT_EQ(plain.server_sidecar->result, "inspecting");

  ProbeResult mesh = s.probe("foo/sleep", "mysqldb.foo:3307", "mysql");
  EXPECT_EQ(mesh.outcome, "timeout") << probe_result_text(mesh);
  EXPECT_EQ(mesh.client_error, kMysqlLost);
  // The client sidecar never chose a chain (its outbound listener sniffs), so
  // it never connected to the server at all.
  EXPECT_FALSE(mesh.wire.observed);
  EXPECT_FALSE(mesh.server_sidecar.has_value());
}

// ------------------------------------------------------ excludeInboundPorts --

// istio.io FAQ (security): "Does auto mutual TLS exclude ports set using
// excludeInboundPorts annotation? No. … the client still sends mTLS … to fix,
// set a DestinationRule with tls mode DISABLE for that port."
TEST(ExcludeInboundPorts, ClientSidecarStillSendsMtlsAndTheAppReceivesTlsBytes) {
  std::string server = workload("foo", "httpbin", {"http:8000:8080"},
                                "{traffic.sidecar.istio.io/excludeInboundPorts: \"8080\"}");
  Sim s(server);
  ProbeResult r = s.probe("foo/sleep", "httpbin:8000");
  // The client sidecar originated Istio mTLS (auto mTLS sees a sidecar'd
  // endpoint whose PeerAuthentication is not DISABLE) …
  ASSERT_TRUE(r.client_sidecar);
  EXPECT_EQ(r.client_sidecar->tls_mode, "ISTIO_MUTUAL");
  EXPECT_TRUE(r.wire.tls);
  EXPECT_EQ(r.wire.alpn, (std::vector<std::string>{"istio-http/1.1", "istio", "http/1.1"}));
  // … straight into the application: the port is not redirected to the
  // server's sidecar, which never sees the connection.
  EXPECT_FALSE(r.server_sidecar.has_value());
  EXPECT_EQ(r.wire.to.substr(r.wire.to.rfind(':')), ":8080");
  // The app (an echo server) answers with non-TLS bytes, the client
  // sidecar's handshake fails, and the application gets Envoy's 503.
  EXPECT_EQ(r.outcome, "http_error") << probe_result_text(r);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_NE(r.client_sidecar->response_flags.find("UF"), std::string::npos);
  EXPECT_NE(r.client_sidecar->transport_failure.find("TLS_error"), std::string::npos);
  EXPECT_EQ(r.response_body.rfind("upstream connect error or disconnect/reset before headers. ", 0), 0u)
      << r.response_body;

  // The documented fix: DestinationRule tls DISABLE for that port.
  Sim fixed(server + destination_rule("foo", "httpbin", R"({host: httpbin, trafficPolicy: {portLevelSettings: [{port: {number: 8000}, tls: {mode: DISABLE}}]}})"));
  ProbeResult ok = fixed.probe("foo/sleep", "httpbin:8000");
  EXPECT_EQ(ok.outcome, "ok") << probe_result_text(ok);
  EXPECT_EQ(ok.http_status, 200);
  EXPECT_FALSE(ok.wire.tls);
  ASSERT_TRUE(ok.client_sidecar);
  EXPECT_EQ(ok.client_sidecar->tls_mode, "plaintext");
}

// ------------------------------------------------- DestinationRule modes --

// ISTIO_BEHAVIOR.md §2.2: "DR ISTIO_MUTUAL towards a non-sidecar pod →
// handshake fails → app sees HTTP 503" (istio.io mtls-migration:
// "sleep.foo to httpbin.legacy: 503" in the manual-mTLS setup).
TEST(DestinationRuleTls, IstioMutualTowardsAPodWithoutSidecarGives503WithATlsFailure) {
  std::string legacy = workload("legacy", "httpbin", {"http:8000:8080"});
  Sim plain(legacy);
  ProbeResult auto_mtls = plain.probe("foo/sleep", "httpbin.legacy:8000");
  // Auto mTLS: the endpoint has no sidecar ⇒ plaintext, and it works.
  EXPECT_EQ(auto_mtls.http_status, 200) << probe_result_text(auto_mtls);
  EXPECT_FALSE(auto_mtls.wire.tls);

  Sim s(legacy + destination_rule("foo", "httpbin-legacy", R"({host: httpbin.legacy.svc.cluster.local, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}})"));
  ProbeResult r = s.probe("foo/sleep", "httpbin.legacy:8000");
  EXPECT_EQ(r.outcome, "http_error") << probe_result_text(r);
  EXPECT_EQ(r.http_status, 503);
  ASSERT_TRUE(r.client_sidecar);
  EXPECT_EQ(r.client_sidecar->tls_mode, "ISTIO_MUTUAL");
  EXPECT_NE(r.client_sidecar->response_flags.find("UF"), std::string::npos);
  EXPECT_NE(r.client_sidecar->transport_failure.find("TLS_error"), std::string::npos);
  EXPECT_TRUE(r.wire.tls);
  EXPECT_FALSE(r.server_sidecar.has_value());
}

// §2.2: "Namespace-level PA DISABLE but workload STRICT → cluster built
// without TLS ⇒ client sends plaintext ⇒ fails (fix with DR ISTIO_MUTUAL)".
TEST(PeerAuthenticationScopes, NamespaceDisableWithWorkloadStrictMakesMeshClientsSendPlaintextAndFail) {
  std::string yaml = workload("foo", "httpbin", {"http:8000:8080"}) +
                     peer_authentication("foo", "default", "{mtls: {mode: DISABLE}}") +
                     peer_authentication("foo", "httpbin-strict",
                                         "{selector: {matchLabels: {app: httpbin}}, mtls: {mode: STRICT}}");
  Sim s(yaml);
  ProbeResult r = s.probe("foo/sleep", "httpbin:8000");
  ASSERT_TRUE(r.client_sidecar);
  EXPECT_EQ(r.client_sidecar->tls_mode, "plaintext");
  EXPECT_FALSE(r.wire.tls);
  ASSERT_TRUE(r.server_sidecar);
  EXPECT_EQ(r.server_sidecar->result, "no_filter_chain");
  // The server closes a connection with the client's request unread; the
  // client sidecar's upstream connection was established, so Envoy's codec
  // client reports "connection termination" (UC), which the default retry
  // policy does not retry (source/common/http/codec_client.cc; retry.go).
  EXPECT_EQ(r.outcome, "http_error") << probe_result_text(r);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.client_sidecar->response_flags, "UC");
  EXPECT_EQ(r.response_body, "upstream connect error or disconnect/reset before headers. reset reason: connection termination");

  // The fix: a DestinationRule ISTIO_MUTUAL for the service.
  Sim fixed(yaml + destination_rule("foo", "httpbin", "{host: httpbin, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}"));
  ProbeResult ok = fixed.probe("foo/sleep", "httpbin:8000");
  EXPECT_EQ(ok.http_status, 200) << probe_result_text(ok);
  EXPECT_TRUE(ok.wire.mtls);
}

// DR MUTUAL (user-supplied certificates) towards a server outside the mesh
// that terminates mTLS itself, versus ISTIO_MUTUAL towards the same server
// (API networking/v1alpha3/destination_rule.proto ClientTLSSettings;
// cluster_tls.go). The user certificate files are mounted into the client's
// sidecar (here: put into its SDS cache under Istio's file-cert names).
TEST(DestinationRuleTls, MutualWithUserCertificatesReachesANonIstioMtlsServerAndIstioMutualDoesNot) {
  UserPki pki;
  tls::CertifiedKey server_cert = pki.issue({"secure.legacy.svc.cluster.local", "secure.legacy"});
  tls::CertifiedKey client_cert = pki.issue({"sleep.foo.example.com"});
  auto options = [&] {
    MeshSimulationOptions o;
    ServerAppOptions app;
    app.tls.enabled = true;
    app.tls.identity = server_cert;
    app.tls.roots = {pki.root()};
    app.tls.require_client_certificate = true;
    o.server_overrides["legacy/secure:8443"] = app;
    return o;
  };
  std::string server = workload("legacy", "secure", {"https:443:8443"});
  const char* mutual = R"({host: secure.legacy.svc.cluster.local, trafficPolicy: {tls: {mode: MUTUAL, clientCertificate: /etc/certs/client.pem, privateKey: /etc/certs/key.pem, caCertificates: /etc/certs/ca.pem, sni: secure.legacy.svc.cluster.local}}})";
  Sim s(server + destination_rule("foo", "secure", mutual), options());
  SidecarHost* sc = s.ms->sidecar("foo", "sleep");
  ASSERT_NE(sc, nullptr);
  sc->secrets().set_certified_key("file-cert:/etc/certs/client.pem~/etc/certs/key.pem", client_cert);
  sc->secrets().set_trusted("file-root:/etc/certs/ca.pem", {pki.root()});
  // The application speaks plain TCP; its sidecar originates mTLS with the
  // user certificate (port 443 "https" is TCP-class: tcp_proxy on the VIP
  // listener, the cluster's transport socket from the DestinationRule).
  ProbeResult r = s.probe("foo/sleep", "secure.legacy:443", "tcp");
  EXPECT_EQ(r.outcome, "ok") << probe_result_text(r);
  ASSERT_TRUE(r.client_sidecar);
  EXPECT_EQ(r.client_sidecar->tls_mode, "MUTUAL");
  EXPECT_TRUE(r.wire.tls);
  EXPECT_EQ(r.wire.sni, "secure.legacy.svc.cluster.local");
  EXPECT_TRUE(r.wire.alpn.empty());  // MUTUAL: no Istio ALPN (cluster_tls.go: none for non-h2 clusters)

  const char* istio = R"({host: secure.legacy.svc.cluster.local, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}})";
  Sim s2(server + destination_rule("foo", "secure", istio), options());
  ProbeResult r2 = s2.probe("foo/sleep", "secure.legacy:443", "tcp");
  // The workload certificate is not from the server's CA and the server's
  // certificate is not from the mesh CA: the handshake fails; tcp_proxy
  // closes the client's connection.
  EXPECT_NE(r2.outcome, "ok") << probe_result_text(r2);
  ASSERT_TRUE(r2.client_sidecar);
  EXPECT_EQ(r2.client_sidecar->tls_mode, "ISTIO_MUTUAL");
  EXPECT_NE(r2.client_sidecar->response_flags.find("UF"), std::string::npos);
  EXPECT_NE(r2.client_sidecar->transport_failure.find("CERTIFICATE_VERIFY_FAILED"), std::string::npos)
      << r2.client_sidecar->transport_failure;
}

// DR SIMPLE: the application sends plaintext HTTP, its sidecar originates
// TLS to a server that terminates TLS itself (istio.io "Egress TLS
// Origination", DestinationRule tls.mode SIMPLE).
TEST(DestinationRuleTls, SimpleOriginatesTlsForAPlaintextApplication) {
  UserPki pki;
  MeshSimulationOptions o;
  ServerAppOptions app;
  app.tls.enabled = true;
  app.tls.identity = pki.issue({"web.legacy.svc.cluster.local"});
  app.tls.alpn = {"http/1.1"};
  o.server_overrides["legacy/web:8443"] = app;
  std::string server = workload("legacy", "web", {"http:80:8443"});
  // Without TLS origination the plaintext request reaches a TLS server.
  Sim plain(server, o);
  ProbeResult bad = plain.probe("foo/sleep", "web.legacy:80");
  EXPECT_NE(bad.http_status, 200) << probe_result_text(bad);

  Sim s(server + destination_rule("foo", "web", R"({host: web.legacy.svc.cluster.local, trafficPolicy: {portLevelSettings: [{port: {number: 80}, tls: {mode: SIMPLE, sni: web.legacy.svc.cluster.local, caCertificates: /etc/certs/ca.pem}}]}})"),
        o);
  s.ms->sidecar("foo", "sleep")->secrets().set_trusted("file-root:/etc/certs/ca.pem", {pki.root()});
  ProbeResult r = s.probe("foo/sleep", "web.legacy:80");
  EXPECT_EQ(r.outcome, "ok") << probe_result_text(r);
  EXPECT_EQ(r.http_status, 200);
  ASSERT_TRUE(r.client_sidecar);
  EXPECT_EQ(r.client_sidecar->tls_mode, "SIMPLE");
  EXPECT_TRUE(r.wire.tls);
  EXPECT_FALSE(r.wire.mtls);
  EXPECT_EQ(r.wire.sni, "web.legacy.svc.cluster.local");
  // istio.alpn does not override SIMPLE clusters (istio.alpn_override
  // "false"), and an HTTP/1 cluster sets no ALPN of its own.
  EXPECT_TRUE(r.wire.alpn.empty());
  // The application's plaintext request is what the server app received.
  EXPECT_NE(r.response_body.find("Method=GET"), std::string::npos) << r.response_body;
}

// ------------------------------------ ports no Service declares (passthrough) --

// pilot/pkg/networking/core/peer_authentication_simulation_test.go
// TestPeerAuthenticationPassthrough, "DISABLE + portLevel 9000 STRICT":
// plaintext to 9000 → NoFilterChain; plaintext to 8000 → passthrough;
// mTLS to 9000 → passthrough.
TEST(PeerAuthenticationScopes, PortLevelMtlsOnPortsWithoutAServiceUsesThePassthroughChains) {
  std::string yaml = workload("foo", "app", {"http:80:8080"}) +
                     "---\napiVersion: v1\nkind: Pod\nmetadata: {name: plain, namespace: foo, labels: {app: plain}}\n"
                     "spec: {containers: [{name: app, image: istio/app, ports: [{containerPort: 8000}, {containerPort: 9000}]}]}\n" +
                     peer_authentication("foo", "plain",
                                         "{selector: {matchLabels: {app: plain}}, mtls: {mode: DISABLE}, "
                                         "portLevelMtls: {\"9000\": {mode: STRICT}}}");
  Sim s(yaml);
  ProbeResult p8000 = s.probe("legacy/sleep", "foo/plain:8000");
  EXPECT_EQ(p8000.http_status, 200) << probe_result_text(p8000);
  ASSERT_TRUE(p8000.server_sidecar);
  EXPECT_EQ(p8000.server_sidecar->filter_chain, "virtualInbound-catchall-http");
  EXPECT_EQ(p8000.server_sidecar->cluster, "InboundPassthroughCluster");
  EXPECT_EQ(p8000.server_sidecar->virtual_host, "inbound|http|0");

  ProbeResult p9000 = s.probe("legacy/sleep", "foo/plain:9000");
  EXPECT_EQ(p9000.outcome, "reset") << probe_result_text(p9000);
  ASSERT_TRUE(p9000.server_sidecar);
  EXPECT_EQ(p9000.server_sidecar->result, "no_filter_chain");

  // (A client with a sidecar would send plaintext here: a pod IP no Service
  // owns goes through its PassthroughCluster, which has no TLS — so, as in
  // Istio's test, the mTLS call comes from a client speaking mTLS itself.)
  ProbeRequest mtls;
  mtls.from = "external";
  mtls.to = "foo/plain:9000";
  mtls.protocol = "tcp";
  mtls.client_tls = "mtls";
  auto m = probe_on(*s.ms, mtls);
  ASSERT_TRUE(m.ok());
  ProbeResult m9000 = *m;
  EXPECT_EQ(m9000.outcome, "ok") << probe_result_text(m9000);
  ASSERT_TRUE(m9000.server_sidecar);
  EXPECT_EQ(m9000.server_sidecar->filter_chain, "virtualInbound");
  EXPECT_EQ(m9000.server_sidecar->cluster, "InboundPassthroughCluster");
  EXPECT_EQ(m9000.server_sidecar->tls_termination, "mtls");
  EXPECT_TRUE(m9000.wire.mtls);
}

// ------------------------------------------------------- certificates --

// ISTIO_BEHAVIOR.md §6 / istio.io FAQ "cert-lifetime-config": workload
// certificates live 24h unless SECRET_TTL (proxyMetadata) says otherwise, in
// the mesh default or in the pod's proxy.istio.io/config annotation.
TEST(Certificates, LifetimeIs24hByDefaultAndSecretTtlFromMeshDefaultOrPodAnnotation) {
  auto ttl_of = [](SidecarHost* sc) {
    const auto& id = sc->secrets().identity();
    EXPECT_TRUE(id.has_value());
    auto info = id->certificate.info();
    return info.not_after - info.not_before;
  };
  std::string pods = workload("foo", "plain", {"http:80:8080"}) +
                     workload("foo", "annotated", {"http:80:8080"},
                              "{proxy.istio.io/config: \"proxyMetadata:\\n  SECRET_TTL: 48h\\n\"}");
  Sim defaults(pods);
  EXPECT_EQ(ttl_of(defaults.ms->sidecar("foo", "plain")), Duration::hours(24));
  EXPECT_EQ(ttl_of(defaults.ms->sidecar("foo", "annotated")), Duration::hours(48));
  EXPECT_EQ(defaults.ms->agent("foo", "plain")->cert_ttl(), Duration::hours(24));
  // The SPIFFE identity of the pod's service account.
  auto info = defaults.ms->sidecar("foo", "plain")->secrets().identity()->certificate.info();
  EXPECT_EQ(info.uri_sans, std::vector<std::string>{"spiffe://cluster.local/ns/foo/sa/plain"});

  Sim mesh_default(mesh_config("    defaultConfig:\n      proxyMetadata:\n        SECRET_TTL: 48h\n") + pods);
  EXPECT_EQ(ttl_of(mesh_default.ms->sidecar("foo", "plain")), Duration::hours(48));
  EXPECT_EQ(ttl_of(mesh_default.ms->sidecar("foo", "annotated")), Duration::hours(48));
}

// Renewal at SECRET_GRACE_PERIOD_RATIO 0.5 (±1% jitter) keeps every
// certificate valid: traffic works at any time over three days.
TEST(Certificates, RenewalBeforeExpiryKeepsTrafficWorkingOver72Hours) {
  Sim s(workload("foo", "httpbin", {"http:8000:8080"}));
  for (int hour : {1, 13, 23, 25, 37, 47, 49, 61, 71}) {
    ProbeResult r = s.probe("foo/sleep", "httpbin:8000", "http", Duration::hours(hour));
    EXPECT_EQ(r.http_status, 200) << "at " << hour << "h: " << probe_result_text(r);
    EXPECT_TRUE(r.wire.mtls);
  }
  s.ms->run_until(Duration::hours(72));
  PodAgent* a = s.ms->agent("foo", "httpbin");
  // Issued at 0 and renewed every ~12h (half of 24h): 0, 12, 24, 36, 48, 60.
  EXPECT_GE(a->certificates_issued(), 6u);
  EXPECT_LE(a->certificates_issued(), 7u);
  EXPECT_GT(a->current_not_after(), Duration::hours(72));
}

// An agent that stops renewing (istiod unreachable) lets the certificate
// expire: from then on the peer's certificate check fails (X509 "certificate
// has expired" ⇒ BoringSSL CERTIFICATE_VERIFY_FAILED at the verifier, alert
// certificate_expired (45) to the server).
TEST(Certificates, WithoutRenewalHandshakesFailAfterExpiryWithTheExpiredCertificateError) {
  Sim s(workload("foo", "httpbin", {"http:8000:8080"}));
  s.ms->agent("foo", "httpbin")->set_renewal_enabled(false);
  ProbeResult before = s.probe("foo/sleep", "httpbin:8000", "http", Duration::hours(23));
  EXPECT_EQ(before.http_status, 200) << probe_result_text(before);
  ProbeResult after = s.probe("foo/sleep", "httpbin:8000", "http", Duration::hours(25));
  EXPECT_EQ(after.outcome, "http_error") << probe_result_text(after);
  EXPECT_EQ(after.http_status, 503);
  ASSERT_TRUE(after.client_sidecar);
  EXPECT_NE(after.client_sidecar->transport_failure.find("CERTIFICATE_VERIFY_FAILED"), std::string::npos)
      << after.client_sidecar->transport_failure;
  ASSERT_TRUE(after.server_sidecar);
  EXPECT_EQ(after.server_sidecar->result, "tls_error");
  EXPECT_NE(after.server_sidecar->details.find("SSLV3_ALERT_CERTIFICATE_EXPIRED"), std::string::npos)
      << after.server_sidecar->details;
}

// ----------------------------------------------------------- pushes --

// A push that removes the chain an open connection uses drains it (Istio runs
// Envoy with --drain-strategy immediate): an idle HTTP/1 connection is closed,
// so the client's next request opens a new connection, which gets the new
// configuration — here STRICT, which has no plaintext chain any more.
TEST(ConfigPush, NewPolicyDrainsOpenConnectionsOfRemovedChains) {
  std::string yaml = workload("foo", "httpbin", {"http:8000:8080"});
  MeshSimulationOptions o;
  o.kubelet_probes = false;
  MeshSimulation ms(world_from(std::string(kNamespaces) + yaml), o);
  ASSERT_TRUE(ms.build().ok());
  std::vector<std::pair<Duration, proxy::AccessLogEntry>> inbound;
  ms.sim().subscribe([&](const Observation& obs) {
    if (const auto* a = std::get_if<AccessLogObservation>(&obs.payload)) {
      if (a->entry->direction == proxy::TrafficDirection::kInbound) inbound.emplace_back(obs.time, *a->entry);
    }
  });
  // A legacy client keeps one HTTP/1.1 connection open: requests at 1s, 6s, 11s.
  ClientRequestSpec spec;
  spec.protocol = "http";
  spec.target = "httpbin.foo:8000";
  spec.keep_alive = true;
  ClientSchedule sched;
  sched.count = 3;
  sched.interval = Duration::seconds(5);
  sched.start = Duration::seconds(1);
  ClientApp* c = ms.add_client(ms.host_of("legacy", "sleep"), "legacy/sleep", spec, sched);
  ms.run_until(Duration::seconds(2));
  ASSERT_EQ(c->completed(), 1u);
  ASSERT_EQ(c->succeeded(), 1u);
  uint64_t first_connection = c->last().connection;
  // STRICT at t = 2s; pushed 100 ms later.
  ms.apply_world(world_from(std::string(kNamespaces) + yaml +
                            peer_authentication("istio-system", "default", "{mtls: {mode: STRICT}}")));
  ms.run_until(Duration::seconds(12));
  ASSERT_EQ(c->completed(), 3u);
  EXPECT_EQ(c->succeeded(), 1u);  // only the request before the push
  EXPECT_NE(c->last().connection, first_connection);
  ASSERT_GE(inbound.size(), 3u);
  EXPECT_EQ(inbound[0].second.filter_chain, "0.0.0.0_8080");
  EXPECT_EQ(inbound[0].second.tls_termination, "none");
  EXPECT_EQ(inbound[0].second.response_code, 200);
  // The later requests' connections find no chain for plaintext.
  int rejected = 0;
  for (const auto& [t, e] : inbound) {
    if (t < Duration::seconds(5)) continue;
    EXPECT_EQ(e.filter_chain, "");
    EXPECT_EQ(e.connection_termination_details, "filter_chain_not_found");
    ++rejected;
  }
  EXPECT_EQ(rejected, 2);
}

// The push is not instantaneous: a new connection between the apply and the
// push still gets the old configuration.
TEST(ConfigPush, ConnectionsBeforeThePushUseTheOldConfiguration) {
  std::string yaml = workload("foo", "httpbin", {"http:8000:8080"});
  MeshSimulationOptions o;
  o.kubelet_probes = false;
  o.push_delay = Duration::seconds(2);
  MeshSimulation ms(world_from(std::string(kNamespaces) + yaml), o);
  ASSERT_TRUE(ms.build().ok());
  ms.run_until(Duration::seconds(1));
  ms.apply_world(world_from(std::string(kNamespaces) + yaml +
                            peer_authentication("istio-system", "default", "{mtls: {mode: STRICT}}")));
  ProbeRequest req;
  req.from = "legacy/sleep";
  req.to = "httpbin.foo:8000";
  req.timeout = Duration::millis(500);
  auto before = probe_on(ms, req);  // at ~1s: the push lands at 3s
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->http_status, 200) << probe_result_text(*before);
  req.at = Duration::seconds(4);
  auto after = probe_on(ms, req);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->outcome, "reset") << probe_result_text(*after);
}

}  // namespace
}  // namespace meshsim::sim
