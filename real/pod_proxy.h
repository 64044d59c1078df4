// PodProxy is one pod's sidecar on real sockets: the configuration istiod
// would push to it (mesh::build_sidecar_config — what `meshsim proxy-config`
// shows and the simulation runs), a workload certificate from the mesh CA as
// pilot-agent would fetch it (SPIFFE URI SAN, TTL SECRET_TTL or 24 h) and
// renew it (at SECRET_GRACE_PERIOD_RATIO of its lifetime, in wall time: new
// handshakes present the new certificate, open connections keep theirs), and
// the engine on an AsioHost. It answers Envoy's admin endpoints (/ready,
// /stats, /stats/prometheus, /clusters, /certs, /config_dump,
// POST /quitquitquit, POST /drain_listeners) through admin(), and writes the
// pod's certificates in the layout of /etc/certs so real clients can present
// them (rewritten at each renewal).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/asio/asio_host.h"
#include "proxy/asio/http_server.h"
#include "proxy/base/result.h"

namespace meshsim::tls {
class CertificateAuthority;
}

namespace meshsim::real {

struct PodProxyOptions {
  std::vector<proxy::asio::ListenSpec> listeners;
  std::map<SocketAddress, SocketAddress> upstream_map;
  // Where its sockets are created (`up --netns`: the pod's namespace, uid/gid 1337).
  proxy::asio::SocketPlace place;
  uint64_t seed = 1;
  // One line per access-log entry (Istio's default TEXT format); empty: none.
  std::function<void(const std::string&)> access_log;
  // Called when /quitquitquit is posted (the owner exits after draining).
  std::function<void()> on_quit;
  // A gateway (router mode): no capture listeners; each listener of its
  // configuration that binds a port gets the ListenSpec this returns for the
  // port (listener_port = the port), and the credentials its TLS contexts name
  // are loaded from the mesh's Secrets. Empty: a sidecar.
  std::function<proxy::asio::ListenSpec(uint16_t port)> router_listen;
};

class PodProxy {
 public:
  PodProxy(proxy::asio::EventLoop& loop, std::shared_ptr<const mesh::World> world, const mesh::WorldPod& pod,
           tls::CertificateAuthority& ca, PodProxyOptions options);
  ~PodProxy();
  PodProxy(const PodProxy&) = delete;
  PodProxy& operator=(const PodProxy&) = delete;

  // Issues the certificate, applies the configuration, opens the listeners
  // (options.listeners, then a gateway's own).
  Status start();
  // The ports the listeners are bound to, in ListenSpec order.
  const std::vector<uint16_t>& ports() const { return ports_; }
  // Every listener opened (options.listeners, then a gateway's), bound ports filled in.
  const std::vector<proxy::asio::ListenSpec>& listened() const { return listened_; }
  const std::string& name() const { return name_; }  // "NS/POD"
  const std::string& spiffe_id() const { return spiffe_; }

  // Envoy's admin interface.
  void admin(const proxy::asio::HttpServerRequest& req, proxy::asio::HttpServerResponse& res);
  // Writes cert-chain.pem, key.pem, root-cert.pem (Istio's /etc/certs names).
  // Remembers `dir`: each renewal rewrites the files there.
  Status write_certs(const std::string& dir);

  // Drain (SIGTERM): stop accepting; true once no connection is open.
  void drain();
  bool draining() const { return draining_; }
  size_t open_connections() const;
  proxy::asio::AsioHost& host() { return *host_; }

  std::string stats_text() const;
  std::string prometheus_text() const;
  std::string clusters_text() const;
  std::string certs_json() const;  // Envoy's /certs
  std::string config_dump() const;
  uint64_t certificates_issued() const { return issued_; }

 private:
  struct Sinks;
  proxy::asio::EventLoop& loop_;
  std::shared_ptr<const mesh::World> world_;
  const mesh::WorldPod& pod_;
  tls::CertificateAuthority& ca_;
  PodProxyOptions options_;
  std::string name_, spiffe_;
  std::unique_ptr<Sinks> sinks_;
  std::unique_ptr<proxy::asio::AsioHost> host_;
  std::shared_ptr<const proxy::ProxyConfig> config_;
  std::vector<uint16_t> ports_;
  std::vector<proxy::asio::ListenSpec> listened_;
  bool draining_ = false;
  void issue_certificate(bool rotation);
  Duration ttl_;
  uint64_t issued_ = 0;
  std::string certs_dir_;  // where write_certs() last wrote (rewritten on renewal)
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // renewal timers check it
};

// Envoy's counter names of a sidecar's stats, summed over their scopes, as
// "name: value" lines sorted by name (the /stats text format).
std::string render_stats_text(const proxy::SidecarStats& stats);

}  // namespace meshsim::real
