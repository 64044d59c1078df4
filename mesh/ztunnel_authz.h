// L4 AuthorizationPolicy as ztunnel enforces it. istiod converts each policy
// for ztunnel (I:pilot/pkg/serviceregistry/ambient/authorization.go
// convertAuthorizationPolicy / handleRule) and ztunnel evaluates the result
// (ztunnel src/rbac.rs Authorization::matches, src/state.rs assert_rbac).
// This is not Envoy's RBAC (proxy/rbac.h), and the differences matter:
//
//  * targetRefs policies are not for ztunnel (skipped); AUDIT and CUSTOM are
//    not supported by ztunnel (skipped, reported);
//  * a rule is a list of clauses — one per `to` list, one per `from` list,
//    one per `when` condition — all of which must match; a clause matches
//    when any of its matches does, and a match with no L4 field at all
//    never matches ("empty clause"); a rule with no clause matches all;
//  * HTTP attributes (hosts, methods, paths, request principals, other
//    `when` keys) are dropped; in an ALLOW policy the whole rule is dropped
//    ("L7 policies never match for ALLOW"), so an ALLOW policy whose rules
//    all use HTTP attributes allows nothing — without a waypoint, every
//    connection to the workload is denied;
//  * principals match the identity without "spiffe://"; namespaces the
//    peer identity's namespace; serviceAccounts "ns/sa" (or the policy's
//    namespace); ipBlocks the source IP; ports the destination port;
//  * DENY policies first (any match denies), then no ALLOW policy ⇒ allow,
//    any ALLOW match ⇒ allow, else deny. A plaintext connection has no
//    identity: identity-based fields do not match it.
//
// Policies apply to a workload from the root namespace (no selector: every
// workload), its own namespace without selector, and with a matching selector.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/base/ip.h"

namespace meshsim::mesh {

struct ZtunnelConnection {
  std::optional<std::string> src_identity;  // "spiffe://td/ns/x/sa/y"; nullopt = plaintext
  Ipv4 src_ip;
  Ipv4 dst_ip;
  uint16_t dst_port = 0;
};

struct ZtunnelAuthzDecision {
  bool allowed = true;
  std::string policy;  // "ns/name" of the deciding policy ("" when none)
  std::string reason;  // "allow policy ns/x matched", "explicitly denied by ns/y", "no allow policy matched"
};

// The policies that apply to `pod` as ztunnel sees them, each rendered for
// proxy-config ("ALLOW default/p: 1 rule(s) [HTTP attributes dropped: methods]").
std::vector<std::string> describe_ztunnel_policies(const World& w, const WorldPod& pod);

ZtunnelAuthzDecision ztunnel_authorize(const World& w, const WorldPod& pod, const ZtunnelConnection& c);

}  // namespace meshsim::mesh
