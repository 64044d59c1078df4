// istio-iptables' rule builder and capture Run(), IPv4 half, in C++: the same
// rules in the same order with the same text (I:tools/istio-iptables/pkg/
// capture/run.go, pkg/builder/iptables_builder_impl.go).
#include "mesh/istio_iptables.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <map>
#include <set>

namespace meshsim::mesh {

namespace {

constexpr const char* kInbound = "ISTIO_INBOUND";
constexpr const char* kRedirect = "ISTIO_REDIRECT";
constexpr const char* kInRedirect = "ISTIO_IN_REDIRECT";
constexpr const char* kOutput = "ISTIO_OUTPUT";
constexpr const char* kOutputDns = "ISTIO_OUTPUT_DNS";
constexpr const char* kDivert = "ISTIO_DIVERT";
constexpr const char* kTproxy = "ISTIO_TPROXY";
constexpr const char* kDrop = "ISTIO_DROP";
constexpr const char* kOutboundMark = "1338";
constexpr const char* kAgentDnsPort = "15053";

bool builtin(const std::string& chain) {
  static const std::set<std::string> k = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING",
                                          "ACCEPT", "RETURN", "DROP"};
  return k.count(chain) != 0;
}

// config.Split: comma-separated, empty items dropped (no trimming).
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

struct ChainRule {
  std::string chain, table;
  std::vector<std::string> params;  // "-A chain …" or "-I chain N …"
};

class RuleBuilder {
 public:
  void append(const std::string& chain, const std::string& table, std::initializer_list<std::string> params) {
    append(chain, table, std::vector<std::string>(params));
  }
  void append(const std::string& chain, const std::string& table, std::vector<std::string> params) {
    params.insert(params.begin(), {"-A", chain});
    rules_.push_back({chain, table, std::move(params)});
  }
  void insert(const std::string& chain, const std::string& table, int position,
              std::initializer_list<std::string> params) {
    std::vector<std::string> p(params);
    p.insert(p.begin(), {"-I", chain, std::to_string(position)});
    rules_.push_back({chain, table, std::move(p)});
  }

  // buildRestore: per table the -N lines (chains with rules, then jump
  // targets), the rules, COMMIT; tables in sorted order, empty ones left out.
  std::string restore() const {
    std::map<std::string, std::vector<std::string>> tables;
    std::set<std::string> seen;
    for (const ChainRule& r : rules_) {
      if (seen.insert(r.chain + ":" + r.table).second && !builtin(r.chain)) tables[r.table].push_back("-N " + r.chain);
    }
    for (const ChainRule& r : rules_) {
      if (r.params.size() < 2 || r.params[r.params.size() - 2] != "-j") continue;
      const std::string& target = r.params.back();
      if (seen.insert(target + ":" + r.table).second && !builtin(target)) tables[r.table].push_back("-N " + target);
    }
    for (const ChainRule& r : rules_) {
      std::string line;
      for (const std::string& p : r.params) {
        if (!line.empty()) line += ' ';
        line += p;
      }
      tables[r.table].push_back(std::move(line));
    }
    std::string out;
    for (const auto& [table, lines] : tables) {  // std::map: sorted, as slices.Sort(maps.Keys(…))
      if (lines.empty()) continue;
      out += "* " + table + "\n";
      for (const std::string& l : lines) out += l + "\n";
      out += "COMMIT\n";
    }
    return out;
  }

 private:
  std::vector<ChainRule> rules_;
};

struct Ranges {
  bool wildcard = false;
  bool has_loopback = false;
  std::vector<std::string> cidrs;  // IPv4, as netip.Prefix.String() prints them
};

// config.SeparateV4V6, IPv4 half: "*" or CIDRs (netip.ParsePrefix: an
// address and a prefix length, host bits allowed and kept).
Result<Ranges> parse_ranges(const std::string& list, const char* flag) {
  Ranges r;
  if (list == "*") {
    r.wildcard = true;
    return r;
  }
  for (const std::string& item : split(list)) {
    size_t slash = item.find('/');
    if (item.find(':') != std::string::npos) continue;  // IPv6: the ip6tables half, not built
    auto ip = slash == std::string::npos ? Result<Ipv4>(Error{"no prefix length"}) : parse_ipv4(item.substr(0, slash));
    int bits = -1;
    if (ip.ok()) {
      std::string_view b = std::string_view(item).substr(slash + 1);
      auto [p, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
      if (ec != std::errc() || p != b.data() + b.size() || bits < 0 || bits > 32) bits = -1;
    }
    if (!ip.ok() || bits < 0) return Error{std::string(flag) + ": netip.ParsePrefix(\"" + item + "\"): not an IPv4 CIDR"};
    if (ip->is_loopback()) r.has_loopback = true;
    r.cidrs.push_back(to_string(*ip) + "/" + std::to_string(bits));
  }
  return r;
}

}  // namespace

IstioIptablesConfig istio_init_config(const WorldPod& pod, uint32_t status_port) {
  auto annotation = [&](const char* key, const std::string& fallback) {
    auto it = pod.annotations.find(key);
    return it == pod.annotations.end() ? fallback : it->second;
  };
  IstioIptablesConfig c;
  c.inbound_interception_mode = annotation("sidecar.istio.io/interceptionMode", "REDIRECT");
  c.outbound_ip_ranges_include = annotation("traffic.sidecar.istio.io/includeOutboundIPRanges", "*");
  c.outbound_ip_ranges_exclude = annotation("traffic.sidecar.istio.io/excludeOutboundIPRanges", "");
  c.inbound_ports_include = annotation("traffic.sidecar.istio.io/includeInboundPorts", "*");
  // -d "15090,15021,{{ excludeInboundPort statusPort excludeInboundPorts }}":
  // the annotation's ports, then the status port unless already listed.
  std::string exclude = annotation("traffic.sidecar.istio.io/excludeInboundPorts", "");
  std::string status = annotation("status.sidecar.istio.io/port", std::to_string(status_port));
  status.erase(0, status.find_first_not_of(' '));
  status.erase(status.find_last_not_of(' ') + 1);
  std::string merged = exclude;
  if (!status.empty() && status != "0") {
    std::vector<std::string> ports = split(exclude);
    bool listed = std::find(ports.begin(), ports.end(), status) != ports.end();
    if (!listed) {
      merged.clear();
      for (std::string p : ports) {
        p.erase(0, p.find_first_not_of(' '));
        p.erase(p.find_last_not_of(' ') + 1);
        if (p.empty()) continue;
        merged += p + ",";
      }
      merged += status;
    }
  }
  c.inbound_ports_exclude = merged.empty() ? "15090,15021" : "15090,15021," + merged;
  c.outbound_ports_include = annotation("traffic.sidecar.istio.io/includeOutboundPorts", "");
  c.outbound_ports_exclude = annotation("traffic.sidecar.istio.io/excludeOutboundPorts", "");
  if (auto it = pod.annotations.find("istio.io/reroute-virtual-interfaces"); it != pod.annotations.end())
    c.reroute_virtual_interfaces = it->second;
  else if (auto k = pod.annotations.find("traffic.sidecar.istio.io/kubevirtInterfaces"); k != pod.annotations.end())
    c.reroute_virtual_interfaces = k->second;
  c.exclude_interfaces = annotation("traffic.sidecar.istio.io/excludeInterfaces", "");
  return c;
}

std::vector<std::string> istio_init_args(const IstioIptablesConfig& c) {
  std::vector<std::string> a = {"istio-iptables", "-p", c.proxy_port, "-z", c.inbound_capture_port, "-u", c.proxy_uid,
                                "-m", c.inbound_interception_mode, "-i", c.outbound_ip_ranges_include,
                                "-x", c.outbound_ip_ranges_exclude, "-b", c.inbound_ports_include,
                                "-d", c.inbound_ports_exclude};
  if (!c.outbound_ports_include.empty()) a.insert(a.end(), {"-q", c.outbound_ports_include});
  if (!c.outbound_ports_exclude.empty()) a.insert(a.end(), {"-o", c.outbound_ports_exclude});
  if (!c.reroute_virtual_interfaces.empty()) a.insert(a.end(), {"-k", c.reroute_virtual_interfaces});
  if (!c.exclude_interfaces.empty()) a.insert(a.end(), {"-c", c.exclude_interfaces});
  return a;
}

Result<std::string> istio_iptables_restore(const IstioIptablesConfig& cfg) {
  auto exclude = parse_ranges(cfg.outbound_ip_ranges_exclude, "-x");
  if (!exclude.ok()) return exclude.error();
  if (exclude->wildcard) return Error{"invalid value for OUTBOUND_IP_RANGES_EXCLUDE"};
  auto include = parse_ranges(cfg.outbound_ip_ranges_include, "-i");
  if (!include.ok()) return include.error();
  const bool tproxy = cfg.inbound_interception_mode == "TPROXY";
  bool redirect_dns = cfg.redirect_dns;
  if (redirect_dns && !cfg.capture_all_dns && cfg.dns_servers_v4.empty()) redirect_dns = false;
  const std::string& loopback = cfg.host_ipv4_loopback_cidr;
  const std::string& tunnel = cfg.inbound_tunnel_port;

  RuleBuilder rb;
  // shortCircuitExcludeInterfaces
  for (const std::string& i : split(cfg.exclude_interfaces)) {
    rb.append("PREROUTING", "nat", {"-i", i, "-j", "RETURN"});
    rb.append("OUTPUT", "nat", {"-o", i, "-j", "RETURN"});
  }
  if (tproxy) {
    for (const std::string& i : split(cfg.exclude_interfaces)) {
      rb.append("PREROUTING", "mangle", {"-i", i, "-j", "RETURN"});
      rb.append("OUTPUT", "mangle", {"-o", i, "-j", "RETURN"});
    }
  }
  // shortCircuitKubeInternalInterface
  for (const std::string& i : split(cfg.reroute_virtual_interfaces)) rb.insert("PREROUTING", "nat", 1, {"-i", i, "-j", "RETURN"});
  if (cfg.drop_invalid) {
    rb.append("PREROUTING", "mangle", {"-m", "conntrack", "--ctstate", "INVALID", "-j", kDrop});
    rb.append(kDrop, "mangle", {"-j", "DROP"});
  }
  rb.append(kInbound, "nat", {"-p", "tcp", "--dport", tunnel, "-j", "RETURN"});
  rb.append(kRedirect, "nat", {"-p", "tcp", "-j", "REDIRECT", "--to-ports", cfg.proxy_port});
  rb.append(kInRedirect, "nat", {"-p", "tcp", "-j", "REDIRECT", "--to-ports", cfg.inbound_capture_port});

  // handleInboundPortsInclude
  if (!cfg.inbound_ports_include.empty()) {
    std::string table = "nat";
    if (tproxy) {
      rb.append(kDivert, "mangle", {"-j", "MARK", "--set-mark", cfg.inbound_tproxy_mark});
      rb.append(kDivert, "mangle", {"-j", "ACCEPT"});
      rb.append(kTproxy, "mangle", {"!", "-d", loopback, "-p", "tcp", "-j", "TPROXY", "--tproxy-mark",
                                    cfg.inbound_tproxy_mark + "/0xffffffff", "--on-port", cfg.inbound_capture_port});
      table = "mangle";
    }
    rb.append("PREROUTING", table, {"-p", "tcp", "-j", kInbound});
    if (cfg.inbound_ports_include == "*") {
      for (const std::string& p : split(cfg.inbound_ports_exclude))
        rb.append(kInbound, table, {"-p", "tcp", "--dport", p, "-j", "RETURN"});
      if (tproxy) {
        rb.append(kInbound, "mangle", {"-p", "tcp", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", kDivert});
        rb.append(kInbound, "mangle", {"-p", "tcp", "-j", kTproxy});
      } else {
        rb.append(kInbound, "nat", {"-p", "tcp", "-j", kInRedirect});
      }
    } else {
      for (const std::string& p : split(cfg.inbound_ports_include)) {
        if (tproxy) {
          rb.append(kInbound, "mangle",
                    {"-p", "tcp", "--dport", p, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", kDivert});
          rb.append(kInbound, "mangle", {"-p", "tcp", "--dport", p, "-j", kTproxy});
        } else {
          rb.append(kInbound, "nat", {"-p", "tcp", "--dport", p, "-j", kInRedirect});
        }
      }
    }
  }

  rb.append("OUTPUT", "nat", {"-j", kOutput});
  for (const std::string& p : split(cfg.outbound_ports_exclude)) {
    rb.append(kOutput, "nat", {"-p", "tcp", "--dport", p, "-j", "RETURN"});
    rb.append(kOutput, "nat", {"-p", "udp", "--dport", p, "-j", "RETURN"});
  }
  rb.append(kOutput, "nat", {"-o", "lo", "-s", "127.0.0.6/32", "-j", "RETURN"});
  for (const std::string& uid : split(cfg.proxy_uid)) {
    if (redirect_dns) {
      rb.append(kOutput, "nat", {"-o", "lo", "!", "-d", loopback, "-p", "tcp", "-m", "multiport", "!", "--dports",
                                 "53," + tunnel, "-m", "owner", "--uid-owner", uid, "-j", kInRedirect});
    } else {
      rb.append(kOutput, "nat", {"-o", "lo", "!", "-d", loopback, "-p", "tcp", "!", "--dport", tunnel, "-m", "owner",
                                 "--uid-owner", uid, "-j", kInRedirect});
    }
    if (!include->has_loopback) {
      if (redirect_dns)
        rb.append(kOutput, "nat", {"-o", "lo", "-p", "tcp", "!", "--dport", "53", "-m", "owner", "!", "--uid-owner", uid, "-j", "RETURN"});
      else
        rb.append(kOutput, "nat", {"-o", "lo", "-m", "owner", "!", "--uid-owner", uid, "-j", "RETURN"});
    }
    rb.append(kOutput, "nat", {"-m", "owner", "--uid-owner", uid, "-j", "RETURN"});
  }
  for (const std::string& gid : split(cfg.proxy_gid)) {
    rb.append(kOutput, "nat", {"-o", "lo", "!", "-d", loopback, "-p", "tcp", "!", "--dport", tunnel, "-m", "owner",
                               "--gid-owner", gid, "-j", kInRedirect});
    if (!include->has_loopback) {
      if (redirect_dns)
        rb.append(kOutput, "nat", {"-o", "lo", "-p", "tcp", "!", "--dport", "53", "-m", "owner", "!", "--gid-owner", gid, "-j", "RETURN"});
      else
        rb.append(kOutput, "nat", {"-o", "lo", "-m", "owner", "!", "--gid-owner", gid, "-j", "RETURN"});
    }
    rb.append(kOutput, "nat", {"-m", "owner", "--gid-owner", gid, "-j", "RETURN"});
  }
  // handleCaptureByOwnerGroup (config.ParseInterceptFilter)
  if (cfg.owner_groups_include == "*") {
    for (const std::string& g : split(cfg.owner_groups_exclude)) rb.append(kOutput, "nat", {"-m", "owner", "--gid-owner", g, "-j", "RETURN"});
  } else {
    std::vector<std::string> p;
    for (const std::string& g : split(cfg.owner_groups_include)) p.insert(p.end(), {"-m", "owner", "!", "--gid-owner", g});
    p.insert(p.end(), {"-j", "RETURN"});
    rb.append(kOutput, "nat", std::move(p));
  }
  if (redirect_dns) {
    // SetupDNSRedir, IPv4
    rb.append("OUTPUT", "raw", {"-j", kOutputDns});
    if (cfg.capture_all_dns || !cfg.dns_servers_v4.empty()) rb.append(kOutput, "nat", {"-j", kOutputDns});
    if (cfg.capture_all_dns) {
      rb.append(kOutputDns, "nat", {"-p", "tcp", "--dport", "53", "-j", "REDIRECT", "--to-ports", kAgentDnsPort});
    } else {
      for (const std::string& s : cfg.dns_servers_v4)
        rb.append(kOutputDns, "nat", {"-p", "tcp", "--dport", "53", "-d", s + "/32", "-j", "REDIRECT", "--to-ports", kAgentDnsPort});
    }
    if (cfg.capture_all_dns) {
      rb.append(kOutputDns, "nat", {"-p", "udp", "--dport", "53", "-j", "REDIRECT", "--to-port", kAgentDnsPort});
    } else {
      for (const std::string& s : cfg.dns_servers_v4)
        rb.append(kOutputDns, "nat", {"-p", "udp", "--dport", "53", "-d", s + "/32", "-j", "REDIRECT", "--to-port", kAgentDnsPort});
    }
    // addDNSConntrackZones
    for (const std::string& uid : split(cfg.proxy_uid)) {
      rb.append(kOutputDns, "raw", {"-p", "udp", "--dport", "53", "-m", "owner", "--uid-owner", uid, "-j", "CT", "--zone", "1"});
      rb.append(kOutputDns, "raw", {"-p", "udp", "--sport", kAgentDnsPort, "-m", "owner", "--uid-owner", uid, "-j", "CT", "--zone", "2"});
    }
    for (const std::string& gid : split(cfg.proxy_gid)) {
      rb.append(kOutputDns, "raw", {"-p", "udp", "--dport", "53", "-m", "owner", "--gid-owner", gid, "-j", "CT", "--zone", "1"});
      rb.append(kOutputDns, "raw", {"-p", "udp", "--sport", kAgentDnsPort, "-m", "owner", "--gid-owner", gid, "-j", "CT", "--zone", "2"});
    }
    if (cfg.capture_all_dns) {
      rb.append("PREROUTING", "raw", {"-j", kInbound});
      rb.append(kOutputDns, "raw", {"-p", "udp", "--dport", "53", "-j", "CT", "--zone", "2"});
      rb.append(kInbound, "raw", {"-p", "udp", "--sport", "53", "-j", "CT", "--zone", "1"});
    } else {
      if (!cfg.dns_servers_v4.empty()) rb.append("PREROUTING", "raw", {"-j", kInbound});
      for (const std::string& s : cfg.dns_servers_v4) {
        rb.append(kOutputDns, "raw", {"-p", "udp", "--dport", "53", "-d", s + "/32", "-j", "CT", "--zone", "2"});
        rb.append(kInbound, "raw", {"-p", "udp", "--sport", "53", "-s", s + "/32", "-j", "CT", "--zone", "1"});
      }
    }
  }
  rb.append(kOutput, "nat", {"-d", loopback, "-j", "RETURN"});
  for (const std::string& c : exclude->cidrs) rb.append(kOutput, "nat", {"-d", c, "-j", "RETURN"});
  for (const std::string& p : split(cfg.outbound_ports_include))
    rb.append(kOutput, "nat", {"-p", "tcp", "--dport", p, "-j", kRedirect});
  // handleOutboundIncludeRules
  if (include->wildcard) {
    rb.append(kOutput, "nat", {"-j", kRedirect});
    for (const std::string& i : split(cfg.reroute_virtual_interfaces)) rb.insert("PREROUTING", "nat", 1, {"-i", i, "-j", kRedirect});
  } else {
    for (const std::string& c : include->cidrs) {
      for (const std::string& i : split(cfg.reroute_virtual_interfaces))
        rb.insert("PREROUTING", "nat", 1, {"-i", i, "-d", c, "-j", kRedirect});
      rb.append(kOutput, "nat", {"-d", c, "-j", kRedirect});
    }
  }
  if (tproxy) {
    const std::string& mark = cfg.inbound_tproxy_mark;
    rb.append("PREROUTING", "mangle", {"-p", "tcp", "-m", "mark", "--mark", mark, "-j", "CONNMARK", "--save-mark"});
    rb.append("OUTPUT", "mangle", {"-p", "tcp", "-o", "lo", "-m", "mark", "--mark", mark, "-j", "RETURN"});
    for (const std::string& uid : split(cfg.proxy_uid))
      rb.append("OUTPUT", "mangle", {"!", "-d", loopback, "-p", "tcp", "-o", "lo", "-m", "owner", "--uid-owner", uid, "-j",
                                     "MARK", "--set-mark", kOutboundMark});
    for (const std::string& gid : split(cfg.proxy_gid))
      rb.append("OUTPUT", "mangle", {"!", "-d", loopback, "-p", "tcp", "-o", "lo", "-m", "owner", "--gid-owner", gid, "-j",
                                     "MARK", "--set-mark", kOutboundMark});
    rb.append("OUTPUT", "mangle", {"-p", "tcp", "-m", "connmark", "--mark", mark, "-j", "CONNMARK", "--restore-mark"});
    rb.insert(kInbound, "mangle", 1, {"-p", "tcp", "-m", "mark", "--mark", mark, "-j", "RETURN"});
    rb.insert(kInbound, "mangle", 2, {"-p", "tcp", "-s", "127.0.0.6/32", "-i", "lo", "-j", "RETURN"});
    rb.insert(kInbound, "mangle", 3, {"-p", "tcp", "-i", "lo", "-m", "mark", "!", "--mark", kOutboundMark, "-j", "RETURN"});
  }
  return rb.restore();
}

}  // namespace meshsim::mesh
