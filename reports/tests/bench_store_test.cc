// Google Benchmark JSON reading, the schema migration from version 1 and the
// benchmark store (recording, references, completeness).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "reports/bench_compare.h"
#include "reports/bench_json.h"
#include "reports/bench_store.h"
#include "reports/result_store.h"

namespace meshsim::reports {
// Named, not anonymous: in a unity build this file shares a translation unit with
// other tests whose file-local helpers have the same names.
namespace bench_store_test {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("meshsim-bench-" + std::to_string(::getpid()) + "-" + name)).string();
}

void remove_db(const std::string& p) {
  for (const char* s : {"", "-wal", "-shm"}) std::remove((p + s).c_str());
}

// As Google Benchmark 1.7 writes it with --benchmark_repetitions=2 (and
// aggregates), trimmed; one errored benchmark.
constexpr const char* kJson = R"json({
  "context": {"date": "2026-12-01T10:00:00+00:00", "host_name": "ci-4", "executable": "./kernel_bench",
              "num_cpus": 2, "mhz_per_cpu": 2450, "cpu_scaling_enabled": false, "library_build_type": "release",
              "caches": [{"type": "Data", "level": 1, "size": 32768, "num_sharing": 1}]},
  "benchmarks": [
    {"name": "BM_Hold/1000", "family_index": 0, "per_family_instance_index": 0, "run_name": "BM_Hold/1000",
     "run_type": "iteration", "repetitions": 2, "repetition_index": 0, "threads": 1, "iterations": 100,
     "real_time": 1.5, "cpu_time": 1.4, "time_unit": "ms", "events_per_s": 1.2e7, "allocs_per_event": 0},
    {"name": "BM_Hold/1000", "family_index": 0, "per_family_instance_index": 0, "run_name": "BM_Hold/1000",
     "run_type": "iteration", "repetitions": 2, "repetition_index": 1, "threads": 1, "iterations": 100,
     "real_time": 1.7, "cpu_time": 1.6, "time_unit": "ms", "events_per_s": 1.1e7, "allocs_per_event": 0},
    {"name": "BM_Hold/1000_mean", "run_name": "BM_Hold/1000", "run_type": "aggregate", "repetitions": 2,
     "threads": 1, "aggregate_name": "mean", "aggregate_unit": "time", "iterations": 2,
     "real_time": 1.6, "cpu_time": 1.5, "time_unit": "ms"},
    {"name": "BM_Hold/1000_cv", "run_name": "BM_Hold/1000", "run_type": "aggregate", "repetitions": 2,
     "threads": 1, "aggregate_name": "cv", "aggregate_unit": "percentage", "iterations": 2,
     "real_time": 0.08, "cpu_time": 0.07, "time_unit": "ms"},
    {"name": "BM_Only/8_median", "run_name": "BM_Only/8", "run_type": "aggregate", "aggregate_name": "median",
     "iterations": 3, "real_time": 250, "cpu_time": 240, "time_unit": "us"},
    {"name": "BM_Broken", "run_name": "BM_Broken", "run_type": "iteration", "error_occurred": true,
     "error_message": "no fixture", "iterations": 0, "real_time": 0, "cpu_time": 0, "time_unit": "ns"}
  ]
})json";

TEST(BenchJson, ReadsRepetitionsAggregatesUnitsAndCounters) {
  auto f = parse_benchmark_json(kJson, "k.json", "kernel_bench");
  ASSERT_TRUE(f.ok()) << f.message();
  ASSERT_EQ(f->samples.size(), 5u);
  const BenchSample& r1 = f->samples[1];
  EXPECT_EQ(r1.name, "BM_Hold/1000");
  EXPECT_EQ(r1.run_type, "iteration");
  EXPECT_EQ(r1.repetition, 1);
  EXPECT_DOUBLE_EQ(*r1.real_time_ns, 1.7e6);
  EXPECT_EQ(r1.source, "kernel_bench");
  ASSERT_EQ(r1.metrics.size(), 2u);
  EXPECT_EQ(r1.metrics[1].first, "events_per_s");
  EXPECT_DOUBLE_EQ(r1.metrics[1].second, 1.1e7);
  EXPECT_EQ(f->samples[2].aggregate, "mean");
  EXPECT_DOUBLE_EQ(*f->samples[3].real_time_ns, 0.08);  // cv is a fraction, not a time
  EXPECT_EQ(f->context_value("host_name"), "ci-4");
  EXPECT_EQ(f->context_value("num_cpus"), "2");
  ASSERT_EQ(f->warnings.size(), 1u);
  EXPECT_NE(f->warnings[0].find("BM_Broken reported an error (no fixture)"), std::string::npos);
  // Repetitions count; a benchmark with aggregates only contributes its median.
  auto v = metric_values(f->samples, "real_time");
  EXPECT_EQ(v["BM_Hold/1000"].size(), 2u);
  ASSERT_EQ(v["BM_Only/8"].size(), 1u);
  EXPECT_DOUBLE_EQ(v["BM_Only/8"][0], 250e3);
  EXPECT_EQ(metric_values(f->samples, "EVENTS_PER_S")["BM_Hold/1000"].size(), 2u);
}

TEST(BenchJson, MalformedJsonNamesLineAndColumn) {
  auto f = parse_benchmark_json("{\n  \"benchmarks\": [\n    {\"name\": \"x\",, }\n  ]\n}\n", "bad.json", "bad");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.message().rfind("bad.json:3:18: malformed JSON:", 0), 0u) << f.message();
}

TEST(BenchJson, WrongShapesNameTheField) {
  auto a = parse_benchmark_json(R"({"context": {}})", "a.json", "a");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("a.json: benchmarks: missing or not an array"), std::string::npos) << a.message();
  auto b = parse_benchmark_json(R"({"benchmarks": [{"name": "x", "real_time": "1", "cpu_time": 1}]})", "b.json", "b");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("benchmarks[0].real_time: missing or not a number"), std::string::npos) << b.message();
  auto c = parse_benchmark_json(R"({"benchmarks": [{"name": "x", "real_time": 1, "cpu_time": 1, "time_unit": "min"}]})",
                                "c.json", "c");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("unknown time_unit \"min\""), std::string::npos) << c.message();
}

TEST(BenchJson, LineColumnCountsFromOne) {
  EXPECT_EQ(line_column("ab\ncd", 0), std::make_pair(size_t{1}, size_t{1}));
  EXPECT_EQ(line_column("ab\ncd", 4), std::make_pair(size_t{2}, size_t{2}));
}

// The version 1 schema exactly as meshsim 0.1 created it, with one run.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, meshsim_version TEXT NOT NULL,
  git_revision TEXT NOT NULL, command TEXT NOT NULL, shard TEXT NOT NULL, wall_seconds REAL NOT NULL,
  cases_total INTEGER NOT NULL, cases_passed INTEGER NOT NULL, cases_failed INTEGER NOT NULL,
  cases_skipped INTEGER NOT NULL, cases_error INTEGER NOT NULL);
CREATE TABLE cases (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  suite TEXT NOT NULL, classname TEXT NOT NULL, name TEXT NOT NULL, file TEXT NOT NULL, profile TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('passed','failed','skipped','error')), message TEXT NOT NULL,
  seed INTEGER NOT NULL, fingerprint TEXT NOT NULL, pinned_fingerprint TEXT NOT NULL, virtual_seconds REAL NOT NULL,
  wall_seconds REAL NOT NULL, time_compression REAL NOT NULL, events INTEGER NOT NULL);
CREATE INDEX cases_by_name ON cases(suite, name, run_id);
CREATE TABLE traces (suite TEXT NOT NULL, name TEXT NOT NULL, fingerprint TEXT NOT NULL, trace TEXT NOT NULL,
  PRIMARY KEY (suite, name, fingerprint));
CREATE TABLE expectations (id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  name TEXT NOT NULL, kind TEXT NOT NULL, passed INTEGER NOT NULL CHECK (passed IN (0, 1)), expected TEXT NOT NULL,
  actual TEXT NOT NULL, message TEXT NOT NULL);
INSERT INTO runs VALUES (1, '2026-11-25T20:00:00Z', '0.1.0', 'abc123', 'meshsim conformance', '', 1.5, 1, 1, 0, 0, 0);
INSERT INTO cases VALUES (1, 1, 'faq', 'faq.a', 'a', 'faq/a.yaml', 'MESH-MTLS', 'passed', '', 7, '0x1234', '', 60, 0.5,
  120, 1000);
INSERT INTO expectations VALUES (1, 1, 'ok', 'requests', 1, 'ok ratio >= 0.99', 'ok ratio 1.00', '');
PRAGMA user_version = 1;
)sql";

void make_v1(const std::string& path) {
  remove_db(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, kVersion1, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST(ResultsDb, MigratesVersion1KeepingItsRuns) {
  std::string path = temp_path("v1.db");
  make_v1(path);
  {
    // Read-only opening (conformance merge, report) leaves version 1 alone.
    auto ro = ResultStore::open(path, ResultsDb::Mode::kReadOnly);
    ASSERT_TRUE(ro.ok()) << ro.message();
    EXPECT_EQ((*ro)->schema_version(), 1);
    auto bench = BenchStore::open(path, ResultsDb::Mode::kReadOnly);
    ASSERT_FALSE(bench.ok());
    EXPECT_NE(bench.message().find("holds no benchmark recordings"), std::string::npos) << bench.message();
  }
  {
    auto store = ResultStore::open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    EXPECT_EQ((*store)->schema_version(), kResultsSchemaVersion);
    auto run = (*store)->load_run(1);
    ASSERT_TRUE(run.ok()) << run.message();
    ASSERT_EQ(run->cases.size(), 1u);
    EXPECT_EQ(run->cases[0].fingerprint, "0x1234");
    EXPECT_EQ(run->cases[0].expectations.size(), 1u);
    EXPECT_EQ((*store)->previous_fingerprint("faq", "a"), "0x1234");
  }
  auto bench = BenchStore::open(path);
  ASSERT_TRUE(bench.ok()) << bench.message();
  EXPECT_TRUE((*bench)->recordings().empty());
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(db);
  remove_db(path);
}

BenchRecording recording(const std::string& rev, double base, int reps = 6) {
  BenchRecording r;
  r.recorded_at = "2026-12-01T10:00:00Z";
  r.git_revision = rev;
  r.machine = {"Test CPU", 2, "6.1.0", "GNU 12.2.0", "RelWithDebInfo", "host-a"};
  r.command = "meshsim bench record";
  for (int i = 0; i < reps; ++i) {
    BenchSample s;
    s.source = "x_bench";
    s.name = "BM_X";
    s.repetition = i;
    s.iterations = 10;
    s.real_time_ns = base + i;
    s.cpu_time_ns = base + i;
    s.metrics = {{"events_per_s", 1e9 / base}};
    r.samples.push_back(s);
  }
  return r;
}

TEST(BenchStore, RecordsAndResolvesReferences) {
  std::string path = temp_path("store.db");
  remove_db(path);
  auto store = BenchStore::open(path);
  ASSERT_TRUE(store.ok()) << store.message();
  BenchStore& s = **store;
  ASSERT_TRUE(s.record(recording("1111aaaa", 100)).ok());
  ASSERT_TRUE(s.record(recording("1111aaaa", 101)).ok());
  BenchRecording other = recording("2222bbbb", 120);
  ASSERT_TRUE(s.record(other).ok());
  BenchRecording elsewhere = recording("2222bbbb", 300);
  elsewhere.machine.cpu_model = "Other CPU";
  ASSERT_TRUE(s.record(elsewhere).ok());

  auto rev = s.resolve("1111", other.machine.id());
  ASSERT_TRUE(rev.ok()) << rev.message();
  EXPECT_EQ(rev->recording_ids, (std::vector<int64_t>{1, 2}));  // pooled
  EXPECT_EQ(s.samples(rev->recording_ids).size(), 12u);
  auto b = s.resolve("2222BB", other.machine.id());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->recording_ids, (std::vector<int64_t>{3}));
  EXPECT_EQ(b->notes.size(), 1u);  // the other machine's recording is left out
  EXPECT_EQ(s.resolve("id:4")->recording_ids, (std::vector<int64_t>{4}));
  EXPECT_EQ(s.resolve("latest", other.machine.id())->recording_ids, (std::vector<int64_t>{3}));
  EXPECT_EQ(s.resolve("previous", other.machine.id(), 3)->recording_ids, (std::vector<int64_t>{2}));
  EXPECT_EQ(s.resolve("latest")->recording_ids, (std::vector<int64_t>{4}));
  auto unknown = s.resolve("deadbeef");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("unknown revision or recording \"deadbeef\""), std::string::npos);
  EXPECT_FALSE(s.resolve("id:99").ok());
  EXPECT_FALSE(s.resolve("ab").ok());  // too short for a revision prefix
  auto samples = s.samples({1});
  ASSERT_EQ(samples.size(), 6u);
  EXPECT_EQ(samples[0].metrics.size(), 1u);
  EXPECT_DOUBLE_EQ(*samples[5].real_time_ns, 105);
  remove_db(path);
}

TEST(BenchStore, IncompleteRecordingsAreInvisible) {
  std::string path = temp_path("incomplete.db");
  remove_db(path);
  {
    auto store = BenchStore::open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->record(recording("1111aaaa", 100)).ok());
    // A recording some other writer left without its completion flag.
    ASSERT_TRUE((*store)->db().exec(
        "INSERT INTO recordings (recorded_at, git_revision, git_dirty, machine_id, cpu_model, cores, kernel, compiler, "
        "build_type, host_name, command, context, instructions_tool, complete) "
        "VALUES ('t', '3333cccc', 0, 'm', 'c', 1, 'k', 'g', 'b', 'h', 'x', '{}', '', 0)").ok());
  }
  auto store = BenchStore::open(path, ResultsDb::Mode::kReadOnly);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->recordings().size(), 1u);
  EXPECT_FALSE((*store)->resolve("3333").ok());
  EXPECT_FALSE((*store)->resolve("2").ok());
  remove_db(path);
}

TEST(MachineInfo, IdIgnoresTheHostName) {
  MachineInfo a{"CPU", 2, "6.1", "GNU 12", "Release", "runner-1"};
  MachineInfo b = a;
  b.host_name = "runner-2";
  EXPECT_EQ(a.id(), b.id());
  b.cores = 4;
  EXPECT_NE(a.id(), b.id());
}

}  // namespace bench_store_test
}  // namespace meshsim::reports
