#include "reports/result_store.h"

#include <nlohmann/json.hpp>

namespace meshsim::reports {
namespace {

// case_edges.latency_histogram: {"le_ms": […], "ok": […], "failed": […]}, or '' when absent.
std::string histogram_json(const EdgeRecord& e) {
  if (e.latency_le_ms.empty()) return "";
  return nlohmann::json{{"le_ms", e.latency_le_ms}, {"ok", e.latency_ok}, {"failed", e.latency_failed}}.dump();
}

// A histogram that does not parse, or whose series do not fit its bounds, is
// left out (the edge reads as one recorded without histograms).
void parse_histogram(const std::string& text, EdgeRecord& e) {
  if (text.empty()) return;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  try {
    auto le = j.value("le_ms", std::vector<double>{});
    auto ok = j.value("ok", std::vector<uint64_t>{});
    auto failed = j.value("failed", std::vector<uint64_t>{});
    if (ok.size() != le.size() + 1 || failed.size() != le.size() + 1) return;
    e.latency_le_ms = std::move(le);
    e.latency_ok = std::move(ok);
    e.latency_failed = std::move(failed);
  } catch (const nlohmann::json::exception&) {
  }
}

}  // namespace

ResultStore::~ResultStore() = default;

Result<std::unique_ptr<ResultStore>> ResultStore::open(const std::string& path, ResultsDb::Mode mode) {
  auto db = ResultsDb::open(path, mode);
  if (!db.ok()) return db.error();
  return std::unique_ptr<ResultStore>(new ResultStore(std::move(*db)));
}

int ResultStore::schema_version() const { return db_->schema_version(); }

Result<int64_t> ResultStore::record(const RunRecord& run) {
  ResultsDb& db = *db_;
  if (Status st = db.exec("BEGIN IMMEDIATE", "begin"); !st.ok()) return Error{st.message()};
  Statement r(db,
              "INSERT INTO runs (started_at, meshsim_version, git_revision, command, shard, wall_seconds, cases_total, "
              "cases_passed, cases_failed, cases_skipped, cases_error) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  Statement cs(db,
               "INSERT INTO cases (run_id, suite, classname, name, file, profile, status, message, seed, fingerprint, "
               "pinned_fingerprint, virtual_seconds, wall_seconds, time_compression, events) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  Statement es(db,
               "INSERT INTO expectations (case_id, name, kind, passed, expected, actual, message) VALUES (?,?,?,?,?,?,?)");
  Statement ed(db,
               "INSERT INTO case_edges (case_id, ordinal, source, target, protocol, requests, ok, judged, mtls, p50_ms, "
               "p99_ms, failures, latency_histogram) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
  Statement sl(db, "INSERT INTO case_story (case_id, ordinal, at_seconds, text) VALUES (?,?,?,?)");
  if (!r.ok() || !cs.ok() || !es.ok() || !ed.ok() || !sl.ok()) return db.abort("prepare");
  r.text(1, run.started_at).text(2, run.meshsim_version).text(3, run.git_revision).text(4, run.command)
      .text(5, run.shard).real(6, run.wall_seconds).i64(7, static_cast<int64_t>(run.cases.size()))
      .i64(8, static_cast<int64_t>(run.count(CaseStatus::kPassed)))
      .i64(9, static_cast<int64_t>(run.count(CaseStatus::kFailed)))
      .i64(10, static_cast<int64_t>(run.count(CaseStatus::kSkipped)))
      .i64(11, static_cast<int64_t>(run.count(CaseStatus::kError)));
  if (!r.run()) return db.abort("insert run");
  int64_t run_id = db.last_insert_rowid();
  for (const CaseResult& c : run.cases) {
    cs.i64(1, run_id).text(2, c.suite).text(3, c.classname).text(4, c.name).text(5, c.file).text(6, c.profile)
        .text(7, to_string(c.status)).text(8, c.message).i64(9, static_cast<int64_t>(c.seed)).text(10, c.fingerprint)
        .text(11, c.pinned_fingerprint).real(12, c.virtual_seconds).real(13, c.wall_seconds)
        .real(14, c.time_compression()).i64(15, static_cast<int64_t>(c.events));
    if (!cs.run()) return db.abort("insert case");
    int64_t case_id = db.last_insert_rowid();
    for (const ExpectationResult& e : c.expectations) {
      es.i64(1, case_id).text(2, e.name).text(3, e.kind).i64(4, e.passed ? 1 : 0).text(5, e.expected)
          .text(6, e.actual).text(7, e.message);
      if (!es.run()) return db.abort("insert expectation");
    }
    for (size_t i = 0; i < c.edges.size(); ++i) {
      const EdgeRecord& e = c.edges[i];
      ed.i64(1, case_id).i64(2, static_cast<int64_t>(i)).text(3, e.from).text(4, e.target).text(5, e.protocol)
          .i64(6, static_cast<int64_t>(e.requests)).i64(7, static_cast<int64_t>(e.ok))
          .i64(8, static_cast<int64_t>(e.judged)).i64(9, static_cast<int64_t>(e.mtls)).real(10, e.p50_ms)
          .real(11, e.p99_ms).text(12, e.failures).text(13, histogram_json(e));
      if (!ed.run()) return db.abort("insert edge");
    }
    for (size_t i = 0; i < c.story.size(); ++i) {
      sl.i64(1, case_id).i64(2, static_cast<int64_t>(i)).real(3, c.story[i].at_seconds).text(4, c.story[i].text);
      if (!sl.run()) return db.abort("insert story line");
    }
  }
  if (Status st = db.exec("COMMIT", "commit"); !st.ok()) return db.abort("commit");
  return run_id;
}

std::vector<int64_t> ResultStore::run_ids() const {
  std::vector<int64_t> ids;
  Statement s(*db_, "SELECT id FROM runs ORDER BY id");
  while (s.step()) ids.push_back(s.col_i64(0));
  return ids;
}

Result<RunRecord> ResultStore::load_run(int64_t run_id) const {
  Statement r(*db_,
              "SELECT started_at, meshsim_version, git_revision, command, shard, wall_seconds FROM runs WHERE id = ?");
  r.i64(1, run_id);
  if (!r.step()) return Error{db_->path() + ": no run " + std::to_string(run_id)};
  RunRecord run;
  run.started_at = r.col_text(0);
  run.meshsim_version = r.col_text(1);
  run.git_revision = r.col_text(2);
  run.command = r.col_text(3);
  run.shard = r.col_text(4);
  run.wall_seconds = r.col_real(5);
  Statement cs(*db_,
               "SELECT id, suite, classname, name, file, profile, status, message, seed, fingerprint, "
               "pinned_fingerprint, virtual_seconds, wall_seconds, events FROM cases WHERE run_id = ? ORDER BY id");
  Statement es(*db_,
               "SELECT name, kind, passed, expected, actual, message FROM expectations WHERE case_id = ? ORDER BY id");
  // Version 4 databases carry each case's edges and story; older ones do not.
  // Version 4 databases carry each case's edges and story, version 5 the
  // edges' latency histograms too; older ones do not.
  const bool v4 = db_->has_table("case_edges");
  const bool v5 = db_->schema_version() >= 5;
  Statement ed(*db_, !v4  ? "SELECT 1 WHERE 0 = ?"
                     : v5 ? "SELECT source, target, protocol, requests, ok, judged, mtls, p50_ms, p99_ms, failures, "
                            "latency_histogram FROM case_edges WHERE case_id = ? ORDER BY ordinal"
                          : "SELECT source, target, protocol, requests, ok, judged, mtls, p50_ms, p99_ms, failures, '' "
                            "FROM case_edges WHERE case_id = ? ORDER BY ordinal");
  Statement sl(*db_, v4 ? "SELECT at_seconds, text FROM case_story WHERE case_id = ? ORDER BY ordinal" : "SELECT 1 WHERE 0 = ?");
  cs.i64(1, run_id);
  while (cs.step()) {
    CaseResult c;
    c.suite = cs.col_text(1);
    c.classname = cs.col_text(2);
    c.name = cs.col_text(3);
    c.file = cs.col_text(4);
    c.profile = cs.col_text(5);
    std::string status = cs.col_text(6);
    c.status = status == "passed"   ? CaseStatus::kPassed
               : status == "failed" ? CaseStatus::kFailed
               : status == "skipped" ? CaseStatus::kSkipped
                                     : CaseStatus::kError;
    c.message = cs.col_text(7);
    c.seed = static_cast<uint64_t>(cs.col_i64(8));
    c.fingerprint = cs.col_text(9);
    c.pinned_fingerprint = cs.col_text(10);
    c.virtual_seconds = cs.col_real(11);
    c.wall_seconds = cs.col_real(12);
    c.events = static_cast<uint64_t>(cs.col_i64(13));
    es.i64(1, cs.col_i64(0));
    while (es.step()) {
      c.expectations.push_back({es.col_text(0), es.col_text(1), es.col_i64(2) != 0, es.col_text(3), es.col_text(4),
                                es.col_text(5)});
    }
    es.reset();
    if (v4) {
      ed.i64(1, cs.col_i64(0));
      while (ed.step()) {
        c.edges.push_back({ed.col_text(0), ed.col_text(1), ed.col_text(2), static_cast<uint64_t>(ed.col_i64(3)),
                           static_cast<uint64_t>(ed.col_i64(4)), static_cast<uint64_t>(ed.col_i64(5)),
                           static_cast<uint64_t>(ed.col_i64(6)), ed.col_real(7), ed.col_real(8), ed.col_text(9), {}, {}, {}});
        parse_histogram(ed.col_text(10), c.edges.back());
      }
      ed.reset();
      sl.i64(1, cs.col_i64(0));
      while (sl.step()) c.story.push_back({sl.col_real(0), sl.col_text(1)});
      sl.reset();
    }
    run.cases.push_back(std::move(c));
  }
  return run;
}

std::string ResultStore::previous_fingerprint(const std::string& suite, const std::string& name,
                                              int64_t before_run_id) {
  Statement s(*db_,
              "SELECT fingerprint FROM cases WHERE suite = ? AND name = ? AND (? = 0 OR run_id < ?) "
              "ORDER BY run_id DESC LIMIT 1");
  s.text(1, suite).text(2, name).i64(3, before_run_id).i64(4, before_run_id);
  return s.step() ? s.col_text(0) : "";
}

Status ResultStore::store_trace(const std::string& suite, const std::string& name, const std::string& fingerprint,
                                const std::string& trace) {
  Statement s(*db_, "INSERT OR REPLACE INTO traces (suite, name, fingerprint, trace) VALUES (?,?,?,?)");
  s.text(1, suite).text(2, name).text(3, fingerprint).text(4, trace);
  if (!s.run()) return Error{db_->path() + ": cannot store trace: " + db_->last_error()};
  return Status::Ok();
}

std::optional<std::string> ResultStore::load_trace(const std::string& suite, const std::string& name,
                                                   const std::string& fingerprint) {
  Statement s(*db_, "SELECT trace FROM traces WHERE suite = ? AND name = ? AND fingerprint = ?");
  s.text(1, suite).text(2, name).text(3, fingerprint);
  if (!s.step()) return std::nullopt;
  return s.col_text(0);
}

}  // namespace meshsim::reports
