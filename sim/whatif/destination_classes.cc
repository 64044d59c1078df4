// Destination classes: Service ports that nothing in the mesh tells apart
// (truth_table.h destination_classes). The rule is deliberately narrow — a
// destination joins a class only when renaming its Service, its one backend
// workload and that workload's ServiceAccount turns it into the
// representative, and no other object names any of them — so the probe of
// the representative, with the names substituted, is the probe the member
// would have got. Anything the rule cannot see through keeps a destination
// alone (it is then probed like any other).
#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "mesh/gateway.h"
#include "sim/whatif/diff.h"
#include "sim/whatif/truth_table.h"

namespace meshsim::whatif {

namespace {

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool name_char(char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; }

// Every candidate mention in a text: each run of name characters, and every
// contiguous sequence of its alphanumeric pieces ("svc0.ns0.svc" gives
// "svc0", "svc0.ns0", "ns0", …), so a name is found wherever it stands
// between non-alphanumeric characters — looser than the substitution's token
// rule, which keeps the check conservative ("web" is found in "web-v2").
template <typename F>
void mentions(const std::string& text, F&& f) {
  size_t i = 0;
  while (i < text.size()) {
    if (!name_char(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && name_char(text[end])) ++end;
    // Alphanumeric pieces of the run [i, end).
    std::vector<std::pair<size_t, size_t>> pieces;
    for (size_t k = i; k < end;) {
      if (!alnum(text[k])) {
        ++k;
        continue;
      }
      size_t e = k;
      while (e < end && alnum(text[e])) ++e;
      pieces.emplace_back(k, e);
      k = e;
    }
    const size_t kMaxPieces = 12;  // longer runs: every sub-run up to 12 pieces
    for (size_t a = 0; a < pieces.size(); ++a) {
      for (size_t b = a; b < pieces.size() && b < a + kMaxPieces; ++b) f(std::string_view(text).substr(pieces[a].first, pieces[b].second - pieces[a].first));
    }
    i = end;
  }
}

// Replaces each name by its placeholder where it stands as a whole token.
std::string placeholders(std::string s, const std::vector<std::pair<std::string, std::string>>& names) {
  for (const auto& [from, to] : names) {
    if (from.empty()) continue;
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at)) {
      bool left = at == 0 || !name_char(s[at - 1]);
      bool right = at + from.size() >= s.size() || !name_char(s[at + from.size()]);
      if (left && right) {
        s.replace(at, from.size(), to);
        at += to.size();
      } else {
        at += from.size();
      }
    }
  }
  return s;
}

}  // namespace

std::vector<size_t> destination_classes(const mesh::World& w, const Table& t) {
  std::vector<size_t> rep(t.destinations.size());
  for (size_t c = 0; c < rep.size(); ++c) rep[c] = c;
  const mesh::ResourceSet& rs = w.resources();
  const mesh::MeshConfig& mc = w.mesh_config();
  // Objects meshsim does not decode (EnvoyFilter, WasmPlugin, Gateway API
  // routes …) and extension providers (services named in the mesh config)
  // could tell any two destinations apart: no classes.
  if (!rs.unmodelled.empty() || !mc.ext_authz_http_providers.empty() || !mc.other_extension_providers.empty() ||
      !mc.tracing_providers.empty())
    return rep;

  // Every object's canonical text, and which objects mention each name.
  std::vector<const mesh::Object*> objects;
  std::vector<std::string> texts;
  std::unordered_map<std::string, std::vector<uint32_t>> mentioned_by;  // up to 4 distinct objects
  for_each_object(rs, [&](const mesh::Object& o) {
    uint32_t id = static_cast<uint32_t>(objects.size());
    objects.push_back(&o);
    texts.push_back(canonical_text(o));
    mentions(texts.back(), [&](std::string_view m) {
      auto& v = mentioned_by[std::string(m)];
      if (v.size() < 4 && (v.empty() || v.back() != id)) v.push_back(id);
    });
  });
  std::map<const mesh::Object*, uint32_t> id_of;
  for (uint32_t i = 0; i < objects.size(); ++i) id_of[objects[i]] = i;
  auto sa_object = [&](const std::string& ns, const std::string& name) -> const mesh::Object* {
    for (const auto& sa : rs.service_accounts)
      if (sa.meta.namespace_ == ns && sa.meta.name == name) return &sa;
    return nullptr;
  };
  // AuthorizationPolicy conditions on the destination's address.
  std::vector<Cidr> dest_blocks;
  bool dest_unparsed = false;
  for (const auto& ap : rs.authorization_policies) {
    for (const auto& rule : ap.rules) {
      for (const auto& c : rule.when) {
        if (c.key != "destination.ip") continue;
        for (const auto* vs : {&c.values, &c.not_values}) {
          for (const std::string& b : *vs) {
            auto cidr = parse_cidr(b.find('/') == std::string::npos ? b + "/32" : b);
            if (cidr.ok()) dest_blocks.push_back(*cidr);
            else dest_unparsed = true;
          }
        }
      }
    }
  }
  if (dest_unparsed) return rep;

  std::map<std::string, size_t> first_of;
  for (size_t c = 0; c < t.destinations.size(); ++c) {
    const Destination& d = t.destinations[c];
    const mesh::WorldService* s = w.service_by_hostname(d.host);
    if (!s || s->origin != mesh::WorldService::Origin::kKubernetes || s->headless || !s->has_vip || s->source_index < 0) continue;
    if (d.backends.size() != 1 || s->name == mc.ingress_service) continue;
    // Exactly one ready pod behind every port of the Service, selected by this Service only.
    int32_t pod_index = -1;
    bool one_pod = true;
    for (const auto& [port, eps] : s->endpoints) {
      for (const mesh::Endpoint& e : eps) {
        if (e.pod < 0 || !e.ready || (pod_index >= 0 && e.pod != pod_index)) one_pod = false;
        pod_index = e.pod;
      }
    }
    if (!one_pod || pod_index < 0) continue;
    const mesh::WorldPod& pod = w.pods()[static_cast<size_t>(pod_index)];
    if (mesh::is_gateway_pod(pod) || pod.object == nullptr || w.services_of_pod(pod_index).size() != 1) continue;
    const mesh::Object& svc_obj = rs.services[static_cast<size_t>(s->source_index)];
    const std::string wl = pod.owner_name.empty() ? pod.name : pod.owner_name;
    const std::string& sa = pod.service_account;
    const mesh::Object* sa_obj = sa_object(pod.namespace_, sa);
    // No other object may name the Service, the workload or its account.
    auto svc_id = id_of.find(&svc_obj), wl_id = id_of.find(pod.object);
    auto sa_id = sa_obj ? id_of.find(sa_obj) : id_of.end();
    if (svc_id == id_of.end() || wl_id == id_of.end() || (sa_obj && sa_id == id_of.end())) continue;
    std::set<uint32_t> own = {svc_id->second, wl_id->second};
    if (sa_obj) own.insert(sa_id->second);
    bool named = false;
    for (const std::string* n : {&s->name, &wl, &sa}) {
      auto it = mentioned_by.find(*n);
      if (it == mentioned_by.end()) continue;
      if (it->second.size() >= 4) named = true;
      for (uint32_t id : it->second) named |= !own.count(id);
    }
    if (named) continue;
    // The signature: everything about the destination with its names as placeholders.
    std::vector<std::pair<std::string, std::string>> ph = {{s->name, "\x01S"}, {wl, "\x01W"}, {sa, "\x01A"}};
    std::string sig = "ns:" + d.namespace_ + "\nport:" + std::to_string(d.port) + "\nproto:" + d.protocol + "\n";
    sig += std::string("eq:") + (s->name == wl ? '1' : '0') + (sa == wl ? '1' : '0') + (sa == s->name ? '1' : '0') + "\n";
    sig += "svc:" + placeholders(texts[svc_id->second], ph) + "\n";
    sig += "wl:" + placeholders(texts[wl_id->second], ph) + "\n";
    sig += "sa:" + (sa_obj ? placeholders(texts[sa_id->second], ph) : std::string("∅")) + "\n";
    sig += std::string("pod:") + (pod.injected ? "sidecar" : "no sidecar") + " " + std::to_string(pod.ordinal) + " " +
           mesh::kind_name(pod.owner_kind) + " app=" + pod.app_model + "\n";
    for (const auto& [k, v] : pod.labels)
      if (k != "pod-template-hash") sig += placeholders("l:" + k + "=" + v, ph) + "\n";
    for (const auto& [k, v] : pod.annotations) sig += placeholders("a:" + k + "=" + v, ph) + "\n";
    for (const auto& [k, v] : pod.proxy_metadata) sig += placeholders("m:" + k + "=" + v, ph) + "\n";
    if (pod.node >= 0) {
      const mesh::Locality& l = w.nodes()[static_cast<size_t>(pod.node)].locality;
      sig += "loc:" + l.region + "/" + l.zone + "/" + l.subzone + "\n";
    }
    sig += "ipb:";
    for (const Cidr& b : dest_blocks) sig += std::string(b.contains(pod.ip) ? "1" : "0") + (b.contains(s->vip) ? "1" : "0");
    sig += "\n";
    rep[c] = first_of.emplace(std::move(sig), c).first->second;
  }
  return rep;
}

}  // namespace meshsim::whatif
