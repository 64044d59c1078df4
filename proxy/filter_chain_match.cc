#include "proxy/filter_chain_match.h"

#include <algorithm>
#include <string>

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


// What the eliminated chains wanted at the stage that emptied the list.
std::string describe_miss(const char* stage, const Candidates& before, const ConnectionMatchInput& in) {
  std::string got;
  std::string out;
  auto wanted = [&](const FilterChain& fc) -> std::string {
    std::string w;
    const FilterChainMatch& m = fc.match;
    if (std::string_view(stage) == "destination port") {
      w = m.destination_port ? "port " + std::to_string(*m.destination_port) : "any port";
    } else if (std::string_view(stage) == "destination address") {
      for (const Cidr& r : m.prefix_ranges) w += (w.empty() ? "" : ",") + to_string(r);
    } else if (std::string_view(stage) == "server name") {
      for (const std::string& n : m.server_names) w += (w.empty() ? "" : ",") + n;
    } else if (std::string_view(stage) == "transport") {
      w = m.transport_protocol.empty() ? "any" : m.transport_protocol;
    } else {
      for (const std::string& p : m.application_protocols) w += (w.empty() ? "" : ",") + p;
    }
    return w;
  };
  std::string_view st(stage);
  if (st == "destination port") got = std::to_string(in.destination.port);
  else if (st == "destination address") got = to_string(in.destination.ip);
  else if (st == "server name") got = in.server_name.empty() ? "(no SNI)" : in.server_name;
  else if (st == "transport") got = in.transport_protocol;
  else {
    for (const std::string& p : in.application_protocols) got += (got.empty() ? "" : ",") + p;
    if (got.empty()) got = "(none)";
  }
  out = std::string(stage) + " " + got + " matches no chain;";
  size_t shown = 0;
  for (const FilterChain* fc : before) {
    if (shown++ == 4) {
      out += " …";
      break;
    }
    out += " " + (fc->name.empty() ? std::string("(unnamed)") : fc->name) + " wants " + wanted(*fc);
    if (!fc->description.empty()) out += " (" + fc->description + ")";
    out += ";";
  }
  if (!out.empty() && out.back() == ';') out.pop_back();
  return out;
}

}  // namespace

FilterChainSelection select_filter_chain(const Listener& listener, const ConnectionMatchInput& in,
                                         std::string* why_not) {
  Candidates c;
  c.reserve(listener.filter_chains.size());
  for (const FilterChain& fc : listener.filter_chains) c.push_back(&fc);
  // With why_not: the candidates before each stage, to name the one that
  // emptied the list.
  Candidates before;
  const char* last_stage = nullptr;
  auto note = [&](const char* stage) {
    if (!why_not || c.empty()) return;
    before = c;
    last_stage = stage;
  };

  note("destination port");
  // 1. destination port
  sieve(
      c, [&](const FilterChain& fc) { return fc.match.destination_port == in.destination.port ? 1 : 0; },
      [](const FilterChain& fc) { return !fc.match.destination_port.has_value(); });
  note("destination address");
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
  note("server name");
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
  note("transport");
  // 4. transport protocol
  sieve(
      c, [&](const FilterChain& fc) { return !fc.match.transport_protocol.empty() && fc.match.transport_protocol == in.transport_protocol ? 1 : 0; },
      [](const FilterChain& fc) { return fc.match.transport_protocol.empty(); });
  note("application protocol");
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
  } else if (why_not && last_stage) {
    *why_not = describe_miss(last_stage, before, in);
  }
  return sel;
}

}  // namespace meshsim::proxy
