#include "proxy/config.h"
#include "proxy/io.h"

#include <algorithm>

namespace meshsim::proxy {

bool ListenerFilterPredicate::disabled_for(uint16_t port) const {
  if (never_disabled) return false;
  bool listed = std::find(ports.begin(), ports.end(), port) != ports.end();
  return invert ? !listed : listed;
}

bool Listener::has_listener_filter(std::string_view filter_name) const {
  return std::any_of(listener_filters.begin(), listener_filters.end(),
                     [&](const ListenerFilter& f) { return f.name == filter_name; });
}

const Listener* ProxyConfig::find_listener(std::string_view name) const {
  for (const Listener& l : listeners) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

const Cluster* ProxyConfig::find_cluster(std::string_view name) const {
  for (const Cluster& c : clusters) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const ClusterLoadAssignment* ProxyConfig::find_endpoints(std::string_view cluster) const {
  for (const ClusterLoadAssignment& e : endpoints) {
    if (e.cluster_name == cluster) return &e;
  }
  return nullptr;
}

std::shared_ptr<const RouteConfiguration> ProxyConfig::find_route(std::string_view name) const {
  for (const auto& r : routes) {
    if (r->name == name) return r;
  }
  return nullptr;
}

std::string_view to_string(ConnectFailure f) {
  switch (f) {
    case ConnectFailure::kRefused: return "Connection refused";
    case ConnectFailure::kTimeout: return "Connection timed out";
    case ConnectFailure::kUnreachable: return "No route to host";
  }
  return "unknown";
}

std::string_view to_string(CloseType t) { return t == CloseType::kFin ? "FIN" : "RST"; }

}  // namespace meshsim::proxy
