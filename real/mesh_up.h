// MeshUp is `meshsim up`: a whole small mesh on loopback. Every injected pod
// gets a real-socket sidecar (PodProxy) with
//   * one virtualInbound listener per port its Services target (the original
//     destination <pod IP>:<port>, what iptables would have redirected), and
//   * one virtualOutbound listener per Service port of the mesh (original
//     destination <ClusterIP>:<port>) — where a real client "in" that pod
//     connects;
// every pod gets its applications as real local servers (an HTTP echo app;
// a real MariaDB for MySQL ports when mariadbd is installed; or what --app
// names), and every sidecar's upstream map sends a pod IP:port to that pod's
// inbound listener (injected) or its app (no sidecar). Entry points for real
// clients are listed: from a pod's sidecar (outbound), and "without a
// sidecar" (straight to the server pod's inbound listener, as a client
// outside the mesh would arrive). Gateway pods run the engine in router mode
// (their own listeners, credentials from the mesh's Secrets) and get no apps.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/base/result.h"

namespace meshsim::tls {
class CertificateAuthority;
}
namespace meshsim::proxy::asio {
class EventLoop;
class HttpServer;
struct ListenSpec;
}  // namespace meshsim::proxy::asio

namespace meshsim::real {

class PodProxy;
struct PodProxyOptions;
class PodNetwork;
class MariaDbServer;

struct UpOptions {
  // "NS/POD:PORT" (or "NS/WORKLOAD:PORT") → a real server for that container port.
  std::map<std::string, SocketAddress> apps;
  bool mariadb = true;           // start mariadbd for MySQL ports without --app
  std::string work_dir;          // MariaDB data and logs
  uint64_t seed = 1;
  std::function<void(const std::string&)> access_log;
  std::function<void()> on_quit;
  // Pods in network namespaces with istio-init's and kube-proxy's iptables
  // rules (real/pod_network.h) instead of loopback listeners.
  bool netns = false;
  std::string netns_prefix = "ms";
};

struct UpEntry {
  // "outbound" (through the client pod's sidecar), "direct" (no sidecar),
  // "app"; with --netns "pod": run a client inside pod FROM's namespace
  // (`ip netns exec NETNS …`) and connect to the Service's ClusterIP.
  std::string kind;
  std::string from;     // client pod for outbound and pod, "" otherwise
  std::string netns;    // pod: the namespace to run the client in
  std::string service;  // "productpage.default.svc.cluster.local:9080"
  std::string target;   // the pod behind it for direct/app
  SocketAddress address;
  std::string protocol; // "HTTP", "TCP", …
};

class MeshUp {
 public:
  MeshUp(proxy::asio::EventLoop& loop, std::shared_ptr<const mesh::World> world, tls::CertificateAuthority& ca,
         UpOptions options);
  ~MeshUp();
  Status start();
  std::vector<PodProxy*> proxies() const;
  const std::vector<UpEntry>& entries() const { return entries_; }
  // The ListenSpecs of one proxy (for the ready lines).
  const std::vector<proxy::asio::ListenSpec>& listen_specs(const PodProxy* p) const;
  std::string entries_json() const;
  // --netns: the namespaces (nullptr otherwise).
  PodNetwork* network() const { return net_.get(); }

 private:
  struct PodPlan;
  Status start_in_namespaces();
  Status start_proxy(PodPlan& plan, PodProxyOptions po);
  Status start_apps(bool in_namespaces);
  proxy::asio::EventLoop& loop_;
  std::shared_ptr<const mesh::World> world_;
  tls::CertificateAuthority& ca_;
  UpOptions options_;
  // Declared before the sidecars and apps so that it is destroyed after them:
  // they hold sockets (and mariadbd runs) in its namespaces.
  std::unique_ptr<PodNetwork> net_;
  std::vector<std::unique_ptr<PodPlan>> plans_;
  std::vector<std::unique_ptr<proxy::asio::HttpServer>> echo_apps_;
  std::vector<std::unique_ptr<MariaDbServer>> databases_;
  std::vector<UpEntry> entries_;
};

}  // namespace meshsim::real
