// Issue 11 end to end: what a new user types wrong, and the located,
// actionable message meshsim answers with — scenario typos ("did you mean",
// --strict, conformance strict by default, all errors in one pass, where an
// expectation field belongs), CLI typos, unknown workloads and ports, the OS
// reason for an unreadable file, "wrote FILE" lines, --inject-namespace for
// Istio's samples (which ship no Namespace object), and Helm charts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "tests/shell_run.h"

namespace {

using meshsim::testing::ShellRun;

std::string exe() { return MESHSIM_EXE; }
std::string src(const std::string& rel) { return std::string(MESHSIM_SOURCE_DIR) + "/" + rel; }
std::string scenario(const std::string& f) { return src("tests/data/scenarios/" + f); }
const std::string kBookinfo = src("tests/data/istio-samples/bookinfo/platform/kube/bookinfo.yaml");

// stdout and stderr together, and each apart.
ShellRun both(const std::string& args) { return meshsim::testing::run_shell(exe() + " " + args + " 2>&1"); }
ShellRun err_only(const std::string& args) { return meshsim::testing::run_shell(exe() + " " + args + " 2>&1 >/dev/null"); }
ShellRun out_only(const std::string& args) { return meshsim::testing::run_shell(exe() + " " + args + " 2>/dev/null"); }

bool has(const std::string& out, const std::string& text) { return out.find(text) != std::string::npos; }
size_t count(const std::string& out, const std::string& text) {
  size_t n = 0;
  for (size_t p = out.find(text); p != std::string::npos; p = out.find(text, p + 1)) ++n;
  return n;
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshsim-issue11-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string path(const std::string& f) const { return dir + "/" + f; }
  bool exists(const std::string& f) const { return std::filesystem::exists(path(f)); }
  std::string dir;
};

// ---- item 2: scenario files ---------------------------------------------------------------

TEST(ScenarioTypos, UnknownFieldsAreLocatedWarningsWithDidYouMeanAndTheRunStillRuns) {
  ShellRun r = both("run -q " + scenario("typos.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "typos.yaml:7:1: Scenario typos.yaml: descripton: unknown field \"descripton\" (ignored; did you "
                         "mean \"description\"?)"))
      << r.out;
  EXPECT_TRUE(has(r.out, "typos.yaml:18:47: Scenario typos.yaml: apps[0].http.keepalive: unknown field \"keepalive\" "
                         "(ignored; did you mean \"keepAlive\"?)"))
      << r.out;
  EXPECT_TRUE(has(r.out, "all 1 expectations passed")) << r.out;
}

TEST_F(TempDir, StrictMakesUnknownFieldsErrorsAndWritesNothing) {
  ShellRun r = both("run -q --strict --json " + path("r.json") + " --events " + path("e.jsonl") + " " + scenario("typos.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "typos.yaml:18:47: Scenario typos.yaml: apps[0].http.keepalive: unknown field \"keepalive\" (did "
                         "you mean \"keepAlive\"?)"))
      << r.out;
  EXPECT_FALSE(has(r.out, "(ignored")) << "under --strict nothing is ignored\n" << r.out;
  EXPECT_TRUE(has(r.out, "meshsim: error: the scenario has 2 errors")) << r.out;
  EXPECT_FALSE(exists("r.json"));
  EXPECT_FALSE(exists("e.jsonl"));
}

TEST_F(TempDir, MeshConfigTyposAreCaughtTooAndStrictAppliesToThem) {
  std::ofstream(path("mc.yaml")) << "apiVersion: meshsim.io/v1alpha1\nkind: Scenario\nname: mc\nduration: 1s\n"
                                    "meshConfig:\n  enableAutoMtl: false\n  defaultConfig: {holdApplicationUntilProxyStart: true}\n"
                                    "mesh:\n  manifests: [" + src("tests/data/istio-samples/sleep/sleep.yaml") + "]\n";
  ShellRun lenient = both("run -q " + path("mc.yaml"));
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out;
  EXPECT_TRUE(has(lenient.out, "mc.yaml:6:3: Scenario mc.yaml: enableAutoMtl: unknown field \"enableAutoMtl\" (ignored; did "
                               "you mean \"enableAutoMtls\"?)"))
      << lenient.out;
  EXPECT_TRUE(has(lenient.out, "defaultConfig.holdApplicationUntilProxyStart: unknown field \"holdApplicationUntilProxyStart\" "
                               "(ignored; did you mean \"holdApplicationUntilProxyStarts\"?)"))
      << lenient.out;
  ShellRun strict = both("run -q --strict " + path("mc.yaml"));
  EXPECT_EQ(strict.exit_code, 2) << strict.out;
  EXPECT_TRUE(has(strict.out, "enableAutoMtl: unknown field \"enableAutoMtl\" (did you mean \"enableAutoMtls\"?)"))
      << strict.out;
  EXPECT_TRUE(has(strict.out, "the scenario has 2 errors")) << strict.out;
}

TEST(ScenarioTypos, ConformanceLoadsStrictlyByDefault) {
  ShellRun strict = both("conformance " + scenario("typos.yaml"));
  EXPECT_EQ(strict.exit_code, 2) << strict.out;
  EXPECT_TRUE(has(strict.out, "unknown field \"keepalive\" (did you mean \"keepAlive\"?)")) << strict.out;
  ShellRun relaxed = both("conformance --no-strict " + scenario("typos.yaml"));
  EXPECT_EQ(relaxed.exit_code, 0) << relaxed.out;
  EXPECT_TRUE(has(relaxed.out, "1 passed, 0 failed")) << relaxed.out;
}

TEST(ScenarioErrors, EveryErrorOfTheFileComesOutInOnePassEachLocated) {
  ShellRun r = both("run -q " + scenario("many-errors.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  const std::string f = "many-errors.yaml:";
  // An unknown pod, with the closest workload and the list of workloads.
  EXPECT_TRUE(has(r.out, f + "14:3: Scenario many-errors.yaml: apps.from: no pod, workload or app \"default/sleeep\" in the "
                             "mesh (did you mean \"default/sleep\"?); workloads: default/helloworld-v1 (Deployment), "
                             "default/helloworld-v2 (Deployment), default/sleep (Deployment)"))
      << r.out;
  // A misspelt kind in a timeline apply is an error, not an ignored object.
  EXPECT_TRUE(has(r.out, f + "23:7: PeerAuthenticaton default/default: timeline apply: unknown kind \"PeerAuthenticaton\" "
                             "(apiVersion security.istio.io/v1) (did you mean \"PeerAuthentication\"?)"))
      << r.out;
  EXPECT_TRUE(has(r.out, f + "27:3: Scenario many-errors.yaml: timeline.killPod: no pod, workload or app "
                             "\"default/helloworl-v1\" in the mesh (did you mean \"default/helloworld-v1\"?)"))
      << r.out;
  EXPECT_TRUE(has(r.out, f + "29:3: Scenario many-errors.yaml: timeline.nodeDown: no node \"nod-a\"")) << r.out;
  EXPECT_TRUE(has(r.out, f + "35:3: Scenario many-errors.yaml: expect.sidecar.pod: no pod, workload or app \"default/sleepy\""))
      << r.out;
  EXPECT_TRUE(has(r.out, "meshsim: error: the scenario has 7 errors")) << r.out;
  EXPECT_FALSE(has(r.out, "pushed")) << "nothing runs\n" << r.out;
}

TEST(ScenarioErrors, ExpectationFieldsInTheWrongPlaceSayWhereTheyBelong) {
  ShellRun r = both("run -q " + scenario("many-errors.yaml"));
  EXPECT_TRUE(has(r.out, "many-errors.yaml:32:41: Scenario many-errors.yaml: expect[0].requests.okRatio: unknown field "
                         "\"okRatio\" (ignored; it goes beside \"requests:\", not inside it — valid shape: {requests: "
                         "{from: CLIENT, to: TARGET, window: [START, END]}, okRatio: \">= 0.99\"}"))
      << r.out;
  EXPECT_TRUE(has(r.out, "many-errors.yaml:34:3: Scenario many-errors.yaml: expect[1].is: unknown field \"is\" (ignored; it "
                         "goes inside \"wire:\" — valid shape: {wire: {from: NS/POD, to: NS/POD, is: mtls|tls|plaintext"))
      << r.out;
}

TEST(ScenarioErrors, MisspeltKindInAnApplyFileIsAnErrorToo) {
  // The same check for `apply: {file: …}`: the kind comes from a manifest file.
  std::string dir = std::filesystem::temp_directory_path() / ("meshsim-issue11-apply-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/pa.yaml") << "apiVersion: security.istio.io/v1\nkind: PeerAuthenticaton\n"
                                     "metadata: {name: default, namespace: default}\nspec: {mtls: {mode: STRICT}}\n";
  std::ofstream(dir + "/s.yaml") << "apiVersion: meshsim.io/v1alpha1\nkind: Scenario\nname: apply-file\nduration: 5s\n"
                                    "mesh:\n  manifests: [" + src("tests/data/istio-samples/sleep/sleep.yaml") + "]\n"
                                    "timeline:\n- at: 1s\n  apply: {file: pa.yaml}\n";
  ShellRun r = both("run -q " + dir + "/s.yaml");
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "pa.yaml:1:1: PeerAuthenticaton default/default: timeline apply: unknown kind \"PeerAuthenticaton\""))
      << r.out;
}

// ---- item 3: the command line -------------------------------------------------------------

TEST(CliTypos, UnknownVerbAndFlagGetDidYouMeanAndExit2) {
  ShellRun verb = both("prob --mesh x");
  EXPECT_EQ(verb.exit_code, 2);
  EXPECT_TRUE(has(verb.out, "meshsim: error: unknown verb \"prob\" (did you mean \"probe\"?)")) << verb.out;
  ShellRun flag = both("probe --mesh " + kBookinfo + " --form default/productpage --to reviews:9080");
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_TRUE(has(flag.out, "meshsim: error: unknown flag --form for 'meshsim probe' (did you mean --from?)")) << flag.out;
  ShellRun run_flag = both("run --strcit");
  EXPECT_EQ(run_flag.exit_code, 2);
  EXPECT_TRUE(has(run_flag.out, "unknown flag --strcit for 'meshsim run' (did you mean --strict?)")) << run_flag.out;
  ShellRun value = both("proxy-config clustr default/productpage --mesh " + kBookinfo);
  EXPECT_EQ(value.exit_code, 2);
  EXPECT_TRUE(has(value.out, "kind: clustr not in {listener,listeners,cluster,clusters,route,routes,endpoint,endpoints,"
                             "secret,secrets,rbac,all,iptables} (did you mean cluster?)"))
      << value.out;
  ShellRun far = both("analyze --frobnicate x");
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_TRUE(has(far.out, "unknown flag --frobnicate for 'meshsim analyze'")) << far.out;
  EXPECT_FALSE(has(far.out, "did you mean")) << "no suggestion for a name nowhere near\n" << far.out;
}

TEST(CliProbe, FromThatMatchesNothingListsTheWorkloads) {
  ShellRun r = both("probe --mesh " + kBookinfo + " --from default/productpag --to reviews:9080");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(has(r.out, "meshsim: error: --from: no pod, workload or app \"productpag\" in namespace \"default\" (did you "
                         "mean default/productpage?); workloads: default/details-v1 (Deployment), default/productpage-v1 "
                         "(Deployment), default/ratings-v1 (Deployment), default/reviews-v1 (Deployment)"))
      << r.out;
}

TEST(CliProbe, PortTheServiceDoesNotExposeIsNamedAndTheProbeStillRuns) {
  ShellRun err = err_only("probe --mesh " + kBookinfo + " --inject-namespace default --from default/productpage --to reviews:9081");
  EXPECT_EQ(err.exit_code, 0) << err.out;
  EXPECT_TRUE(has(err.out, "meshsim: warning: --to reviews:9081: service reviews.default.svc.cluster.local does not expose "
                           "port 9081 (it exposes 9080/http); probing anyway"))
      << err.out;
  ShellRun out = out_only("probe --mesh " + kBookinfo + " --inject-namespace default --from default/productpage --to reviews:9081");
  EXPECT_TRUE(has(out.out, "to                reviews:9081")) << out.out;
  EXPECT_TRUE(has(out.out, "outcome")) << out.out;
  ShellRun fine = err_only("probe --mesh " + kBookinfo + " --inject-namespace default --from default/productpage --to reviews:9080");
  EXPECT_FALSE(has(fine.out, "does not expose")) << fine.out;
}

TEST(CliRun, UnreadableScenarioGivesTheOsReason) {
  ShellRun r = both("run /nonexistent/nope.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.out, "/nonexistent/nope.yaml: cannot read the scenario file: No such file or directory")) << r.out;
  ShellRun d = both("run /tmp");
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_TRUE(has(d.out, "/tmp: cannot read the scenario file: Is a directory")) << d.out;
}

TEST_F(TempDir, EveryFileWrittenIsNamedOnStderrWithWhatItHolds) {
  ShellRun probe = err_only("probe --mesh " + kBookinfo + " --inject-namespace default --from default/productpage --to "
                            "reviews:9080 --pcap " + path("p.pcap") + " --keylog " + path("p.keys"));
  ASSERT_EQ(probe.exit_code, 0) << probe.out;
  EXPECT_TRUE(std::regex_search(probe.out, std::regex("wrote " + path("p.pcap") + " \\([1-9][0-9]* packets, wire\\)")))
      << probe.out;
  EXPECT_TRUE(std::regex_search(probe.out, std::regex("wrote " + path("p.keys") + " \\([1-9][0-9]* lines, TLS key log\\)")))
      << probe.out;
  ShellRun run = err_only("run -q " + scenario("typos.yaml") + " --json " + path("r.json") + " --events " + path("e.jsonl") +
                          " --pcap " + path("r.pcap"));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(has(run.out, "wrote " + path("r.json") + " (run result, JSON)")) << run.out;
  EXPECT_TRUE(std::regex_search(run.out, std::regex("wrote " + path("e.jsonl") + " \\([1-9][0-9]* events\\)"))) << run.out;
  EXPECT_TRUE(std::regex_search(run.out, std::regex("wrote " + path("r.pcap") + " \\([1-9][0-9]* packets, wire\\)"))) << run.out;
  ShellRun conf = err_only("conformance " + src("conformance/suites/faq/sidecar-injection.yaml") + " --junit " +
                           path("j.xml") + " --report " + path("rep.yaml") + " --db " + path("r.db"));
  EXPECT_TRUE(has(conf.out, "wrote " + path("j.xml") + " (JUnit XML, 1 case)")) << conf.out;
  EXPECT_TRUE(has(conf.out, "wrote " + path("rep.yaml") + " (conformance report, 1 case)")) << conf.out;
  EXPECT_TRUE(has(conf.out, "wrote " + path("r.db") + " (results database, run 1)")) << conf.out;
}

// ---- item 4: manifests without Namespace objects, Helm charts --------------------------------

TEST(InjectNamespace, SamplesGetNoSidecarAndMeshsimSaysSoWithoutVerbose) {
  ShellRun err = err_only("probe --mesh " + kBookinfo + " --from default/productpage --to reviews:9080");
  EXPECT_EQ(err.exit_code, 0) << err.out;
  EXPECT_TRUE(has(err.out, "bookinfo.yaml:53:1: Namespace default: namespace default (no Namespace object in the input, so no "
                           "istio-injection label) holds pods"))
      << err.out;
  EXPECT_TRUE(has(err.out, "Or tell meshsim: --inject-namespace default.")) << err.out;
  ShellRun out = out_only("probe --mesh " + kBookinfo + " --from default/productpage --to reviews:9080");
  EXPECT_TRUE(has(out.out, "client sidecar    none")) << out.out;
}

TEST(InjectNamespace, ProbeWithTheFlagGoesSidecarToSidecarOverMutualTls) {
  ShellRun r = both("probe --mesh " + kBookinfo + " --inject-namespace default --from default/productpage --to reviews:9080 "
                    "--path /reviews/0");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(has(r.out, "MS0124")) << r.out;
  EXPECT_TRUE(has(r.out, "(10.244.1.2, sidecar)")) << r.out;
  EXPECT_TRUE(has(r.out, "tls             ISTIO_MUTUAL")) << r.out;
  EXPECT_TRUE(has(r.out, "outcome           ok (HTTP 200)")) << r.out;
}

TEST(InjectNamespace, AnalyzeAndProxyConfigTakeTheFlag) {
  ShellRun without = both("analyze " + kBookinfo);
  EXPECT_TRUE(has(without.out, "Warning [MS0124]")) << without.out;
  ShellRun with = both("analyze " + kBookinfo + " --inject-namespace default");
  EXPECT_EQ(with.exit_code, 0) << with.out;
  EXPECT_FALSE(has(with.out, "MS0124")) << with.out;
  ShellRun pc_without = both("proxy-config cluster default/productpage --mesh " + kBookinfo);
  EXPECT_TRUE(has(pc_without.out, "has no sidecar")) << pc_without.out;
  EXPECT_TRUE(has(pc_without.out, "[MS0124]") || has(pc_without.out, "no Namespace object")) << pc_without.out;
  ShellRun pc_with = both("proxy-config cluster default/productpage --mesh " + kBookinfo + " --inject-namespace default");
  EXPECT_EQ(pc_with.exit_code, 0) << pc_with.out;
  EXPECT_FALSE(has(pc_with.out, "has no sidecar")) << pc_with.out;
  EXPECT_TRUE(has(pc_with.out, "reviews.default.svc.cluster.local         9080     -          outbound      EDS"))
      << pc_with.out;
}

TEST(InjectNamespace, RunWithTheFlagInjectsTheSamplesPods) {
  ShellRun without = both("run -q " + scenario("samples-injection.yaml"));
  EXPECT_EQ(without.exit_code, 1) << without.out;
  EXPECT_TRUE(has(without.out, "Or run with --inject-namespace default.")) << without.out;
  ShellRun with = both("run -q --inject-namespace default " + scenario("samples-injection.yaml"));
  EXPECT_EQ(with.exit_code, 0) << with.out;
  EXPECT_TRUE(has(with.out, "all 2 expectations passed")) << with.out;
}

TEST(HelmChart, ADirectoryThatIsAChartGetsOneErrorWithTheHelmTemplateCommand) {
  const std::string chart = src("tests/data/helm-chart");
  ShellRun r = both("analyze " + chart);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(count(r.out, "Error ["), 1u) << r.out;
  EXPECT_TRUE(has(r.out, "Error [MS0005] " + chart + ": this directory is a Helm chart (it holds Chart.yaml), not rendered "
                         "manifests; render it first: helm template NAME " + chart + " | meshsim analyze -"))
      << r.out;
  ShellRun templates = both("analyze " + chart + "/templates");
  EXPECT_EQ(templates.exit_code, 2);
  EXPECT_TRUE(has(templates.out, "helm template NAME " + chart + " | meshsim analyze -")) << templates.out;
  ShellRun file = both("analyze " + chart + "/templates/deployment.yaml");
  EXPECT_EQ(file.exit_code, 2);
  EXPECT_TRUE(has(file.out, "this file is a Helm template ({{ }} actions)")) << file.out;
  ShellRun probe = both("probe --mesh " + chart + " --from external --to echo:80");
  EXPECT_EQ(probe.exit_code, 2);
  EXPECT_TRUE(has(probe.out, "helm template NAME " + chart)) << probe.out;
}

TEST(HelmChart, TemplatesInsideValidYamlAreDataNotAChart) {
  // Prometheus rules and the injector's ConfigMap carry {{ }} inside strings.
  std::string dir = std::filesystem::temp_directory_path() / ("meshsim-issue11-cm-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/cm.yaml") << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rules, namespace: default}\n"
                                     "data:\n  alert: |\n    summary: \"{{ $labels.instance }} is down\"\n"
                                     "    {{- if .Values.x }}\n";
  ShellRun r = both("analyze " + dir);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(has(r.out, "Helm")) << r.out;
}

}  // namespace

namespace {

// `meshsim conformance` without a suite, from a directory that has none,
// runs the suites of meshsim's own source tree and says so.
TEST_F(TempDir, ConformanceWithoutArgumentsRunsTheBundledSuitesFromAnyDirectory) {
  ShellRun r = meshsim::testing::run_shell("cd " + dir + " && " + exe() + " conformance -j 2 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "meshsim: note: no conformance/suites here; running " + src("conformance/suites"))) << r.out;
  EXPECT_TRUE(has(r.out, "authorization-http")) << r.out;
  EXPECT_TRUE(has(r.out, " 0 failed")) << r.out;
}

}  // namespace
