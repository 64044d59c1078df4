// Snapshot is one pushed ProxyConfig compiled for the data path, built once
// per push by apply_config(): listeners by address, clusters with their
// endpoints, every route configuration (RDS and inline) compiled for
// matching, and the HTTP filter chain factory of every HTTP connection
// manager (the filters' shared immutable configs). Connections hold the
// snapshot they were accepted with (shared_ptr), so a push never frees what an
// open connection uses. Immutable after build().
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "proxy/config.h"
#include "proxy/route_match.h"
#include "proxy/upstream/cluster.h"

namespace meshsim::proxy::http {
class FilterChainFactory;
}
namespace meshsim::proxy {
struct CompiledRbacFilter;
}

namespace meshsim::proxy::engine {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Snapshot {
 public:
  explicit Snapshot(std::shared_ptr<const ProxyConfig> config);
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const ProxyConfig& config() const { return *config_; }
  const std::shared_ptr<const ProxyConfig>& config_ptr() const { return config_; }

  // The listener a connection accepted on `listener_port` for `original_dst`
  // is handed to: virtualInbound for 15006; else exact IP:port, then
  // 0.0.0.0:port, else virtualOutbound itself (Envoy's use_original_dst).
  const Listener* pick_listener(uint16_t listener_port, const SocketAddress& original_dst) const;
  const Listener* find_listener(std::string_view name) const;

  const upstream::CompiledCluster* cluster(std::string_view name) const {
    auto it = clusters_.find(name);
    return it == clusters_.end() ? nullptr : &it->second;
  }
  const CompiledRoutes* rds(std::string_view route_config_name) const {
    auto it = routes_.find(route_config_name);
    return it == routes_.end() ? nullptr : it->second;
  }
  const CompiledRoutes* compiled(const std::shared_ptr<const RouteConfiguration>& rc) const {
    auto it = compiled_routes_.find(rc.get());
    return it == compiled_routes_.end() ? nullptr : it->second.get();
  }
  // The HTTP filter chain of an HTTP connection manager of this snapshot.
  const http::FilterChainFactory* filter_chain(const HttpConnectionManager& hcm) const {
    auto it = filter_chains_.find(&hcm);
    return it == filter_chains_.end() ? nullptr : it->second.get();
  }

  // The compiled form of a network RBAC filter's config of this snapshot.
  const CompiledRbacFilter* network_rbac(const RbacFilterConfig* config) const {
    auto it = network_rbac_.find(config);
    return it == network_rbac_.end() ? nullptr : it->second.get();
  }

  // What identifies a filter chain across pushes: a connection whose chain's
  // signature is absent from the new listener is drained (Envoy's listener
  // update with --drain-strategy immediate).
  static std::string chain_signature(const FilterChain& fc);
  bool has_chain(std::string_view listener_name, const std::string& signature) const;

 private:
  void compile_chain(const FilterChain& fc);

  std::shared_ptr<const ProxyConfig> config_;
  std::unordered_map<uint64_t, const Listener*> by_address_;
  const Listener* virtual_outbound_ = nullptr;
  const Listener* virtual_inbound_ = nullptr;
  std::unordered_map<std::string, upstream::CompiledCluster, StringHash, std::equal_to<>> clusters_;
  std::unordered_map<std::string, const CompiledRoutes*, StringHash, std::equal_to<>> routes_;
  std::unordered_map<const RouteConfiguration*, std::unique_ptr<CompiledRoutes>> compiled_routes_;
  std::unordered_map<const HttpConnectionManager*, std::unique_ptr<http::FilterChainFactory>> filter_chains_;
  std::unordered_map<const RbacFilterConfig*, std::unique_ptr<CompiledRbacFilter>> network_rbac_;
};

}  // namespace meshsim::proxy::engine
