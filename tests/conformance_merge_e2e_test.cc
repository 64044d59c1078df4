// End-to-end tests of sharded conformance: 4 shards of the bundled suites run
// as separate `meshsim conformance --shard I/4` processes, merged with
// `meshsim conformance merge`, equal an unsharded run case for case (outcome
// and fingerprint); a missing shard and a disagreeing shard are conflicts. The
// deployment files (Kubernetes Indexed Job, CI matrix) parse and say what the
// docs say.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "tests/shell_run.h"

namespace {
namespace fs = std::filesystem;
using meshsim::testing::run_shell;
using meshsim::testing::ShellRun;

ShellRun meshsim(const std::string& args) { return run_shell(std::string(MESHSIM_EXE) + " " + args + " 2>&1"); }

using CaseRow = std::tuple<std::string, std::string, std::string, std::string>;  // suite, name, status, fingerprint

// The cases of the latest run of a results database.
std::set<CaseRow> latest_cases(const std::string& db) {
  std::set<CaseRow> rows;
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return rows;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(h,
                     "SELECT suite, name, status, fingerprint FROM cases WHERE run_id = (SELECT max(id) FROM runs)",
                     -1, &s, nullptr);
  auto text = [&](int c) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, c))); };
  while (sqlite3_step(s) == SQLITE_ROW) rows.emplace(text(0), text(1), text(2), text(3));
  sqlite3_finalize(s);
  sqlite3_close(h);
  return rows;
}

class ConformanceMerge : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("meshsim-merge-e2e-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::string suites = std::string(MESHSIM_SOURCE_DIR) + "/conformance/suites";
    // The unsharded reference, then the 4 shards side by side as separate processes.
    full_ = meshsim("conformance " + suites + " --db " + db("full.db"));
    std::string cmd;
    for (int i = 1; i <= 4; ++i) {
      cmd += std::string(MESHSIM_EXE) + " conformance " + suites + " -j 1 --shard " + std::to_string(i) +
             "/4 --db " + db("shard-" + std::to_string(i) + ".db") + " >" + db("shard-" + std::to_string(i) + ".log") +
             " 2>&1 & ";
    }
    shards_ = run_shell(cmd + "wait");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string db(const std::string& name) { return (dir_ / name).string(); }
  static fs::path dir_;
  static ShellRun full_, shards_;
};
fs::path ConformanceMerge::dir_;
ShellRun ConformanceMerge::full_, ConformanceMerge::shards_;

TEST_F(ConformanceMerge, FourShardsMergeToTheUnshardedRun) {
  ASSERT_EQ(full_.exit_code, 0) << full_.out;
  std::set<CaseRow> full = latest_cases(db("full.db"));
  ASSERT_GE(full.size(), 8u);
  size_t sharded = 0;
  for (int i = 1; i <= 4; ++i) {
    std::set<CaseRow> s = latest_cases(db("shard-" + std::to_string(i) + ".db"));
    EXPECT_FALSE(s.empty()) << "shard " << i << " ran nothing";
    sharded += s.size();
  }
  EXPECT_EQ(sharded, full.size()) << "the shards do not partition the suite";
  ShellRun m = meshsim("conformance merge " + db("shard-1.db") + " " + db("shard-2.db") + " " + db("shard-3.db") + " " +
                       db("shard-4.db") + " --db " + db("all.db") + " --junit " + db("all.xml") + " --report " +
                       db("all.yaml"));
  ASSERT_EQ(m.exit_code, 0) << m.out;
  EXPECT_NE(m.out.find("merged 4 shard databases: " + std::to_string(full.size()) + " cases"), std::string::npos) << m.out;
  EXPECT_EQ(latest_cases(db("all.db")), full);
  EXPECT_EQ(run_shell("xmllint --noout " + db("all.xml")).exit_code, 0);
  std::ifstream junit(db("all.xml"));
  std::stringstream ss;
  ss << junit.rdbuf();
  EXPECT_NE(ss.str().find("tests=\"" + std::to_string(full.size()) + "\" failures=\"0\""), std::string::npos);
  YAML::Node report = YAML::LoadFile(db("all.yaml"));
  EXPECT_EQ(report["kind"].as<std::string>(), "ConformanceReport");
  EXPECT_FALSE(report["shard"]) << "the merged report is not one shard's";
  // The shard databases were read, not migrated or written.
  EXPECT_EQ(latest_cases(db("shard-1.db")).size() + latest_cases(db("shard-2.db")).size() +
                latest_cases(db("shard-3.db")).size() + latest_cases(db("shard-4.db")).size(),
            full.size());
}

TEST_F(ConformanceMerge, AMissingShardIsAConflict) {
  ShellRun m = meshsim("conformance merge " + db("shard-1.db") + " " + db("shard-2.db") + " " + db("shard-4.db") +
                       " --junit " + db("partial.xml"));
  EXPECT_EQ(m.exit_code, 1) << m.out;
  EXPECT_NE(m.out.find("shard 3/4 is missing: no input ran it"), std::string::npos) << m.out;
}

TEST_F(ConformanceMerge, DisagreeingShardsAreConflictsAndAgreeingDuplicatesCountOnce) {
  // A copy of shard 1 where one case ended differently (as on a machine with another build).
  fs::copy_file(db("shard-1.db"), db("shard-1-other.db"), fs::copy_options::overwrite_existing);
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db("shard-1-other.db").c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "UPDATE cases SET fingerprint = '0xdifferent' WHERE id = (SELECT min(id) FROM cases)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(h);
  std::string rest = " " + db("shard-2.db") + " " + db("shard-3.db") + " " + db("shard-4.db");
  ShellRun conflict = meshsim("conformance merge " + db("shard-1.db") + " " + db("shard-1-other.db") + rest);
  EXPECT_EQ(conflict.exit_code, 1) << conflict.out;
  EXPECT_NE(conflict.out.find("fingerprints differ"), std::string::npos) << conflict.out;
  ShellRun dup = meshsim("conformance merge " + db("shard-1.db") + " " + db("shard-1.db") + rest);
  EXPECT_EQ(dup.exit_code, 0) << dup.out;
  EXPECT_NE(dup.out.find("ran twice with the same result; counted once"), std::string::npos) << dup.out;
  EXPECT_NE(dup.out.find("merged 5 shard databases: " + std::to_string(latest_cases(db("full.db")).size()) + " cases"),
            std::string::npos) << dup.out;
}

TEST(ConformanceMergeInput, BadInputIsExit2) {
  fs::path dir = fs::temp_directory_path() / ("meshsim-merge-input-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ShellRun none = meshsim("conformance merge " + (dir / "no-such.db").string());
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.out.find("no such results database"), std::string::npos) << none.out;
  std::ofstream((dir / "text.db").string()) << "not a database";
  EXPECT_EQ(meshsim("conformance merge " + (dir / "text.db").string()).exit_code, 2);
  EXPECT_EQ(meshsim("conformance merge").exit_code, 2);
  fs::remove_all(dir);
}

// --shard I/N is 1-based; the Indexed Job's JOB_COMPLETION_INDEX is 0-based,
// so the Job passes $((JOB_COMPLETION_INDEX + 1)).
TEST(Deploy, KubernetesIndexedJobShardsTheSuite) {
  YAML::Node job;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(std::string(MESHSIM_SOURCE_DIR) + "/deploy/k8s/conformance-job.yaml")) {
    if (doc["kind"].as<std::string>() == "Job") job = doc;
  }
  ASSERT_TRUE(job) << "no Job in conformance-job.yaml";
  EXPECT_EQ(job["apiVersion"].as<std::string>(), "batch/v1");
  EXPECT_EQ(job["kind"].as<std::string>(), "Job");
  EXPECT_EQ(job["spec"]["completionMode"].as<std::string>(), "Indexed");
  int n = job["spec"]["completions"].as<int>();
  EXPECT_GE(n, 2);
  YAML::Node container = job["spec"]["template"]["spec"]["containers"][0];
  std::string script;
  for (const auto& a : container["args"]) script += a.as<std::string>() + "\n";
  for (const auto& a : container["command"]) script += a.as<std::string>() + "\n";
  EXPECT_NE(script.find("--shard \"$((JOB_COMPLETION_INDEX + 1))/" + std::to_string(n) + "\""), std::string::npos)
      << script;
  EXPECT_NE(script.find("shard-${JOB_COMPLETION_INDEX}.db"), std::string::npos) << script;
  YAML::Node merge = YAML::LoadFile(std::string(MESHSIM_SOURCE_DIR) + "/deploy/k8s/conformance-merge-job.yaml");
  EXPECT_NE(merge["spec"]["template"]["spec"]["containers"][0]["args"][0].as<std::string>().find(
                "meshsim conformance merge /results/shard-*.db"),
            std::string::npos);
  bool results_volume = false;
  for (const auto& m : container["volumeMounts"]) results_volume |= m["mountPath"].as<std::string>() == "/results";
  EXPECT_TRUE(results_volume);
}

TEST(Deploy, CiMatrixExampleRunsEveryShardAndMerges) {
  YAML::Node wf = YAML::LoadFile(std::string(MESHSIM_SOURCE_DIR) + "/deploy/ci/github-actions-conformance.yml");
  YAML::Node shards = wf["jobs"]["conformance"]["strategy"]["matrix"]["shard"];
  ASSERT_TRUE(shards.IsSequence());
  EXPECT_EQ(shards.size(), 4u);
  EXPECT_EQ(shards[0].as<int>(), 1);  // 1-based, as --shard
  std::string steps;
  for (const auto& job : {wf["jobs"]["conformance"], wf["jobs"]["merge"]}) {
    for (const auto& s : job["steps"]) {
      if (s["run"]) steps += s["run"].as<std::string>() + "\n";
    }
  }
  EXPECT_NE(steps.find("--shard ${{ matrix.shard }}/4"), std::string::npos) << steps;
  EXPECT_NE(steps.find("meshsim conformance merge"), std::string::npos) << steps;
}

TEST(Deploy, DockerfileBuildsOnDebian12WithCiSetup) {
  std::ifstream f(std::string(MESHSIM_SOURCE_DIR) + "/Dockerfile");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string d = ss.str();
  EXPECT_NE(d.find("FROM debian:12"), std::string::npos);
  EXPECT_NE(d.find("ci/setup"), std::string::npos);
  EXPECT_NE(d.find("conformance/suites"), std::string::npos);
}

}  // namespace
