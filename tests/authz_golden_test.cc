// Istio's own expectations for AuthorizationPolicy → Envoy RBAC: the goldens
// of pilot/pkg/security/authz/builder (tests/data/istio-authz, copied from
// istio/istio) compared, field by field, with what `meshsim proxy-config
// rbac -o json` shows for the same policies — the config meshsim's engine
// runs. The cases and their trust-domain bundles are builder_test.go's
// (TestGenerator_GenerateHTTP / GenerateTCP, CUSTOM cases left out).
//
// The goldens are protojson YAML (camelCase, defaults omitted); meshsim
// prints Envoy's config-dump JSON (snake_case). The comparison converts the
// golden's keys to snake_case (not the policy names) and every scalar to its
// text, then requires equal trees.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/shell_run.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string src() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return s ? s : MESHSIM_SOURCE_DIR;
}

std::string snake(const std::string& k) {
  std::string out;
  for (char c : k) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back('_');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Golden YAML → JSON with snake_case keys (policy names kept) and string scalars.
json from_yaml(const YAML::Node& n, bool keep_keys = false) {
  if (n.IsMap()) {
    json j = json::object();
    for (const auto& kv : n) {
      std::string k = kv.first.as<std::string>();
      bool policies = k == "policies";
      j[keep_keys || k[0] == '@' ? k : snake(k)] = from_yaml(kv.second, policies);
    }
    return j;
  }
  if (n.IsSequence()) {
    json j = json::array();
    for (const auto& e : n) j.push_back(from_yaml(e));
    return j;
  }
  return n.as<std::string>();
}

// meshsim's JSON with every scalar as text.
json textual(const json& j) {
  if (j.is_object()) {
    json o = json::object();
    for (auto it = j.begin(); it != j.end(); ++it) o[it.key()] = textual(it.value());
    return o;
  }
  if (j.is_array()) {
    json a = json::array();
    for (const auto& e : j) a.push_back(textual(e));
    return a;
  }
  if (j.is_string()) return j;
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  return j.dump();
}

constexpr const char* kWorkload = R"(apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: foo}
spec:
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: 8080}, {name: tcp, port: 9000, targetPort: 9000}]
---
apiVersion: v1
kind: Pod
metadata: {name: httpbin, namespace: foo, labels: {app: httpbin, version: v1}}
spec:
  containers: [{name: httpbin, image: docker.io/mccutchen/go-httpbin:v2.15.0}]
)";

struct Case {
  std::string dir;    // http | tcp
  std::string input;  // "<name>-in.yaml"
  std::vector<std::string> want;
  std::string trust_domain = "";  // "" = cluster.local
  std::vector<std::string> aliases = {};
  // Extra mesh config (builder_test.go's meshConfigHTTP for CUSTOM cases).
  std::string mesh_config = "";
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.dir << "/" << c.input; }

std::string golden_file(const std::string& dir, const std::string& name) {
  std::string base = src() + "/tests/data/istio-authz/" + dir + "/";
  if (fs::exists(base + "extended-" + name)) return base + "extended-" + name;
  return base + name;
}

json run_rbac(const Case& c, const fs::path& tmp) {
  fs::create_directories(tmp);
  std::ofstream(tmp / "workload.yaml") << kWorkload;
  std::string args = "proxy-config rbac foo/httpbin -o json --mesh " + (tmp / "workload.yaml").string() + " --mesh " +
                     src() + "/tests/data/istio-authz/" + c.dir + "/" + c.input;
  if (!c.mesh_config.empty()) {
    std::ofstream(tmp / "mesh.yaml") << c.mesh_config;
    std::ofstream(tmp / "workload.yaml", std::ios::app)
        << "---\napiVersion: v1\nkind: Service\nmetadata: {name: my-custom-ext-authz, namespace: foo}\n"
           "spec: {ports: [{name: http, port: 9000}]}\n";
    args += " --mesh-config " + (tmp / "mesh.yaml").string();
  } else if (!c.trust_domain.empty()) {
    std::ofstream mc(tmp / "mesh.yaml");
    mc << "trustDomain: " << c.trust_domain << "\ntrustDomainAliases: [";
    for (size_t i = 0; i < c.aliases.size(); ++i) mc << (i ? ", " : "") << c.aliases[i];
    mc << "]\n";
    args += " --mesh-config " + (tmp / "mesh.yaml").string();
  }
  auto r = meshsim::testing::run_shell("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " " + args + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.out;
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

class IstioAuthzGolden : public ::testing::TestWithParam<Case> {};

TEST_P(IstioAuthzGolden, MatchesIstiodsGeneratedRbacFilter) {
  const Case& c = GetParam();
  fs::path tmp = fs::temp_directory_path() / ("meshsim-authz-golden-" + std::to_string(::getpid()) + "-" +
                                              c.input.substr(0, c.input.size() - 8));
  json got = run_rbac(c, tmp);
  fs::remove_all(tmp);
  if (got.is_discarded()) return;
  const json& filters = got[c.dir == "tcp" ? "network_filters" : "http_filters"];
  ASSERT_EQ(filters.size(), c.want.size()) << got.dump(2);
  for (size_t i = 0; i < c.want.size(); ++i) {
    if (c.want[i] == "ext_authz") {  // compared by name only (the check request's body is not modelled)
      EXPECT_EQ(filters[i]["name"], "envoy.filters.http.ext_authz");
      continue;
    }
    std::string path = golden_file(c.dir, c.want[i]);
    json want = from_yaml(YAML::LoadFile(path));
    EXPECT_EQ(textual(filters[i]), want) << "golden " << path << "\n--- meshsim:\n"
                                         << textual(filters[i]).dump(2) << "\n--- istiod:\n"
                                         << want.dump(2);
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.dir + "_" + info.param.input.substr(0, info.param.input.size() - 8);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(
    Builder, IstioAuthzGolden,
    ::testing::Values(
        Case{"http", "allow-empty-rule-in.yaml", {"allow-empty-rule-out.yaml"}},
        Case{"http", "allow-full-rule-in.yaml", {"allow-full-rule-out.yaml"}},
        Case{"http", "allow-nil-rule-in.yaml", {"allow-nil-rule-out.yaml"}},
        Case{"http", "allow-path-in.yaml", {"allow-path-out.yaml"}},
        Case{"http", "audit-full-rule-in.yaml", {"audit-full-rule-out.yaml"}},
        Case{"http", "deny-and-allow-in.yaml", {"deny-and-allow-out1.yaml", "deny-and-allow-out2.yaml"}},
        Case{"http", "deny-empty-rule-in.yaml", {"deny-empty-rule-out.yaml"}},
        Case{"http", "dry-run-allow-and-deny-in.yaml",
             {"dry-run-allow-and-deny-out1.yaml", "dry-run-allow-and-deny-out2.yaml"}},
        Case{"http", "dry-run-allow-in.yaml", {"dry-run-allow-out.yaml"}},
        Case{"http", "dry-run-mix-in.yaml", {"dry-run-mix-out.yaml"}},
        Case{"http", "multiple-policies-in.yaml", {"multiple-policies-out.yaml"}},
        Case{"http", "single-policy-in.yaml", {"single-policy-out.yaml"}},
        Case{"http", "simple-policy-td-aliases-in.yaml", {"simple-policy-td-aliases-out.yaml"}, "td1", {"cluster.local"}},
        Case{"http", "simple-policy-multiple-td-aliases-in.yaml", {"simple-policy-multiple-td-aliases-out.yaml"},
             "td1", {"cluster.local", "some-td"}},
        Case{"http", "simple-policy-principal-with-wildcard-in.yaml",
             {"simple-policy-principal-with-wildcard-out.yaml"}, "td1", {"foobar"}},
        Case{"http", "td-aliases-source-principal-in.yaml", {"td-aliases-source-principal-out.yaml"}, "new-td",
             {"old-td", "some-trustdomain"}},
        Case{"http", "trust-domains-in.yaml", {"trust-domains-out.yaml"}},
        Case{"http", "custom-simple-http-in.yaml", {"custom-http-provider-out1.yaml", "ext_authz"}, "", {},
             "extensionProviders:\n- name: default\n  envoyExtAuthzHttp:\n"
             "    service: foo/my-custom-ext-authz.foo.svc.cluster.local\n    port: 9000\n    timeout: 10s\n"
             "    failOpen: true\n    statusOnError: \"403\"\n    pathPrefix: /check\n"
             "    includeRequestHeadersInCheck: [x-custom-id, x-prefix-*, \"*-suffix\"]\n"
             "    headersToUpstreamOnAllow: [Authorization, x-prefix-*, \"*-suffix\"]\n"
             "    headersToDownstreamOnDeny: [Set-cookie, x-prefix-*, \"*-suffix\"]\n"},
        Case{"tcp", "allow-both-http-tcp-in.yaml", {"allow-both-http-tcp-out.yaml"}},
        Case{"tcp", "allow-only-http-in.yaml", {"allow-only-http-out.yaml"}},
        Case{"tcp", "audit-both-http-tcp-in.yaml", {"audit-both-http-tcp-out.yaml"}},
        Case{"tcp", "deny-both-http-tcp-in.yaml", {"deny-both-http-tcp-out.yaml"}},
        Case{"tcp", "dry-run-mix-in.yaml", {"dry-run-mix-out.yaml"}}),
    case_name);

}  // namespace
