// PodAgent is pilot-agent in an injected pod: it gets the workload
// certificate from the mesh CA (SPIFFE ID of the pod's service account, TTL
// 24 h or SECRET_TTL from proxyMetadata) and hands it to the sidecar (SDS
// "default", with "ROOTCA"), renews it when the remaining lifetime falls under
// SECRET_GRACE_PERIOD_RATIO (0.5, jittered by ±1%), and serves the status port
// (15020 unless status.sidecar.istio.io/port says otherwise): /healthz/ready
// and the rewritten kubelet probes /app-health/<container>/livez|readyz|startupz,
// which it performs against the application itself over localhost, bypassing
// the sidecar (ISTIO_BEHAVIOR.md §5, §6).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "mesh/world.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls_transport.h"
#include "sim/net/network.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace meshsim::sim {

class PodAgent {
 public:
  // `wall_clock` is the pod's wall-clock time (virtual time plus any clock
  // jump); certificate validity is written in it. Renewal timers run on
  // virtual (monotonic) time, like istio-agent's.
  PodAgent(Simulator& sim, Network& net, HostId host, const mesh::WorldPod& pod, const mesh::MeshConfig& mc,
           tls::CertificateAuthority& ca, proxy::SecretStore& secrets, std::function<Duration()> wall_clock);
  ~PodAgent();

  // Issues the first certificate and starts the status server.
  bool start();
  void stop();

  Duration cert_ttl() const { return ttl_; }
  uint64_t certificates_issued() const { return issued_; }
  const std::string& spiffe_id() const { return spiffe_; }
  // When the current certificate expires / will be renewed (virtual time).
  Duration current_not_after() const { return not_after_; }
  Duration next_rotation() const { return next_rotation_; }
  // Stop renewing (e.g. istiod unreachable): the certificate runs out.
  void set_renewal_enabled(bool enabled) { renew_ = enabled; }

 private:
  void issue(bool rotation);
  TcpCallbacks accept(TcpSocket s, const ConnectionInfo& info);
  void serve(uint64_t conn, const std::string& path);
  void respond(uint64_t conn, int status, const std::string& body);

  Simulator& sim_;
  Network& net_;
  HostId host_;
  std::function<Duration()> wall_clock_;
  std::string pod_label_;
  std::string spiffe_;
  const mesh::WorldPod& pod_;
  const mesh::MeshConfig& mc_;
  tls::CertificateAuthority& ca_;
  proxy::SecretStore& secrets_;
  ActorId actor_;
  EventKindId k_rotate_, k_cert_, k_probe_;
  RandomStream rng_;
  Duration ttl_;
  Duration not_after_;
  Duration next_rotation_;
  EventId rotation_;
  uint64_t issued_ = 0;
  bool renew_ = true;
  uint16_t status_port_ = 15020;
  ListenerId listener_;
  struct Pending;
  std::map<uint64_t, std::unique_ptr<Pending>> conns_;
};

}  // namespace meshsim::sim
