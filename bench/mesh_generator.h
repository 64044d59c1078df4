// Generates a synthetic mesh as one multi-document YAML string, for the size
// benchmark: N namespaces (injected), one Deployment + Service per "app"
// (pods = apps × replicas), and a mix of Istio policies (PeerAuthentication,
// DestinationRule with subsets, VirtualService with weighted routes and
// retries, AuthorizationPolicy). Deterministic: the same parameters always
// give the same text.
#pragma once

#include <string>

namespace meshsim::bench {

struct MeshShape {
  int namespaces = 50;
  int services = 2000;   // one Deployment per service
  int pods = 10000;      // spread evenly over the Deployments
  int policies = 2000;   // PA / DR / VS / AP in rotation
};

std::string generate_mesh_yaml(const MeshShape& shape);

}  // namespace meshsim::bench
