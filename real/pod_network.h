// PodNetwork is `meshsim up --netns`: pods in Linux network namespaces, wired
// the way a CNI plugin wires them, with the capture rules a cluster has.
//
//   * one namespace per pod, "<prefix>-<ns>-<pod>" (what `ip netns exec`
//     takes), holding eth0 with the pod IP (/32) and a default route via
//     169.254.1.1 — the node end of a veth pair, as Calico does it;
//   * one node namespace "<prefix>-node" with the other ends, a /32 route per
//     pod, forwarding on, and kube-proxy's iptables rules (KUBE-SERVICES →
//     KUBE-SVC-… → KUBE-SEP-… DNAT, statistic-mode random over endpoints) so a
//     ClusterIP works for clients without a sidecar;
//   * in each injected pod's namespace the rules istio-init applies
//     (mesh::istio_iptables_restore, fed to the real iptables-restore
//     --noflush), so the kernel REDIRECTs to 15001/15006 and SO_ORIGINAL_DST
//     gives the sidecar the original destination;
//   * /etc/netns/<name>/hosts with the Services' names (what `ip netns exec`
//     bind-mounts over /etc/hosts), so `curl http://reviews:9080/` resolves.
//
// Everything is created by the real `ip` and `iptables-restore` programs and
// removed again on destruction (namespaces, their veths, the /etc/netns
// files).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/asio/socket_place.h"
#include "proxy/base/ip.h"
#include "proxy/base/result.h"

namespace meshsim::real {

class PodNetwork {
 public:
  // Empty when namespaces, veths and iptables can be used here; else why not
  // (not root, `ip` or `iptables-restore` missing, or the kernel refused).
  static std::string unavailable_reason();

  explicit PodNetwork(std::string prefix = "ms");
  ~PodNetwork();
  PodNetwork(const PodNetwork&) = delete;
  PodNetwork& operator=(const PodNetwork&) = delete;

  // The node namespace; call once, first.
  Status create_node();
  // One pod's namespace and veth; `hosts` becomes its /etc/hosts.
  Status add_pod(const std::string& key, const std::string& ns_name, Ipv4 ip, const std::string& hosts);
  // iptables-restore --noflush `rules` inside the pod's (or, key "", the
  // node's) namespace.
  Status restore_iptables(const std::string& key, const std::string& rules);
  // `iptables-save` inside that namespace (what a user would look at).
  Result<std::string> save_iptables(const std::string& key) const;

  // The namespace name of a pod ("" for the node).
  std::string netns_name(const std::string& key) const;
  // A SocketPlace in that namespace (uid/gid as given, -1 = unchanged). The
  // descriptor stays owned by this PodNetwork.
  Result<proxy::asio::SocketPlace> place(const std::string& key, int uid = -1, int gid = -1);
  const std::string& node_name() const { return node_; }

 private:
  struct Pod {
    std::string netns;
    Ipv4 ip;
    int fd = -1;
  };
  std::string prefix_, node_;
  int node_fd_ = -1;
  bool node_created_ = false;
  std::map<std::string, Pod> pods_;
  std::vector<std::string> created_;  // namespaces to delete, in creation order
};

// Runs argv (argv[0] looked up in /usr/sbin, /sbin, /usr/bin, /bin), stdin
// from `input`; returns its stdout, or an error with its stderr and exit code.
Result<std::string> run_program(const std::vector<std::string>& argv, const std::string& input = "");

// kube-proxy's (iptables mode) chain names: "KUBE-SVC-" + the first 16
// characters of base32(sha256(<ns>/<svc>:<port name> + "tcp")), and
// "KUBE-SEP-" + the same of <ns>/<svc>:<port name> + "tcp" + <ip>:<port>.
std::string kube_service_chain(const std::string& service_port_name);
std::string kube_endpoint_chain(const std::string& service_port_name, const std::string& endpoint);

}  // namespace meshsim::real
