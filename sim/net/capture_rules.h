// The istio-iptables traffic capture model: which connections of an injected
// pod iptables hands to the sidecar, written as two pure functions over
// mesh::TrafficInterception. The rule order is the one istio-iptables installs
// in REDIRECT mode (tools/istio-iptables/pkg/capture/run.go in istio/istio;
// golden files under .../capture/testdata/), evaluated first-match:
//
//   nat OUTPUT → ISTIO_OUTPUT (connections the pod opens):
//     1. dport ∈ excludeOutboundPorts                           → RETURN
//     2. -o lo  -s 127.0.0.6                                    → RETURN
//     3. -o lo  ! -d 127.0.0.1  ! --dport 15008  uid == 1337    → ISTIO_IN_REDIRECT (15006)
//     4. -o lo  uid != 1337  (unless an include range is loopback) → RETURN
//     5. uid == 1337                                            → RETURN
//     6. -d 127.0.0.1                                           → RETURN
//     7. -d ∈ excludeOutboundIPRanges                           → RETURN
//     8. dport ∈ includeOutboundPorts                           → ISTIO_REDIRECT (15001)
//     9. includeOutboundIPRanges "*" → ISTIO_REDIRECT; else -d ∈ ranges → ISTIO_REDIRECT
//    10. otherwise not captured
//   ("-o lo" = the destination is local to the pod: 127.0.0.0/8 or its own IP.
//    The gid-owner rules duplicate the uid rules for the same process.)
//
//   nat PREROUTING → ISTIO_INBOUND (connections arriving from another netns):
//     1. dport 15008                                            → RETURN
//     2. includeInboundPorts "*": dport ∈ excludeInboundPorts   → RETURN, else → 15006
//        (the injector always puts 15090, 15021 and the status port 15020 in
//         excludeInboundPorts)
//     3. explicit list: dport ∈ includeInboundPorts → 15006, else RETURN
//        (exclusions are not consulted in this mode, exactly as istio-iptables)
//
// Locally generated connections never traverse PREROUTING, so classify_inbound
// applies only when the client is in another network namespace.
#pragma once

#include <cstdint>

#include "mesh/interception.h"
#include "proxy/base/ip.h"

namespace meshsim::sim {

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
};
const char* to_string(CaptureReason r);
const char* to_string(CaptureAction a);

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

// What the injector produces for a pod without traffic.sidecar.istio.io/*
// annotations: everything captured, inbound ports 15090, 15021 and the status
// port 15020 excluded (injection-template.yaml passes them to -d).
mesh::TrafficInterception default_interception();

// ISTIO_OUTPUT for a connection opened inside an injected pod.
CaptureDecision classify_outbound(const mesh::TrafficInterception& rules, const OutboundConnection& c);

// ISTIO_INBOUND for a connection arriving at an injected pod from another
// network namespace.
CaptureDecision classify_inbound(const mesh::TrafficInterception& rules, uint16_t destination_port);

}  // namespace meshsim::sim
