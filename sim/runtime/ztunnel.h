// Ztunnel is the ambient node proxy of one node (the istio-system/ztunnel
// DaemonSet's pod there; docs/model/ambient.md). It runs in "in-pod" mode as
// istio-cni configures it: for every ambient pod on its node it holds
// listeners *inside that pod's network namespace* — 15001 (outbound, where
// istio-cni's OUTPUT rule redirects the app's connections), 15006 (inbound
// plaintext, PREROUTING redirect) and 15008 (HBONE, never redirected) — and
// opens its own sockets there too, marked 0x539 (meshsim: uid 1337, see
// mesh/interception.h classify_ambient_*), so they are never captured again.
//
// Outbound (ztunnel src/proxy/outbound.rs build_request): the original
// destination is resolved as ztunnel's workload state does — a Service VIP
// to one of its ready endpoints (random, stream "ztunnel/<node>"), a pod IP
// to that pod; an ambient destination gets HBONE: mTLS to <pod IP>:15008
// presenting the *source workload's* certificate (ALPN h2, TLS 1.3, the
// server verified against the destination workload's SPIFFE identity), then
// an HTTP/2 CONNECT with :authority <pod IP>:<target port>
// (proxy/http/hbone.h). Anything else is plain TCP to the resolved address.
//
// Inbound HBONE (src/proxy/inbound.rs): TLS with the destination workload's
// certificate, client certificate required; per CONNECT the authority must be
// this pod's IP (400 otherwise), the L4 AuthorizationPolicies are checked
// (401), then ztunnel connects to the app from the original source IP
// (freebind) and answers 200, or 503 when the app refuses. Inbound plaintext
// (inbound_passthrough.rs): PeerAuthentication STRICT rejects it, else the
// L4 policies (without a peer identity) decide.
//
// stop() is a dead ztunnel: every listener closes (the in-pod redirects
// stay, so the pods' new connections are refused) and every connection it
// held is reset. Decisions are published as ZtunnelObservations.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/tls/certificates.h"
#include "sim/net/network.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace meshsim::sim {

// What the ztunnel of `node` serves according to the mesh model, for
// `proxy-config` (istioctl ztunnel-config workload / policy): its pod name,
// then per ambient workload on the node its address, identity, listeners and
// the L4 policies ztunnel enforces for it (mesh/ztunnel_authz.h). Empty when
// the mesh has no ambient pod or the node is unknown.
std::vector<std::string> describe_ztunnel(const mesh::World& w, std::string_view node);
// The node whose ztunnel is `name` ("istio-system/ztunnel-xxxxx" or
// "ztunnel-xxxxx"), "" if none — only when the mesh has ambient pods.
std::string ztunnel_node(const mesh::World& w, std::string_view name);
bool mesh_has_ambient(const mesh::World& w);

class Ztunnel {
 public:
  Ztunnel(Simulator& sim, Network& net, tls::CertificateAuthority& ca, std::string node,
          std::function<Duration()> wall_clock);
  ~Ztunnel();
  Ztunnel(const Ztunnel&) = delete;
  Ztunnel& operator=(const Ztunnel&) = delete;

  const std::string& node() const { return node_; }
  // "istio-system/ztunnel-xxxxx"
  const std::string& pod() const { return pod_; }

  // The mesh model ztunnel's xDS (WDS: workloads, services, policies) reflects.
  void set_world(std::shared_ptr<const mesh::World> world);
  // Enrols an ambient pod of this node (its host = its network namespace).
  void add_workload(HostId host, int32_t pod_index);

  // The pod's network namespace went away (killPod) / came back
  // (restartPod): istio-cni removes it from ztunnel and enrols it again, so
  // its in-pod listeners close and reopen (while ztunnel runs).
  void pod_stopped(std::string_view ns_slash_name);
  void pod_started(std::string_view ns_slash_name);

  // Starts (or restarts) the process: certificates for every enrolled
  // workload, listeners in every pod. False if a port is taken.
  bool start();
  // The process dies (see above).
  void stop();
  bool running() const { return running_; }

  // For `proxy-config`: the workloads this ztunnel serves and, per workload,
  // the L4 policies that apply. One line per item.
  std::vector<std::string> describe() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> m_;
  std::string node_, pod_;
  bool running_ = false;
};

}  // namespace meshsim::sim
