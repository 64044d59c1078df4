#include "sim/net/capture_rules.h"

#include <algorithm>

namespace meshsim::sim {
namespace {

bool contains(const std::vector<uint16_t>& v, uint16_t port) { return std::find(v.begin(), v.end(), port) != v.end(); }

bool in_any(const std::vector<Cidr>& ranges, Ipv4 ip) {
  return std::any_of(ranges.begin(), ranges.end(), [ip](const Cidr& c) { return c.contains(ip); });
}

bool has_loopback_range(const std::vector<Cidr>& ranges) {
  return std::any_of(ranges.begin(), ranges.end(), [](const Cidr& c) { return c.base.is_loopback(); });
}

}  // namespace

const char* to_string(CaptureAction a) {
  switch (a) {
    case CaptureAction::kNone: return "not-captured";
    case CaptureAction::kRedirectOutbound: return "redirect-15001";
    case CaptureAction::kRedirectInbound: return "redirect-15006";
  }
  return "?";
}

const char* to_string(CaptureReason r) {
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
  }
  return "?";
}

mesh::TrafficInterception default_interception() {
  mesh::TrafficInterception t;
  t.exclude_inbound_ports = {15090, 15021, t.status_port};
  return t;
}

CaptureDecision classify_outbound(const mesh::TrafficInterception& rules, const OutboundConnection& c) {
  using A = CaptureAction;
  using R = CaptureReason;
  const uint16_t port = c.destination.port;
  const Ipv4 dst = c.destination.ip;
  const bool is_proxy = c.uid == rules.proxy_uid;
  if (contains(rules.exclude_outbound_ports, port)) return {A::kNone, R::kExcludedOutboundPort};
  if (c.destination_local && c.source == kInboundPassthroughSource) return {A::kNone, R::kInboundPassthroughSource};
  if (c.destination_local && dst != Ipv4::loopback() && port != kInboundTunnelPort && is_proxy) {
    return {A::kRedirectInbound, R::kProxyToLocalAddress};
  }
  if (c.destination_local && !is_proxy && !has_loopback_range(rules.include_outbound_ip_ranges)) {
    return {A::kNone, R::kAppToLocalAddress};
  }
  if (is_proxy) return {A::kNone, R::kProxyUid};
  if (dst == Ipv4::loopback()) return {A::kNone, R::kLoopbackDestination};
  if (in_any(rules.exclude_outbound_ip_ranges, dst)) return {A::kNone, R::kExcludedOutboundIpRange};
  if (contains(rules.include_outbound_ports, port)) return {A::kRedirectOutbound, R::kIncludedOutboundPort};
  if (rules.outbound_all_ips) return {A::kRedirectOutbound, R::kAllOutboundIpRanges};
  if (in_any(rules.include_outbound_ip_ranges, dst)) return {A::kRedirectOutbound, R::kIncludedOutboundIpRange};
  return {A::kNone, R::kNotInIncludedIpRanges};
}

CaptureDecision classify_inbound(const mesh::TrafficInterception& rules, uint16_t port) {
  using A = CaptureAction;
  using R = CaptureReason;
  if (!rules.inbound_all_ports && rules.include_inbound_ports.empty()) return {A::kNone, R::kInboundCaptureDisabled};
  if (port == kInboundTunnelPort) return {A::kNone, R::kInboundTunnelPortExempt};
  if (rules.inbound_all_ports) {
    if (contains(rules.exclude_inbound_ports, port)) return {A::kNone, R::kExcludedInboundPort};
    return {A::kRedirectInbound, R::kAllInboundPorts};
  }
  if (contains(rules.include_inbound_ports, port)) return {A::kRedirectInbound, R::kIncludedInboundPort};
  return {A::kNone, R::kInboundPortNotIncluded};
}

}  // namespace meshsim::sim
