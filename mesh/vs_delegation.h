// VirtualService delegation as istiod resolves it before building routes
// (pilot/pkg/model/virtualservice_controller.go mergeVirtualServices,
// virtualservice.go MergeHTTPRoutes): a root VirtualService's HTTP route with
// `delegate: {name, namespace}` is replaced by the delegate's HTTP routes,
// each merged with the root route — match conditions intersected (every
// delegate match must be a subset of a root match, else the delegate route
// is dropped), the root's rewrite/timeout/retries/fault/mirror/cors/headers/
// directResponse filling what the delegate leaves unset, names joined
// "root-delegate". Delegates are VirtualServices without `hosts`; they are
// used only through a root, which must see them (their exportTo, or the
// mesh's defaultVirtualServiceExportTo, names "*" or the root's namespace).
// Destination hosts of merged routes are resolved in the delegate's
// namespace, as istiod resolves the delegate's short names. A missing or
// invisible delegate drops only the route that names it. Every dropped route
// is reported (istiod only logs a warning): `meshsim analyze` shows it.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/resources.h"

namespace meshsim::mesh {

struct DelegationIssue {
  enum class Kind : uint8_t { kNotFound, kNotExported, kMatchConflict };
  Kind kind = Kind::kNotFound;
  std::string root;      // "ns/name" of the root VirtualService
  size_t route = 0;      // index of the delegating route in the root's spec.http
  std::string delegate;  // "ns/name"
  size_t delegate_route = 0;  // kMatchConflict: index in the delegate's spec.http
  Location location;     // the root route (kMatchConflict: the delegate route)
  std::string message;   // istiod's warning, in its words
};

struct MergedVirtualServices {
  // Every VirtualService with hosts, in input order; roots with their
  // delegating routes replaced by the merged delegate routes. Delegates
  // (no hosts) are not in it.
  std::vector<VirtualService> services;
  std::vector<DelegationIssue> issues;
};

// `to_fqdn(host, namespace)` is World::config_host_to_fqdn.
MergedVirtualServices merge_virtual_services(
    const std::vector<VirtualService>& all, const std::vector<std::string>& default_export_to,
    const std::function<std::string(std::string_view, std::string_view)>& to_fqdn);

// Istio's hasConflict / mergeHTTPMatchRequest, exposed for tests.
bool http_match_conflicts(const HttpMatchRequest& root, const HttpMatchRequest& leaf);
HttpMatchRequest merge_http_match(const HttpMatchRequest& root, const HttpMatchRequest& delegate);

}  // namespace meshsim::mesh
