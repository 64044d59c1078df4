// The hash of a request for RING_HASH / MAGLEV clusters, as Envoy's
// Http::HashPolicyImpl::generateHash computes it from RouteAction.hash_policy
// (docs/istio/http-traffic-management.md §7.2): each entry that yields a hash
// is combined as hash = rotl64(hash, 1) ^ h; a terminal entry that leaves a
// hash stops the walk. A cookie entry with a ttl and no such cookie in the
// request generates the cookie value from the downstream connection's
// addresses and asks for a Set-Cookie on the response. Pure and
// deterministic: no randomness, no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proxy/base/ip.h"
#include "proxy/config.h"
#include "proxy/http/message.h"

namespace meshsim::proxy::http {

struct HashInputs {
  const Request* request = nullptr;
  SocketAddress downstream_remote;  // the client's address on the connection
  SocketAddress downstream_local;   // the proxy's side (the original destination on outbound)
};

struct HashResult {
  std::optional<uint64_t> hash;        // nullopt: no entry produced a hash
  std::vector<std::string> set_cookies;  // Set-Cookie values to add to the upstream response
};

HashResult generate_hash(const std::vector<HashPolicy>& policies, const HashInputs& in);

// Envoy's Utility::makeSetCookieValue with httponly: name="value"; Max-Age=…;
// Path=…; attributes…; HttpOnly.
std::string make_set_cookie_value(std::string_view name, std::string_view value, std::string_view path,
                                  int64_t max_age_s, const std::vector<HashPolicy::CookieAttribute>& attributes);

// The value of cookie `name` in the request's Cookie headers with surrounding
// quotes stripped (Utility::parseCookieValue); "" when absent.
std::string cookie_value(const Request& req, std::string_view name);

}  // namespace meshsim::proxy::http
