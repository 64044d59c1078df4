// `meshsim whatif` — connectivity truth tables before and after a change,
// every changed cell with the engine's reason; `--plan-strict` plans a STRICT
// migration. See docs/cli/whatif.md.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/mesh_input.h"
#include "cli/verb.h"
#include "meshsim_version.h"
#include "reports/whatif_store.h"
#include "sim/whatif/diff.h"
#include "sim/whatif/plan.h"
#include "sim/whatif/render.h"

namespace meshsim::cli {

namespace {

struct WhatifOptions {
  MeshInput input;
  std::vector<std::string> apply, base, head;
  std::string git;
  std::vector<std::string> git_paths;
  std::vector<std::string> plan_strict;
  std::vector<std::string> from, to;
  std::string requests;
  bool no_external = false;
  std::string output = "text";
  std::string sarif_file, markdown_file, json_file;
  std::string db;
  std::string command;
  bool changed = false;
  bool allow_breaks = false;
  int jobs = 0;
  bool exhaustive = false;
  uint64_t seed = 1;
};

// Runs a command (no shell) and returns its stdout, or nullopt on failure.
std::optional<std::string> run_git(const std::vector<std::string>& args, std::string* err = nullptr) {
  std::string cmd = "git";
  for (const auto& a : args) {
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += " " + q + "'";
  }
  cmd += err ? " 2>&1" : " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = pclose(p);
  if (rc != 0) {
    if (err) *err = out;
    return std::nullopt;
  }
  return out;
}

bool is_yaml(const std::string& path) {
  auto ends = [&](const char* s) {
    std::string e(s);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  return ends(".yaml") || ends(".yml");
}

// The manifests under `paths` at git revision `rev`, each named by its path
// (relative to the current directory) so diagnostics and SARIF point at the
// lines in the repository.
Result<mesh::LoadResult> load_git_revision(const std::string& rev, const std::vector<std::string>& paths) {
  std::string err;
  if (!run_git({"rev-parse", "--verify", "--quiet", rev + "^{commit}"}, &err)) {
    return Error{"--git: \"" + rev + "\" is not a revision of the repository in the current directory" +
                 (err.empty() ? std::string() : " (" + err.substr(0, err.find('\n')) + ")")};
  }
  std::vector<std::string> args = {"ls-tree", "-r", "--name-only", "-z", rev, "--"};
  args.insert(args.end(), paths.begin(), paths.end());
  auto listing = run_git(args, &err);
  if (!listing) return Error{"--git: git ls-tree " + rev + " failed: " + err};
  std::vector<std::string> files;
  size_t start = 0;
  while (start < listing->size()) {
    size_t z = listing->find('\0', start);
    std::string f = listing->substr(start, z == std::string::npos ? std::string::npos : z - start);
    if (is_yaml(f)) files.push_back(f);
    if (z == std::string::npos) break;
    start = z + 1;
  }
  std::sort(files.begin(), files.end());
  mesh::LoadResult lr;
  for (const std::string& f : files) {
    auto text = run_git({"show", rev + ":./" + f}, &err);
    if (!text) return Error{"--git: cannot read " + f + " at " + rev + ": " + err};
    ++lr.stats.files;
    lr.stats.bytes += text->size();
    mesh::load_text(*text, f, lr.resources, lr.diagnostics, &lr.stats);
  }
  if (files.empty()) return Error{"--git: no *.yaml or *.yml files under the given paths at " + rev};
  return lr;
}

std::shared_ptr<const mesh::World> world_of(mesh::LoadResult lr, const MeshInput& in, bool quiet = false) {
  auto w = derive_world(std::move(lr), in, quiet);
  if (!w) return nullptr;
  return std::make_shared<const mesh::World>(std::move(*w));
}

// Writes atomically: the file appears complete or not at all.
bool write_file(const std::string& path, const std::string& text, const std::string& what) {
  std::string tmp = path + ".partial";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) {
      print_error("cannot write " + path);
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    print_error("cannot write " + path);
    std::remove(tmp.c_str());
    return false;
  }
  print_wrote(path, what);
  return true;
}

reports::WhatifCellRecord cell_record(const std::string& from, const std::string& to, const whatif::Cell& c, char before) {
  reports::WhatifCellRecord r;
  r.source = from;
  r.destination = to;
  r.symbol = std::string(1, c.symbol);
  r.outcome = whatif::symbol_ok(c.symbol) ? "ok" : whatif::symbol_meaning(c.symbol);
  r.reason = c.reason();
  if (before) r.before = before == ' ' ? std::string("-") : std::string(1, before);
  return r;
}

// The run as the results database keeps it: a single table, or the head of
// a comparison with each changed cell's symbol before the change.
reports::WhatifRunRecord run_record(const whatif::Table& t, const whatif::Comparison* cmp, const std::string& command) {
  reports::WhatifRunRecord run;
  run.started_at = now_rfc3339();
  run.git_revision = MESHSIM_GIT_REVISION;
  run.command = command;
  run.comparison = cmp != nullptr;
  std::map<std::pair<std::string, std::string>, char> before;
  if (cmp) {
    run.broken = cmp->broken();
    run.fixed = cmp->fixed();
    run.changed = cmp->changes.size();
    for (const auto& ch : cmp->changes) before[{ch.source, ch.destination}] = ch.before;
  }
  for (size_t r = 0; r < t.sources.size(); ++r) {
    for (size_t c = 0; c < t.destinations.size(); ++c) {
      auto it = before.find({t.sources[r].id, t.destinations[c].id});
      run.cells.push_back(cell_record(t.sources[r].id, t.destinations[c].id, t.at(r, c), it == before.end() ? 0 : it->second));
    }
  }
  return run;
}

bool record(const std::string& db, const reports::WhatifRunRecord& run) {
  auto id = reports::record_whatif(db, run);
  if (!id.ok()) {
    print_error(id.message());
    return false;
  }
  print_wrote(db, "what-if run " + std::to_string(*id) + ", " + std::to_string(run.cells.size()) + " cells");
  return true;
}

// A progress bar on a terminal.
std::function<void(size_t, size_t)> progress_bar() {
  if (!isatty(STDERR_FILENO)) return {};
  return [last = size_t(0)](size_t done, size_t total) mutable {
    size_t pct = total ? done * 100 / total : 100;
    if (pct == last && done != total) return;
    last = pct;
    std::string bar(pct / 4, '#');
    std::fprintf(stderr, "\r  probing [%-25s] %zu/%zu probes", bar.c_str(), done, total);
    if (done == total) std::fprintf(stderr, "\r%*s\r", 60, "");
    std::fflush(stderr);
  };
}

}  // namespace

void register_whatif(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<WhatifOptions>();
  CLI::App* sub = app.add_subcommand(
      "whatif",
      "Who loses (or gains) access if this change is merged? Probes every source workload (and a client\n"
      "outside the mesh) against every Service port through the full simulation — sidecars, real mTLS,\n"
      "policies, applications — before and after the change, and prints the truth table and each changed\n"
      "cell with the reason the engine gave (filter chain, PeerAuthentication, DestinationRule, denying\n"
      "AuthorizationPolicy rule) and the changed objects that caused it.\n\n"
      "Symbols: M ok over mTLS, P ok plaintext, D denied by policy, R reset, C refused, T timeout,\n"
      "E TLS error, F protocol failure, 4/5 HTTP 4xx/5xx, N DNS error, ~ mixed, ? not probed.\n\n"
      "Examples:\n"
      "  meshsim whatif --mesh k8s/                                   # one truth table\n"
      "  meshsim whatif --mesh k8s/ --apply strict.yaml               # before/after a change\n"
      "  meshsim whatif --base old/ --head new/ -o markdown\n"
      "  meshsim whatif --git main..feature -- k8s/ --sarif whatif.sarif --markdown comment.md\n"
      "  meshsim whatif --mesh k8s/ --plan-strict foo bar             # a verified STRICT migration plan\n\n"
      "Exit codes: 0 no edge that worked is broken, 1 an edge is broken (unless --allow-breaks) or the\n"
      "STRICT plan is not safe, 2 bad input.");
  sub->add_option("--mesh", o->input.paths, "Manifests (files or directories): the mesh as it is");
  sub->add_option("--apply", o->apply, "Manifests of the change, applied onto --mesh like kubectl apply");
  sub->add_option("--base", o->base, "The mesh before the change (instead of --mesh/--apply)");
  sub->add_option("--head", o->head, "The mesh after the change");
  sub->add_option("--git", o->git, "REV1..REV2: the manifests under PATHS (after --) at two git revisions;\n"
                                   "REV1.. compares REV1 with the working tree");
  sub->add_option("paths", o->git_paths, "With --git: the paths to read (after --)");
  sub->add_option("--plan-strict", o->plan_strict, "Plan switching these namespaces to STRICT mTLS: what breaks, and a\n"
                                                   "safe order of steps, each verified by a what-if run")
      ->delimiter(',')
      ->option_text("NS…");
  sub->add_option("--from", o->from, "Sources: NS, NS/WORKLOAD, KEY=VALUE[,…] (pod labels) or external (repeatable)");
  sub->add_option("--to", o->to, "Destinations: NS, NS/SERVICE, NS/WORKLOAD or KEY=VALUE[,…] of the backends (repeatable)");
  sub->add_option("--requests", o->requests, "HTTP requests per HTTP cell, comma list of 'METHOD PATH' (default 'GET /')");
  sub->add_flag("--no-external", o->no_external, "Leave out the client outside the mesh");
  sub->add_option("-o,--output", o->output, "text, markdown, json, csv or sarif")
      ->check(CLI::IsMember({"text", "markdown", "json", "csv", "sarif"}))
      ->capture_default_str();
  sub->add_option("--sarif", o->sarif_file, "Also write SARIF 2.1.0 (results at the changed manifests' lines) to FILE");
  sub->add_option("--markdown", o->markdown_file, "Also write the Markdown summary (for a pull-request comment) to FILE");
  sub->add_option("--json", o->json_file, "Also write the JSON result to FILE");
  sub->add_option("--db", o->db, "Also record the table (after the change) in this results database, for `meshsim report`'s heatmap");
  sub->add_flag("--changed", o->changed, "Text: show only the rows with a changed cell");
  sub->add_flag("--allow-breaks", o->allow_breaks, "Exit 0 even when a change breaks an edge");
  sub->add_option("-j,--jobs", o->jobs, "Worker processes (default: the number of CPUs)");
  sub->add_flag("--exhaustive", o->exhaustive, "Probe every cell, also for sources nothing in the mesh tells apart\n"
                                               "(by default one workload per such class is probed for the others)");
  sub->add_option("--seed", o->seed, "Seed of every random stream")->capture_default_str();
  sub->add_option("--mesh-config", o->input.mesh_config_file, "MeshConfig file or IstioOperator");
  add_inject_namespace_flag(sub, o->input.inject_namespaces);
  add_jwks_flag(sub, o->input.jwks);
  sub->add_flag("-v,--verbose", o->input.verbose, "Also print every warning and note about the manifests");
  sub->callback([o, &ctx] {
    auto bad = [&](const std::string& m) {
      print_error(m);
      ctx.exit_code = kExitBadInput;
    };
    int modes = (!o->input.paths.empty() ? 1 : 0) + (!o->base.empty() || !o->head.empty() ? 1 : 0) + (!o->git.empty() ? 1 : 0);
    if (modes != 1) return bad("give the mesh one way: --mesh PATH… [--apply CHANGE…], --base DIR --head DIR, or --git REV1..REV2 -- PATHS");
    if (!o->apply.empty() && o->input.paths.empty()) return bad("--apply needs --mesh (the mesh it applies to)");
    if (o->base.empty() != o->head.empty()) return bad("--base and --head go together");
    if (!o->git_paths.empty() && o->git.empty()) return bad("unexpected argument " + o->git_paths.front() + " (PATHS are for --git)");
    if (!o->plan_strict.empty() && (o->input.paths.empty() || !o->apply.empty())) return bad("--plan-strict plans from --mesh PATH… alone");
    bool single_table = !o->input.paths.empty() && o->apply.empty() && o->plan_strict.empty();
    if (single_table && (o->output == "sarif" || !o->sarif_file.empty())) {
      return bad("SARIF reports what a change breaks: give one (--apply, --base/--head or --git)");
    }
    o->command = "meshsim whatif";
    for (const auto& p : o->input.paths) o->command += " --mesh " + p;
    for (const auto& p : o->apply) o->command += " --apply " + p;
    for (const auto& p : o->base) o->command += " --base " + p;
    for (const auto& p : o->head) o->command += " --head " + p;
    if (!o->git.empty()) o->command += " --git " + o->git + " --";
    for (const auto& p : o->git_paths) o->command += " " + p;
    whatif::TableOptions to;
    to.seed = o->seed;
    to.external = !o->no_external;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    to.jobs = o->jobs > 0 ? o->jobs : static_cast<int>(std::max(1L, cpus));
    to.progress = progress_bar();
    to.group_sources = !o->exhaustive;
    for (const auto& s : o->from) {
      auto sel = whatif::parse_selector(s);
      if (!sel.ok()) return bad("--from " + s + ": " + sel.message());
      to.from.push_back(*sel);
    }
    for (const auto& s : o->to) {
      auto sel = whatif::parse_selector(s);
      if (!sel.ok() || sel->external) return bad("--to " + s + ": " + (sel.ok() ? std::string("external is a source, not a destination") : sel.message()));
      to.to.push_back(*sel);
    }
    if (!o->requests.empty()) {
      to.requests.clear();
      size_t start = 0;
      while (start <= o->requests.size()) {
        size_t comma = o->requests.find(',', start);
        std::string r = o->requests.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        size_t sp = r.find(' ');
        if (sp == std::string::npos || sp == 0 || r.size() <= sp + 1 || r[sp + 1] != '/') {
          return bad("--requests: expected 'METHOD /PATH', got \"" + r + "\"");
        }
        to.requests.push_back({r.substr(0, sp), r.substr(sp + 1)});
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }

    // ---- the two sides ----
    mesh::LoadResult base_lr, head_lr;
    bool single = false;
    if (!o->input.paths.empty()) {
      base_lr = mesh::load_paths(o->input.paths);
      if (o->apply.empty()) {
        single = true;
      } else {
        mesh::LoadResult change = mesh::load_paths(o->apply);
        head_lr.resources = base_lr.resources;
        head_lr.diagnostics = base_lr.diagnostics;
        head_lr.stats = base_lr.stats;
        head_lr.diagnostics.insert(head_lr.diagnostics.end(), change.diagnostics.begin(), change.diagnostics.end());
        head_lr.stats.objects += change.stats.objects;
        whatif::apply_change(head_lr.resources, std::move(change.resources));
      }
    } else if (!o->base.empty()) {
      base_lr = mesh::load_paths(o->base);
      head_lr = mesh::load_paths(o->head);
    } else {
      size_t dots = o->git.find("..");
      if (dots == std::string::npos || dots == 0) return bad("--git: expected REV1..REV2 or REV1.., got \"" + o->git + "\"");
      if (o->git_paths.empty()) return bad("--git: name the manifest paths after --, e.g. --git main..feature -- k8s/");
      std::string rev1 = o->git.substr(0, dots), rev2 = o->git.substr(dots + 2);
      auto b = load_git_revision(rev1, o->git_paths);
      if (!b.ok()) return bad(b.message());
      base_lr = std::move(*b);
      if (rev2.empty()) {
        head_lr = mesh::load_paths(o->git_paths);
      } else {
        auto h = load_git_revision(rev2, o->git_paths);
        if (!h.ok()) return bad(h.message());
        head_lr = std::move(*h);
      }
    }
    mesh::ResourceSet base_rs = base_lr.resources;
    auto base_world = world_of(std::move(base_lr), o->input);
    if (!base_world) {
      ctx.exit_code = kExitBadInput;
      return;
    }

    if (!o->plan_strict.empty()) {
      whatif::WorldBuilder build = [&](const mesh::ResourceSet& rs) -> Result<std::shared_ptr<const mesh::World>> {
        mesh::LoadResult lr;
        lr.resources = rs;
        lr.stats.objects = rs.object_count();
        auto w = world_of(std::move(lr), o->input, true);
        if (!w) return Error{"the planner's variant of the mesh does not load (see above)"};
        return w;
      };
      auto plan = whatif::plan_strict(base_rs, o->plan_strict, build, to);
      if (!plan.ok()) return bad(plan.message());
      std::string out = o->output == "markdown" ? whatif::plan_markdown(*plan) : whatif::plan_text(*plan);
      if (o->output == "json" || o->output == "csv" || o->output == "sarif") {
        out = whatif::comparison_json(plan->steps.back().verified);
      }
      std::fwrite(out.data(), 1, out.size(), stdout);
      if (!o->markdown_file.empty() && !write_file(o->markdown_file, whatif::plan_markdown(*plan), "STRICT plan, Markdown")) {
        ctx.exit_code = kExitBadInput;
        return;
      }
      ctx.exit_code = plan->safe() ? kExitOk : kExitCheckFailed;
      return;
    }

    auto base_table = whatif::compute_table(base_world, to);
    if (!base_table.ok()) return bad(base_table.message());
    if (single) {
      std::string out = o->output == "json"       ? whatif::table_json(*base_table)
                        : o->output == "csv"      ? whatif::table_csv(*base_table)
                        : o->output == "markdown" ? whatif::table_markdown(*base_table)
                                                  : whatif::table_text(*base_table);
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      if (!o->json_file.empty() && !write_file(o->json_file, whatif::table_json(*base_table), "truth table, JSON")) ctx.exit_code = kExitBadInput;
      if (!o->db.empty() && !record(o->db, run_record(*base_table, nullptr, o->command))) ctx.exit_code = kExitBadInput;
      return;
    }
    auto head_world = world_of(std::move(head_lr), o->input, true);
    if (!head_world) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    auto head_table = whatif::compute_table(head_world, to);
    if (!head_table.ok()) return bad(head_table.message());
    whatif::Comparison cmp = whatif::compare_tables(std::move(*base_table), std::move(*head_table),
                                                    whatif::diff_objects(base_world->resources(), head_world->resources()),
                                                    head_world->mesh_config().root_namespace);
    whatif::RenderOptions ro;
    ro.changed_only = o->changed;
    ro.tool_version = MESHSIM_VERSION;
    std::string out = o->output == "json"       ? whatif::comparison_json(cmp)
                      : o->output == "csv"      ? whatif::comparison_csv(cmp)
                      : o->output == "markdown" ? whatif::comparison_markdown(cmp, ro)
                      : o->output == "sarif"    ? whatif::comparison_sarif(cmp, ro)
                                                : whatif::comparison_text(cmp, ro);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    bool ok = true;
    if (!o->sarif_file.empty()) ok &= write_file(o->sarif_file, whatif::comparison_sarif(cmp, ro), std::to_string(cmp.changes.size()) + " results, SARIF 2.1.0");
    if (!o->markdown_file.empty()) ok &= write_file(o->markdown_file, whatif::comparison_markdown(cmp, ro), "what-if summary, Markdown");
    if (!o->json_file.empty()) ok &= write_file(o->json_file, whatif::comparison_json(cmp), "what-if result, JSON");
    if (!o->db.empty()) ok &= record(o->db, run_record(cmp.head, &cmp, o->command));
    if (!ok) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    ctx.exit_code = cmp.broken() > 0 && !o->allow_breaks ? kExitCheckFailed : kExitOk;
  });
}

}  // namespace meshsim::cli
