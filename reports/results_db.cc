#include "reports/results_db.h"

#include <sqlite3.h>

namespace meshsim::reports {
namespace {

// Version 1: conformance history.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,
  started_at      TEXT NOT NULL,
  meshsim_version TEXT NOT NULL,
  git_revision    TEXT NOT NULL,
  command         TEXT NOT NULL,
  shard           TEXT NOT NULL,
  wall_seconds    REAL NOT NULL,
  cases_total     INTEGER NOT NULL,
  cases_passed    INTEGER NOT NULL,
  cases_failed    INTEGER NOT NULL,
  cases_skipped   INTEGER NOT NULL,
  cases_error     INTEGER NOT NULL
);
CREATE TABLE cases (
  id                 INTEGER PRIMARY KEY,
  run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  suite              TEXT NOT NULL,
  classname          TEXT NOT NULL,
  name               TEXT NOT NULL,
  file               TEXT NOT NULL,
  profile            TEXT NOT NULL,
  status             TEXT NOT NULL CHECK (status IN ('passed','failed','skipped','error')),
  message            TEXT NOT NULL,
  seed               INTEGER NOT NULL,
  fingerprint        TEXT NOT NULL,
  pinned_fingerprint TEXT NOT NULL,
  virtual_seconds    REAL NOT NULL,
  wall_seconds       REAL NOT NULL,
  time_compression   REAL NOT NULL,
  events             INTEGER NOT NULL
);
CREATE INDEX cases_by_name ON cases(suite, name, run_id);
CREATE TABLE traces (
  suite       TEXT NOT NULL,
  name        TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  trace       TEXT NOT NULL,
  PRIMARY KEY (suite, name, fingerprint)
);
CREATE TABLE expectations (
  id       INTEGER PRIMARY KEY,
  case_id  INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  kind     TEXT NOT NULL,
  passed   INTEGER NOT NULL CHECK (passed IN (0, 1)),
  expected TEXT NOT NULL,
  actual   TEXT NOT NULL,
  message  TEXT NOT NULL
);
)sql";

// Version 1 → 2: benchmark history. A recording is visible only once
// `complete` is 1, which the recording's own transaction sets last. Plus the
// indexes that reading a run back (merge, report) needs.
constexpr const char* kMigrationV2 = R"sql(
CREATE INDEX cases_by_run ON cases(run_id);
CREATE INDEX expectations_by_case ON expectations(case_id);
CREATE TABLE recordings (
  id                INTEGER PRIMARY KEY,
  recorded_at       TEXT NOT NULL,
  git_revision      TEXT NOT NULL,
  git_dirty         INTEGER NOT NULL CHECK (git_dirty IN (0, 1)),
  machine_id        TEXT NOT NULL,
  cpu_model         TEXT NOT NULL,
  cores             INTEGER NOT NULL,
  kernel            TEXT NOT NULL,
  compiler          TEXT NOT NULL,
  build_type        TEXT NOT NULL,
  host_name         TEXT NOT NULL,
  command           TEXT NOT NULL,
  context           TEXT NOT NULL,
  instructions_tool TEXT NOT NULL,
  complete          INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1))
);
CREATE INDEX recordings_by_revision ON recordings(git_revision);
CREATE INDEX recordings_by_machine ON recordings(machine_id, id);
CREATE TABLE bench_results (
  id           INTEGER PRIMARY KEY,
  recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
  source       TEXT NOT NULL,
  name         TEXT NOT NULL,
  run_type     TEXT NOT NULL CHECK (run_type IN ('iteration', 'aggregate', 'process')),
  aggregate    TEXT NOT NULL,
  repetition   INTEGER NOT NULL,
  threads      INTEGER NOT NULL,
  iterations   INTEGER NOT NULL,
  real_time_ns REAL,
  cpu_time_ns  REAL,
  label        TEXT NOT NULL
);
CREATE INDEX bench_results_by_recording ON bench_results(recording_id, name);
CREATE TABLE bench_metrics (
  result_id INTEGER NOT NULL REFERENCES bench_results(id) ON DELETE CASCADE,
  name      TEXT NOT NULL,
  value     REAL NOT NULL,
  PRIMARY KEY (result_id, name)
) WITHOUT ROWID;
)sql";

// Version 2 → 3: what-if runs (`meshsim whatif --db`): one row per table
// (a single table, or the base and head of a comparison), its cells with
// symbol and reason, and for comparisons the symbol before the change.
constexpr const char* kMigrationV3 = R"sql(
CREATE TABLE whatif_runs (
  id           INTEGER PRIMARY KEY,
  started_at   TEXT NOT NULL,
  git_revision TEXT NOT NULL,
  command      TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('table', 'comparison')),
  cells        INTEGER NOT NULL,
  broken       INTEGER NOT NULL,
  fixed        INTEGER NOT NULL,
  changed      INTEGER NOT NULL
);
CREATE TABLE whatif_cells (
  run_id      INTEGER NOT NULL REFERENCES whatif_runs(id) ON DELETE CASCADE,
  source      TEXT NOT NULL,
  destination TEXT NOT NULL,
  outcome     TEXT NOT NULL,
  symbol      TEXT NOT NULL,
  before      TEXT NOT NULL,
  reason      TEXT NOT NULL,
  PRIMARY KEY (run_id, source, destination)
) WITHOUT ROWID;
)sql";

// Version 3 → 4: what each conformance case did — its edges (requests,
// success, mTLS share, latency) and its story — for the report's run pages.
constexpr const char* kMigrationV4 = R"sql(
CREATE TABLE case_edges (
  case_id   INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  ordinal   INTEGER NOT NULL,
  source    TEXT NOT NULL,
  target    TEXT NOT NULL,
  protocol  TEXT NOT NULL,
  requests  INTEGER NOT NULL,
  ok        INTEGER NOT NULL,
  judged    INTEGER NOT NULL,
  mtls      INTEGER NOT NULL,
  p50_ms    REAL NOT NULL,
  p99_ms    REAL NOT NULL,
  failures  TEXT NOT NULL,
  PRIMARY KEY (case_id, ordinal)
) WITHOUT ROWID;
CREATE TABLE case_story (
  case_id    INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  ordinal    INTEGER NOT NULL,
  at_seconds REAL NOT NULL,
  text       TEXT NOT NULL,
  PRIMARY KEY (case_id, ordinal)
) WITHOUT ROWID;
)sql";

// Version 4 → 5: each edge's latency histograms, as JSON
// {"le_ms": [bounds…], "ok": [counts…], "failed": [counts…]} ('' before v5).
constexpr const char* kMigrationV5 = R"sql(
ALTER TABLE case_edges ADD COLUMN latency_histogram TEXT NOT NULL DEFAULT '';
)sql";

}  // namespace

ResultsDb::~ResultsDb() {
  if (db_) sqlite3_close(db_);
}

Result<std::unique_ptr<ResultsDb>> ResultsDb::open(const std::string& path, Mode mode) {
  sqlite3* db = nullptr;
  int flags = mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  std::unique_ptr<ResultsDb> self(new ResultsDb(db, path));
  if (rc != SQLITE_OK) {
    return Error{path + ": cannot open results database: " + (db ? sqlite3_errmsg(db) : "out of memory")};
  }
  sqlite3_busy_timeout(db, 5000);
  if (Status st = self->initialise(mode); !st.ok()) return Error{st.message()};
  return self;
}

Status ResultsDb::initialise(Mode mode) {
  if (Status st = exec("PRAGMA foreign_keys = ON"); !st.ok()) return st;
  int v = schema_version();
  if (v < 0) return Error{path_ + ": not a SQLite database"};
  if (v > kResultsSchemaVersion) {
    return Error{path_ + ": results database has schema version " + std::to_string(v) +
                 ", newer than this meshsim understands (" + std::to_string(kResultsSchemaVersion) + ")"};
  }
  if (v == 0) {
    Statement tables(*this, "SELECT count(*) FROM sqlite_master");
    if (tables.step() && tables.col_i64(0) != 0) {
      return Error{path_ + ": not a meshsim results database (it has tables but no schema version)"};
    }
  }
  if (mode == Mode::kReadOnly) {
    if (v == 0) return Error{path_ + ": empty file, not a meshsim results database"};
    return Status::Ok();
  }
  // WAL: readers see the last committed state while a recording is written;
  // a writer killed mid-transaction leaves frames the next opener ignores.
  if (Status st = exec("PRAGMA journal_mode = WAL"); !st.ok()) return st;
  if (v == kResultsSchemaVersion) return Status::Ok();
  // Create or migrate in one transaction: a failure leaves the old version.
  if (Status st = exec("BEGIN IMMEDIATE", "begin migration"); !st.ok()) return st;
  Status st = Status::Ok();
  if (v < 1) st = exec(kSchemaV1, "create schema version 1");
  if (st.ok() && v < 2) st = exec(kMigrationV2, "migrate to schema version 2");
  if (st.ok() && v < 3) st = exec(kMigrationV3, "migrate to schema version 3");
  if (st.ok() && v < 4) st = exec(kMigrationV4, "migrate to schema version 4");
  if (st.ok() && v < 5) st = exec(kMigrationV5, "migrate to schema version 5");
  if (st.ok()) st = exec(("PRAGMA user_version = " + std::to_string(kResultsSchemaVersion)).c_str(), "set version");
  if (st.ok()) st = exec("COMMIT", "commit migration");
  if (!st.ok()) rollback();
  return st;
}

int ResultsDb::schema_version() const {
  Statement s(*this, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.col_i64(0)) : -1;
}

bool ResultsDb::has_table(const std::string& name) const {
  Statement s(*this, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  s.text(1, name);
  return s.step();
}

Status ResultsDb::exec(const char* sql, const std::string& what) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = path_ + ": " + what + ": " + (msg ? msg : "unknown error");
    sqlite3_free(msg);
    return Error{m};
  }
  return Status::Ok();
}

Error ResultsDb::abort(const std::string& what) {
  Error e{path_ + ": " + what + ": " + last_error()};
  rollback();
  return e;
}

void ResultsDb::rollback() { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

std::string ResultsDb::last_error() const { return sqlite3_errmsg(db_); }
int64_t ResultsDb::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

Statement::Statement(const ResultsDb& db, const char* sql) {
  if (sqlite3_prepare_v2(db.handle(), sql, -1, &stmt_, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::text(int i, const std::string& v) {
  sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::i64(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Statement& Statement::real(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Statement& Statement::real_or_null(int i, const std::optional<double>& v) {
  if (v) sqlite3_bind_double(stmt_, i, *v);
  else sqlite3_bind_null(stmt_, i);
  return *this;
}

bool Statement::step() {
  if (!stmt_) return false;
  int rc = sqlite3_step(stmt_);
  done_ = rc == SQLITE_DONE;
  return rc == SQLITE_ROW;
}

bool Statement::run() {
  while (step()) {
  }
  bool ok = done_;
  reset();
  return ok;
}

void Statement::reset() {
  if (!stmt_) return;  // a statement that failed to prepare has nothing to reset
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::col_text(int c) const {
  const unsigned char* t = sqlite3_column_text(stmt_, c);
  int n = sqlite3_column_bytes(stmt_, c);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(n)) : std::string();
}
int64_t Statement::col_i64(int c) const { return sqlite3_column_int64(stmt_, c); }
double Statement::col_real(int c) const { return sqlite3_column_double(stmt_, c); }
std::optional<double> Statement::col_real_or_null(int c) const {
  if (sqlite3_column_type(stmt_, c) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_double(stmt_, c);
}

}  // namespace meshsim::reports
