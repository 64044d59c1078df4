// `meshsim run` and `meshsim conformance` end to end: the bundled scenario,
// located errors for bad scenarios, determinism, the event log, JUnit checked
// with xmllint, SQLite, shards.
#include <gtest/gtest.h>

#include "tests/shell_run.h"
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

using CliRun = meshsim::testing::ShellRun;
CliRun sh(const std::string& cmd) { return meshsim::testing::run_shell(cmd + " 2>&1"); }

std::string exe() { return MESHSIM_EXE; }
std::string data(const std::string& f) { return std::string(MESHSIM_SOURCE_DIR) + "/tests/data/scenarios/" + f; }
std::string tmp(const std::string& f) {
  return (std::filesystem::temp_directory_path() / ("meshsim-scen-" + std::to_string(::getpid()) + "-" + f)).string();
}

std::string field(const std::string& out, const std::string& key) {
  auto p = out.find(key);
  return p == std::string::npos ? "" : out.substr(p, out.find('\n', p) - p);
}

TEST(Run, DefaultScenarioTellsTheMigrationStoryAndPasses) {
  CliRun r = sh(exe() + " run -q");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("timeline: switch namespace default to STRICT mTLS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("legacy-sleep→productpage fails (reset): curl: (56) Recv failure: Connection reset by peer"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("no filter chain on virtualInbound"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet'"),
            std::string::npos);
  EXPECT_NE(r.out.find("all 9 expectations passed"), std::string::npos) << r.out;
}

// A timeline apply of something meshsim does not simulate is named in the
// story's NOT MODELLED section and in the JSON result, with file:line.
TEST(Run, WhatTheRunDoesNotSimulateIsNamed) {
  auto r = sh(std::string(MESHSIM_EXE) + " run " + data("not-modelled.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("NOT MODELLED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("AuthorizationPolicy default/ext-authz (security.istio.io)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not-modelled.yaml:20:7"), std::string::npos) << r.out;
  auto clean = sh(std::string(MESHSIM_EXE) + " run " + data("client-paths.yaml"));
  EXPECT_EQ(clean.out.find("NOT MODELLED"), std::string::npos) << clean.out;
  // The conformance report lists the case under notModelled.
  std::string report = tmp("not-modelled-report.yaml");
  auto c = sh(std::string(MESHSIM_EXE) + " conformance " + data("not-modelled.yaml") + " --report " + report);
  EXPECT_EQ(c.exit_code, 0) << c.out;
  std::ifstream in(report);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("notModelled:\n    - test: \"scenarios.authz-not-modelled\""), std::string::npos) << text;
  std::filesystem::remove(report);
}

TEST(Run, SameSeedSameFingerprintOtherSeedOther) {
  CliRun a = sh(exe() + " run -q --duration 30s");
  CliRun b = sh(exe() + " run -q --duration 30s");
  CliRun c = sh(exe() + " run -q --duration 30s --seed 2");
  ASSERT_FALSE(field(a.out, "fingerprint 0x").empty()) << a.out;
  EXPECT_EQ(field(a.out, "fingerprint 0x").substr(0, 30), field(b.out, "fingerprint 0x").substr(0, 30));
  EXPECT_NE(field(a.out, "fingerprint 0x").substr(0, 30), field(c.out, "fingerprint 0x").substr(0, 30));
}

TEST(Run, BadScenarioReportsEveryProblemWithItsLocationAndExits2) {
  CliRun r = sh(exe() + " run -q " + data("bad-scenario.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("bad-scenario.yaml:13:3: Scenario bad-scenario.yaml: apps[0].rate: expected a rate such as \"10/s\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("bad-scenario.yaml:16:17: Scenario bad-scenario.yaml: apps[1].tcp.target: expected HOST:PORT with a port "
                       "from 1 to 65535, got \"tcp-echo:echo\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("timeline[0]: a timeline entry needs exactly one action"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expect[0].okRatio: expected a comparison"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expect[1].wire.is: unknown value \"encrypted\" (valid: mtls, tls, plaintext)"), std::string::npos)
      << r.out;
}

TEST(Run, EventLogAndJsonResultAreWrittenWholeAndParse) {
  std::string events = tmp("events.jsonl"), json = tmp("result.json");
  CliRun r = sh(exe() + " run -q --duration 15s " + data("strict-legacy.yaml") + " --events " + events + " --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.out;  // the "reset after" expectation needs the run to reach 20s
  std::ifstream ef(events);
  std::string line;
  size_t lines = 0, outcomes = 0;
  while (std::getline(ef, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    ++lines;
    if (j.value("kind", "") == "app.outcome") ++outcomes;
  }
  EXPECT_GT(lines, 100u);
  EXPECT_GE(outcomes, 25u);
  std::ifstream jf(json);
  auto j = nlohmann::json::parse(jf, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["scenario"], "strict-legacy");
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_FALSE(std::filesystem::exists(events + ".partial"));
  std::filesystem::remove(events);
  std::filesystem::remove(json);
}

TEST(Conformance, WritesJunitReportAndDatabase) {
  std::string junit = tmp("junit.xml"), report = tmp("report.yaml"), db = tmp("results.db");
  std::filesystem::remove(db);
  CliRun r = sh(exe() + " conformance " + data("strict-legacy.yaml") + " --junit " + junit + " --report " + report +
             " --db " + db);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("strict-legacy"), std::string::npos);
  EXPECT_NE(r.out.find("1 passed, 0 failed"), std::string::npos) << r.out;
  EXPECT_EQ(sh("xmllint --noout " + junit).exit_code, 0);
  EXPECT_EQ(sh("sqlite3 " + db + " 'select count(*) from cases where status=\"passed\"'").out, "1\n");
  CliRun rep = sh("cat " + report);
  EXPECT_NE(rep.out.find("- name: MESH-MTLS"), std::string::npos) << rep.out;
  for (const auto& f : {junit, report, db}) std::filesystem::remove(f);
}

TEST(Conformance, AnInvalidScenarioIsBadInputAndShardsSplitTheSuite) {
  CliRun bad = sh(exe() + " conformance " + data(""));
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("bad-scenario.yaml:13:3"), std::string::npos) << bad.out;
  CliRun s1 = sh(exe() + " conformance " + data("strict-legacy.yaml") + " --shard 1/2");
  CliRun s2 = sh(exe() + " conformance " + data("strict-legacy.yaml") + " --shard 2/2");
  EXPECT_NE(s1.out.find("1 passed"), std::string::npos) << s1.out;
  EXPECT_NE(s2.out.find("0 passed, 0 failed, 0 errors"), std::string::npos) << s2.out;
  EXPECT_EQ(sh(exe() + " conformance " + data("strict-legacy.yaml") + " --shard 3/2").exit_code, 2);
}


// ------------------------------------------------------------ FAQ suite --

std::string faq(const std::string& f) { return std::string(MESHSIM_SOURCE_DIR) + "/conformance/suites/faq/" + f; }

// Every FAQ scenario and every example in scenarios/, run twice: the same
// fingerprint, and no random byte drawn outside the seed's streams (OpenSSL's
// DRBG would make TLS bytes, and with them verdicts, differ between runs). One
// TEST per file, so that ctest spreads them over the cores.
std::vector<std::string> reproducible_files() {
  std::vector<std::string> files;
  for (const char* dir : {"/conformance/suites/faq", "/scenarios"}) {
    for (const auto& e : std::filesystem::directory_iterator(std::string(MESHSIM_SOURCE_DIR) + dir)) {
      if (e.path().extension() == ".yaml") files.push_back(e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FaqSuite, EveryFaqScenarioAndExampleIsCovered) { EXPECT_GE(reproducible_files().size(), 19u); }

class Reproducible : public ::testing::TestWithParam<std::string> {};

TEST_P(Reproducible, SameFingerprintTwiceAndNoUnscopedRandomBytes) {
  const std::string& f = GetParam();
  CliRun a = sh(exe() + " run -q --json - " + f);
  CliRun b = sh(exe() + " run -q --json - " + f);
  ASSERT_EQ(a.exit_code, 0) << f << "\n" << a.out;
  auto ja = nlohmann::json::parse(a.out, nullptr, false);
  auto jb = nlohmann::json::parse(b.out, nullptr, false);
  ASSERT_FALSE(ja.is_discarded()) << a.out;
  ASSERT_FALSE(jb.is_discarded()) << b.out;
  EXPECT_EQ(ja["fingerprint"], jb["fingerprint"]) << f;
  EXPECT_EQ(ja["unscoped_random_bytes"], 0) << f;
}

std::string file_case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::filesystem::path p(info.param);
  std::string n = p.parent_path().filename().string() + "_" + p.stem().string();
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(FaqSuite, Reproducible, ::testing::ValuesIn(reproducible_files()), file_case_name);

// The encryption claim, checked with tshark on the capture meshsim wrote:
// every ClientHello from the mesh client offers Istio's ALPN, and the legacy
// client's HTTP requests are readable plaintext.
TEST(FaqSuite, VerifyEncryptionHoldsInTsharksReadingOfTheCapture) {
  std::string pcap = tmp("faq.pcap");
  CliRun r = sh(exe() + " run -q --duration 5s " + faq("verify-encryption.yaml") + " --pcap " + pcap);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // httpbin listens on 8080 (tshark would guess HTTP there), tcp-echo on 9000.
  CliRun alpn = sh("(tshark -r " + pcap + " -d tcp.port==8080,tls -d tcp.port==9000,tls" +
                   " -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.extensions_alpn_str -e tcp.dstport" +
                   " 2>/dev/null)");
  ASSERT_EQ(alpn.exit_code, 0) << alpn.out;
  int http_hellos = 0, tcp_hellos = 0;
  std::istringstream lines(alpn.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("istio-http/1.1") != std::string::npos) ++http_hellos;
    if (line.find("istio-peer-exchange") != std::string::npos) ++tcp_hellos;
    EXPECT_NE(line.find("istio"), std::string::npos) << "a ClientHello without Istio ALPN: " << line;
  }
  EXPECT_GE(http_hellos, 1) << alpn.out;
  EXPECT_GE(tcp_hellos, 5) << alpn.out;  // tcp-echo: one connection per attempt, 2/s
  // The legacy client (namespace legacy, no sidecar): plaintext GET /headers.
  CliRun http = sh("(tshark -r " + pcap + " -Y 'http.request' -T fields -e http.request.uri 2>/dev/null)");
  ASSERT_EQ(http.exit_code, 0) << http.out;
  EXPECT_NE(http.out.find("/headers"), std::string::npos) << http.out;
  std::filesystem::remove(pcap);
}

// A pki error and a namespace mismatch are located like every scenario error.
TEST(Run, PkiAndManifestNamespaceErrorsAreLocated) {
  std::string dir = tmp("pki");
  std::filesystem::create_directories(dir);
  {
    std::ofstream m(dir + "/ns.yaml");
    m << "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x, namespace: other}\n";
    std::ofstream f(dir + "/s.yaml");
    f << "kind: Scenario\nname: s\nduration: 1s\n"
         "mesh:\n  manifests: [{path: ns.yaml, namespace: foo}]\n"
         "pki:\n- name: a\n  mount: {pod: foo/x}\n"
         "apps:\n- server: foo/x\n  port: 80\n  tls: {certificate: nope}\n";
  }
  CliRun r = sh(exe() + " run -q " + dir + "/s.yaml");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("ns.yaml:3:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("does not match the namespace \"foo\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("s.yaml:7:3: Scenario s.yaml: pki[0]: a certificate needs dnsNames or uriNames"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("pki[0].mount: mount needs cert and key, or ca, or all three"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tls.certificate \"nope\" is not a certificate of pki"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}


// A failure is explained with the policy in force when it happened, not with
// the final one: STRICT until 10 s, then the PeerAuthentication is deleted.
TEST(Run, StoryExplainsAFailureWithThePolicyOfItsTime) {
  CliRun r = sh(exe() + " run -q " + data("strict-then-relaxed.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::string why = field(r.out, "no filter chain on virtualInbound");
  EXPECT_NE(why.find("wants tls (HTTP port, STRICT (PeerAuthentication istio-system/default (mesh level) sets STRICT)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("10.500s  legacy works again"), std::string::npos) << r.out;
}


// A latency change reaches connections that are already open: the mesh
// client's requests travel on its sidecar's pooled connection, opened before.
TEST(Run, LatencyChangeReachesOpenConnections) {
  CliRun r = sh(exe() + " run -q " + data("latency-change.yaml") + " --json -");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  for (const auto& e : j["edges"]) {
    EXPECT_EQ(e["connections"], 1) << e.dump();  // keep-alive: one connection for 200 requests
    EXPECT_EQ(e["requests"], 200) << e.dump();
  }
}

// --pcap-dir: one capture and key log per case, which tshark decrypts; the
// captures do not change the verdicts or fingerprints.
TEST(Conformance, PcapDirCapturesEveryCaseForTshark) {
  std::string dir = tmp("caps");
  std::filesystem::remove_all(dir);
  std::string suite = std::string(MESHSIM_SOURCE_DIR) + "/conformance/suites/faq/verify-encryption.yaml";
  CliRun r = sh(exe() + " conformance " + suite + " --pcap-dir " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string pcap = dir + "/faq/verify-encryption.pcap", keys = dir + "/faq/verify-encryption.keys";
  ASSERT_TRUE(std::filesystem::exists(pcap)) << r.out;
  ASSERT_TRUE(std::filesystem::exists(keys)) << r.out;
  CliRun t = sh("(tshark -r " + pcap + " -o tls.keylog_file:" + keys +
                " -d tcp.port==8080,tls -Y http.request -T fields -e http.request.uri 2>/dev/null) | sort -u");
  EXPECT_NE(t.out.find("/headers"), std::string::npos) << t.out;  // decrypted out of the mTLS
  CliRun bad = sh(exe() + " conformance " + suite + " --pcap-dir " + dir + " --pcap-filter 'tcp porttt 1'");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  std::filesystem::remove_all(dir);
}

// Pinned fingerprints: --update-fingerprints writes the pin and (with --db)
// keeps the reference trace; the same run passes; a change in behaviour
// fails, is told apart from nondeterminism by a second run, and names the
// first event that differs.
TEST(Conformance, PinnedFingerprintCatchesABehaviourChangeAndNamesTheFirstDivergentEvent) {
  namespace fs = std::filesystem;
  fs::path dir = tmp("pin");
  fs::remove_all(dir);
  fs::create_directories(dir / "pin");
  fs::path scen = dir / "pin" / "strict-legacy.yaml";
  fs::copy_file(data("strict-legacy.yaml"), scen);
  std::string db = (dir / "results.db").string();
  CliRun up = sh(exe() + " conformance " + (dir / "pin").string() + " --update-fingerprints --db " + db);
  ASSERT_EQ(up.exit_code, 0) << up.out;
  std::ifstream in(scen);
  std::stringstream text;
  text << in.rdbuf();
  std::string yaml = text.str();
  auto at = yaml.find("fingerprint: \"0x");
  ASSERT_NE(at, std::string::npos) << yaml;
  CliRun same = sh(exe() + " conformance " + (dir / "pin").string() + " --db " + db);
  EXPECT_EQ(same.exit_code, 0) << same.out;
  // Change the behaviour: the legacy client sends at a different rate.
  auto rate = yaml.find("rate: 2/s");
  ASSERT_NE(rate, std::string::npos);
  yaml.replace(rate, 9, "rate: 3/s");
  std::ofstream(scen) << yaml;
  CliRun changed = sh(exe() + " conformance " + (dir / "pin").string() + " --db " + db);
  EXPECT_EQ(changed.exit_code, 1) << changed.out;
  EXPECT_NE(changed.out.find("the behaviour changed"), std::string::npos) << changed.out;
  EXPECT_NE(changed.out.find("runs diverge at trace entry"), std::string::npos) << changed.out;
  fs::remove_all(dir);
}

// An HTTP client with `paths` asks for them in turn (seen by the server
// sidecar's access log in the event stream).
TEST(Run, HttpClientPathsRotate) {
  std::string ev = tmp("paths.jsonl");
  CliRun r = sh(exe() + " run -q " + data("client-paths.yaml") + " --events " + ev);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream in(ev);
  std::string line, seen;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("kind", "") != "proxy.access_log" || j.value("direction", "") != "inbound") continue;
    seen += j.value("path", "?");
  }
  EXPECT_EQ(seen, "/a/b/c/a/b/c");
  std::filesystem::remove(ev);
}

}  // namespace
