// `meshsim run [SCENARIO]` — plays a scenario (docs/formats/scenario.md): the
// mesh, its apps and its timeline in virtual time; prints the story, a table
// per edge and the expectations. Without a scenario it runs the bundled
// default, scenarios/bookinfo-migration.yaml.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "cli/capture_flags.h"
#include "cli/mesh_input.h"
#include "cli/metrics_flags.h"
#include "cli/verb.h"
#include "sim/scenario/runner.h"

namespace meshsim::embedded {
extern const char* const kDefaultScenario;
}

namespace meshsim::cli {

namespace {
struct RunVerbOptions {
  std::string scenario;
  std::string events;
  std::string trace;
  std::string trace_format = "zipkin";
  std::string json;
  std::string duration;
  int64_t seed = -1;
  bool quiet = false;
  bool strict = false;
  bool verbose = false;
  std::vector<std::string> inject_namespaces;
  sim::CaptureOptions capture;
  MetricsFlags metrics;
};

class ProgressBar {
 public:
  explicit ProgressBar(Duration total) : total_(total), start_(std::chrono::steady_clock::now()), last_(start_) {}
  void update(Duration now, uint64_t events) {
    auto t = std::chrono::steady_clock::now();
    if (t - last_ < std::chrono::milliseconds(100) && now < total_) return;
    last_ = t;
    double wall = std::chrono::duration<double>(t - start_).count();
    double frac = total_.ns() > 0 ? now.to_seconds() / total_.to_seconds() : 1;
    int filled = static_cast<int>(frac * 30);
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < 30) bar += '>';
    bar.resize(30, ' ');
    std::fprintf(stderr, "\r[%s] %7.1fs / %.0fs  %6.2fM ev/s  x%-6.0f", bar.c_str(), now.to_seconds(), total_.to_seconds(),
                 wall > 0 ? static_cast<double>(events) / wall / 1e6 : 0.0, wall > 0 ? now.to_seconds() / wall : 0.0);
    if (now >= total_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  Duration total_;
  std::chrono::steady_clock::time_point start_, last_;
};
}  // namespace

void register_run(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<RunVerbOptions>();
  CLI::App* sub = app.add_subcommand(
      "run",
      "Run a scenario: a mesh (your manifests), its applications and a timeline of changes, in\n"
      "virtual time. Prints the story (what changed, who broke, when and why), a table per edge\n"
      "(requests, success, mTLS on the wire, latency, errors) and the scenario's expectations.\n"
      "Without SCENARIO, runs the bundled Bookinfo migration (PERMISSIVE -> STRICT at 60s with a\n"
      "legacy client and a MySQL backend). docs/formats/scenario.md describes the file format.\n\n"
      "Examples:\n"
      "  meshsim run\n"
      "  meshsim run scenarios/bookinfo-migration.yaml --pcap mesh.pcap --keylog keys.log\n"
      "  meshsim run my-migration.yaml --events events.jsonl --json result.json --seed 7\n"
      "  meshsim run bookinfo-tracing.yaml --trace spans.json\n\n"
      "Exit codes: 0 every expectation passed, 1 an expectation failed, 2 bad scenario or flags.");
  sub->add_option("scenario", o->scenario, "Scenario file (default: the bundled bookinfo-migration)");
  sub->add_option("--seed", o->seed, "Override the scenario's seed");
  sub->add_option("--duration", o->duration, "Override the scenario's duration (e.g. 30s)");
  sub->add_option("--events", o->events, "Write the event stream as JSON Lines to FILE");
  sub->add_option("--trace", o->trace,
                  "Write the spans the sidecars reported (sampled) to FILE: Zipkin v2 JSON, the body Envoy's Zipkin\n"
                  "tracer POSTs to /api/v2/spans (load it into Zipkin or Jaeger), or OTLP JSON with --trace-format otlp.\n"
                  "Spans exist only where a tracer is configured (Telemetry tracing provider, meshConfig\n"
                  "defaultProviders.tracing, or defaultConfig.tracing.zipkin.address); the story reports broken traces");
  sub->add_option("--trace-format", o->trace_format, "Trace file format: zipkin (default) or otlp")
      ->check(CLI::IsMember({"zipkin", "otlp"}));
  sub->add_option("--json", o->json, "Write the result (story, edges, expectations) as JSON to FILE ('-' = stdout)");
  sub->add_flag("-q,--quiet", o->quiet, "No progress bar");
  sub->add_flag("--strict", o->strict,
                "Unknown fields in the scenario file are errors (exit 2), not warnings; conformance always loads\n"
                "scenarios this way");
  add_inject_namespace_flag(sub, o->inject_namespaces);
  sub->add_flag("-v,--verbose", o->verbose,
                "Print every warning about the scenario's manifests (those that change the answer, such as pods\n"
                "without a sidecar, are always printed)");
  add_capture_flags(sub, o->capture);
  add_metrics_flags(sub, o->metrics);
  sub->callback([o, &ctx] {
    if (Status st = sim::validate_capture_options(o->capture); !st.ok()) {
      print_error(st.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    sim::ScenarioLoadOptions lo;
    lo.strict = o->strict;
    lo.inject_namespaces = o->inject_namespaces;
    sim::ScenarioLoad load = o->scenario.empty()
                                 ? sim::load_scenario_text(embedded::kDefaultScenario,
                                                           "scenarios/bookinfo-migration.yaml (bundled)", ".", lo)
                                 : sim::load_scenario(o->scenario, lo);
    // Errors and the scenario's own warnings (unknown fields, with "did you
    // mean") are always shown, in file order; the manifests' warnings only
    // when they change the answer, or with -v.
    mesh::sort_diagnostics(load.diagnostics);
    size_t errors = 0;
    std::vector<mesh::Diagnostic> manifest_warnings;
    for (const auto& d : load.diagnostics) {
      if (d.severity == mesh::Severity::kError) ++errors;
      bool scenario_warning = d.severity == mesh::Severity::kWarning && d.resource.rfind("Scenario ", 0) == 0;
      if (d.severity == mesh::Severity::kError || scenario_warning) std::fprintf(stderr, "%s\n", d.format().c_str());
      else if (d.severity == mesh::Severity::kWarning) manifest_warnings.push_back(d);
    }
    print_warnings(manifest_warnings, o->verbose);
    if (!load.scenario) {
      print_error("the scenario has " + std::to_string(errors) + (errors == 1 ? " error" : " errors") + " (see above)");
      ctx.exit_code = kExitBadInput;
      return;
    }
    sim::Scenario& s = *load.scenario;
    if (o->seed >= 0) s.seed = static_cast<uint64_t>(o->seed);
    if (!o->duration.empty()) {
      auto d = parse_duration(o->duration);
      if (!d.ok() || d->ns() <= 0) {
        print_error("--duration: " + (d.ok() ? std::string("must be positive") : d.message()));
        ctx.exit_code = kExitBadInput;
        return;
      }
      s.duration = *d;
    }
    auto metrics = MetricsSession::start(o->metrics);
    if (!metrics.ok()) {
      print_error(metrics.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    sim::RunOptions ro;
    if (o->metrics.any()) ro.metrics = (*metrics)->recorder();
    ro.capture = o->capture;
    ro.events_file = o->events;
    ro.trace_file = o->trace;
    ro.trace_format = o->trace_format == "otlp" ? sim::TraceRecorder::Format::kOtlp : sim::TraceRecorder::Format::kZipkin;
    std::unique_ptr<ProgressBar> bar;
    if (!o->quiet && isatty(2)) {
      bar = std::make_unique<ProgressBar>(s.duration);
      ro.progress = [&bar](Duration now, uint64_t events) { bar->update(now, events); };
    }
    auto r = sim::run_scenario(s, ro);
    (*metrics)->linger();
    if (!r.ok()) {
      print_error(r.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    std::string text = sim::format_run_text(*r);
    if (o->json == "-") {
      std::string j = sim::format_run_json(*r);
      std::fwrite(j.data(), 1, j.size(), stdout);
    } else {
      std::fwrite(text.data(), 1, text.size(), stdout);
      if (!o->json.empty()) {
        std::ofstream f(o->json + ".partial", std::ios::binary);
        f << sim::format_run_json(*r);
        f.close();
        if (!f || std::rename((o->json + ".partial").c_str(), o->json.c_str()) != 0) {
          int err = errno;
          std::remove((o->json + ".partial").c_str());
          print_error("--json: cannot write " + o->json + ": " + std::strerror(err));
          ctx.exit_code = kExitBadInput;
          return;
        }
        print_wrote(o->json, "run result, JSON");
      }
    }
    for (const auto& out : r->outputs) {
      size_t paren = out.rfind(" (");
      print_wrote(out.substr(0, paren), paren == std::string::npos ? "" : out.substr(paren + 2, out.size() - paren - 3));
    }
    ctx.exit_code = r->passed() ? kExitOk : kExitCheckFailed;
  });
}

}  // namespace meshsim::cli
