#include "real/mesh_up.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "mesh/gateway.h"
#include "mesh/istio_iptables.h"
#include "proxy/asio/asio_host.h"
#include "proxy/asio/http_server.h"
#include "real/local_apps.h"
#include "real/pod_network.h"
#include "real/pod_proxy.h"

namespace meshsim::real {

using proxy::asio::ListenSpec;

struct MeshUp::PodPlan {
  const mesh::WorldPod* pod = nullptr;
  bool gateway = false;  // a gateway pod: router-mode proxy, no apps, no capture
  int32_t index = -1;
  std::map<uint32_t, mesh::Protocol> ports;  // target port → protocol of the Service port
  std::map<uint32_t, SocketAddress> apps;    // target port → the real app
  std::map<uint32_t, SocketAddress> inbound; // target port → its virtualInbound listener (injected)
  std::vector<ListenSpec> specs;
  std::vector<std::pair<std::string, std::string>> outbound_services;  // per outbound spec: service host:port, protocol
  std::unique_ptr<PodProxy> proxy;
};

MeshUp::MeshUp(proxy::asio::EventLoop& loop, std::shared_ptr<const mesh::World> world, tls::CertificateAuthority& ca,
               UpOptions options)
    : loop_(loop), world_(std::move(world)), ca_(ca), options_(std::move(options)) {}

MeshUp::~MeshUp() = default;

std::vector<PodProxy*> MeshUp::proxies() const {
  std::vector<PodProxy*> out;
  for (const auto& p : plans_)
    if (p->proxy) out.push_back(p->proxy.get());
  return out;
}

const std::vector<ListenSpec>& MeshUp::listen_specs(const PodProxy* p) const {
  static const std::vector<ListenSpec> kNone;
  for (const auto& plan : plans_)
    if (plan->proxy.get() == p) return plan->specs;
  return kNone;
}

Status MeshUp::start_proxy(PodPlan& plan, PodProxyOptions po) {
  // Each pod's engine draws from its own stream of the run's seed.
  po.seed = options_.seed + static_cast<uint64_t>(plan.index) * 0x9e3779b97f4a7c15ULL;
  po.access_log = options_.access_log;
  po.on_quit = options_.on_quit;
  plan.proxy = std::make_unique<PodProxy>(loop_, world_, *plan.pod, ca_, std::move(po));
  return plan.proxy->start();
}

Status MeshUp::start() {
  const mesh::World& w = *world_;
  std::map<int32_t, PodPlan*> by_index;
  for (size_t i = 0; i < w.pods().size(); ++i) {
    const mesh::WorldPod& p = w.pods()[i];
    if (!p.scheduled() || p.ip.is_any()) continue;
    if (p.ambient)
      std::fprintf(stderr,
                   "meshsim up: %s/%s is an ambient pod: ztunnel does not run on real sockets, so its traffic here is "
                   "plain, as outside the mesh (the simulation carries it over HBONE: meshsim probe/run)\n",
                   p.namespace_.c_str(), p.name.c_str());
    auto plan = std::make_unique<PodPlan>();
    plan->pod = &p;
    plan->gateway = mesh::is_gateway_pod(p);  // its Envoy is the application
    plan->index = static_cast<int32_t>(i);
    by_index[plan->index] = plan.get();
    plans_.push_back(std::move(plan));
  }
  // The ports each pod serves: the target ports of the Services selecting it.
  for (const mesh::WorldService& s : w.services()) {
    for (const auto& [svc_port, eps] : s.endpoints) {
      const mesh::ServicePortInfo* sp = s.port(svc_port);
      for (const mesh::Endpoint& ep : eps) {
        auto it = by_index.find(ep.pod);
        if (it == by_index.end() || ep.port == 0) continue;
        it->second->ports.emplace(ep.port, sp ? sp->protocol : mesh::Protocol::kUnsupported);
      }
    }
  }
  if (options_.netns) return start_in_namespaces();
  if (Status st = start_apps(false); !st.ok()) return st;
  // Gateways: their listeners on loopback, each told the pod IP:port a
  // client of the gateway's Service would have reached.
  for (auto& plan : plans_) {
    if (!plan->gateway) continue;
    const mesh::WorldPod& p = *plan->pod;
    PodProxyOptions po;
    po.router_listen = [ip = p.ip](uint16_t port) {
      ListenSpec l;
      l.bind = {Ipv4::loopback(), 0};
      l.listener_port = port;
      l.original_destination = SocketAddress{ip, port};
      return l;
    };
    if (Status st = start_proxy(*plan, std::move(po)); !st.ok()) return st;
    for (const ListenSpec& l : plan->proxy->listened()) plan->inbound[l.listener_port] = l.bind;
    plan->specs = plan->proxy->listened();
  }
  // Sidecars: inbound listeners per served port, outbound per Service port.
  for (auto& plan : plans_) {
    const mesh::WorldPod& p = *plan->pod;
    if (!p.injected || plan->gateway) continue;
    for (const auto& [port, proto] : plan->ports) {
      ListenSpec s;
      s.bind = {Ipv4::loopback(), 0};
      s.listener_port = 15006;
      s.original_destination = SocketAddress{p.ip, static_cast<uint16_t>(port)};
      plan->specs.push_back(s);
    }
    for (const mesh::WorldService& s : w.services()) {
      if (!s.has_vip || s.origin != mesh::WorldService::Origin::kKubernetes) continue;
      for (const mesh::ServicePortInfo& sp : s.ports) {
        ListenSpec l;
        l.bind = {Ipv4::loopback(), 0};
        l.listener_port = 15001;
        l.original_destination = SocketAddress{s.vip, static_cast<uint16_t>(sp.port)};
        plan->specs.push_back(l);
        plan->outbound_services.emplace_back(s.hostname + ":" + std::to_string(sp.port), mesh::protocol_name(sp.protocol));
      }
    }
    PodProxyOptions po;
    po.listeners = plan->specs;
    if (Status st = start_proxy(*plan, std::move(po)); !st.ok()) return st;
    size_t i = 0;
    for (const auto& [port, proto] : plan->ports) plan->inbound[port] = {Ipv4::loopback(), plan->proxy->ports()[i++]};
  }
  // Where each sidecar's upstream connections really go.
  for (auto& plan : plans_) {
    if (!plan->proxy) continue;
    for (auto& other : plans_) {
      for (const auto& [port, proto] : other->ports) {
        SocketAddress pod_addr{other->pod->ip, static_cast<uint16_t>(port)};
        const auto& real = (other->proxy && other.get() != plan.get()) ? other->inbound : other->apps;
        auto it = real.find(port);
        if (it != real.end()) plan->proxy->host().map_upstream(pod_addr, it->second);
      }
    }
    for (const auto& [port, addr] : plan->apps)
      plan->proxy->host().map_upstream({Ipv4::loopback(), static_cast<uint16_t>(port)}, addr);
    // kube-proxy: a connection to a ClusterIP (PassthroughCluster, a Host
    // header no route matches) reaches one of the Service's pods — here the
    // first, through its sidecar when it has one.
    for (const mesh::WorldService& s : w.services()) {
      if (!s.has_vip) continue;
      for (const auto& [svc_port, eps] : s.endpoints) {
        for (const mesh::Endpoint& ep : eps) {
          auto q = by_index.find(ep.pod);
          if (q == by_index.end()) continue;
          const auto& real = (q->second->proxy && q->second != plan.get()) ? q->second->inbound : q->second->apps;
          auto it = real.find(ep.port);
          if (it == real.end()) continue;
          plan->proxy->host().map_upstream({s.vip, static_cast<uint16_t>(svc_port)}, it->second);
          break;
        }
      }
    }
  }
  // Entry points for real clients.
  for (auto& plan : plans_) {
    if (!plan->proxy) continue;
    std::string name = plan->pod->namespace_ + "/" + plan->pod->name;
    size_t first_outbound = plan->ports.size();
    for (size_t k = 0; k < plan->outbound_services.size(); ++k) {
      UpEntry e;
      e.kind = "outbound";
      e.from = name;
      e.service = plan->outbound_services[k].first;
      e.protocol = plan->outbound_services[k].second;
      e.address = {Ipv4::loopback(), plan->proxy->ports()[first_outbound + k]};
      entries_.push_back(std::move(e));
    }
  }
  for (const mesh::WorldService& s : w.services()) {
    for (const mesh::ServicePortInfo& sp : s.ports) {
      auto eps = s.endpoints.find(sp.port);
      if (eps == s.endpoints.end()) continue;
      for (const mesh::Endpoint& ep : eps->second) {
        auto it = by_index.find(ep.pod);
        if (it == by_index.end()) continue;
        PodPlan& q = *it->second;
        const auto& real = q.proxy ? q.inbound : q.apps;
        auto addr = real.find(ep.port);
        if (addr == real.end()) continue;
        UpEntry e;
        e.kind = "direct";
        e.service = s.hostname + ":" + std::to_string(sp.port);
        e.target = q.pod->namespace_ + "/" + q.pod->name +
                   (q.gateway ? " (the gateway's listener)" : q.proxy ? " (its sidecar's virtualInbound)" : " (no sidecar: the app)");
        e.protocol = mesh::protocol_name(sp.protocol);
        e.address = addr->second;
        entries_.push_back(std::move(e));
        break;  // the first endpoint stands for the Service
      }
    }
  }
  for (auto& plan : plans_) {
    for (const auto& [port, addr] : plan->apps) {
      UpEntry e;
      e.kind = "app";
      e.target = plan->pod->namespace_ + "/" + plan->pod->name + ":" + std::to_string(port);
      e.address = addr;
      entries_.push_back(std::move(e));
    }
  }
  return Status::Ok();
}

namespace {

std::string pod_key(const mesh::WorldPod& p) { return p.namespace_ + "/" + p.name; }

// /etc/hosts of a pod: its own name, and every Service with a ClusterIP under
// the names the pod's resolv.conf search path would resolve (<svc> only in the
// pod's own namespace, <svc>.<ns>, <svc>.<ns>.svc, the FQDN).
std::string hosts_file(const mesh::World& w, const mesh::WorldPod& pod) {
  std::string out = "127.0.0.1\tlocalhost\n" + to_string(pod.ip) + "\t" + pod.name + "\n";
  for (const mesh::WorldService& s : w.services()) {
    if (!s.has_vip || s.origin != mesh::WorldService::Origin::kKubernetes) continue;
    out += to_string(s.vip) + "\t" + s.hostname;
    out += " " + s.name + "." + s.namespace_ + ".svc " + s.name + "." + s.namespace_;
    if (s.namespace_ == pod.namespace_) out += " " + s.name;
    out += "\n";
  }
  return out;
}

// kube-proxy in iptables mode, for the node namespace: each ClusterIP:port
// DNATed to one of its ready endpoints (equal probability), masquerading a
// pod that reaches itself through its own Service (hairpin).
std::string kube_proxy_rules(const mesh::World& w, const std::set<int32_t>& pods_with_netns) {
  std::vector<std::string> chains = {":KUBE-SERVICES - [0:0]", ":KUBE-POSTROUTING - [0:0]", ":KUBE-MARK-MASQ - [0:0]"};
  std::vector<std::string> rules = {
      "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
      "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
      "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING",
      "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
      "-A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE"};
  for (const mesh::WorldService& s : w.services()) {
    if (!s.has_vip || s.origin != mesh::WorldService::Origin::kKubernetes) continue;
    for (const mesh::ServicePortInfo& sp : s.ports) {
      auto it = s.endpoints.find(sp.port);
      if (it == s.endpoints.end()) continue;
      std::vector<const mesh::Endpoint*> eps;
      for (const mesh::Endpoint& ep : it->second)
        if (ep.ready && ep.pod >= 0 && ep.has_ip && pods_with_netns.count(ep.pod)) eps.push_back(&ep);
      if (eps.empty()) continue;
      std::string spn = s.namespace_ + "/" + s.name + (sp.name.empty() ? "" : ":" + sp.name);
      std::string svc = kube_service_chain(spn);
      chains.push_back(":" + svc + " - [0:0]");
      rules.push_back("-A KUBE-SERVICES -d " + to_string(s.vip) + "/32 -p tcp -m comment --comment \"" + spn +
                      " cluster IP\" -m tcp --dport " + std::to_string(sp.port) + " -j " + svc);
      for (size_t i = 0; i < eps.size(); ++i) {
        std::string ep = to_string(eps[i]->ip) + ":" + std::to_string(eps[i]->port);
        std::string sep = kube_endpoint_chain(spn, ep);
        chains.push_back(":" + sep + " - [0:0]");
        std::string jump = "-A " + svc + " -m comment --comment \"" + spn + " -> " + ep + "\"";
        if (i + 1 < eps.size()) {
          char prob[32];
          std::snprintf(prob, sizeof prob, "%0.10f", 1.0 / static_cast<double>(eps.size() - i));
          jump += " -m statistic --mode random --probability " + std::string(prob);
        }
        rules.push_back(jump + " -j " + sep);
        rules.push_back("-A " + sep + " -s " + to_string(eps[i]->ip) + "/32 -m comment --comment \"" + spn +
                        "\" -j KUBE-MARK-MASQ");
        rules.push_back("-A " + sep + " -p tcp -m comment --comment \"" + spn + "\" -m tcp -j DNAT --to-destination " + ep);
      }
    }
  }
  std::string out = "*nat\n";
  for (const auto& c : chains) out += c + "\n";
  for (const auto& r : rules) out += r + "\n";
  return out + "COMMIT\n";
}

}  // namespace

Status MeshUp::start_in_namespaces() {
  const mesh::World& w = *world_;
  net_ = std::make_unique<PodNetwork>(options_.netns_prefix);
  if (Status st = net_->create_node(); !st.ok()) return st;
  std::set<int32_t> with_netns;
  std::erase_if(plans_, [](const std::unique_ptr<PodPlan>& plan) {
    if (!plan->pod->host_network) return false;
    std::fprintf(stderr, "meshsim up: %s uses hostNetwork: it gets no network namespace (skipped)\n",
                 pod_key(*plan->pod).c_str());
    return true;
  });
  for (auto& plan : plans_) {
    const mesh::WorldPod& p = *plan->pod;
    if (Status st = net_->add_pod(pod_key(p), p.namespace_ + "-" + p.name, p.ip, hosts_file(w, p)); !st.ok()) return st;
    with_netns.insert(plan->index);
  }
  if (Status st = net_->restore_iptables("", kube_proxy_rules(w, with_netns)); !st.ok())
    return Error{"kube-proxy rules in " + net_->node_name() + ": " + st.message()};
  // istio-init: the pod's capture rules, before its containers start.
  for (auto& plan : plans_) {
    const mesh::WorldPod& p = *plan->pod;
    if (!p.injected || plan->gateway || !with_netns.count(plan->index)) continue;
    mesh::IstioIptablesConfig init = mesh::istio_init_config(p, w.mesh_config().status_port);
    if (init.inbound_interception_mode == "TPROXY")
      return Error{pod_key(p) + ": sidecar.istio.io/interceptionMode TPROXY is not run on real sockets (its listeners would "
                                "have to be transparent); `meshsim proxy-config iptables` shows its rules, or run without --netns"};
    auto rules = mesh::istio_iptables_restore(init);
    if (!rules.ok()) return Error{pod_key(p) + ": istio-iptables: " + rules.message()};
    if (Status st = net_->restore_iptables(pod_key(p), *rules); !st.ok()) return Error{pod_key(p) + ": " + st.message()};
  }
  if (Status st = start_apps(true); !st.ok()) return st;
  // Gateways: Envoy binds its listeners' ports in the pod; no capture rules.
  for (auto& plan : plans_) {
    const mesh::WorldPod& p = *plan->pod;
    if (!plan->gateway || !with_netns.count(plan->index)) continue;
    PodProxyOptions po;
    po.router_listen = [](uint16_t port) {
      ListenSpec l;
      l.bind = {Ipv4::any(), port};
      l.listener_port = port;
      return l;
    };
    auto place = net_->place(pod_key(p));
    if (!place.ok()) return Error{place.message()};
    po.place = *place;
    if (Status st = start_proxy(*plan, std::move(po)); !st.ok()) return st;
  }
  // Sidecars: Envoy's two capture listeners on 0.0.0.0, sockets as uid/gid 1337.
  for (auto& plan : plans_) {
    const mesh::WorldPod& p = *plan->pod;
    if (!p.injected || plan->gateway || !with_netns.count(plan->index)) continue;
    for (uint16_t port : {mesh::kProxyOutboundPort, mesh::kProxyInboundPort}) {
      ListenSpec l;
      l.bind = {Ipv4::any(), port};
      l.listener_port = port;
      plan->specs.push_back(l);  // no original_destination: SO_ORIGINAL_DST, as Envoy's original_dst listener filter
    }
    PodProxyOptions po;
    po.listeners = plan->specs;
    auto place = net_->place(pod_key(p), static_cast<int>(p.interception.proxy_uid), static_cast<int>(p.interception.proxy_uid));
    if (!place.ok()) return Error{place.message()};
    po.place = *place;
    if (Status st = start_proxy(*plan, std::move(po)); !st.ok()) return st;
  }
  // Entry points: a client in any pod's namespace, to any Service.
  for (auto& plan : plans_) {
    if (!with_netns.count(plan->index)) continue;
    for (const mesh::WorldService& s : w.services()) {
      if (!s.has_vip || s.origin != mesh::WorldService::Origin::kKubernetes) continue;
      for (const mesh::ServicePortInfo& sp : s.ports) {
        UpEntry e;
        e.kind = "pod";
        e.from = pod_key(*plan->pod) + (plan->proxy ? "" : " (no sidecar)");
        e.netns = net_->netns_name(pod_key(*plan->pod));
        e.service = s.name + "." + s.namespace_ + ":" + std::to_string(sp.port);
        e.protocol = mesh::protocol_name(sp.protocol);
        e.address = {s.vip, static_cast<uint16_t>(sp.port)};
        entries_.push_back(std::move(e));
      }
    }
  }
  return Status::Ok();
}

Status MeshUp::start_apps(bool in_namespaces) {
  for (auto& plan : plans_) {
    if (plan->gateway) continue;
    const mesh::WorldPod& p = *plan->pod;
    std::string name = p.namespace_ + "/" + p.name;
    for (const auto& [port, proto] : plan->ports) {
      std::string key = name + ":" + std::to_string(port);
      auto given = options_.apps.find(key);
      if (given == options_.apps.end() && !p.owner_name.empty())
        given = options_.apps.find(p.namespace_ + "/" + p.owner_name + ":" + std::to_string(port));
      if (given != options_.apps.end()) {
        plan->apps[port] = given->second;
        continue;
      }
      bool mysql = proto == mesh::Protocol::kMysql || port == 3306;
      if (mysql) {
        if (!options_.mariadb || !MariaDbServer::available()) {
          std::fprintf(stderr,
                       "meshsim up: %s port %u is MySQL and no real server stands for it (install mariadb-server, or "
                       "--app %s=ADDR:PORT)\n",
                       name.c_str(), port, key.c_str());
          continue;
        }
        std::string dir = (std::filesystem::path(options_.work_dir) / ("mariadb-" + p.namespace_ + "-" + p.name)).string();
        MariaDbPlacement where;
        if (in_namespaces) {
          where.netns = net_->netns_name(name);
          where.port = static_cast<uint16_t>(port);
          auto place = net_->place(name);
          if (!place.ok()) return Error{place.message()};
          where.place = *place;
        }
        auto db = MariaDbServer::start(dir, in_namespaces ? &where : nullptr);
        if (!db.ok()) return Error{name + " port " + std::to_string(port) + ": " + db.message()};
        plan->apps[port] = in_namespaces ? SocketAddress{p.ip, static_cast<uint16_t>(port)} : (*db)->address();
        std::fprintf(stderr, "meshsim up: %s port %u: MariaDB on %s (data in %s)\n", name.c_str(), port,
                     to_string((*db)->address()).c_str(), dir.c_str());
        databases_.push_back(std::move(*db));
        continue;
      }
      proxy::asio::SocketPlace place;
      SocketAddress bind{Ipv4::loopback(), 0};
      if (in_namespaces) {
        auto pl = net_->place(name);
        if (!pl.ok()) return Error{pl.message()};
        place = *pl;
        bind = {Ipv4::any(), static_cast<uint16_t>(port)};  // the container port, on every address of the pod
      }
      auto app = start_echo_app(loop_, name, static_cast<uint16_t>(port), bind, place);
      if (!app.ok()) return Error{name + " port " + std::to_string(port) + ": " + app.message()};
      plan->apps[port] = in_namespaces ? SocketAddress{p.ip, static_cast<uint16_t>(port)}
                                       : SocketAddress{Ipv4::loopback(), (*app)->port()};
      echo_apps_.push_back(std::move(*app));
    }
  }
  return Status::Ok();
}

std::string MeshUp::entries_json() const {
  nlohmann::json j;
  j["entries"] = nlohmann::json::array();
  for (const UpEntry& e : entries_) {
    nlohmann::json x = {{"kind", e.kind}, {"address", to_string(e.address)}};
    if (!e.from.empty()) x["from"] = e.from;
    if (!e.netns.empty()) x["netns"] = e.netns;
    if (!e.service.empty()) x["service"] = e.service;
    if (!e.target.empty()) x["target"] = e.target;
    if (!e.protocol.empty()) x["protocol"] = e.protocol;
    j["entries"].push_back(std::move(x));
  }
  return j.dump();
}

}  // namespace meshsim::real
