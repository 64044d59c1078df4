#include "mesh/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>

#include "mesh/decode.h"
#include "mesh/suggest.h"
#include "proxy/peer_metadata.h"

namespace meshsim::mesh {

using detail::Decoder;
using detail::PathSeg;
using detail::one_of;

namespace {

namespace fs = std::filesystem;

struct KindInfo {
  Kind kind;
  std::string_view group;                            // "" = core
  std::vector<std::string_view> versions;  // served versions
  bool namespaced;
};

const std::vector<std::pair<std::string_view, KindInfo>>& known_kinds() {
  static const std::vector<std::pair<std::string_view, KindInfo>> kKinds = {
      {"Namespace", {Kind::kNamespace, "", {"v1"}, false}},
      {"Node", {Kind::kNode, "", {"v1"}, false}},
      {"Service", {Kind::kService, "", {"v1"}, true}},
      {"ServiceAccount", {Kind::kServiceAccount, "", {"v1"}, true}},
      {"Pod", {Kind::kPod, "", {"v1"}, true}},
      {"ConfigMap", {Kind::kConfigMap, "", {"v1"}, true}},
      {"Deployment", {Kind::kDeployment, "apps", {"v1"}, true}},
      {"StatefulSet", {Kind::kStatefulSet, "apps", {"v1"}, true}},
      {"DaemonSet", {Kind::kDaemonSet, "apps", {"v1"}, true}},
      {"ReplicaSet", {Kind::kReplicaSet, "apps", {"v1"}, true}},
      {"Ingress", {Kind::kIngress, "networking.k8s.io", {"v1"}, true}},
      {"IngressClass", {Kind::kIngressClass, "networking.k8s.io", {"v1"}, false}},
      {"PeerAuthentication", {Kind::kPeerAuthentication, "security.istio.io", {"v1", "v1beta1"}, true}},
      {"AuthorizationPolicy", {Kind::kAuthorizationPolicy, "security.istio.io", {"v1", "v1beta1"}, true}},
      {"RequestAuthentication", {Kind::kRequestAuthentication, "security.istio.io", {"v1", "v1beta1"}, true}},
      {"DestinationRule", {Kind::kDestinationRule, "networking.istio.io", {"v1", "v1beta1", "v1alpha3"}, true}},
      {"VirtualService", {Kind::kVirtualService, "networking.istio.io", {"v1", "v1beta1", "v1alpha3"}, true}},
      {"Gateway", {Kind::kGateway, "networking.istio.io", {"v1", "v1beta1", "v1alpha3"}, true}},
      {"ServiceEntry", {Kind::kServiceEntry, "networking.istio.io", {"v1", "v1beta1", "v1alpha3"}, true}},
      {"Sidecar", {Kind::kSidecar, "networking.istio.io", {"v1", "v1beta1", "v1alpha3"}, true}},
      {"WorkloadEntry", {Kind::kWorkloadEntry, "networking.istio.io", {"v1", "v1beta1", "v1alpha3"}, true}},
      {"Telemetry", {Kind::kTelemetry, "telemetry.istio.io", {"v1", "v1alpha1"}, true}},
      {"IstioOperator", {Kind::kIstioOperator, "install.istio.io", {"v1alpha1"}, true}},
      // Gateway API (the versions Istio's controller reads: pkg/config/schema).
      {"GatewayClass", {Kind::kGatewayClass, "gateway.networking.k8s.io", {"v1", "v1beta1"}, false}},
      {"Gateway", {Kind::kK8sGateway, "gateway.networking.k8s.io", {"v1", "v1beta1"}, true}},
      {"HTTPRoute", {Kind::kHttpRoute, "gateway.networking.k8s.io", {"v1", "v1beta1"}, true}},
      {"GRPCRoute", {Kind::kGrpcRoute, "gateway.networking.k8s.io", {"v1"}, true}},
      {"TLSRoute", {Kind::kTlsRoute, "gateway.networking.k8s.io", {"v1", "v1alpha2"}, true}},
      {"TCPRoute", {Kind::kTcpRoute, "gateway.networking.k8s.io", {"v1", "v1alpha2"}, true}},
      {"ReferenceGrant", {Kind::kReferenceGrant, "gateway.networking.k8s.io", {"v1beta1", "v1alpha2"}, true}},
  };
  return kKinds;
}

// The kind of that name in `group` (Gateway is both Istio's and the Gateway
// API's), else the first of that name (its apiVersion error lists what is served).
const KindInfo* find_kind(std::string_view kind, std::string_view group) {
  const KindInfo* first = nullptr;
  for (const auto& [name, info] : known_kinds()) {
    if (name != kind) continue;
    if (info.group == group) return &info;
    if (!first) first = &info;
  }
  return first;
}

// Kinds that are common in manifests but have no effect on the mesh model.
const std::vector<std::string_view> kIgnoredKinds = {"Secret", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
                       "CustomResourceDefinition", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job", "CronJob",
                       "NetworkPolicy", "Endpoints", "EndpointSlice", "MutatingWebhookConfiguration",
                       "ValidatingWebhookConfiguration", "PersistentVolumeClaim", "PersistentVolume", "StorageClass",
                       "LimitRange", "ResourceQuota", "PriorityClass", "EnvoyFilter", "WorkloadGroup", "ProxyConfig",
                       "WasmPlugin", "Certificate", "Issuer", "ClusterIssuer", "ServiceMonitor", "PodMonitor"};

// Ignored kinds whose objects change what Istio does (the others — RBAC,
// storage, CRDs — do not): reported as not modelled.
bool is_behaviour_kind(std::string_view kind) {
  static const std::vector<std::string_view> k = {"EnvoyFilter", "WasmPlugin", "WorkloadGroup", "ProxyConfig",
                                                  "NetworkPolicy"};
  return std::find(k.begin(), k.end(), kind) != k.end();
}

bool is_ignored_kind(std::string_view kind) {
  return std::find(kIgnoredKinds.begin(), kIgnoredKinds.end(), kind) != kIgnoredKinds.end();
}

// " (did you mean \"PeerAuthentication\"?)" for a misspelt kind, or "".
std::string suggest_kind(std::string_view kind) {
  std::vector<std::string_view> names;
  for (const auto& [name, info] : known_kinds()) names.push_back(name);
  names.insert(names.end(), kIgnoredKinds.begin(), kIgnoredKinds.end());
  return did_you_mean(kind, names);
}

// " (did you mean \"security.istio.io/v1\"?)" for a misspelt apiVersion of a known kind, or "".
std::string suggest_api_version(std::string_view api_version, const KindInfo& info) {
  std::vector<std::string> served;
  for (auto v : info.versions) served.push_back(info.group.empty() ? std::string(v) : std::string(info.group) + "/" + std::string(v));
  return did_you_mean(api_version, served);
}

struct Loader {
  ResourceSet& out;
  std::vector<Diagnostic>& diags;
  LoadStats* stats;
  std::set<std::tuple<int, std::string, std::string>> seen;  // (kind, ns, name)
  std::string_view target_ns = {};  // kubectl apply -n: namespace of objects without one ("" = default)
  std::string_view default_ns() const { return target_ns.empty() ? std::string_view("default") : target_ns; }

  void diag(Severity sev, const char* code, Location loc, std::string resource, std::string path, std::string msg) {
    diags.push_back(Diagnostic{sev, code, loc, std::move(resource), std::move(path), std::move(msg)});
  }

  template <typename T>
  void finish(std::vector<T>& list, T&& obj, int errors_before, const Decoder& d) {
    if (d.error_count() > errors_before) return;  // invalid objects are not admitted
    auto key = std::make_tuple(static_cast<int>(obj.kind), obj.meta.namespace_, obj.meta.name);
    if (!seen.insert(key).second) {
      diag(Severity::kWarning, "MS0006", obj.source.location, obj.display(), "",
           "defined more than once; the later definition replaces the earlier one (as kubectl apply would)");
      for (auto& o : list)
        if (o.kind == obj.kind && o.meta.namespace_ == obj.meta.namespace_ && o.meta.name == obj.meta.name) {
          uint64_t order = o.source.load_order;
          o = std::move(obj);
          o.source.load_order = order;
          return;
        }
    }
    if (stats) ++stats->objects;
    list.push_back(std::move(obj));
  }

  // A Secret's data (base64) and stringData (as written), kept for the TLS
  // material gateways serve (mesh/gateway.h). Only the values are checked
  // here; whether they are PEM is checked where they are used.
  void decode_secret_data(Decoder& d, YamlNode root, const PathSeg& top, const std::string& ns, const std::string& name,
                          ResourceSet& rs) {
    ResourceSet::SecretData sd;
    sd.namespace_ = ns;
    sd.name = name;
    sd.location = root.location();
    d.str(root.get("type"), top.child("type"), sd.type);
    for (const char* field : {"data", "stringData"}) {
      YamlNode m = root.get(field);
      if (!m.valid() || m.is_null()) continue;
      PathSeg fp = top.child(field);
      if (!m.is_map()) {
        d.error(m, fp, std::string("expected a mapping of keys to values, got ") + m.kind_name());
        continue;
      }
      for (uint32_t i = 0; i < m.size(); ++i) {
        std::string key(m.key(i).scalar());
        YamlNode v = m.value(i);
        PathSeg kp = fp.child(key);
        if (!v.is_scalar()) {
          d.error(v, kp, std::string("expected a string, got ") + v.kind_name());
          continue;
        }
        std::string value;
        if (std::string_view(field) == "data") {
          std::string compact;
          for (char c : v.scalar())
            if (c != '\n' && c != ' ' && c != '\r') compact.push_back(c);
          if (!proxy::base64_decode(compact, value)) {
            d.error(v, kp, "not valid base64 (a Secret's data values are base64-encoded; use stringData for plain text)");
            continue;
          }
        } else {
          value = std::string(v.scalar());
        }
        sd.data[key] = std::move(value);
        sd.locations[key] = v.location();
      }
    }
    rs.secret_data.push_back(std::move(sd));
  }

  void object(const std::shared_ptr<const YamlDocument>& doc, YamlNode root, int list_index) {
    PathSeg top;
    Decoder d(diags, "");
    if (!root.is_map()) {
      d.error(root, top, std::string("a manifest must be a mapping with apiVersion and kind, got ") + root.kind_name());
      return;
    }
    std::string api_version, kind;
    YamlNode av = root.get("apiVersion"), kn = root.get("kind");
    d.str(av, top.child("apiVersion"), api_version);
    d.str(kn, top.child("kind"), kind);
    if (kind.empty()) {
      d.error(root, top.child("kind"), "required field is missing: every manifest needs apiVersion and kind");
      return;
    }
    if (kind == "List" || (kind.size() > 4 && kind.compare(kind.size() - 4, 4, "List") == 0)) {
      YamlNode items = root.get("items");
      d.fields(root, top, [&](std::string_view k, YamlNode, const PathSeg&) {
        return one_of(k, {"apiVersion", "kind", "items", "metadata"});
      });
      if (!items.valid()) return;
      if (!items.is_sequence()) {
        d.error(items, top.child("items"), std::string("expected a list, got ") + items.kind_name());
        return;
      }
      if (list_index >= 0) {
        d.error(root, top, "nested List objects are not supported");
        return;
      }
      for (uint32_t i = 0; i < items.size(); ++i) object(doc, items.item(i), static_cast<int>(i));
      return;
    }
    if (api_version.empty()) {
      d.error(root, top.child("apiVersion"), "required field is missing");
      return;
    }
    std::string_view group, version = api_version;
    if (size_t slash = api_version.find('/'); slash != std::string::npos) {
      group = std::string_view(api_version).substr(0, slash);
      version = std::string_view(api_version).substr(slash + 1);
    }
    const KindInfo* info = find_kind(kind, group);
    ObjectMeta meta;
    YamlNode md = root.get("metadata");
    {
      // Name the resource in metadata errors too (peek at the raw scalars first).
      std::string_view peek_ns = md.get("namespace").scalar(), peek_name = md.get("name").scalar();
      if (peek_ns.empty() && info && info->namespaced) peek_ns = default_ns();
      if (info && !info->namespaced) peek_ns = {};
      d.set_resource(kind + " " + (peek_ns.empty() ? std::string() : std::string(peek_ns) + "/") + std::string(peek_name));
    }
    decode_meta(d, md, top.child("metadata"), meta);
    std::string display = kind + " " + (meta.namespace_.empty() ? std::string() : meta.namespace_ + "/") + meta.name;
    if (!info) {
      if (kind == "Secret") {
        std::string ns = meta.namespace_.empty() ? std::string(default_ns()) : meta.namespace_;
        out.secrets.push_back(ns + "/" + meta.name);
        decode_secret_data(d, root, top, ns, meta.name, out);
      }
      if (is_behaviour_kind(kind)) {
        out.unmodelled.push_back({kind, api_version, meta.namespace_.empty() ? std::string(default_ns()) : meta.namespace_,
                                  meta.name, root.location()});
      }
      if (is_ignored_kind(kind))
        diag(Severity::kInfo, "MS0004", root.location(), display, "",
             "kind " + kind + " does not affect the mesh model; ignored");
      else
        diag(Severity::kWarning, "MS0004", root.location(), display, "",
             "unknown kind \"" + kind + "\" (apiVersion " + api_version + "); ignored" + suggest_kind(kind));
      return;
    }
    if (group != info->group || std::find(info->versions.begin(), info->versions.end(), version) == info->versions.end()) {
      std::string served;
      for (auto v : info->versions)
        served += (served.empty() ? "" : ", ") + (info->group.empty() ? std::string(v) : std::string(info->group) + "/" + std::string(v));
      d.set_resource(display);
      d.error(av.valid() ? av : root, top.child("apiVersion"),
              "apiVersion \"" + api_version + "\" is not served for kind " + kind + " (served: " + served + ")" +
                  suggest_api_version(api_version, *info),
              "MS0004");
      return;
    }
    if (!md.valid()) {
      d.set_resource(kind);
      d.error(root, top.child("metadata"), "required field is missing");
      return;
    }
    if (info->namespaced) {
      if (meta.namespace_.empty()) {
        meta.namespace_ = std::string(default_ns());
      } else if (!target_ns.empty() && meta.namespace_ != target_ns) {
        // kubectl apply -n X refuses objects that name another namespace.
        d.error(md.get("namespace"), top.child("metadata").child("namespace"),
                "the namespace from the provided object \"" + meta.namespace_ + "\" does not match the namespace \"" +
                    std::string(target_ns) + "\" it is applied to");
      }
    } else if (!meta.namespace_.empty()) {
      d.warn(md.get("namespace"), top.child("metadata").child("namespace"),
             kind + " is cluster-scoped; metadata.namespace is ignored");
      meta.namespace_.clear();
    }
    display = kind + " " + (meta.namespace_.empty() ? std::string() : meta.namespace_ + "/") + meta.name;
    d.set_resource(display);
    int errors_before = d.error_count();
    if (meta.name.empty()) {
      d.error(md, top.child("metadata").child("name"),
              md.get("generateName").valid() ? "generateName is not supported; set metadata.name"
                                             : "required field is missing");
    } else {
      std::string why = (info->kind == Kind::kService) ? detail::check_dns1035_label(meta.name)
                        : (info->kind == Kind::kNamespace) ? detail::check_dns1123_label(meta.name)
                                                           : detail::check_dns1123_subdomain(meta.name);
      if (!why.empty()) d.error(md.get("name"), top.child("metadata").child("name"), "invalid name \"" + meta.name + "\": " + why);
    }
    if (!meta.namespace_.empty() && md.get("namespace").valid()) {
      std::string why = detail::check_dns1123_label(meta.namespace_);
      if (!why.empty())
        d.error(md.get("namespace"), top.child("metadata").child("namespace"), "invalid namespace \"" + meta.namespace_ + "\": " + why);
    }
    auto fill = [&](Object& o) {
      o.kind = info->kind;
      o.api_version = api_version;
      o.meta = std::move(meta);
      o.source.location = root.location();
      o.source.doc = doc;
      o.source.root = root.index();
      o.source.load_order = out.next_load_order++;
    };
    switch (info->kind) {
#define MESH_KIND(K, T, LIST, FN)   \
  case K: {                         \
    T o;                            \
    fill(o);                        \
    detail::FN(d, root, o);         \
    finish(out.LIST, std::move(o), errors_before, d); \
    break;                          \
  }
      MESH_KIND(Kind::kNamespace, Namespace, namespaces, decode_namespace)
      MESH_KIND(Kind::kNode, Node, nodes, decode_node)
      MESH_KIND(Kind::kService, Service, services, decode_service)
      MESH_KIND(Kind::kServiceAccount, ServiceAccount, service_accounts, decode_service_account)
      MESH_KIND(Kind::kPod, Pod, pods, decode_pod)
      MESH_KIND(Kind::kConfigMap, ConfigMap, config_maps, decode_config_map)
      MESH_KIND(Kind::kDeployment, Workload, workloads, decode_workload)
      MESH_KIND(Kind::kStatefulSet, Workload, workloads, decode_workload)
      MESH_KIND(Kind::kDaemonSet, Workload, workloads, decode_workload)
      MESH_KIND(Kind::kReplicaSet, Workload, workloads, decode_workload)
      MESH_KIND(Kind::kIngress, Ingress, ingresses, decode_ingress)
      MESH_KIND(Kind::kIngressClass, IngressClass, ingress_classes, decode_ingress_class)
      MESH_KIND(Kind::kPeerAuthentication, PeerAuthentication, peer_authentications, decode_peer_authentication)
      MESH_KIND(Kind::kAuthorizationPolicy, AuthorizationPolicy, authorization_policies, decode_authorization_policy)
      MESH_KIND(Kind::kRequestAuthentication, RequestAuthentication, request_authentications, decode_request_authentication)
      MESH_KIND(Kind::kDestinationRule, DestinationRule, destination_rules, decode_destination_rule)
      MESH_KIND(Kind::kVirtualService, VirtualService, virtual_services, decode_virtual_service)
      MESH_KIND(Kind::kGateway, Gateway, gateways, decode_gateway)
      MESH_KIND(Kind::kServiceEntry, ServiceEntry, service_entries, decode_service_entry)
      MESH_KIND(Kind::kSidecar, SidecarResource, sidecars, decode_sidecar)
      MESH_KIND(Kind::kWorkloadEntry, WorkloadEntry, workload_entries, decode_workload_entry)
      MESH_KIND(Kind::kTelemetry, Telemetry, telemetries, decode_telemetry)
      MESH_KIND(Kind::kGatewayClass, GatewayClass, gateway_classes, decode_gateway_class)
      MESH_KIND(Kind::kK8sGateway, K8sGateway, k8s_gateways, decode_k8s_gateway)
      MESH_KIND(Kind::kHttpRoute, GatewayApiRoute, gateway_routes, decode_gateway_route)
      MESH_KIND(Kind::kGrpcRoute, GatewayApiRoute, gateway_routes, decode_gateway_route)
      MESH_KIND(Kind::kTlsRoute, GatewayApiRoute, gateway_routes, decode_gateway_route)
      MESH_KIND(Kind::kTcpRoute, GatewayApiRoute, gateway_routes, decode_gateway_route)
      MESH_KIND(Kind::kReferenceGrant, ReferenceGrant, reference_grants, decode_reference_grant)
#undef MESH_KIND
      case Kind::kIstioOperator: {
        IstioOperator o;
        fill(o);
        detail::decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
          if (k != "spec") return false;
          if (d.is_map(v, fp)) {
            o.mesh_config = v.get("meshConfig");
            if (YamlNode pr = v.get("profile"); pr.valid()) d.str(pr, fp.child("profile"), o.profile);
            YamlNode ts = v.get("values").get("pilot").get("traceSampling");
            if (ts.valid()) {
              double x = 0;
              if (d.number(ts, fp.child("values").child("pilot").child("traceSampling"), x)) o.values_trace_sampling = x;
            }
            YamlNode env = v.get("components").get("pilot").get("k8s").get("env");
            if (env.is_sequence()) {
              for (uint32_t i = 0; i < env.size(); ++i) {
                YamlNode e = env.item(i);
                if (e.get("name").scalar() == "PILOT_TRACE_SAMPLING") o.env_trace_sampling = std::string(e.get("value").scalar());
              }
            }
          }
          if (o.mesh_config.valid() && !o.mesh_config.is_map() && !o.mesh_config.is_null())
            d.error(o.mesh_config, fp.child("meshConfig"), std::string("expected a mapping, got ") + o.mesh_config.kind_name());
          return true;
        });
        bool mesh_config_errors = false;
        if (o.mesh_config.valid()) {
          std::vector<Diagnostic> md_diags;
          MeshConfigProbe(o.mesh_config, o.display(), md_diags);
          for (auto& x : md_diags) {
            if (x.severity == Severity::kError) mesh_config_errors = true;
            x.path = "spec.meshConfig" + (x.path.empty() ? std::string() : "." + x.path);
            diags.push_back(std::move(x));
          }
        }
        if (!mesh_config_errors) finish(out.istio_operators, std::move(o), errors_before, d);
        break;
      }
    }
  }

  // Validates a meshConfig block now so its errors are reported with the manifests.
  static void MeshConfigProbe(YamlNode n, const std::string& resource, std::vector<Diagnostic>& out);

  void text(std::string_view text, const std::string* file) {
    auto docs = parse_yaml_stream(text, file);
    for (auto& pd : docs) {
      if (stats) ++stats->documents;
      bool bad = !pd.errors.empty();
      for (auto& e : pd.errors) diags.push_back(std::move(e));
      if (!pd.doc || bad) continue;
      object(pd.doc, pd.doc->root(), -1);
    }
  }
};

}  // namespace
}  // namespace meshsim::mesh

#include "mesh/mesh_config.h"

namespace meshsim::mesh {
namespace {
void Loader::MeshConfigProbe(YamlNode n, const std::string& resource, std::vector<Diagnostic>& out) {
  MeshConfig scratch;
  apply_mesh_config(n, resource, scratch, out);
}
}  // namespace

namespace {
// The duplicate index of a loader over what `out` already holds.
void index_existing(Loader& l, const ResourceSet& out) {
  auto index = [&](const auto& list) {
    for (const auto& o : list) l.seen.insert({static_cast<int>(o.kind), o.meta.namespace_, o.meta.name});
  };
  index(out.namespaces); index(out.nodes); index(out.services); index(out.service_accounts); index(out.pods);
  index(out.workloads); index(out.ingresses); index(out.ingress_classes); index(out.config_maps);
  index(out.peer_authentications); index(out.destination_rules); index(out.virtual_services);
  index(out.authorization_policies); index(out.request_authentications); index(out.gateways);
  index(out.service_entries); index(out.sidecars); index(out.workload_entries); index(out.telemetries);
  index(out.istio_operators); index(out.gateway_classes); index(out.k8s_gateways); index(out.gateway_routes);
  index(out.reference_grants);
}
}  // namespace

void load_text(std::string_view text, std::string_view file_name, ResourceSet& out, std::vector<Diagnostic>& diags,
               LoadStats* stats, std::string_view target_namespace) {
  Loader l{out, diags, stats, {}, target_namespace};
  index_existing(l, out);
  if (stats) {
    ++stats->files;
    stats->bytes += text.size();
  }
  l.text(text, intern_file(file_name));
}

void load_node(const std::shared_ptr<const YamlDocument>& doc, YamlNode node, ResourceSet& out,
               std::vector<Diagnostic>& diags) {
  Loader l{out, diags, nullptr, {}};
  index_existing(l, out);
  l.object(doc, node, -1);
}

namespace {

// Go template actions ("{{ .Values.x }}", "{{- include … }}") outside YAML
// comments.
bool has_template_actions(std::string_view text) {
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    size_t line_start = text.rfind('\n', pos);
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    std::string_view before = text.substr(line_start, pos - line_start);
    size_t close = text.find("}}", pos + 2);
    size_t eol = text.find('\n', pos);
    if (before.find('#') == std::string_view::npos && close != std::string_view::npos && (eol == std::string_view::npos || close < eol)) {
      std::string_view inner = text.substr(pos + 2, close - pos - 2);
      if (inner.find('.') != std::string_view::npos || inner.find('-') == 0 || inner.find("include") != std::string_view::npos ||
          inner.find("if ") != std::string_view::npos || inner.find("end") != std::string_view::npos) {
        return true;
      }
    }
    pos += 2;
  }
  return false;
}

// A Helm template: template actions that break the YAML. (Templates inside
// valid YAML — the istio-sidecar-injector ConfigMap, Prometheus rules — are
// data, and load as such.)
bool looks_like_helm_template(std::string_view text) {
  if (!has_template_actions(text)) return false;
  static const std::string kProbeFile = "<template probe>";
  for (const ParsedDocument& pd : parse_yaml_stream(text, &kProbeFile)) {
    if (!pd.errors.empty()) return true;
  }
  return false;
}

std::string find_helm_template(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto ext = it->path().extension().string();
    if (ext != ".yaml" && ext != ".yml" && ext != ".tpl") continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (looks_like_helm_template(text)) return it->path().string() + " has {{ }} template actions";
  }
  return "";
}

}  // namespace

LoadResult load_paths(const std::vector<std::string>& paths, std::istream* stdin_stream, std::string_view target_namespace) {
  LoadResult r;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    if (p == "-") {
      files.push_back(p);
      continue;
    }
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      r.diagnostics.push_back(Diagnostic{Severity::kError, "MS0005", Location{intern_file(p), 0, 0}, "", "",
                                         "no such file or directory"});
      continue;
    }
    if (fs::is_directory(st)) {
      // A Helm chart (or its templates/ directory) is not manifests yet: one
      // clear error instead of a YAML syntax error per template.
      std::string chart, chart_dir = p;
      if (fs::exists(fs::path(p) / "Chart.yaml", ec)) {
        chart = "it holds Chart.yaml";
      } else if (fs::exists(fs::path(p) / ".." / "Chart.yaml", ec)) {
        chart = "its parent holds Chart.yaml";
        chart_dir = (fs::path(p) / "..").lexically_normal().string();
        while (chart_dir.size() > 1 && chart_dir.back() == '/') chart_dir.pop_back();
      }
      if (chart.empty()) chart = find_helm_template(p);
      if (!chart.empty()) {
        r.diagnostics.push_back(Diagnostic{Severity::kError, "MS0005", Location{intern_file(p), 0, 0}, "", "",
                                           "this directory is a Helm chart (" + chart + "), not rendered manifests; "
                                           "render it first: helm template NAME " + chart_dir + " | meshsim analyze -"});
        continue;
      }
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        auto ext = it->path().extension().string();
        if (ext == ".yaml" || ext == ".yml") found.push_back(it->path().string());
      }
      std::sort(found.begin(), found.end());
      if (found.empty())
        r.diagnostics.push_back(Diagnostic{Severity::kWarning, "MS0005", Location{intern_file(p), 0, 0}, "", "",
                                           "directory contains no *.yaml or *.yml files"});
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(p);
    }
  }
  for (const auto& f : files) {
    std::string text;
    if (f == "-") {
      std::istream& in = stdin_stream ? *stdin_stream : std::cin;
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      load_text(text, "<stdin>", r.resources, r.diagnostics, &r.stats, target_namespace);
      continue;
    }
    std::error_code ec;
    auto size = fs::file_size(f, ec);
    if (!ec && size > kMaxManifestBytes) {
      r.diagnostics.push_back(Diagnostic{Severity::kError, "MS0005", Location{intern_file(f), 0, 0}, "", "",
                                         "file is larger than 256 MiB; refusing to load it"});
      continue;
    }
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      r.diagnostics.push_back(Diagnostic{Severity::kError, "MS0005", Location{intern_file(f), 0, 0}, "", "",
                                         "cannot read file"});
      continue;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (looks_like_helm_template(text)) {
      r.diagnostics.push_back(Diagnostic{Severity::kError, "MS0005", Location{intern_file(f), 0, 0}, "", "",
                                         "this file is a Helm template ({{ }} actions), not a rendered manifest; "
                                         "render its chart first: helm template NAME CHART_DIR | meshsim analyze -"});
      continue;
    }
    load_text(text, f, r.resources, r.diagnostics, &r.stats, target_namespace);
  }
  return r;
}

}  // namespace meshsim::mesh
