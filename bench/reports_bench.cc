// What users wait for in reports/: recording a benchmark run (10,000 results,
// every repetition with two counters) into the results database, and the HTML
// report of a database holding 1,000 conformance runs (20 cases, 2
// expectations each) and 1,000 benchmark recordings (10 benchmarks × 5
// repetitions). Targets: recording ≤ 1 s, report ≤ 3 s.
// Floors in the same binary: the same rows inserted with bare SQLite prepared
// statements in one transaction into the same schema, and bare string
// building of an HTML string of the report's size and element count. The
// measured benchmarks report their ratio to the floor ("vs_floor", time over
// floor time; the floor runs first).
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "reports/bench_store.h"
#include "reports/html_report.h"
#include "reports/result_store.h"

namespace {

using namespace meshsim::reports;
namespace fs = std::filesystem;

std::string temp_db(const std::string& name) {
  return (fs::temp_directory_path() / ("meshsim-reports-bench-" + std::to_string(::getpid()) + "-" + name)).string();
}

void remove_db(const std::string& p) {
  for (const char* s : {"", "-wal", "-shm"}) std::remove((p + s).c_str());
}

std::map<std::string, double>& floor_seconds() {
  static std::map<std::string, double> f;
  return f;
}

BenchRecording recording(size_t results, int revision) {
  BenchRecording r;
  r.recorded_at = "2026-12-01T10:00:00Z";
  r.git_revision = "rev" + std::to_string(revision);
  r.machine = {"Bench CPU", 2, "6.1.0", "GNU 12.2.0", "RelWithDebInfo", "bench"};
  r.command = "meshsim bench record";
  r.context_json = "{}";
  for (size_t i = 0; i < results; ++i) {
    BenchSample s;
    s.source = "x_bench";
    s.name = "BM_Case/" + std::to_string(i / 5);
    s.repetition = static_cast<int64_t>(i % 5);
    s.iterations = 1000;
    s.real_time_ns = 1000.0 + static_cast<double>(i % 97) + revision;
    s.cpu_time_ns = 990.0 + static_cast<double>(i % 89);
    s.metrics = {{"events_per_s", 1e6 + static_cast<double>(i)}, {"allocs_per_event", 0}};
    r.samples.push_back(std::move(s));
  }
  return r;
}

constexpr size_t kResults = 10000;

// Times one call of `f` as the iteration's time (the benchmarks use manual
// time, so their set-up and clean-up stay outside it); returns the seconds.
template <typename F>
double time_iteration(benchmark::State& state, F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.SetIterationTime(s);
  return s;
}

// Floor: the same rows, bare prepared statements, one transaction, same schema.
void BM_RecordFloorBareSqlite(benchmark::State& state) {
  BenchRecording rec = recording(kResults, 0);
  std::string path = temp_db("floor.db");
  double total = 0;
  for (auto _ : state) {
    remove_db(path);
    { auto db = ResultsDb::open(path); }  // the schema, WAL
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt *r = nullptr, *s = nullptr, *m = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO recordings (recorded_at, git_revision, git_dirty, machine_id, cpu_model, cores, "
                       "kernel, compiler, build_type, host_name, command, context, instructions_tool, complete) "
                       "VALUES ('t','r',0,'m','c',2,'k','g','b','h','x','{}','',1)",
                       -1, &r, nullptr);
    sqlite3_prepare_v2(db,
                       "INSERT INTO bench_results (recording_id, source, name, run_type, aggregate, repetition, threads, "
                       "iterations, real_time_ns, cpu_time_ns, label) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       -1, &s, nullptr);
    sqlite3_prepare_v2(db, "INSERT INTO bench_metrics (result_id, name, value) VALUES (?,?,?)", -1, &m, nullptr);
    total += time_iteration(state, [&] {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_step(r);
    int64_t id = sqlite3_last_insert_rowid(db);
    for (const BenchSample& b : rec.samples) {
      sqlite3_bind_int64(s, 1, id);
      sqlite3_bind_text(s, 2, b.source.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 3, b.name.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 4, "iteration", -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 5, "", -1, SQLITE_STATIC);
      sqlite3_bind_int64(s, 6, b.repetition);
      sqlite3_bind_int64(s, 7, 1);
      sqlite3_bind_int64(s, 8, b.iterations);
      sqlite3_bind_double(s, 9, *b.real_time_ns);
      sqlite3_bind_double(s, 10, *b.cpu_time_ns);
      sqlite3_bind_text(s, 11, "", -1, SQLITE_STATIC);
      sqlite3_step(s);
      sqlite3_reset(s);
      int64_t rid = sqlite3_last_insert_rowid(db);
      for (const auto& [k, v] : b.metrics) {
        sqlite3_bind_int64(m, 1, rid);
        sqlite3_bind_text(m, 2, k.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_double(m, 3, v);
        sqlite3_step(m);
        sqlite3_reset(m);
      }
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    });
    sqlite3_finalize(r);
    sqlite3_finalize(s);
    sqlite3_finalize(m);
    sqlite3_close(db);
  }
  floor_seconds()["record"] = total / static_cast<double>(state.iterations());
  state.counters["results_per_s"] = benchmark::Counter(static_cast<double>(kResults), benchmark::Counter::kIsIterationInvariantRate);
  remove_db(path);
}
BENCHMARK(BM_RecordFloorBareSqlite)->Unit(benchmark::kMillisecond)->UseManualTime();

void BM_RecordResults(benchmark::State& state) {
  BenchRecording rec = recording(kResults, 0);
  std::string path = temp_db("record.db");
  double total = 0;
  for (auto _ : state) {
    remove_db(path);
    auto store = BenchStore::open(path);
    bool ok = true;
    total += time_iteration(state, [&] { ok = (*store)->record(rec).ok(); });
    if (!ok) state.SkipWithError("record failed");
  }
  double t = total / static_cast<double>(state.iterations());
  state.counters["results_per_s"] = benchmark::Counter(static_cast<double>(kResults), benchmark::Counter::kIsIterationInvariantRate);
  if (floor_seconds().count("record")) state.counters["vs_floor"] = t / floor_seconds()["record"];
  remove_db(path);
}
BENCHMARK(BM_RecordResults)->Unit(benchmark::kMillisecond)->UseManualTime();

// The report's database: 1,000 conformance runs and 1,000 recordings, made once.
const std::string& report_db() {
  static const std::string path = [] {
    std::string p = temp_db("report.db");
    remove_db(p);
    auto store = ResultStore::open(p);
    for (int run = 0; run < 1000; ++run) {
      RunRecord r;
      r.meshsim_version = "0.1.0";
      r.git_revision = "rev" + std::to_string(run / 10);
      r.command = "meshsim conformance conformance/suites";
      r.started_at = "2026-12-01T10:00:00Z";
      for (int c = 0; c < 20; ++c) {
        CaseResult cr;
        cr.suite = "faq";
        cr.name = "case-" + std::to_string(c);
        cr.classname = "faq." + cr.name;
        cr.file = cr.name + ".yaml";
        cr.profile = "MESH-MTLS";
        cr.status = (c == 3 && run > 900) ? CaseStatus::kFailed : CaseStatus::kPassed;
        cr.fingerprint = "0x" + std::to_string(1000 + c);
        cr.virtual_seconds = 60;
        cr.wall_seconds = 0.05 + 0.001 * (run % 7);
        cr.expectations = {{"ok", "requests", cr.status == CaseStatus::kPassed, "ok ratio >= 0.99", "ok ratio 1.00", ""},
                           {"mtls", "wire", true, "mtls", "mtls", ""}};
        r.cases.push_back(std::move(cr));
      }
      (void)(*store)->record(r);
    }
    auto bench = BenchStore::open(p);
    for (int rec = 0; rec < 1000; ++rec) (void)(*bench)->record(recording(50, rec));
    return p;
  }();
  return path;
}

size_t g_report_bytes = 0, g_report_elements = 0;

void BM_ReportFloorStringBuilding(benchmark::State& state) {
  // The size and element count of the real report, measured once.
  if (g_report_bytes == 0) {
    ReportOptions o;
    auto data = load_report_data(report_db(), o);
    std::string html = render_html_report(*data, o);
    g_report_bytes = html.size();
    for (char c : html) g_report_elements += c == '<';
  }
  const std::string chunk(g_report_bytes / g_report_elements, 'x');
  double total = 0;
  for (auto _ : state) {
    total += time_iteration(state, [&] {
      std::string out;
      for (size_t i = 0; i < g_report_elements; ++i) {
        out += '<';
        out += chunk;
      }
      benchmark::DoNotOptimize(out.data());
    });
  }
  floor_seconds()["report"] = total / static_cast<double>(state.iterations());
  state.counters["bytes"] = static_cast<double>(g_report_bytes);
  state.counters["elements"] = static_cast<double>(g_report_elements);
}
BENCHMARK(BM_ReportFloorStringBuilding)->Unit(benchmark::kMillisecond)->UseManualTime();

void BM_ReportOver1000Runs(benchmark::State& state) {
  const std::string& db = report_db();
  ReportOptions o;
  double total = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    total += time_iteration(state, [&] {
      auto data = load_report_data(db, o);
      std::string html = render_html_report(*data, o);
      bytes = html.size();
      benchmark::DoNotOptimize(html.data());
    });
  }
  double t = total / static_cast<double>(state.iterations());
  state.counters["bytes"] = static_cast<double>(bytes);
  if (floor_seconds().count("report")) state.counters["vs_floor"] = t / floor_seconds()["report"];
}
BENCHMARK(BM_ReportOver1000Runs)->Unit(benchmark::kMillisecond)->UseManualTime();

}  // namespace
BENCHMARK_MAIN();
