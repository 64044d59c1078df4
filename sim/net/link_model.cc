#include "sim/net/link_model.h"

#include <cctype>
#include <cstdio>

namespace meshsim::sim {

LinkModel::LinkModel() {
  set_profile(Relation::kLoopback, {Duration::micros(10), 40'000'000'000ULL, {}, 0});
  set_profile(Relation::kSameNode, {Duration::micros(25), 25'000'000'000ULL, {}, 0});
  set_profile(Relation::kSameZone, {Duration::micros(100), 10'000'000'000ULL, {}, 0});
  set_profile(Relation::kOtherZone, {Duration::micros(500), 10'000'000'000ULL, {}, 0});
  set_profile(Relation::kOtherRegion, {Duration::millis(30), 1'000'000'000ULL, {}, 0});
}

void LinkModel::set_node_pair(NodeId a, NodeId b, const LinkProfile& p) {
  if (b < a) std::swap(a, b);
  node_pairs_[{a, b}] = p;
}

const LinkProfile& LinkModel::between(const Topology& topo, HostId a, HostId b) const {
  Relation r = topo.relation(a, b);
  if (r != Relation::kLoopback && !node_pairs_.empty()) {
    NodeId na = topo.node_of(a), nb = topo.node_of(b);
    if (nb < na) std::swap(na, nb);
    auto it = node_pairs_.find({na, nb});
    if (it != node_pairs_.end()) return it->second;
  }
  return profile(r);
}

Result<uint64_t> parse_bandwidth(std::string_view text) {
  std::string_view s = text;
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return Error{"invalid bandwidth \"" + std::string(text) + "\": expected a number, e.g. 10Gbps"};
  std::string num(s.substr(0, i));
  std::string_view unit = s.substr(i);
  // Integer and fractional parts, parsed exactly (no floating point).
  uint64_t whole = 0, frac = 0, frac_div = 1;
  bool seen_dot = false;
  for (char c : num) {
    if (c == '.') {
      if (seen_dot) return Error{"invalid bandwidth \"" + std::string(text) + "\": two decimal points"};
      seen_dot = true;
      continue;
    }
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (!seen_dot) {
      if (whole > 1'000'000'000'000ULL) return Error{"invalid bandwidth \"" + std::string(text) + "\": too large"};
      whole = whole * 10 + d;
    } else if (frac_div < 1'000'000'000ULL) {
      frac = frac * 10 + d;
      frac_div *= 10;
    }
  }
  uint64_t mul = 0;
  if (unit.empty() || unit == "bps" || unit == "bit" || unit == "b/s") mul = 1;
  else if (unit == "kbps" || unit == "Kbps" || unit == "kbit" || unit == "Kbit") mul = 1'000;
  else if (unit == "Mbps" || unit == "Mbit") mul = 1'000'000;
  else if (unit == "Gbps" || unit == "Gbit") mul = 1'000'000'000;
  else if (unit == "Tbps" || unit == "Tbit") mul = 1'000'000'000'000ULL;
  else
    return Error{"invalid bandwidth \"" + std::string(text) + "\": unknown unit \"" + std::string(unit) +
                 "\" (valid units: bps, kbps, Mbps, Gbps, Tbps)"};
  if (whole > UINT64_MAX / mul / 2) return Error{"invalid bandwidth \"" + std::string(text) + "\": too large"};
  uint64_t bps = whole * mul + frac * mul / frac_div;
  if (bps == 0) return Error{"invalid bandwidth \"" + std::string(text) + "\": must be positive"};
  return bps;
}

std::string format_bandwidth(uint64_t bps) {
  char buf[48];
  const char* units[] = {"bps", "kbps", "Mbps", "Gbps", "Tbps"};
  int u = 0;
  uint64_t div = 1;
  while (u < 4 && bps % (div * 1000) == 0 && bps >= div * 1000) {
    div *= 1000;
    ++u;
  }
  std::snprintf(buf, sizeof buf, "%llu%s", static_cast<unsigned long long>(bps / div), units[u]);
  return buf;
}

}  // namespace meshsim::sim
