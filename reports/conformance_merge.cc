#include "reports/conformance_merge.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "reports/result_store.h"

namespace meshsim::reports {

Result<ShardRun> load_shard_run(const std::string& path) {
  auto store = ResultStore::open(path, ResultsDb::Mode::kReadOnly);
  if (!store.ok()) return store.error();
  std::vector<int64_t> ids = (*store)->run_ids();
  if (ids.empty()) return Error{path + ": no conformance run recorded"};
  auto run = (*store)->load_run(ids.back());
  if (!run.ok()) return run.error();
  return ShardRun{path, ids.back(), std::move(*run)};
}

namespace {

// "I/N" → (I, N); (0, 0) when it is not one.
std::pair<int, int> parse_shard_text(const std::string& s) {
  int i = 0, n = 0;
  char extra = 0;
  if (std::sscanf(s.c_str(), "%d/%d%c", &i, &n, &extra) != 2 || n < 1 || i < 1 || i > n) return {0, 0};
  return {i, n};
}

std::string joined(const std::set<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

}  // namespace

MergeResult merge_shard_runs(const std::vector<ShardRun>& shards, const std::string& command) {
  MergeResult out;
  std::set<std::string> versions, revisions, commands;
  std::map<int, std::vector<std::string>> by_index;  // shard index → files
  std::set<int> counts;
  for (const ShardRun& s : shards) {
    versions.insert(s.run.meshsim_version);
    revisions.insert(s.run.git_revision);
    commands.insert(s.run.command);
    auto [i, n] = parse_shard_text(s.run.shard);
    if (n == 0) {
      out.warnings.push_back(s.path + ": run " + std::to_string(s.run_id) + " was not sharded (no --shard)");
      continue;
    }
    by_index[i].push_back(s.path);
    counts.insert(n);
  }
  if (counts.size() > 1) {
    std::set<std::string> ns;
    for (int n : counts) ns.insert(std::to_string(n));
    out.conflicts.push_back("the shards split the suite differently (N = " + joined(ns) + ")");
  } else if (counts.size() == 1) {
    int n = *counts.begin();
    for (int i = 1; i <= n; ++i) {
      if (!by_index.count(i)) {
        out.conflicts.push_back("shard " + std::to_string(i) + "/" + std::to_string(n) +
                                " is missing: no input ran it, so its cases are absent");
      } else if (by_index[i].size() > 1) {
        out.warnings.push_back("shard " + std::to_string(i) + "/" + std::to_string(n) + " appears in " +
                               std::to_string(by_index[i].size()) + " inputs");
      }
    }
  }
  if (revisions.size() > 1) out.warnings.push_back("the shards ran different revisions: " + joined(revisions));
  if (commands.size() > 1) out.warnings.push_back("the shards ran different commands: " + joined(commands));

  struct Seen {
    const CaseResult* c;
    const std::string* path;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Seen> cases;
  for (const ShardRun& s : shards) {
    for (const CaseResult& c : s.run.cases) {
      auto key = std::make_tuple(c.suite, c.file, c.name);
      auto [it, fresh] = cases.emplace(key, Seen{&c, &s.path});
      if (fresh) continue;
      const CaseResult& first = *it->second.c;
      std::string where = c.suite + "/" + c.name + " in " + *it->second.path + " and " + s.path;
      if (first.status != c.status) {
        out.conflicts.push_back(where + ": outcomes differ (" + to_string(first.status) + " vs " + to_string(c.status) + ")");
      } else if (first.fingerprint != c.fingerprint) {
        out.conflicts.push_back(where + ": fingerprints differ (" + first.fingerprint + " vs " + c.fingerprint + ")");
      } else {
        out.warnings.push_back(where + ": ran twice with the same result; counted once");
      }
    }
  }
  RunRecord& m = out.merged;
  m.meshsim_version = versions.size() == 1 ? *versions.begin() : joined(versions);
  m.git_revision = revisions.size() == 1 ? *revisions.begin() : "mixed: " + joined(revisions);
  m.command = command;
  for (const ShardRun& s : shards) {
    if (m.started_at.empty() || (!s.run.started_at.empty() && s.run.started_at < m.started_at)) m.started_at = s.run.started_at;
    m.wall_seconds = std::max(m.wall_seconds, s.run.wall_seconds);  // the shards ran side by side
  }
  for (const auto& [key, seen] : cases) m.cases.push_back(*seen.c);
  return out;
}

}  // namespace meshsim::reports
