#include "sim/scenario/metrics_output.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "proxy/engine/sidecar.h"
#include "sim/runtime/mesh_simulation.h"

namespace meshsim::sim {

std::vector<proxy::MetricsSource> metrics_sources(MeshSimulation& ms) {
  std::vector<proxy::MetricsSource> out;
  for (const auto& [key, host] : ms.sidecars()) {
    if (!host->running()) continue;
    const proxy::IstioMetrics* m = host->sidecar().metrics();
    if (!m) continue;
    size_t slash = key.find('/');
    proxy::MetricsSource s;
    s.metrics = m;
    s.extra_labels = "namespace=\"";
    proxy::append_escaped_label_value(key.substr(0, slash), s.extra_labels);
    s.extra_labels += "\",pod=\"";
    proxy::append_escaped_label_value(key.substr(slash + 1), s.extra_labels);
    s.extra_labels += "\"";
    out.push_back(std::move(s));
  }
  return out;
}

std::string metrics_exposition(MeshSimulation& ms, bool help) {
  std::string out;
  proxy::write_prometheus(metrics_sources(ms), out, help);
  return out;
}

namespace {
// One sample line: name, labels (unescaped), value. False for comments.
bool parse_sample(std::string_view line, std::string& name, std::map<std::string, std::string>& labels,
                  double& value) {
  labels.clear();
  if (line.empty() || line[0] == '#') return false;
  size_t i = line.find_first_of("{ ");
  if (i == std::string_view::npos) return false;
  name.assign(line.substr(0, i));
  if (line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size()) return false;
      std::string key(line.substr(i, eq - i)), val;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          val.push_back(line[j] == 'n' ? '\n' : line[j]);
        } else {
          val.push_back(line[j]);
        }
      }
      labels[key] = val;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    ++i;
  }
  value = std::strtod(std::string(line.substr(i + 1)).c_str(), nullptr);
  return true;
}
}  // namespace

void evaluate_metric_expectation(const Expectation& x, MeshSimulation& ms, ExpectationVerdict& v) {
  std::string text = metrics_exposition(ms, false);
  std::string want;
  for (const auto& [k, val] : x.metric_labels) want += (want.empty() ? "" : ",") + k + "=\"" + val + "\"";
  v.expected = x.metric_name + "{" + want + "} " + (x.metric_value ? x.metric_value->text : std::string("?"));
  double total = 0;
  size_t matched = 0;
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string_view line(text.data() + at, (nl == std::string::npos ? text.size() : nl) - at);
    at = nl == std::string::npos ? text.size() : nl + 1;
    if (!parse_sample(line, name, labels, value) || name != x.metric_name) continue;
    bool ok = true;
    for (const auto& [k, val] : x.metric_labels) {
      auto it = labels.find(k);
      if (it == labels.end() || it->second != val) ok = false;
    }
    if (!ok) continue;
    ++matched;
    total += value;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", total);
  v.actual = std::string(buf) + " (sum of " + std::to_string(matched) + " matching series)";
  v.passed = x.metric_value && x.metric_value->holds(total);
  if (!v.passed && matched == 0) v.message = "no series of " + x.metric_name + " has these labels";
}

MetricsRecorder::MetricsRecorder(MetricsOptions options) : o_(std::move(options)), next_sample_(o_.interval) {}

void MetricsRecorder::sample(MeshSimulation& ms, Duration at) {
  std::vector<proxy::MetricsSource> sources = metrics_sources(ms);
  int64_t ts = at.ns() / 1'000'000;
  for (size_t i = 0; i < std::size(proxy::kAllFamilies); ++i)
    proxy::write_family_samples(proxy::kAllFamilies[i], sources, blocks_[i], &ts);
  ++samples_;
}

void MetricsRecorder::run_until(MeshSimulation& ms, Duration t) {
  if (!started_) {
    started_ = true;
    wall0_ = std::chrono::steady_clock::now();
  }
  if (o_.interval > Duration::zero() && !o_.file.empty()) {
    while (next_sample_ <= t) {
      ms.run_until(next_sample_);
      sample(ms, next_sample_);
      next_sample_ = next_sample_ + o_.interval;
    }
  }
  ms.run_until(t);
  if (o_.pace > 0) {
    auto due = wall0_ + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(t.ns()) / o_.pace));
    std::this_thread::sleep_until(due);
  }
  if (o_.publish) o_.publish(metrics_exposition(ms, o_.help));
}

Status MetricsRecorder::finish(MeshSimulation& ms, std::vector<std::string>& outputs) {
  if (o_.publish) o_.publish(metrics_exposition(ms, o_.help));
  if (o_.file.empty()) return Status();
  std::string text;
  if (o_.interval > Duration::zero()) {
    for (size_t i = 0; i < std::size(proxy::kAllFamilies); ++i) {
      if (blocks_[i].empty()) continue;
      proxy::write_family_header(proxy::kAllFamilies[i], text, o_.help);
      text += blocks_[i];
    }
  } else {
    text = metrics_exposition(ms, o_.help);
  }
  std::ofstream f(o_.file, std::ios::binary);
  f << text;
  f.close();
  if (!f) return Error{"--metrics: cannot write " + o_.file};
  size_t series = 0;
  for (char c : text) series += c == '\n';
  std::string what = o_.interval > Duration::zero()
                         ? std::to_string(samples_) + " samples of Istio standard metrics, Prometheus text"
                         : "Istio standard metrics of " + std::to_string(metrics_sources(ms).size()) +
                               " sidecars, Prometheus text";
  outputs.push_back(o_.file + " (" + what + ")");
  (void)series;
  return Status();
}

}  // namespace meshsim::sim
