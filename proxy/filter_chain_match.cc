#include "proxy/filter_chain_match.h"

#include <algorithm>

namespace meshsim::proxy {
namespace {

using Candidates = std::vector<const FilterChain*>;

// Keeps the candidates `rank` scores highest (> 0); if none scores, keeps those
// for which `unset` holds.
template <typename Rank, typename Unset>
void sieve(Candidates& c, Rank rank, Unset unset) {
  int best = 0;
  for (const FilterChain* fc : c) best = std::max(best, rank(*fc));
  Candidates out;
  out.reserve(c.size());
  for (const FilterChain* fc : c) {
    if (best > 0 ? rank(*fc) == best : unset(*fc)) out.push_back(fc);
  }
  c.swap(out);
}

bool wildcard_matches(std::string_view pattern, std::string_view name) {
  // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
  if (pattern.size() < 2 || pattern[0] != '*' || pattern[1] != '.') return false;
  std::string_view suffix = pattern.substr(1);  // ".example.com"
  return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
}

}  // namespace

FilterChainSelection select_filter_chain(const Listener& listener, const ConnectionMatchInput& in) {
  Candidates c;
  c.reserve(listener.filter_chains.size());
  for (const FilterChain& fc : listener.filter_chains) c.push_back(&fc);

  // 1. destination port
  sieve(
      c, [&](const FilterChain& fc) { return fc.match.destination_port == in.destination.port ? 1 : 0; },
      [](const FilterChain& fc) { return !fc.match.destination_port.has_value(); });
  // 2. destination IP: longest matching prefix (rank = prefix length + 1)
  sieve(
      c,
      [&](const FilterChain& fc) {
        int best = 0;
        for (const Cidr& r : fc.match.prefix_ranges) {
          if (r.contains(in.destination.ip)) best = std::max(best, r.prefix_len + 1);
        }
        return best;
      },
      [](const FilterChain& fc) { return fc.match.prefix_ranges.empty(); });
  // 3. server names: exact beats any wildcard; longer wildcard beats shorter.
  sieve(
      c,
      [&](const FilterChain& fc) {
        if (in.server_name.empty()) return 0;
        int best = 0;
        for (const std::string& n : fc.match.server_names) {
          if (n == in.server_name) best = std::max(best, 100000);
          else if (wildcard_matches(n, in.server_name)) best = std::max(best, static_cast<int>(n.size()));
        }
        return best;
      },
      [](const FilterChain& fc) { return fc.match.server_names.empty(); });
  // 4. transport protocol
  sieve(
      c, [&](const FilterChain& fc) { return !fc.match.transport_protocol.empty() && fc.match.transport_protocol == in.transport_protocol ? 1 : 0; },
      [](const FilterChain& fc) { return fc.match.transport_protocol.empty(); });
  // 5. application protocols: the first of the connection's protocols (in
  // offered order) that some chain lists wins.
  sieve(
      c,
      [&](const FilterChain& fc) {
        int n = static_cast<int>(in.application_protocols.size());
        for (int i = 0; i < n; ++i) {
          const std::string& p = in.application_protocols[static_cast<size_t>(i)];
          if (std::find(fc.match.application_protocols.begin(), fc.match.application_protocols.end(), p) !=
              fc.match.application_protocols.end()) {
            return n - i;
          }
        }
        return 0;
      },
      [](const FilterChain& fc) { return fc.match.application_protocols.empty(); });

  FilterChainSelection sel;
  if (!c.empty()) {
    sel.chain = c.front();
    sel.ambiguous = c.size() > 1;
  } else if (listener.default_filter_chain) {
    sel.chain = &*listener.default_filter_chain;
    sel.is_default = true;
  }
  return sel;
}

}  // namespace meshsim::proxy
