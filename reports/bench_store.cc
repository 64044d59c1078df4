#include "reports/bench_store.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>

namespace meshsim::reports {

std::string MachineInfo::id() const {
  // FNV-1a over the fields that make timings comparable.
  std::string key = cpu_model + "\x1f" + std::to_string(cores) + "\x1f" + kernel + "\x1f" + compiler + "\x1f" + build_type;
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

BenchStore::~BenchStore() = default;

Result<std::unique_ptr<BenchStore>> BenchStore::open(const std::string& path, ResultsDb::Mode mode) {
  auto db = ResultsDb::open(path, mode);
  if (!db.ok()) return db.error();
  if (!(*db)->has_table("recordings")) {
    return Error{path + ": schema version " + std::to_string((*db)->schema_version()) +
                 " holds no benchmark recordings (open it read-write once to migrate)"};
  }
  return std::unique_ptr<BenchStore>(new BenchStore(std::move(*db)));
}

Result<int64_t> BenchStore::record(const BenchRecording& rec) {
  ResultsDb& db = *db_;
  if (Status st = db.exec("BEGIN IMMEDIATE", "begin recording"); !st.ok()) return Error{st.message()};
  Statement r(db,
              "INSERT INTO recordings (recorded_at, git_revision, git_dirty, machine_id, cpu_model, cores, kernel, "
              "compiler, build_type, host_name, command, context, instructions_tool, complete) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,0)");
  Statement s(db,
              "INSERT INTO bench_results (recording_id, source, name, run_type, aggregate, repetition, threads, "
              "iterations, real_time_ns, cpu_time_ns, label) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  Statement m(db, "INSERT INTO bench_metrics (result_id, name, value) VALUES (?,?,?)");
  Statement done(db, "UPDATE recordings SET complete = 1 WHERE id = ?");
  if (!r.ok() || !s.ok() || !m.ok() || !done.ok()) return db.abort("prepare");
  const MachineInfo& mi = rec.machine;
  r.text(1, rec.recorded_at).text(2, rec.git_revision).i64(3, rec.git_dirty ? 1 : 0).text(4, mi.id())
      .text(5, mi.cpu_model).i64(6, mi.cores).text(7, mi.kernel).text(8, mi.compiler).text(9, mi.build_type)
      .text(10, mi.host_name).text(11, rec.command).text(12, rec.context_json.empty() ? "{}" : rec.context_json)
      .text(13, rec.instructions_tool);
  if (!r.run()) return db.abort("insert recording");
  int64_t id = db.last_insert_rowid();
  for (const BenchSample& b : rec.samples) {
    s.i64(1, id).text(2, b.source).text(3, b.name).text(4, b.run_type).text(5, b.aggregate).i64(6, b.repetition)
        .i64(7, b.threads).i64(8, b.iterations).real_or_null(9, b.real_time_ns).real_or_null(10, b.cpu_time_ns)
        .text(11, b.label);
    if (!s.run()) return db.abort("insert sample " + b.name);
    int64_t result_id = db.last_insert_rowid();
    for (const auto& [name, value] : b.metrics) {
      m.i64(1, result_id).text(2, name).real(3, value);
      if (!m.run()) return db.abort("insert metric " + name + " of " + b.name);
    }
  }
  done.i64(1, id);
  if (!done.run()) return db.abort("complete recording");
  if (Status st = db.exec("COMMIT", "commit recording"); !st.ok()) return db.abort("commit");
  return id;
}

std::vector<RecordingSummary> BenchStore::recordings(const std::string& machine_id) const {
  std::vector<RecordingSummary> out;
  Statement s(*db_,
              "SELECT r.id, r.recorded_at, r.git_revision, r.git_dirty, r.machine_id, r.cpu_model, r.host_name, "
              "(SELECT count(*) FROM bench_results b WHERE b.recording_id = r.id) "
              "FROM recordings r WHERE r.complete = 1 AND (? = '' OR r.machine_id = ?) ORDER BY r.id");
  s.text(1, machine_id).text(2, machine_id);
  while (s.step()) {
    out.push_back({s.col_i64(0), s.col_text(1), s.col_text(2), s.col_i64(3) != 0, s.col_text(4), s.col_text(5),
                   s.col_text(6), s.col_i64(7)});
  }
  return out;
}

std::vector<BenchSample> BenchStore::samples(const std::vector<int64_t>& recording_ids) const {
  std::vector<BenchSample> out;
  Statement s(*db_,
              "SELECT b.id, b.source, b.name, b.run_type, b.aggregate, b.repetition, b.threads, b.iterations, "
              "b.real_time_ns, b.cpu_time_ns, b.label FROM bench_results b JOIN recordings r ON r.id = b.recording_id "
              "WHERE b.recording_id = ? AND r.complete = 1 ORDER BY b.id");
  Statement m(*db_,
              "SELECT m.result_id, m.name, m.value FROM bench_metrics m JOIN bench_results b ON b.id = m.result_id "
              "WHERE b.recording_id = ? ORDER BY m.result_id");
  for (int64_t rid : recording_ids) {
    size_t first = out.size();
    std::map<int64_t, size_t> index;
    s.i64(1, rid);
    while (s.step()) {
      BenchSample b;
      index[s.col_i64(0)] = out.size();
      b.source = s.col_text(1);
      b.name = s.col_text(2);
      b.run_type = s.col_text(3);
      b.aggregate = s.col_text(4);
      b.repetition = s.col_i64(5);
      b.threads = s.col_i64(6);
      b.iterations = s.col_i64(7);
      b.real_time_ns = s.col_real_or_null(8);
      b.cpu_time_ns = s.col_real_or_null(9);
      b.label = s.col_text(10);
      out.push_back(std::move(b));
    }
    s.reset();
    if (out.size() == first) continue;
    m.i64(1, rid);
    while (m.step()) {
      auto it = index.find(m.col_i64(0));
      if (it != index.end()) out[it->second].metrics.emplace_back(m.col_text(1), m.col_real(2));
    }
    m.reset();
  }
  return out;
}

namespace {

std::string short_revision(const std::string& rev) { return rev.substr(0, 12); }

std::string describe(const RecordingSummary& r) {
  return "recording " + std::to_string(r.id) + " (" + short_revision(r.git_revision) + (r.git_dirty ? "-dirty" : "") +
         ", " + r.recorded_at + ")";
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<ResolvedRef> BenchStore::resolve(const std::string& ref, const std::string& machine_id, int64_t before_id) const {
  std::vector<RecordingSummary> all = recordings();
  if (all.empty()) return Error{db_->path() + ": no benchmark recordings (record some with: meshsim bench record)"};
  auto one = [](const RecordingSummary& r) {
    ResolvedRef out;
    out.recording_ids = {r.id};
    out.machine_id = r.machine_id;
    out.description = describe(r);
    return out;
  };
  if (ref == "latest" || ref == "previous") {
    std::vector<RecordingSummary> mine;
    for (const auto& r : all) {
      if (machine_id.empty() || r.machine_id == machine_id) mine.push_back(r);
    }
    if (ref == "latest") {
      if (mine.empty()) return Error{"latest: no recording on this machine (" + machine_id + ")"};
      return one(mine.back());
    }
    int64_t limit = before_id != 0 ? before_id : (mine.empty() ? 0 : mine.back().id);
    for (auto it = mine.rbegin(); it != mine.rend(); ++it) {
      if (it->id < limit) return one(*it);
    }
    return Error{"previous: no earlier recording on this machine" + (machine_id.empty() ? "" : " (" + machine_id + ")") +
                 " to compare with; record a baseline first"};
  }
  std::string key = ref;
  bool id_only = false, rev_only = false;
  if (key.rfind("id:", 0) == 0) key = key.substr(3), id_only = true;
  else if (key.rfind("#", 0) == 0) key = key.substr(1), id_only = true;
  else if (key.rfind("rev:", 0) == 0) key = key.substr(4), rev_only = true;
  if (!rev_only && all_digits(key)) {
    for (const auto& r : all) {
      if (std::to_string(r.id) == key) return one(r);
    }
    if (id_only) return Error{"no complete recording with id " + key};
  }
  std::string prefix = lower(key);
  std::vector<RecordingSummary> match;
  std::set<std::string> revisions;
  if (prefix.size() >= 4) {  // git's shortest abbreviation
    for (const auto& r : all) {
      if (lower(r.git_revision).rfind(prefix, 0) == 0) {
        match.push_back(r);
        revisions.insert(r.git_revision);
      }
    }
  }
  if (match.empty()) {
    std::string known;
    std::set<std::string> seen;
    for (auto it = all.rbegin(); it != all.rend() && seen.size() < 5; ++it) {
      if (seen.insert(it->git_revision).second) known += (known.empty() ? "" : ", ") + short_revision(it->git_revision);
    }
    return Error{"unknown revision or recording \"" + ref + "\" (recordings " + std::to_string(all.front().id) + "–" +
                 std::to_string(all.back().id) + "; recent revisions: " + known + ")"};
  }
  if (revisions.size() > 1) {
    std::string list;
    for (const auto& r : revisions) list += (list.empty() ? "" : ", ") + short_revision(r);
    return Error{"ambiguous revision prefix \"" + ref + "\": matches " + list};
  }
  std::string machine = machine_id;
  if (machine.empty() || std::none_of(match.begin(), match.end(), [&](const auto& r) { return r.machine_id == machine; })) {
    machine = match.back().machine_id;
  }
  ResolvedRef out;
  out.machine_id = machine;
  size_t others = 0;
  for (const auto& r : match) {
    if (r.machine_id == machine) out.recording_ids.push_back(r.id);
    else ++others;
  }
  if (others > 0) {
    out.notes.push_back(ref + ": " + std::to_string(others) + " recording(s) of that revision on other machines left out");
  }
  out.description = out.recording_ids.size() == 1
                        ? describe(*std::find_if(match.begin(), match.end(),
                                                 [&](const auto& r) { return r.id == out.recording_ids[0]; }))
                        : "revision " + short_revision(*revisions.begin()) + " (" +
                              std::to_string(out.recording_ids.size()) + " recordings)";
  return out;
}

}  // namespace meshsim::reports
