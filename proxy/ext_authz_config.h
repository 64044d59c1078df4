// Envoy's ext_authz HTTP filter config (envoy.extensions.filters.http.
// ext_authz.v3.ExtAuthz) with an HTTP service, as istiod generates it for a
// CUSTOM AuthorizationPolicy's envoyExtAuthzHttp provider
// (I:pilot/pkg/security/authz/builder/extauthz.go generateHTTPConfig).
// The filter runs only for requests that the CUSTOM policies' shadow RBAC
// filter matched (filter_enabled_metadata on its effective policy id).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/rbac_config.h"

namespace meshsim::proxy {

struct ExtAuthzConfig {
  std::string provider;  // the mesh config extension provider's name
  // http_service.server_uri
  std::string uri;      // "http://ext-authz.foo.svc.cluster.local"
  std::string cluster;  // "outbound|8000||ext-authz.foo.svc.cluster.local"
  Duration timeout = Duration::seconds(600);
  std::string path_prefix;
  // authorization_request: headers copied from the client's request (besides
  // Host, Method, Path, Content-Length and Authorization, always sent), and
  // headers added to every check.
  std::vector<StringMatcher> allowed_headers;
  std::vector<std::pair<std::string, std::string>> headers_to_add;
  // authorization_response
  std::vector<StringMatcher> allowed_upstream_headers;           // check → upstream request on allow
  std::vector<StringMatcher> allowed_client_headers;             // check → client on deny
  std::vector<StringMatcher> allowed_client_headers_on_success;  // check → client response on allow
  bool failure_mode_allow = false;
  uint32_t status_on_error = 403;
  // filter_enabled_metadata: envoy.filters.http.rbac / <key> starts with <prefix>.
  std::string enabled_metadata_key = "istio_ext_authz_shadow_effective_policy_id";
  std::string enabled_prefix = "istio-ext-authz";
};

}  // namespace meshsim::proxy
