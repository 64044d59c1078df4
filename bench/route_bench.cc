// Route decisions at scale: one outbound route configuration with the
// virtual hosts of 1,000 VirtualServices × 10 rules each (path prefixes,
// exact paths, RE2 regexes, header matchers), as istiod writes them for a
// large mesh's port 80. A decision is what the connection manager does per
// request: the virtual host by Host header, then the first matching route.
// Floor in the same binary: a bare std::unordered_map lookup of the host
// (what the virtual-host step cannot beat). Target: a decision <= 2 us.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/config.h"
#include "proxy/http/message.h"
#include "proxy/route_match.h"

namespace {

using namespace meshsim::proxy;

constexpr int kServices = 1000;
constexpr int kRules = 10;

std::shared_ptr<RouteConfiguration> big_config() {
  auto rc = std::make_shared<RouteConfiguration>();
  rc->name = "80";
  rc->ignore_port_in_host_matching = true;
  for (int s = 0; s < kServices; ++s) {
    std::string host = "svc-" + std::to_string(s) + ".ns-" + std::to_string(s % 50) + ".svc.cluster.local";
    VirtualHost vh;
    vh.name = host + ":80";
    vh.domains = {host, "svc-" + std::to_string(s) + ".ns-" + std::to_string(s % 50), "10.96." +
                  std::to_string(s / 250) + "." + std::to_string(s % 250)};
    for (int r = 0; r < kRules; ++r) {
      Route route;
      route.name = "rule-" + std::to_string(r);
      switch (r % 4) {
        case 0: route.match.kind = RouteMatch::Kind::kPrefix; route.match.value = "/api/v" + std::to_string(r) + "/"; break;
        case 1: route.match.kind = RouteMatch::Kind::kPath; route.match.value = "/exact/" + std::to_string(r); break;
        case 2: route.match.kind = RouteMatch::Kind::kRegex; route.match.value = "/items/[0-9]+/v" + std::to_string(r); break;
        default:
          route.match.kind = RouteMatch::Kind::kPrefix;
          route.match.value = "/";
          route.match.headers.push_back({"x-user", HeaderMatcher::Kind::kExact, "user-" + std::to_string(r), false});
      }
      RouteAction a;
      a.cluster = "outbound|80|v" + std::to_string(r) + "|" + host;
      route.action = a;
      vh.routes.push_back(route);
    }
    Route def;
    def.name = "default";
    RouteAction a;
    a.cluster = "outbound|80||" + host;
    def.action = a;
    vh.routes.push_back(def);
    rc->virtual_hosts.push_back(vh);
  }
  return rc;
}

// Requests that reach the last rules (the worst case: every earlier rule is tried).
std::vector<http::Request> requests() {
  std::vector<http::Request> out;
  for (int i = 0; i < 256; ++i) {
    http::Request r;
    int s = (i * 389) % kServices;
    r.target = i % 2 ? "/items/123/v6" : "/fallthrough/to/default";
    r.headers.set("host", "svc-" + std::to_string(s) + ".ns-" + std::to_string(s % 50) + ":80");
    r.headers.set("x-user", "someone");
    out.push_back(std::move(r));
  }
  return out;
}

void BM_RouteDecision_1000VirtualServicesX10Rules(benchmark::State& state) {
  CompiledRoutes routes(big_config());
  auto reqs = requests();
  size_t i = 0, matched = 0;
  for (auto _ : state) {
    const http::Request& r = reqs[i++ & 255];
    const VirtualHost* vh = routes.match_virtual_host(r.host());
    const Route* route = vh ? routes.match_route(*vh, r) : nullptr;
    matched += route != nullptr;
    benchmark::DoNotOptimize(route);
  }
  if (matched != static_cast<size_t>(state.iterations())) state.SkipWithError("a request matched no route");
  state.counters["decisions_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RouteDecision_1000VirtualServicesX10Rules);

// Floor: a bare hash lookup of the Host header among the same domains.
void BM_Floor_HostLookup(benchmark::State& state) {
  auto rc = big_config();
  std::unordered_map<std::string, const VirtualHost*> map;
  for (const auto& vh : rc->virtual_hosts) {
    for (const auto& d : vh.domains) map.emplace(d, &vh);
  }
  auto reqs = requests();
  size_t i = 0;
  for (auto _ : state) {
    std::string_view host = reqs[i++ & 255].host();
    host = host.substr(0, host.rfind(':'));
    auto it = map.find(std::string(host));
    benchmark::DoNotOptimize(it);
  }
}
BENCHMARK(BM_Floor_HostLookup);

void BM_CompileRoutes_1000VirtualServicesX10Rules(benchmark::State& state) {
  auto rc = big_config();
  for (auto _ : state) {
    CompiledRoutes routes(rc);
    benchmark::DoNotOptimize(&routes);
  }
}
BENCHMARK(BM_CompileRoutes_1000VirtualServicesX10Rules)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
