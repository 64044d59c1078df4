// ResultStore records runs in a SQLite database so that results, fingerprints
// and timings can be compared across runs and commits (docs/formats/results-db.md
// specifies the schema). The schema is versioned with PRAGMA user_version;
// opening an older database migrates it, a newer one is refused. Each run is
// written in one transaction: a failed write leaves nothing behind.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "proxy/base/result.h"
#include "reports/run_record.h"

namespace meshsim::reports {

inline constexpr int kResultsSchemaVersion = 1;

class ResultStore {
 public:
  static Result<std::unique_ptr<ResultStore>> open(const std::string& path);
  ~ResultStore();

  // Inserts the run, its cases and expectations; returns the run id.
  Result<int64_t> record(const RunRecord& run);
  int schema_version() const;

  // The fingerprint recorded for (suite, case name) by the most recent run
  // before `before_run_id` (0 = the latest), or "" if none.
  std::string previous_fingerprint(const std::string& suite, const std::string& name, int64_t before_run_id = 0);

  // Reference event traces: the per-event trace of a run whose fingerprint a
  // scenario pins, kept so that a later run with a different fingerprint can
  // name the first event where the two diverge. One trace per (suite, case,
  // fingerprint).
  Status store_trace(const std::string& suite, const std::string& name, const std::string& fingerprint,
                     const std::string& trace);
  std::optional<std::string> load_trace(const std::string& suite, const std::string& name,
                                        const std::string& fingerprint);

 private:
  struct Impl;
  explicit ResultStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::reports
