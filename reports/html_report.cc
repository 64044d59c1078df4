#include "reports/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "reports/junit.h"

namespace meshsim::reports {

namespace {

std::string num(double x, const char* fmt = "%.1f") {
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}

std::string short_rev(const std::string& r) { return r.substr(0, 10); }

constexpr const char* kCss = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:14px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c9d1d9}nav a{color:#9ecbff;margin-right:14px}
main{padding:8px 28px 40px;max-width:1240px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:18px;margin:6px 0 10px}h3{font-size:15px;margin:14px 0 4px}
.note{color:#57606a;font-style:italic}.absent{color:#57606a}
table{border-collapse:collapse;margin:6px 0}td,th{border-bottom:1px solid #eaeef2;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.trends{display:flex;flex-wrap:wrap;gap:12px}.trend{border:1px solid #eaeef2;border-radius:4px;padding:6px 8px}
.trend h3{margin:0 0 2px;font-family:ui-monospace,monospace;font-size:13px}
.flag-regressed{color:#cf222e;font-weight:600}.flag-improved{color:#1a7f37;font-weight:600}
.status-passed{color:#1a7f37}.status-failed,.status-error{color:#cf222e;font-weight:600}.status-skipped{color:#57606a}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
rect.pass{fill:#2da44e}rect.fail{fill:#cf222e}rect.error{fill:#82071e}rect.skip{fill:#afb8c1}rect.absent{fill:#f6f8fa}
rect.allow{fill:#2da44e}rect.deny{fill:#cf222e}td.histogram span.axis{display:block;font-size:10px;color:#57606a}ol.story{white-space:pre-wrap;font-size:90%}rect.changed{stroke:#1f2328;stroke-width:2}
.band-range{fill:#ddf4ff}.band-iqr{fill:#9ecbff}.median{fill:none;stroke:#0969da;stroke-width:1.5}
circle.pt{fill:#0969da}circle.regressed{fill:#cf222e;stroke:#fff}circle.improved{fill:#1a7f37;stroke:#fff}
code{font-family:ui-monospace,monospace;font-size:12px}
#js-errors:empty{display:none}#js-errors{background:#ffebe9;border:1px solid #cf222e;padding:8px;color:#cf222e}
)css";

// Small and local: reports script errors into the page itself (a headless
// browser's --dump-dom shows them), and filters the trends.
constexpr const char* kScript = R"js(
window.onerror = function (msg, src, line) {
  var e = document.getElementById('js-errors');
  e.textContent += 'script error: ' + msg + ' (' + line + ')\n';
};
document.addEventListener('DOMContentLoaded', function () {
  var box = document.getElementById('only-flagged');
  if (box) box.addEventListener('change', function () {
    document.querySelectorAll('.trend').forEach(function (t) {
      t.style.display = box.checked && t.dataset.flagged !== '1' ? 'none' : '';
    });
  });
  document.body.setAttribute('data-script', 'ran');
});
)js";

}  // namespace

std::string render_trend_svg(const BenchTrend& t, bool is_time) {
  const double w = 560, h = 170, left = 70, right = 10, top = 10, bottom = 34;
  const auto& pts = t.points;
  double lo = pts.front().min, hi = pts.front().max;
  for (const auto& p : pts) lo = std::min(lo, p.min), hi = std::max(hi, p.max);
  if (hi <= lo) hi = lo + (lo == 0 ? 1 : std::fabs(lo) * 0.01);
  double pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const size_t n = pts.size();
  auto x = [&](size_t i) { return left + (n == 1 ? (w - left - right) / 2 : (w - left - right) * double(i) / double(n - 1)); };
  auto y = [&](double v) { return top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)); };
  std::string s;
  s.reserve(400 + n * 120);
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(w, "%.0f") + "\" height=\"" + num(h, "%.0f") +
       "\" role=\"img\" aria-label=\"trend of " + xml_escape(t.benchmark) + "\">";
  // Axes and three value labels.
  s += "<line x1=\"" + num(left) + "\" y1=\"" + num(top) + "\" x2=\"" + num(left) + "\" y2=\"" + num(h - bottom) +
       "\" stroke=\"#d0d7de\"/>";
  for (double f : {0.0, 0.5, 1.0}) {
    double v = lo + pad + (hi - lo - 2 * pad) * f;
    s += "<text x=\"" + num(left - 4) + "\" y=\"" + num(y(v) + 4) + "\" text-anchor=\"end\">" +
         xml_escape(format_metric_value(v, is_time)) + "</text>";
  }
  auto band = [&](const char* cls, auto lower, auto upper) {
    s += "<polygon class=\"";
    s += cls;
    s += "\" points=\"";
    for (size_t i = 0; i < n; ++i) s += num(x(i)) + "," + num(y(upper(pts[i]))) + " ";
    for (size_t i = n; i-- > 0;) s += num(x(i)) + "," + num(y(lower(pts[i]))) + " ";
    s += "\"/>";
  };
  if (n > 1) {
    band("band-range", [](const TrendPoint& p) { return p.min; }, [](const TrendPoint& p) { return p.max; });
    band("band-iqr", [](const TrendPoint& p) { return p.q1; }, [](const TrendPoint& p) { return p.q3; });
    s += "<polyline class=\"median\" points=\"";
    for (size_t i = 0; i < n; ++i) s += num(x(i)) + "," + num(y(pts[i].median)) + " ";
    s += "\"/>";
  }
  for (size_t i = 0; i < n; ++i) {
    const TrendPoint& p = pts[i];
    const char* cls = p.verdict == Verdict::kRegressed ? "regressed" : p.verdict == Verdict::kImproved ? "improved" : "pt";
    bool flagged = p.verdict == Verdict::kRegressed || p.verdict == Verdict::kImproved;
    s += "<circle class=\"";
    s += cls;
    s += "\" cx=\"" + num(x(i)) + "\" cy=\"" + num(y(p.median)) + "\" r=\"" + (flagged ? "4.5" : (n > 200 ? "1" : "2.5")) +
         "\"><title>recording " + std::to_string(p.recording_id) + " · " + xml_escape(short_rev(p.revision)) +
         (p.dirty ? "-dirty" : "") + " · median " + xml_escape(format_metric_value(p.median, is_time)) + " (n=" +
         std::to_string(p.n) + ")" + (flagged ? std::string(" · ") + to_string(p.verdict) + " ×" + num(p.ratio, "%.3f") : "") +
         "</title></circle>";
  }
  // Revision labels: first, last, and up to four between.
  size_t step = std::max<size_t>(1, (n + 4) / 5);
  for (size_t i = 0; i < n; i += step) {
    s += "<text x=\"" + num(x(i)) + "\" y=\"" + num(h - bottom + 14) + "\" text-anchor=\"middle\">" +
         xml_escape(pts[i].revision.substr(0, 7)) + "</text>";
  }
  if ((n - 1) % step != 0) {
    s += "<text x=\"" + num(x(n - 1)) + "\" y=\"" + num(h - bottom + 26) + "\" text-anchor=\"end\">" +
         xml_escape(pts[n - 1].revision.substr(0, 7)) + "</text>";
  }
  s += "</svg>";
  return s;
}

std::string render_heatmap_svg(const Heatmap& m) {
  const double cell = m.columns.size() > 80 ? 6 : 12, label_w = 230, head = 16;
  const double w = std::max(label_w + cell * static_cast<double>(m.columns.size()) + 10, label_w + 420);
  const double h = head + cell * static_cast<double>(m.rows.size()) + 4;
  std::string s;
  s.reserve(200 + m.rows.size() * m.columns.size() * 90);
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + xml_escape(m.id) + "\" width=\"" + num(w, "%.0f") +
       "\" height=\"" + num(h, "%.0f") + "\">";
  if (!m.columns.empty()) {
    std::string caption = m.columns.size() == 1 ? m.columns.front() : m.columns.front() + "  →  " + m.columns.back();
    s += "<text x=\"" + num(label_w) + "\" y=\"11\">" + xml_escape(caption) + "</text>";
  }
  for (size_t r = 0; r < m.rows.size(); ++r) {
    double yy = head + cell * static_cast<double>(r);
    s += "<text x=\"" + num(label_w - 6) + "\" y=\"" + num(yy + cell - 2) + "\" text-anchor=\"end\">" +
         xml_escape(m.rows[r]) + "</text>";
    for (size_t c = 0; c < m.columns.size(); ++c) {
      s += "<rect class=\"" + m.css_class[r][c] + "\" x=\"" + num(label_w + cell * static_cast<double>(c)) + "\" y=\"" +
           num(yy) + "\" width=\"" + num(cell - 1) + "\" height=\"" + num(cell - 1) + "\"><title>" +
           xml_escape(m.title[r][c]) + "</title></rect>";
    }
  }
  s += "</svg>";
  return s;
}

namespace {

std::string sparkline(const std::vector<double>& v, size_t from) {
  double hi = 0;
  for (size_t i = from; i < v.size(); ++i) hi = std::max(hi, v[i]);
  if (hi <= 0 || v.size() - from < 2) return "";
  std::string s = "<svg width=\"120\" height=\"20\"><polyline fill=\"none\" stroke=\"#0969da\" points=\"";
  double n = static_cast<double>(v.size() - from - 1);
  for (size_t i = from; i < v.size(); ++i) {
    s += num(120 * static_cast<double>(i - from) / n) + "," + num(19 - 18 * v[i] / hi) + " ";
  }
  return s + "\"/></svg>";
}

void benchmarks_section(std::string& o, const ReportData& d, const ReportOptions& opt) {
  o += "<section id=\"benchmarks\"><h2>Benchmark trends</h2>";
  if (d.schema_version < 2) {
    o += "<p class=\"absent\">This database (schema version " + std::to_string(d.schema_version) +
         ") holds no benchmark recordings. Record some with <code>meshsim bench record --db " + xml_escape(d.db_path) +
         "</code>.</p></section>";
    return;
  }
  if (d.trends.empty()) {
    o += "<p class=\"absent\">No benchmark recordings with metric <code>" + xml_escape(opt.metric) +
         "</code> in this database.</p></section>";
    return;
  }
  size_t flagged = 0;
  for (const auto& t : d.trends) {
    for (const auto& p : t.points) flagged += p.verdict == Verdict::kRegressed;
  }
  o += "<p>" + std::to_string(d.trends.size()) + " benchmark trends over " + std::to_string(d.recordings) +
       " recordings, metric <code>" + xml_escape(opt.metric) +
       "</code>. Line: median of the repetitions; dark band: interquartile range; light band: min–max. A point is "
       "flagged when the recording differs from the previous one on the same machine (Mann–Whitney U, p &lt; 0.05, "
       "and more than " + num(opt.threshold * 100, "%.3g") + " %): <span class=\"flag-regressed\">● regressed</span> "
       "<span class=\"flag-improved\">● improved</span>. <span id=\"regression-count\">" + std::to_string(flagged) +
       "</span> regression" + (flagged == 1 ? "" : "s") + " flagged. <label><input type=\"checkbox\" id=\"only-flagged\"> only flagged</label></p>";
  o += "<div class=\"trends\">";
  const bool is_time = metric_is_time(opt.metric);
  std::string machine;
  for (size_t i = 0; i < d.trends.size(); ++i) {
    const BenchTrend& t = d.trends[i];
    if (t.machine_id != machine) {
      machine = t.machine_id;
      o += "</div><h3>Machine " + xml_escape(t.machine_id) + " — " + xml_escape(t.machine_label) +
           "</h3><div class=\"trends\">";
    }
    bool any = std::any_of(t.points.begin(), t.points.end(), [](const TrendPoint& p) {
      return p.verdict == Verdict::kRegressed || p.verdict == Verdict::kImproved;
    });
    std::string flags;
    for (const auto& p : t.points) {
      if (p.verdict == Verdict::kRegressed) {
        flags += " <span class=\"flag-regressed\">regressed ×" + num(p.ratio, "%.3f") + " at " +
                 xml_escape(short_rev(p.revision)) + "</span>";
      }
    }
    o += "<div class=\"trend\" id=\"bench-trend-" + std::to_string(i) + "\" data-flagged=\"" + (any ? "1" : "0") +
         "\"><h3>" + xml_escape(t.benchmark) + "</h3>" + render_trend_svg(t, is_time) + "<div>latest " +
         xml_escape(format_metric_value(t.points.back().median, is_time)) + flags + "</div></div>";
  }
  o += "</div></section>";
}

const char* status_class(char s) {
  switch (s) {
    case 'P': return "pass";
    case 'F': return "fail";
    case 'E': return "error";
    case 'S': return "skip";
  }
  return "absent";
}

void conformance_section(std::string& o, const ReportData& d, const ReportOptions& opt) {
  o += "<section id=\"conformance\"><h2>Conformance history</h2>";
  if (d.runs.empty()) {
    o += "<p class=\"absent\">No conformance runs in this database (record them with <code>meshsim conformance "
         "--db</code>).</p></section>";
    return;
  }
  size_t shown = std::min(opt.matrix_runs, d.runs.size());
  size_t from = d.runs.size() - shown;
  o += "<p>" + std::to_string(d.runs.size()) + " runs, " + std::to_string(d.cases.size()) + " cases." +
       (shown < d.runs.size() ? " The matrix shows the last " + std::to_string(shown) +
                                    " runs; the failing-since column reads the whole history."
                              : std::string()) +
       "</p>";
  Heatmap m;
  m.id = "conformance-matrix";
  for (size_t r = from; r < d.runs.size(); ++r) {
    m.columns.push_back("run " + std::to_string(d.runs[r].id) + " · " + short_rev(d.runs[r].git_revision));
  }
  for (const CaseHistory& c : d.cases) {
    m.rows.push_back(c.suite + "/" + c.name);
    std::vector<std::string> cls, title;
    for (size_t r = from; r < d.runs.size(); ++r) {
      char s = c.statuses[r];
      cls.push_back(status_class(s));
      title.push_back(c.name + " · run " + std::to_string(d.runs[r].id) + " (" + short_rev(d.runs[r].git_revision) +
                      "): " + (s == 'P' ? "passed" : s == 'F' ? "failed" : s == 'E' ? "error" : s == 'S' ? "skipped" : "not run") +
                      (s != ' ' ? " in " + num(c.wall_seconds[r], "%.2f") + " s" : ""));
    }
    m.css_class.push_back(cls);
    m.title.push_back(title);
  }
  o += "<h3>Pass/fail matrix (case × run)</h3><div style=\"overflow-x:auto\">" + render_heatmap_svg(m) + "</div>";
  o += "<h3>Cases</h3><table id=\"conformance-cases\"><tr><th>case</th><th>profile</th><th>latest</th>"
       "<th>failing since</th><th>latest duration</th><th>durations</th></tr>";
  for (const CaseHistory& c : d.cases) {
    char last = ' ';
    double dur = 0;
    for (size_t r = c.statuses.size(); r-- > 0;) {
      if (c.statuses[r] != ' ') {
        last = c.statuses[r];
        dur = c.wall_seconds[r];
        break;
      }
    }
    std::string st = last == 'P' ? "passed" : last == 'F' ? "failed" : last == 'E' ? "error" : last == 'S' ? "skipped" : "—";
    o += "<tr><td>" + xml_escape(c.suite + "/" + c.name) + "</td><td>" + xml_escape(c.profile) +
         "</td><td class=\"status-" + st + "\">" + st + "</td><td>" +
         (c.failing_now ? "<span class=\"flag-regressed\">" + xml_escape(short_rev(c.failing_since_revision)) +
                              "</span> (run " + std::to_string(c.failing_since_run) + ")"
                        : "—") +
         "</td><td class=\"num\">" + num(dur, "%.2f") + " s</td><td>" + sparkline(c.wall_seconds, from) + "</td></tr>";
  }
  o += "</table></section>";
}

std::string bound_label(double ms) {
  return ms < 1000 ? num(ms, ms < 1 ? "%.1f" : "%.0f") + " ms" : num(ms / 1000, "%.0f") + " s";
}

// An edge's latency histogram as inline SVG: one bar per bucket from the first
// to the last non-empty one, successful requests green with the failed ones
// stacked on them in red, heights on a log scale relative to the fullest
// bucket (at least 2 px when not empty); each bar's title gives its range and
// counts.
std::string latency_histogram_svg(const EdgeRecord& e) {
  const size_t n = e.latency_le_ms.size() + 1;
  if (e.latency_le_ms.empty() || e.latency_ok.size() != n || e.latency_failed.size() != n) return "—";
  size_t first = n, last = 0;
  uint64_t top = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t t = e.latency_ok[i] + e.latency_failed[i];
    if (t == 0) continue;
    first = std::min(first, i);
    last = i;
    top = std::max(top, t);
  }
  if (top == 0) return "—";
  constexpr double kBar = 7, kHeight = 24;
  const size_t bars = last - first + 1;
  auto lower = [&](size_t i) { return i == 0 ? 0.0 : e.latency_le_ms[i - 1]; };
  std::string svg = "<svg class=\"latency-histogram\" width=\"" + num(kBar * static_cast<double>(bars), "%.0f") +
                    "\" height=\"" + num(kHeight, "%.0f") + "\">";
  for (size_t i = first; i <= last; ++i) {
    const double x = kBar * static_cast<double>(i - first);
    // Log scale (a lone failure beside thousands of successes stays visible),
    // split between the two series in proportion to their counts.
    const double ok_n = static_cast<double>(e.latency_ok[i]), fail_n = static_cast<double>(e.latency_failed[i]);
    const double total = ok_n + fail_n;
    const double h = total == 0 ? 0 : std::max(2.0, kHeight * std::log1p(total) / std::log1p(static_cast<double>(top)));
    const double hok = total == 0 ? 0 : h * ok_n / total;
    const double hfail = h - hok;
    std::string range = i + 1 == n ? "> " + bound_label(lower(i)) : bound_label(lower(i)) + " – " + bound_label(e.latency_le_ms[i]);
    svg += "<g><title>" + xml_escape(range) + ": " + std::to_string(e.latency_ok[i]) + " ok, " +
           std::to_string(e.latency_failed[i]) + " failed</title>";
    if (e.latency_ok[i]) {
      svg += "<rect class=\"allow\" x=\"" + num(x, "%.0f") + "\" y=\"" + num(kHeight - hok, "%.2f") + "\" width=\"" +
             num(kBar - 1, "%.0f") + "\" height=\"" + num(hok, "%.2f") + "\"/>";
    }
    if (e.latency_failed[i]) {
      svg += "<rect class=\"deny\" x=\"" + num(x, "%.0f") + "\" y=\"" + num(kHeight - hok - hfail, "%.2f") +
             "\" width=\"" + num(kBar - 1, "%.0f") + "\" height=\"" + num(hfail, "%.2f") + "\"/>";
    }
    svg += "</g>";
  }
  svg += "</svg><span class=\"axis\">" + xml_escape(bound_label(lower(first))) + " – " +
         xml_escape(last + 1 == n ? "∞" : bound_label(e.latency_le_ms[last])) + "</span>";
  return svg;
}

void runs_section(std::string& o, const ReportData& d) {
  o += "<section id=\"runs\"><h2>Runs</h2>";
  if (d.recent.empty()) {
    o += "<p class=\"absent\">No conformance runs recorded.</p></section>";
    return;
  }
  o += "<p class=\"note\">Each case lists its edges (requests, success, mTLS on the wire, latency p50/p99 and "
       "histogram — successful requests green, failed ones red —, failures) and its story, as the scenario runner "
       "reported them; runs recorded before schema version 4 have neither, before version 5 no histograms.</p>";
  for (const RunDetail& r : d.recent) {
    const RunRecord& run = r.run;
    o += "<section id=\"run-" + std::to_string(r.id) + "\"><h3>Run " + std::to_string(r.id) + " · " +
         xml_escape(short_rev(run.git_revision)) + " · " + xml_escape(run.started_at) +
         (run.shard.empty() ? "" : " · shard " + xml_escape(run.shard)) + "</h3><p><code>" + xml_escape(run.command) +
         "</code> — " + std::to_string(run.count(CaseStatus::kPassed)) + " passed, " +
         std::to_string(run.count(CaseStatus::kFailed)) + " failed, " + std::to_string(run.count(CaseStatus::kError)) +
         " errors, " + std::to_string(run.count(CaseStatus::kSkipped)) + " skipped in " + num(run.wall_seconds, "%.1f") +
         " s</p><table><tr><th>case</th><th>status</th><th>expectations</th><th>virtual</th><th>wall</th>"
         "<th>fingerprint</th><th>detail</th></tr>";
    for (const CaseResult& c : run.cases) {
      size_t ok = 0;
      std::string detail = c.message;
      for (const auto& e : c.expectations) {
        ok += e.passed;
        if (!e.passed) detail += (detail.empty() ? "" : "; ") + e.name + ": expected " + e.expected + ", actual " + e.actual;
      }
      std::string st = to_string(c.status);
      o += "<tr><td>" + xml_escape(c.suite + "/" + c.name) + "</td><td class=\"status-" + st + "\">" + st +
           "</td><td class=\"num\">" + std::to_string(ok) + "/" + std::to_string(c.expectations.size()) +
           "</td><td class=\"num\">" + num(c.virtual_seconds, "%.1f") + " s</td><td class=\"num\">" +
           num(c.wall_seconds, "%.2f") + " s</td><td><code>" + xml_escape(c.fingerprint) + "</code></td><td>" +
           xml_escape(detail) + "</td></tr>";
    }
    o += "</table>";
    for (const CaseResult& c : run.cases) {
      if (c.edges.empty() && c.story.empty()) continue;
      o += "<details class=\"case-detail\" id=\"run-" + std::to_string(r.id) + "-" + xml_escape(c.suite + "-" + c.name) +
           "\"><summary>" + xml_escape(c.suite + "/" + c.name) + ": " + std::to_string(c.edges.size()) + " edges, " +
           std::to_string(c.story.size()) + " story lines</summary>";
      if (!c.edges.empty()) {
        o += "<table class=\"edges\"><tr><th>from</th><th>to</th><th>protocol</th><th>requests</th><th>success</th>"
             "<th>mTLS</th><th>p50</th><th>p99</th><th>latency</th><th>failures</th></tr>";
        for (const EdgeRecord& e : c.edges) {
          double ok = e.requests ? 100.0 * static_cast<double>(e.ok) / static_cast<double>(e.requests) : 0;
          std::string mtls = e.judged ? num(100.0 * static_cast<double>(e.mtls) / static_cast<double>(e.judged), "%.0f") + " %" : "—";
          // The success share as a bar: green ok, red the rest.
          std::string bar = "<svg width=\"60\" height=\"8\"><rect class=\"deny\" width=\"60\" height=\"8\"/><rect class=\"allow\" width=\"" +
                            num(0.6 * ok, "%.1f") + "\" height=\"8\"/></svg>";
          o += "<tr><td>" + xml_escape(e.from) + "</td><td>" + xml_escape(e.target) + "</td><td>" + xml_escape(e.protocol) +
               "</td><td class=\"num\">" + std::to_string(e.requests) + "</td><td class=\"num\">" + bar + " " +
               num(ok, "%.0f") + " %</td><td class=\"num\">" + mtls + "</td><td class=\"num\">" + num(e.p50_ms, "%.2f") +
               " ms</td><td class=\"num\">" + num(e.p99_ms, "%.2f") + " ms</td><td class=\"histogram\">" +
               latency_histogram_svg(e) + "</td><td>" + xml_escape(e.failures) + "</td></tr>";
        }
        o += "</table>";
      }
      if (!c.story.empty()) {
        o += "<ol class=\"story\">";
        for (const StoryRecord& line : c.story) {
          o += "<li><code>" + num(line.at_seconds, "%.3f") + " s</code> " + xml_escape(line.text) + "</li>";
        }
        o += "</ol>";
      }
      o += "</details>";
    }
    o += "</section>";
  }
  o += "</section>";
}

void whatif_section(std::string& o, const ReportData& d) {
  o += "<section id=\"whatif\"><h2>What-if connectivity</h2>";
  if (!d.whatif) {
    o += "<p class=\"absent\" id=\"whatif-none\">No what-if runs recorded in this database.</p></section>";
    return;
  }
  o += "<p>What-if run " + std::to_string(d.whatif_run) + ": each cell is one source → destination probe through the full "
       "simulation (green: ok, red: not; outlined: changed by the change; hover for the symbol and the engine's reason).</p>" +
       render_heatmap_svg(*d.whatif) + "</section>";
}

}  // namespace

std::string render_html_report(const ReportData& d, const ReportOptions& opt) {
  std::string o;
  o.reserve(1 << 20);
  std::time_t t = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>meshsim report — " +
       xml_escape(d.db_path) + "</title><meta name=\"viewport\" content=\"width=device-width\"><style>" + kCss +
       "</style></head><body><header><h1>meshsim report</h1><p id=\"summary\">" + xml_escape(d.db_path) +
       " · schema version " + std::to_string(d.schema_version) + " · " + std::to_string(d.recordings) +
       " benchmark recordings · " + std::to_string(d.runs.size()) + " conformance runs · generated " + when +
       "</p><nav><a href=\"#benchmarks\">Benchmarks</a><a href=\"#conformance\">Conformance</a><a href=\"#runs\">Runs</a>"
       "<a href=\"#whatif\">What-if</a></nav></header><main><div id=\"js-errors\"></div>";
  benchmarks_section(o, d, opt);
  conformance_section(o, d, opt);
  runs_section(o, d);
  whatif_section(o, d);
  o += "</main><script>";
  o += kScript;
  o += "</script></body></html>\n";
  return o;
}

}  // namespace meshsim::reports
