// Failover end to end through `meshsim`: outlier ejections and their timing
// as the run's JSON reports them (the engine's own events), the priority
// shift of a zone outage, no locality failover without outlier detection,
// probe --count, proxy-config, and located errors for bad faults.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/shell_run.h"

namespace {

using CliRun = meshsim::testing::ShellRun;
CliRun sh(const std::string& cmd) { return meshsim::testing::run_shell(cmd + " 2>&1"); }
std::string exe() { return MESHSIM_EXE; }
std::string src(const std::string& f) { return std::string(MESHSIM_SOURCE_DIR) + "/" + f; }
std::string tmp(const std::string& f) {
  return (std::filesystem::temp_directory_path() / ("meshsim-failover-" + std::to_string(::getpid()) + "-" + f)).string();
}

nlohmann::json run_json(const std::string& scenario) {
  std::string out = tmp("run.json");
  CliRun r = sh(exe() + " run -q --json " + out + " " + scenario);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::ifstream in(out);
  nlohmann::json j = nlohmann::json::parse(in);
  std::filesystem::remove(out);
  return j;
}

TEST(Failover, FailingHostIsEjectedAfterFiveConsecutive503sAndEachEjectionLastsLonger) {
  nlohmann::json j = run_json(src("conformance/suites/resilience/ejection-time-growth.yaml"));
  ASSERT_TRUE(j.contains("failover"));
  std::vector<nlohmann::json> ejects, returns;
  for (const auto& e : j["failover"]["events"]) {
    if (e["action"] == "eject") ejects.push_back(e);
    if (e["action"] == "uneject") returns.push_back(e);
  }
  ASSERT_GE(ejects.size(), 3u);
  for (const auto& e : ejects) EXPECT_EQ(e["hostname"].get<std::string>().rfind("backend-1-", 0), 0u) << e.dump();
  EXPECT_EQ(ejects[0]["ejection_time_s"], 5.0);
  EXPECT_EQ(ejects[1]["ejection_time_s"], 10.0);  // base × 2: it failed again at once
  EXPECT_EQ(ejects[2]["ejection_time_s"], 15.0);
  EXPECT_EQ(ejects[0]["type"], "CONSECUTIVE_5XX");
  EXPECT_EQ(ejects[1]["num_ejections"], 2);
  // The ejection ends at the first sweep (every 2 s) after base × backoff.
  ASSERT_GE(returns.size(), 2u);
  EXPECT_GE(returns[0]["ejected_for_s"].get<double>(), 5.0);
  EXPECT_LT(returns[0]["ejected_for_s"].get<double>(), 7.0);
  EXPECT_GE(returns[1]["ejected_for_s"].get<double>(), 10.0);
  EXPECT_LT(returns[1]["ejected_for_s"].get<double>(), 12.0);
  // Before the first ejection the client saw exactly the five 503s that caused it.
  const double first = ejects[0]["t"].get<double>();
  uint64_t failed = 0;
  for (const auto& s : j["failover"]["error_rate_per_second"]) {
    if (s["second"].get<int64_t>() <= static_cast<int64_t>(first)) failed += s["failed"].get<uint64_t>();
  }
  EXPECT_EQ(failed, 5u);
}

TEST(Failover, ZoneOutageShiftsTheLoadToTheNextPriority) {
  nlohmann::json j = run_json(src("scenarios/zone-failover.yaml"));
  ASSERT_TRUE(j.contains("failover"));
  std::vector<std::vector<uint32_t>> loads;
  for (const auto& e : j["failover"]["events"]) {
    if (e["action"] == "priority") loads.push_back(e["load"].get<std::vector<uint32_t>>());
  }
  ASSERT_GE(loads.size(), 3u);
  EXPECT_EQ(loads[0], (std::vector<uint32_t>{100, 0}));  // the nearest zone first
  EXPECT_EQ(loads[1], (std::vector<uint32_t>{70, 30}));  // one of two z2 hosts out: 1.4 × 50 %
  EXPECT_EQ(loads[2], (std::vector<uint32_t>{0, 100}));
  uint64_t failed = 0;
  for (const auto& s : j["failover"]["error_rate_per_second"]) {
    if (s["second"] >= 10 && s["second"] < 30) failed += s["failed"].get<uint64_t>();
  }
  EXPECT_GT(failed, 0u);
  EXPECT_LE(failed, 10u);
  EXPECT_TRUE(j["passed"].get<bool>());
}

TEST(Failover, WithoutOutlierDetectionThereAreNoPrioritiesAndNoEjections) {
  nlohmann::json j = run_json(src("scenarios/zone-failover-without-outlier-detection.yaml"));
  EXPECT_FALSE(j.contains("failover")) << j["failover"].dump();
  EXPECT_TRUE(j["passed"].get<bool>());
  // proxy-config: every backend endpoint at priority 0 without outlier detection.
  CliRun pc = sh(exe() + " proxy-config endpoint default/sleep --mesh " + src("tests/data/failover/zones.yaml") + " -o json");
  ASSERT_EQ(pc.exit_code, 0) << pc.out;
  auto a = nlohmann::json::parse(pc.out);
  bool seen = false;
  for (const auto& cla : a) {
    if (cla["cluster_name"] != "outbound|8080||backend.default.svc.cluster.local") continue;
    for (const auto& g : cla["endpoints"]) {
      EXPECT_EQ(g["priority"], 0) << g.dump();
      seen = true;
    }
  }
  EXPECT_TRUE(seen);
}

TEST(Failover, ProxyConfigShowsPrioritiesAndOutlierDetection) {
  std::string mesh = tmp("dr.yaml");
  std::ofstream(mesh) << "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: backend, namespace: default}\n"
                         "spec:\n  host: backend\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 3}\n";
  std::string args = " default/sleep --mesh " + src("tests/data/failover/zones.yaml") + " --mesh " + mesh;
  CliRun ep = sh(exe() + " proxy-config endpoint" + args + " -o json");
  ASSERT_EQ(ep.exit_code, 0) << ep.out;
  int groups = 0;
  for (const auto& cla : nlohmann::json::parse(ep.out)) {
    if (cla["cluster_name"] != "outbound|8080||backend.default.svc.cluster.local") continue;
    for (const auto& g : cla["endpoints"]) {
      ++groups;
      // From sleep in r1/z1: r1/z2 is "same region" (2), r2/z3 "other" (3); compacted to 0 and 1.
      EXPECT_EQ(g["priority"], g["locality"]["zone"] == "z2" ? 0 : 1) << g.dump();
      EXPECT_EQ(g["load_balancing_weight"], 2) << g.dump();  // two pods of weight 1 per locality
    }
  }
  EXPECT_EQ(groups, 4);
  CliRun text = sh(exe() + " proxy-config endpoint" + args);
  EXPECT_NE(text.out.find("LOCALITY WEIGHT"), std::string::npos) << text.out;
  CliRun cl = sh(exe() + " proxy-config cluster" + args + " -o json");
  ASSERT_EQ(cl.exit_code, 0) << cl.out;
  auto a = nlohmann::json::parse(cl.out);
  bool seen = false;
  for (const auto& c : a) {
    if (c["name"] != "outbound|8080||backend.default.svc.cluster.local") continue;
    seen = true;
    EXPECT_EQ(c["outlier_detection"]["consecutive_5xx"], 3);
    EXPECT_EQ(c["outlier_detection"]["enforcing_consecutive_5xx"], 100);
    EXPECT_EQ(c["outlier_detection"]["max_ejection_percent"], 10);
    EXPECT_EQ(c["common_lb_config"]["healthy_panic_threshold"]["value"], 0);
  }
  EXPECT_TRUE(seen);
  std::filesystem::remove(mesh);
}

TEST(Failover, ProbeCountShowsTheDistributionOverEndpointsAndLocalities) {
  std::string mesh = tmp("dr2.yaml");
  std::ofstream(mesh) << "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: backend, namespace: default}\n"
                         "spec:\n  host: backend\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 3}\n";
  std::string base = exe() + " probe --from default/sleep --to backend:8080 --path /hello --count 40 -o json --mesh " +
                     src("tests/data/failover/zones.yaml");
  // With outlier detection: locality failover keeps every request in r1/z2.
  CliRun with = meshsim::testing::run_shell(base + " --mesh " + mesh + " 2>/dev/null");
  ASSERT_EQ(with.exit_code, 0) << with.out;
  auto a = nlohmann::json::parse(with.out);
  EXPECT_EQ(a["count"], 40);
  EXPECT_EQ(a["outcomes"]["ok"], 40);
  EXPECT_EQ(a["localities"].size(), 1u) << a["localities"].dump();
  EXPECT_EQ(a["localities"]["r1/z2"], 40);
  EXPECT_EQ(a["endpoints"].size(), 2u);
  // Without: spread over both regions.
  CliRun without = meshsim::testing::run_shell(base + " 2>/dev/null");
  ASSERT_EQ(without.exit_code, 0) << without.out;
  auto b = nlohmann::json::parse(without.out);
  EXPECT_EQ(b["localities"].size(), 2u) << b["localities"].dump();
  EXPECT_GT(b["localities"]["r2/z3"].get<int>(), 0);
  std::filesystem::remove(mesh);
}

TEST(Failover, BadFaultsAreLocatedAndExitTwo) {
  std::string head = "kind: Scenario\nname: bad\nduration: 10s\nmesh:\n  manifests: [" + src("tests/data/failover/zones.yaml") + "]\n";
  std::string f = tmp("bad.yaml");
  std::ofstream(f) << head << "timeline:\n- at: 2s\n  appFault: {pod: default/sleep, errorRate: 1.5}\n"
                              "- at: 3s\n  flapPod: {pod: default/sleep, down: 1s}\n";
  CliRun r = sh(exe() + " run " + f);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("bad.yaml:8:"), std::string::npos) << r.out;  // the appFault line
  EXPECT_NE(r.out.find("timeline[0].appFault.errorRate"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("timeline[1].flapPod.up"), std::string::npos) << r.out;
  // References are checked against the mesh: a zone no node is in.
  std::ofstream(f) << head << "timeline:\n- at: 1s\n  zoneDown: z9\n";
  CliRun z = sh(exe() + " run " + f);
  EXPECT_EQ(z.exit_code, 2) << z.out;
  EXPECT_NE(z.out.find("bad.yaml:7:3:"), std::string::npos) << z.out;
  EXPECT_NE(z.out.find("no node in zone \"z9\""), std::string::npos) << z.out;
  EXPECT_NE(z.out.find("zones, from the nodes' topology.kubernetes.io/zone: z1, z2, z3"), std::string::npos) << z.out;
  std::filesystem::remove(f);
}

// Readiness drives the endpoints (the kubelet's prober): two failed probes,
// 1 s apart, make backend-1 not ready at 6 s; two passing ones after the fault
// ends make it ready again at 16 s. Each decision is on the event stream and
// in the failover timeline with the probe's own failure text.
TEST(Readiness, AFailingReadinessProbeTakesThePodOutAndAPassingOneBringsItBack) {
  nlohmann::json j = run_json(src("conformance/suites/resilience/readiness-removes-endpoints.yaml"));
  ASSERT_TRUE(j.contains("failover")) << j.dump();
  std::vector<nlohmann::json> health;
  for (const auto& e : j["failover"]["events"])
    if (e["action"] == "not-ready" || e["action"] == "ready" || e["action"] == "restart") health.push_back(e);
  ASSERT_EQ(health.size(), 2u) << j["failover"].dump(2);
  EXPECT_EQ(health[0]["action"], "not-ready");
  EXPECT_EQ(health[0]["pod"].get<std::string>().rfind("default/backend-1-", 0), 0u) << health[0].dump();
  EXPECT_EQ(health[0]["probe"], "readiness");
  EXPECT_EQ(health[0]["consecutive"], 2);
  EXPECT_EQ(health[0]["last_error"], "HTTP probe failed with statuscode: 500");  // the agent's answer for the app's 503
  EXPECT_NEAR(health[0]["t"].get<double>(), 6.0, 0.01);
  EXPECT_EQ(health[1]["action"], "ready");
  EXPECT_EQ(health[1]["consecutive"], 2);  // successThreshold 2
  EXPECT_NEAR(health[1]["t"].get<double>(), 16.0, 0.01);
  // The scenario's own expectations (requests during and after) hold.
  CliRun r = sh(exe() + " run " + src("conformance/suites/resilience/readiness-removes-endpoints.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("kubelet: pod default/backend-1-"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 pods not ready, 0 container restarts"), std::string::npos) << r.out;
}

// A liveness probe that always fails (go-httpbin's /status/500) restarts the
// container every failureThreshold periods; without a liveness probe nothing
// restarts. The pod stays ready (no readiness probe), so it keeps serving.
TEST(Liveness, AFailingLivenessProbeRestartsTheContainerEveryThresholdPeriods) {
  std::string f = tmp("liveness.yaml");
  std::ofstream(f) << "kind: Scenario\nname: liveness\nduration: 20s\nmesh:\n  objects:\n"
                      "  - {apiVersion: v1, kind: Namespace, metadata: {name: default, labels: {istio-injection: enabled}}}\n"
                      "  - apiVersion: v1\n    kind: Service\n    metadata: {name: web, namespace: default}\n"
                      "    spec: {selector: {app: web}, ports: [{name: http, port: 8080}]}\n"
                      "  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web, namespace: default}\n"
                      "    spec:\n      selector: {matchLabels: {app: web}}\n      template:\n        metadata: {labels: {app: web}}\n"
                      "        spec:\n          containers:\n          - name: httpbin\n            image: docker.io/mccutchen/go-httpbin:v2.15.0\n"
                      "            ports: [{containerPort: 8080}]\n"
                      "            livenessProbe: {httpGet: {path: /status/500, port: 8080}, periodSeconds: 1, failureThreshold: 3}\n"
                      "  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: sleep, namespace: default}\n"
                      "    spec:\n      selector: {matchLabels: {app: sleep}}\n      template:\n        metadata: {labels: {app: sleep}}\n"
                      "        spec: {containers: [{name: sleep, image: curlimages/curl}]}\n"
                      "apps:\n- client: sleep→web\n  from: default/sleep\n  http: {url: \"http://web:8080/get\", keepAlive: false}\n"
                      "  rate: 2/s\n";
  nlohmann::json j = run_json(f);
  std::filesystem::remove(f);
  ASSERT_TRUE(j.contains("failover")) << j.dump();
  std::vector<double> restarts;
  for (const auto& e : j["failover"]["events"])
    if (e["action"] == "restart") {
      restarts.push_back(e["t"].get<double>());
      EXPECT_EQ(e["probe"], "liveness");
      EXPECT_EQ(e["container"], "httpbin");
      EXPECT_EQ(e["last_error"], "HTTP probe failed with statuscode: 500");
    }
  // Probes at 0.001 s, 1.001 s, …: the third failure at 2.001 s, then every 3 s.
  ASSERT_GE(restarts.size(), 6u) << j["failover"].dump(2);
  EXPECT_NEAR(restarts[0], 2.001, 0.01);
  EXPECT_NEAR(restarts[1] - restarts[0], 3.0, 0.01);
}

}  // namespace
