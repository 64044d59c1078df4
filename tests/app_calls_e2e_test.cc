// Server apps that call other services, end to end through `meshsim run`:
// Bookinfo from Istio's own manifest fans out productpage → details and
// reviews-v2 → ratings through the sidecars, each app forwarding the headers
// the real service forwards (docs/istio/telemetry.md §9), as the app.call
// events of the JSONL event log show; generic apps with propagate none / a
// list / onError fail; scenario validation of the new fields.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/shell_run.h"

namespace {

namespace fs = std::filesystem;
using meshsim::testing::ShellRun;

std::string data(const std::string& f) { return std::string(MESHSIM_SOURCE_DIR) + "/tests/data/scenarios/" + f; }
std::string tmp(const std::string& f) {
  return (fs::temp_directory_path() / ("meshsim-calls-" + std::to_string(::getpid()) + "-" + f)).string();
}

struct RunEvents {
  ShellRun run;
  std::vector<nlohmann::json> calls;  // the app.call events, in stream order
  std::vector<std::string> call_lines;
};

RunEvents run_with_events(const std::string& scenario, const std::string& extra = "") {
  RunEvents r;
  std::string ev = tmp(fs::path(scenario).stem().string() + ".jsonl");
  r.run = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " run -q " + scenario + " --events " + ev + " " + extra +
                                      " 2>&1");
  std::ifstream in(ev);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("kind", "") != "app.call") continue;
    r.calls.push_back(j);
    r.call_lines.push_back(line);
  }
  fs::remove(ev);
  return r;
}

std::set<std::string> names(const nlohmann::json& a) {
  std::set<std::string> s;
  for (const auto& n : a) s.insert(n.get<std::string>());
  return s;
}

using Names = std::set<std::string>;

// The calls of one inbound request of one workload, in order.
std::vector<nlohmann::json> calls_of(const RunEvents& r, const std::string& workload, uint64_t request) {
  std::vector<nlohmann::json> out;
  for (const auto& c : r.calls) {
    if (c["workload"] == workload && c["inbound_request"] == request) out.push_back(c);
  }
  return out;
}

TEST(AppCalls, BookinfoFansOutWithEachServicesHeaderPropagation) {
  RunEvents r = run_with_events(data("bookinfo-calls.yaml"));
  ASSERT_EQ(r.run.exit_code, 0) << r.run.out;
  // The curl pod's request (with B3 ids, a parent span id and traceparent):
  // productpage keeps everything it knows but x-b3-parentspanid, which its
  // OpenTelemetry B3 propagator does not write.
  const Names productpage_carried = {"user-agent",   "traceparent",  "x-b3-parentspanid", "x-b3-sampled",
                                     "x-b3-spanid",  "x-b3-traceid", "x-request-id"};
  const Names productpage_forwarded = {"user-agent",  "traceparent",  "x-b3-sampled",
                                       "x-b3-spanid", "x-b3-traceid", "x-request-id"};
  for (uint64_t request : {1, 2}) {
    auto pp = calls_of(r, "productpage-v1", request);
    ASSERT_EQ(pp.size(), 2u) << r.run.out;
    EXPECT_EQ(pp[0]["target"], "details:9080");
    EXPECT_EQ(pp[0]["path"], "/details/0");
    EXPECT_EQ(pp[1]["target"], "reviews:9080");
    EXPECT_EQ(pp[1]["path"], "/reviews/0");
    for (const auto& c : pp) {
      EXPECT_EQ(c["inbound_method"], "GET");
      EXPECT_EQ(c["inbound_path"], "/productpage");
      EXPECT_EQ(c["propagation"], "productpage");
      EXPECT_EQ(c["status"], 200);
      EXPECT_EQ(names(c["carried"]), productpage_carried) << c.dump();
      EXPECT_EQ(names(c["forwarded"]), productpage_forwarded) << c.dump();
      EXPECT_EQ(names(c["dropped"]), Names{"x-b3-parentspanid"}) << c.dump();
      // The client sidecar sees the app's side of the call as its downstream.
      EXPECT_FALSE(c.value("local", "").empty());
    }
    // reviews-v2 (routed there by the VirtualService) forwards all it got.
    auto rv = calls_of(r, "reviews-v2", request);
    ASSERT_EQ(rv.size(), 1u) << r.run.out;
    EXPECT_EQ(rv[0]["target"], "ratings:9080");
    EXPECT_EQ(rv[0]["path"], "/ratings/0");
    EXPECT_EQ(rv[0]["inbound_path"], "/reviews/0");
    EXPECT_EQ(rv[0]["propagation"], "all");
    EXPECT_EQ(rv[0]["status"], 200);
    EXPECT_EQ(names(rv[0]["carried"]), productpage_forwarded);
    EXPECT_EQ(names(rv[0]["forwarded"]), productpage_forwarded);
    EXPECT_TRUE(rv[0]["dropped"].empty());
    // x-request-id was forwarded, so the whole tree shares productpage's.
    EXPECT_FALSE(pp[0]["inbound_request_id"].get<std::string>().empty());
    EXPECT_EQ(rv[0]["inbound_request_id"], pp[0]["inbound_request_id"]);
    EXPECT_EQ(pp[1]["inbound_request_id"], pp[0]["inbound_request_id"]);
  }
  // Keep-alive: productpage's details calls reuse one connection.
  EXPECT_EQ(calls_of(r, "productpage-v1", 1)[0]["connection"], calls_of(r, "productpage-v1", 2)[0]["connection"]);
  // After the fault (reviews answers 503): productpage tries reviews twice,
  // reviews-v2 is never reached, and the page still renders (the run's
  // expectation: every user request ok).
  auto third = calls_of(r, "productpage-v1", 3);
  ASSERT_EQ(third.size(), 3u) << r.run.out;
  EXPECT_EQ(third[0]["status"], 200);
  EXPECT_EQ(third[1]["target"], "reviews:9080");
  EXPECT_EQ(third[1]["attempt"], 1);
  EXPECT_EQ(third[1]["status"], 503);
  EXPECT_EQ(third[2]["attempt"], 2);
  EXPECT_EQ(third[2]["status"], 503);
  EXPECT_TRUE(calls_of(r, "reviews-v2", 3).empty());
  EXPECT_EQ(r.calls.size(), 9u);
}

TEST(AppCalls, SameSeedSameCallsAndFingerprint) {
  RunEvents a = run_with_events(data("bookinfo-calls.yaml"));
  RunEvents b = run_with_events(data("bookinfo-calls.yaml"));
  ASSERT_EQ(a.run.exit_code, 0) << a.run.out;
  ASSERT_FALSE(a.call_lines.empty());
  EXPECT_EQ(a.call_lines, b.call_lines);
  auto fp = [](const std::string& out) {
    auto p = out.find("fingerprint 0x");
    return p == std::string::npos ? std::string("?") : out.substr(p, 32);
  };
  EXPECT_EQ(fp(a.run.out), fp(b.run.out));
}

TEST(AppCalls, NoneDropsEverythingAListForwardsExactlyItAndOnErrorFailAnswers500) {
  RunEvents r = run_with_events(data("app-call-policies.yaml"));
  ASSERT_EQ(r.run.exit_code, 0) << r.run.out;  // includes: the fail client got an http_error
  auto none = calls_of(r, "front-none", 1);
  ASSERT_EQ(none.size(), 1u) << r.run.out;
  EXPECT_EQ(none[0]["propagation"], "none");
  EXPECT_TRUE(none[0]["forwarded"].empty());
  EXPECT_EQ(names(none[0]["dropped"]), names(none[0]["carried"]));
  EXPECT_EQ(names(none[0]["carried"]), (Names{"user-agent", "traceparent", "x-b3-traceid", "x-request-id"}));
  EXPECT_EQ(none[0]["status"], 200);

  auto list = calls_of(r, "front-list", 1);
  ASSERT_EQ(list.size(), 1u) << r.run.out;
  EXPECT_EQ(list[0]["propagation"], "[x-request-id, x-user, traceparent]");
  EXPECT_EQ(list[0]["forwarded"], nlohmann::json::parse(R"(["x-request-id", "x-user", "traceparent"])"));
  EXPECT_EQ(names(list[0]["dropped"]), (Names{"user-agent", "x-b3-traceid"}));

  auto fail = calls_of(r, "front-fail", 1);
  ASSERT_EQ(fail.size(), 1u) << r.run.out;  // the second call is never made
  EXPECT_EQ(fail[0]["outcome"], "dns_error");
  EXPECT_EQ(fail[0]["error"], "curl: (6) Could not resolve host: nowhere");
}

// `meshsim probe` on Istio's Bookinfo manifest: the answer of productpage
// names the calls it made.
TEST(AppCalls, ProbeShowsTheCallsTheServerAppMade) {
  std::string samples = std::string(MESHSIM_SOURCE_DIR) + "/tests/data/istio-samples";
  ShellRun r = meshsim::testing::run_shell(
      "timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe --mesh " + samples +
      "/bookinfo/platform/kube/bookinfo.yaml --mesh " + samples +
      "/curl/curl.yaml --inject-namespace default --from default/curl --to productpage:9080 --path /productpage 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("server app saw    GET /productpage  Host: productpage:9080\n"
                       "server app called GET details:9080/details/0 200\n"
                       "server app called GET reviews:9080/reviews/0 200\n"),
            std::string::npos)
      << r.out;
}

TEST(AppCalls, BadCallsAndPropagateAreLocatedErrors) {
  fs::path dir = tmp("bad");
  fs::create_directories(dir);
  std::ofstream(dir / "s.yaml") << R"(name: bad-calls
duration: 1s
mesh:
  objects:
  - {apiVersion: v1, kind: Namespace, metadata: {name: default}}
  - {apiVersion: v1, kind: Pod, metadata: {name: web, namespace: default}, spec: {containers: [{name: a, image: x, ports: [{containerPort: 8080}]}]}}
apps:
- server: default/web
  port: 8080
  calls: ["https://secure:443/", {url: "http://a:99999/"}, {timeout: 1s}, {url: "http://b/", onError: maybe}]
  propagate: sometimes
- server: default/web
  port: 8081
  propagate: [x-ok, "bad header"]
- server: default/web
  port: 3306
  mysql: {}
  calls: ["http://a/"]
)";
  ShellRun r = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " run -q " + (dir / "s.yaml").string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  auto has = [&](const std::string& s) { return r.out.find(s) != std::string::npos; };
  EXPECT_TRUE(has("s.yaml:10:11: Scenario s.yaml: apps[0].calls[0]: expected a URL starting with http://")) << r.out;
  EXPECT_TRUE(has("apps[0].calls[1].url: the URL's port is not a number from 1 to 65535")) << r.out;
  EXPECT_TRUE(has("apps[0].calls[2].url: required field is missing")) << r.out;
  EXPECT_TRUE(has("apps[0].calls[3].onError: unknown value \"maybe\" (valid: ignore, fail)")) << r.out;
  EXPECT_TRUE(has("s.yaml:11:3: Scenario s.yaml: apps[0].propagate: unknown value \"sometimes\" (valid: none, all, productpage)"))
      << r.out;
  EXPECT_TRUE(has("apps[1].propagate[1]: not an HTTP header name: \"bad header\"")) << r.out;
  EXPECT_TRUE(has("apps[2].calls: calls needs an HTTP server")) << r.out;
  fs::remove_all(dir);
}

}  // namespace
