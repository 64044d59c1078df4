// End-to-end tests of `meshsim bench`: record Google Benchmark results at two
// revisions (synthetic JSON with fixed-seed noise, and fake benchmark binaries),
// compare them, gate on them, survive SIGKILL mid-recording, and refuse bad
// input with exit code 2 and nothing written.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "tests/shell_run.h"

namespace {
namespace fs = std::filesystem;
using meshsim::testing::run_shell;
using meshsim::testing::ShellRun;

ShellRun meshsim(const std::string& args) { return run_shell(std::string(MESHSIM_EXE) + " " + args + " 2>&1"); }
ShellRun meshsim_stdout(const std::string& args) {
  return run_shell(std::string(MESHSIM_EXE) + " " + args + " 2>/dev/null");
}

class BenchE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("meshsim-bench-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// Google Benchmark JSON with `reps` noisy repetitions per benchmark: 2 % normal
// noise and, now and then, a 30 % outlier (a shared machine's hiccup).
std::string synthetic_json(uint64_t seed, const std::map<std::string, double>& base_ns, int reps) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.02);
  std::uniform_real_distribution<double> u(0, 1);
  nlohmann::json doc;
  doc["context"] = {{"date", "2026-12-01T10:00:00+00:00"}, {"host_name", "ci"}, {"executable", "./x_bench"},
                    {"num_cpus", 2}, {"library_build_type", "release"}};
  doc["benchmarks"] = nlohmann::json::array();
  for (const auto& [name, base] : base_ns) {
    for (int r = 0; r < reps; ++r) {
      double t = base * (1 + noise(rng)) * (u(rng) < 0.08 ? 1.3 : 1.0);
      doc["benchmarks"].push_back({{"name", name}, {"run_name", name}, {"run_type", "iteration"}, {"repetitions", reps},
                                   {"repetition_index", r}, {"threads", 1}, {"iterations", 1000},
                                   {"real_time", t / 1000}, {"cpu_time", t / 1000}, {"time_unit", "us"},
                                   {"events_per_s", 1e9 / t}});
    }
  }
  return doc.dump(1);
}

void write(const std::string& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

int query_int(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return -1;
  sqlite3_stmt* s = nullptr;
  int v = -1;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    v = sqlite3_column_int(s, 0);
  }
  sqlite3_finalize(s);
  sqlite3_close(h);
  return v;
}

std::string query_text(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  std::string v;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(s, 0);
    v = t ? reinterpret_cast<const char*>(t) : "";
  }
  sqlite3_finalize(s);
  sqlite3_close(h);
  return v;
}

const std::map<std::string, double> kBase = {
    {"BM_Parse", 12000}, {"BM_Route/1000", 850}, {"BM_Handshake", 410000}, {"BM_Kernel/100000", 2200000}};

TEST_F(BenchE2e, CompareNamesTheDeliberateRegressionAndNotTheUnchangedOnesOverSeeds) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    std::string db = path("bench-" + std::to_string(seed) + ".db");
    auto slower = kBase;
    slower["BM_Route/1000"] *= 1.20;  // the regression introduced on purpose
    // Two recordings per revision: a revision reference pools them.
    for (int i = 0; i < 2; ++i) {
      std::string a = path("a" + std::to_string(i) + ".json"), b = path("b" + std::to_string(i) + ".json");
      write(a, synthetic_json(seed * 100 + static_cast<uint64_t>(i), kBase, 8));
      write(b, synthetic_json(seed * 100 + 50 + static_cast<uint64_t>(i), slower, 8));
      ASSERT_EQ(meshsim("bench record --db " + db + " --json " + a + " --revision 1a2b3c4d5e6f").exit_code, 0);
      ASSERT_EQ(meshsim("bench record --db " + db + " --json " + b + " --revision 9f8e7d6c5b4a --context run=" +
                        std::to_string(i)).exit_code, 0);
    }
    ShellRun c = meshsim_stdout("bench compare 1a2b3c 9f8e7d --db " + db + " -o json");
    ASSERT_EQ(c.exit_code, 0) << c.out;
    auto j = nlohmann::json::parse(c.out);
    ASSERT_EQ(j["benchmarks"].size(), 4u);
    for (const auto& b : j["benchmarks"]) {
      std::string name = b["name"];
      EXPECT_EQ(b["n_a"], 16) << name;  // pooled: 2 recordings × 8 repetitions
      if (name == "BM_Route/1000") {
        EXPECT_EQ(b["verdict"], "regressed") << "seed " << seed << ": " << b.dump();
        EXPECT_NEAR(b["ratio"].get<double>(), 1.2, 0.05);
        EXPECT_LT(b["ci95"][0].get<double>(), b["ratio"].get<double>());
      } else {
        EXPECT_EQ(b["verdict"], "unchanged") << "seed " << seed << ": " << b.dump();
      }
    }
    ShellRun gate = meshsim("bench gate --db " + db + " --baseline 1a2b3c --candidate 9f8e7d --threshold 5%");
    EXPECT_EQ(gate.exit_code, 1) << gate.out;
    EXPECT_NE(gate.out.find("gate failed: 1 benchmark regressed"), std::string::npos) << gate.out;
    // The counter shows it too: events_per_s is higher-is-better.
    ShellRun rate = meshsim("bench gate --db " + db + " --baseline 1a2b3c --candidate 9f8e7d --metric events_per_s");
    EXPECT_EQ(rate.exit_code, 1) << rate.out;
    // Leaving the regressed benchmark out passes.
    EXPECT_EQ(meshsim("bench gate --db " + db + " --baseline 1a2b3c --candidate 9f8e7d --filter 'Parse|Kernel'").exit_code, 0);
  }
}

TEST_F(BenchE2e, GateAgainstThePreviousRecordingOnThisMachine) {
  std::string db = path("bench.db");
  write(path("1.json"), synthetic_json(1, kBase, 10));
  write(path("2.json"), synthetic_json(2, kBase, 10));
  auto slower = kBase;
  slower["BM_Parse"] *= 1.25;
  write(path("3.json"), synthetic_json(3, slower, 10));
  ASSERT_EQ(meshsim("bench record --db " + db + " --json " + path("1.json") + " --revision aaaa0001").exit_code, 0);
  ShellRun none = meshsim("bench gate --db " + db + " --baseline previous");
  EXPECT_EQ(none.exit_code, 2) << none.out;
  EXPECT_NE(none.out.find("no earlier recording"), std::string::npos) << none.out;
  ASSERT_EQ(meshsim("bench record --db " + db + " --json " + path("2.json") + " --revision aaaa0002").exit_code, 0);
  ShellRun pass = meshsim("bench gate --db " + db + " --baseline previous");
  EXPECT_EQ(pass.exit_code, 0) << pass.out;
  EXPECT_NE(pass.out.find("gate passed"), std::string::npos) << pass.out;
  ASSERT_EQ(meshsim("bench record --db " + db + " --json " + path("3.json") + " --revision aaaa0003").exit_code, 0);
  ShellRun fail = meshsim("bench gate --db " + db + " --baseline previous -o markdown");
  EXPECT_EQ(fail.exit_code, 1) << fail.out;
  EXPECT_NE(fail.out.find("| `BM_Parse` |"), std::string::npos) << fail.out;
  EXPECT_NE(fail.out.find("**regressed**"), std::string::npos) << fail.out;
  // Recording ids and JSON files are references too.
  EXPECT_EQ(meshsim("bench gate --db " + db + " --baseline 1 --candidate 2").exit_code, 0);
  EXPECT_EQ(meshsim("bench gate --baseline " + path("1.json") + " --candidate " + path("3.json")).exit_code, 1);
  ShellRun table = meshsim_stdout("bench compare " + path("1.json") + " " + path("3.json"));
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("BM_Parse"), std::string::npos);
  EXPECT_NE(table.out.find("regressed"), std::string::npos) << table.out;
  ShellRun list = meshsim_stdout("bench list --db " + db);
  EXPECT_NE(list.out.find("aaaa0003"), std::string::npos) << list.out;
}

TEST_F(BenchE2e, BadInputIsExit2WithAClearMessageAndNothingWritten) {
  std::string db = path("bench.db");
  write(path("bad.json"), "{\n  \"benchmarks\": [\n    {\"name\": \"x\" \"real_time\": 1}\n  ]\n}\n");
  ShellRun bad = meshsim("bench record --db " + db + " --json " + path("bad.json"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find(path("bad.json") + ":3:18: malformed JSON"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(db)) << "a failed recording created the database";

  write(path("ok.json"), synthetic_json(1, kBase, 3));
  ASSERT_EQ(meshsim("bench record --db " + db + " --json " + path("ok.json") + " --revision cafe0001").exit_code, 0);
  write(path("shape.json"), R"({"benchmarks": [{"name": "x", "cpu_time": 1}]})");
  ShellRun shape = meshsim("bench record --db " + db + " --json " + path("shape.json"));
  EXPECT_EQ(shape.exit_code, 2);
  EXPECT_NE(shape.out.find("benchmarks[0].real_time: missing or not a number"), std::string::npos) << shape.out;
  ShellRun fails = meshsim("bench record --db " + db + " --run /bin/false");
  EXPECT_EQ(fails.exit_code, 2);
  EXPECT_NE(fails.out.find("/bin/false: exited with status 1; nothing recorded"), std::string::npos) << fails.out;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM recordings"), 1);

  for (const std::string& args :
       {"bench compare deadbeef cafe --db " + db, "bench gate --db " + db + " --baseline cafe --threshold five",
        "bench record --db " + db + " --json " + path("ok.json") + " --context novalue",
        "bench record --db " + db + " --json " + path("ok.json") + " --repetitions 0",
        "bench record --db " + db + " --json " + path("ok.json") + " --filter '('",
        "bench compare cafe cafe --db " + db + " --metric no_such_counter",
        "bench compare cafe cafe --db " + path("missing.db"), "bench gate --db " + db,
        std::string("bench record --jsn x.json")}) {
    ShellRun r = meshsim(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("meshsim: error:"), std::string::npos) << args << "\n" << r.out;
  }
  EXPECT_NE(meshsim("bench compare deadbeef cafe --db " + db).out.find("unknown revision or recording \"deadbeef\""),
            std::string::npos);
  EXPECT_NE(meshsim("bench compare cafe cafe --db " + db + " --metric no_such_counter").out.find("metrics present:"),
            std::string::npos);
  EXPECT_NE(meshsim("bench record --jsn x.json").out.find("did you mean --json?"), std::string::npos);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM recordings"), 1);
  EXPECT_FALSE(fs::exists(path("missing.db")));
}

// A recording killed with SIGKILL while its transaction is being written:
// the database stays intact and shows no part of it.
TEST_F(BenchE2e, SigkillMidRecordingLeavesNoPartialRecording) {
  std::string db = path("bench.db");
  write(path("small.json"), synthetic_json(1, kBase, 3));
  ASSERT_EQ(meshsim("bench record --db " + db + " --json " + path("small.json") + " --revision 00000001").exit_code, 0);
  const int before_results = query_int(db, "SELECT count(*) FROM bench_results");
  // A big input, so that writing it takes a while.
  {
    std::ofstream f(path("big.json"));
    f << "{\"context\": {}, \"benchmarks\": [\n";
    for (int i = 0; i < 200000; ++i) {
      f << (i ? ",\n" : "") << "{\"name\": \"BM_Big/" << i % 5000 << "\", \"run_type\": \"iteration\", \"repetition_index\": "
        << i / 5000 << ", \"iterations\": 10, \"real_time\": " << 100 + i % 7
        << ", \"cpu_time\": 100, \"time_unit\": \"ns\", \"events\": " << i << ", \"allocs\": 0}";
    }
    f << "]}\n";
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(MESHSIM_EXE, MESHSIM_EXE, "bench", "record", "--db", db.c_str(), "--json", path("big.json").c_str(),
          "--revision", "00000002", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill once the transaction has spilled pages into the write-ahead log
  // (parsing the input comes first: under ASan on a loaded 2-core machine it
  // alone can take over a minute, hence the generous deadline).
  bool mid_transaction = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(400);
  while (std::chrono::steady_clock::now() < deadline) {
    struct stat st;
    if (stat((db + "-wal").c_str(), &st) == 0 && st.st_size > 4 * 1024 * 1024) {
      mid_transaction = true;
      break;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!mid_transaction && pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  ASSERT_TRUE(mid_transaction) << "the recording ended (or never reached its transaction) before it could be killed";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the recording finished before the kill";

  EXPECT_EQ(query_text(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM recordings"), 1);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM recordings WHERE git_revision = '00000002'"), 0);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM bench_results"), before_results);
  ShellRun list = meshsim_stdout("bench list --db " + db);
  EXPECT_EQ(list.out.find("00000002"), std::string::npos) << list.out;
  // The database takes the next recording as if nothing had happened.
  EXPECT_EQ(meshsim("bench record --db " + db + " --json " + path("small.json") + " --revision 00000003").exit_code, 0);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM recordings WHERE complete = 1"), 2);
}

// A stand-in for a Google Benchmark binary: writes --benchmark_out JSON and a
// line of console output; `work` loop iterations make it more expensive.
std::string fake_binary(const std::string& path, int work, double route_ns, int exit_code = 0) {
  std::ofstream f(path);
  f << "#!/bin/sh\nout=''\nreps=1\nfor a in \"$@\"; do case \"$a\" in --benchmark_out=*) out=\"${a#--benchmark_out=}\";; "
       "--benchmark_repetitions=*) reps=\"${a#--benchmark_repetitions=}\";; esac; done\n"
    << "i=0\nwhile [ $i -lt " << work << " ]; do i=$((i+1)); done\n"
    << "echo 'fake console table'\n"
    << "if [ -n \"$out\" ]; then\n  {\n    echo '{\"context\": {\"executable\": \"fake\", \"num_cpus\": 2}, \"benchmarks\": ['\n"
    << "    r=0; while [ $r -lt $reps ]; do\n      [ $r -gt 0 ] && echo ','\n"
    << "      echo \"{\\\"name\\\": \\\"BM_Route\\\", \\\"run_type\\\": \\\"iteration\\\", \\\"repetition_index\\\": $r, "
       "\\\"iterations\\\": 5, \\\"real_time\\\": " << route_ns << ", \\\"cpu_time\\\": " << route_ns
    << ", \\\"time_unit\\\": \\\"ns\\\", \\\"allocs_per_request\\\": 3}\"\n      r=$((r+1))\n    done\n"
    << "    echo ']}'\n  } > \"$out\"\nfi\nexit " << exit_code << "\n";
  f.close();
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

TEST_F(BenchE2e, RecordRunsBinariesAndStoresEveryRepetitionWithItsContext) {
  std::string db = path("bench.db");
  std::string bin = fake_binary(path("fake_bench"), 10, 850);
  ShellRun r = meshsim("bench record --db " + db + " --run " + bin + " --repetitions 4 --instructions off --context pr=42");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("fake console table"), std::string::npos) << "the binary's console output is shown";
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM bench_results WHERE name = 'BM_Route' AND run_type = 'iteration'"), 4);
  EXPECT_EQ(query_int(db, "SELECT max(repetition) FROM bench_results"), 3);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM bench_metrics WHERE name = 'allocs_per_request'"), 4);
  EXPECT_EQ(query_text(db, "SELECT json_extract(context, '$.user.pr') FROM recordings"), "42");
  EXPECT_EQ(query_text(db, "SELECT json_extract(context, '$.sources.fake_bench.executable') FROM recordings"), "fake");
  // This worktree is a git repository: the revision is HEAD's.
  std::string rev = query_text(db, "SELECT git_revision FROM recordings");
  EXPECT_EQ(rev.size(), 40u) << rev;
  EXPECT_FALSE(query_text(db, "SELECT cpu_model FROM recordings").empty());
  EXPECT_GT(query_int(db, "SELECT cores FROM recordings"), 0);
  EXPECT_FALSE(query_text(db, "SELECT kernel FROM recordings").empty());
  EXPECT_EQ(query_int(db, "SELECT complete FROM recordings"), 1);
}

TEST_F(BenchE2e, InstructionsRetiredGateTheDeterministicMetric) {
  ASSERT_EQ(run_shell("valgrind --version >/dev/null 2>&1").exit_code, 0)
      << "valgrind is not installed (ci/setup installs it)";
  std::string db = path("bench.db");
  std::string light = fake_binary(path("light_bench"), 200, 850);
  std::string heavy = fake_binary(path("heavy_bench"), 2000, 850);
  std::string mode = run_shell(std::string(MESHSIM_EXE) + " bench record --db " + path("probe.db") + " --run " + light +
                               " --instructions perf >/dev/null 2>&1").exit_code == 0
                         ? "perf"
                         : "callgrind";
  // Two recordings of the same binary, then one of a binary doing ten times the work under the same name.
  ASSERT_EQ(meshsim("bench record --db " + db + " --run " + light + " --instructions " + mode + " --revision 11110000").exit_code, 0);
  ASSERT_EQ(meshsim("bench record --db " + db + " --run " + light + " --instructions " + mode + " --revision 11110001").exit_code, 0);
  EXPECT_EQ(query_text(db, "SELECT instructions_tool FROM recordings WHERE id = 1"), mode);
  EXPECT_GT(query_int(db, "SELECT count(*) FROM bench_metrics WHERE name = 'instructions' AND value > 10000"), 0);
  ShellRun same = meshsim("bench gate --db " + db + " --baseline previous --metric instructions");
  EXPECT_EQ(same.exit_code, 0) << same.out;
  EXPECT_NE(same.out.find("deterministic"), std::string::npos) << same.out;
  fs::rename(heavy, path("light_bench"));
  ASSERT_EQ(meshsim("bench record --db " + db + " --run " + light + " --instructions " + mode + " --revision 11110002").exit_code, 0);
  ShellRun more = meshsim("bench gate --db " + db + " --baseline previous --metric instructions");
  EXPECT_EQ(more.exit_code, 1) << more.out;
  EXPECT_NE(more.out.find("light_bench (short run)"), std::string::npos) << more.out;
}

TEST_F(BenchE2e, PerfIsRefusedWhereTheMachineCannotCountInstructions) {
  std::string bin = fake_binary(path("fake_bench"), 10, 850);
  ShellRun r = meshsim("bench record --db " + path("bench.db") + " --run " + bin + " --instructions perf");
  if (r.exit_code == 0) {
    EXPECT_EQ(query_text(path("bench.db"), "SELECT instructions_tool FROM recordings"), "perf");
  } else {
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.out.find("perf_event_open cannot count instructions here"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(path("bench.db")));
  }
}

}  // namespace
