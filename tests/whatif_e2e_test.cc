// End-to-end tests of `meshsim whatif` through the executable, on the mesh of
// istio.io's mTLS migration task and security FAQ (tests/data/security-faq:
// foo and bar with sidecars, legacy without; httpbin, sleep, a MySQL server,
// an httpbin whose port 8080 is excluded from inbound capture).
//
// Expected answers and their sources (ISTIO_BEHAVIOR.md §2–3, docs/conformance/faq.md):
//  * sidecar → sidecar: mTLS (M); legacy/external → PERMISSIVE server: plaintext (P);
//  * legacy → a namespace switched to STRICT: connection reset (the inbound
//    listener has only TLS chains; curl exit 56), blamed on the PeerAuthentication;
//  * plaintext MySQL client → PERMISSIVE MySQL: ERROR 2013 'reading initial
//    communication packet' (server-first behind protocol detection, F);
//  * sidecar client → excluded inbound port: the client still sends mTLS, the
//    plaintext app fails the handshake, Envoy answers 503 (5);
//  * a DENY AuthorizationPolicy on source namespace legacy: 403 RBAC, D, with
//    the policy and rule named.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/shell_run.h"

namespace {

namespace fs = std::filesystem;
using meshsim::testing::run_shell;

const std::string kExe = MESHSIM_EXE;
const std::string kSrc = MESHSIM_SOURCE_DIR;
const std::string kFaq = " --mesh " + kSrc + "/tests/data/security-faq/00-namespaces.yaml --mesh " + kSrc +
                         "/tests/data/security-faq/10-workloads.yaml";

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("meshsim-whatif-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
};

const char kStrictFoo[] =
    "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\n  namespace: foo\n"
    "spec:\n  mtls:\n    mode: STRICT\n";

nlohmann::json cell(const nlohmann::json& table, const std::string& from, const std::string& to) {
  for (const auto& c : table["cells"]) {
    if (c["from"] == from && c["to"] == to) return c;
  }
  ADD_FAILURE() << "no cell " << from << " → " << to;
  return {};
}

const nlohmann::json* change(const nlohmann::json& j, const std::string& from, const std::string& to) {
  for (const auto& c : j["changes"]) {
    if (c["from"] == from && c["to"] == to) return &c;
  }
  return nullptr;
}

TEST(Whatif, TruthTableOfTheFaqMeshHasTheFaqAnswersWithTheEnginesReasons) {
  auto r = run_shell(kExe + " whatif" + kFaq + " -o json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto t = nlohmann::json::parse(r.out);
  auto mtls = cell(t, "foo/sleep", "foo/httpbin:8000");
  EXPECT_EQ(mtls["symbol"], "M");
  EXPECT_NE(mtls["hops"][0]["reason"].get<std::string>().find("spiffe://cluster.local/ns/foo/sa/sleep → spiffe://cluster.local/ns/foo/sa/httpbin"),
            std::string::npos) << mtls;
  auto legacy = cell(t, "legacy/sleep", "foo/httpbin:8000");
  EXPECT_EQ(legacy["symbol"], "P");
  EXPECT_NE(legacy["hops"][0]["reason"].get<std::string>().find("PERMISSIVE"), std::string::npos) << legacy;
  auto mysql = cell(t, "legacy/sleep", "foo/mysqldb:3306");
  EXPECT_EQ(mysql["symbol"], "F");
  EXPECT_NE(mysql["hops"][0]["reason"].get<std::string>().find("ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet'"),
            std::string::npos) << mysql;
  auto excluded = cell(t, "foo/sleep", "bar/httpbin-excluded:8000");
  EXPECT_EQ(excluded["symbol"], "5");
  EXPECT_NE(excluded["hops"][0]["reason"].get<std::string>().find("WRONG_VERSION_NUMBER"), std::string::npos) << excluded;
  // The plaintext client outside the mesh has its own row; mesh clients of MySQL speak MySQL.
  EXPECT_EQ(cell(t, "external", "bar/httpbin:8000")["symbol"], "P");
  EXPECT_EQ(cell(t, "foo/sleep", "foo/mysqldb:3306")["symbol"], "M");
  for (const auto& d : t["destinations"]) {
    if (d["id"] == "foo/mysqldb:3306") {
      EXPECT_EQ(d["protocol"], "mysql") << d;
    }
  }
}

TEST(Whatif, StrictNamespaceBreaksThePlaintextClientsAndBlamesThePeerAuthentication) {
  TempDir tmp;
  std::string change_file = tmp.write("strict.yaml", kStrictFoo);
  auto r = run_shell(kExe + " whatif" + kFaq + " --apply " + change_file + " -o json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 1) << "a broken edge fails the check";
  auto j = nlohmann::json::parse(r.out);
  const auto* c = change(j, "legacy/sleep", "foo/httpbin:8000");
  ASSERT_NE(c, nullptr) << r.out;
  EXPECT_EQ((*c)["before"], "P");
  EXPECT_EQ((*c)["after"], "R");
  EXPECT_TRUE((*c)["broke"].get<bool>());
  std::string why = (*c)["reason_after"];
  EXPECT_NE(why.find("matched no filter chain"), std::string::npos) << why;
  EXPECT_NE(why.find("PeerAuthentication foo/default (namespace level) sets STRICT"), std::string::npos) << why;
  ASSERT_EQ((*c)["caused_by"].size(), 1u);
  EXPECT_EQ((*c)["caused_by"][0]["object"], "PeerAuthentication foo/default");
  EXPECT_TRUE((*c)["caused_by"][0]["named_by_engine"].get<bool>());
  EXPECT_EQ((*c)["caused_by"][0]["location"], change_file + ":1:1");
  // Mesh clients keep working over mTLS: not a change. A plaintext MySQL
  // client fails as before: STRICT's inbound listener still waits for the
  // client's first bytes (TLS inspector) and the server speaks first.
  EXPECT_EQ(change(j, "foo/sleep", "foo/httpbin:8000"), nullptr);
  EXPECT_EQ(change(j, "bar/httpbin", "foo/httpbin:8000"), nullptr);
  EXPECT_EQ(j["summary"]["broken"], 3) << j["summary"];  // legacy/httpbin, legacy/sleep, external → foo/httpbin
  EXPECT_EQ(change(j, "legacy/sleep", "foo/mysqldb:3306"), nullptr);
  EXPECT_EQ(cell(j["head"], "legacy/sleep", "foo/mysqldb:3306")["symbol"], "F");

  auto allowed = run_shell(kExe + " whatif" + kFaq + " --apply " + change_file + " --allow-breaks >/dev/null 2>&1");
  EXPECT_EQ(allowed.exit_code, 0);
  auto text = run_shell(kExe + " whatif" + kFaq + " --apply " + change_file + " --changed 2>/dev/null");
  EXPECT_NE(text.out.find("BROKEN legacy/sleep → foo/httpbin:8000 (http): P → R"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("P>R"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("  foo/sleep "), std::string::npos) << "--changed hides rows without a change\n" << text.out;
}

TEST(Whatif, DenyPolicyIsNamedWithItsRule) {
  TempDir tmp;
  std::string change_file = tmp.write("deny.yaml",
                                      "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: deny-legacy\n"
                                      "  namespace: foo\nspec:\n  action: DENY\n  rules:\n  - from:\n    - source:\n"
                                      "        namespaces: [bar]\n");
  auto r = run_shell(kExe + " whatif" + kFaq + " --apply " + change_file + " --to foo/httpbin -o json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  const auto* c = change(j, "bar/httpbin", "foo/httpbin:8000");
  ASSERT_NE(c, nullptr) << r.out;
  EXPECT_EQ((*c)["before"], "M");
  EXPECT_EQ((*c)["after"], "D");
  EXPECT_NE((*c)["reason_after"].get<std::string>().find("denied by DENY AuthorizationPolicy foo/deny-legacy rule 0"), std::string::npos)
      << (*c)["reason_after"];
  EXPECT_EQ((*c)["caused_by"][0]["object"], "AuthorizationPolicy foo/deny-legacy");
  // Only bar's workloads are denied; plaintext clients carry no namespace and are not matched by a DENY on namespaces.
  EXPECT_EQ(change(j, "foo/sleep", "foo/httpbin:8000"), nullptr);
  EXPECT_EQ(change(j, "legacy/sleep", "foo/httpbin:8000"), nullptr);
  for (const auto& d : j["head"]["destinations"]) EXPECT_EQ(d["id"], "foo/httpbin:8000") << "--to selects one Service";
}

TEST(Whatif, WorkerProcessesDoNotChangeTheAnswer) {
  TempDir tmp;
  std::string change_file = tmp.write("strict.yaml", kStrictFoo);
  auto one = run_shell(kExe + " whatif" + kFaq + " --apply " + change_file + " -o json -j 1 2>/dev/null");
  auto three = run_shell(kExe + " whatif" + kFaq + " --apply " + change_file + " -o json -j 3 2>/dev/null");
  EXPECT_EQ(one.exit_code, 1);
  EXPECT_EQ(one.out, three.out);
}

// Source classes: probing one workload per class of interchangeable clients
// gives exactly the table that probing every cell gives — symbols, reasons
// (with each member's own identity in them), backends, referenced objects —
// on a mesh whose policies tell some clients apart (a principal named, an IP
// block, a workload-selected Sidecar, clients that back a Service), on the
// FAQ mesh, and with worker processes.
TEST(Whatif, SourceClassesGiveTheExhaustiveTable) {
  const std::string classes = " --mesh " + kSrc + "/tests/data/whatif-classes/mesh.yaml";
  for (const std::string& mesh : {classes, kFaq}) {
    auto exhaustive = run_shell(kExe + " whatif" + mesh + " -o json -j 1 --exhaustive 2>/dev/null");
    ASSERT_EQ(exhaustive.exit_code, 0) << exhaustive.out;
    auto e = nlohmann::json::parse(exhaustive.out);
    EXPECT_EQ(e["probes"], e["cells"].size()) << "--exhaustive probes every cell";
    for (const char* jobs : {"1", "3"}) {
      auto grouped = run_shell(kExe + " whatif" + mesh + " -o json -j " + jobs + " 2>/dev/null");
      ASSERT_EQ(grouped.exit_code, 0) << grouped.out;
      auto g = nlohmann::json::parse(grouped.out);
      EXPECT_LT(g["probes"].get<size_t>(), g["cells"].size()) << mesh;
      ASSERT_EQ(g["cells"].size(), e["cells"].size());
      for (size_t i = 0; i < e["cells"].size(); ++i) {
        EXPECT_EQ(g["cells"][i], e["cells"][i]) << "cell " << e["cells"][i]["from"] << " → " << e["cells"][i]["to"] << " with -j " << jobs;
      }
    }
  }
  // Who is told apart: c2 (named by web's policy), c4 (its own Sidecar) and
  // c5 (ipweb's DENY names its IP) are alone; c1 and c3 share a class
  // (their calls to a-svc, which they back, are probed); so do b's three
  // workloads and legacy's two.
  auto g = nlohmann::json::parse(run_shell(kExe + " whatif" + classes + " -o json -j 1 2>/dev/null").out);
  EXPECT_EQ(g["source_classes"], 7);
  EXPECT_EQ(cell(g, "a/c5", "b/ipweb:8000")["symbol"], "D");
  EXPECT_EQ(cell(g, "a/c1", "b/ipweb:8000")["symbol"], "M");
  EXPECT_EQ(cell(g, "a/c2", "b/web:8000")["symbol"], "M");
  EXPECT_EQ(cell(g, "a/c3", "b/web:8000")["symbol"], "D");
  EXPECT_NE(cell(g, "a/c3", "b/web:8000")["hops"][0]["reason"].get<std::string>().find("peer is spiffe://cluster.local/ns/a/sa/c3,"),
            std::string::npos)
      << "the member's own identity in the reason";
  EXPECT_EQ(cell(g, "a/c4", "b/web:8000")["symbol"], "D") << "c4's Sidecar does not import b: plaintext passthrough";
  auto text = run_shell(kExe + " whatif" + classes + " -j 1 2>/dev/null");
  EXPECT_NE(text.out.find(" cells probed; the others are their classes' probes, renamed (7 classes of sources and "), std::string::npos) << text.out;
}

// Destination classes: Service ports nothing tells apart are probed once per
// (source class, destination class, relation) and the other cells renamed —
// the source's and the destination's SPIFFE ids, pods, workloads, IPs, hosts
// and ClusterIPs — and the table is still exactly the exhaustive one: HTTP,
// MySQL and tcp-echo classes, a class behind a label-selected ALLOW policy, a
// STRICT namespace, each workload calling its own Service, sources that share
// a destination's ServiceAccount, with one and three worker processes.
TEST(Whatif, DestinationClassesGiveTheExhaustiveTable) {
  const std::string mesh = " --mesh " + kSrc + "/tests/data/whatif-classes/destinations.yaml";
  auto exhaustive = run_shell(kExe + " whatif" + mesh + " -o json -j 1 --exhaustive 2>/dev/null");
  ASSERT_EQ(exhaustive.exit_code, 0) << exhaustive.out;
  auto e = nlohmann::json::parse(exhaustive.out);
  EXPECT_EQ(e["probes"], e["cells"].size());
  EXPECT_EQ(e["destination_classes"], e["destinations"].size()) << "--exhaustive: every destination alone";
  for (const char* jobs : {"1", "3"}) {
    auto grouped = run_shell(kExe + " whatif" + mesh + " -o json -j " + jobs + " 2>/dev/null");
    ASSERT_EQ(grouped.exit_code, 0) << grouped.out;
    auto g = nlohmann::json::parse(grouped.out);
    ASSERT_EQ(g["cells"].size(), e["cells"].size());
    EXPECT_EQ(g["destinations"], e["destinations"]);
    for (size_t i = 0; i < e["cells"].size(); ++i) {
      EXPECT_EQ(g["cells"][i], e["cells"][i]) << "cell " << e["cells"][i]["from"] << " → " << e["cells"][i]["to"] << " with -j " << jobs;
    }
  }
  auto g = nlohmann::json::parse(run_shell(kExe + " whatif" + mesh + " -o json -j 1 2>/dev/null").out);
  // s1-s3, m1-m2, t1-t2, q1-q2, w1-w2 and l1-l2 are six classes; p1 (named by
  // deny-p1), u1 (two pods), v1 and v2 (their account "shared" is named by
  // both) and x1 (named by a DestinationRule) are alone.
  EXPECT_EQ(g["destination_classes"], 11);
  EXPECT_EQ(g["destinations"].size(), 18u);
  EXPECT_LT(g["probes"].get<size_t>() * 3, g["cells"].size()) << g["probes"];
  EXPECT_EQ(cell(g, "e/w1", "d/q2:8000")["symbol"], "M") << "the ALLOW policy admits namespace e";
  EXPECT_EQ(cell(g, "d/s2", "d/q2:8000")["symbol"], "D");
  EXPECT_NE(cell(g, "d/s3", "d/s2:8000")["hops"][0]["reason"].get<std::string>().find("spiffe://cluster.local/ns/d/sa/s3 → spiffe://cluster.local/ns/d/sa/s2"),
            std::string::npos)
      << "the member's and the destination's own identities in the reason: " << cell(g, "d/s3", "d/s2:8000");
  EXPECT_EQ(cell(g, "d/s3", "d/s2:8000")["hops"][0]["backend"], "d/s2");
}

// The benchmark's shape (bench/whatif_bench.cc), small: 30 workloads with a
// Service each over 10 namespaces and the nodes meshsim spreads them on, so
// sources and destinations share nodes or not. 31 × 30 cells from a few
// hundred probes, equal to the exhaustive table, with only the probed pods'
// sidecars built.
TEST(Whatif, DestinationClassesAtTheBenchmarksShapeGiveTheExhaustiveTable) {
  TempDir tmp;
  std::string y;
  for (int n = 0; n < 10; ++n)
    y += "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns" + std::to_string(n) + ", labels: {istio-injection: enabled}}\n---\n";
  for (int i = 0; i < 30; ++i) {
    std::string ns = "ns" + std::to_string(i % 10), name = "svc" + std::to_string(i);
    y += "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: " + name + ", namespace: " + ns + "}\n---\n";
    y += "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n  selector: {app: " + name +
         "}\n  ports: [{name: http, port: 8000, targetPort: 8080}]\n---\n";
    y += "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: " + name + "}}\n  template:\n    metadata: {labels: {app: " + name +
         "}}\n    spec:\n      serviceAccountName: " + name + "\n      containers: [{name: app, image: echo, ports: [{containerPort: 8080}]}]\n---\n";
  }
  const std::string mesh = " --mesh " + tmp.write("mesh.yaml", y);
  auto e = nlohmann::json::parse(run_shell(kExe + " whatif" + mesh + " -o json -j 1 --exhaustive 2>/dev/null").out);
  auto g = nlohmann::json::parse(run_shell(kExe + " whatif" + mesh + " -o json -j 2 2>/dev/null").out);
  ASSERT_EQ(e["cells"].size(), 31u * 30u);
  ASSERT_EQ(g["cells"].size(), e["cells"].size());
  EXPECT_EQ(g["source_classes"], 11);
  EXPECT_EQ(g["destination_classes"], 10);
  EXPECT_LT(g["probes"].get<size_t>() * 3, g["cells"].size());
  for (size_t i = 0; i < e["cells"].size(); ++i) {
    EXPECT_EQ(g["cells"][i], e["cells"][i]) << "cell " << e["cells"][i]["from"] << " → " << e["cells"][i]["to"];
  }
}

TEST(Whatif, SarifIsValidAndPointsAtTheChangedManifestLines) {
  TempDir tmp;
  std::string change_file = tmp.write("strict.yaml", std::string("# switch foo to STRICT\n") + kStrictFoo);
  std::string sarif = (tmp.path / "whatif.sarif").string();
  std::string md = (tmp.path / "comment.md").string();
  auto r = run_shell(kExe + " whatif" + kFaq + " --apply " + change_file + " --sarif " + sarif + " --markdown " + md + " >/dev/null 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  auto v = run_shell("python3 -c \"import json,jsonschema,sys; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); print('valid')\" " +
                     sarif + " " + kSrc + "/tests/data/sarif/sarif-2.1.0-subset.schema.json 2>&1");
  EXPECT_EQ(v.exit_code, 0) << v.out;
  std::ifstream f(sarif);
  auto j = nlohmann::json::parse(f);
  size_t errors = 0;
  for (const auto& res : j["runs"][0]["results"]) {
    if (res["level"] != "error") continue;
    ++errors;
    EXPECT_EQ(res["ruleId"], "MSW001");
    const auto& loc = res["locations"][0]["physicalLocation"];
    EXPECT_EQ(loc["artifactLocation"]["uri"], change_file);
    EXPECT_EQ(loc["region"]["startLine"], 2) << "the object starts after the comment line";
  }
  EXPECT_EQ(errors, 3u);
  std::ifstream m(md);
  std::string mds((std::istreambuf_iterator<char>(m)), std::istreambuf_iterator<char>());
  EXPECT_NE(mds.find("**3 edge(s) broken**"), std::string::npos) << mds;
  EXPECT_NE(mds.find("| ❌ | `legacy/sleep` | `foo/httpbin:8000` | P | R |"), std::string::npos) << mds;
  // A schema-invalid file is caught by the same check (the oracle can fail).
  std::string bad = tmp.write("bad.sarif", "{\"version\": \"2.1.0\", \"runs\": [{\"tool\": {\"driver\": {}}}]}");
  auto vb = run_shell("python3 -c \"import json,jsonschema,sys; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))\" " +
                      bad + " " + kSrc + "/tests/data/sarif/sarif-2.1.0-subset.schema.json >/dev/null 2>&1");
  EXPECT_NE(vb.exit_code, 0);
}

TEST(Whatif, GitRevisionsOfATemporaryRepository) {
  TempDir tmp;
  fs::path repo = tmp.path / "repo";
  fs::create_directories(repo / "k8s");
  fs::copy(kSrc + "/tests/data/security-faq/00-namespaces.yaml", repo / "k8s/00-namespaces.yaml");
  fs::copy(kSrc + "/tests/data/security-faq/10-workloads.yaml", repo / "k8s/10-workloads.yaml");
  std::string git = "cd " + repo.string() + " && git -c user.email=t@example.com -c user.name=t ";
  ASSERT_EQ(run_shell(git + "init -q && " + git + "add . && " + git + "commit -qm base").exit_code, 0);
  std::ofstream(repo / "k8s/20-strict.yaml") << kStrictFoo;
  ASSERT_EQ(run_shell(git + "add . && " + git + "commit -qm strict").exit_code, 0);
  auto r = run_shell("cd " + repo.string() + " && " + kExe + " whatif --git HEAD~1..HEAD -o sarif -- k8s/ 2>/dev/null");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j["runs"][0]["results"].empty());
  EXPECT_EQ(j["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "k8s/20-strict.yaml");
  // No change between a revision and itself; the working tree as the head.
  EXPECT_EQ(run_shell("cd " + repo.string() + " && " + kExe + " whatif --git HEAD..HEAD -- k8s/ >/dev/null 2>&1").exit_code, 0);
  EXPECT_EQ(run_shell("cd " + repo.string() + " && " + kExe + " whatif --git HEAD~1.. -- k8s/ >/dev/null 2>&1").exit_code, 1);
  auto bad = run_shell("cd " + repo.string() + " && " + kExe + " whatif --git nosuchrev..HEAD -- k8s/ 2>&1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("\"nosuchrev\" is not a revision"), std::string::npos) << bad.out;
}

TEST(Whatif, PlanStrictForTheMigrationIsVerifiedAndSafe) {
  auto r = run_shell(kExe + " whatif" + kFaq + " --plan-strict foo 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const std::string& o = r.out;
  EXPECT_NE(o.find("switching right away: 3 edge(s) break"), std::string::npos) << o;
  // Order: plaintext DestinationRule for the excluded port before injecting
  // legacy (else its newly injected clients send mTLS there), the exception
  // for the client outside the mesh, then the switch.
  size_t dr = o.find("1. Send plaintext to ports whose server bypasses its sidecar");
  size_t inject = o.find("2. Inject sidecars into namespace legacy");
  size_t exception = o.find("3. Keep plaintext ports open for clients that cannot have a sidecar");
  size_t strict = o.find("4. Switch namespace(s) foo to STRICT");
  EXPECT_TRUE(dr != std::string::npos && inject > dr && exception > inject && strict > exception) << o;
  EXPECT_NE(o.find("host: httpbin-excluded.bar.svc.cluster.local"), std::string::npos) << o;
  EXPECT_NE(o.find("8080:\n           mode: PERMISSIVE"), std::string::npos) << o;
  EXPECT_NE(o.find("plan is safe: every step verified"), std::string::npos) << o;
  auto bad = run_shell(kExe + " whatif" + kFaq + " --plan-strict nosuchns 2>&1");
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(Whatif, RecordedRunsDrawTheReportsHeatmap) {
  TempDir tmp;
  std::string change_file = tmp.write("strict.yaml", kStrictFoo);
  std::string db = (tmp.path / "results.db").string(), html = (tmp.path / "report.html").string();
  auto r = run_shell(kExe + " whatif" + kFaq + " --apply " + change_file + " --db " + db + " >/dev/null 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  auto q = run_shell("sqlite3 " + db + " \"SELECT count(*), sum(before <> ''), (SELECT broken FROM whatif_runs) FROM whatif_cells; PRAGMA integrity_check\"");
  EXPECT_EQ(q.out, "40|3|3\nok\n");
  ASSERT_EQ(run_shell(kExe + " report --db " + db + " -o " + html + " 2>/dev/null").exit_code, 0);
  std::ifstream f(html);
  std::string page((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("id=\"whatif-heatmap\""), std::string::npos);
  size_t changed = 0;
  for (size_t at = page.find("class=\"deny changed\""); at != std::string::npos; at = page.find("class=\"deny changed\"", at + 1)) ++changed;
  EXPECT_EQ(changed, 3u);
  EXPECT_NE(page.find("legacy/sleep → foo/httpbin:8000: R connection reset (was P) — reset: server sidecar"), std::string::npos);
}

TEST(Whatif, PlanStrictKeepsPlaintextHealthProbesWorking) {
  // rewriteAppHTTPProbers off: the kubelet's readiness probe is plaintext to
  // 8080 and fails under STRICT (the FAQ); the rewritten one does not.
  auto r = run_shell(kExe + " whatif --mesh " + kSrc + "/tests/data/whatif/health-probes.yaml --plan-strict foo 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const std::string& o = r.out;
  EXPECT_NE(o.find("health probe kubelet/foo/direct-"), std::string::npos) << o;
  EXPECT_NE(o.find("/app/readiness"), std::string::npos) << o;
  EXPECT_EQ(o.find("health probe kubelet/foo/rewritten-"), std::string::npos) << "the rewritten probe goes to the status port\n" << o;
  EXPECT_NE(o.find("the kubelet's readiness probe (plaintext: rewriteAppHTTPProbers is off)"), std::string::npos) << o;
  EXPECT_NE(o.find("matchLabels: {app: \"direct\"}"), std::string::npos) << o;
  EXPECT_EQ(o.find("health probe broken"), std::string::npos) << "no step breaks a probe\n" << o;
  EXPECT_NE(o.find("plan is safe: every step verified"), std::string::npos) << o;
}

TEST(Whatif, BadInputIsExitTwo) {
  EXPECT_EQ(run_shell(kExe + " whatif 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run_shell(kExe + " whatif" + kFaq + " --from foo/ 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run_shell(kExe + " whatif" + kFaq + " --requests GET 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run_shell(kExe + " whatif" + kFaq + " -o sarif 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run_shell(kExe + " whatif --base " + kSrc + "/tests/data/security-faq 2>/dev/null").exit_code, 2);
}

}  // namespace
