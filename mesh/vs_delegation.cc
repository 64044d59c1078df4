#include "mesh/vs_delegation.h"

#include "mesh/export_to.h"

#include <map>
#include <set>

namespace meshsim::mesh {

namespace {

// StringMatch getters as Go's generated code has them: "" when the match is
// absent or of another type. A presence match ({}) is stored as an empty
// prefix and, like Istio's StringMatch without a MatchType, has none set.
std::string_view exact_of(const StringMatch* m) {
  return m && m->type == StringMatch::Type::kExact ? std::string_view(m->value) : std::string_view();
}
std::string_view prefix_of(const StringMatch* m) {
  return m && m->type == StringMatch::Type::kPrefix ? std::string_view(m->value) : std::string_view();
}
std::string_view regex_of(const StringMatch* m) {
  return m && m->type == StringMatch::Type::kRegex ? std::string_view(m->value) : std::string_view();
}

// stringMatchConflict (virtualservice.go).
bool string_match_conflict(const StringMatch* root, const StringMatch* leaf) {
  if (!root || !leaf) return false;
  if (!regex_of(root).empty() && (!regex_of(leaf).empty() || !prefix_of(leaf).empty() || !exact_of(leaf).empty()))
    return true;
  if (!regex_of(leaf).empty() && (!regex_of(root).empty() || !prefix_of(root).empty() || !exact_of(root).empty()))
    return true;
  if (std::string_view exact = exact_of(root); !exact.empty()) {
    if (!prefix_of(leaf).empty()) return true;
    return exact_of(leaf) != exact;
  }
  if (std::string_view prefix = prefix_of(root); !prefix.empty()) {
    if (std::string_view lp = prefix_of(leaf); !lp.empty()) return lp.substr(0, prefix.size()) != prefix;
    if (std::string_view le = exact_of(leaf); !le.empty()) return le.substr(0, prefix.size()) != prefix;
  }
  return true;
}

const StringMatch* opt(const std::optional<StringMatch>& m) { return m ? &*m : nullptr; }

const StringMatch* in(const std::map<std::string, StringMatch>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

template <class M>
M merge_copy(const M& base, const M& overlay) {  // maps.MergeCopy: overlay wins
  M out = base;
  for (const auto& [k, v] : overlay) out[k] = v;
  return out;
}

std::string joined_name(const std::string& root, const std::string& leaf) {
  if (leaf.empty()) return root;
  if (root.empty()) return leaf;
  return root + "-" + leaf;
}

}  // namespace

bool http_match_conflicts(const HttpMatchRequest& root, const HttpMatchRequest& leaf) {
  if (string_match_conflict(opt(root.uri), opt(leaf.uri)) || string_match_conflict(opt(root.scheme), opt(leaf.scheme)) ||
      string_match_conflict(opt(root.method), opt(leaf.method)) ||
      string_match_conflict(opt(root.authority), opt(leaf.authority)))
    return true;
  for (const auto& [k, v] : leaf.headers)
    if (string_match_conflict(in(root.headers, k), &v)) return true;
  for (const auto& [k, v] : leaf.without_headers)
    if (string_match_conflict(in(root.without_headers, k), &v)) return true;
  for (const auto& [k, v] : leaf.query_params)
    if (string_match_conflict(in(root.query_params, k), &v)) return true;
  if (root.ignore_uri_case != leaf.ignore_uri_case) return true;
  if (root.port && leaf.port && *root.port > 0 && *leaf.port > 0 && *root.port != *leaf.port) return true;
  if (!root.source_namespace.empty() && leaf.source_namespace != root.source_namespace) return true;
  for (const auto& [k, v] : leaf.source_labels) {
    auto it = root.source_labels.find(k);
    if (it != root.source_labels.end() && it->second != v) return true;
  }
  if (!root.gateways.empty() && !leaf.gateways.empty()) {
    if (root.gateways.size() < leaf.gateways.size()) return true;
    std::set<std::string> rg(root.gateways.begin(), root.gateways.end());
    for (const std::string& g : leaf.gateways)
      if (!rg.count(g)) return true;
  }
  return false;
}

HttpMatchRequest merge_http_match(const HttpMatchRequest& root, const HttpMatchRequest& delegate) {
  HttpMatchRequest out = delegate;
  out.name = joined_name(root.name, delegate.name);
  if (!out.uri) out.uri = root.uri;
  if (!out.scheme) out.scheme = root.scheme;
  if (!out.method) out.method = root.method;
  if (!out.authority) out.authority = root.authority;
  out.headers = merge_copy(root.headers, delegate.headers);
  out.without_headers = merge_copy(root.without_headers, delegate.without_headers);
  out.query_params = merge_copy(root.query_params, delegate.query_params);
  if (!out.port || *out.port == 0) out.port = root.port;
  out.source_labels = merge_copy(root.source_labels, delegate.source_labels);
  if (out.source_namespace.empty()) out.source_namespace = root.source_namespace;
  if (out.gateways.empty()) out.gateways = root.gateways;
  return out;
}

MergedVirtualServices merge_virtual_services(
    const std::vector<VirtualService>& all, const std::vector<std::string>& default_export_to,
    const std::function<std::string(std::string_view, std::string_view)>& to_fqdn) {
  MergedVirtualServices out;
  std::map<std::pair<std::string, std::string>, const VirtualService*> delegates;  // (ns, name)
  for (const VirtualService& vs : all)
    if (vs.hosts.empty()) delegates.emplace(std::make_pair(vs.meta.namespace_, vs.meta.name), &vs);

  for (const VirtualService& vs : all) {
    if (vs.hosts.empty()) continue;
    bool root = false;
    for (const HttpRoute& r : vs.http) root |= r.delegate.has_value();
    if (!root) {
      out.services.push_back(vs);
      continue;
    }
    VirtualService merged = vs;
    merged.http.clear();
    std::string root_key = vs.meta.namespace_ + "/" + vs.meta.name;
    for (size_t i = 0; i < vs.http.size(); ++i) {
      const HttpRoute& r = vs.http[i];
      if (!r.delegate) {
        merged.http.push_back(r);
        continue;
      }
      std::string dns = r.delegate->second.empty() ? vs.meta.namespace_ : r.delegate->second;
      std::string dkey = dns + "/" + r.delegate->first;
      auto it = delegates.find({dns, r.delegate->first});
      auto issue = [&](DelegationIssue::Kind k, std::string msg) {
        DelegationIssue is;
        is.kind = k;
        is.root = root_key;
        is.route = i;
        is.delegate = dkey;
        is.location = r.location;
        is.message = std::move(msg);
        out.issues.push_back(std::move(is));
      };
      if (it == delegates.end()) {
        issue(DelegationIssue::Kind::kNotFound,
              "delegate virtual service " + dkey + " of " + root_key + " not found");
        continue;
      }
      const VirtualService& d = *it->second;
      if (!export_visible(d.export_to, default_export_to, d.meta.namespace_, vs.meta.namespace_)) {
        issue(DelegationIssue::Kind::kNotExported, "delegate virtual service " + dkey + " of " + root_key +
                                                       " is not exported to " + vs.meta.namespace_);
        continue;
      }
      for (size_t j = 0; j < d.http.size(); ++j) {
        HttpRoute leaf = d.http[j];
        // mergeHTTPMatchRequests
        std::vector<HttpMatchRequest> matches;
        bool conflict = false;
        if (r.match.empty()) {
          matches = leaf.match;
        } else if (leaf.match.empty()) {
          matches = r.match;
        } else {
          for (const HttpMatchRequest& sub : leaf.match) {
            bool found = false;
            for (const HttpMatchRequest& rm : r.match) {
              if (http_match_conflicts(rm, sub)) continue;
              matches.push_back(merge_http_match(rm, sub));
              found = true;
            }
            if (!found) {
              conflict = true;
              break;
            }
          }
          if (matches.empty()) conflict = true;
        }
        if (conflict) {
          DelegationIssue is;
          is.kind = DelegationIssue::Kind::kMatchConflict;
          is.root = root_key;
          is.route = i;
          is.delegate = dkey;
          is.delegate_route = j;
          is.location = leaf.location;
          is.message = "HTTPMatchRequests conflict: root route " + (r.name.empty() ? std::to_string(i) : r.name) +
                       ", delegate route " + (leaf.name.empty() ? std::to_string(j) : leaf.name) +
                       ": every match of the delegate route must be a subset of a match of the root route";
          out.issues.push_back(std::move(is));
          continue;
        }
        bool own_mirror = leaf.mirror.has_value(), own_mirrors = !leaf.mirrors.empty();
        leaf.match = std::move(matches);
        leaf.name = joined_name(r.name, leaf.name);
        if (!leaf.rewrite) leaf.rewrite = r.rewrite;
        if (!leaf.direct_response) leaf.direct_response = r.direct_response;
        if (!leaf.timeout) leaf.timeout = r.timeout;
        if (!leaf.retries) leaf.retries = r.retries;
        if (!leaf.fault) leaf.fault = r.fault;
        if (!leaf.mirror) leaf.mirror = r.mirror;
        if (!leaf.mirror_percentage) leaf.mirror_percentage = r.mirror_percentage;
        if (!leaf.cors_policy) leaf.cors_policy = r.cors_policy;
        if (leaf.mirrors.empty()) leaf.mirrors = r.mirrors;
        if (!leaf.headers) leaf.headers = r.headers;
        // The delegate's short names were resolved in its own namespace.
        for (HttpRouteDestination& dst : leaf.route) dst.destination.host = to_fqdn(dst.destination.host, d.meta.namespace_);
        if (own_mirror) leaf.mirror->host = to_fqdn(leaf.mirror->host, d.meta.namespace_);
        if (own_mirrors)
          for (HttpMirrorPolicy& m : leaf.mirrors) m.destination.host = to_fqdn(m.destination.host, d.meta.namespace_);
        for (HttpMatchRequest& m : leaf.match)
          for (std::string& g : m.gateways)
            if (g != "mesh" && g.find('/') == std::string::npos) g = d.meta.namespace_ + "/" + g;
        merged.http.push_back(std::move(leaf));
      }
    }
    out.services.push_back(std::move(merged));
  }
  return out;
}

}  // namespace meshsim::mesh
