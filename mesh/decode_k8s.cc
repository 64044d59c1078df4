// Decoders for the Kubernetes kinds, with the API server's validation rules
// that matter to a mesh (names, ports, selectors, probes, Ingress paths).
#include <algorithm>
#include <set>

#include "mesh/decode.h"
#include "proxy/base/hash.h"
#include "proxy/base/ip.h"

namespace meshsim::mesh::detail {

uint64_t hash_yaml(YamlNode n) {
  uint64_t h = 0x6d657368;  // "mesh"
  if (!n.valid()) return h;
  switch (n.kind()) {
    case YamlKind::kNull: return hash_combine(h, 1);
    case YamlKind::kScalar: return hash_combine(h, fnv1a64(n.scalar()));
    case YamlKind::kSequence:
      h = hash_combine(h, 2);
      for (uint32_t i = 0; i < n.size(); ++i) h = hash_combine(h, hash_yaml(n.item(i)));
      return h;
    case YamlKind::kMap:
      h = hash_combine(h, 3);
      for (uint32_t i = 0; i < n.size(); ++i) {
        h = hash_combine(h, hash_yaml(n.key(i)));
        h = hash_combine(h, hash_yaml(n.value(i)));
      }
      return h;
  }
  return h;
}

bool decode_meta(Decoder& d, YamlNode n, const PathSeg& p, ObjectMeta& meta) {
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "name") d.str(v, fp, meta.name);
    else if (k == "namespace") d.str(v, fp, meta.namespace_);
    else if (k == "labels") d.string_map(v, fp, meta.labels, true);
    else if (k == "annotations") {
      d.string_map(v, fp, meta.annotations, false);
      for (const auto& entry : meta.annotations) {
        std::string why = check_label_key(entry.first);
        if (!why.empty()) {
          PathSeg kp = fp.child(entry.first);
          kp.key_node = key_node_of(v, entry.first);
          d.error(v, kp, "invalid annotation key \"" + entry.first + "\": " + why);
        }
      }
    } else if (k == "creationTimestamp") {
      std::string s;
      if (d.str(v, fp, s)) {
        auto t = parse_rfc3339(s);
        if (!t) d.error(v, fp, "invalid timestamp \"" + s + "\" (expected RFC 3339, e.g. 2024-01-02T15:04:05Z)");
        else meta.creation_timestamp = *t;
      }
    } else if (k == "uid") d.str(v, fp, meta.uid);
    else if (!one_of(k, {"generateName", "resourceVersion", "generation", "managedFields", "ownerReferences",
                         "finalizers", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}))
      return false;
    return true;
  });
  return true;
}

void decode_label_selector(Decoder& d, YamlNode n, const PathSeg& p, LabelSelector& out) {
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "matchLabels") {
      d.string_map(v, fp, out.match_labels, true);
    } else if (k == "matchExpressions") {
      d.items(v, fp, [&](YamlNode it, const PathSeg& ip) {
        LabelRequirement r;
        bool has_op = false;
        d.fields(it, ip, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "key") d.str(v2, fp2, r.key);
          else if (k2 == "operator")
            has_op = d.enumeration<LabelRequirement::Op>(v2, fp2, r.op,
                                                         {{"In", LabelRequirement::Op::kIn},
                                                          {"NotIn", LabelRequirement::Op::kNotIn},
                                                          {"Exists", LabelRequirement::Op::kExists},
                                                          {"DoesNotExist", LabelRequirement::Op::kDoesNotExist}});
          else if (k2 == "values") d.strings(v2, fp2, r.values);
          else return false;
          return true;
        });
        if (r.key.empty()) d.error(it, ip.child("key"), "required field is missing");
        if (!it.get("operator").valid()) d.error(it, ip.child("operator"), "required field is missing");
        if (has_op && (r.op == LabelRequirement::Op::kIn || r.op == LabelRequirement::Op::kNotIn) && r.values.empty())
          d.error(it, ip.child("values"), "must be specified when operator is In or NotIn");
        if (has_op && (r.op == LabelRequirement::Op::kExists || r.op == LabelRequirement::Op::kDoesNotExist) &&
            !r.values.empty())
          d.error(it, ip.child("values"), "may not be specified when operator is Exists or DoesNotExist");
        out.match_expressions.push_back(std::move(r));
      });
    } else {
      return false;
    }
    return true;
  });
}

void decode_workload_selector(Decoder& d, YamlNode n, const PathSeg& p, std::optional<WorkloadSelector>& out) {
  if (!d.is_map(n, p)) return;
  WorkloadSelector ws;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "matchLabels" || k == "labels") d.string_map(v, fp, ws.match_labels, true);
    else return false;
    return true;
  });
  out = std::move(ws);
}

void decode_namespace(Decoder& d, YamlNode root, Namespace&) {
  decode_root(d, root, [&](std::string_view k, YamlNode, const PathSeg&) { return k == "spec"; });
}

void decode_service_account(Decoder& d, YamlNode root, ServiceAccount&) {
  decode_root(d, root, [&](std::string_view k, YamlNode, const PathSeg&) {
    return one_of(k, {"secrets", "imagePullSecrets", "automountServiceAccountToken"});
  });
}

void decode_node(Decoder& d, YamlNode root, Node& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "podCIDR") {
        std::optional<std::string> s;
        if (d.opt_str(v2, fp2, s)) {
          if (!parse_cidr(*s).ok()) d.error(v2, fp2, "invalid CIDR \"" + *s + "\"");
          else o.pod_cidr = s;
        }
      } else if (!one_of(k2, {"podCIDRs", "taints", "unschedulable", "providerID"})) {
        return false;
      }
      return true;
    });
    return true;
  });
  // status.addresses[type=InternalIP]
  YamlNode addrs = root.get("status").get("addresses");
  if (addrs.is_sequence()) {
    for (uint32_t i = 0; i < addrs.size(); ++i) {
      YamlNode a = addrs.item(i);
      if (a.get("type").scalar() == "InternalIP" && a.get("address").is_scalar()) {
        std::string ip(a.get("address").scalar());
        if (is_ipv4(ip)) o.internal_ip = ip;
        else d.error(a.get("address"), PathSeg().child("status").child("addresses").at(i).child("address"),
                     "invalid IPv4 address \"" + ip + "\"");
      }
    }
  }
}

// ---- pods ----------------------------------------------------------------------

namespace {

void decode_probe(Decoder& d, YamlNode n, const PathSeg& p, std::optional<Probe>& out) {
  if (!d.is_map(n, p)) return;
  Probe pr;
  int handlers = 0;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "httpGet") {
      ++handlers;
      pr.handler = Probe::Handler::kHttpGet;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "path") d.str(v2, fp2, pr.path);
        else if (k2 == "port") d.int_or_string(v2, fp2, pr.port);
        else if (k2 == "scheme") d.enum_str(v2, fp2, pr.scheme, {"HTTP", "HTTPS"});
        else if (k2 == "host") d.str(v2, fp2, pr.host);
        else if (k2 == "httpHeaders") {}
        else return false;
        return true;
      });
      if (!v.get("port").valid()) d.error(v, fp.child("port"), "required field is missing");
    } else if (k == "tcpSocket") {
      ++handlers;
      pr.handler = Probe::Handler::kTcpSocket;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "port") d.int_or_string(v2, fp2, pr.port);
        else if (k2 == "host") d.str(v2, fp2, pr.host);
        else return false;
        return true;
      });
      if (!v.get("port").valid()) d.error(v, fp.child("port"), "required field is missing");
    } else if (k == "grpc") {
      ++handlers;
      pr.handler = Probe::Handler::kGrpc;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "port") {
          uint32_t port = 0;
          if (d.port(v2, fp2, port)) pr.port.int_value = static_cast<int32_t>(port);
        } else if (k2 == "service") d.str(v2, fp2, pr.grpc_service);
        else return false;
        return true;
      });
    } else if (k == "exec") {
      ++handlers;
      pr.handler = Probe::Handler::kExec;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "command") d.strings(v2, fp2, pr.command);
        else return false;
        return true;
      });
    } else if (k == "initialDelaySeconds") d.integer(v, fp, pr.initial_delay_seconds, 0, INT32_MAX);
    else if (k == "periodSeconds") d.integer(v, fp, pr.period_seconds, 1, INT32_MAX);
    else if (k == "timeoutSeconds") d.integer(v, fp, pr.timeout_seconds, 1, INT32_MAX);
    else if (k == "successThreshold") d.integer(v, fp, pr.success_threshold, 1, INT32_MAX);
    else if (k == "failureThreshold") d.integer(v, fp, pr.failure_threshold, 1, INT32_MAX);
    else if (k == "terminationGracePeriodSeconds") {}
    else return false;
    return true;
  });
  if (handlers > 1) d.error(n, p, "may not specify more than 1 handler type (httpGet, tcpSocket, grpc, exec)");
  if (handlers == 0) d.error(n, p, "must specify a handler type (httpGet, tcpSocket, grpc or exec)");
  out = std::move(pr);
}

void decode_container(Decoder& d, YamlNode n, const PathSeg& p, Container& c, bool init) {
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "name") d.str(v, fp, c.name);
    else if (k == "image") d.str(v, fp, c.image);
    else if (k == "command") d.strings(v, fp, c.command);
    else if (k == "args") d.strings(v, fp, c.args);
    else if (k == "ports") {
      std::set<std::string> names;
      d.items(v, fp, [&](YamlNode it, const PathSeg& ip) {
        ContainerPort cp;
        d.fields(it, ip, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "name") {
            if (d.str(v2, fp2, cp.name)) {
              std::string why = check_iana_svc_name(cp.name);
              if (!why.empty()) d.error(v2, fp2, "invalid port name \"" + cp.name + "\": " + why);
              else if (!names.insert(cp.name).second) d.error(v2, fp2, "duplicate port name \"" + cp.name + "\"");
            }
          } else if (k2 == "containerPort") {
            uint32_t port = 0;
            if (d.port(v2, fp2, port)) cp.container_port = static_cast<int32_t>(port);
          } else if (k2 == "protocol") d.enum_str(v2, fp2, cp.protocol, {"TCP", "UDP", "SCTP"});
          else if (one_of(k2, {"hostPort", "hostIP"})) {}
          else return false;
          return true;
        });
        if (!it.get("containerPort").valid() && it.is_map()) d.error(it, ip.child("containerPort"), "required field is missing");
        c.ports.push_back(std::move(cp));
      });
    } else if (k == "env") {
      d.items(v, fp, [&](YamlNode it, const PathSeg& ip) {
        EnvVar e;
        d.fields(it, ip, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "name") d.str(v2, fp2, e.name);
          else if (k2 == "value") d.str(v2, fp2, e.value);
          else if (k2 == "valueFrom") e.from_source = true;
          else return false;
          return true;
        });
        if (e.name.empty() && it.is_map()) d.error(it, ip.child("name"), "required field is missing");
        c.env.push_back(std::move(e));
      });
    } else if (k == "livenessProbe") decode_probe(d, v, fp, c.liveness);
    else if (k == "readinessProbe") decode_probe(d, v, fp, c.readiness);
    else if (k == "startupProbe") decode_probe(d, v, fp, c.startup);
    else if (k == "securityContext") {
      YamlNode u = v.get("runAsUser");
      if (u.valid()) {
        int64_t uid = 0;
        if (d.int64(u, fp.child("runAsUser"), uid, 0, INT64_MAX)) c.run_as_user = uid;
      }
    } else if (!one_of(k, {"imagePullPolicy", "resources", "volumeMounts", "workingDir", "envFrom", "lifecycle",
                           "terminationMessagePath", "terminationMessagePolicy", "stdin", "stdinOnce", "tty",
                           "volumeDevices", "restartPolicy", "resizePolicy"}))
      return false;
    return true;
  });
  if (!n.is_map()) return;
  if (c.name.empty()) d.error(n, p.child("name"), "required field is missing");
  else {
    std::string why = check_dns1123_label(c.name);
    if (!why.empty()) d.error(n.get("name"), p.child("name"), "invalid container name \"" + c.name + "\": " + why);
  }
  if (c.image.empty()) d.error(n, p.child("image"), "required field is missing");
  if (init && (c.liveness || c.readiness || c.startup))
    d.error(n, p, "init containers may not have liveness, readiness or startup probes");
}

void decode_node_affinity(Decoder& d, YamlNode n, const PathSeg& p, PodSpec& spec) {
  YamlNode req = n.get("nodeAffinity").get("requiredDuringSchedulingIgnoredDuringExecution");
  if (!req.valid()) return;
  PathSeg ap = p.child("nodeAffinity");
  PathSeg rp = ap.child("requiredDuringSchedulingIgnoredDuringExecution");
  d.items(req.get("nodeSelectorTerms"), rp.child("nodeSelectorTerms"), [&](YamlNode t, const PathSeg& tp) {
    NodeSelectorTerm term;
    d.items(t.get("matchExpressions"), tp.child("matchExpressions"), [&](YamlNode e, const PathSeg& ep) {
      LabelRequirement r;
      d.str(e.get("key"), ep.child("key"), r.key);
      d.enumeration<LabelRequirement::Op>(e.get("operator"), ep.child("operator"), r.op,
                                          {{"In", LabelRequirement::Op::kIn},
                                           {"NotIn", LabelRequirement::Op::kNotIn},
                                           {"Exists", LabelRequirement::Op::kExists},
                                           {"DoesNotExist", LabelRequirement::Op::kDoesNotExist},
                                           {"Gt", LabelRequirement::Op::kGt},
                                           {"Lt", LabelRequirement::Op::kLt}});
      d.strings(e.get("values"), ep.child("values"), r.values);
      term.match_expressions.push_back(std::move(r));
    });
    spec.required_node_affinity.push_back(std::move(term));
  });
}

void decode_pod_spec(Decoder& d, YamlNode n, const PathSeg& p, PodSpec& spec) {
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "containers" || k == "initContainers") {
      bool init = k == "initContainers";
      auto& list = init ? spec.init_containers : spec.containers;
      d.items(v, fp, [&](YamlNode it, const PathSeg& ip) {
        Container c;
        decode_container(d, it, ip, c, init);
        list.push_back(std::move(c));
      });
    } else if (k == "serviceAccountName" || k == "serviceAccount") {
      std::string sa;
      if (d.str(v, fp, sa) && (k == "serviceAccountName" || spec.service_account_name.empty()))
        spec.service_account_name = sa;
    } else if (k == "nodeName") d.str(v, fp, spec.node_name);
    else if (k == "nodeSelector") d.string_map(v, fp, spec.node_selector, false);
    else if (k == "affinity") {
      if (d.is_map(v, fp)) decode_node_affinity(d, v, fp, spec);
    } else if (k == "hostNetwork") d.boolean(v, fp, spec.host_network);
    else if (k == "hostname") d.str(v, fp, spec.hostname);
    else if (k == "subdomain") d.str(v, fp, spec.subdomain);
    else if (k == "terminationGracePeriodSeconds") {
      int64_t t = 0;
      if (d.int64(v, fp, t, 0, INT64_MAX)) spec.termination_grace_period_seconds = t;
    } else if (!one_of(k, {"volumes", "securityContext", "imagePullSecrets", "restartPolicy", "dnsPolicy",
                           "dnsConfig", "tolerations", "priorityClassName", "priority", "schedulerName",
                           "automountServiceAccountToken", "hostPID", "hostIPC", "shareProcessNamespace",
                           "topologySpreadConstraints", "readinessGates", "runtimeClassName", "enableServiceLinks",
                           "preemptionPolicy", "overhead", "activeDeadlineSeconds", "hostAliases",
                           "setHostnameAsFQDN", "os", "ephemeralContainers", "hostUsers", "schedulingGates",
                           "resourceClaims"}))
      return false;
    return true;
  });
  if (n.is_map() && spec.containers.empty()) d.error(n, p.child("containers"), "required value: at least one container");
  // Container names unique across containers and init containers.
  std::set<std::string> names;
  for (const auto* list : {&spec.init_containers, &spec.containers})
    for (const auto& c : *list)
      if (!c.name.empty() && !names.insert(c.name).second)
        d.error(n, p.child("containers"), "duplicate container name \"" + c.name + "\"");
}

void decode_template(Decoder& d, YamlNode n, const PathSeg& p, PodTemplate& t) {
  if (!d.is_map(n, p)) return;
  t.template_hash = hash_yaml(n);
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "metadata") {
      ObjectMeta m;
      decode_meta(d, v, fp, m);
      t.labels = std::move(m.labels);
      t.annotations = std::move(m.annotations);
    } else if (k == "spec") decode_pod_spec(d, v, fp, t.spec);
    else return false;
    return true;
  });
  if (!n.get("spec").valid()) d.error(n, p.child("spec"), "required field is missing");
}

}  // namespace

void decode_pod(Decoder& d, YamlNode root, Pod& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    decode_pod_spec(d, v, fp, o.spec);
    return true;
  });
  // A Pod without spec (e.g. only its metadata, as analysis fixtures give it)
  // is accepted like Istio's analyzers accept it: a pod with no containers.
}

void decode_workload(Decoder& d, YamlNode root, Workload& o) {
  bool has_replicas = false;
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "replicas") {
        if (o.kind == Kind::kDaemonSet) return false;
        has_replicas = d.integer(v2, fp2, o.replicas, 0, INT32_MAX);
      } else if (k2 == "selector") decode_label_selector(d, v2, fp2, o.selector);
      else if (k2 == "template") decode_template(d, v2, fp2, o.tmpl);
      else if (k2 == "serviceName" && o.kind == Kind::kStatefulSet) d.str(v2, fp2, o.service_name);
      else if (!one_of(k2, {"strategy", "updateStrategy", "minReadySeconds", "revisionHistoryLimit", "paused",
                            "progressDeadlineSeconds", "podManagementPolicy", "volumeClaimTemplates",
                            "persistentVolumeClaimRetentionPolicy", "ordinals"}))
        return false;
      return true;
    });
    return true;
  });
  (void)has_replicas;
  PathSeg sp = PathSeg().child("spec");
  YamlNode spec = root.get("spec");
  if (!spec.valid()) {
    d.error(root, sp, "required field is missing");
    return;
  }
  if (!spec.get("template").valid()) d.error(spec, sp.child("template"), "required field is missing");
  if (!spec.get("selector").valid()) {
    d.error(spec, sp.child("selector"), "required field is missing (apps/v1 workloads need spec.selector)");
  } else if (o.selector.empty()) {
    d.error(spec.get("selector"), sp.child("selector"), "empty selector is invalid for " + std::string(kind_name(o.kind)));
  } else if (spec.get("template").valid() && !o.selector.matches(o.tmpl.labels)) {
    d.error(spec.get("selector"), sp.child("selector"),
            "`selector` does not match template `labels`: the API server rejects this " + std::string(kind_name(o.kind)));
  }
}

void decode_service(Decoder& d, YamlNode root, Service& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "type") d.enum_str(v2, fp2, o.type, {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"});
      else if (k2 == "clusterIP") {
        if (d.str(v2, fp2, o.cluster_ip) && !o.cluster_ip.empty() && o.cluster_ip != "None" && !is_ipv4(o.cluster_ip))
          d.error(v2, fp2, "invalid clusterIP \"" + o.cluster_ip + "\" (an IPv4 address, \"None\" or empty)");
      } else if (k2 == "selector") {
        Labels sel;
        d.string_map(v2, fp2, sel, true);
        o.selector = std::move(sel);
      } else if (k2 == "externalName") d.str(v2, fp2, o.external_name);
      else if (k2 == "ports") {
        d.items(v2, fp2, [&](YamlNode it, const PathSeg& ip) {
          ServicePort sp;
          d.fields(it, ip, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "name") {
              if (d.str(v3, fp3, sp.name)) {
                std::string why = check_dns1123_label(sp.name);
                if (!why.empty()) d.error(v3, fp3, "invalid port name \"" + sp.name + "\": " + why);
              }
            } else if (k3 == "port") {
              uint32_t port = 0;
              if (d.port(v3, fp3, port)) sp.port = static_cast<int32_t>(port);
            } else if (k3 == "targetPort") {
              d.int_or_string(v3, fp3, sp.target_port);
              if (sp.target_port.is_int && v3.is_scalar() && (sp.target_port.int_value < 1 || sp.target_port.int_value > 65535))
                d.error(v3, fp3, "targetPort " + std::to_string(sp.target_port.int_value) + " out of range [1, 65535]");
              if (!sp.target_port.is_int) {
                std::string why = check_iana_svc_name(sp.target_port.str_value);
                if (!why.empty()) d.error(v3, fp3, "invalid named targetPort \"" + sp.target_port.str_value + "\": " + why);
              }
            } else if (k3 == "appProtocol") {
              std::optional<std::string> ap;
              if (d.opt_str(v3, fp3, ap)) sp.app_protocol = ap;
            } else if (k3 == "protocol") {
              // The API server accepts only TCP, UDP and SCTP; Istio's analyzers
              // take other values (e.g. "HTTP") as TCP. Kept, with a warning.
              std::string proto;
              if (d.str(v3, fp3, proto)) {
                if (proto == "TCP" || proto == "UDP" || proto == "SCTP") {
                  sp.protocol = proto;
                } else {
                  d.warn(v3, fp3, "unsupported value \"" + proto + "\" (valid: TCP, UDP, SCTP): the Kubernetes API server "
                         "rejects this Service; meshsim treats the port as TCP", "MS0008");
                }
              }
            } else if (k3 == "nodePort") d.integer(v3, fp3, sp.node_port, 0, 65535);
            else return false;
            return true;
          });
          if (it.is_map() && !it.get("port").valid()) d.error(it, ip.child("port"), "required field is missing");
          o.ports.push_back(std::move(sp));
        });
      } else if (!one_of(k2, {"clusterIPs", "sessionAffinity", "sessionAffinityConfig", "externalTrafficPolicy",
                              "internalTrafficPolicy", "loadBalancerIP", "loadBalancerSourceRanges",
                              "externalIPs", "publishNotReadyAddresses", "ipFamilies", "ipFamilyPolicy",
                              "allocateLoadBalancerNodePorts", "loadBalancerClass", "healthCheckNodePort",
                              "trafficDistribution"}))
        return false;
      return true;
    });
    return true;
  });
  PathSeg spec_path = PathSeg().child("spec");
  PathSeg pp = spec_path.child("ports");
  YamlNode ports = root.get("spec").get("ports");
  if (o.type != "ExternalName" && o.ports.empty() && o.cluster_ip != "None")
    d.error(root.get("spec").valid() ? root.get("spec") : root, pp, "required value: a Service needs at least one port");
  std::set<std::string> names;
  std::set<std::pair<int32_t, std::string>> numbers;
  for (size_t i = 0; i < o.ports.size(); ++i) {
    const auto& sp = o.ports[i];
    YamlNode pn = ports.is_sequence() && i < ports.size() ? ports.item(static_cast<uint32_t>(i)) : root;
    if (o.ports.size() > 1 && sp.name.empty())
      d.warn(pn, pp.at(static_cast<int64_t>(i)).child("name"),
             "required when a Service has more than one port: the Kubernetes API server rejects this Service; meshsim "
             "keeps it for analysis", "MS0008");
    if (!sp.name.empty() && !names.insert(sp.name).second)
      d.error(pn, pp.at(static_cast<int64_t>(i)).child("name"), "duplicate port name \"" + sp.name + "\"");
    if (sp.port && !numbers.insert({sp.port, sp.protocol}).second)
      d.error(pn, pp.at(static_cast<int64_t>(i)).child("port"),
              "duplicate port " + std::to_string(sp.port) + "/" + sp.protocol);
  }
  if (o.type == "ExternalName" && o.external_name.empty())
    d.error(root, PathSeg().child("spec").child("externalName"), "required for type ExternalName");
}

void decode_config_map(Decoder& d, YamlNode root, ConfigMap& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "data") d.string_map(v, fp, o.data, false);
    else if (k == "binaryData" || k == "immutable") {}
    else return false;
    return true;
  });
}

// ---- ingress ---------------------------------------------------------------------

namespace {

void decode_backend(Decoder& d, YamlNode n, const PathSeg& p, IngressBackend& b) {
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "service") {
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "name") d.str(v2, fp2, b.service_name);
        else if (k2 == "port") {
          d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "number") {
              uint32_t port = 0;
              if (d.port(v3, fp3, port)) b.service_port = IntOrString{true, static_cast<int32_t>(port), {}};
            } else if (k3 == "name") {
              std::string s;
              if (d.str(v3, fp3, s)) b.service_port = IntOrString{false, 0, s};
            } else return false;
            return true;
          });
          if (v2.get("number").valid() && v2.get("name").valid())
            d.error(v2, fp2, "only one of port.number and port.name may be set");
        } else return false;
        return true;
      });
      if (v.is_map() && b.service_name.empty()) d.error(v, fp.child("name"), "required field is missing");
      if (v.is_map() && !v.get("port").valid()) d.error(v, fp.child("port"), "required field is missing");
    } else if (k == "resource") {
      d.str(v.get("kind"), fp.child("kind"), b.resource_kind);
      if (b.resource_kind.empty()) b.resource_kind = "?";
    } else if (k == "serviceName" || k == "servicePort") {
      d.error(v, fp, "field \"" + std::string(k) + "\" belongs to the removed networking.k8s.io/v1beta1 API; use service.name / service.port");
    } else return false;
    return true;
  });
  if (n.is_map() && !n.get("service").valid() && !n.get("resource").valid() && !n.get("serviceName").valid())
    d.error(n, p, "backend needs service or resource");
}

}  // namespace

void decode_ingress(Decoder& d, YamlNode root, Ingress& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "ingressClassName") d.opt_str(v2, fp2, o.ingress_class_name);
      else if (k2 == "defaultBackend" || k2 == "backend") {
        if (k2 == "backend") {
          d.error(v2, fp2, "spec.backend was removed with networking.k8s.io/v1beta1; use spec.defaultBackend");
          return true;
        }
        IngressBackend b;
        decode_backend(d, v2, fp2, b);
        o.default_backend = std::move(b);
      } else if (k2 == "rules") {
        d.items(v2, fp2, [&](YamlNode rn, const PathSeg& rp) {
          IngressRule r;
          d.fields(rn, rp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "host") {
              if (d.str(v3, fp3, r.host)) {
                std::string why = check_istio_host(r.host, false);
                if (is_ipv4(r.host)) d.error(v3, fp3, "host must be a DNS name, not an IP address");
                else if (!why.empty()) d.error(v3, fp3, why);
              }
            } else if (k3 == "http") {
              d.fields(v3, fp3, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                if (k4 != "paths") return false;
                d.items(v4, fp4, [&](YamlNode pn, const PathSeg& pp) {
                  IngressPath ip;
                  ip.location = pn.location();
                  d.fields(pn, pp, [&](std::string_view k5, YamlNode v5, const PathSeg& fp5) {
                    if (k5 == "path") d.str(v5, fp5, ip.path);
                    else if (k5 == "pathType") d.enum_str(v5, fp5, ip.path_type, {"Exact", "Prefix", "ImplementationSpecific"});
                    else if (k5 == "backend") decode_backend(d, v5, fp5, ip.backend);
                    else return false;
                    return true;
                  });
                  if (pn.is_map()) {
                    if (!pn.get("pathType").valid())
                      d.error(pn, pp.child("pathType"), "required field is missing (Exact, Prefix or ImplementationSpecific)");
                    if (!pn.get("backend").valid()) d.error(pn, pp.child("backend"), "required field is missing");
                    if ((ip.path_type == "Exact" || ip.path_type == "Prefix") && (ip.path.empty() || ip.path[0] != '/'))
                      d.error(pn.get("path").valid() ? pn.get("path") : pn, pp.child("path"),
                              "must be an absolute path for pathType " + ip.path_type);
                  }
                  r.paths.push_back(std::move(ip));
                });
                return true;
              });
            } else return false;
            return true;
          });
          o.rules.push_back(std::move(r));
        });
      } else if (k2 == "tls") {
        d.items(v2, fp2, [&](YamlNode tn, const PathSeg& tp) {
          IngressTls t;
          d.fields(tn, tp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "hosts") d.strings(v3, fp3, t.hosts);
            else if (k3 == "secretName") d.str(v3, fp3, t.secret_name);
            else return false;
            return true;
          });
          o.tls.push_back(std::move(t));
        });
      } else return false;
      return true;
    });
    return true;
  });
  if (o.rules.empty() && !o.default_backend && root.get("spec").valid())
    d.error(root.get("spec"), PathSeg().child("spec"), "either `defaultBackend` or `rules` must be specified");
}

void decode_ingress_class(Decoder& d, YamlNode root, IngressClass& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "controller") d.str(v2, fp2, o.controller);
      else if (k2 == "parameters") {}
      else return false;
      return true;
    });
    return true;
  });
}

}  // namespace meshsim::mesh::detail
