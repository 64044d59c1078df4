// meshsim-gui — the desktop viewer (docs/gui.md).
//
//   meshsim-gui [SCENARIO] [--events FILE.jsonl] [--seed N] [--duration D] [--at T]
//   meshsim-gui [SCENARIO] --export graph.svg [--export graph.png …] --at 45s
//
// Without SCENARIO it opens the bundled Bookinfo STRICT migration. With
// --export it writes the graph at --at and exits without opening a window
// (the offscreen platform, so it runs on headless machines). Exit codes:
// 0 ok, 2 bad input or usage (the message names what was wrong).
#include <CLI/CLI.hpp>
#include <QApplication>
#include <QTimer>
#include <cstdio>
#include <cstdlib>

#include "gui/model/viewer_session.h"
#include "gui/view/export.h"
#include "gui/view/graph_scene.h"
#include "gui/view/main_window.h"
#include "mesh/diagnostics.h"
#include "sim/scenario/scenario.h"

namespace meshsim::embedded {
extern const char* const kDefaultScenario;
}

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "meshsim-gui: error: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace meshsim;
  CLI::App app{"meshsim-gui — the desktop viewer of a meshsim run: topology, live flows, honest mTLS per edge,\n"
               "a timeline you can seek, inspectors (docs/gui.md).",
               "meshsim-gui"};
  std::string scenario_path, events, at = "0s", duration;
  std::vector<std::string> exports;
  uint64_t seed = 0;
  bool seed_set = false;
  app.add_option("scenario", scenario_path, "scenario file (default: the bundled Bookinfo STRICT migration)");
  app.add_option("--events", events, "show a run recorded with `meshsim run --events FILE.jsonl` instead of simulating");
  app.add_option("--at", at, "virtual time to open at, or to export at (45s, 1m30s)");
  app.add_option("--export", exports, "write the graph at --at to FILE (.svg, .png, .dot, .json) and exit; repeatable");
  auto* seed_opt = app.add_option("--seed", seed, "override the scenario's seed");
  app.add_option("--duration", duration, "override the scenario's duration (30s, 2h)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(std::string(e.what()) + " (see meshsim-gui --help)");
  }
  seed_set = seed_opt->count() > 0;
  for (const auto& e : exports) {
    if (!gui::is_export_path(e)) return fail("--export " + e + ": unknown format (write .svg, .png, .dot or .json)");
  }
  auto t = gui::parse_virtual_time(at);
  if (!t.ok()) return fail("--at: " + t.message());

  sim::ScenarioLoad load = scenario_path.empty()
                               ? sim::load_scenario_text(embedded::kDefaultScenario,
                                                         "scenarios/bookinfo-migration.yaml (bundled)", ".")
                               : sim::load_scenario(scenario_path);
  mesh::sort_diagnostics(load.diagnostics);
  size_t errors = 0;
  for (const auto& d : load.diagnostics) {
    if (d.severity == mesh::Severity::kError) {
      ++errors;
      std::fprintf(stderr, "%s\n", d.format().c_str());
    }
  }
  if (errors || !load.scenario) return fail("the scenario has " + std::to_string(errors) + " error(s) (see above)");
  sim::Scenario& s = *load.scenario;
  if (seed_set) s.seed = seed;
  if (!duration.empty()) {
    auto d = parse_duration(duration);
    if (!d.ok() || d->ns() <= 0) return fail("--duration: not a positive duration: \"" + duration + "\"");
    s.duration = *d;
  }
  if (*t > s.duration.ns() && events.empty())
    return fail("--at " + at + " is past the end of the run (" + format_duration(s.duration) + ")");

  // Headless: exporting needs no display.
  if (!exports.empty() && !std::getenv("QT_QPA_PLATFORM")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
  QApplication qapp(argc, argv);
  auto session = events.empty() ? gui::ViewerSession::open_live(s) : gui::ViewerSession::open_recorded(s, events);
  if (!session.ok()) return fail(session.message());
  if (!events.empty() && *t > (*session)->end_ns())
    return fail("--at " + at + " is past the end of the recording (" +
                gui::format_virtual_time((*session)->end_ns()) + ")");
  (*session)->seek(*t);

  if (!exports.empty()) {
    gui::GraphScene scene;
    scene.rebuild((*session)->model());
    for (const auto& path : exports) {
      Status st = gui::export_graph(path, scene, (*session)->model());
      if (!st.ok()) return fail(st.message());
      std::fprintf(stderr, "wrote %s (graph at %s)\n", path.c_str(), gui::format_virtual_time(*t).c_str());
    }
    return 0;
  }
  gui::MainWindow w(std::move(*session));
  w.show();
  QTimer::singleShot(0, &w, [&w] { w.fit(); });
  return qapp.exec();
}
