// Merges the results databases of a sharded conformance run (`meshsim
// conformance --shard I/N --db shard-I.db` on N machines) into one run: every
// case exactly once. A conflict is what makes the merge untrustworthy: the same
// case in two shards with a different outcome or fingerprint, or a shard of
// the I/N series that no input ran (its cases are missing). Duplicates that
// agree, runs of different revisions or different inputs are warnings. Each
// input contributes its latest run; inputs are read, never modified.
#pragma once

#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "reports/run_record.h"

namespace meshsim::reports {

struct ShardRun {
  std::string path;
  int64_t run_id = 0;
  RunRecord run;
};

// The latest run of a results database, opened read-only.
Result<ShardRun> load_shard_run(const std::string& path);

struct MergeResult {
  RunRecord merged;  // cases sorted by (suite, file); shard ""
  std::vector<std::string> conflicts;
  std::vector<std::string> warnings;
};

MergeResult merge_shard_runs(const std::vector<ShardRun>& shards, const std::string& command);

}  // namespace meshsim::reports
