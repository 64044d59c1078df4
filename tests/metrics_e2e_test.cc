// Istio's standard metrics end to end through `meshsim run --metrics` and
// `--serve`: the label rows of docs/istio/telemetry.md §10 asserted on the
// exposition of real simulated traffic (HTTP metadata exchange headers, the
// TCP istio-peer-exchange preamble over mTLS, EDS endpoint metadata,
// passthrough Host fallback), Bookinfo, Debian's promtool as the format
// oracle, and Debian's real Prometheus scraping the live endpoint.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/shell_run.h"

namespace {

using meshsim::testing::run_shell;
using meshsim::testing::ShellRun;

std::string exe() { return MESHSIM_EXE; }
std::string scenario(const std::string& f) { return std::string(MESHSIM_SOURCE_DIR) + "/tests/data/scenarios/" + f; }
std::string tmp(const std::string& f) {
  return (std::filesystem::temp_directory_path() / ("meshsim-metrics-" + std::to_string(::getpid()) + "-" + f)).string();
}
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// A small parser of the sample lines (label values unescaped).
std::vector<Sample> parse(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t brace = line.find('{');
    size_t i = 0;
    if (brace == std::string::npos) {
      size_t sp = line.find(' ');
      s.name = line.substr(0, sp);
      i = sp;
    } else {
      s.name = line.substr(0, brace);
      i = brace + 1;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        std::string key = line.substr(i, eq - i);
        std::string val;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            val.push_back(line[j] == 'n' ? '\n' : line[j]);
          } else {
            val.push_back(line[j]);
          }
        }
        s.labels[key] = val;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;
    }
    s.value = std::stod(line.substr(i + 1, line.find(' ', i + 1) - i - 1));
    out.push_back(std::move(s));
  }
  return out;
}

// Samples of `name` whose labels include every `want` pair.
std::vector<const Sample*> find(const std::vector<Sample>& all, const std::string& name,
                                const std::map<std::string, std::string>& want) {
  std::vector<const Sample*> out;
  for (const Sample& s : all) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : want) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) ok = false;
    }
    if (ok) out.push_back(&s);
  }
  return out;
}
double total(const std::vector<const Sample*>& v) {
  double t = 0;
  for (const Sample* s : v) t += s->value;
  return t;
}
std::string show(const std::vector<Sample>& all, const std::string& name) {
  std::string o;
  for (const Sample& s : all) {
    if (s.name != name) continue;
    for (const auto& [k, v] : s.labels) o += k + "=" + v + " ";
    o += "→ " + std::to_string(s.value) + "\n";
  }
  return o;
}

class PeersRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = new std::string(tmp("peers.prom"));
    ShellRun r = run_shell(exe() + " run -q " + scenario("metrics-peers.yaml") + " --metrics " + *path_ + " 2>&1");
    out_ = new std::string(r.out);
    code_ = r.exit_code;
    samples_ = new std::vector<Sample>(parse(slurp(*path_)));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove(*path_);
    delete path_;
    delete out_;
    delete samples_;
  }
  static std::string* path_;
  static std::string* out_;
  static int code_;
  static std::vector<Sample>* samples_;
};
std::string* PeersRun::path_ = nullptr;
std::string* PeersRun::out_ = nullptr;
int PeersRun::code_ = -1;
std::vector<Sample>* PeersRun::samples_ = nullptr;

TEST_F(PeersRun, RunsAndWritesTheExposition) {
  EXPECT_EQ(code_, 0) << *out_;
  EXPECT_NE(out_->find("Istio standard metrics of"), std::string::npos) << *out_;
  EXPECT_FALSE(samples_->empty());
}

TEST_F(PeersRun, SidecarToSidecarHttpHasFullPeerLabelsOnBothReporters) {
  const auto& s = *samples_;
  auto client = find(s, "istio_requests_total",
                     {{"reporter", "source"}, {"source_workload", "sleep"}, {"source_workload_namespace", "default"},
                      {"source_principal", "spiffe://cluster.local/ns/default/sa/sleep"},
                      {"destination_workload", "httpbin"}, {"destination_app", "httpbin"},
                      {"destination_version", "v1"}, {"destination_principal", "spiffe://cluster.local/ns/default/sa/httpbin"},
                      {"destination_service", "httpbin.default.svc.cluster.local"},
                      {"destination_service_name", "httpbin"}, {"destination_service_namespace", "default"},
                      {"destination_canonical_revision", "v1"}, {"request_protocol", "http"},
                      {"response_code", "200"}, {"response_flags", "-"},
                      {"connection_security_policy", "unknown"}, {"namespace", "default"}});
  EXPECT_EQ(total(client), 4) << show(s, "istio_requests_total");
  auto server = find(s, "istio_requests_total",
                     {{"reporter", "destination"}, {"source_workload", "sleep"}, {"source_app", "sleep"},
                      {"source_version", "unknown"}, {"source_canonical_revision", "latest"},
                      {"source_principal", "spiffe://cluster.local/ns/default/sa/sleep"},
                      {"destination_workload", "httpbin"}, {"destination_version", "v1"},
                      {"destination_service", "httpbin.default.svc.cluster.local"},
                      {"connection_security_policy", "mutual_tls"}, {"grpc_response_status", ""}});
  EXPECT_EQ(total(server), 4) << show(s, "istio_requests_total");
  // The histograms carry the same label sets; +Inf equals the count.
  auto inf = find(s, "istio_request_duration_milliseconds_bucket",
                  {{"reporter", "destination"}, {"source_workload", "sleep"}, {"le", "+Inf"}});
  EXPECT_EQ(total(inf), 4);
  // Wire bytes (headers + body), not body sizes: a GET has no body yet counts bytes.
  auto req_sum = find(s, "istio_request_bytes_sum", {{"reporter", "destination"}, {"source_workload", "sleep"}});
  ASSERT_EQ(req_sum.size(), 1u);
  EXPECT_GT(req_sum[0]->value, 4 * 50);
}

TEST_F(PeersRun, ClientWithoutSidecarIsUnknownToTheServer) {
  const auto& s = *samples_;
  auto server = find(s, "istio_requests_total",
                     {{"reporter", "destination"}, {"destination_workload", "httpbin"},
                      {"source_workload", "unknown"}, {"source_canonical_service", "unknown"},
                      {"source_canonical_revision", "latest"}, {"source_principal", "unknown"},
                      {"source_workload_namespace", "unknown"}, {"source_app", "unknown"},
                      {"source_cluster", "unknown"}, {"connection_security_policy", "none"}});
  EXPECT_EQ(total(server), 3) << show(s, "istio_requests_total");
}

TEST_F(PeersRun, ServerWithoutSidecarIsNamedFromEndpointMetadata) {
  const auto& s = *samples_;
  auto client = find(s, "istio_requests_total",
                     {{"reporter", "source"}, {"destination_service", "plain.legacy.svc.cluster.local"},
                      {"destination_workload", "plain"}, {"destination_workload_namespace", "legacy"},
                      {"destination_canonical_service", "plain"}, {"destination_canonical_revision", "v7"},
                      {"destination_cluster", "Kubernetes"}, {"destination_app", "unknown"},
                      {"destination_version", "unknown"}, {"destination_principal", "unknown"},
                      {"source_principal", "unknown"}, {"connection_security_policy", "unknown"}});
  EXPECT_EQ(total(client), 2) << show(s, "istio_requests_total");
  // Nobody reports as destination: the server has no sidecar.
  EXPECT_TRUE(find(s, "istio_requests_total", {{"reporter", "destination"}, {"destination_workload", "plain"}}).empty());
}

TEST_F(PeersRun, TcpOverMtlsExchangesPeersWithThePreamble) {
  const auto& s = *samples_;
  std::map<std::string, std::string> server = {
      {"reporter", "destination"}, {"source_workload", "sleep"}, {"source_app", "sleep"},
      {"source_principal", "spiffe://cluster.local/ns/default/sa/sleep"},
      {"destination_workload", "tcp-echo"}, {"destination_workload_namespace", "default"},
      {"destination_service", "tcp-echo.default.svc.cluster.local"}, {"request_protocol", "tcp"},
      {"connection_security_policy", "mutual_tls"}};
  EXPECT_EQ(total(find(s, "istio_tcp_connections_opened_total", server)), 2) << show(s, "istio_tcp_connections_opened_total");
  EXPECT_EQ(total(find(s, "istio_tcp_connections_closed_total", server)), 2);
  // Per connection "hello\n" in and tcp-echo's "hello hello\n" out: the
  // preambles (about 400 bytes each way) are not counted.
  EXPECT_EQ(total(find(s, "istio_tcp_received_bytes_total", server)), 2 * 6);
  EXPECT_EQ(total(find(s, "istio_tcp_sent_bytes_total", server)), 2 * 12);
  std::map<std::string, std::string> client = {
      {"reporter", "source"}, {"source_workload", "sleep"}, {"destination_workload", "tcp-echo"},
      {"destination_app", "tcp-echo"}, {"destination_version", "v1"},
      {"destination_principal", "spiffe://cluster.local/ns/default/sa/tcp-echo"},
      {"destination_service", "tcp-echo.default.svc.cluster.local"}, {"destination_service_name", "tcp-echo"}};
  EXPECT_EQ(total(find(s, "istio_tcp_connections_opened_total", client)), 2) << show(s, "istio_tcp_connections_opened_total");
  EXPECT_EQ(total(find(s, "istio_tcp_connections_closed_total", client)), 2);
}

TEST_F(PeersRun, TcpPlaintextLeavesPeersUnknown) {
  const auto& s = *samples_;
  auto server = find(s, "istio_tcp_connections_closed_total",
                     {{"reporter", "destination"}, {"destination_workload_namespace", "nomtls"},
                      {"source_workload", "unknown"}, {"source_principal", "unknown"},
                      {"source_canonical_revision", "latest"}, {"connection_security_policy", "none"}});
  EXPECT_EQ(total(server), 2) << show(s, "istio_tcp_connections_closed_total");
  // The client still names the destination from EDS metadata, without app/version.
  auto client = find(s, "istio_tcp_connections_closed_total",
                     {{"reporter", "source"}, {"destination_workload", "tcp-echo"},
                      {"destination_workload_namespace", "nomtls"}, {"destination_app", "unknown"},
                      {"destination_principal", "unknown"}});
  EXPECT_EQ(total(client), 2) << show(s, "istio_tcp_connections_closed_total");
}

TEST_F(PeersRun, PassthroughReportsTheHostAsSentOneSeriesPerSpelling) {
  const auto& s = *samples_;
  auto with_port = find(s, "istio_requests_total",
                        {{"reporter", "source"}, {"destination_service", "api.example.com:8000"},
                         {"destination_service_name", "PassthroughCluster"}});
  auto bare = find(s, "istio_requests_total",
                   {{"reporter", "source"}, {"destination_service", "api.example.com"},
                    {"destination_service_name", "PassthroughCluster"}});
  EXPECT_EQ(total(with_port), 2) << show(s, "istio_requests_total");
  EXPECT_EQ(total(bare), 1);
}

TEST_F(PeersRun, PromtoolReportsOnlyIstiosMillisecondsName) {
  ShellRun r = run_shell("promtool check metrics < " + *path_ + " 2>&1");
  // Exit 3 = lint problems only (a parse error would be 1); the single one is
  // Istio's own metric name (docs/istio/telemetry.md §8, option (a)).
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(r.out, "istio_request_duration_milliseconds use base unit \"seconds\" instead of \"milliseconds\"\n");
}

TEST_F(PeersRun, TheBucketAnnotationSetsTheSidecarsHistogramBounds) {
  const auto& s = *samples_;
  std::map<std::string, std::string> server = {{"reporter", "destination"}, {"source_workload", "sleep"},
                                               {"destination_workload", "httpbin"}};
  std::set<std::string> les;
  for (const Sample* b : find(s, "istio_request_duration_milliseconds_bucket", server)) les.insert(b->labels.at("le"));
  EXPECT_EQ(les, (std::set<std::string>{"1", "5", "10", "+Inf"}));
  // The client's sidecar keeps Envoy's 19 default bounds.
  std::set<std::string> client_les;
  for (const Sample* b : find(s, "istio_request_duration_milliseconds_bucket",
                              {{"reporter", "source"}, {"destination_workload", "httpbin"}}))
    client_les.insert(b->labels.at("le"));
  EXPECT_EQ(client_les.size(), 20u);
  EXPECT_TRUE(client_les.count("0.5") && client_les.count("3600000"));
}

// A mesh-wide Telemetry that turns every metric off removes the stats
// filters: only istio_build remains; metadata exchange still runs.
TEST(MetricsCli, TelemetryDisablingAllMetricsLeavesOnlyTheBuildGauge) {
  std::string text = slurp(scenario("metrics-peers.yaml"));
  std::string marker = "mesh:\n  objects:\n";
  size_t at = text.find(marker);
  ASSERT_NE(at, std::string::npos);
  text.insert(at + marker.size(),
              "  - apiVersion: telemetry.istio.io/v1\n    kind: Telemetry\n    metadata: {name: mesh-default, namespace: istio-system}\n"
              "    spec: {metrics: [{overrides: [{disabled: true}]}]}\n");
  std::string file = std::string(MESHSIM_SOURCE_DIR) + "/tests/data/scenarios/.metrics-off-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(file, std::ios::binary) << text;
  std::string path = tmp("off.prom");
  ShellRun r = run_shell(exe() + " run -q " + file + " --metrics " + path + " 2>&1");
  std::filesystem::remove(file);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto s = parse(slurp(path));
  std::filesystem::remove(path);
  EXPECT_EQ(find(s, "istio_build", {}).size(), 4u);
  EXPECT_TRUE(find(s, "istio_requests_total", {}).empty());
  EXPECT_TRUE(find(s, "istio_tcp_connections_closed_total", {}).empty());
  EXPECT_EQ(r.out.find("NOT MODELLED"), std::string::npos) << r.out;
}

TEST(MetricsCli, IntervalWritesTimestampedSamplesOneBlockPerFamily) {
  std::string path = tmp("interval.prom");
  ShellRun r = run_shell(exe() + " run -q " + scenario("metrics-peers.yaml") + " --metrics " + path +
                         " --metrics-interval 3s 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string text = slurp(path);
  std::filesystem::remove(path);
  // Timestamps never change the run: same fingerprint as without sampling.
  ShellRun plain = run_shell(exe() + " run -q " + scenario("metrics-peers.yaml") + " 2>&1");
  auto fp = [](const std::string& out) { return out.substr(out.find("fingerprint "), 30); };
  EXPECT_EQ(fp(r.out), fp(plain.out));
  size_t types = 0;
  for (size_t p = text.find("# TYPE istio_requests_total"); p != std::string::npos;
       p = text.find("# TYPE istio_requests_total", p + 1))
    ++types;
  EXPECT_EQ(types, 1u);
  EXPECT_NE(text.find("} 1 3000\n"), std::string::npos) << text.substr(0, 2000);  // istio_build at 3 s
  EXPECT_NE(text.find(" 12000\n"), std::string::npos);
  std::string copy = tmp("interval-copy.prom");
  std::ofstream(copy, std::ios::binary) << text;
  ShellRun pt = run_shell("promtool check metrics < " + copy + " 2>&1");
  std::filesystem::remove(copy);
  EXPECT_EQ(pt.exit_code, 3) << pt.out.substr(0, 2000);
  EXPECT_EQ(pt.out, "istio_request_duration_milliseconds use base unit \"seconds\" instead of \"milliseconds\"\n");
}

TEST(MetricsCli, BadFlagsAreUsageErrors) {
  EXPECT_EQ(run_shell(exe() + " run -q " + scenario("metrics-peers.yaml") + " --metrics-interval 5s 2>&1").exit_code, 2);
  EXPECT_EQ(run_shell(exe() + " run -q " + scenario("metrics-peers.yaml") + " --serve nowhere 2>&1").exit_code, 2);
}

TEST(MetricsBookinfo, ReviewsVersionsAreSeriesOfTheirOwn) {
  std::string path = tmp("bookinfo.prom");
  ShellRun r = run_shell(exe() + " run -q " + scenario("metrics-bookinfo.yaml") + " --metrics " + path + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto s = parse(slurp(path));
  for (const char* v : {"v1", "v2", "v3"}) {
    auto client = find(s, "istio_requests_total",
                       {{"reporter", "source"}, {"source_workload", "sleep"}, {"destination_workload", std::string("reviews-") + v},
                        {"destination_version", v}, {"destination_service", "reviews.default.svc.cluster.local"},
                        {"destination_principal", "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"}});
    EXPECT_GT(total(client), 10) << v << "\n" << show(s, "istio_requests_total");
    auto server = find(s, "istio_requests_total",
                       {{"reporter", "destination"}, {"destination_workload", std::string("reviews-") + v},
                        {"source_workload", "sleep"}, {"connection_security_policy", "mutual_tls"}});
    EXPECT_EQ(total(server), total(client)) << v;
  }
  for (const char* svc : {"productpage", "ratings", "details"}) {
    EXPECT_FALSE(find(s, "istio_requests_total", {{"reporter", "destination"}, {"destination_app", svc}}).empty()) << svc;
  }
  EXPECT_EQ(find(s, "istio_build", {}).size(), 7u);  // 6 Bookinfo pods + sleep
  ShellRun pt = run_shell("promtool check metrics < " + path + " 2>&1");
  EXPECT_EQ(pt.exit_code, 3) << pt.out;
  std::filesystem::remove(path);
}

// Debian's Prometheus scrapes `meshsim run --serve` on loopback; the test
// asks it for istio_requests_total through its HTTP API.
TEST(MetricsServe, RealPrometheusScrapesTheRun) {
  // ci/setup installs Debian's prometheus: without it this test fails, it is not skipped.
  ASSERT_EQ(run_shell("command -v prometheus >/dev/null 2>&1").exit_code, 0) << "prometheus is not installed (run ci/setup)";
  std::string dir = tmp("prom");
  std::filesystem::create_directories(dir);
  int base = 20000 + (::getpid() % 20000);
  std::string meshsim_port = std::to_string(base), prom_port = std::to_string(base + 1);
  {
    std::ofstream cfg(dir + "/prometheus.yml");
    cfg << "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
           "scrape_configs:\n"
           "- job_name: meshsim\n"
           "  metrics_path: /stats/prometheus\n"
           "  static_configs: [{targets: ['127.0.0.1:" << meshsim_port << "']}]\n";
  }
  std::string meshsim_cmd = exe() + " run -q " + scenario("metrics-bookinfo.yaml") + " --duration 40s --pace 4 --serve 127.0.0.1:" +
                            meshsim_port + " --serve-linger 4s > " + dir + "/meshsim.log 2>&1 & echo $!";
  std::string prom_cmd = "prometheus --config.file=" + dir + "/prometheus.yml --storage.tsdb.path=" + dir +
                         "/data --web.listen-address=127.0.0.1:" + prom_port + " > " + dir + "/prometheus.log 2>&1 & echo $!";
  pid_t meshsim_pid = std::stoi(run_shell(meshsim_cmd).out);
  pid_t prom_pid = std::stoi(run_shell(prom_cmd).out);
  std::string answer;
  bool found = false;
  for (int i = 0; i < 60 && !found; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    answer = run_shell("curl -s 'http://127.0.0.1:" + prom_port +
                       "/api/v1/query?query=sum(istio_requests_total%7Breporter%3D%22destination%22,destination_app%3D%22reviews%22%7D)'")
                 .out;
    found = answer.find("\"status\":\"success\"") != std::string::npos && answer.find("\"value\":[") != std::string::npos;
  }
  // The series Prometheus stored carry the labels meshsim served.
  std::string series = run_shell("curl -s 'http://127.0.0.1:" + prom_port +
                                 "/api/v1/series?match%5B%5D=istio_requests_total%7Bdestination_version%3D%22v2%22%7D'")
                           .out;
  // meshsim ends by itself after the run and --serve-linger, although
  // Prometheus still holds its keep-alive scrape connection.
  auto exited = [](pid_t pid) {
    std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
    std::string all;
    if (!std::getline(st, all)) return true;
    size_t paren = all.rfind(')');
    return paren != std::string::npos && paren + 2 < all.size() && all[paren + 2] == 'Z';
  };
  bool meshsim_exited = false;
  for (int i = 0; i < 80 && !meshsim_exited; ++i) {
    meshsim_exited = exited(meshsim_pid);
    if (!meshsim_exited) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(meshsim_exited) << "meshsim still running 20 s after the scrape";
  ::kill(prom_pid, SIGTERM);
  if (!meshsim_exited) ::kill(meshsim_pid, SIGTERM);
  run_shell("sleep 1");
  EXPECT_TRUE(found) << answer << "\n" << slurp(dir + "/prometheus.log").substr(0, 3000) << "\n" << slurp(dir + "/meshsim.log");
  EXPECT_NE(series.find("\"destination_workload\":\"reviews-v2\""), std::string::npos) << series;
  EXPECT_NE(series.find("\"reporter\":\"source\""), std::string::npos) << series;
  std::filesystem::remove_all(dir);
}

}  // namespace
