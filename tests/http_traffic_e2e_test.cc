// End-to-end tests of HTTP traffic management through the `meshsim`
// executable, on Istio's httpbin and curl samples with the VirtualService of
// tests/data/http-traffic/traffic.yaml: what the client got (status,
// Location, CORS headers), what the server application received (go-httpbin
// go-httpbin's JSON: url, Host and headers), Envoy's response details, and what
// `proxy-config route` shows for the same routes.
//
// Expected values and their sources (docs/istio/http-traffic-management.md):
//  * redirect {uri: /new, redirectCode: 302}: Location keeps the request's
//    Host port and query (Utility::newUri; Istio never sets strip_query);
//  * redirect {scheme: https, port: 8443}: an explicit port replaces the
//    request's port (processRequestHost);
//  * rewrite {uri: /anything/} on prefix /api/v2/: the matched prefix is
//    replaced (rewritePathByPrefixOrRegex), authority → Host, the original
//    path in x-envoy-original-path;
//  * uriRegexRewrite with \1: RE2::GlobalReplace on the path;
//  * headers: remove before set before add (HeaderParser::evaluateHeaders);
//  * corsPolicy: a matching preflight is answered by the client sidecar
//    (details cors_response); a non-preflight request with a foreign Origin
//    is forwarded and answered without Access-Control-Allow-Origin (the FAQ).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <fstream>
#include <string>

#include "tests/shell_run.h"

namespace {

std::string src() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return s ? s : ".";
}

std::string mesh_args() {
  return " --mesh " + src() + "/tests/data/istio-samples/httpbin/httpbin.yaml --mesh " + src() +
         "/tests/data/istio-samples/curl/curl.yaml --mesh " + src() + "/tests/data/http-traffic/traffic.yaml";
}

nlohmann::json probe(const std::string& args) {
  auto r = meshsim::testing::run_shell("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe" + mesh_args() +
                                       " --from default/curl --to httpbin:8000 " + args + " -o json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

std::string header(const nlohmann::json& j, const std::string& name) {
  for (const auto& h : j["response_headers"]) {
    if (h["name"] == name) return h["value"];
  }
  return "<absent>";
}

// go-httpbin's JSON answer (/anything, /headers, /get): what the server
// application received.
nlohmann::json app(const nlohmann::json& j) {
  auto a = nlohmann::json::parse(std::string(j["response_body"]), nullptr, false);
  EXPECT_FALSE(a.is_discarded()) << j["response_body"];
  return a;
}

// A request header as go-httpbin reports it (canonical name, first value).
std::string app_header(const nlohmann::json& j, const std::string& canonical) {
  auto a = app(j);
  if (!a.contains("headers") || !a["headers"].contains(canonical)) return "<absent>";
  return a["headers"][canonical][0];
}

TEST(HttpTrafficCli, RedirectAnswersWithEnvoysLocationAndNeverReachesTheServer) {
  auto j = probe("--path '/old/page?a=1'");
  EXPECT_EQ(j["http_status"], 302);
  EXPECT_EQ(header(j, "location"), "http://httpbin:8000/new?a=1");
  EXPECT_EQ(j["client_sidecar"]["details"], "direct_response");
  EXPECT_TRUE(j["server_sidecar"].is_null());
  auto k = probe("--path /secure/x");
  EXPECT_EQ(k["http_status"], 301);  // Istio's default redirectCode
  EXPECT_EQ(header(k, "location"), "https://httpbin:8443/secure/x");
}

TEST(HttpTrafficCli, PrefixAndAuthorityRewriteReachTheServerWithTheOriginalPathKept) {
  auto j = probe("--path '/api/v2/items?page=2'");
  EXPECT_EQ(j["http_status"], 200);
  EXPECT_EQ(app(j)["url"], "http://httpbin.internal/anything/items?page=2");
  EXPECT_EQ(app_header(j, "Host"), "httpbin.internal");
  EXPECT_EQ(app_header(j, "X-Envoy-Original-Path"), "/api/v2/items?page=2") << j["response_body"];
}

TEST(HttpTrafficCli, RegexRewriteSubstitutesCaptureGroups) {
  auto j = probe("--path /users/alice/profile");
  EXPECT_EQ(app(j)["url"], "http://httpbin:8000/anything/profile/alice");
  EXPECT_EQ(app_header(j, "Host"), "httpbin:8000");  // no authority rewrite on this route
}

TEST(HttpTrafficCli, HeaderEditsApplyToTheRequestAndTheResponse) {
  auto j = probe("--path /headers -H 'x-secret: s3cr3t' -H 'x-team: other'");
  EXPECT_EQ(app(j)["headers"]["X-Team"], nlohmann::json::array({"payments"})) << j["response_body"];  // set overwrites
  EXPECT_EQ(app_header(j, "X-Trace-Note"), "from-vs");                                               // add
  EXPECT_EQ(app_header(j, "X-Secret"), "<absent>");                                                  // remove
  EXPECT_EQ(header(j, "x-served-by"), "istio");
}

TEST(HttpTrafficCli, CorsPreflightIsAnsweredByTheClientSidecar) {
  auto j = probe("--method OPTIONS --path /headers -H 'Origin: https://shop.example.com' "
                 "-H 'Access-Control-Request-Method: POST'");
  EXPECT_EQ(j["http_status"], 200);
  EXPECT_EQ(j["client_sidecar"]["details"], "cors_response");
  EXPECT_TRUE(j["server_sidecar"].is_null());  // never forwarded
  EXPECT_EQ(header(j, "access-control-allow-origin"), "https://shop.example.com");
  EXPECT_EQ(header(j, "access-control-allow-methods"), "GET,POST");
  EXPECT_EQ(header(j, "access-control-allow-headers"), "authorization,content-type");
  EXPECT_EQ(header(j, "access-control-max-age"), "86400");
  EXPECT_EQ(header(j, "access-control-allow-credentials"), "true");
}

TEST(HttpTrafficCli, ARequestWithAForeignOriginIsForwardedNotRejected) {
  // go-httpbin's own CORS middleware echoes any Origin in
  // Access-Control-Allow-Origin, so the sidecar's decision shows in what only
  // Envoy's CORS filter adds: Access-Control-Expose-Headers.
  auto j = probe("--path /get -H 'Origin: https://evil.example.com'");
  EXPECT_EQ(j["http_status"], 200);
  EXPECT_EQ(j["client_sidecar"]["details"], "via_upstream");
  EXPECT_EQ(header(j, "access-control-allow-origin"), "https://evil.example.com");  // httpbin's
  EXPECT_EQ(header(j, "access-control-expose-headers"), "<absent>");
  auto k = probe("--path /get -H 'Origin: https://dev.shop'");  // prefix match
  EXPECT_EQ(header(k, "access-control-allow-origin"), "https://dev.shop");
  EXPECT_EQ(header(k, "access-control-expose-headers"), "x-served-by");
  auto re = probe("--path /get -H 'Origin: https://team.corp.example'");  // RE2 regex match
  EXPECT_EQ(header(re, "access-control-expose-headers"), "x-served-by");
  auto no = probe("--path /get -H 'Origin: https://team.corp.example.evil'");  // whole-string match only
  EXPECT_EQ(header(no, "access-control-expose-headers"), "<absent>");
}

// mirror: a copy goes to the mirror cluster, fire and forget; the client's
// response is the primary one. mirrorPercentage 0 means no mirror at all
// (route.go MirrorPercent).
TEST(HttpTrafficCli, MirrorSendsACopyAndTheClientGetsThePrimaryResponse) {
  auto j = probe("--path /anything/mirror/x");
  EXPECT_EQ(j["http_status"], 200);
  ASSERT_EQ(j["client_sidecar"]["mirrored_to"].size(), 1u) << j.dump();
  EXPECT_EQ(j["client_sidecar"]["mirrored_to"][0], "outbound|8000||httpbin.default.svc.cluster.local");
  EXPECT_EQ(app(j)["url"], "http://httpbin:8000/anything/mirror/x");
  auto k = probe("--path /anything/never-mirrored");
  EXPECT_TRUE(k["client_sidecar"]["mirrored_to"].empty());
}

// go-httpbin's /delay/{d} and /status/{code} (as Istio's timeout and retry
// tasks use them) show timeouts and retries without a scenario: the route
// timeout gives 504 UT; retryOn 5xx retries a 503 three times and forwards
// the last one with URX (Envoy's retry limit exceeded).
TEST(HttpTrafficCli, RouteTimeoutAgainstASlowHttpbinAnswer) {
  auto j = probe("--path /delay/3");
  EXPECT_EQ(j["http_status"], 504);
  EXPECT_EQ(j["response_body"], "upstream request timeout");
  EXPECT_EQ(j["client_sidecar"]["response_flags"], "UT");
  EXPECT_NEAR(j["elapsed_ms"].get<double>(), 1000.0, 5.0);
  auto k = probe("--path /delay/0.2");
  EXPECT_EQ(k["http_status"], 200);
}

TEST(HttpTrafficCli, RetryOn5xxRetriesThenForwardsTheLast503WithUrx) {
  auto j = probe("--path /status/503");
  EXPECT_EQ(j["http_status"], 503);
  EXPECT_EQ(j["client_sidecar"]["response_flags"], "URX");
  EXPECT_EQ(j["client_sidecar"]["details"], "via_upstream");
  auto ok = probe("--path /status/200");
  EXPECT_EQ(ok["http_status"], 200);
  EXPECT_EQ(ok["client_sidecar"]["response_flags"], "-");
}

TEST(HttpTrafficCli, RetryBackoffBelowAMillisecondIsRejectedAtItsLine) {
  // Istio's ValidateHTTPRetry: backoff ≥ 1ms, whole milliseconds.
  std::string bad = ::testing::TempDir() + "/bad-backoff.yaml";
  {
    std::ofstream f(bad);
    f << "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: b, namespace: default}\n"
         "spec:\n  hosts: [httpbin]\n  http:\n  - route: [{destination: {host: httpbin}}]\n"
         "    retries: {attempts: 2, backoff: 1500us}\n";
  }
  auto r = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " analyze " + bad + " 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(":8:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ms precision"), std::string::npos) << r.out;
}

TEST(HttpTrafficCli, ProxyConfigRouteShowsWhatTheEngineRuns) {
  auto pod = probe("--path /get")["client_sidecar"]["pod"].get<std::string>();
  auto r = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " proxy-config route " + pod + mesh_args() +
                                       " -o json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  nlohmann::json routes;
  for (const auto& rc : j) {
    if (rc["name"] != "8000") continue;
    for (const auto& vh : rc["virtual_hosts"]) {
      if (vh["name"] == "httpbin.default.svc.cluster.local:8000") routes = vh["routes"];
    }
  }
  ASSERT_EQ(routes.size(), 9u) << r.out;
  EXPECT_EQ(routes[0]["redirect"]["path_redirect"], "/new");
  EXPECT_EQ(routes[0]["redirect"]["response_code"], "FOUND");
  EXPECT_EQ(routes[1]["redirect"]["port_redirect"], 8443);
  EXPECT_EQ(routes[2]["route"]["prefix_rewrite"], "/anything/");
  EXPECT_EQ(routes[2]["route"]["host_rewrite_literal"], "httpbin.internal");
  EXPECT_EQ(routes[3]["route"]["regex_rewrite"]["substitution"], "/anything/profile/\\1");
  EXPECT_EQ(routes[4]["route"]["timeout"], "1s");
  EXPECT_EQ(routes[5]["route"]["retry_policy"]["num_retries"], 3);
  // VirtualService retries.backoff → Envoy's retry_back_off.base_interval.
  EXPECT_EQ(routes[5]["route"]["retry_policy"]["retry_back_off"]["base_interval"], "0.040s");  // protojson: 3 fractional digits
  EXPECT_EQ(routes[6]["route"]["request_mirror_policies"][0]["cluster"], "outbound|8000||httpbin.default.svc.cluster.local");
  EXPECT_FALSE(routes[7]["route"].contains("request_mirror_policies"));
  EXPECT_EQ(routes[8]["request_headers_to_remove"][0], "x-secret");
  EXPECT_EQ(routes[8]["typed_per_filter_config"]["envoy.filters.http.cors"]["allow_methods"], "GET,POST");
  auto t = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " proxy-config route " + pod + mesh_args() +
                                       " 2>/dev/null");
  EXPECT_NE(t.out.find("httpbin.default"), std::string::npos) << t.out;  // the VIRTUAL SERVICE column
}

}  // namespace

namespace {

// Delegation (tests/data/http-traffic/delegate.yaml): the sidecar runs the
// root route merged with the delegate's routes; analyze names the dropped one.
std::string delegate_mesh() {
  return " --mesh " + src() + "/tests/data/istio-samples/httpbin/httpbin.yaml --mesh " + src() +
         "/tests/data/istio-samples/curl/curl.yaml --mesh " + src() +
         "/tests/data/http-traffic/delegate.yaml --inject-namespace default";
}

nlohmann::json delegate_probe(const std::string& path) {
  auto r = meshsim::testing::run_shell("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe" + delegate_mesh() +
                                       " --from default/curl --to httpbin:8000 --path " + path + " -o json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return nlohmann::json::parse(r.out, nullptr, false);
}

TEST(HttpTrafficCli, DelegateRoutesAreMergedWithTheRootRoute) {
  auto v1 = delegate_probe("/anything/team-a/v1/x");
  EXPECT_EQ(v1["http_status"], 200) << v1.dump();
  EXPECT_EQ(v1["client_sidecar"]["route"], "team-a-v1") << v1["client_sidecar"].dump();
  EXPECT_EQ(app(v1)["url"], "http://httpbin:8000/anything/rewritten/x");  // the delegate's rewrite
  EXPECT_EQ(app_header(v1, "X-Root"), "yes");                              // the root's headers fill in
  auto other = delegate_probe("/anything/team-a/other");
  EXPECT_EQ(other["client_sidecar"]["route"], "team-a-catchall");  // no match of its own: the root's
  // The stray delegate route (/status) was dropped: /status goes to the root's next route.
  auto stray = delegate_probe("/status/418");
  EXPECT_EQ(stray["http_status"], 418);
  EXPECT_EQ(stray["client_sidecar"]["route"], "rest");
}

TEST(HttpTrafficCli, AnalyzeReportsTheDroppedDelegateRouteAtItsLine) {
  auto r = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " analyze " + src() +
                                       "/tests/data/istio-samples/httpbin/httpbin.yaml " + src() +
                                       "/tests/data/http-traffic/delegate.yaml -o json --failure-threshold Warning 2>/dev/null");
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  int found = 0;
  for (const auto& f : j["findings"]) {
    if (f["code"] != "MS0145") continue;
    ++found;
    EXPECT_EQ(f["resource"], "VirtualService team-a/team-a");
    EXPECT_EQ(f["line"], 33);  // the stray route
    EXPECT_EQ(f["path"], "spec.http[1].match");
  }
  EXPECT_EQ(found, 1) << r.out;
  EXPECT_EQ(r.exit_code, 1);  // a warning, at threshold Warning
}

}  // namespace
