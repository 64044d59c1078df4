// The rules istio-init applies in an injected pod's network namespace: the
// arguments the sidecar injector gives `istio-iptables` for a pod (from its
// traffic.sidecar.istio.io/* annotations and the injection template's
// defaults), and the iptables-restore input istio-iptables builds from them —
// rule for rule, in istio-iptables' order and text, so `meshsim up --netns`
// can apply them with the real iptables-restore and the kernel does the
// capture. Checked against Istio's own goldens
// (tools/istio-iptables/pkg/capture/testdata/*.golden,
// tests/data/istio-iptables/).
//
// The capture *decision* inside the simulation stays mesh/interception.h
// (classify_outbound / classify_inbound); these are the same rules written for
// a real kernel. tests/real_sockets_e2e_test.cc checks that the kernel, given
// these rules, captures what classify_* says.
//
// IPv4 only (meshsim's addresses are IPv4): the ip6tables half is not built.
#pragma once

#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/base/result.h"

namespace meshsim::mesh {

// istio-iptables' flags (tools/common/config.Config), as strings the way the
// tool takes them. Defaults are the tool's own (not the injector's: see
// istio_init_config).
struct IstioIptablesConfig {
  std::string proxy_port = "15001";            // -p
  std::string inbound_capture_port = "15006";  // -z
  std::string inbound_tunnel_port = "15008";   // -e
  std::string proxy_uid = "1337";              // -u
  std::string proxy_gid = "1337";              // -g
  std::string inbound_interception_mode;       // -m: REDIRECT (or empty) | TPROXY
  std::string inbound_tproxy_mark = "1337";    // -t
  std::string inbound_ports_include;           // -b: "*" | list | "" (no inbound capture)
  std::string inbound_ports_exclude;           // -d
  std::string outbound_ip_ranges_include;      // -i: "*" | CIDR list
  std::string outbound_ip_ranges_exclude;      // -x
  std::string outbound_ports_include;          // -q
  std::string outbound_ports_exclude;          // -o
  std::string reroute_virtual_interfaces;      // -k
  std::string exclude_interfaces;              // -c
  std::string owner_groups_include = "*";      // ISTIO_OUTBOUND_OWNER_GROUPS
  std::string owner_groups_exclude;            // ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE
  std::string host_ipv4_loopback_cidr = "127.0.0.1/32";  // ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR
  bool redirect_dns = false;                   // --redirect-dns (ISTIO_META_DNS_CAPTURE)
  bool capture_all_dns = false;                // --capture-all-dns
  bool drop_invalid = false;                   // --drop-invalid (INVALID_DROP)
  std::vector<std::string> dns_servers_v4;     // from the pod's resolv.conf
};

// What the injector passes to istio-init for this pod
// (injection-template.yaml): -p 15001 -z 15006 -u 1337 -m REDIRECT
// -i "*" -x "" -b "*" -d 15090,15021,15020 [-q …] [-o …] [-k …] [-c …],
// each value an annotation's when the pod has it.
IstioIptablesConfig istio_init_config(const WorldPod& pod, uint32_t status_port = 15020);

// The istio-init container's args for that configuration, as the injector
// writes them ("istio-iptables", "-p", "15001", …).
std::vector<std::string> istio_init_args(const IstioIptablesConfig& cfg);

// The iptables-restore --noflush input istio-iptables builds (BuildV4Restore):
// per table (filter, mangle, nat, raw, in that order, only tables with rules)
// "* table", the -N lines of its ISTIO_* chains, the rules, "COMMIT".
// Errors: a CIDR that does not parse, or "*" in the exclude ranges.
Result<std::string> istio_iptables_restore(const IstioIptablesConfig& cfg);

}  // namespace meshsim::mesh
