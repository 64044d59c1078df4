#include "bench/mesh_generator.h"

namespace meshsim::bench {

std::string generate_mesh_yaml(const MeshShape& s) {
  std::string y;
  y.reserve(static_cast<size_t>(s.services) * 1500 + static_cast<size_t>(s.policies) * 600);
  auto ns_of = [&](int i) { return "ns-" + std::to_string(i % s.namespaces); };
  for (int n = 0; n < s.namespaces; ++n)
    y += "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-" + std::to_string(n) +
         "\n  labels:\n    istio-injection: enabled\n---\n";
  int base = s.pods / s.services, extra = s.pods % s.services;
  for (int i = 0; i < s.services; ++i) {
    std::string app = "svc-" + std::to_string(i), ns = ns_of(i);
    int replicas = base + (i < extra ? 1 : 0);
    y += "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + app + "\n  namespace: " + ns +
         "\n  labels:\n    app: " + app + "\nspec:\n  replicas: " + std::to_string(replicas) +
         "\n  selector:\n    matchLabels:\n      app: " + app + "\n  template:\n    metadata:\n      labels:\n        app: " +
         app + "\n        version: v" + std::to_string(1 + i % 3) +
         "\n      annotations:\n        proxy.istio.io/config: '{\"holdApplicationUntilProxyStarts\": true}'\n"
         "    spec:\n      serviceAccountName: " + app +
         "\n      containers:\n      - name: app\n        image: example/" + app +
         ":1.0\n        ports:\n        - name: http-web\n          containerPort: 8080\n        - name: grpc\n"
         "          containerPort: 9090\n        env:\n        - name: SERVICE\n          value: \"" + app +
         "\"\n        readinessProbe:\n          httpGet:\n            path: /ready\n            port: 8080\n"
         "          periodSeconds: 5\n---\n";
    y += "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + app + "\n  namespace: " + ns +
         "\nspec:\n  selector:\n    app: " + app +
         "\n  ports:\n  - name: http\n    port: 80\n    targetPort: http-web\n  - name: grpc\n    port: 9090\n---\n";
  }
  for (int i = 0; i < s.policies; ++i) {
    int target = (i * 7) % s.services;
    std::string app = "svc-" + std::to_string(target), ns = ns_of(target), name = "pol-" + std::to_string(i);
    switch (i % 4) {
      case 0:
        y += "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: " + name +
             "\n  namespace: " + ns + "\nspec:\n  selector:\n    matchLabels:\n      app: " + app +
             "\n  mtls:\n    mode: STRICT\n  portLevelMtls:\n    9090:\n      mode: PERMISSIVE\n---\n";
        break;
      case 1:
        y += "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: " + name +
             "\n  namespace: " + ns + "\nspec:\n  host: " + app +
             "\n  trafficPolicy:\n    connectionPool:\n      tcp:\n        maxConnections: 100\n        connectTimeout: 2s\n"
             "      http:\n        http1MaxPendingRequests: 50\n    outlierDetection:\n      consecutive5xxErrors: 5\n"
             "      interval: 10s\n      baseEjectionTime: 30s\n  subsets:\n  - name: v1\n    labels:\n      version: v1\n"
             "  - name: v2\n    labels:\n      version: v2\n---\n";
        break;
      case 2:
        y += "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: " + name +
             "\n  namespace: " + ns + "\nspec:\n  hosts:\n  - " + app +
             "\n  http:\n  - match:\n    - headers:\n        end-user:\n          exact: jason\n    route:\n"
             "    - destination:\n        host: " + app + "\n        subset: v2\n  - route:\n    - destination:\n        host: " +
             app + "\n        subset: v1\n      weight: 90\n    - destination:\n        host: " + app +
             "\n        subset: v2\n      weight: 10\n    retries:\n      attempts: 3\n      perTryTimeout: 2s\n"
             "    timeout: 10s\n---\n";
        break;
      default:
        y += "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: " + name +
             "\n  namespace: " + ns + "\nspec:\n  selector:\n    matchLabels:\n      app: " + app +
             "\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals:\n        - cluster.local/ns/" + ns +
             "/sa/svc-" + std::to_string((target + 1) % s.services) +
             "\n    to:\n    - operation:\n        methods:\n        - GET\n        paths:\n        - /api/*\n---\n";
        break;
    }
  }
  return y;
}

}  // namespace meshsim::bench
