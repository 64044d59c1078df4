// TrafficInterception is what istio-iptables redirects for one injected pod,
// decoded from its traffic.sidecar.istio.io/* annotations (ISTIO_BEHAVIOR.md §4),
// and classify_outbound / classify_inbound are THE capture decision: the one
// place meshsim decides whether a connection is handed to the sidecar. mesh/
// uses it for policy and analyzers, sim/'s network for every virtual
// connection (sim/net/capture_rules.h only names it in meshsim::sim). Pure
// functions, no state.
//
// The rule order is the one istio-iptables installs in REDIRECT mode
// (tools/istio-iptables/pkg/capture/run.go, Run() and handleInboundPortsInclude();
// golden files tools/istio-iptables/pkg/capture/testdata/*.golden in
// istio/istio; docs/model/network.md quotes them), evaluated first-match:
//
//   nat OUTPUT → ISTIO_OUTPUT (connections the pod opens):
//     1. dport ∈ excludeOutboundPorts                           → RETURN
//     2. -o lo  -s 127.0.0.6                                    → RETURN
//     3. -o lo  ! -d 127.0.0.1  ! --dport 15008  uid == 1337    → ISTIO_IN_REDIRECT (15006)
//     4. -o lo  uid != 1337  (unless an include range is loopback) → RETURN
//     5. uid == 1337                                            → RETURN
//     6. -d 127.0.0.1                                           → RETURN
//     7. -d ∈ excludeOutboundIPRanges   ("must be applied before inclusions") → RETURN
//     8. dport ∈ includeOutboundPorts                           → ISTIO_REDIRECT (15001)
//     9. includeOutboundIPRanges "*" → ISTIO_REDIRECT; else -d ∈ ranges → ISTIO_REDIRECT
//    10. otherwise not captured
//   ("-o lo" = the destination is local to the pod: 127.0.0.0/8 or its own IP.
//    The gid-owner rules duplicate the uid rules for the same process.)
//   So an excluded range wins over an included port: 10.1.2.3:5432 with
//   excludeOutboundIPRanges 10.1.0.0/16 and includeOutboundPorts 5432 is NOT captured.
//
//   nat PREROUTING → ISTIO_INBOUND (connections arriving from another netns;
//   the PREROUTING jump exists only when includeInboundPorts is not empty):
//     1. dport 15008                                            → RETURN (always first)
//     2. includeInboundPorts "*": dport ∈ excludeInboundPorts   → RETURN, else → 15006
//        (the injector always puts 15090, 15021 and the status port 15020 in
//         excludeInboundPorts)
//     3. explicit list: dport ∈ includeInboundPorts → 15006, else RETURN
//        (exclusions are not consulted in this mode, exactly as istio-iptables)
//
// Locally generated connections never traverse PREROUTING, so classify_inbound
// applies only when the client is in another network namespace.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "proxy/base/ip.h"

namespace meshsim::mesh {

struct TrafficInterception {
  // Inbound: includeInboundPorts "*" (the default) redirects every port except
  // exclude_inbound_ports; otherwise only include_inbound_ports. An empty
  // include list with inbound_all_ports == false means no inbound redirection.
  bool inbound_all_ports = true;
  std::vector<uint16_t> include_inbound_ports;
  // Always contains 15090, 15021 and the status port (15020 unless
  // status.sidecar.istio.io/port says otherwise), plus the annotation's ports.
  std::vector<uint16_t> exclude_inbound_ports;

  // Outbound: includeOutboundIPRanges "*" (the default) redirects every
  // destination except exclude_outbound_ip_ranges; otherwise only
  // include_outbound_ip_ranges. include_outbound_ports are redirected
  // regardless of include ranges (but not into an excluded range);
  // exclude_outbound_ports are never redirected.
  bool outbound_all_ips = true;
  std::vector<Cidr> include_outbound_ip_ranges;
  std::vector<Cidr> exclude_outbound_ip_ranges;
  std::vector<uint16_t> include_outbound_ports;
  std::vector<uint16_t> exclude_outbound_ports;

  uint16_t status_port = 15020;
  uint32_t proxy_uid = 1337;  // the sidecar's own traffic is never captured again
};

inline constexpr uint16_t kProxyOutboundPort = 15001;  // virtualOutbound
inline constexpr uint16_t kProxyInboundPort = 15006;   // virtualInbound
inline constexpr uint16_t kInboundTunnelPort = 15008;  // HBONE
inline constexpr Ipv4 kInboundPassthroughSource = Ipv4::of(127, 0, 0, 6);

enum class CaptureAction : uint8_t {
  kNone,              // not captured: the connection goes where it was addressed
  kRedirectOutbound,  // REDIRECT --to-ports 15001 (127.0.0.1:15001, original dst kept)
  kRedirectInbound,   // REDIRECT --to-ports 15006 (original dst kept)
};

enum class CaptureReason : uint8_t {
  kNotInjected,
  // outbound
  kExcludedOutboundPort,
  kInboundPassthroughSource,  // bound to 127.0.0.6 (the sidecar's inbound upstream)
  kProxyToLocalAddress,       // uid 1337 to its own pod IP: back through inbound
  kAppToLocalAddress,         // app to its own pod IP or 127/8: not captured
  kProxyUid,                  // uid 1337: the sidecar's own traffic
  kLoopbackDestination,       // -d 127.0.0.1
  kExcludedOutboundIpRange,
  kIncludedOutboundPort,
  kAllOutboundIpRanges,       // includeOutboundIPRanges "*"
  kIncludedOutboundIpRange,
  kNotInIncludedIpRanges,
  // inbound
  kInboundTunnelPortExempt,   // 15008
  kExcludedInboundPort,
  kAllInboundPorts,           // includeInboundPorts "*"
  kIncludedInboundPort,
  kInboundPortNotIncluded,
  kInboundCaptureDisabled,    // includeInboundPorts ""
  // ambient (istio-cni in-pod rules, classify_ambient_*)
  kZtunnelMark,               // the socket carries ztunnel's mark 0x539: never redirected
  kAmbientLocalDestination,   // ! -d 127.0.0.1 -o lo: the app to its own pod address
  kAmbientLoopback,           // -d 127.0.0.1
  kAmbientOutbound,           // REDIRECT --to-ports 15001
  kAmbientHbonePort,          // dport 15008: straight to ztunnel's HBONE listener
  kAmbientProbeSnat,          // from the node (kubelet probe, SNAT 169.254.7.127): ACCEPT
  kAmbientInboundPlaintext,   // REDIRECT --to-ports 15006
};

struct CaptureDecision {
  CaptureAction action = CaptureAction::kNone;
  CaptureReason reason = CaptureReason::kNotInjected;
};

struct OutboundConnection {
  uint32_t uid = 0;        // owner of the connecting socket (1337 = the sidecar)
  Ipv4 source;             // bound or route-selected source address
  SocketAddress destination;
  bool destination_local = false;  // 127.0.0.0/8 or the pod's own IP (routed via lo)
};

// The definitions are inline (this header is all of it) so that sim/'s
// network, which links no mesh/ library, uses the very same code.
namespace interception_detail {

inline bool contains(const std::vector<uint16_t>& v, uint16_t port) { return std::find(v.begin(), v.end(), port) != v.end(); }

inline bool in_any(const std::vector<Cidr>& ranges, Ipv4 ip) {
  return std::any_of(ranges.begin(), ranges.end(), [ip](const Cidr& c) { return c.contains(ip); });
}

inline bool has_loopback_range(const std::vector<Cidr>& ranges) {
  return std::any_of(ranges.begin(), ranges.end(), [](const Cidr& c) { return c.base.is_loopback(); });
}

}  // namespace interception_detail

inline const char* to_string(CaptureAction a) {
  switch (a) {
    case CaptureAction::kNone: return "not-captured";
    case CaptureAction::kRedirectOutbound: return "redirect-15001";
    case CaptureAction::kRedirectInbound: return "redirect-15006";
  }
  return "?";
}

inline const char* to_string(CaptureReason r) {
  switch (r) {
    case CaptureReason::kNotInjected: return "pod has no sidecar";
    case CaptureReason::kExcludedOutboundPort: return "port in excludeOutboundPorts";
    case CaptureReason::kInboundPassthroughSource: return "source 127.0.0.6 (sidecar inbound upstream)";
    case CaptureReason::kProxyToLocalAddress: return "sidecar (uid 1337) to its own pod address";
    case CaptureReason::kAppToLocalAddress: return "app to a local address (lo)";
    case CaptureReason::kProxyUid: return "sidecar's own traffic (uid 1337)";
    case CaptureReason::kLoopbackDestination: return "destination 127.0.0.1";
    case CaptureReason::kExcludedOutboundIpRange: return "destination in excludeOutboundIPRanges";
    case CaptureReason::kIncludedOutboundPort: return "port in includeOutboundPorts";
    case CaptureReason::kAllOutboundIpRanges: return "includeOutboundIPRanges \"*\"";
    case CaptureReason::kIncludedOutboundIpRange: return "destination in includeOutboundIPRanges";
    case CaptureReason::kNotInIncludedIpRanges: return "destination not in includeOutboundIPRanges";
    case CaptureReason::kInboundTunnelPortExempt: return "port 15008 (HBONE) never captured";
    case CaptureReason::kExcludedInboundPort: return "port in excludeInboundPorts";
    case CaptureReason::kAllInboundPorts: return "includeInboundPorts \"*\"";
    case CaptureReason::kIncludedInboundPort: return "port in includeInboundPorts";
    case CaptureReason::kInboundPortNotIncluded: return "port not in includeInboundPorts";
    case CaptureReason::kInboundCaptureDisabled: return "includeInboundPorts empty";
    case CaptureReason::kZtunnelMark: return "ztunnel's own socket (mark 0x539)";
    case CaptureReason::kAmbientLocalDestination: return "ambient: app to its own pod address (-o lo)";
    case CaptureReason::kAmbientLoopback: return "ambient: destination 127.0.0.1";
    case CaptureReason::kAmbientOutbound: return "ambient: redirected to ztunnel outbound 15001";
    case CaptureReason::kAmbientHbonePort: return "ambient: port 15008 goes to ztunnel's HBONE listener";
    case CaptureReason::kAmbientProbeSnat: return "ambient: kubelet probe from the node (SNAT 169.254.7.127)";
    case CaptureReason::kAmbientInboundPlaintext: return "ambient: redirected to ztunnel inbound plaintext 15006";
  }
  return "?";
}

// What the injector produces for a pod without traffic.sidecar.istio.io/*
// annotations: everything captured, inbound ports 15090, 15021 and the status
// port 15020 excluded (injection-template.yaml passes them to -d).
inline TrafficInterception default_interception() {
  TrafficInterception t;
  t.exclude_inbound_ports = {15090, 15021, t.status_port};
  return t;
}

// ISTIO_OUTPUT for a connection opened inside an injected pod.
inline CaptureDecision classify_outbound(const TrafficInterception& rules, const OutboundConnection& c) {
  using A = CaptureAction;
  using R = CaptureReason;
  const uint16_t port = c.destination.port;
  const Ipv4 dst = c.destination.ip;
  const bool is_proxy = c.uid == rules.proxy_uid;
  if (interception_detail::contains(rules.exclude_outbound_ports, port)) return {A::kNone, R::kExcludedOutboundPort};
  if (c.destination_local && c.source == kInboundPassthroughSource) return {A::kNone, R::kInboundPassthroughSource};
  if (c.destination_local && dst != Ipv4::loopback() && port != kInboundTunnelPort && is_proxy) {
    return {A::kRedirectInbound, R::kProxyToLocalAddress};
  }
  if (c.destination_local && !is_proxy && !interception_detail::has_loopback_range(rules.include_outbound_ip_ranges)) {
    return {A::kNone, R::kAppToLocalAddress};
  }
  if (is_proxy) return {A::kNone, R::kProxyUid};
  if (dst == Ipv4::loopback()) return {A::kNone, R::kLoopbackDestination};
  if (interception_detail::in_any(rules.exclude_outbound_ip_ranges, dst)) return {A::kNone, R::kExcludedOutboundIpRange};
  if (interception_detail::contains(rules.include_outbound_ports, port)) return {A::kRedirectOutbound, R::kIncludedOutboundPort};
  if (rules.outbound_all_ips) return {A::kRedirectOutbound, R::kAllOutboundIpRanges};
  if (interception_detail::in_any(rules.include_outbound_ip_ranges, dst)) return {A::kRedirectOutbound, R::kIncludedOutboundIpRange};
  return {A::kNone, R::kNotInIncludedIpRanges};
}

// ISTIO_INBOUND for a connection arriving at an injected pod from another
// network namespace.
inline CaptureDecision classify_inbound(const TrafficInterception& rules, uint16_t port) {
  using A = CaptureAction;
  using R = CaptureReason;
  if (!rules.inbound_all_ports && rules.include_inbound_ports.empty()) return {A::kNone, R::kInboundCaptureDisabled};
  if (port == kInboundTunnelPort) return {A::kNone, R::kInboundTunnelPortExempt};
  if (rules.inbound_all_ports) {
    if (interception_detail::contains(rules.exclude_inbound_ports, port)) return {A::kNone, R::kExcludedInboundPort};
    return {A::kRedirectInbound, R::kAllInboundPorts};
  }
  if (interception_detail::contains(rules.include_inbound_ports, port)) return {A::kRedirectInbound, R::kIncludedInboundPort};
  return {A::kNone, R::kInboundPortNotIncluded};
}

// Ambient pods: the in-pod rules istio-cni installs in the pod's network
// namespace (I:cni/pkg/iptables/iptables.go AppendInpodRules), first match.
// ztunnel's sockets carry mark 0x539; meshsim gives them the proxy uid 1337
// (ConnectOptions::uid), so `uid == proxy_uid` is "-m mark --mark 0x539".
//   nat OUTPUT:  mark 0x111 (connections ztunnel accepted, restored) → ACCEPT
//                ! -d 127.0.0.1 -o lo                               → ACCEPT
//                ! -d 127.0.0.1 -p tcp -m mark ! --mark 0x539       → REDIRECT 15001
//   nat PREROUTING: -s 169.254.7.127 (the node's probes, SNATed)    → ACCEPT
//                ! -d 127.0.0.1 -p tcp ! --dport 15008 ! mark 0x539 → REDIRECT 15006
//   (15008 is not redirected: ztunnel listens on it in the pod's netns.)
inline constexpr uint32_t kZtunnelUid = 1337;

inline CaptureDecision classify_ambient_outbound(const OutboundConnection& c) {
  using A = CaptureAction;
  using R = CaptureReason;
  if (c.uid == kZtunnelUid) return {A::kNone, R::kZtunnelMark};
  if (c.destination.ip == Ipv4::loopback()) return {A::kNone, R::kAmbientLoopback};
  if (c.destination_local) return {A::kNone, R::kAmbientLocalDestination};
  return {A::kRedirectOutbound, R::kAmbientOutbound};
}

inline CaptureDecision classify_ambient_inbound(uint16_t port, bool from_own_node_host) {
  using A = CaptureAction;
  using R = CaptureReason;
  if (from_own_node_host) return {A::kNone, R::kAmbientProbeSnat};
  if (port == kInboundTunnelPort) return {A::kNone, R::kAmbientHbonePort};
  return {A::kRedirectInbound, R::kAmbientInboundPlaintext};
}

// Shorthands over the same decision, for the control plane and analyzers.
// captures_inbound: a connection from another pod to `port` reaches the sidecar.
inline bool captures_inbound(const TrafficInterception& t, uint16_t port) {
  return classify_inbound(t, port).action == CaptureAction::kRedirectInbound;
}
// captures_outbound: the app (not uid 1337) of a pod at `pod_ip` connects to
// dst:port and iptables hands the connection to its sidecar's outbound listener.
inline bool captures_outbound(const TrafficInterception& t, Ipv4 pod_ip, Ipv4 dst, uint16_t port) {
  OutboundConnection c{0, pod_ip, SocketAddress{dst, port}, dst.is_loopback() || dst == pod_ip};
  return classify_outbound(t, c).action == CaptureAction::kRedirectOutbound;
}

}  // namespace meshsim::mesh
