// TrafficInterception is what istio-iptables redirects for one injected pod,
// decoded from its traffic.sidecar.istio.io/* annotations (ISTIO_BEHAVIOR.md §4).
// mesh/ fills it (and validates the annotation values); sim/'s network applies
// it to every connection the pod makes or receives. Plain data, no behaviour.
#pragma once

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
  // regardless of IP; exclude_outbound_ports are never redirected.
  bool outbound_all_ips = true;
  std::vector<Cidr> include_outbound_ip_ranges;
  std::vector<Cidr> exclude_outbound_ip_ranges;
  std::vector<uint16_t> include_outbound_ports;
  std::vector<uint16_t> exclude_outbound_ports;

  uint16_t status_port = 15020;
  uint32_t proxy_uid = 1337;  // the sidecar's own traffic is never captured again
};

// True if istio-iptables redirects an inbound connection to `port` to the sidecar.
inline bool captures_inbound(const TrafficInterception& t, uint16_t port) {
  for (uint16_t p : t.exclude_inbound_ports)
    if (p == port) return false;
  if (t.inbound_all_ports) return true;
  for (uint16_t p : t.include_inbound_ports)
    if (p == port) return true;
  return false;
}

// True if an outbound connection from the app to dst:port is redirected to the
// sidecar. Rule order follows istio-iptables' ISTIO_OUTPUT chain: excluded
// ports, included ports, excluded ranges, then included ranges (or "*").
inline bool captures_outbound(const TrafficInterception& t, Ipv4 dst, uint16_t port) {
  for (uint16_t p : t.exclude_outbound_ports)
    if (p == port) return false;
  for (uint16_t p : t.include_outbound_ports)
    if (p == port) return true;
  for (const Cidr& c : t.exclude_outbound_ip_ranges)
    if (c.contains(dst)) return false;
  if (t.outbound_all_ips) return true;
  for (const Cidr& c : t.include_outbound_ip_ranges)
    if (c.contains(dst)) return true;
  return false;
}

}  // namespace meshsim::mesh
