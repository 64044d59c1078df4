// Prometheus exposition of Istio's standard metrics (proxy/prometheus_text.h)
// at size: 100,000 series (sample lines, as Prometheus counts series: each
// histogram bucket, _sum and _count is one) from one registry, which must
// take ≤ 200 ms. The floor, measured beside it in the same binary, formats
// the same lines (same label text, one integer value each) with snprintf
// into a string, and copying the finished text (memcpy) — what any text
// exposition has to pay; the ratios are printed after the runs.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "proxy/istio_metrics.h"
#include "proxy/prometheus_text.h"

namespace {

using meshsim::proxy::IstioMetrics;
using meshsim::proxy::kHttpLabelCount;
using meshsim::proxy::MetricsSource;

// Label sets shaped like a real mesh's: 20 workloads × N peers × codes.
std::unique_ptr<IstioMetrics> registry(size_t label_sets) {
  auto m = std::make_unique<IstioMetrics>(std::vector<double>{}, "1.24.0");
  std::vector<std::string> store;
  store.reserve(label_sets * 4);
  for (size_t i = 0; i < label_sets; ++i) {
    std::array<std::string_view, kHttpLabelCount> v;
    store.push_back("workload-" + std::to_string(i % 97));
    store.push_back("service-" + std::to_string(i / 97) + ".default.svc.cluster.local");
    store.push_back("spiffe://cluster.local/ns/default/sa/sa-" + std::to_string(i % 97));
    store.push_back(std::to_string(200 + (i % 5)));
    const std::string& wl = store[store.size() - 4];
    const std::string& svc = store[store.size() - 3];
    const std::string& san = store[store.size() - 2];
    v = {"destination", wl, wl, "v1", "default", san, wl, "v1", "Kubernetes",
         "productpage-v1", "default", "spiffe://cluster.local/ns/default/sa/bookinfo-productpage", "productpage",
         "v1", svc, "productpage", "v1", "productpage", "default", "Kubernetes",
         "http", store.back(), "", "-", "mutual_tls"};
    IstioMetrics::HttpSeries& s = m->http(v);
    for (uint64_t k = 0; k < 1 + i % 7; ++k) m->record_request(s, k * 13, 300 + k, 1200 + 97 * k);
  }
  return m;
}

constexpr size_t kLinesPerHttpSet = 1 + 3 * (19 + 3);  // counter + 3 histograms (buckets, +Inf, _sum, _count)
constexpr size_t kTargetSeries = 100'000;

size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n' && true;
  return n;
}

void BM_PrometheusExposition_100kSeries(benchmark::State& state) {
  size_t sets = kTargetSeries / kLinesPerHttpSet + 1;
  auto m = registry(sets);
  MetricsSource src{m.get(), "namespace=\"default\",pod=\"productpage-v1-6b746f74dc-9stvs\""};
  std::string out;
  size_t samples = 0;
  for (auto _ : state) {
    out.clear();
    meshsim::proxy::write_prometheus(std::span<const MetricsSource>(&src, 1), out);
    benchmark::DoNotOptimize(out.data());
  }
  size_t comments = 2 * 5;  // # HELP + # TYPE of 5 families
  samples = count_lines(out) - comments;
  state.counters["series"] = static_cast<double>(samples);
  state.counters["bytes"] = static_cast<double>(out.size());
  state.counters["MB_per_s"] = benchmark::Counter(static_cast<double>(out.size()) * static_cast<double>(state.iterations()) / 1e6,
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PrometheusExposition_100kSeries)->Unit(benchmark::kMillisecond)->UseRealTime();

// The floor: the same number of lines, each the same label text and a value,
// formatted with snprintf into one string.
void BM_PrometheusExposition_SnprintfFloor(benchmark::State& state) {
  size_t sets = kTargetSeries / kLinesPerHttpSet + 1;
  auto m = registry(sets);
  std::string extra = "namespace=\"default\",pod=\"productpage-v1-6b746f74dc-9stvs\"";
  std::string out;
  char buf[2048];
  for (auto _ : state) {
    out.clear();
    for (const auto& s : m->http_series()) {
      for (size_t l = 0; l < kLinesPerHttpSet; ++l) {
        int n = std::snprintf(buf, sizeof buf, "istio_request_duration_milliseconds_bucket{%s,%s,le=\"%zu\"} %llu\n",
                              s->labels.c_str(), extra.c_str(), l, static_cast<unsigned long long>(s->requests));
        out.append(buf, static_cast<size_t>(n));
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["series"] = static_cast<double>(count_lines(out));
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_PrometheusExposition_SnprintfFloor)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

// Prints the ratio of the two after the runs (Google Benchmark has no cross-benchmark counters).
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  // A direct measurement of both, for the ratio line.
  size_t sets = kTargetSeries / kLinesPerHttpSet + 1;
  auto m = registry(sets);
  MetricsSource src{m.get(), "namespace=\"default\",pod=\"productpage-v1-6b746f74dc-9stvs\""};
  auto time = [](auto&& fn) {
    double best = 1e9;
    for (int r = 0; r < 5; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      fn();
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
  };
  std::string out;
  double ours = time([&] {
    out.clear();
    meshsim::proxy::write_prometheus(std::span<const MetricsSource>(&src, 1), out);
  });
  size_t lines = count_lines(out);
  std::string floor_out;
  char buf[2048];
  double floor = time([&] {
    floor_out.clear();
    for (const auto& s : m->http_series()) {
      for (size_t l = 0; l < kLinesPerHttpSet; ++l) {
        int n = std::snprintf(buf, sizeof buf, "istio_request_duration_milliseconds_bucket{%s,%s,le=\"%zu\"} %llu\n",
                              s->labels.c_str(), src.extra_labels.c_str(), l, static_cast<unsigned long long>(s->requests));
        floor_out.append(buf, static_cast<size_t>(n));
      }
    }
  });
  // The absolute floor: copying the finished text (the bytes any writer must produce).
  std::string copy;
  copy.reserve(out.size());
  double memcpy_floor = time([&] {
    copy.clear();
    copy.append(out);
    benchmark::DoNotOptimize(copy.data());
  });
  std::printf("exposition: %zu lines, %.1f MB in %.1f ms (best of 5; target <= 200 ms)\n"
              "  snprintf floor %.1f ms (ratio %.2f), memcpy floor %.1f ms (ratio %.2f)\n",
              lines, static_cast<double>(out.size()) / 1e6, ours, floor, ours / floor, memcpy_floor,
              ours / memcpy_floor);
  benchmark::Shutdown();
  return 0;
}
