// The :path normalization of Envoy's HTTP connection manager, as Istio
// configures it (meshConfig.pathNormalization, default BASE:
// normalize_path true, merge_slashes false — istio.io security best
// practices): before routing and before any filter (RBAC matches the
// normalized path, the upstream receives it).
//
// normalize_path is Envoy's PathUtil::canonicalPath (Chromium's URL
// canonicalizer): backslashes become slashes, "." and ".." segments — also
// spelled %2e / %2E — are resolved as RFC 3986 remove_dot_segments does, a
// ".." above the root stays at the root. merge_slashes collapses runs of
// "/". The query and fragment are left untouched. Returns false (and leaves
// the path) when the path does not start with "/" (Envoy rejects such a
// request before normalizing; meshsim routes it as is).
#pragma once

#include <string>

namespace meshsim::proxy::http {

bool normalize_request_path(std::string& target, bool normalize_path, bool merge_slashes);

}  // namespace meshsim::proxy::http
