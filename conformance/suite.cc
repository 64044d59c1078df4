#include "conformance/suite.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "reports/result_store.h"
#include "sim/scenario/runner.h"

namespace meshsim::conformance {

namespace fs = std::filesystem;
using nlohmann::json;

Result<std::vector<CaseSpec>> discover(const std::vector<std::string>& inputs) {
  std::vector<CaseSpec> out;
  for (const std::string& in : inputs) {
    std::error_code ec;
    fs::path p(in);
    if (!fs::exists(p, ec)) return Error{in + ": no such file or directory"};
    auto is_yaml = [](const fs::path& f) { return f.extension() == ".yaml" || f.extension() == ".yml"; };
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(p, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file() && is_yaml(it->path())) files.push_back(it->path());
      }
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) {
        // The suite is the first directory below the given root (conformance/suites/<suite>/…),
        // or the root itself when the files sit directly in it.
        fs::path rel = fs::relative(f, p);
        std::string suite = rel.has_parent_path() ? rel.begin()->string() : p.filename().string();
        if (suite.empty() || suite == "." || suite == "..") suite = fs::weakly_canonical(fs::absolute(p)).filename().string();
        // Only files that are scenarios (kind: Scenario, or a top-level `expect:`) count.
        std::ifstream fin(f);
        std::string text((std::istreambuf_iterator<char>(fin)), std::istreambuf_iterator<char>());
        if (text.find("kind: Scenario") == std::string::npos && text.find("\nexpect:") == std::string::npos) continue;
        out.push_back({f.string(), suite, rel.string()});
      }
    } else {
      // A single file: its directory names the suite ("x.yaml" run from scenarios/ → "scenarios").
      out.push_back({p.string(), fs::weakly_canonical(fs::absolute(p)).parent_path().filename().string(),
                     p.filename().string()});
    }
  }
  if (out.empty()) return Error{"no scenario files found (files with kind: Scenario or expect:)"};
  return out;
}

Result<Shard> parse_shard(const std::string& text) {
  size_t slash = text.find('/');
  Shard s;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t a = 0, b = 0;
    s.index = std::stoi(text.substr(0, slash), &a);
    s.count = std::stoi(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1) throw std::invalid_argument("trailing");
  } catch (...) {
    return Error{"--shard: expected I/N such as 1/2, got \"" + text + "\""};
  }
  if (s.count < 1 || s.index < 1 || s.index > s.count) return Error{"--shard: need 1 <= I <= N, got \"" + text + "\""};
  return s;
}

std::vector<CaseSpec> select_shard(const std::vector<CaseSpec>& cases, Shard s) {
  std::vector<CaseSpec> out;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(s.count)) == s.index - 1) out.push_back(cases[i]);
  }
  return out;
}

namespace {

std::string trace_text(const std::vector<sim::TraceLine>& t) {
  std::string out;
  out.reserve(t.size() * 64);
  char buf[96];
  for (const auto& l : t) {
    std::snprintf(buf, sizeof buf, "%lld %c ", static_cast<long long>(l.time_ns), l.publication ? 'P' : 'E');
    out += buf;
    out += l.actor;
    out += ' ';
    out += l.kind;
    std::snprintf(buf, sizeof buf, " %016llx %016llx\n", static_cast<unsigned long long>(l.digest),
                  static_cast<unsigned long long>(l.fingerprint));
    out += buf;
  }
  return out;
}

// Runs one case in this process and returns its JSON result.
json run_case(const CaseSpec& c, bool want_trace, bool updating, bool strict, const SuiteOptions* capture = nullptr) {
  auto wall0 = std::chrono::steady_clock::now();
  json j;
  j["file"] = c.relative;
  j["suite"] = c.suite;
  sim::ScenarioLoadOptions lo;
  lo.strict = strict;  // unknown scenario fields are errors
  sim::ScenarioLoad load = sim::load_scenario(c.path, lo);
  if (!load.scenario) {
    std::string msg;
    for (const auto& d : load.diagnostics) {
      if (d.severity == mesh::Severity::kError) msg += d.format() + "\n";
    }
    j["status"] = "error";
    j["input_error"] = true;
    j["message"] = msg;
    j["name"] = fs::path(c.path).stem().string();
    return j;
  }
  const sim::Scenario& s = *load.scenario;
  j["name"] = s.name;
  j["profile"] = s.profile;
  j["seed"] = s.seed;
  j["pinned"] = s.pinned_fingerprint.value_or("");
  if (!s.skip.empty()) {
    j["status"] = "skipped";
    j["message"] = s.skip;
    return j;
  }
  sim::RunOptions ro;
  ro.record_trace = want_trace && (s.pinned_fingerprint.has_value() || updating);
  if (capture && !capture->capture_dir.empty()) {
    fs::path dir = fs::path(capture->capture_dir) / (c.suite.empty() ? "suite" : c.suite);
    std::error_code ec;
    fs::create_directories(dir, ec);
    ro.capture.pcap = (dir / (s.name + ".pcap")).string();
    ro.capture.keylog = (dir / (s.name + ".keys")).string();
    ro.capture.filter = capture->capture_filter;
    j["pcap"] = ro.capture.pcap;
  }
  auto r = sim::run_scenario(s, ro);
  if (!r.ok()) {
    j["status"] = "error";
    j["message"] = r.message();
    return j;
  }
  j["fingerprint"] = sim::format_fingerprint(r->fingerprint);
  j["virtual_seconds"] = r->virtual_time.to_seconds();
  j["events"] = r->events;
  json ex = json::array();
  bool passed = true;
  std::string first_failure;
  for (const auto& e : r->expectations) {
    ex.push_back({{"name", e.name}, {"kind", e.kind}, {"passed", e.passed}, {"expected", e.expected},
                  {"actual", e.actual}, {"message", e.message}});
    if (!e.passed) {
      passed = false;
      if (first_failure.empty()) first_failure = e.name + ": expected " + e.expected + ", actual " + e.actual;
    }
  }
  if (r->unscoped_random_bytes != 0) {
    // Randomness outside the seed's streams: the verdicts may not reproduce.
    std::string actual = std::to_string(r->unscoped_random_bytes) + " bytes drawn outside the seed's streams";
    ex.push_back({{"name", "reproducible"}, {"kind", "determinism"}, {"passed", false},
                  {"expected", "every random byte from the scenario seed"}, {"actual", actual}, {"message", ""}});
    passed = false;
    if (first_failure.empty()) first_failure = "reproducible: " + actual;
  }
  j["expectations"] = ex;
  j["not_modelled"] = r->not_modelled;
  json edges = json::array();
  for (const auto& e : r->edges) {
    std::string failures;
    for (const auto& [outcome, n] : e.failures) failures += (failures.empty() ? "" : ", ") + outcome + "×" + std::to_string(n);
    edges.push_back({{"from", e.from}, {"target", e.target}, {"protocol", e.protocol}, {"requests", e.requests},
                     {"ok", e.ok}, {"judged", e.judged}, {"mtls", e.mtls}, {"p50_ms", e.p50.to_millis()},
                     {"p99_ms", e.p99.to_millis()}, {"failures", failures},
                     {"latency_histogram", {{"le_ms", sim::kEdgeLatencyBoundsMs}, {"ok", e.latency_ok},
                                            {"failed", e.latency_failed}}}});
  }
  j["edges"] = edges;
  json story = json::array();
  for (const auto& line : r->story) {
    std::string text = line.text;
    for (const auto& d : line.details) text += "\n  " + d;
    story.push_back({{"at", line.at.to_seconds()}, {"text", text}});
  }
  j["story"] = story;
  j["status"] = passed ? "passed" : "failed";
  j["message"] = first_failure;
  if (ro.record_trace) j["trace"] = trace_text(r->trace);
  j["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return j;
}

reports::CaseResult to_case(const json& j) {
  reports::CaseResult c;
  c.suite = j.value("suite", "");
  c.name = j.value("name", "");
  c.classname = c.suite + "." + c.name;
  c.file = j.value("file", "");
  c.profile = j.value("profile", "MESH-CORE");
  std::string st = j.value("status", "error");
  c.status = st == "passed"    ? reports::CaseStatus::kPassed
             : st == "failed"  ? reports::CaseStatus::kFailed
             : st == "skipped" ? reports::CaseStatus::kSkipped
                               : reports::CaseStatus::kError;
  c.message = j.value("message", "");
  if (j.contains("not_modelled")) c.not_modelled = j["not_modelled"].get<std::vector<std::string>>();
  c.seed = j.value("seed", uint64_t{0});
  c.fingerprint = j.value("fingerprint", "");
  c.pinned_fingerprint = j.value("pinned", "");
  c.virtual_seconds = j.value("virtual_seconds", 0.0);
  c.wall_seconds = j.value("wall_seconds", 0.0);
  c.events = j.value("events", uint64_t{0});
  if (j.contains("edges")) {
    for (const auto& e : j["edges"]) {
      c.edges.push_back({e.value("from", ""), e.value("target", ""), e.value("protocol", ""), e.value("requests", uint64_t{0}),
                         e.value("ok", uint64_t{0}), e.value("judged", uint64_t{0}), e.value("mtls", uint64_t{0}),
                         e.value("p50_ms", 0.0), e.value("p99_ms", 0.0), e.value("failures", ""), {}, {}, {}});
      if (auto h = e.find("latency_histogram"); h != e.end() && h->is_object()) {
        reports::EdgeRecord& rec = c.edges.back();
        rec.latency_le_ms = h->value("le_ms", std::vector<double>{});
        rec.latency_ok = h->value("ok", std::vector<uint64_t>{});
        rec.latency_failed = h->value("failed", std::vector<uint64_t>{});
      }
    }
  }
  if (j.contains("story")) {
    for (const auto& line : j["story"]) c.story.push_back({line.value("at", 0.0), line.value("text", "")});
  }
  if (j.contains("expectations")) {
    for (const auto& e : j["expectations"]) {
      c.expectations.push_back({e.value("name", ""), e.value("kind", ""), e.value("passed", false),
                                e.value("expected", ""), e.value("actual", ""), e.value("message", "")});
    }
  }
  return c;
}

struct Child {
  pid_t pid = -1;
  int fd = -1;
  size_t index = 0;
  std::string out;
};

}  // namespace

std::string first_divergence(const std::string& reference, const std::string& current) {
  std::istringstream a(reference), b(current);
  std::string la, lb;
  size_t n = 0;
  for (;;) {
    bool ha = static_cast<bool>(std::getline(a, la));
    bool hb = static_cast<bool>(std::getline(b, lb));
    ++n;
    if (!ha && !hb) return "";
    if (ha != hb || la != lb) {
      auto describe = [](const std::string& l) {
        if (l.empty()) return std::string("(end of run)");
        std::istringstream s(l);
        long long t = 0;
        std::string what, actor, kind, digest;
        s >> t >> what >> actor >> kind >> digest;
        char buf[64];
        std::snprintf(buf, sizeof buf, "t=%.9fs ", static_cast<double>(t) / 1e9);
        return std::string(buf) + (what == "P" ? "observation " : "event ") + kind + " by " + actor +
               (what == "P" ? " (payload digest " + digest + ")" : "");
      };
      return "runs diverge at trace entry " + std::to_string(n) + ": reference " + describe(ha ? la : "") +
             "; this run " + describe(hb ? lb : "");
    }
  }
}

Status write_fingerprint(const std::string& path, const std::string& fingerprint) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot read"};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::string line = "fingerprint: \"" + fingerprint + "\"";
  size_t pos = 0;
  bool done = false;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string l = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    if (l.rfind("fingerprint:", 0) == 0) {
      text.replace(pos, l.size(), line);
      done = true;
      break;
    }
    if (eol == std::string::npos) break;
    pos = eol + 1;
  }
  if (!done) {
    // Insert after the top-level `seed:` (or `duration:`) line.
    for (const char* key : {"\nseed:", "\nduration:"}) {
      size_t k = text.find(key);
      if (k == std::string::npos) continue;
      size_t eol = text.find('\n', k + 1);
      text.insert(eol == std::string::npos ? text.size() : eol + 1, line + "\n");
      done = true;
      break;
    }
    if (!done) text += (text.empty() || text.back() == '\n' ? "" : "\n") + line + "\n";
  }
  std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return Error{path + ": cannot write"};
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Error{path + ": cannot write"};
  return Status::Ok();
}

SuiteRun run_suite(const std::vector<CaseSpec>& cases, const SuiteOptions& o) {
  SuiteRun out;
  bool want_trace = o.store != nullptr || o.update_fingerprints;
  std::vector<json> results(cases.size());
  std::vector<Child> running;
  size_t next = 0;
  int jobs = std::max(1, o.jobs);
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<reports::CaseResult> processed(cases.size());
  // Fingerprint checks, reference traces and divergence, per finished case.
  auto process = [&](size_t i) {
    json& j = results[i];
    if (j.value("input_error", false)) {
      out.input_errors = true;
      out.messages.push_back(j.value("message", ""));
    }
    reports::CaseResult c = to_case(j);
    std::string trace = j.value("trace", "");
    if (!c.fingerprint.empty() && o.update_fingerprints && c.fingerprint != c.pinned_fingerprint) {
      if (Status st = write_fingerprint(cases[i].path, c.fingerprint); st.ok()) {
        out.messages.push_back("wrote " + cases[i].path + " (fingerprint " + c.fingerprint + ")");
        c.pinned_fingerprint = c.fingerprint;
        // The fingerprint expectation now holds.
        for (auto& e : c.expectations) {
          if (e.kind == "fingerprint") {
            e.passed = true;
            e.expected = c.fingerprint;
          }
        }
        bool all = std::all_of(c.expectations.begin(), c.expectations.end(), [](const auto& e) { return e.passed; });
        if (all && c.status == reports::CaseStatus::kFailed) {
          c.status = reports::CaseStatus::kPassed;
          c.message.clear();
        }
      } else {
        out.messages.push_back(st.message());
      }
    }
    // A pinned fingerprint that changed: run the case again. Two runs of the
    // same build that disagree mean the build is not deterministic; two that
    // agree mean the behaviour changed — then the rerun's trace (recorded even
    // without --db) is compared with the stored reference.
    if (!c.pinned_fingerprint.empty() && !c.fingerprint.empty() && c.fingerprint != c.pinned_fingerprint &&
        !o.update_fingerprints) {
      json again = run_case(cases[i], true, true, o.strict);
      std::string fp2 = again.value("fingerprint", "");
      std::string trace2 = again.value("trace", "");
      std::string note;
      if (fp2 != c.fingerprint) {
        note = "NOT DETERMINISTIC: a second run of this build gave " + fp2 + " (first " + c.fingerprint + ")";
        if (!trace.empty() && !trace2.empty()) note += "; " + first_divergence(trace, trace2);
      } else {
        note = "a second run reproduced " + fp2 + ": the behaviour changed";
        if (trace.empty()) trace = trace2;
      }
      for (auto& e : c.expectations) {
        if (e.kind == "fingerprint") e.message = note;
      }
      c.message += (c.message.empty() ? "" : "; ") + note;
    }
    if (o.store && !c.pinned_fingerprint.empty() && !trace.empty()) {
      if (c.fingerprint == c.pinned_fingerprint) {
        (void)o.store->store_trace(c.suite, c.name, c.fingerprint, trace);
      } else if (auto ref = o.store->load_trace(c.suite, c.name, c.pinned_fingerprint)) {
        std::string div = first_divergence(*ref, trace);
        for (auto& e : c.expectations) {
          if (e.kind == "fingerprint") e.message += (e.message.empty() ? "" : "; ") + div;
        }
        if (!div.empty()) c.message += (c.message.empty() ? "" : "; ") + div;
      } else {
        for (auto& e : c.expectations) {
          if (e.kind == "fingerprint") {
            e.message += std::string(e.message.empty() ? "" : "; ") + "no reference trace of " + c.pinned_fingerprint +
                        " in the results database; pass --db when the pinned fingerprint is produced to keep one";
          }
        }
      }
    }
    processed[i] = std::move(c);
  };
  auto start = [&](size_t i) {
    int p[2];
    if (pipe(p) != 0) {
      results[i] = run_case(cases[i], want_trace, o.update_fingerprints, o.strict, &o);
      return;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      std::string s = run_case(cases[i], want_trace, o.update_fingerprints, o.strict, &o).dump();
      const char* d = s.data();
      size_t left = s.size();
      while (left > 0) {
        ssize_t w = write(p[1], d, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        d += w;
        left -= static_cast<size_t>(w);
      }
      close(p[1]);
      _exit(0);
    }
    close(p[1]);
    if (pid < 0) {
      close(p[0]);
      results[i] = run_case(cases[i], want_trace, o.update_fingerprints, o.strict, &o);
      return;
    }
    running.push_back({pid, p[0], i, {}});
  };
  auto finish = [&](size_t i) {
    process(i);
    if (o.on_case) o.on_case(processed[i]);
  };
  while (next < cases.size() || !running.empty()) {
    while (next < cases.size() && static_cast<int>(running.size()) < jobs) {
      size_t i = next++;
      start(i);
      if (!results[i].is_null()) finish(i);
    }
    if (running.empty()) continue;
    std::vector<pollfd> fds;
    for (const Child& c : running) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Child& c = running[k];
      char buf[65536];
      ssize_t n = read(c.fd, buf, sizeof buf);
      if (n > 0) {
        c.out.append(buf, static_cast<size_t>(n));
        continue;
      }
      close(c.fd);
      int status = 0;
      waitpid(c.pid, &status, 0);
      json j = json::parse(c.out, nullptr, false);
      if (j.is_discarded() || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        j = json{{"file", cases[c.index].relative}, {"suite", cases[c.index].suite},
                 {"name", fs::path(cases[c.index].path).stem().string()}, {"status", "error"},
                 {"message", WIFSIGNALED(status) ? "the scenario run crashed (signal " + std::to_string(WTERMSIG(status)) + ")"
                                                 : std::string("the scenario run produced no result")}};
      }
      results[c.index] = std::move(j);
      c.fd = -1;
      finish(c.index);
    }
    running.erase(std::remove_if(running.begin(), running.end(), [](const Child& c) { return c.fd < 0; }), running.end());
  }
  for (size_t i = 0; i < cases.size(); ++i) out.record.cases.push_back(std::move(processed[i]));
  return out;
}

}  // namespace meshsim::conformance
