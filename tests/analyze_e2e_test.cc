// End-to-end tests of `meshsim analyze`: the malformed corpus (every file gives
// a clear, located error and exit code 2, without crashing or hanging), the
// Bookinfo-shaped manifests and Istio's own samples (tests/data/istio-samples),
// output formats and exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int exit_code = -1;
  bool signaled = false;
  std::string out;
  double seconds = 0;
};

// Runs meshsim with a hard 30 s limit (coreutils timeout), capturing stdout+stderr.
CliRun meshsim(const std::string& args, bool merge_stderr = true) {
  std::string cmd = "timeout -s KILL 30 " + std::string(MESHSIM_EXE) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  CliRun r;
  auto t0 = std::chrono::steady_clock::now();
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.signaled = WIFSIGNALED(status);
  return r;
}

std::string source_dir() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return s ? s : ".";
}

std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string unescape(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

TEST(AnalyzeMalformed, EveryFileGivesALocatedErrorAndExitCode2) {
  fs::path dir = fs::path(source_dir()) / "tests/data/malformed";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 30u);
  for (const auto& f : files) {
    std::string header = first_line(f);
    ASSERT_EQ(header.rfind("# expect: ", 0), 0u) << f << " must start with '# expect: <text>'";
    std::string expect = unescape(header.substr(10));
    CliRun r = meshsim("analyze " + f.string());
    SCOPED_TRACE(f.filename().string() + "\n" + r.out);
    EXPECT_FALSE(r.signaled) << "crashed or was killed (hang)";
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_LT(r.seconds, 10.0);
    EXPECT_THAT(r.out, HasSubstr(expect));
    // A located error: "<file>:<line>:<column>: …" with line >= 2 (line 1 is the header).
    std::regex located(std::regex_replace(f.string(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                       R"(:([0-9]+):[0-9]+: )");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, located));
    EXPECT_GE(std::stoi(m[1].str()), 2);
    EXPECT_THAT(r.out, HasSubstr("Error ["));
  }
}

TEST(AnalyzeMalformed, AllFilesAtOnceStillReportEveryFile) {
  CliRun r = meshsim("analyze " + (fs::path(source_dir()) / "tests/data/malformed").string());
  EXPECT_EQ(r.exit_code, 2);
  for (const auto& e : fs::directory_iterator(fs::path(source_dir()) / "tests/data/malformed"))
    EXPECT_THAT(r.out, HasSubstr(e.path().filename().string() + ":")) << e.path();
}

TEST(AnalyzeBookinfo, MysqlPermissiveAndMissingSubsetAreReported) {
  fs::path d = fs::path(source_dir()) / "tests/data/bookinfo";
  CliRun r = meshsim("analyze " + d.string());
  SCOPED_TRACE(r.out);
  EXPECT_EQ(r.exit_code, 1) << "Error-level findings, but valid input";
  EXPECT_THAT(r.out, HasSubstr("[MS0105]"));
  EXPECT_THAT(r.out, HasSubstr("ERROR 2013"));
  EXPECT_THAT(r.out, HasSubstr("[MS0101]"));
  EXPECT_THAT(r.out, HasSubstr("subset \"v4\""));
  EXPECT_THAT(r.out, HasSubstr("[MS0115]"));
  EXPECT_THAT(r.out, HasSubstr("[MS0107]"));
  EXPECT_THAT(r.out, Not(HasSubstr("[MS0002]")));
}

TEST(AnalyzeBookinfo, SarifAndJsonOutputs) {
  fs::path d = fs::path(source_dir()) / "tests/data/bookinfo";
  CliRun sarif = meshsim("analyze -o sarif " + d.string(), false);
  auto j = nlohmann::json::parse(sarif.out);
  EXPECT_EQ(j["version"], "2.1.0");
  ASSERT_FALSE(j["runs"][0]["results"].empty());
  for (const auto& res : j["runs"][0]["results"]) {
    EXPECT_TRUE(res.contains("ruleId"));
    EXPECT_GT(res["locations"][0]["physicalLocation"]["region"]["startLine"].get<int>(), 0);
  }
  CliRun json = meshsim("analyze -o json " + d.string(), false);
  auto js = nlohmann::json::parse(json.out);
  EXPECT_GT(js["summary"]["errors"].get<int>(), 0);
}

// AuthorizationPolicy findings from the CLI, located at the rule (or the
// namespace value) they are about: tests/data/authz-analyze/shop.yaml.
TEST(AnalyzeAuthorization, FindingsNameThePolicyRuleAndPorts) {
  fs::path f = fs::path(source_dir()) / "tests/data/authz-analyze/shop.yaml";
  CliRun r = meshsim("analyze " + f.string());
  SCOPED_TRACE(r.out);
  EXPECT_EQ(r.exit_code, 1) << "MS0101 is an Error";
  EXPECT_THAT(r.out, HasSubstr("Info [MS0135] " + f.string() + ":51:3: AuthorizationPolicy shop/mysql-readers: spec.rules: "
                               "every ALLOW rule (ALLOW policies: shop/mysql-readers) uses HTTP-only fields and is skipped "
                               "on TCP filter chains, so this denies every connection to the TCP ports of Deployment "
                               "shop/mysql (port 3306)"));
  EXPECT_THAT(r.out, HasSubstr("Warning [MS0113] " + f.string() + ":52:5: AuthorizationPolicy shop/mysql-readers: "
                               "spec.rules[0]: rule 0 of ALLOW policy shop/mysql-readers uses HTTP-only fields "
                               "(to.operation.methods) and Deployment shop/mysql serves TCP on port 3306"));
  EXPECT_THAT(r.out, HasSubstr("Warning [MS0134] " + f.string() + ":61:5: AuthorizationPolicy shop/web-from-legacy: "
                               "spec.rules[0]: rule 0 of ALLOW policy shop/web-from-legacy requires a peer identity"));
  EXPECT_THAT(r.out, HasSubstr("plaintext clients such as legacy/batch are denied"));
  EXPECT_THAT(r.out, HasSubstr("Error [MS0101] " + f.string() + ":61:43: AuthorizationPolicy shop/web-from-legacy: "
                               "spec.rules[0].from[0].source.namespaces[1]: Referenced namespace not found: \"stag*\""));
  CliRun sarif = meshsim("analyze -o sarif " + f.string(), false);
  auto j = nlohmann::json::parse(sarif.out);
  bool reported = false, ist0101 = false;
  for (const auto& res : j["runs"][0]["results"]) reported = reported || res["ruleId"] == "MS0101";
  for (const auto& rule : j["runs"][0]["tool"]["driver"]["rules"])
    if (rule["id"] == "MS0101") ist0101 = rule["properties"]["istioCode"] == "IST0101";
  EXPECT_TRUE(reported && ist0101) << sarif.out;
}

TEST(AnalyzeExitCodes, ThresholdAndCleanInput) {
  fs::path clean = fs::path(source_dir()) / "tests/data/clean.yaml";
  CliRun ok = meshsim("analyze " + clean.string());
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("No validation issues found"));
  fs::path istio = fs::path(source_dir()) / "tests/data/istio-samples/bookinfo/platform/kube/bookinfo.yaml";
  CliRun warn = meshsim("analyze " + istio.string());
  EXPECT_EQ(warn.exit_code, 0) << "only a warning (namespace not injected)\n" << warn.out;
  CliRun strict = meshsim("analyze --failure-threshold Warning " + istio.string());
  EXPECT_EQ(strict.exit_code, 1) << strict.out;
  CliRun missing = meshsim("analyze /nonexistent/file.yaml");
  EXPECT_EQ(missing.exit_code, 2);
  CliRun stdin_run = meshsim("analyze - < " + clean.string());
  EXPECT_EQ(stdin_run.exit_code, 0) << stdin_run.out;
}

// The same object twice (e.g. one file applied twice): a warning located at
// the later definition, which replaces the earlier one.
TEST(AnalyzeDuplicates, TheLaterDefinitionWinsWithAWarning) {
  fs::path dup = fs::temp_directory_path() / ("meshsim-dup-" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream f(dup);
    f << "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\n"
         "spec: {mtls: {mode: PERMISSIVE}}\n---\n"
         "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\n"
         "spec: {mtls: {mode: STRICT}}\n";
  }
  CliRun r = meshsim("analyze -o json " + dup.string());
  EXPECT_EQ(r.exit_code, 0) << r.out;  // a warning is below the default threshold
  EXPECT_THAT(r.out, HasSubstr("MS0006"));
  EXPECT_THAT(r.out, HasSubstr("the later definition replaces the earlier one"));
  EXPECT_THAT(r.out, HasSubstr(dup.filename().string()));
  EXPECT_THAT(r.out, HasSubstr("\"line\": 6"));  // the second document's location
  fs::remove(dup);
}

TEST(AnalyzeIstioSamples, EveryFileLoadsWithoutSchemaErrors) {
  fs::path dir = fs::path(source_dir()) / "tests/data/istio-samples";
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    ++n;
    CliRun r = meshsim("analyze " + e.path().string());
    SCOPED_TRACE(e.path().string() + "\n" + r.out);
    EXPECT_NE(r.exit_code, 2);
    EXPECT_THAT(r.out, Not(HasSubstr("[MS0001]")));
    EXPECT_THAT(r.out, Not(HasSubstr("[MS0002]")));
    EXPECT_THAT(r.out, Not(HasSubstr("[MS0003]")));
  }
  EXPECT_GE(n, 30u);
}

TEST(AnalyzeIstioSamples, WhatAUserNeedsToKnow) {
  fs::path dir = fs::path(source_dir()) / "tests/data/istio-samples";
  // VirtualService for details v2 without the DestinationRule that defines v2.
  CliRun vs = meshsim("analyze " + (dir / "bookinfo/platform/kube/bookinfo.yaml").string() + " " +
                      (dir / "bookinfo/networking/virtual-service-details-v2.yaml").string());
  EXPECT_THAT(vs.out, HasSubstr("[MS0101]")) << vs.out;
  EXPECT_THAT(vs.out, HasSubstr("subset \"v2\" of host details.default.svc.cluster.local")) << vs.out;
  // The same with the DestinationRules: subset v2 is defined but no pod has version=v2.
  CliRun dr = meshsim("analyze " + (dir / "bookinfo/platform/kube/bookinfo.yaml").string() + " " +
                      (dir / "bookinfo/networking/destination-rule-all.yaml").string() + " " +
                      (dir / "bookinfo/networking/virtual-service-details-v2.yaml").string());
  EXPECT_THAT(dr.out, Not(HasSubstr("[MS0101]"))) << dr.out;
  EXPECT_THAT(dr.out, HasSubstr("[MS0120]")) << dr.out;
  // The Gateway's ingress pod is not part of the samples: meshsim says it runs
  // Istio's default one (which istioctl install creates) instead of reporting
  // the selector as matching nothing.
  CliRun gw = meshsim("analyze " + (dir / "bookinfo/networking/bookinfo-gateway.yaml").string() + " " +
                      (dir / "bookinfo/platform/kube/bookinfo.yaml").string());
  EXPECT_THAT(gw.out, HasSubstr("[MS0137]")) << gw.out;
  EXPECT_THAT(gw.out, HasSubstr("istio=ingressgateway")) << gw.out;
  EXPECT_THAT(gw.out, Not(HasSubstr("matches no pod"))) << gw.out;
}

}  // namespace
