// End-to-end tests of the Gateway API through the executable (`meshsim
// probe`, `proxy-config`, `gateway-status`, `analyze`):
//  * Istio's Bookinfo Gateway API sample (samples/bookinfo/gateway-api/
//    bookinfo-gateway.yaml) from an external client through the automated
//    deployment default/bookinfo-gateway-istio to productpage;
//  * route attachment and its status against Istio's own expected output:
//    the inputs of Istio's conversion test (tests/data/gateway-api/*.yaml)
//    and the goldens istiod's controller produces from them
//    (*.status.yaml.golden, *.yaml.golden) — the oracle is Istio's, read with
//    yaml-cpp, never meshsim's output;
//  * filters, weights and ReferenceGrant on traffic through the gateway.
// Expected answers and their sources: docs/model/ingress.md, "Gateway API".
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/shell_run.h"

namespace {

using ShellRun = meshsim::testing::ShellRun;
ShellRun sh(const std::string& cmd) { return meshsim::testing::run_shell(cmd); }

std::string src() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return std::string(s ? s : ".");
}
std::string data(const std::string& p) { return src() + "/tests/data/" + p; }
std::string exe() { return std::string(MESHSIM_EXE); }

const std::string kBookinfo = "--mesh " + data("istio-samples/bookinfo/platform/kube/bookinfo.yaml") +
                              " --inject-namespace default --mesh " +
                              data("istio-samples/bookinfo/gateway-api/bookinfo-gateway.yaml");

std::string temp_file(const std::string& what) {
  return (std::filesystem::temp_directory_path() / ("meshsim-gwapi-" + std::to_string(::getpid()) + "-" + what)).string();
}

struct CliRun {
  int code = 0;
  nlohmann::json j;
  std::string out, err;
};

CliRun run(const std::string& args) {
  std::string err = temp_file("err");
  ShellRun r = sh("timeout -s KILL 120 " + exe() + " " + args + " 2>" + err);
  CliRun p;
  p.code = r.exit_code;
  p.out = r.out;
  p.j = nlohmann::json::parse(r.out, nullptr, false);
  std::ifstream f(err);
  p.err.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  std::filesystem::remove(err);
  return p;
}

CliRun probe(const std::string& mesh, const std::string& path) {
  return run("probe " + mesh + " --from external --to bookinfo.example.com:80 --via ingress --path " + path + " -o json");
}

TEST(GatewayApi, BookinfoSampleReachesProductpageThroughTheAutomatedDeployment) {
  CliRun p = probe(kBookinfo, "/productpage");
  ASSERT_EQ(p.code, 0) << p.err << p.out;
  ASSERT_FALSE(p.j.is_discarded());
  EXPECT_EQ(p.j["outcome"], "ok");
  EXPECT_EQ(p.j["http_status"], 200);
  // The external address is the automated Service's (type LoadBalancer).
  EXPECT_NE(p.j["to"].get<std::string>().find("default/bookinfo-gateway-istio at 172.18.255.200:80"), std::string::npos)
      << p.j["to"];
  const auto& g = p.j["gateway"];
  EXPECT_EQ(g["pod"].get<std::string>().rfind("default/bookinfo-gateway-istio-", 0), 0u) << g;
  EXPECT_EQ(g["listener"], "0.0.0.0_80");  // the listener port itself (the Service's targetPort)
  EXPECT_EQ(g["route_config"], "http.80");
  EXPECT_EQ(g["virtual_host"], "*:80");
  EXPECT_EQ(g["cluster"], "outbound|9080||productpage.default.svc.cluster.local");
  EXPECT_EQ(g["upstream_tls_mode"], "ISTIO_MUTUAL");
  EXPECT_EQ(p.j["server_sidecar"]["tls_termination"], "mtls");
}

TEST(GatewayApi, BookinfoMatchesAreExactAndPathSeparatedPrefixes) {
  // PathPrefix /static matches /static and /static/… (path-separated), not /staticx;
  // Exact /productpage does not match /productpage/x.
  CliRun st = probe(kBookinfo, "/static/img/izzy.png");
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_EQ(st.j["http_status"], 200);
  EXPECT_EQ(st.j["gateway"]["cluster"], "outbound|9080||productpage.default.svc.cluster.local");
  for (const char* path : {"/staticx", "/productpage/x", "/"}) {
    CliRun p = probe(kBookinfo, path);
    EXPECT_EQ(p.j["http_status"], 404) << path << " " << p.out;
    EXPECT_EQ(p.j["gateway"]["result"], "no_route") << path;
    EXPECT_EQ(p.j["gateway"]["response_flags"], "NR") << path;
  }
}

TEST(GatewayApi, ProxyConfigOnTheGatewayPodShowsTheTranslatedRoutes) {
  CliRun r = run("proxy-config route default/bookinfo-gateway-istio " + kBookinfo + " -o json");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_FALSE(r.j.is_discarded()) << r.out;
  std::string dump = r.j.dump();
  EXPECT_NE(dump.find("\"http.80\""), std::string::npos);
  // The HTTPRoute's rule, split per match and named <ns>.<name>.<rule index> (convertHTTPRoute).
  EXPECT_NE(dump.find("default.bookinfo.0"), std::string::npos);
  EXPECT_NE(dump.find("/productpage"), std::string::npos);
  EXPECT_NE(dump.find("/api/v1/products"), std::string::npos);
  CliRun l = run("proxy-config listener default/bookinfo-gateway-istio " + kBookinfo);
  ASSERT_EQ(l.code, 0) << l.err;
  EXPECT_NE(l.out.find("0.0.0.0"), std::string::npos);
  EXPECT_NE(l.out.find("80"), std::string::npos);
}

// ---- Istio's conversion test data as the oracle ---------------------------------

std::string ref_string(const YAML::Node& p, const std::string& route_ns) {
  std::string ns = p["namespace"] ? p["namespace"].as<std::string>() : route_ns;
  std::string kind = p["kind"] ? p["kind"].as<std::string>() : "Gateway";
  std::string s = (kind == "Gateway" ? "" : kind + " ") + ns + "/" + p["name"].as<std::string>();
  if (p["sectionName"]) s += "/" + p["sectionName"].as<std::string>();
  if (p["port"]) s += ":" + p["port"].as<std::string>();
  return s;
}

// kind/ns/name → parentRef → (condition type → "status reason message").
using StatusMap = std::map<std::string, std::map<std::string, std::map<std::string, std::string>>>;

StatusMap golden_route_status(const std::string& file) {
  StatusMap m;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(file)) {
    if (!doc.IsMap()) continue;
    std::string kind = doc["kind"].as<std::string>();
    if (kind == "Gateway" || kind == "GatewayClass" || kind == "ListenerSet") continue;
    std::string ns = doc["metadata"]["namespace"].as<std::string>();
    std::string key = kind + "/" + ns + "/" + doc["metadata"]["name"].as<std::string>();
    auto& per = m[key];
    for (const YAML::Node& p : doc["status"]["parents"]) {
      auto& conds = per[ref_string(p["parentRef"], ns)];
      for (const YAML::Node& c : p["conditions"]) {
        std::string type = c["type"].as<std::string>();
        if (type != "Accepted" && type != "ResolvedRefs") continue;
        conds[type] = c["status"].as<std::string>() + " " + c["reason"].as<std::string>() + " " + c["message"].as<std::string>();
      }
    }
  }
  return m;
}

StatusMap meshsim_route_status(const nlohmann::json& objects) {
  StatusMap m;
  for (const auto& o : objects) {
    std::string kind = o["kind"];
    if (kind == "Gateway" || kind == "GatewayClass") continue;
    std::string key = kind + "/" + o["namespace"].get<std::string>() + "/" + o["name"].get<std::string>();
    auto& per = m[key];
    if (!o.contains("status")) continue;
    for (const auto& p : o["status"]["parents"]) {
      auto& conds = per[p["parentRef"].get<std::string>()];
      for (const auto& c : p["conditions"])
        conds[c["type"].get<std::string>()] = c["status"].get<std::string>() + " " + c["reason"].get<std::string>() + " " +
                                               c["message"].get<std::string>();
    }
  }
  return m;
}

std::string with_domain(std::string s) {
  // Istio's test uses the domain suffix "domain.suffix"; meshsim's default is cluster.local.
  for (size_t p; (p = s.find("domain.suffix")) != std::string::npos;) s.replace(p, 13, "cluster.local");
  return s;
}

CliRun gateway_status(const std::string& testcase, const std::string& extra = "") {
  return run("gateway-status --mesh " + data("gateway-api/istio-test-env.yaml") + " --mesh " +
             data("gateway-api/" + testcase + ".yaml") + " " + extra + " -o json");
}

// Istio's conversion test cases whose every route parent meshsim simulates
// (not: mesh/GAMMA parents, InferencePool backends, ListenerSets, other
// controllers' status entries).
const std::vector<const char*> kIstioCases = {"route-binding", "tcp", "tls", "weighted", "reference-policy-service",
                                              "zero", "redirect-only", "isolation", "grpc", "delegated", "tls-terminate",
                                              "http-grpc-same-host", "empty-backend-refs", "reference-policy-tls",
                                              "mesh"};  // mesh: GAMMA, routes whose parent is a Service

class StatusIsIstios : public ::testing::TestWithParam<const char*> {};

TEST_P(StatusIsIstios, RouteParentConditionsMatchTheGolden) {
  // sectionName / port / hostname / allowedRoutes (Same, All, Selector with
  // matchLabels and matchExpressions) / kinds / backends / ReferenceGrants.
  CliRun r = gateway_status(GetParam());
  ASSERT_FALSE(r.j.is_discarded()) << r.err << r.out;
  StatusMap want = golden_route_status(data(std::string("gateway-api/") + GetParam() + ".status.yaml.golden"));
  StatusMap got = meshsim_route_status(r.j["objects"]);
  ASSERT_FALSE(want.empty());
  for (auto& [route, parents] : want) {
    for (auto& [ref, conds] : parents)
      for (auto& [type, text] : conds) text = with_domain(text);
    ASSERT_TRUE(got.count(route)) << route;
    EXPECT_EQ(got[route], parents) << route;
  }
}

INSTANTIATE_TEST_SUITE_P(Istio, StatusIsIstios, ::testing::ValuesIn(kIstioCases));

TEST(GatewayApi, RouteBindingExitsOneWhenARouteDoesNotAttach) {
  EXPECT_EQ(gateway_status("route-binding").code, 1);
  EXPECT_EQ(gateway_status("weighted").code, 0);
}

TEST(GatewayApi, ListenerStatusIsIstios) {
  // The listener conditions of route-binding's Gateway: "scope-route" admits
  // only TCPRoute on an HTTP listener → ResolvedRefs False InvalidRouteKinds.
  CliRun r = gateway_status("route-binding");
  ASSERT_FALSE(r.j.is_discarded()) << r.err;
  std::map<std::string, std::map<std::string, std::string>> want, got;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(data("gateway-api/route-binding.status.yaml.golden"))) {
    if (!doc.IsMap() || doc["kind"].as<std::string>() != "Gateway") continue;
    for (const YAML::Node& l : doc["status"]["listeners"])
      for (const YAML::Node& c : l["conditions"])
        want[l["name"].as<std::string>()][c["type"].as<std::string>()] =
            c["status"].as<std::string>() + " " + c["reason"].as<std::string>();
  }
  for (const auto& o : r.j["objects"]) {
    if (o["kind"] != "Gateway") continue;
    for (const auto& l : o["status"]["listeners"])
      for (const auto& c : l["conditions"])
        got[l["name"].get<std::string>()][c["type"].get<std::string>()] =
            c["status"].get<std::string>() + " " + c["reason"].get<std::string>();
  }
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got, want);
}

// The traffic policy of a route (timeout, retries, corsPolicy) as one
// canonical string: every scalar as text, durations in milliseconds, so
// Istio's "0.001s" equals meshsim's "1ms".
std::string duration_ms(std::string d) {
  double scale = 1000;  // seconds
  if (d.size() > 2 && d.compare(d.size() - 2, 2, "ms") == 0) scale = 1, d.resize(d.size() - 2);
  else if (d.size() > 2 && d.compare(d.size() - 2, 2, "us") == 0) scale = 0.001, d.resize(d.size() - 2);
  else if (!d.empty() && d.back() == 's') d.pop_back();
  else if (!d.empty() && d.back() == 'm') scale = 60000, d.pop_back();
  else if (!d.empty() && d.back() == 'h') scale = 3600000, d.pop_back();
  return std::to_string(static_cast<long long>(std::stod(d) * scale + 0.5)) + "ms";
}

nlohmann::json yaml_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& kv : n) j[kv.first.as<std::string>()] = yaml_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : n) j.push_back(yaml_json(e));
    return j;
  }
  return n.as<std::string>();
}

nlohmann::json scalars_as_text(const nlohmann::json& j, const std::string& key = "") {
  if (j.is_object()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& [k, v] : j.items()) o[k] = scalars_as_text(v, k);
    return o;
  }
  if (j.is_array()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : j) a.push_back(scalars_as_text(e));
    return a;
  }
  std::string text = j.is_string() ? j.get<std::string>() : j.dump();
  if (key == "timeout" || key == "perTryTimeout" || key == "backoff" || key == "maxAge") return duration_ms(text);
  return text;
}

std::string route_policy(const nlohmann::json& route) {
  nlohmann::json p = nlohmann::json::object();
  for (const char* k : {"timeout", "retries", "corsPolicy"})
    if (route.contains(k)) p[k] = route[k];
  return p.empty() ? "" : " " + scalars_as_text(p).dump();
}

// The VirtualServices of a golden: "ns/name" → hosts, gateways and the http
// route names in order, each with its timeout, retries and CORS policy.
std::map<std::string, std::string> golden_virtual_services(const std::string& file) {
  std::map<std::string, std::string> m;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(file)) {
    if (!doc.IsMap() || doc["kind"].as<std::string>() != "VirtualService") continue;
    std::string s;
    for (const auto& h : doc["spec"]["hosts"]) s += "host " + h.as<std::string>() + ";";
    for (const auto& g : doc["spec"]["gateways"]) s += "gateway " + g.as<std::string>() + ";";
    for (const auto& r : doc["spec"]["http"])
      s += "route " + (r["name"] ? r["name"].as<std::string>() : "") + route_policy(yaml_json(r)) + ";";
    for (const auto& kind : {"tcp", "tls"})
      for (const auto& r : doc["spec"][kind])
        for (const auto& d : r["route"]) {
          std::string host = d["destination"]["host"] ? d["destination"]["host"].as<std::string>() : "";
          s += std::string(kind) + " " + host + ":" + d["destination"]["port"]["number"].as<std::string>() + ";";
        }
    m[doc["metadata"]["namespace"].as<std::string>() + "/" + doc["metadata"]["name"].as<std::string>()] = s;
  }
  return m;
}

std::map<std::string, std::string> meshsim_virtual_services(const nlohmann::json& j) {
  std::map<std::string, std::string> m;
  for (const auto& vs : j["virtualServices"]) {
    std::string s;
    for (const auto& h : vs["hosts"]) s += "host " + h.get<std::string>() + ";";
    for (const auto& g : vs["gateways"]) s += "gateway " + g.get<std::string>() + ";";
    for (const auto& r : vs["http"]) s += "route " + r["name"].get<std::string>() + route_policy(r) + ";";
    for (const auto& kind : {"tcp", "tls"})
      for (const auto& r : vs[kind])
        for (const auto& d : r["route"])
          s += std::string(kind) + " " + d["host"].get<std::string>() + ":" + std::to_string(d["port"].get<int>()) + ";";
    m[vs["namespace"].get<std::string>() + "/" + vs["name"].get<std::string>()] = s;
  }
  return m;
}

class TranslationIsIstios : public ::testing::TestWithParam<const char*> {};

TEST_P(TranslationIsIstios, VirtualServicesMatchTheGolden) {
  CliRun r = gateway_status(GetParam(), "--translated");
  ASSERT_FALSE(r.j.is_discarded()) << r.err << r.out;
  auto want = golden_virtual_services(data(std::string("gateway-api/") + GetParam() + ".yaml.golden"));
  ASSERT_FALSE(want.empty());
  auto got = meshsim_virtual_services(r.j);
  std::map<std::string, std::string> want_local;
  for (const auto& [k, v] : want) want_local[with_domain(k)] = with_domain(v);  // mesh VirtualServices are named by host
  EXPECT_EQ(got, want_local);
}

std::vector<const char*> translation_cases() {
  std::vector<const char*> v = kIstioCases;
  v.push_back("http");  // its InferencePool routes are translated (as 500s) but their status differs
  return v;
}
INSTANTIATE_TEST_SUITE_P(Istio, TranslationIsIstios, ::testing::ValuesIn(translation_cases()));

TEST(GatewayApi, AnalyzeNamesTheAutomatedDeployment) {
  CliRun r = run("analyze " + data("istio-samples/bookinfo/platform/kube/bookinfo.yaml") + " " +
                 data("istio-samples/bookinfo/gateway-api/bookinfo-gateway.yaml"));
  EXPECT_NE(r.out.find("MS0140"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("MS0141"), std::string::npos) << r.out;  // the sample's route attaches
}

TEST(GatewayApi, AnalyzeReportsRoutesThatDoNotAttach) {
  CliRun r = run("analyze " + data("gateway-api/istio-test-env.yaml") + " " + data("gateway-api/route-binding.yaml"));
  EXPECT_NE(r.out.find("MS0141"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("HTTPRoute default/host-mismatch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoMatchingListenerHostname"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NotAllowedByListeners"), std::string::npos) << r.out;
}

}  // namespace

namespace {

const std::string kFilters = "--mesh " + data("istio-samples/bookinfo/platform/kube/bookinfo.yaml") +
                             " --inject-namespace default --mesh " + data("gateway-api/filters.yaml");

CliRun probe_host(const std::string& mesh, const std::string& host, const std::string& path, const std::string& extra = "") {
  return run("probe " + mesh + " --from external --to " + host + ":80 --via ingress --path " + path + " " + extra + " -o json");
}

std::string response_header(const nlohmann::json& j, const std::string& name) {
  for (const auto& h : j["response_headers"])
    if (h["name"] == name) return h["value"];
  return "";
}

TEST(GatewayApiFilters, MethodMatchAndResponseHeaderModifier) {
  CliRun post = probe_host(kFilters, "filters.example.com", "/headers/x", "--method POST");
  ASSERT_EQ(post.code, 0) << post.err << post.out;
  EXPECT_EQ(post.j["http_status"], 200);
  EXPECT_EQ(response_header(post.j, "x-resp"), "set-by-route");
  CliRun get = probe_host(kFilters, "filters.example.com", "/headers/x");
  EXPECT_EQ(get.j["http_status"], 404) << get.out;  // the method does not match
}

TEST(GatewayApiFilters, UrlRewriteReplacesThePrefix) {
  CliRun p = probe_host(kFilters, "filters.example.com", "/old/page");
  ASSERT_EQ(p.code, 0) << p.err << p.out;
  EXPECT_EQ(p.j["http_status"], 200);
  EXPECT_NE(p.j["response_body"].get<std::string>().find("URL=/productpage/page"), std::string::npos) << p.j["response_body"];
}

TEST(GatewayApiFilters, RequestRedirect) {
  CliRun p = probe_host(kFilters, "filters.example.com", "/moved");
  EXPECT_EQ(p.j["http_status"], 301) << p.out;
  EXPECT_EQ(response_header(p.j, "location"), "https://new.example.com/moved");
}

TEST(GatewayApiFilters, MissingBackendIs500AndReported) {
  CliRun p = probe_host(kFilters, "filters.example.com", "/missing");
  EXPECT_EQ(p.j["http_status"], 500) << p.out;  // cluster_not_found_response_code INTERNAL_SERVER_ERROR
  CliRun st = run("gateway-status " + kFilters + " -o json");
  EXPECT_EQ(st.code, 1);
  std::string dump = st.j.dump();
  EXPECT_NE(dump.find("backend(does-not-exist.default.svc.cluster.local) not found"), std::string::npos) << dump;
  EXPECT_NE(dump.find("BackendNotFound"), std::string::npos);
  // sectionName names no listener: NoMatchingParent.
  EXPECT_NE(dump.find("sectionName \\\"https\\\" not found"), std::string::npos) << dump;
}

TEST(GatewayApiFilters, CrossNamespaceBackendNeedsAReferenceGrant) {
  CliRun denied = probe_host(kFilters, "cross.example.com", "/productpage");
  EXPECT_EQ(denied.j["http_status"], 500) << denied.out;
  CliRun st = run("gateway-status " + kFilters + " -o json");
  EXPECT_NE(st.j.dump().find("backendRef productpage/default not accessible to a HTTPRoute in namespace \\\"other\\\" "
                             "(missing a ReferenceGrant?)"),
            std::string::npos)
      << st.out;
  std::string granted = kFilters + " --mesh " + data("gateway-api/filters-grant.yaml");
  CliRun ok = probe_host(granted, "cross.example.com", "/productpage");
  EXPECT_EQ(ok.j["http_status"], 200) << ok.out << ok.err;
}

// Route policy at the gateway, seen by a client: timeouts.request cuts a slow
// httpbin answer with 504 UT at 500 ms; retry re-sends a 503 (3 attempts
// after the first) and forwards the last with URX.
const std::string kTimeouts = "--mesh " + data("istio-samples/httpbin/httpbin.yaml") + " --inject-namespace default --mesh " +
                              data("gateway-api/timeouts.yaml");

TEST(GatewayApiRoutePolicy, RequestTimeoutGives504AtTheGateway) {
  CliRun slow = probe_host(kTimeouts, "httpbin.example.com", "/delay/2");
  ASSERT_EQ(slow.code, 0) << slow.err << slow.out;
  EXPECT_EQ(slow.j["http_status"], 504) << slow.out;
  EXPECT_EQ(slow.j["response_body"], "upstream request timeout");
  EXPECT_EQ(slow.j["gateway"]["response_flags"], "UT") << slow.j["gateway"];
  EXPECT_NEAR(slow.j["elapsed_ms"].get<double>(), 500.0, 10.0);
  CliRun quick = probe_host(kTimeouts, "httpbin.example.com", "/delay/0.1");
  EXPECT_EQ(quick.j["http_status"], 200) << quick.out;
}

TEST(GatewayApiRoutePolicy, RetryResendsA503AndForwardsTheLastWithUrx) {
  CliRun p = probe_host(kTimeouts, "httpbin.example.com", "/status/503");
  ASSERT_EQ(p.code, 0) << p.err << p.out;
  EXPECT_EQ(p.j["http_status"], 503) << p.out;
  EXPECT_EQ(p.j["gateway"]["response_flags"], "URX") << p.j["gateway"];
  CliRun ok = probe_host(kTimeouts, "httpbin.example.com", "/status/200");
  EXPECT_EQ(ok.j["http_status"], 200);
  // What the gateway runs is what proxy-config shows: the route's timeout and retry policy.
  CliRun route = run("proxy-config route " + p.j["gateway"]["pod"].get<std::string>() + " " + kTimeouts + " -o json");
  ASSERT_EQ(route.code, 0) << route.err;
  std::string dump = route.j.dump();
  EXPECT_NE(dump.find("\"timeout\":\"0.500s\""), std::string::npos) << dump;  // protojson's 3 digits
  EXPECT_NE(dump.find("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"num_retries\":3"), std::string::npos) << dump;
}

}  // namespace

namespace {

TEST(GatewayApiInput, BadRouteIsExitTwoWithItsLocation) {
  CliRun r = run("gateway-status --mesh " + data("gateway-api/bad-route.yaml"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad-route.yaml:9:14: HTTPRoute default/bad: spec.rules[0].matches[0].path.type: unknown value \"Regex\" "
                       "(valid: Exact, PathPrefix, RegularExpression)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("bad-route.yaml:10:31: HTTPRoute default/bad: spec.rules[0].backendRefs[0].port: expected an integer"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;  // nothing half-written
}

}  // namespace

namespace {

TEST(GatewayApiVia, NamedGatewayServiceNextToIstiosIngressGateway) {
  // Both Istio's ingress gateway (Bookinfo's classic Gateway) and the Gateway
  // API gateway: --via ingress picks istio=ingressgateway, --via NS/NAME the other.
  std::string both = kBookinfo + " --mesh " + data("istio-samples/bookinfo/networking/bookinfo-gateway.yaml");
  CliRun classic = run("probe " + both + " --from external --to bookinfo.example.com:80 --via ingress --path /productpage -o json");
  ASSERT_EQ(classic.code, 0) << classic.err;
  EXPECT_EQ(classic.j["gateway"]["pod"].get<std::string>().rfind("istio-system/istio-ingressgateway-", 0), 0u) << classic.j["gateway"];
  CliRun api = run("probe " + both +
                   " --from external --to bookinfo.example.com:80 --via default/bookinfo-gateway-istio --path /productpage -o json");
  ASSERT_EQ(api.code, 0) << api.err;
  EXPECT_EQ(api.j["http_status"], 200);
  EXPECT_EQ(api.j["gateway"]["pod"].get<std::string>().rfind("default/bookinfo-gateway-istio-", 0), 0u) << api.j["gateway"];
  CliRun clusterip = run("probe " + both + " --from external --to bookinfo.example.com:80 --via default/productpage -o json");
  EXPECT_NE(clusterip.code, 0);
  EXPECT_NE(clusterip.err.find("is of type ClusterIP"), std::string::npos) << clusterip.err;
}

}  // namespace

namespace {

// GAMMA: an HTTPRoute whose parent is a Service binds to the mesh — every
// sidecar calling that Service applies it (Istio's samples/bookinfo/gateway-api
// route-reviews-*.yaml over bookinfo-versions.yaml's reviews-v1/v2/v3 Services).
const std::string kVersions = "--mesh " + data("istio-samples/bookinfo/platform/kube/bookinfo.yaml") + " --mesh " +
                              data("istio-samples/bookinfo/platform/kube/bookinfo-versions.yaml") +
                              " --inject-namespace default";
std::string sample_route(const std::string& f) { return " --mesh " + data("istio-samples/bookinfo/gateway-api/" + f); }

// endpoint label "ip:port (ns/pod)" → the pod's app version ("v1"…), counted.
std::map<std::string, int> versions(const nlohmann::json& endpoints) {
  std::map<std::string, int> m;
  for (const auto& [ep, n] : endpoints.items()) {
    size_t p = ep.find("reviews-v");
    m[p == std::string::npos ? ep : ep.substr(p + 8, 2)] += n.get<int>();
  }
  return m;
}

TEST(Gamma, RouteReviewsV3SendsEveryCallFromProductpageToV3) {
  CliRun one = run("probe " + kVersions + sample_route("route-reviews-v3.yaml") +
                   " --from default/productpage-v1 --to reviews:9080 --path /reviews/0 -o json");
  ASSERT_EQ(one.code, 0) << one.err << one.out;
  EXPECT_EQ(one.j["http_status"], 200) << one.out;
  EXPECT_EQ(one.j["client_sidecar"]["route"], "default.reviews.0") << one.out;
  EXPECT_EQ(one.j["client_sidecar"]["cluster"], "outbound|9080||reviews-v3.default.svc.cluster.local") << one.out;
  CliRun many = run("probe " + kVersions + sample_route("route-reviews-v3.yaml") +
                    " --from default/productpage-v1 --to reviews:9080 --path /reviews/0 --count 30 -o json");
  ASSERT_EQ(many.code, 0) << many.err;
  EXPECT_EQ(versions(many.j["endpoints"]), (std::map<std::string, int>{{"v3", 30}})) << many.j["endpoints"].dump();
  // Without the route: the reviews Service spreads over all three versions.
  CliRun plain = run("probe " + kVersions + " --from default/productpage-v1 --to reviews:9080 --path /reviews/0 --count 30 -o json");
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(versions(plain.j["endpoints"]).size(), 3u) << plain.j["endpoints"].dump();
}

TEST(Gamma, NinetyTenSplitsTheCallsByBackendWeight) {
  CliRun r = run("probe " + kVersions + sample_route("route-reviews-90-10.yaml") +
                 " --from default/productpage-v1 --to reviews:9080 --path /reviews/0 --count 200 -o json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto v = versions(r.j["endpoints"]);
  EXPECT_EQ(v["v1"] + v["v2"], 200) << r.j["endpoints"].dump();
  EXPECT_GE(v["v1"], 165) << r.j["endpoints"].dump();  // 180 expected; binomial sd ≈ 4.2
  EXPECT_GE(v["v2"], 5) << r.j["endpoints"].dump();
}

TEST(Gamma, ProxyConfigShowsTheMeshRouteAndGatewayStatusAcceptsTheServiceParent) {
  CliRun rc = run("proxy-config route default/productpage-v1 " + kVersions + sample_route("route-reviews-v3.yaml") + " -o json");
  ASSERT_EQ(rc.code, 0) << rc.err;
  std::string routes = rc.j.dump();
  EXPECT_NE(routes.find("default.reviews.0"), std::string::npos) << routes;
  EXPECT_NE(routes.find("outbound|9080||reviews-v3.default.svc.cluster.local"), std::string::npos);
  CliRun st = run("gateway-status " + kVersions + sample_route("route-reviews-v3.yaml") + " -o json");
  ASSERT_EQ(st.code, 0) << st.err;
  std::string conditions;
  for (const auto& o : st.j["objects"])
    if (o["kind"] == "HTTPRoute" && o["name"] == "reviews")
      for (const auto& p : o["status"]["parents"]) conditions += p.dump();
  EXPECT_NE(conditions.find("Service default/reviews:9080"), std::string::npos) << st.out;
  EXPECT_NE(conditions.find("Route was valid"), std::string::npos) << conditions;
  // A Service parent is simulated now: the coverage report does not name it.
  CliRun an = run("analyze " + data("istio-samples/bookinfo/platform/kube/bookinfo-versions.yaml") + " " +
                  data("istio-samples/bookinfo/gateway-api/route-reviews-v3.yaml") + " -o json");
  EXPECT_EQ(an.out.find("parentRefs[0]"), std::string::npos) << an.out;
}

// A route in the caller's namespace for another namespace's Service (a
// consumer route) applies to callers in its namespace only.
TEST(Gamma, AConsumerRouteAppliesOnlyInItsOwnNamespace) {
  std::string f = temp_file("consumer.yaml");
  std::ofstream(f) << "apiVersion: v1\nkind: Namespace\nmetadata: {name: other, labels: {istio-injection: enabled}}\n---\n"
                      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: curl, namespace: other}\n"
                      "spec:\n  selector: {matchLabels: {app: curl}}\n  template:\n    metadata: {labels: {app: curl}}\n"
                      "    spec:\n      containers: [{name: curl, image: curlimages/curl}]\n---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: reviews-v2-for-other, namespace: other}\n"
                      "spec:\n  parentRefs: [{group: \"\", kind: Service, name: reviews, namespace: default, port: 9080}]\n"
                      "  rules:\n  - backendRefs: [{name: reviews-v2, namespace: default, port: 9080}]\n";
  CliRun other = run("probe " + kVersions + " --mesh " + f +
                     " --from other/curl --to reviews.default:9080 --path /reviews/0 --count 20 -o json");
  CliRun own = run("probe " + kVersions + " --mesh " + f +
                   " --from default/productpage-v1 --to reviews:9080 --path /reviews/0 --count 20 -o json");
  std::filesystem::remove(f);
  ASSERT_EQ(other.code, 0) << other.err;
  ASSERT_EQ(own.code, 0) << own.err;
  EXPECT_EQ(versions(other.j["endpoints"]), (std::map<std::string, int>{{"v2", 20}})) << other.j["endpoints"].dump();
  EXPECT_EQ(versions(own.j["endpoints"]).size(), 3u) << own.j["endpoints"].dump();
}

}  // namespace

namespace {

// A ServiceEntry parent binds the route to the mesh for the entry's hosts; one
// that does not exist is NoMatchingParent with Istio's message.
TEST(Gamma, AServiceEntryParentRoutesItsHostsAndAMissingOneIsNoMatchingParent) {
  std::string f = temp_file("se-parent.yaml");
  std::ofstream(f) << "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext, namespace: default}\n"
                      "spec:\n  hosts: [api.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n"
                      "  resolution: DNS\n  location: MESH_EXTERNAL\n---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: ext-route, namespace: default}\n"
                      "spec:\n  parentRefs:\n  - {group: networking.istio.io, kind: ServiceEntry, name: ext}\n"
                      "  - {group: networking.istio.io, kind: ServiceEntry, name: missing}\n"
                      "  rules:\n  - filters:\n    - type: RequestHeaderModifier\n"
                      "      requestHeaderModifier: {add: [{name: x-via-gamma, value: \"yes\"}]}\n"
                      "    backendRefs: [{group: networking.istio.io, kind: Hostname, name: api.example.com, port: 80}]\n";
  CliRun st = run("gateway-status " + kVersions + " --mesh " + f + " -o json");
  CliRun rc = run("proxy-config route default/productpage-v1 " + kVersions + " --mesh " + f + " -o json");
  std::filesystem::remove(f);
  std::map<std::string, std::string> accepted;
  for (const auto& o : st.j["objects"])
    if (o["kind"] == "HTTPRoute" && o["name"] == "ext-route")
      for (const auto& p : o["status"]["parents"])
        for (const auto& c : p["conditions"])
          if (c["type"] == "Accepted") accepted[p["parentRef"]] = c.dump();
  EXPECT_NE(accepted["ServiceEntry default/ext"].find("Route was valid"), std::string::npos) << st.out;
  EXPECT_NE(accepted["ServiceEntry default/missing"].find("parent service entry: \\\"missing\\\" not found"), std::string::npos)
      << st.out;
  ASSERT_EQ(rc.code, 0) << rc.err;
  // The sidecar's route for api.example.com is the translated one, with its header edit.
  std::string routes = rc.j.dump();
  EXPECT_NE(routes.find("default.ext-route.0"), std::string::npos) << routes;
  EXPECT_NE(routes.find("x-via-gamma"), std::string::npos) << routes;
}

// A parent port limits the route to that port (augmentPortMatch); on the
// Service's other ports no route can match, so istiod builds no virtual host
// from it there and the default route serves (route.go: len(routes) == 0).
TEST(Gamma, AParentPortLimitsTheRouteAndTheOtherPortKeepsItsDefaultRoute) {
  std::string f = temp_file("multi-port.yaml");
  std::ofstream(f) << "apiVersion: v1\nkind: Service\nmetadata: {name: multi, namespace: default}\n"
                      "spec:\n  selector: {app: httpbin}\n"
                      "  ports: [{name: http, port: 80, targetPort: 8080}, {name: http-alt, port: 8000, targetPort: 8080}]\n---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: multi, namespace: default}\n"
                      "spec:\n  parentRefs: [{group: \"\", kind: Service, name: multi, port: 80}]\n  rules:\n"
                      "  - filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-gamma, value: \"1\"}]}}]\n"
                      "    backendRefs: [{name: multi, port: 80}]\n";
  std::string mesh = "--mesh " + data("istio-samples/httpbin/httpbin.yaml") + " --mesh " + data("istio-samples/curl/curl.yaml") +
                     " --mesh " + f + " --inject-namespace default";
  CliRun routed = run("probe " + mesh + " --from default/curl --to multi:80 --path /headers -o json");
  CliRun other = run("probe " + mesh + " --from default/curl --to multi:8000 --path /headers -o json");
  std::filesystem::remove(f);
  ASSERT_EQ(routed.code, 0) << routed.err;
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_EQ(routed.j["http_status"], 200);
  EXPECT_EQ(routed.j["client_sidecar"]["route"], "default.multi.0");
  EXPECT_NE(routed.j["response_body"].get<std::string>().find("X-Gamma"), std::string::npos) << routed.out;
  EXPECT_EQ(other.j["http_status"], 200) << other.out;
  EXPECT_EQ(other.j["client_sidecar"]["route"], "default") << other.out;
  EXPECT_EQ(other.j["response_body"].get<std::string>().find("X-Gamma"), std::string::npos) << other.out;
}

}  // namespace
