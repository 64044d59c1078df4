// `meshsim conformance [DIR|FILE…]` — runs suites of scenarios with
// expectations; prints a table; writes JUnit, a conformance report and the
// SQLite results store. See docs/cli/conformance.md.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "cli/verb.h"
#include "conformance/suite.h"
#include "meshsim_version.h"
#include "proxy/base/duration.h"
#include "reports/conformance_merge.h"
#include "reports/conformance_report.h"
#include "reports/junit.h"
#include "reports/result_store.h"
#include "sim/net/pcap_writer.h"

namespace meshsim::cli {

namespace {
struct ConformanceOptions {
  std::vector<std::string> inputs;
  int jobs = 2;
  std::string shard;
  std::string junit, report, db;
  bool update_fingerprints = false;
  bool no_strict = false;
  std::string pcap_dir, pcap_filter;
};

// Opens the results database `db` into `store` (nothing when db is empty);
// false, with the error printed, when it cannot be opened.
bool open_store(const std::string& db, std::unique_ptr<reports::ResultStore>& store) {
  if (db.empty()) return true;
  auto st = reports::ResultStore::open(db);
  if (!st.ok()) {
    print_error(st.message());
    return false;
  }
  store = std::move(*st);
  return true;
}

// JUnit, the conformance report and the database row of a run, each named on
// stderr; false if one could not be written.
bool write_outputs(const reports::RunRecord& r, const std::string& junit, const std::string& report,
                   reports::ResultStore* store, const std::string& db) {
  bool ok = true;
  const std::string cases_text = std::to_string(r.cases.size()) + (r.cases.size() == 1 ? " case" : " cases");
  if (!junit.empty()) {
    if (Status st = reports::write_junit(r, junit); !st.ok()) print_error(st.message()), ok = false;
    else print_wrote(junit, "JUnit XML, " + cases_text);
  }
  if (!report.empty()) {
    if (Status st = reports::write_conformance_report(r, report); !st.ok()) print_error(st.message()), ok = false;
    else print_wrote(report, "conformance report, " + cases_text);
  }
  if (store) {
    auto id = store->record(r);
    if (!id.ok()) print_error(id.message()), ok = false;
    else print_wrote(db, "results database, run " + std::to_string(*id));
  }
  return ok;
}

struct MergeOptions {
  std::vector<std::string> shards;
  std::string junit, report, db;
};

CLI::App* register_conformance_merge(CLI::App& conformance, VerbContext& ctx) {
  auto o = std::make_shared<MergeOptions>();
  CLI::App* sub = conformance.add_subcommand(
      "merge",
      "Merge the results databases of a sharded run (--shard I/N --db shard-I.db on N machines) into\n"
      "one run: every case exactly once; conflicts (a case with different outcomes or fingerprints in\n"
      "two shards, a shard of the series that is missing) are reported.\n\n"
      "Example:\n"
      "  meshsim conformance merge shard-*.db --junit junit.xml --report report.yaml --db all.db\n\n"
      "Exit codes: 0 merged and every case passed, 1 a conflict or a failed case, 2 bad input\n"
      "(a file that is not a results database, or one without a run).");
  sub->add_option("shards", o->shards, "Results databases of the shards (read, never modified)")->required();
  sub->add_option("--junit", o->junit, "Write the merged run's JUnit XML to FILE");
  sub->add_option("--report", o->report, "Write the merged run's conformance report (YAML) to FILE");
  sub->add_option("--db", o->db, "Record the merged run in this results database");
  sub->callback([o, &ctx] {
    std::vector<reports::ShardRun> shards;
    for (const auto& path : o->shards) {
      if (!std::filesystem::is_regular_file(path)) {
        print_error(path + ": no such results database");
        ctx.exit_code = kExitBadInput;
        return;
      }
      auto s = reports::load_shard_run(path);
      if (!s.ok()) {
        print_error(s.message());
        ctx.exit_code = kExitBadInput;
        return;
      }
      shards.push_back(std::move(*s));
    }
    std::string cmd = "meshsim conformance merge";
    for (const auto& p : o->shards) cmd += " " + p;
    reports::MergeResult m = reports::merge_shard_runs(shards, cmd);
    m.merged.started_at = m.merged.started_at.empty() ? now_rfc3339() : m.merged.started_at;
    for (const auto& w : m.warnings) print_warning(w);
    const auto& r = m.merged;
    std::printf("merged %zu shard databases: %zu cases — %zu passed, %zu failed, %zu errors, %zu skipped\n",
                shards.size(), r.cases.size(), r.count(reports::CaseStatus::kPassed),
                r.count(reports::CaseStatus::kFailed), r.count(reports::CaseStatus::kError),
                r.count(reports::CaseStatus::kSkipped));
    for (const auto& c : r.cases) {
      if (c.status == reports::CaseStatus::kFailed || c.status == reports::CaseStatus::kError) {
        std::printf("  %s %s/%s: %s\n", reports::to_string(c.status), c.suite.c_str(), c.name.c_str(), c.message.c_str());
      }
    }
    if (!m.conflicts.empty()) {
      std::printf("%zu conflict%s:\n", m.conflicts.size(), m.conflicts.size() == 1 ? "" : "s");
      for (const auto& c : m.conflicts) std::printf("  ✗ %s\n", c.c_str());
    }
    std::unique_ptr<reports::ResultStore> store;
    if (!open_store(o->db, store)) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!write_outputs(r, o->junit, o->report, store.get(), o->db)) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    bool bad = !m.conflicts.empty() || r.count(reports::CaseStatus::kFailed) + r.count(reports::CaseStatus::kError) > 0;
    ctx.exit_code = bad ? kExitCheckFailed : kExitOk;
  });
  return sub;
}

}  // namespace

void register_conformance(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<ConformanceOptions>();
  CLI::App* sub = app.add_subcommand(
      "conformance",
      "Run suites of scenarios (files with kind: Scenario and expectations) and report which\n"
      "behaviours hold: a table, JUnit XML for CI, a conformance report per profile (MESH-MTLS,\n"
      "MESH-PROTOCOL, …) and a SQLite record of every run. Scenarios run two at a time, each in\n"
      "its own process. A scenario that pins `fingerprint:` fails when its behaviour changes;\n"
      "with --db, meshsim keeps the reference trace and names the first event that differs.\n\n"
      "Examples:\n"
      "  meshsim conformance conformance/suites\n"
      "  meshsim conformance conformance/suites --junit junit.xml --report report.yaml --db results.db\n"
      "  meshsim conformance conformance/suites --shard 1/2      # this CI machine's half\n"
      "  meshsim conformance conformance/suites/faq --update-fingerprints --db results.db\n"
      "  meshsim conformance conformance/suites --pcap-dir captures/   # captures/<suite>/<case>.pcap + .keys\n\n"
      "Exit codes: 0 every case passed (or was skipped), 1 a case failed, 2 bad input\n"
      "(no scenarios, an invalid scenario file, bad flags).");
  sub->add_option("inputs", o->inputs, "Suite directories or scenario files (default: conformance/suites here, else meshsim's own)");
  sub->add_option("-j,--jobs", o->jobs, "Scenarios run at once (one process each)")->check(CLI::Range(1, 64))->capture_default_str();
  sub->add_option("--shard", o->shard, "Run only shard I of N (cases sorted by path, every N-th)");
  sub->add_option("--junit", o->junit, "Write JUnit XML (Ant/Jenkins schema) to FILE");
  sub->add_option("--report", o->report, "Write the conformance report (YAML) to FILE");
  sub->add_option("--db", o->db, "Record the run in this SQLite results database (created if missing)");
  sub->add_flag("--update-fingerprints", o->update_fingerprints, "Rewrite each scenario's pinned fingerprint to this run's");
  sub->add_flag("--no-strict", o->no_strict,
                "Treat unknown fields in scenario files as warnings (default: errors, like run --strict)");
  sub->add_option("--pcap-dir", o->pcap_dir,
                  "Capture every case: DIR/<suite>/<case>.pcap (the wire, as run --pcap) and <case>.keys (TLS key "
                  "log for tshark -o tls.keylog_file:…)")
      ->group("Capture");
  sub->add_option("--pcap-filter", o->pcap_filter, "BPF filter for those captures (libpcap syntax)")->group("Capture");
  CLI::App* merge = register_conformance_merge(*sub, ctx);
  sub->callback([o, merge, &ctx] {
    if (merge->parsed()) return;
    auto wall0 = std::chrono::steady_clock::now();
    std::vector<std::string> inputs = o->inputs;
    if (inputs.empty()) {
      // conformance/suites of the current directory, else the source tree's
      // (the suites refer to Istio's samples there by relative paths).
      inputs = {"conformance/suites"};
      if (!std::filesystem::exists("conformance/suites") && std::filesystem::exists(MESHSIM_SOURCE_SUITES)) {
        std::fprintf(stderr, "meshsim: note: no conformance/suites here; running %s\n", MESHSIM_SOURCE_SUITES);
        inputs = {MESHSIM_SOURCE_SUITES};
      }
    }
    auto cases = conformance::discover(inputs);
    if (!cases.ok()) {
      print_error(cases.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!o->pcap_filter.empty() && o->pcap_dir.empty()) {
      print_error("--pcap-filter needs --pcap-dir");
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (Status st = sim::PcapWriter::check_filter(o->pcap_filter, sim::PcapWriter::Point::kWire); !st.ok()) {
      print_error(st.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!o->pcap_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(o->pcap_dir, ec);
      if (ec || !std::filesystem::is_directory(o->pcap_dir)) {
        print_error("--pcap-dir " + o->pcap_dir + ": cannot create the directory" + (ec ? ": " + ec.message() : ""));
        ctx.exit_code = kExitBadInput;
        return;
      }
    }
    std::vector<conformance::CaseSpec> selected = *cases;
    if (!o->shard.empty()) {
      auto sh = conformance::parse_shard(o->shard);
      if (!sh.ok()) {
        print_error(sh.message());
        ctx.exit_code = kExitBadInput;
        return;
      }
      selected = conformance::select_shard(selected, *sh);
    }
    std::unique_ptr<reports::ResultStore> store;
    if (!open_store(o->db, store)) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    std::printf("%-10s %-40s %-16s %-7s %-7s %9s %7s %9s\n", "SUITE", "CASE", "PROFILE", "RESULT", "EXPECT",
                "VIRTUAL", "WALL", "COMPRESS");
    std::fflush(stdout);
    conformance::SuiteOptions so;
    so.jobs = o->jobs;
    so.update_fingerprints = o->update_fingerprints;
    so.store = store.get();
    so.capture_dir = o->pcap_dir;
    so.capture_filter = o->pcap_filter;
    so.strict = !o->no_strict;
    so.on_case = [](const reports::CaseResult& c) {
      size_t passed = 0;
      for (const auto& e : c.expectations) passed += e.passed;
      std::string ex = std::to_string(passed) + "/" + std::to_string(c.expectations.size());
      const char* res = c.status == reports::CaseStatus::kPassed    ? "PASS"
                        : c.status == reports::CaseStatus::kFailed  ? "FAIL"
                        : c.status == reports::CaseStatus::kSkipped ? "SKIP"
                                                                    : "ERROR";
      std::string virt = format_duration(Duration::nanos(static_cast<int64_t>(c.virtual_seconds * 1e9)));
      std::printf("%-10s %-40s %-16s %-7s %-7s %9s %6.2fs %8.0fx\n", c.suite.c_str(), c.name.c_str(), c.profile.c_str(),
                  res, ex.c_str(), virt.c_str(), c.wall_seconds, c.time_compression());
      if (c.status == reports::CaseStatus::kFailed || c.status == reports::CaseStatus::kError) {
        for (const auto& e : c.expectations) {
          if (!e.passed) {
            std::printf("         ✗ %s: expected %s, actual %s%s\n", e.name.c_str(), e.expected.c_str(), e.actual.c_str(),
                        e.message.empty() ? "" : ("\n           " + e.message).c_str());
          }
        }
        if (c.status == reports::CaseStatus::kError) std::printf("         %s\n", c.message.c_str());
      }
      std::fflush(stdout);
    };
    conformance::SuiteRun run = conformance::run_suite(selected, so);
    run.record.meshsim_version = MESHSIM_VERSION;
    run.record.git_revision = MESHSIM_GIT_REVISION;
    run.record.started_at = now_rfc3339();
    run.record.shard = o->shard;
    std::string cmd = "meshsim conformance";
    for (const auto& i : inputs) cmd += " " + i;
    run.record.command = cmd;
    run.record.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    for (const auto& m : run.messages) std::fprintf(stderr, "%s\n", m.c_str());
    const auto& r = run.record;
    std::printf("\n%zu passed, %zu failed, %zu errors, %zu skipped in %.1fs\n", r.count(reports::CaseStatus::kPassed),
                r.count(reports::CaseStatus::kFailed), r.count(reports::CaseStatus::kError),
                r.count(reports::CaseStatus::kSkipped), r.wall_seconds);
    if (!o->pcap_dir.empty()) {
      std::printf("captures in %s/<suite>/<case>.pcap; decrypt with: tshark -r CASE.pcap -o tls.keylog_file:CASE.keys\n",
                  o->pcap_dir.c_str());
    }
    bool write_failed = !write_outputs(r, o->junit, o->report, store.get(), o->db);
    if (run.input_errors || write_failed) {
      ctx.exit_code = kExitBadInput;
      return;
    }
    bool bad = r.count(reports::CaseStatus::kFailed) + r.count(reports::CaseStatus::kError) > 0;
    ctx.exit_code = bad ? kExitCheckFailed : kExitOk;
  });
}

}  // namespace meshsim::cli
