// `meshsim report --db results.db -o report.html` — one self-contained HTML
// file (inline SVG and CSS, no network) with benchmark trends, conformance
// history and per-run sections. See docs/cli/report.md.
#include <CLI/CLI.hpp>

#include <filesystem>

#include "cli/verb.h"
#include "reports/html_report.h"
#include "reports/junit.h"

namespace meshsim::cli {

namespace {
struct ReportFlags {
  std::string db, out = "report.html", metric = "real_time", threshold = "5%";
  size_t matrix_runs = 60, detail_runs = 10;
};
}  // namespace

void register_report(CLI::App& app, VerbContext& ctx) {
  auto f = std::make_shared<ReportFlags>();
  CLI::App* sub = app.add_subcommand(
      "report",
      "Write an HTML report of a results database: benchmark trends with noise bands and flagged\n"
      "regressions, the conformance pass/fail matrix with durations and the revision each failing\n"
      "case started failing at, and a section per recent run. One self-contained file (inline SVG,\n"
      "no network).\n\n"
      "Examples:\n"
      "  meshsim report --db build/default/bench-results/bench.db -o bench.html\n"
      "  meshsim report --db results.db -o report.html --matrix-runs 200\n\n"
      "Exit codes: 0 written, 2 bad input (no such database, not a results database).");
  sub->add_option("--db", f->db, "The results database (conformance --db, bench record --db)")->required();
  sub->add_option("-o,--output", f->out, "The HTML file to write")->capture_default_str();
  sub->add_option("--metric", f->metric, "Benchmark metric to plot: real_time, cpu_time or a counter")->capture_default_str();
  sub->add_option("--threshold", f->threshold, "Smallest change flagged on the trends")->capture_default_str();
  sub->add_option("--matrix-runs", f->matrix_runs, "Runs shown in the case × run matrix")->capture_default_str();
  sub->add_option("--detail-runs", f->detail_runs, "Most recent runs with a section of their own")->capture_default_str();
  sub->callback([f, &ctx] {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f->db, ec)) {
      print_error(f->db + ": no such results database");
      ctx.exit_code = kExitBadInput;
      return;
    }
    reports::ReportOptions o;
    o.metric = f->metric;
    auto threshold = reports::parse_threshold(f->threshold);
    if (!threshold.ok()) {
      print_error(threshold.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    o.threshold = *threshold;
    o.matrix_runs = std::max<size_t>(1, f->matrix_runs);
    o.detail_runs = f->detail_runs;
    auto data = reports::load_report_data(f->db, o);
    if (!data.ok()) {
      print_error(data.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    std::string html = reports::render_html_report(*data, o);
    if (Status st = reports::write_file_atomically(f->out, html); !st.ok()) {
      print_error(st.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    print_wrote(f->out, "HTML report, " + std::to_string(data->trends.size()) + " benchmark trends, " +
                            std::to_string(data->runs.size()) + " conformance runs, " + std::to_string(html.size() / 1024) +
                            " KiB");
    ctx.exit_code = kExitOk;
  });
}

}  // namespace meshsim::cli
