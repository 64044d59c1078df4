// Istio's load-balancing translation for one client proxy's cluster
// (pilot/pkg/networking/core/loadbalancer/loadbalancer.go,
// cluster_traffic_policy.go applyOutlierDetection): outlier detection and the
// panic threshold, and locality weights and priorities relative to the
// client's locality (docs/model/failover.md). Pure functions of their inputs.
#pragma once

#include <optional>
#include <vector>

#include "mesh/mesh_config.h"
#include "mesh/resources.h"
#include "mesh/world.h"
#include "proxy/config.h"

namespace meshsim::mesh {

// DestinationRule outlierDetection → the cluster's detectors and healthy_panic_threshold.
void apply_outlier_detection(proxy::Cluster& c, const OutlierDetection& in);

// The endpoint labels failoverPriority compares: the labels plus the node's topology labels.
Labels with_topology_labels(Labels l, const Locality& loc);

// The DestinationRule's localityLbSetting, else the mesh's; nullptr when disabled.
const LocalityLbSetting* effective_locality_setting(const std::optional<TrafficPolicy>& tp, const MeshConfig& mc);

// Locality weights on every endpoint of `cla`; then, with `setting`,
// `distribute` weights or (only with outlier detection on `c`) failover
// priorities relative to the client (`client_locality`, `client_labels`).
// `ep_labels[i]` are endpoint i's labels with topology (with_topology_labels).
void apply_locality_lb(proxy::Cluster& c, const LocalityLbSetting* setting, proxy::ClusterLoadAssignment& cla,
                       const std::vector<Labels>& ep_labels, const Locality& client_locality, const Labels& client_labels);

}  // namespace meshsim::mesh
