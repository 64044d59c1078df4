// The inbound PeerAuthentication matrix through the full simulation:
// PeerAuthentication mode (UNSET / DISABLE / PERMISSIVE / STRICT, mesh-wide)
// × server port protocol (tcp, http, auto-detected, server-first mysql)
// × client kind (a client with a sidecar; clients outside the mesh speaking
// plaintext, TLS of their own, or Istio mTLS with a mesh certificate).
//
// Each case is one `probe` connection: manifests → control plane → sidecar
// engines with real OpenSSL on the virtual network → virtual apps. Asserted:
// what the client application saw, which chain/cluster/virtual host the
// server's sidecar matched and what it did with TLS, and the wire facts.
//
// The expected values are Istio's, not ours:
//  * server-side chain results: istio/istio pilot/pkg/networking/core/
//    sidecar_simulation_test.go TestInbound (table in docs/istio/sidecar-xds.md
//    §5.1; ISTIO_BEHAVIOR.md §1.2, §3.3), which runs istiod's real generator
//    through Envoy's matching algorithm (pilot/pkg/simulation/traffic.go);
//  * UNSET behaves as PERMISSIVE (API security/v1beta1/peer_authentication.proto);
//  * the client sidecar's choice (auto mTLS unless the destination's
//    namespace/mesh mode is DISABLE): ISTIO_BEHAVIOR.md §2.2 (cluster_tls.go,
//    mtls_checker.go);
//  * server-first (MySQL) rows: ISTIO_BEHAVIOR.md §3.5 and istio.io
//    "Server First Protocols" / FAQ "mysql-with-mtls";
//  * ALPN/SNI/identities on the wire: ISTIO_BEHAVIOR.md §2.1, §6
//    (cluster_tls.go, filters.go istio.alpn), and the inbound
//    DownstreamTlsContext ALPN lists of docs/istio/sidecar-xds.md §1.5;
//  * what the client application sees after the sidecar's decision follows
//    from the bytes it receives (a reset for a closed connection with unread
//    data, a TLS failure when the peer answers with non-TLS bytes, …).
#include <gtest/gtest.h>

#include "sim/runtime/mesh_simulation.h"
#include "sim/runtime/probe.h"
#include "sim/runtime/tests/sim_test_util.h"

namespace meshsim::sim {
namespace {

using testing::UserPki;
using testing::world_from;

enum class Mode { kUnset, kDisable, kPermissive, kStrict };
enum class Port { kTcp, kHttp, kAuto, kMysql };
enum class Client { kSidecar, kPlaintext, kTls, kMtls };

const char* name(Mode m) {
  switch (m) {
    case Mode::kUnset: return "Unset";
    case Mode::kDisable: return "Disable";
    case Mode::kPermissive: return "Permissive";
    case Mode::kStrict: return "Strict";
  }
  return "";
}
const char* name(Port p) {
  switch (p) {
    case Port::kTcp: return "Tcp";
    case Port::kHttp: return "Http";
    case Port::kAuto: return "Auto";
    case Port::kMysql: return "Mysql";
  }
  return "";
}
const char* name(Client c) {
  switch (c) {
    case Client::kSidecar: return "SidecarClient";
    case Client::kPlaintext: return "PlaintextExternal";
    case Client::kTls: return "TlsExternal";
    case Client::kMtls: return "MtlsExternal";
  }
  return "";
}

uint16_t port_number(Port p) {
  switch (p) {
    case Port::kTcp: return 9000;
    case Port::kHttp: return 8080;
    case Port::kAuto: return 8081;
    case Port::kMysql: return 3306;
  }
  return 0;
}

// Server pod `srv/server` with a sidecar; one Service with one port per
// protocol class: `tcp` (explicit TCP), `http` (explicit HTTP), `auto` (a name
// Istio does not recognise, so the protocol is sniffed) and `mysql`
// (explicit MySQL, a TCP-class protocol; also the well-known port 3306).
// Client pod `cli/client` with a sidecar.
constexpr const char* kBase = R"(
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: srv, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: cli, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: server, namespace: srv}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: client, namespace: cli}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: srv, labels: {app: server}}
spec:
  serviceAccountName: server
  containers:
  - name: app
    image: istio/app
    ports: [{containerPort: 9000}, {containerPort: 8080}, {containerPort: 8081}, {containerPort: 3306}]
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: srv}
spec:
  selector: {app: server}
  ports:
  - {name: tcp, port: 9000}
  - {name: http, port: 8080}
  - {name: auto, port: 8081}
  - {name: mysql, port: 3306}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: cli, labels: {app: client}}
spec:
  serviceAccountName: client
  containers: [{name: app, image: curlimages/curl}]
)";

std::string mesh_wide_pa(Mode m) {
  if (m == Mode::kUnset) return "";
  const char* mode = m == Mode::kDisable ? "DISABLE" : m == Mode::kPermissive ? "PERMISSIVE" : "STRICT";
  return std::string(R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: )") + mode + "}}\n";
}

// What Istio's TestInbound table and the documents above say for one case.
struct Expected {
  std::string result;           // server sidecar: ok | no_filter_chain | mtls_error | protocol_error | inspecting
  std::string tls_termination;  // mtls | passthrough | none ("" when no chain)
  std::string outcome;          // client application: ok | reset | tls_error | timeout
};

// Effective mode: UNSET composes to PERMISSIVE (nothing configured anywhere).
Mode effective(Mode m) { return m == Mode::kUnset ? Mode::kPermissive : m; }

Expected expected(Mode mode, Port port, Client client) {
  Mode m = effective(mode);
  bool disable = m == Mode::kDisable, strict = m == Mode::kStrict;
  switch (client) {
    case Client::kSidecar:
      // Auto mTLS: mTLS unless the destination's mesh/namespace mode is
      // DISABLE (then plaintext). Either way the server has a matching chain
      // (DISABLE: raw_buffer; otherwise the mTLS-terminating chain). The
      // client sidecar sends first, so even MySQL works (§3.5 right column).
      return {"ok", disable ? "none" : "mtls", "ok"};
    case Client::kPlaintext:
      // TestInbound "plaintext → 70/80/81": DISABLE and PERMISSIVE reach the
      // raw_buffer chain, STRICT has no plaintext chain (NoFilterChain: Envoy
      // closes; the client's unread request makes that a reset).
      if (port == Port::kMysql) {
        // §3.5: PERMISSIVE and STRICT put the TLS inspector on 3306; it waits
        // for client bytes that a server-first client never sends — the
        // client gives up (ERROR 2013). DISABLE has no inspector on 3306.
        if (disable) return {"ok", "none", "ok"};
        return {"inspecting", "", "timeout"};
      }
      if (strict) return {"no_filter_chain", "", "reset"};
      return {"ok", "none", "ok"};
    case Client::kTls:
      // TestInbound "TLS → 70/80/81" (a client's own TLS, no client cert):
      //  DISABLE: no TLS inspector, raw_buffer chains. TCP port: proxied to
      //  the app, which terminates it itself (ok). HTTP port: TLS bytes into
      //  the HCM = ProtocolError. Auto port: the HTTP inspector finds no HTTP
      //  → the TCP chain (ok).
      //  PERMISSIVE: TCP and auto ports have a TLS chain without ALPN that
      //  does not terminate (plain TLS passes through); the explicit HTTP
      //  port has none: NoFilterChain.
      //  STRICT: the only chain terminates mTLS and requires a client
      //  certificate: MTLSError.
      if (strict) return {"mtls_error", "mtls", "tls_error"};
      if (port == Port::kHttp) {
        if (disable) return {"protocol_error", "none", "tls_error"};
        return {"no_filter_chain", "", "reset"};
      }
      return {"ok", disable ? "none" : "passthrough", "ok"};
    case Client::kMtls:
      // TestInbound "mTLS → 70/80/81": PERMISSIVE and STRICT terminate it.
      // DISABLE: no TLS termination at all — a TCP/auto port proxies the TLS
      // bytes to the app (which does not speak TLS: the client's handshake
      // fails), the HTTP port's HCM sees TLS bytes (ProtocolError). MySQL
      // under DISABLE: proxied at once, the server's plaintext greeting
      // reaches a TLS client (handshake fails).
      if (disable) {
        if (port == Port::kHttp) return {"protocol_error", "none", "tls_error"};
        return {"ok", "none", "tls_error"};
      }
      return {"ok", "mtls", "ok"};
  }
  return {};
}

using Param = std::tuple<Mode, Port, Client>;

class SidecarMatrix : public ::testing::TestWithParam<Param> {};

TEST_P(SidecarMatrix, ConnectionOutcomeServerChainAndWire) {
  auto [mode, port, client] = GetParam();
  uint16_t pn = port_number(port);
  MeshSimulationOptions o;
  o.kubelet_probes = false;
  UserPki pki;
  if (client == Client::kTls) {
    // The application behind the port terminates TLS itself (an HTTPS / TLS
    // server with a certificate from its own CA).
    ServerAppOptions app;
    app.kind = port == Port::kMysql ? ServerAppKind::kMysql : ServerAppKind::kEcho;
    app.tls.enabled = true;
    app.tls.identity = pki.issue({"server.srv", "server.srv.svc.cluster.local"});
    if (port == Port::kHttp || port == Port::kAuto) app.tls.alpn = {"http/1.1"};
    o.server_overrides["srv/server:" + std::to_string(pn)] = app;
  }
  MeshSimulation ms(world_from(std::string(kBase) + mesh_wide_pa(mode)), o);
  ASSERT_TRUE(ms.build().ok());

  ProbeRequest req;
  req.from = client == Client::kSidecar ? "cli/client" : "external";
  req.to = "server.srv:" + std::to_string(pn);
  req.protocol = port == Port::kTcp ? "tcp" : port == Port::kMysql ? "mysql" : "http";
  req.client_tls = client == Client::kTls ? "tls" : client == Client::kMtls ? "mtls" : "plaintext";
  req.timeout = Duration::seconds(10);
  auto r = probe_on(ms, req);
  ASSERT_TRUE(r.ok()) << r.message();
  Expected e = expected(mode, port, client);
  std::string ctx = std::string(name(mode)) + "/" + name(port) + "/" + name(client) + ": " + probe_result_text(*r);

  // --- what the client application saw ---
  EXPECT_EQ(r->outcome, e.outcome) << ctx;
  if (e.outcome == "ok" && req.protocol == "http") {
    EXPECT_EQ(r->http_status, 200) << ctx;
  }
  if (e.outcome == "timeout" && port == Port::kMysql) {
    EXPECT_EQ(r->client_error,
              "ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet', "
              "system error: 0")
        << ctx;
  }
  if (e.outcome == "reset" && req.protocol == "http" && client == Client::kPlaintext) {
    EXPECT_EQ(r->client_error, "curl: (56) Recv failure: Connection reset by peer") << ctx;
  }

  // --- the server's sidecar ---
  ASSERT_TRUE(r->server_sidecar.has_value()) << ctx;
  const ProbeSidecarView& s = *r->server_sidecar;
  EXPECT_EQ(s.listener, "virtualInbound") << ctx;
  EXPECT_EQ(s.result, e.result) << ctx;
  EXPECT_EQ(s.tls_termination, e.tls_termination) << ctx;
  bool chain_matched = e.result != "no_filter_chain" && e.result != "inspecting";
  if (chain_matched) {
    EXPECT_EQ(s.filter_chain, "0.0.0.0_" + std::to_string(pn)) << ctx;  // inbound chains: 0.0.0.0_<targetPort>
    if (e.result == "ok") {
      EXPECT_EQ(s.cluster, "inbound|" + std::to_string(pn) + "||") << ctx;
    }
  } else {
    EXPECT_EQ(s.filter_chain, "") << ctx;
    EXPECT_EQ(s.cluster, "") << ctx;
  }
  // An HCM chain that routed the request names the inbound virtual host.
  bool http_routed = e.result == "ok" && req.protocol == "http" &&
                     (port == Port::kHttp || (port == Port::kAuto && (client == Client::kSidecar ||
                                                                       client == Client::kPlaintext ||
                                                                       (client == Client::kMtls && e.tls_termination == "mtls"))));
  if (http_routed) {
    EXPECT_EQ(s.virtual_host, "inbound|http|" + std::to_string(pn)) << ctx;
    EXPECT_EQ(s.route, "default") << ctx;
  } else {
    EXPECT_EQ(s.virtual_host, "") << ctx;
  }

  // --- the wire between the pods ---
  ASSERT_TRUE(r->wire.observed) << ctx;
  bool client_speaks_tls = client == Client::kTls || client == Client::kMtls ||
                           (client == Client::kSidecar && effective(mode) != Mode::kDisable);
  EXPECT_EQ(r->wire.tls, client_speaks_tls) << ctx;
  EXPECT_EQ(r->wire.mtls, e.tls_termination == "mtls" && e.result == "ok") << ctx;

  if (client == Client::kSidecar) {
    // The client sidecar: per-port outbound listener, outbound cluster, and
    // auto mTLS with Istio's SNI, ALPN and identity checks.
    ASSERT_TRUE(r->client_sidecar.has_value()) << ctx;
    const ProbeSidecarView& c = *r->client_sidecar;
    const mesh::WorldService* svc = nullptr;
    for (const auto& sv : ms.world().services()) {
      if (sv.hostname == "server.srv.svc.cluster.local") svc = &sv;
    }
    ASSERT_NE(svc, nullptr);
    std::string listener = port == Port::kHttp ? "0.0.0.0_8080" : to_string(svc->vip) + "_" + std::to_string(pn);
    EXPECT_EQ(c.listener, listener) << ctx;
    EXPECT_EQ(c.cluster, "outbound|" + std::to_string(pn) + "||server.srv.svc.cluster.local") << ctx;
    EXPECT_EQ(c.tls_mode, effective(mode) == Mode::kDisable ? "plaintext" : "ISTIO_MUTUAL") << ctx;
    if (port == Port::kHttp) {
      EXPECT_EQ(c.route_config, "8080") << ctx;
      EXPECT_EQ(c.virtual_host, "server.srv.svc.cluster.local:8080") << ctx;
    }
    if (port == Port::kAuto) {
      EXPECT_EQ(c.route_config, "server.srv.svc.cluster.local:8081") << ctx;
    }
    if (client_speaks_tls) {
      EXPECT_EQ(r->wire.sni, "outbound_." + std::to_string(pn) + "_._.server.srv.svc.cluster.local") << ctx;
      std::vector<std::string> alpn = req.protocol == "http"
                                          ? std::vector<std::string>{"istio-http/1.1", "istio", "http/1.1"}
                                          : std::vector<std::string>{"istio-peer-exchange", "istio"};
      EXPECT_EQ(r->wire.alpn, alpn) << ctx;
      // The inbound context prefers h2, http/1.1 on HCM chains and
      // istio-peer-exchange first on TCP chains.
      EXPECT_EQ(r->wire.negotiated_alpn, req.protocol == "http" ? "http/1.1" : "istio-peer-exchange") << ctx;
      EXPECT_EQ(r->wire.client_identity, "spiffe://cluster.local/ns/cli/sa/client") << ctx;
      EXPECT_EQ(r->wire.server_identity, "spiffe://cluster.local/ns/srv/sa/server") << ctx;
      EXPECT_EQ(r->wire.tls_version, "TLSv1.3") << ctx;
    }
  } else {
    EXPECT_FALSE(r->client_sidecar.has_value()) << ctx;
    if (client == Client::kMtls) {
      // Istio's simulation Call: mTLS ALPN istio-http/1.1 for HTTP, istio for TCP.
      EXPECT_EQ(r->wire.alpn, std::vector<std::string>{req.protocol == "http" ? "istio-http/1.1" : "istio"}) << ctx;
      if (e.tls_termination == "mtls") {
        EXPECT_EQ(r->wire.client_identity, "spiffe://cluster.local/ns/external/sa/default") << ctx;
      }
    }
    if (client == Client::kTls) {
      EXPECT_EQ(r->wire.sni, "server.srv") << ctx;
    }
  }
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return std::string(name(std::get<0>(info.param))) + "_" + name(std::get<1>(info.param)) + "_" +
         name(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(PeerAuthenticationByProtocolByClient, SidecarMatrix,
                         ::testing::Combine(::testing::Values(Mode::kUnset, Mode::kDisable, Mode::kPermissive,
                                                              Mode::kStrict),
                                            ::testing::Values(Port::kTcp, Port::kHttp, Port::kAuto, Port::kMysql),
                                            ::testing::Values(Client::kSidecar, Client::kPlaintext, Client::kTls,
                                                              Client::kMtls)),
                         param_name);

}  // namespace
}  // namespace meshsim::sim
