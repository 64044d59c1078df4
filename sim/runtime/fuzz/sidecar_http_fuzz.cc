// libFuzzer target for the HTTP request path through a sidecar: the
// configuration istiod would push to Bookinfo's productpage (built by the
// control plane from manifests), the real engine (listener dispatch, HTTP
// inspector, connection manager, filters, router, upstream pool) on a scripted
// Io. The input is what a client sends and what the upstream answers:
//   byte 0      bit 0: outbound (15001 → reviews VIP:9080) or inbound (15006 → the pod's 9080);
//               bit 1: the client closes after sending
//   then        downstream bytes, "\n\0\n", upstream bytes (fed to every upstream connection)
// Any crash, sanitizer report or hang is a bug: the data path never throws,
// bad bytes are a simulated outcome (400, reset, …). ci/fuzz-smoke runs it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mesh/control_plane.h"
#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "mesh/world.h"
#include "proxy/engine/sidecar.h"
#include "proxy/tests/fake_io.h"

namespace {

using namespace meshsim;

const char kMesh[] = R"(apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.96.0.20
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default}
spec:
  selector: {app: productpage}
  ports: [{name: http, port: 9080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec: {containers: [{name: reviews, image: reviews, ports: [{containerPort: 9080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: productpage-v1, namespace: default}
spec:
  selector: {matchLabels: {app: productpage}}
  template:
    metadata: {labels: {app: productpage, version: v1}}
    spec: {containers: [{name: productpage, image: productpage, ports: [{containerPort: 9080}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 50}}}
    route: [{destination: {host: reviews}}]
  - retries: {attempts: 2, retryOn: 5xx}
    timeout: 3s
    route: [{destination: {host: reviews}}]
)";

struct Fixture {
  std::shared_ptr<const proxy::ProxyConfig> config;
  SocketAddress pod, vip;
  Fixture() {
    mesh::ResourceSet rs;
    std::vector<mesh::Diagnostic> diags;
    mesh::load_text(kMesh, "fuzz-mesh.yaml", rs, diags);
    mesh::MeshConfig mc = mesh::resolve_mesh_config(rs, diags);
    static mesh::World world = mesh::build_world(std::move(rs), mc, diags);
    for (const auto& p : world.pods()) {
      if (p.owner_name == "productpage-v1") {
        config = mesh::build_sidecar_config(world, p);
        pod = {p.ip, 9080};
      }
    }
    vip = {*parse_ipv4("10.96.0.20"), 9080};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fx;
  if (size < 1 || !fx.config) return 0;
  const uint8_t mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t sep = in.find(std::string_view("\n\0\n", 3));
  std::string_view down = in.substr(0, sep);
  std::string_view up = sep == std::string_view::npos ? std::string_view() : in.substr(sep + 3);

  proxy::testing::FakeIo io;
  proxy::testing::Log log;
  proxy::Sidecar::Options o;
  o.name = "productpage-v1.default";
  o.access_log = &log;
  o.node_id = "sidecar~fuzz";
  proxy::Sidecar sidecar(io, o);
  sidecar.apply_config(fx.config);
  const bool outbound = mode & 1;
  SocketAddress client = outbound ? SocketAddress{fx.pod.ip, 40000} : SocketAddress{*parse_ipv4("10.244.9.9"), 40000};
  sidecar.on_downstream_accepted(1, {static_cast<uint16_t>(outbound ? 15001 : 15006), client, outbound ? fx.vip : fx.pod});
  // The client's bytes in two reads (a split anywhere must be handled).
  size_t half = down.size() / 2;
  sidecar.on_data(1, proxy::as_bytes(down.substr(0, half)));
  sidecar.on_data(1, proxy::as_bytes(down.substr(half)));
  // Every upstream the engine opened connects and answers with `up`.
  for (size_t i = 0; i < io.connects.size() && i < 8; ++i) {
    proxy::ConnId id = io.connects[i].id;
    sidecar.on_upstream_connected(id);
    if (!up.empty()) sidecar.on_data(id, proxy::as_bytes(up));
    sidecar.on_peer_closed(id, proxy::CloseType::kFin);
  }
  if (mode & 2) sidecar.on_peer_closed(1, proxy::CloseType::kFin);
  io.advance(sidecar, io.now() + Duration::seconds(120));
  return 0;
}
