// Filter-chain selection exactly as Envoy performs it (and as Istio's own
// simulation, pilot/pkg/simulation/traffic.go, reproduces it): a sieve over
// the listener's chains in Envoy's order — destination port, destination IP
// prefix ranges (longest prefix wins), server names (exact, then the longest
// "*.suffix" wildcard), transport protocol, application protocols. At each
// stage the chains that match the connection's value best survive; when none
// do, only the chains that leave that criterion unset survive (no
// backtracking). If nothing survives, the listener's default chain (if any) is
// used. Pure function; no allocation beyond the candidate list.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/config.h"

namespace meshsim::proxy {

// What the listener filters learned about a connection.
struct ConnectionMatchInput {
  SocketAddress destination;             // the original destination
  std::string server_name;               // SNI from the ClientHello, "" if none
  std::string transport_protocol;        // "tls" or "raw_buffer"
  std::vector<std::string> application_protocols;  // ALPN offered, or "http/1.1"/"h2c" from the HTTP inspector
};

struct FilterChainSelection {
  const FilterChain* chain = nullptr;  // nullptr: no filter chain matched (Envoy closes: NR)
  bool is_default = false;             // the listener's default_filter_chain was used
  bool ambiguous = false;              // more than one chain survived (a config bug; first one used)
};

// `why_not` (optional): when no chain (and no default chain) is selected,
// receives the criterion that eliminated the last candidates and what those
// candidates required, e.g. "transport raw_buffer: the chains for it want
// 0.0.0.0_9080 (tls; HTTP port, STRICT (…))" — for explanations (probe,
// what-if), so they report the engine's own sieve.
FilterChainSelection select_filter_chain(const Listener& listener, const ConnectionMatchInput& in,
                                         std::string* why_not = nullptr);

}  // namespace meshsim::proxy
