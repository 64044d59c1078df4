// End-to-end tests of `meshsim report`: a database with real conformance runs
// (one of them failing on purpose) and benchmark recordings with a deliberate
// regression, rendered to HTML and loaded in headless Chromium — the expected
// sections are in the DOM, the page's script ran, and nothing logged an error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "tests/shell_run.h"

namespace {
namespace fs = std::filesystem;
using meshsim::testing::run_shell;
using meshsim::testing::ShellRun;

ShellRun meshsim(const std::string& args) { return run_shell(std::string(MESHSIM_EXE) + " " + args + " 2>&1"); }

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

std::string bench_json(uint64_t seed, double route_ns) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.02);
  nlohmann::json doc = {{"context", {{"num_cpus", 2}}}, {"benchmarks", nlohmann::json::array()}};
  for (const auto& [name, base] : std::map<std::string, double>{{"BM_Route/1000", route_ns}, {"BM_Parse", 12000}}) {
    for (int r = 0; r < 8; ++r) {
      double t = base * (1 + noise(rng));
      doc["benchmarks"].push_back({{"name", name}, {"run_type", "iteration"}, {"repetition_index", r},
                                   {"iterations", 100}, {"real_time", t}, {"cpu_time", t}, {"time_unit", "ns"}});
    }
  }
  return doc.dump();
}

class ReportE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("meshsim-report-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "suite");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Two passing conformance runs of a real scenario, then one where its first
  // expectation is made to fail; six benchmark recordings, BM_Route 20 %
  // slower from the fifth revision on.
  std::string populate() {
    std::string db = (dir_ / "results.db").string();
    std::string scenario = replace_all(read(fs::path(MESHSIM_SOURCE_DIR) / "scenarios/pod-failure.yaml"), "../tests/data",
                                       std::string(MESHSIM_SOURCE_DIR) + "/tests/data");
    fs::path file = dir_ / "suite" / "pod-failure.yaml";
    write(file, scenario);
    for (int i = 0; i < 2; ++i) {
      ShellRun r = meshsim("conformance " + (dir_ / "suite").string() + " --db " + db);
      EXPECT_EQ(r.exit_code, 0) << r.out;
    }
    write(file, replace_all(scenario, "okRatio: \"== 1\"", "okRatio: \"== 0\""));
    ShellRun failing = meshsim("conformance " + (dir_ / "suite").string() + " --db " + db);
    EXPECT_EQ(failing.exit_code, 1) << failing.out;
    for (int i = 0; i < 6; ++i) {
      fs::path j = dir_ / ("b" + std::to_string(i) + ".json");
      write(j, bench_json(static_cast<uint64_t>(i + 1), i >= 4 ? 1020 : 850));
      ShellRun r = meshsim("bench record --db " + db + " --json " + j.string() + " --revision " +
                           std::string("c0ffee0") + std::to_string(i) + "a1b2c3d4");
      EXPECT_EQ(r.exit_code, 0) << r.out;
    }
    return db;
  }
  fs::path dir_;
};

TEST_F(ReportE2e, RendersInHeadlessChromiumWithEverySectionAndNoErrors) {
  ASSERT_EQ(run_shell("command -v chromium >/dev/null").exit_code, 0) << "chromium is not installed (ci/setup installs it)";
  std::string db = populate();
  fs::path html = dir_ / "report.html";
  ShellRun r = meshsim("report --db " + db + " -o " + html.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote " + html.string() + " (HTML report, 2 benchmark trends, 3 conformance runs"),
            std::string::npos) << r.out;
  std::string page = read(html);
  // Self-contained: nothing loaded from anywhere.
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("src=\""), std::string::npos);
  EXPECT_FALSE(std::regex_search(page, std::regex("(href|src)=\"(https?:)?//")));

  std::string chromium = "chromium --headless --no-sandbox --disable-gpu --user-data-dir=" + (dir_ / "profile").string() +
                         " --window-size=1280,2000 --enable-logging=stderr --v=0 ";
  fs::path log = dir_ / "chromium.log";
  ShellRun dom = run_shell(chromium + "--dump-dom file://" + html.string() + " 2>" + log.string());
  ASSERT_EQ(dom.exit_code, 0) << read(log);
  for (const char* id : {"summary", "benchmarks", "bench-trend-0", "bench-trend-1", "regression-count", "conformance",
                         "conformance-matrix", "conformance-cases", "runs", "run-1", "run-2", "run-3", "whatif",
                         "whatif-none", "js-errors"}) {
    EXPECT_NE(dom.out.find(std::string("id=\"") + id + "\""), std::string::npos) << "no element #" << id;
  }
  EXPECT_NE(dom.out.find("data-script=\"ran\""), std::string::npos) << "the page's script did not run";
  EXPECT_NE(dom.out.find("<div id=\"js-errors\"></div>"), std::string::npos) << "script errors reported in the page";
  // The deliberate regression is flagged on BM_Route's trend, at the fifth revision, and nowhere else.
  EXPECT_NE(dom.out.find("<span id=\"regression-count\">1</span>"), std::string::npos);
  EXPECT_NE(dom.out.find("regressed ×1.2"), std::string::npos);
  EXPECT_NE(dom.out.find("at c0ffee04a1"), std::string::npos);
  // The failing case: red cell in the matrix, failing since run 3.
  EXPECT_NE(dom.out.find("class=\"fail\""), std::string::npos);
  EXPECT_NE(dom.out.find("(run 3)"), std::string::npos);
  EXPECT_NE(dom.out.find("No what-if runs recorded in this database."), std::string::npos);
  // Each run page holds its cases' edges and story (schema version 4).
  EXPECT_NE(dom.out.find("<table class=\"edges\">"), std::string::npos);
  EXPECT_NE(dom.out.find("<ol class=\"story\">"), std::string::npos);
  // …and each edge its latency histogram (schema version 5), as inline SVG the browser kept.
  EXPECT_NE(dom.out.find("<svg class=\"latency-histogram\""), std::string::npos);
  std::string errors = read(log);
  EXPECT_EQ(errors.find("Uncaught"), std::string::npos) << errors;
  EXPECT_EQ(errors.find(":CONSOLE"), std::string::npos) << "console output: " << errors;

  fs::path png = dir_ / "report.png";
  ShellRun shot = run_shell(chromium + "--screenshot=" + png.string() + " file://" + html.string() + " 2>/dev/null");
  ASSERT_EQ(shot.exit_code, 0);
  std::string bytes = read(png);
  ASSERT_GT(bytes.size(), 10000u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
}

TEST_F(ReportE2e, SaysWhatTheDatabaseDoesNotHold) {
  std::string db = (dir_ / "conformance-only.db").string();
  ShellRun run = meshsim("conformance " + std::string(MESHSIM_SOURCE_DIR) + "/scenarios/pod-failure.yaml --db " + db);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  fs::path html = dir_ / "r.html";
  ASSERT_EQ(meshsim("report --db " + db + " -o " + html.string()).exit_code, 0);
  std::string page = read(html);
  EXPECT_NE(page.find("No benchmark recordings with metric <code>real_time</code>"), std::string::npos);
  EXPECT_NE(page.find("id=\"run-1\""), std::string::npos);
}

// Run pages: each case's edges and story as the runner reported them
// (schema version 4), and the same after a sharded run is merged.
TEST_F(ReportE2e, RunPagesShowEachCasesEdgesAndStory) {
  std::string db = (dir_ / "edges.db").string();
  ShellRun run = meshsim("conformance " + std::string(MESHSIM_SOURCE_DIR) + "/scenarios/pod-failure.yaml --db " + db);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  ShellRun q = run_shell("sqlite3 " + db + " \"SELECT count(*) > 0, sum(requests) > 0 FROM case_edges; "
                         "SELECT count(*) > 0 FROM case_story WHERE text LIKE 'timeline: %'\"");
  EXPECT_EQ(q.out, "1|1\n1\n") << q.out;
  // Every request of an edge is in exactly one bucket of its histograms (the
  // successful ones in "ok"), and pod-failure's failed requests are there too.
  ShellRun h = run_shell("sqlite3 " + db + " \"SELECT sum(requests), sum(ok), "
                         "sum((SELECT sum(value) FROM json_each(latency_histogram, '$.ok'))), "
                         "sum((SELECT sum(value) FROM json_each(latency_histogram, '$.failed'))), "
                         "min(json_array_length(latency_histogram, '$.ok') = json_array_length(latency_histogram, '$.le_ms') + 1) "
                         "FROM case_edges\"");
  std::vector<std::string> f;
  {
    std::istringstream in(h.out);
    for (std::string cell; std::getline(in, cell, '|');) f.push_back(cell);
  }
  ASSERT_EQ(f.size(), 5u) << h.out;
  const long requests = std::stol(f[0]), ok = std::stol(f[1]), in_ok = std::stol(f[2]), in_failed = std::stol(f[3]);
  EXPECT_EQ(in_ok, ok) << h.out;
  EXPECT_EQ(in_ok + in_failed, requests) << h.out;
  EXPECT_GT(in_failed, 0) << "pod-failure fails requests while the pod is down: " << h.out;
  EXPECT_EQ(std::stol(f[4]), 1) << h.out;
  fs::path html = dir_ / "r.html";
  ASSERT_EQ(meshsim("report --db " + db + " -o " + html.string()).exit_code, 0);
  std::string page = read(html);
  EXPECT_NE(page.find("<table class=\"edges\">"), std::string::npos);
  EXPECT_NE(page.find("<ol class=\"story\">"), std::string::npos);
  EXPECT_NE(page.find(" s</code> timeline: "), std::string::npos);
  EXPECT_NE(page.find("<svg class=\"latency-histogram\""), std::string::npos);
  EXPECT_TRUE(std::regex_search(page, std::regex("<title>[^<]* ms: [0-9]+ ok, [1-9][0-9]* failed</title><rect class=\"(allow|deny)\"")))
      << "a bucket holding failed requests";
  EXPECT_EQ(page.find("are not stored in the results database"), std::string::npos);
}

TEST_F(ReportE2e, BadInputIsExit2AndWritesNothing) {
  fs::path html = dir_ / "r.html";
  ShellRun missing = meshsim("report --db " + (dir_ / "missing.db").string() + " -o " + html.string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.out.find("no such results database"), std::string::npos) << missing.out;
  write(dir_ / "not.db", "this is not sqlite");
  ShellRun garbage = meshsim("report --db " + (dir_ / "not.db").string() + " -o " + html.string());
  EXPECT_EQ(garbage.exit_code, 2) << garbage.out;
  EXPECT_NE(garbage.out.find("meshsim: error:"), std::string::npos) << garbage.out;
  EXPECT_EQ(meshsim("report -o " + html.string()).exit_code, 2);
  EXPECT_FALSE(fs::exists(html));
  EXPECT_EQ(read(dir_ / "not.db"), "this is not sqlite");
}

}  // namespace
