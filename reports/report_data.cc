// Reads what the HTML report shows from a results database, read-only.
#include <algorithm>
#include <map>

#include "reports/bench_stats.h"
#include "reports/html_report.h"
#include "reports/result_store.h"
#include "reports/results_db.h"

namespace meshsim::reports {
namespace {

// Trends: one per (machine, benchmark), a point per complete recording.
void load_trends(const ResultsDb& db, const ReportOptions& o, ReportData& out) {
  struct Rec {
    std::string revision, recorded_at, machine, label;
    bool dirty = false;
  };
  std::map<int64_t, Rec> recs;
  Statement r(db,
              "SELECT id, git_revision, git_dirty, recorded_at, machine_id, cpu_model, host_name FROM recordings "
              "WHERE complete = 1 ORDER BY id");
  while (r.step()) {
    recs[r.col_i64(0)] = {r.col_text(1), r.col_text(3), r.col_text(4), r.col_text(5) + " (" + r.col_text(6) + ")",
                          r.col_i64(2) != 0};
  }
  out.recordings = recs.size();
  if (recs.empty()) return;
  const bool column = metric_is_time(o.metric);
  std::string sql =
      column ? "SELECT b.recording_id, b.name, b.run_type, b.aggregate, b." + std::string(o.metric == "cpu_time" ? "cpu_time_ns" : "real_time_ns") +
                   " FROM bench_results b JOIN recordings r ON r.id = b.recording_id WHERE r.complete = 1 "
                   "AND b.run_type <> 'process' ORDER BY b.recording_id, b.id"
             : "SELECT b.recording_id, b.name, b.run_type, b.aggregate, m.value FROM bench_metrics m "
               "JOIN bench_results b ON b.id = m.result_id JOIN recordings r ON r.id = b.recording_id "
               "WHERE r.complete = 1 AND lower(m.name) = lower(?) ORDER BY b.recording_id, b.id";
  Statement s(db, sql.c_str());
  if (!column) s.text(1, o.metric);
  // (machine, benchmark) → recording → values (repetitions; aggregate medians apart)
  std::map<std::pair<std::string, std::string>, std::map<int64_t, std::pair<std::vector<double>, std::vector<double>>>>
      values;
  while (s.step()) {
    auto v = s.col_real_or_null(4);
    if (!v) continue;
    int64_t rid = s.col_i64(0);
    auto& slot = values[{recs[rid].machine, s.col_text(1)}][rid];
    if (s.col_text(2) == "aggregate") {
      if (s.col_text(3) == "median") slot.second.push_back(*v);
    } else {
      slot.first.push_back(*v);
    }
  }
  CompareOptions co;
  co.threshold = o.threshold;
  co.higher_is_better = metric_higher_is_better(o.metric);
  co.confidence_interval = false;
  for (auto& [key, by_rec] : values) {
    BenchTrend t;
    t.machine_id = key.first;
    t.benchmark = key.second;
    const std::vector<double>* prev = nullptr;
    for (auto& [rid, vals] : by_rec) {
      std::vector<double>& v = vals.first.empty() ? vals.second : vals.first;
      if (v.empty()) continue;
      const Rec& rec = recs[rid];
      t.machine_label = rec.label;
      TrendPoint p;
      p.recording_id = rid;
      p.revision = rec.revision;
      p.dirty = rec.dirty;
      p.recorded_at = rec.recorded_at;
      p.n = v.size();
      std::sort(v.begin(), v.end());
      p.min = v.front();
      p.max = v.back();
      p.median = median(v);
      p.q1 = quantile(v, 0.25);
      p.q3 = quantile(v, 0.75);
      if (prev) {
        BenchComparison c = compare_benchmark(t.benchmark, *prev, v, co);
        p.verdict = c.verdict;
        p.ratio = c.ratio;
      } else {
        p.verdict = Verdict::kMissing;
      }
      t.points.push_back(p);
      prev = &v;
    }
    if (!t.points.empty()) out.trends.push_back(std::move(t));
  }
}

void load_conformance(const ResultsDb& db, const ReportOptions& o, ReportData& out) {
  Statement r(db,
              "SELECT id, started_at, git_revision, shard, command, wall_seconds, cases_total, cases_passed, "
              "cases_failed, cases_skipped, cases_error FROM runs ORDER BY id");
  std::map<int64_t, size_t> run_index;
  while (r.step()) {
    run_index[r.col_i64(0)] = out.runs.size();
    out.runs.push_back({r.col_i64(0), r.col_text(1), r.col_text(2), r.col_text(3), r.col_text(4), r.col_real(5),
                        r.col_i64(6), r.col_i64(7), r.col_i64(8), r.col_i64(9), r.col_i64(10)});
  }
  if (out.runs.empty()) return;
  std::map<std::pair<std::string, std::string>, size_t> case_index;
  Statement c(db, "SELECT run_id, suite, name, profile, status, wall_seconds, message FROM cases ORDER BY run_id, id");
  while (c.step()) {
    auto key = std::make_pair(c.col_text(1), c.col_text(2));
    auto [it, fresh] = case_index.emplace(key, out.cases.size());
    if (fresh) {
      CaseHistory h;
      h.suite = key.first;
      h.name = key.second;
      h.statuses.assign(out.runs.size(), ' ');
      h.wall_seconds.assign(out.runs.size(), 0);
      out.cases.push_back(std::move(h));
    }
    CaseHistory& h = out.cases[it->second];
    size_t ri = run_index[c.col_i64(0)];
    std::string st = c.col_text(4);
    h.statuses[ri] = st == "passed" ? 'P' : st == "failed" ? 'F' : st == "skipped" ? 'S' : 'E';
    h.wall_seconds[ri] = c.col_real(5);
    h.profile = c.col_text(3);
    if (st == "failed" || st == "error") h.last_message = c.col_text(6);
  }
  for (CaseHistory& h : out.cases) {
    // The current failing streak, over the runs that ran the case.
    int last = -1;
    for (int i = static_cast<int>(h.statuses.size()) - 1; i >= 0; --i) {
      if (h.statuses[static_cast<size_t>(i)] != ' ') {
        last = i;
        break;
      }
    }
    if (last < 0) continue;
    auto failing = [](char s) { return s == 'F' || s == 'E'; };
    h.failing_now = failing(h.statuses[static_cast<size_t>(last)]);
    if (!h.failing_now) continue;
    int first = last;
    for (int i = last; i >= 0; --i) {
      char s = h.statuses[static_cast<size_t>(i)];
      if (s == ' ') continue;
      if (!failing(s)) break;
      first = i;
    }
    h.failing_since_run = out.runs[static_cast<size_t>(first)].id;
    h.failing_since_revision = out.runs[static_cast<size_t>(first)].git_revision;
  }
  std::sort(out.cases.begin(), out.cases.end(),
            [](const CaseHistory& a, const CaseHistory& b) { return std::tie(a.suite, a.name) < std::tie(b.suite, b.name); });
  (void)o;
}

// The what-if hook (see html_report.h): nothing until a what-if table exists.
std::optional<Heatmap> load_whatif(const ResultsDb& db, int64_t& run_id) {
  if (!db.has_table("whatif_cells")) return std::nullopt;
  Statement latest(db, "SELECT max(run_id) FROM whatif_cells");
  if (!latest.step() || !latest.col_real_or_null(0)) return std::nullopt;
  run_id = latest.col_i64(0);
  const bool v3 = db.schema_version() >= 3;
  Statement s(db, v3 ? "SELECT source, destination, outcome, symbol, before, reason FROM whatif_cells WHERE run_id = ? ORDER BY source, destination"
                     : "SELECT source, destination, outcome, '', '', '' FROM whatif_cells WHERE run_id = ? ORDER BY source, destination");
  s.i64(1, run_id);
  struct C {
    std::string outcome, symbol, before, reason;
  };
  std::map<std::string, std::map<std::string, C>> cells;
  std::vector<std::string> columns;
  while (s.step()) {
    cells[s.col_text(0)][s.col_text(1)] = C{s.col_text(2), s.col_text(3), s.col_text(4), s.col_text(5)};
    if (std::find(columns.begin(), columns.end(), s.col_text(1)) == columns.end()) columns.push_back(s.col_text(1));
  }
  std::sort(columns.begin(), columns.end());
  Heatmap h;
  h.id = "whatif-heatmap";
  h.columns = columns;
  for (const auto& [src, row] : cells) {
    h.rows.push_back(src);
    std::vector<std::string> cls, title;
    for (const auto& dst : columns) {
      auto it = row.find(dst);
      if (it == row.end()) {
        cls.push_back("absent");
        title.push_back(src + " → " + dst + ": not probed");
        continue;
      }
      const C& c = it->second;
      std::string k = (c.outcome == "allow" || c.outcome == "ok") ? "allow" : "deny";
      if (!c.before.empty()) k += " changed";
      cls.push_back(k);
      title.push_back(src + " → " + dst + ": " + (c.symbol.empty() ? "" : c.symbol + " ") + c.outcome +
                      (c.before.empty() ? "" : " (was " + c.before + ")") + (c.reason.empty() ? "" : " — " + c.reason));
    }
    h.css_class.push_back(cls);
    h.title.push_back(title);
  }
  return h;
}

}  // namespace

Result<ReportData> load_report_data(const std::string& db_path, const ReportOptions& o) {
  auto db = ResultsDb::open(db_path, ResultsDb::Mode::kReadOnly);
  if (!db.ok()) return db.error();
  ReportData out;
  out.db_path = db_path;
  out.schema_version = (*db)->schema_version();
  if ((*db)->has_table("recordings")) load_trends(**db, o, out);
  load_conformance(**db, o, out);
  out.whatif = load_whatif(**db, out.whatif_run);
  if (o.detail_runs > 0 && !out.runs.empty()) {
    auto store = ResultStore::open(db_path, ResultsDb::Mode::kReadOnly);
    if (!store.ok()) return store.error();
    size_t n = std::min(o.detail_runs, out.runs.size());
    for (size_t i = 0; i < n; ++i) {
      int64_t id = out.runs[out.runs.size() - 1 - i].id;
      auto run = (*store)->load_run(id);
      if (!run.ok()) return run.error();
      out.recent.push_back({id, std::move(*run)});
    }
  }
  return out;
}

}  // namespace meshsim::reports
