// `meshsim bench record|compare|gate|list` — benchmark regression tracking:
// records Google Benchmark results (run here or ingested as JSON) in the
// results database, compares two recordings, revisions or JSON files with a
// Mann–Whitney U test and an effect-size threshold, and gates CI on a
// significant regression. See docs/cli/bench.md.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli/verb.h"
#include "reports/bench_compare.h"
#include "reports/bench_json.h"
#include "reports/bench_runner.h"
#include "reports/bench_store.h"

namespace meshsim::cli {
namespace {
namespace fs = std::filesystem;
using namespace meshsim::reports;

fs::path meshsim_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

// build/<preset>/cli/meshsim → build/<preset>/bench-results/bench.db
std::string default_db() { return (meshsim_dir().parent_path() / "bench-results" / "bench.db").string(); }

std::vector<std::string> default_binaries() {
  std::vector<std::string> out;
  std::error_code ec;
  fs::path dir = meshsim_dir().parent_path() / "bench";
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (e.is_regular_file() && n.size() > 6 && n.compare(n.size() - 6, 6, "_bench") == 0 &&
        access(e.path().c_str(), X_OK) == 0) {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}


Result<std::optional<std::regex>> parse_filter(const std::string& re) {
  if (re.empty()) return std::optional<std::regex>();
  try {
    return std::optional<std::regex>(std::regex(re));
  } catch (const std::regex_error& e) {
    return Error{"--filter: invalid regular expression \"" + re + "\": " + e.what()};
  }
}

// One side of a comparison: a Google Benchmark JSON file, or a reference into the database.
struct Side {
  std::string description;
  std::string machine_id;
  std::vector<int64_t> ids;
  std::vector<BenchSample> samples;
};

Result<Side> load_side(const std::string& ref, BenchStore* store, const std::string& machine, int64_t before_id) {
  std::error_code ec;
  if (fs::is_regular_file(ref, ec)) {
    auto f = read_benchmark_json(ref);
    if (!f.ok()) return f.error();
    for (const auto& w : f->warnings) print_warning(w);
    return Side{ref, "", {}, std::move(f->samples)};
  }
  if (!store) return Error{"\"" + ref + "\" is not a file, and there is no results database to look it up in"};
  auto r = store->resolve(ref, machine, before_id);
  if (!r.ok()) return r.error();
  for (const auto& n : r->notes) print_warning(n);
  return Side{r->description, r->machine_id, r->recording_ids, store->samples(r->recording_ids)};
}

struct CompareFlags {
  std::string db;
  std::string metric = "real_time";
  std::string threshold = "5%";
  std::string format = "table";
  std::string filter;
  bool higher_is_better = false;
};

void add_compare_flags(CLI::App* sub, CompareFlags& f) {
  sub->add_option("--db", f.db, "Results database (default: <build>/bench-results/bench.db)");
  sub->add_option("--metric", f.metric,
                  "real_time, cpu_time, instructions (deterministic: any change beyond the threshold counts) or a "
                  "user counter")
      ->capture_default_str();
  sub->add_option("--threshold", f.threshold, "Smallest change that counts, e.g. 5% or 0.05")->capture_default_str();
  sub->add_option("-o,--output", f.format, "table, markdown or json")
      ->check(CLI::IsMember({"table", "markdown", "json"}))
      ->capture_default_str();
  sub->add_option("--filter", f.filter, "Only benchmarks whose name matches this regular expression");
  sub->add_flag("--higher-is-better", f.higher_is_better,
                "Larger values are better (default: guessed from the metric name, e.g. *_per_s)");
}

// Compares A with B and prints the result; the regression count, or an error.
Result<size_t> compare_and_print(const Side& a, const Side& b, const CompareFlags& f) {
  auto threshold = parse_threshold(f.threshold);
  if (!threshold.ok()) return threshold.error();
  auto filter = parse_filter(f.filter);
  if (!filter.ok()) return filter.error();
  if (!a.machine_id.empty() && !b.machine_id.empty() && a.machine_id != b.machine_id) {
    print_warning("A and B were recorded on different machines (" + a.machine_id + ", " + b.machine_id +
                  "): timings may not be comparable");
  }
  auto va = metric_values(a.samples, f.metric);
  auto vb = metric_values(b.samples, f.metric);
  if (*filter) {
    for (auto* m : {&va, &vb}) {
      for (auto it = m->begin(); it != m->end();) it = std::regex_search(it->first, **filter) ? std::next(it) : m->erase(it);
    }
  }
  if (va.empty() && vb.empty()) {
    std::vector<BenchSample> both = a.samples;
    both.insert(both.end(), b.samples.begin(), b.samples.end());
    std::string present;
    for (const auto& n : metric_names(both)) present += (present.empty() ? "" : ", ") + n;
    return Error{"no benchmark" + std::string(f.filter.empty() ? "" : " matching --filter") + " has metric \"" +
                 f.metric + "\"" + (present.empty() ? "" : " (metrics present: " + present + ")")};
  }
  CompareOptions o;
  o.threshold = *threshold;
  o.higher_is_better = f.higher_is_better || metric_higher_is_better(f.metric);
  std::string lower_metric = f.metric;
  for (char& c : lower_metric) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  o.deterministic_metric = lower_metric == "instructions";
  auto rows = compare_all(va, vb, o);
  CompareFormat fmt = f.format == "json" ? CompareFormat::kJson
                      : f.format == "markdown" ? CompareFormat::kMarkdown
                                               : CompareFormat::kTable;
  std::fputs(render_comparison(rows, {a.description, b.description, f.metric, o}, fmt).c_str(), stdout);
  size_t regressed = 0;
  for (const auto& r : rows) regressed += r.verdict == Verdict::kRegressed;
  return regressed;
}

Result<std::unique_ptr<BenchStore>> open_for_reading(const std::string& db, bool required) {
  std::error_code ec;
  if (!fs::exists(db, ec)) {
    if (required) return Error{db + ": no such results database (record into it with: meshsim bench record --db " + db + ")"};
    return std::unique_ptr<BenchStore>();
  }
  return BenchStore::open(db, ResultsDb::Mode::kReadOnly);
}

struct RecordFlags {
  std::string db;
  std::vector<std::string> run, json, context, benchmark_args;
  int repetitions = 5;
  std::string filter, revision, instructions = "auto", save_json;
};

void remove_db_files(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
}

int record(const RecordFlags& f, const std::string& command) {
  auto filter = parse_filter(f.filter);
  if (!filter.ok()) return print_error(filter.message()), kExitBadInput;
  std::map<std::string, std::string> user;
  for (const auto& kv : f.context) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return print_error("--context: expected KEY=VALUE, got \"" + kv + "\""), kExitBadInput;
    }
    user[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  InstructionCounter counter = f.instructions == "perf"        ? InstructionCounter::kPerf
                               : f.instructions == "callgrind" ? InstructionCounter::kCallgrind
                               : f.instructions == "off"       ? InstructionCounter::kOff
                                                               : InstructionCounter::kAuto;
  if (counter == InstructionCounter::kPerf && !perf_instructions_available()) {
    return print_error("--instructions perf: perf_event_open cannot count instructions here (no hardware counter, "
                       "or kernel.perf_event_paranoid forbids it); try --instructions callgrind"),
           kExitBadInput;
  }
  if (counter == InstructionCounter::kCallgrind && !callgrind_available()) {
    return print_error("--instructions callgrind: valgrind is not installed (apt-get install valgrind)"), kExitBadInput;
  }
  // Ingested files first: a malformed one is bad input before anything runs.
  std::vector<BenchJsonFile> files;
  for (const auto& path : f.json) {
    auto j = read_benchmark_json(path);
    if (!j.ok()) return print_error(j.message()), kExitBadInput;
    files.push_back(std::move(*j));
  }
  std::vector<std::string> binaries = f.run;
  if (f.run.empty() && f.json.empty()) {
    binaries = default_binaries();
    if (binaries.empty()) {
      return print_error("no benchmark binaries in " + (meshsim_dir().parent_path() / "bench").string() +
                         " (build them, or give --run BINARY… or --json FILE…)"),
             kExitBadInput;
    }
  }
  for (const auto& b : binaries) {
    std::error_code ec;
    if (!fs::is_regular_file(b, ec) || access(b.c_str(), X_OK) != 0) {
      return print_error("--run " + b + ": not an executable file"), kExitBadInput;
    }
  }
  std::string db_path = f.db.empty() ? default_db() : f.db;
  std::error_code ec;
  if (fs::path parent = fs::path(db_path).parent_path(); !parent.empty()) fs::create_directories(parent, ec);
  bool existed = fs::exists(db_path, ec);
  auto store = BenchStore::open(db_path);
  if (!store.ok()) return print_error(store.message()), kExitBadInput;
  auto give_up = [&](const std::string& message) {
    print_error(message);
    store->reset();
    if (!existed) remove_db_files(db_path);
    return kExitBadInput;
  };

  BenchRecording rec;
  rec.recorded_at = now_rfc3339();
  rec.command = command;
  rec.machine = this_machine();
  if (!f.revision.empty()) {
    rec.git_revision = f.revision;
  } else {
    GitState g = git_state(".");
    rec.git_revision = g.revision.empty() ? "unknown" : g.revision;
    rec.git_dirty = g.dirty;
    if (g.revision.empty()) print_warning("not in a git repository: revision recorded as \"unknown\" (give --revision)");
  }
  nlohmann::json sources = nlohmann::json::object();
  BenchRunOptions ro;
  ro.repetitions = f.repetitions;
  ro.filter = f.filter;
  ro.extra_args = f.benchmark_args;
  ro.instructions = counter;
  ro.save_json_dir = f.save_json;
  for (const auto& b : binaries) {
    std::fprintf(stderr, "== %s\n", b.c_str());
    auto out = run_benchmark_binary(b, ro);
    if (!out.ok()) return give_up(out.message() + "; nothing recorded");
    if (auto bi = cmake_build_info(b); bi && rec.machine.compiler.empty()) {
      rec.machine.compiler = bi->compiler;
      rec.machine.build_type = bi->build_type;
    }
    std::string name = fs::path(b).filename().string();
    if (out->instructions) {
      BenchSample p;
      p.source = name;
      p.name = name + " (short run)";
      p.run_type = "process";
      p.label = out->instructions_tool;
      p.metrics = {{"instructions", *out->instructions}};
      out->json.samples.push_back(p);
      rec.instructions_tool = out->instructions_tool;
    }
    out->json.context.emplace_back("wall_seconds", std::to_string(out->wall_seconds));
    files.push_back(std::move(out->json));
    sources[name] = nlohmann::json::parse(files.back().context_json, nullptr, false);
  }
  for (size_t i = 0; i < f.json.size(); ++i) {
    sources[fs::path(f.json[i]).filename().string()] = nlohmann::json::parse(files[i].context_json, nullptr, false);
  }
  // Machine facts the JSON knows, then the user's overrides.
  if (!files.empty()) {
    if (std::string n = files.front().context_value("num_cpus"); !n.empty() && binaries.empty()) {
      rec.machine.cores = std::atoll(n.c_str());
    }
  }
  for (const auto& [k, v] : user) {
    if (k == "cpu_model") rec.machine.cpu_model = v;
    else if (k == "cores") rec.machine.cores = std::atoll(v.c_str());
    else if (k == "kernel") rec.machine.kernel = v;
    else if (k == "compiler") rec.machine.compiler = v;
    else if (k == "build_type") rec.machine.build_type = v;
    else if (k == "host_name") rec.machine.host_name = v;
  }
  if (rec.machine.compiler.empty()) rec.machine.compiler = "unknown";
  if (rec.machine.build_type.empty()) rec.machine.build_type = "unknown";
  rec.context_json = nlohmann::json{{"user", user}, {"sources", sources}}.dump();
  std::map<std::string, int> benchmarks;
  for (size_t i = 0; i < files.size(); ++i) {
    BenchJsonFile& file = files[i];
    for (const auto& w : file.warnings) print_warning(w);
    // The binaries ran with --benchmark_filter; ingested files are filtered here.
    const bool ingested = i < f.json.size();
    for (auto& s : file.samples) {
      if (ingested && *filter && !std::regex_search(s.name, **filter)) continue;
      ++benchmarks[s.name];
      rec.samples.push_back(std::move(s));
    }
  }
  if (rec.samples.empty()) return give_up("no benchmark results to record" + std::string(f.filter.empty() ? "" : " (--filter matched none)"));
  auto id = (*store)->record(rec);
  if (!id.ok()) return give_up(id.message());
  size_t repetitions = 0;
  for (const auto& smp : rec.samples) repetitions += smp.run_type == "iteration";
  std::string what = std::to_string(repetitions) + " repetitions";
  if (rec.samples.size() > repetitions) what += " and " + std::to_string(rec.samples.size() - repetitions) + " other rows";
  std::printf("recorded %s of %zu benchmark%s at %s%s on machine %s (%s, %lld cores)%s\n", what.c_str(),
              benchmarks.size(), benchmarks.size() == 1 ? "" : "s", rec.git_revision.substr(0, 12).c_str(),
              rec.git_dirty ? "-dirty" : "", rec.machine.id().c_str(), rec.machine.cpu_model.c_str(),
              static_cast<long long>(rec.machine.cores),
              rec.instructions_tool.empty() ? "" : (", instructions by " + rec.instructions_tool).c_str());
  print_wrote(db_path, "results database, recording " + std::to_string(*id));
  return kExitOk;
}

}  // namespace

void register_bench(CLI::App& app, VerbContext& ctx) {
  CLI::App* bench = app.add_subcommand(
      "bench",
      "Benchmark regression tracking: record Google Benchmark results with their revision and machine,\n"
      "compare two recordings (Mann-Whitney U test + effect-size threshold), gate CI on a regression.\n\n"
      "Examples:\n"
      "  meshsim bench record                               # every build/<preset>/bench/*_bench\n"
      "  meshsim bench record --json results.json --context runner=ci-4\n"
      "  meshsim bench compare 3f2a9c1 HEAD-recording-id -o markdown\n"
      "  meshsim bench compare base.json new.json\n"
      "  meshsim bench gate --baseline previous --threshold 5%\n\n"
      "Exit codes: 0 ok, 1 gate: a significant regression, 2 bad input.");
  bench->require_subcommand(1);

  auto rf = std::make_shared<RecordFlags>();
  CLI::App* rec = bench->add_subcommand("record", "Run benchmark binaries (or read their JSON) and store every repetition");
  rec->add_option("--db", rf->db, "Results database (default: <build>/bench-results/bench.db)");
  rec->add_option("--run", rf->run, "Benchmark binaries to run (default: every *_bench beside meshsim's build)");
  rec->add_option("--json", rf->json, "Google Benchmark JSON files to ingest (from any project)");
  rec->add_option("--context", rf->context,
                  "KEY=VALUE stored with the recording (cpu_model, cores, kernel, compiler, build_type, host_name "
                  "override the machine facts)");
  rec->add_option("--repetitions", rf->repetitions, "--benchmark_repetitions for every binary")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  rec->add_option("--filter", rf->filter, "Only benchmarks matching this regular expression (--benchmark_filter)");
  rec->add_option("--revision", rf->revision, "The revision to record (default: git rev-parse HEAD here)");
  rec->add_option("--instructions", rf->instructions,
                  "Count instructions retired by a short run: auto (perf_event_open, else callgrind if installed), "
                  "perf, callgrind, off")
      ->check(CLI::IsMember({"auto", "perf", "callgrind", "off"}))
      ->capture_default_str();
  rec->add_option("--benchmark-arg", rf->benchmark_args, "Extra argument for every binary, e.g. --benchmark_min_time=0.1")
      ->allow_extra_args(false);
  rec->add_option("--save-json", rf->save_json, "Also keep each binary's JSON in this directory");
  rec->callback([rf, &ctx] { ctx.exit_code = record(*rf, ctx.command); });

  auto cf = std::make_shared<CompareFlags>();
  auto refs = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* cmp = bench->add_subcommand(
      "compare", "Compare B with A per benchmark: ratio of medians, 95% CI, Mann-Whitney p, verdict");
  cmp->add_option("A", refs->first, "Recording id, git revision prefix, latest, previous, or a JSON file")->required();
  cmp->add_option("B", refs->second, "The same, for the new side")->required();
  add_compare_flags(cmp, *cf);
  cmp->callback([cf, refs, &ctx] {
    std::string db = cf->db.empty() ? default_db() : cf->db;
    std::error_code ec;
    bool files = fs::is_regular_file(refs->first, ec) && fs::is_regular_file(refs->second, ec);
    auto store = open_for_reading(db, !files);
    if (!store.ok()) return print_error(store.message()), void(ctx.exit_code = kExitBadInput);
    auto a = load_side(refs->first, store->get(), "", 0);
    if (!a.ok()) return print_error("A: " + a.message()), void(ctx.exit_code = kExitBadInput);
    auto b = load_side(refs->second, store->get(), a->machine_id, 0);
    if (!b.ok()) return print_error("B: " + b.message()), void(ctx.exit_code = kExitBadInput);
    auto n = compare_and_print(*a, *b, *cf);
    if (!n.ok()) return print_error(n.message()), void(ctx.exit_code = kExitBadInput);
    ctx.exit_code = kExitOk;
  });

  auto gf = std::make_shared<CompareFlags>();
  auto gate_refs = std::make_shared<std::pair<std::string, std::string>>("", "latest");
  CLI::App* gate = bench->add_subcommand(
      "gate", "Exit 1 when the candidate regressed significantly against the baseline (CI)");
  gate->add_option("--baseline", gate_refs->first,
                   "Recording id, revision prefix, previous (the recording before the candidate on its machine) or a "
                   "JSON file")
      ->required();
  gate->add_option("--candidate", gate_refs->second, "The same; default latest")->capture_default_str();
  add_compare_flags(gate, *gf);
  gate->callback([gf, gate_refs, &ctx] {
    std::string db = gf->db.empty() ? default_db() : gf->db;
    std::error_code ec;
    bool files = fs::is_regular_file(gate_refs->first, ec) && fs::is_regular_file(gate_refs->second, ec);
    auto store = open_for_reading(db, !files);
    if (!store.ok()) return print_error(store.message()), void(ctx.exit_code = kExitBadInput);
    auto cand = load_side(gate_refs->second, store->get(), "", 0);
    if (!cand.ok()) return print_error("candidate: " + cand.message()), void(ctx.exit_code = kExitBadInput);
    int64_t before = cand->ids.empty() ? 0 : cand->ids.front();
    auto base = load_side(gate_refs->first, store->get(), cand->machine_id, before);
    if (!base.ok()) return print_error("baseline: " + base.message()), void(ctx.exit_code = kExitBadInput);
    auto n = compare_and_print(*base, *cand, *gf);
    if (!n.ok()) return print_error(n.message()), void(ctx.exit_code = kExitBadInput);
    if (*n > 0) {
      std::fprintf(stderr, "meshsim: gate failed: %zu benchmark%s regressed significantly beyond %s\n", *n,
                   *n == 1 ? "" : "s", gf->threshold.c_str());
      ctx.exit_code = kExitCheckFailed;
    } else {
      std::fprintf(stderr, "meshsim: gate passed: no significant regression beyond %s\n", gf->threshold.c_str());
      ctx.exit_code = kExitOk;
    }
  });

  auto list_db = std::make_shared<std::string>();
  CLI::App* list = bench->add_subcommand("list", "List the complete recordings of the database");
  list->add_option("--db", *list_db, "Results database (default: <build>/bench-results/bench.db)");
  list->callback([list_db, &ctx] {
    auto store = open_for_reading(list_db->empty() ? default_db() : *list_db, true);
    if (!store.ok()) return print_error(store.message()), void(ctx.exit_code = kExitBadInput);
    std::printf("%-5s %-20s %-14s %-6s %-16s %8s  %s\n", "ID", "RECORDED", "REVISION", "DIRTY", "MACHINE", "SAMPLES",
                "CPU");
    for (const auto& r : (*store)->recordings()) {
      std::printf("%-5lld %-20s %-14s %-6s %-16s %8lld  %s\n", static_cast<long long>(r.id), r.recorded_at.c_str(),
                  r.git_revision.substr(0, 12).c_str(), r.git_dirty ? "yes" : "no", r.machine_id.c_str(),
                  static_cast<long long>(r.samples), r.cpu_model.c_str());
    }
    ctx.exit_code = kExitOk;
  });
}

}  // namespace meshsim::cli
