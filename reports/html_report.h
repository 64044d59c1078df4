// The HTML report of a results database (`meshsim report`): one
// self-contained file — inline CSS, inline SVG plots drawn here, a few lines
// of inline script, nothing fetched from the network. Sections (element ids
// tests and links rely on): #benchmarks (a trend per benchmark and machine
// over recordings: median line, interquartile and min–max noise bands,
// recordings that regressed or improved against the previous one flagged),
// #conformance (case × run pass/fail matrix, durations, first failing
// revision per case), #runs (one section per recent run, #run-<id>, with its
// case outcomes) and #whatif (the connectivity heatmap of the latest what-if
// run when the database has one). What the database does not hold is said,
// never invented. load_report_data reads the file without modifying it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "reports/bench_compare.h"
#include "reports/run_record.h"

namespace meshsim::reports {

struct ReportOptions {
  std::string metric = "real_time";
  double threshold = 0.05;  // for the regression flags on the trends
  size_t matrix_runs = 60;  // runs shown in the case × run matrix (the history behind it is complete)
  size_t detail_runs = 10;  // most recent runs with a section of their own
};

struct TrendPoint {
  int64_t recording_id = 0;
  std::string revision;
  bool dirty = false;
  std::string recorded_at;
  size_t n = 0;
  double median = 0, q1 = 0, q3 = 0, min = 0, max = 0;
  Verdict verdict = Verdict::kUnchanged;  // against the previous point (kMissing for the first)
  double ratio = 1;                       // median / previous median
};

struct BenchTrend {
  std::string benchmark;
  std::string machine_id;
  std::string machine_label;  // "AMD EPYC … (host)"
  std::vector<TrendPoint> points;
};

struct ConformanceRunInfo {
  int64_t id = 0;
  std::string started_at, git_revision, shard, command;
  double wall_seconds = 0;
  int64_t total = 0, passed = 0, failed = 0, skipped = 0, errors = 0;
};

struct CaseHistory {
  std::string suite, name, profile;
  // Per run of ConformanceRunInfo order: 'P', 'F', 'E', 'S', or ' ' (not run).
  std::string statuses;
  std::vector<double> wall_seconds;  // per run, 0 when not run
  bool failing_now = false;
  int64_t failing_since_run = 0;     // first run of the current failing streak
  std::string failing_since_revision;
  std::string last_message;
};

// A labelled grid of classed cells, drawn as SVG: the conformance matrix and
// the what-if connectivity heatmap.
struct Heatmap {
  std::string id;
  std::vector<std::string> rows, columns;
  std::vector<std::vector<std::string>> css_class;  // [row][column]: pass, fail, error, skip, absent, allow, deny
  std::vector<std::vector<std::string>> title;      // tooltip per cell
};

struct RunDetail {
  int64_t id = 0;
  RunRecord run;
};

struct ReportData {
  std::string db_path;
  int schema_version = 0;
  size_t recordings = 0;
  std::vector<BenchTrend> trends;
  std::vector<ConformanceRunInfo> runs;  // oldest first
  std::vector<CaseHistory> cases;
  std::vector<RunDetail> recent;         // newest first
  // The what-if hook: filled from table whatif_cells (run_id, source,
  // destination, outcome) of the latest what-if run when the table exists.
  std::optional<Heatmap> whatif;
  int64_t whatif_run = 0;
};

Result<ReportData> load_report_data(const std::string& db_path, const ReportOptions& options);
std::string render_html_report(const ReportData& data, const ReportOptions& options);

// The SVG pieces of the report.
std::string render_trend_svg(const BenchTrend& trend, bool is_time);
std::string render_heatmap_svg(const Heatmap& map);

}  // namespace meshsim::reports
