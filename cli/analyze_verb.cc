// `meshsim analyze PATH…` — validates Kubernetes + Istio manifests and reports
// coded findings (docs/analyzers.md), like `istioctl analyze` but offline.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/mesh_input.h"
#include "cli/verb.h"
#include "mesh/analysis_output.h"
#include "mesh/analyzers.h"
#include "meshsim_version.h"

namespace meshsim::cli {

namespace {

struct AnalyzeOptions {
  std::vector<std::string> paths;
  std::string output = "log";
  std::string failure_threshold = "Error";
  std::string output_threshold = "Info";
  std::string mesh_config;
  std::vector<std::string> inject_namespaces;
};

}  // namespace

void register_analyze(CLI::App& app, VerbContext& ctx) {
  auto opts = std::make_shared<AnalyzeOptions>();
  CLI::App* sub = app.add_subcommand(
      "analyze",
      "Validate Kubernetes + Istio manifests and report what will go wrong at runtime.\n"
      "Reads files, directories (recursively: *.yaml, *.yml) and '-' (stdin). Every finding has a\n"
      "level, a code (MSxxxx, mapped to Istio's ISTxxxx where one exists; see docs/analyzers.md),\n"
      "the resource, file:line:column and a message saying what happens and how to fix it.\n\n"
      "Examples:\n"
      "  meshsim analyze samples/bookinfo/                  # a directory, human-readable\n"
      "  meshsim analyze app.yaml -o sarif > analyze.sarif  # for GitHub code scanning\n"
      "  kubectl get -A -o yaml pa,dr,vs | meshsim analyze -\n"
      "  meshsim analyze k8s/ --mesh-config mesh.yaml --failure-threshold Warning\n\n"
      "Exit codes: 0 no finding at or above --failure-threshold; 1 such a finding;\n"
      "2 the input itself is invalid (unreadable, bad YAML, schema errors).");
  sub->add_option("paths", opts->paths, "Files, directories or - for stdin")->required();
  sub->add_option("-o,--output", opts->output, "Output format: log, json or sarif (SARIF 2.1.0)")
      ->check(CLI::IsMember({"log", "json", "sarif"}))
      ->capture_default_str();
  sub->add_option("--failure-threshold", opts->failure_threshold,
                  "Lowest level that makes the command exit 1: Error, Warning or Info")
      ->check(CLI::IsMember({"Error", "Warning", "Info"}, CLI::ignore_case))
      ->capture_default_str();
  sub->add_option("--output-threshold", opts->output_threshold, "Lowest level printed: Error, Warning or Info")
      ->check(CLI::IsMember({"Error", "Warning", "Info"}, CLI::ignore_case))
      ->capture_default_str();
  sub->add_option("--mesh-config", opts->mesh_config,
                  "MeshConfig file (or an IstioOperator) applied on top of Istio's defaults and the manifests' own");
  add_inject_namespace_flag(sub, opts->inject_namespaces);
  sub->callback([opts, &ctx] {
    mesh::Severity fail_at = mesh::Severity::kError, print_at = mesh::Severity::kInfo;
    mesh::parse_severity(opts->failure_threshold, &fail_at);
    mesh::parse_severity(opts->output_threshold, &print_at);
    mesh::AnalysisResult r = mesh::analyze_inputs(opts->paths, opts->mesh_config, nullptr, opts->inject_namespaces);
    std::vector<mesh::Diagnostic> shown;
    bool failed = false;
    for (auto& d : r.diagnostics) {
      if (d.severity <= fail_at) failed = true;
      if (d.severity <= print_at) shown.push_back(d);
    }
    std::string out;
    if (opts->output == "json") out = mesh::format_json(shown);
    else if (opts->output == "sarif") out = mesh::format_sarif(shown, MESHSIM_VERSION);
    else out = mesh::format_log(shown, r.stats.files);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    if (r.input_errors && r.stats.objects == 0) {
      print_error("no manifests could be loaded (see above)");
      ctx.exit_code = kExitBadInput;
    } else if (r.input_errors) {
      print_error("the input has errors (see above); the analyzers ran on the objects that loaded, the others are missing from the findings");
      ctx.exit_code = kExitBadInput;
    } else {
      ctx.exit_code = failed ? kExitCheckFailed : kExitOk;
    }
  });
}

}  // namespace meshsim::cli
