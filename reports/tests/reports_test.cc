#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reports/conformance_report.h"
#include "reports/junit.h"
#include "reports/result_store.h"

namespace meshsim::reports {
namespace {

RunRecord sample() {
  RunRecord run;
  run.meshsim_version = "0.1.0";
  run.git_revision = "abc123";
  run.command = "meshsim conformance conformance/suites";
  run.started_at = "2026-11-25T20:00:00Z";
  CaseResult ok;
  ok.suite = "faq";
  ok.classname = "faq.strict-blocks-legacy";
  ok.name = "strict-blocks-legacy";
  ok.file = "faq/strict-blocks-legacy.yaml";
  ok.profile = "MESH-MTLS";
  ok.seed = 7;
  ok.fingerprint = "0x1234";
  ok.virtual_seconds = 60;
  ok.wall_seconds = 0.5;
  ok.expectations.push_back({"mesh client ok", "outcome", true, "ok ratio >= 0.99", "ok ratio 1.00 (60/60)", ""});
  CaseResult bad = ok;
  bad.classname = "faq.mysql-permissive";
  bad.name = "mysql-permissive";
  bad.profile = "MESH-PROTOCOL";
  bad.status = CaseStatus::kFailed;
  bad.expectations = {{"legacy mysql fails <&>", "client_error", false, "contains \"ERROR 2013\"", "no error", ""}};
  CaseResult skip = ok;
  skip.classname = "faq.ambient";
  skip.name = "ambient";
  skip.status = CaseStatus::kSkipped;
  skip.message = "ambient mode not simulated";
  run.cases = {ok, bad, skip};
  return run;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("meshsim-reports-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

TEST(Junit, IsWellFormedForXmllintAndCarriesExpectedVsActual) {
  std::string path = temp_path("junit.xml");
  ASSERT_TRUE(write_junit(sample(), path).ok());
  std::string cmd = "xmllint --noout " + path + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "xmllint rejected " << path;
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string x = ss.str();
  EXPECT_NE(x.find("<testsuites name=\"meshsim conformance\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("classname=\"faq.mysql-permissive\" name=\"mysql-permissive\""), std::string::npos);
  EXPECT_NE(x.find("expected contains &quot;ERROR 2013&quot;, actual no error"), std::string::npos) << x;
  EXPECT_NE(x.find("legacy mysql fails &lt;&amp;&gt;"), std::string::npos);
  EXPECT_NE(x.find("<skipped message=\"ambient mode not simulated\"/>"), std::string::npos);
  std::remove(path.c_str());
}

TEST(ConformanceReport, GroupsByProfileWithStatistics) {
  std::string y = render_conformance_report(sample());
  EXPECT_NE(y.find("kind: ConformanceReport"), std::string::npos);
  EXPECT_NE(y.find("- name: MESH-MTLS\n  core:\n    result: partial\n"), std::string::npos) << y;
  EXPECT_NE(y.find("- name: MESH-PROTOCOL\n  core:\n    result: failure\n"), std::string::npos) << y;
  EXPECT_NE(y.find("    - \"faq.ambient (ambient mode not simulated)\""), std::string::npos) << y;
}

TEST(ResultStore, RecordsRunsCasesAndExpectationsWithASchemaVersion) {
  std::string path = temp_path("results.db");
  std::remove(path.c_str());
  {
    auto store = ResultStore::open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    EXPECT_EQ((*store)->schema_version(), kResultsSchemaVersion);
    auto id1 = (*store)->record(sample());
    ASSERT_TRUE(id1.ok()) << id1.message();
    RunRecord second = sample();
    second.cases[0].fingerprint = "0x5678";
    auto id2 = (*store)->record(second);
    ASSERT_TRUE(id2.ok());
    EXPECT_EQ((*store)->previous_fingerprint("faq", "strict-blocks-legacy"), "0x5678");
    EXPECT_EQ((*store)->previous_fingerprint("faq", "strict-blocks-legacy", *id2), "0x1234");
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    sqlite3_step(s);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
  };
  EXPECT_EQ(count("SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM cases WHERE status = 'failed'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM expectations WHERE passed = 0"), 2);
  EXPECT_EQ(count("PRAGMA user_version"), kResultsSchemaVersion);
  sqlite3_close(db);
  std::remove(path.c_str());
}

EdgeRecord sample_edge() {
  EdgeRecord e{"default/curl", "httpbin.default:8000", "http", 10, 8, 10, 10, 1.5, 4.0, "reset×2", {1, 2, 5}, {0, 6, 2, 0}, {1, 0, 0, 1}};
  return e;
}

TEST(ResultStore, KeepsEachEdgesLatencyHistograms) {
  std::string path = temp_path("histograms.db");
  std::remove(path.c_str());
  auto store = ResultStore::open(path);
  ASSERT_TRUE(store.ok()) << store.message();
  RunRecord run = sample();
  EdgeRecord without = sample_edge();
  without.latency_le_ms.clear();
  without.latency_ok.clear();
  without.latency_failed.clear();
  run.cases[0].edges = {sample_edge(), without};
  auto id = (*store)->record(run);
  ASSERT_TRUE(id.ok()) << id.message();
  auto back = (*store)->load_run(*id);
  ASSERT_TRUE(back.ok()) << back.message();
  ASSERT_EQ(back->cases[0].edges.size(), 2u);
  const EdgeRecord& e = back->cases[0].edges[0];
  EXPECT_EQ(e.latency_le_ms, (std::vector<double>{1, 2, 5}));
  EXPECT_EQ(e.latency_ok, (std::vector<uint64_t>{0, 6, 2, 0}));
  EXPECT_EQ(e.latency_failed, (std::vector<uint64_t>{1, 0, 0, 1}));
  EXPECT_TRUE(back->cases[0].edges[1].latency_le_ms.empty());
  std::remove(path.c_str());
}

// A version-4 database (edges without histograms) is migrated forward in
// place: its edges load without histograms, new recordings keep theirs.
TEST(ResultStore, MigratesAVersion4DatabaseForward) {
  std::string path = temp_path("v4.db");
  std::remove(path.c_str());
  {
    auto store = ResultStore::open(path);
    ASSERT_TRUE(store.ok());
    RunRecord run = sample();
    run.cases[0].edges = {sample_edge()};
    ASSERT_TRUE((*store)->record(run).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE case_edges DROP COLUMN latency_histogram; PRAGMA user_version = 4", nullptr,
                         nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  {
    auto old = ResultStore::open(path, ResultsDb::Mode::kReadOnly);
    ASSERT_TRUE(old.ok()) << old.message();
    EXPECT_EQ((*old)->schema_version(), 4);
    auto run = (*old)->load_run(1);
    ASSERT_TRUE(run.ok()) << run.message();
    ASSERT_EQ(run->cases[0].edges.size(), 1u);
    EXPECT_EQ(run->cases[0].edges[0].requests, 10u);
    EXPECT_TRUE(run->cases[0].edges[0].latency_ok.empty());
  }
  auto store = ResultStore::open(path);
  ASSERT_TRUE(store.ok()) << store.message();
  EXPECT_EQ((*store)->schema_version(), 5);
  RunRecord next = sample();
  next.cases[0].edges = {sample_edge()};
  auto id = (*store)->record(next);
  ASSERT_TRUE(id.ok()) << id.message();
  auto back = (*store)->load_run(*id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->cases[0].edges[0].latency_ok, (std::vector<uint64_t>{0, 6, 2, 0}));
  auto first = (*store)->load_run(1);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->cases[0].edges[0].latency_ok.empty());
  std::remove(path.c_str());
}

TEST(ResultStore, RefusesANewerSchemaAndForeignDatabases) {
  std::string path = temp_path("newer.db");
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto s = ResultStore::open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("newer than this meshsim understands"), std::string::npos);
  std::remove(path.c_str());

  std::string other = temp_path("other.db");
  std::remove(other.c_str());
  sqlite3_open(other.c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto o = ResultStore::open(other);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.message().find("not a meshsim results database"), std::string::npos);
  std::remove(other.c_str());
}

}  // namespace
}  // namespace meshsim::reports
