#include "sim/net/resolver.h"

#include <algorithm>
#include <cctype>

namespace meshsim::sim {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_label_chars(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '*';
  });
}

}  // namespace

NameResolver::NameResolver(std::string cluster_domain) : domain_(lower(cluster_domain)) {}

Status NameResolver::add(std::string fqdn, std::vector<Ipv4> ips) {
  if (!fqdn.empty() && fqdn.back() == '.') fqdn.pop_back();
  fqdn = lower(fqdn);
  if (!valid_label_chars(fqdn)) return Error{"DNS name \"" + fqdn + "\": invalid"};
  auto [it, inserted] = names_.emplace(fqdn, std::move(ips));
  if (!inserted) return Error{"DNS name \"" + fqdn + "\": defined twice"};
  return Status::Ok();
}

Status NameResolver::add_service(std::string_view ns, std::string_view name, Ipv4 cluster_ip) {
  return add(std::string(name) + "." + std::string(ns) + ".svc." + domain_, {cluster_ip});
}

Status NameResolver::add_headless_service(std::string_view ns, std::string_view name, std::vector<Ipv4> pod_ips) {
  return add(std::string(name) + "." + std::string(ns) + ".svc." + domain_, std::move(pod_ips));
}

Status NameResolver::add_pod_hostname(std::string_view ns, std::string_view subdomain, std::string_view hostname,
                                      Ipv4 ip) {
  return add(std::string(hostname) + "." + std::string(subdomain) + "." + std::string(ns) + ".svc." + domain_, {ip});
}

Status NameResolver::add_name(std::string_view fqdn, std::vector<Ipv4> ips) { return add(std::string(fqdn), std::move(ips)); }

NameResolver::Answer NameResolver::resolve(std::string_view query, std::string_view client_namespace) const {
  Answer a;
  if (query.empty()) return a;
  if (auto ip = parse_ipv4(query); ip.ok()) {
    a.found = true;
    a.fqdn = std::string(query);
    a.addresses = {*ip};
    return a;
  }
  std::string q = lower(query);
  auto try_name = [&](const std::string& name) {
    auto it = names_.find(name);
    if (it == names_.end() || it->second.empty()) return false;
    a.found = true;
    a.fqdn = name;
    a.addresses = it->second;
    return true;
  };
  if (q.back() == '.') {
    q.pop_back();
    try_name(q);
    return a;
  }
  const std::string search[] = {lower(client_namespace) + ".svc." + domain_, "svc." + domain_, domain_};
  auto dots = std::count(q.begin(), q.end(), '.');
  constexpr int kNdots = 5;
  if (dots >= kNdots && try_name(q)) return a;
  for (const std::string& suffix : search) {
    if (try_name(q + "." + suffix)) return a;
  }
  if (dots < kNdots) try_name(q);
  return a;
}

}  // namespace meshsim::sim
