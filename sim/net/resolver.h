// NameResolver answers the DNS questions a pod's resolver would ask the
// cluster DNS (CoreDNS with the kubernetes plugin), so virtual apps can connect
// to "reviews", "reviews.bookinfo" or "reviews.bookinfo.svc.cluster.local".
// The mesh adapter fills it with services, headless services and pod
// hostnames; the answers are A records only, and resolution takes no virtual
// time (DNS traffic is not simulated).
//
// Lookup follows a pod's /etc/resolv.conf as the kubelet writes it:
//   search <ns>.svc.<domain> svc.<domain> <domain>     options ndots:5
// A name with a trailing dot is absolute. A name with fewer than five dots is
// tried with each search suffix first, then as given; otherwise as given
// first. Names are case-insensitive. IPv4 literals resolve to themselves.
// A candidate with no addresses (a headless service without ready endpoints)
// counts as not found and the search continues.
//
// Deterministic: addresses are returned in the order they were added.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/ip.h"
#include "proxy/base/result.h"

namespace meshsim::sim {

class NameResolver {
 public:
  explicit NameResolver(std::string cluster_domain = "cluster.local");

  const std::string& cluster_domain() const { return domain_; }

  // <name>.<ns>.svc.<domain> → cluster_ip.
  Status add_service(std::string_view ns, std::string_view name, Ipv4 cluster_ip);
  // <name>.<ns>.svc.<domain> → the pod IPs of its ready endpoints.
  Status add_headless_service(std::string_view ns, std::string_view name, std::vector<Ipv4> pod_ips);
  // <hostname>.<subdomain>.<ns>.svc.<domain> → pod IP (pods with spec.hostname
  // and spec.subdomain naming a headless service, e.g. StatefulSet members).
  Status add_pod_hostname(std::string_view ns, std::string_view subdomain, std::string_view hostname, Ipv4 ip);
  // Any other absolute name (e.g. a ServiceEntry host with addresses).
  Status add_name(std::string_view fqdn, std::vector<Ipv4> ips);

  struct Answer {
    bool found = false;
    std::string fqdn;             // the name that answered (no trailing dot)
    std::vector<Ipv4> addresses;  // empty when !found
  };
  // Resolves `query` as a pod in `client_namespace` would.
  Answer resolve(std::string_view query, std::string_view client_namespace) const;

 private:
  Status add(std::string fqdn, std::vector<Ipv4> ips);
  std::string domain_;
  std::map<std::string, std::vector<Ipv4>, std::less<>> names_;
};

}  // namespace meshsim::sim
