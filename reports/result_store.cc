#include "reports/result_store.h"

#include <sqlite3.h>

namespace meshsim::reports {
namespace {

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

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK; }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return ok_; }
  Stmt& text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& i64(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& real(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  sqlite3_stmt* get() { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
  bool ok_ = false;
};

}  // namespace

struct ResultStore::Impl {
  sqlite3* db = nullptr;
  std::string path;
  ~Impl() {
    if (db) sqlite3_close(db);
  }
  bool exec(const char* sql, std::string* err) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      if (err) *err = msg ? msg : "unknown error";
      sqlite3_free(msg);
      return false;
    }
    return true;
  }
  int user_version() {
    Stmt s(db, "PRAGMA user_version");
    return s.step() == SQLITE_ROW ? sqlite3_column_int(s.get(), 0) : -1;
  }
};

ResultStore::ResultStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResultStore::~ResultStore() = default;

Result<std::unique_ptr<ResultStore>> ResultStore::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    return Error{path + ": cannot open results database: " + (impl->db ? sqlite3_errmsg(impl->db) : "out of memory")};
  }
  sqlite3_busy_timeout(impl->db, 5000);
  std::string err;
  if (!impl->exec("PRAGMA foreign_keys = ON", &err)) return Error{path + ": " + err};
  int v = impl->user_version();
  if (v < 0) return Error{path + ": not a SQLite database"};
  if (v > kResultsSchemaVersion) {
    return Error{path + ": results database has schema version " + std::to_string(v) +
                 ", newer than this meshsim understands (" + std::to_string(kResultsSchemaVersion) + ")"};
  }
  if (v == 0) {
    // Fresh database (or an empty file): create schema version 1.
    Stmt tables(impl->db, "SELECT count(*) FROM sqlite_master");
    if (tables.step() == SQLITE_ROW && sqlite3_column_int(tables.get(), 0) != 0) {
      return Error{path + ": not a meshsim results database (it has tables but no schema version)"};
    }
    if (!impl->exec("BEGIN", &err) || !impl->exec(kSchemaV1, &err) || !impl->exec("PRAGMA user_version = 1", &err) ||
        !impl->exec("COMMIT", &err)) {
      return Error{path + ": cannot create schema: " + err};
    }
  }
  return std::unique_ptr<ResultStore>(new ResultStore(std::move(impl)));
}

int ResultStore::schema_version() const { return impl_->user_version(); }

Result<int64_t> ResultStore::record(const RunRecord& run) {
  sqlite3* db = impl_->db;
  std::string err;
  if (!impl_->exec("BEGIN IMMEDIATE", &err)) return Error{impl_->path + ": " + err};
  auto fail = [&](const std::string& what) -> Result<int64_t> {
    std::string msg = impl_->path + ": " + what + ": " + sqlite3_errmsg(db);
    impl_->exec("ROLLBACK", nullptr);
    return Error{msg};
  };
  Stmt r(db,
         "INSERT INTO runs (started_at, meshsim_version, git_revision, command, shard, wall_seconds, cases_total, "
         "cases_passed, cases_failed, cases_skipped, cases_error) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  if (!r.ok()) return fail("prepare runs");
  r.text(1, run.started_at).text(2, run.meshsim_version).text(3, run.git_revision).text(4, run.command)
      .text(5, run.shard).real(6, run.wall_seconds).i64(7, static_cast<int64_t>(run.cases.size()))
      .i64(8, static_cast<int64_t>(run.count(CaseStatus::kPassed)))
      .i64(9, static_cast<int64_t>(run.count(CaseStatus::kFailed)))
      .i64(10, static_cast<int64_t>(run.count(CaseStatus::kSkipped)))
      .i64(11, static_cast<int64_t>(run.count(CaseStatus::kError)));
  if (r.step() != SQLITE_DONE) return fail("insert run");
  int64_t run_id = sqlite3_last_insert_rowid(db);
  for (const CaseResult& c : run.cases) {
    Stmt cs(db,
            "INSERT INTO cases (run_id, suite, classname, name, file, profile, status, message, seed, fingerprint, "
            "pinned_fingerprint, virtual_seconds, wall_seconds, time_compression, events) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!cs.ok()) return fail("prepare cases");
    cs.i64(1, run_id).text(2, c.suite).text(3, c.classname).text(4, c.name).text(5, c.file).text(6, c.profile)
        .text(7, to_string(c.status)).text(8, c.message).i64(9, static_cast<int64_t>(c.seed)).text(10, c.fingerprint)
        .text(11, c.pinned_fingerprint).real(12, c.virtual_seconds).real(13, c.wall_seconds)
        .real(14, c.time_compression()).i64(15, static_cast<int64_t>(c.events));
    if (cs.step() != SQLITE_DONE) return fail("insert case");
    int64_t case_id = sqlite3_last_insert_rowid(db);
    for (const ExpectationResult& e : c.expectations) {
      Stmt es(db,
              "INSERT INTO expectations (case_id, name, kind, passed, expected, actual, message) VALUES (?,?,?,?,?,?,?)");
      if (!es.ok()) return fail("prepare expectations");
      es.i64(1, case_id).text(2, e.name).text(3, e.kind).i64(4, e.passed ? 1 : 0).text(5, e.expected)
          .text(6, e.actual).text(7, e.message);
      if (es.step() != SQLITE_DONE) return fail("insert expectation");
    }
  }
  if (!impl_->exec("COMMIT", &err)) return fail("commit");
  return run_id;
}

std::string ResultStore::previous_fingerprint(const std::string& suite, const std::string& name,
                                              int64_t before_run_id) {
  Stmt s(impl_->db,
         "SELECT fingerprint FROM cases WHERE suite = ? AND name = ? AND (? = 0 OR run_id < ?) "
         "ORDER BY run_id DESC LIMIT 1");
  s.text(1, suite).text(2, name).i64(3, before_run_id).i64(4, before_run_id);
  if (s.step() != SQLITE_ROW) return "";
  const unsigned char* t = sqlite3_column_text(s.get(), 0);
  return t ? reinterpret_cast<const char*>(t) : "";
}

Status ResultStore::store_trace(const std::string& suite, const std::string& name, const std::string& fingerprint,
                                const std::string& trace) {
  Stmt s(impl_->db, "INSERT OR REPLACE INTO traces (suite, name, fingerprint, trace) VALUES (?,?,?,?)");
  s.text(1, suite).text(2, name).text(3, fingerprint).text(4, trace);
  if (s.step() != SQLITE_DONE) return Error{impl_->path + ": cannot store trace: " + sqlite3_errmsg(impl_->db)};
  return Status::Ok();
}

std::optional<std::string> ResultStore::load_trace(const std::string& suite, const std::string& name,
                                                   const std::string& fingerprint) {
  Stmt s(impl_->db, "SELECT trace FROM traces WHERE suite = ? AND name = ? AND fingerprint = ?");
  s.text(1, suite).text(2, name).text(3, fingerprint);
  if (s.step() != SQLITE_ROW) return std::nullopt;
  const unsigned char* t = sqlite3_column_text(s.get(), 0);
  int n = sqlite3_column_bytes(s.get(), 0);
  return std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(n));
}

}  // namespace meshsim::reports
