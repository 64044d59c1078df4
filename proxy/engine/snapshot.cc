#include "proxy/engine/snapshot.h"

#include "proxy/http/filter_registry.h"
#include "proxy/rbac.h"
#include "proxy/upstream/load_balancer.h"

namespace meshsim::proxy::engine {

namespace {
constexpr uint16_t kVirtualInboundPort = 15006;
}

Snapshot::Snapshot(std::shared_ptr<const ProxyConfig> config) : config_(std::move(config)) {
  for (const Listener& l : config_->listeners) {
    if (l.name == "virtualOutbound") virtual_outbound_ = &l;
    else if (l.name == "virtualInbound") virtual_inbound_ = &l;
    else by_address_.emplace(packed(l.address), &l);
    for (const FilterChain& fc : l.filter_chains) compile_chain(fc);
    if (l.default_filter_chain) compile_chain(*l.default_filter_chain);
  }
  for (const Cluster& c : config_->clusters) clusters_[c.name].cluster = &c;
  for (const ClusterLoadAssignment& cla : config_->endpoints) {
    auto it = clusters_.find(cla.cluster_name);
    if (it == clusters_.end()) continue;
    for (const LbEndpoint& e : cla.endpoints) it->second.endpoints.push_back(&e);
  }
  for (auto& [name, cc] : clusters_) {
    if (cc.cluster->lb_policy != LbPolicy::kRingHash && cc.cluster->lb_policy != LbPolicy::kMaglev) continue;
    cc.hash_table = upstream::build_consistent_hash_table(*cc.cluster, upstream::LoadBalancer::priority_hosts(cc));
  }
  for (const auto& r : config_->routes) {
    if (!r) continue;
    if (!compiled_routes_.count(r.get())) compiled_routes_.emplace(r.get(), std::make_unique<CompiledRoutes>(r));
    routes_[r->name] = compiled_routes_.at(r.get()).get();
  }
}

Snapshot::~Snapshot() = default;

void Snapshot::compile_chain(const FilterChain& fc) {
  for (const NetworkFilter& f : fc.filters) {
    if (const auto* rbac = std::get_if<NetworkRbac>(&f.config)) {
      if (rbac->config && !network_rbac_.count(rbac->config.get()))
        network_rbac_.emplace(rbac->config.get(), std::make_unique<CompiledRbacFilter>(rbac->config));
      continue;
    }
    const auto* hcm = std::get_if<HttpConnectionManager>(&f.config);
    if (!hcm) continue;
    const auto& rc = hcm->route_config;
    if (rc && !compiled_routes_.count(rc.get())) compiled_routes_.emplace(rc.get(), std::make_unique<CompiledRoutes>(rc));
    filter_chains_.emplace(hcm, http::build_filter_chain(*hcm));
  }
}

const Listener* Snapshot::pick_listener(uint16_t listener_port, const SocketAddress& original_dst) const {
  if (listener_port == kVirtualInboundPort) return virtual_inbound_;
  auto it = by_address_.find(packed(original_dst));
  if (it != by_address_.end()) return it->second;
  it = by_address_.find(packed(SocketAddress{Ipv4::any(), original_dst.port}));
  if (it != by_address_.end()) return it->second;
  return virtual_outbound_;
}

const Listener* Snapshot::find_listener(std::string_view name) const { return config_->find_listener(name); }

std::string Snapshot::chain_signature(const FilterChain& fc) {
  std::string sig = fc.name + "|" + std::to_string(fc.match.destination_port.value_or(0)) + "|" +
                    fc.match.transport_protocol + "|" +
                    (fc.tls ? (fc.tls->require_client_certificate ? "mtls" : "tls") : "raw");
  for (const auto& a : fc.match.application_protocols) sig += "," + a;
  for (const auto& n : fc.match.server_names) sig += ";" + n;
  for (const auto& r : fc.match.prefix_ranges) sig += "/" + to_string(r);
  for (const NetworkFilter& f : fc.filters) {
    if (const auto* rbac = std::get_if<NetworkRbac>(&f.config); rbac && rbac->config)
      sig += "|rbac:" + rbac->config->fingerprint;
    if (const auto* hcm = std::get_if<HttpConnectionManager>(&f.config)) {
      for (const HttpFilter& hf : hcm->http_filters)
        if (hf.rbac) sig += "|http-rbac:" + hf.rbac->fingerprint;
    }
  }
  if (!fc.filters.empty()) {
    if (const auto* tp = std::get_if<TcpProxy>(&fc.filters.back().config)) {
      sig += "|tcp:" + tp->cluster;
      for (const auto& w : tp->weighted_clusters) sig += "+" + w.name;
    } else if (const auto* h = std::get_if<HttpConnectionManager>(&fc.filters.back().config)) {
      sig += "|http:" + h->route_config_name;
    }
  }
  return sig;
}

bool Snapshot::has_chain(std::string_view listener_name, const std::string& signature) const {
  for (const Listener& l : config_->listeners) {
    if (l.name != listener_name) continue;
    for (const FilterChain& fc : l.filter_chains) {
      if (chain_signature(fc) == signature) return true;
    }
    if (l.default_filter_chain && chain_signature(*l.default_filter_chain) == signature) return true;
  }
  return false;
}

}  // namespace meshsim::proxy::engine
