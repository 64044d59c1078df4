// Istio telemetry building blocks: the peer-metadata Struct/Any codec and
// base64 (docs/istio/telemetry.md §7), the label rules of §6.3/§6.4, the
// registry's buckets and the Prometheus text of §6.5/§8.
#include <gtest/gtest.h>

#include "proxy/istio_metrics.h"
#include "proxy/istio_stats_labels.h"
#include "proxy/peer_metadata.h"
#include "proxy/prometheus_text.h"

namespace meshsim::proxy {
namespace {

WorkloadMetadata reviews() {
  WorkloadMetadata m;
  m.id = "sidecar~10.244.0.7~reviews-v2-abc.default~default.svc.cluster.local";
  m.name = "reviews-v2-abc";
  m.namespace_ = "default";
  m.workload_name = "reviews-v2";
  m.cluster_id = "Kubernetes";
  m.identity = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews";
  m.owner = "kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v2";
  m.app = "reviews";
  m.version = "v2";
  m.canonical_name = "reviews";
  m.canonical_revision = "v2";
  return m;
}

TEST(PeerMetadata, Base64MatchesRfc4648AndAcceptsMissingPadding) {
  std::string out;
  base64_encode("foobar", out);
  EXPECT_EQ(out, "Zm9vYmFy");
  out.clear();
  base64_encode("fo", out);
  EXPECT_EQ(out, "Zm8=");
  std::string back;
  EXPECT_TRUE(base64_decode("Zm8", back));
  EXPECT_EQ(back, "fo");
  back.clear();
  EXPECT_FALSE(base64_decode("Zm8*", back));
}

// The Struct bytes are protobuf's deterministic serialisation: the map
// entries in key order. Checked against a hand-assembled encoding of
// {"LABELS": {"app": "a"}, "NAME": "n"}.
TEST(PeerMetadata, StructIsTheDeterministicProtobufEncoding) {
  WorkloadMetadata m;
  m.name = "n";
  m.app = "a";
  std::string got;
  encode_workload_struct(m, got);
  // Value{string_value "a"} = 1a 01 61; entry{key "app", value} = 0a 03 "app" 12 03 1a 01 61
  std::string app_entry = std::string("\x0a\x03" "app" "\x12\x03\x1a\x01" "a", 10);
  std::string labels = "\x0a" + std::string(1, static_cast<char>(app_entry.size())) + app_entry;
  std::string labels_value = "\x2a" + std::string(1, static_cast<char>(labels.size())) + labels;
  std::string labels_entry = std::string("\x0a\x06" "LABELS", 8) + "\x12" +
                             std::string(1, static_cast<char>(labels_value.size())) + labels_value;
  std::string name_entry = std::string("\x0a\x04" "NAME" "\x12\x03\x1a\x01" "n", 11);
  std::string want = "\x0a" + std::string(1, static_cast<char>(labels_entry.size())) + labels_entry + "\x0a" +
                     std::string(1, static_cast<char>(name_entry.size())) + name_entry;
  EXPECT_EQ(got, want);
}

TEST(PeerMetadata, HeaderRoundTripsEveryField) {
  WorkloadMetadata m = reviews();
  std::string header = peer_metadata_header(m);
  WorkloadMetadata back;
  ASSERT_TRUE(parse_peer_metadata_header(m.id, header, back));
  EXPECT_EQ(back, m);
  EXPECT_FALSE(parse_peer_metadata_header("x", "!!!", back));
}

// The memo answers exactly as the decoder does — for repeated, new, evicted
// and undecodable values, with the id of each call.
TEST(PeerMetadata, TheCacheAnswersAsTheDecoderDoes) {
  PeerMetadataCache cache;
  std::vector<std::pair<std::string, WorkloadMetadata>> peers;
  for (int i = 0; i < 20; ++i) {
    WorkloadMetadata m = reviews();
    m.name = "reviews-v" + std::to_string(i);
    m.id = "sidecar~10.0.0." + std::to_string(i) + "~" + m.name;
    peers.emplace_back(peer_metadata_header(m), m);
  }
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < peers.size(); i += (round == 1 ? 7 : 1)) {
      WorkloadMetadata got, want;
      ASSERT_TRUE(cache.parse(peers[i].second.id, peers[i].first, got));
      ASSERT_TRUE(parse_peer_metadata_header(peers[i].second.id, peers[i].first, want));
      EXPECT_EQ(got, want);
      EXPECT_EQ(got, peers[i].second);
      WorkloadMetadata other_id;
      ASSERT_TRUE(cache.parse("another-id", peers[i].first, other_id));
      EXPECT_EQ(other_id.id, "another-id");
      EXPECT_EQ(other_id.name, peers[i].second.name);
    }
    WorkloadMetadata bad;
    EXPECT_FALSE(cache.parse("x", "!!!", bad));
    EXPECT_FALSE(cache.parse("x", "!!!", bad));
  }
}

TEST(PeerMetadata, PreambleHasTheMagicTheLengthAndAnAnyStruct) {
  WorkloadMetadata m = reviews();
  std::string p = peer_exchange_preamble(m);
  ASSERT_GT(p.size(), 8u);
  EXPECT_EQ(p.substr(0, 4), std::string("\x3d\x23\x04\x67", 4));
  uint32_t n = (static_cast<uint8_t>(p[4]) << 24) | (static_cast<uint8_t>(p[5]) << 16) |
               (static_cast<uint8_t>(p[6]) << 8) | static_cast<uint8_t>(p[7]);
  EXPECT_EQ(n + 8, p.size());
  EXPECT_NE(p.find("type.googleapis.com/google.protobuf.Struct"), std::string::npos);
  size_t consumed = 0;
  WorkloadMetadata back;
  // Byte by byte: incomplete until the last byte.
  for (size_t k = 0; k < p.size(); ++k)
    ASSERT_EQ(parse_peer_exchange_preamble(std::string_view(p).substr(0, k), consumed, back), PreambleStatus::kNeedMore);
  std::string with_app = p + "hello";
  ASSERT_EQ(parse_peer_exchange_preamble(with_app, consumed, back), PreambleStatus::kComplete);
  EXPECT_EQ(consumed, p.size());
  EXPECT_EQ(back, m);
  std::string bad = p;
  bad[0] = 'X';
  EXPECT_EQ(parse_peer_exchange_preamble(bad, consumed, back), PreambleStatus::kInvalid);
}

TEST(StatsLabels, ServerWithoutPeerReportsUnknownLatestAndNone) {
  NodeMetadata node;
  node.workload_name = "httpbin";
  node.namespace_ = "default";
  node.labels = {{"app", "httpbin"}, {"service.istio.io/canonical-name", "httpbin"},
                 {"service.istio.io/canonical-revision", "latest"}};
  PeerInfo peer;
  StatsLabelInputs in;
  in.node = &node;
  in.peer = &peer;
  in.disable_host_header_fallback = true;
  in.host = "httpbin:8000";
  PeerLabels l;
  EXPECT_EQ(compute_peer_labels(in, l), "none");
  EXPECT_EQ(l[0], "destination");
  EXPECT_EQ(l[1], "unknown");   // source_workload
  EXPECT_EQ(l[3], "latest");    // source_canonical_revision
  EXPECT_EQ(l[5], "unknown");   // source_principal
  EXPECT_EQ(l[13], "");         // destination_version: local label missing → ""
  EXPECT_EQ(l[14], "httpbin");  // destination_service: no fallback inbound → local canonical name
}

TEST(StatsLabels, ClientFallsBackToEndpointMetadataWithoutAppAndVersion) {
  NodeMetadata node;
  node.workload_name = "sleep";
  Cluster c;
  c.name = "outbound|8000||plain.legacy.svc.cluster.local";
  c.service = "plain.legacy.svc.cluster.local";
  c.service_name = "plain";
  c.service_namespace = "legacy";
  LbEndpoint ep;
  ep.metadata["workload"] = "plain;legacy;plain;;Kubernetes";
  PeerInfo peer;
  StatsLabelInputs in;
  in.outbound = true;
  in.node = &node;
  in.peer = &peer;
  in.cluster = &c;
  in.cluster_name = c.name;
  in.endpoint = &ep;
  in.host = "plain.legacy:8000";
  PeerLabels l;
  EXPECT_EQ(compute_peer_labels(in, l), "unknown");
  EXPECT_EQ(l[9], "plain");      // destination_workload
  EXPECT_EQ(l[10], "legacy");    // destination_workload_namespace
  EXPECT_EQ(l[12], "unknown");   // destination_app
  EXPECT_EQ(l[13], "unknown");   // destination_version
  EXPECT_EQ(l[14], "plain.legacy.svc.cluster.local");
  EXPECT_EQ(l[16], "latest");    // "" revision → latest
  EXPECT_EQ(l[17], "plain");
  EXPECT_EQ(l[19], "Kubernetes");
}

TEST(StatsLabels, PassthroughKeepsTheHostAsSent) {
  NodeMetadata node;
  PeerInfo peer;
  StatsLabelInputs in;
  in.outbound = true;
  in.node = &node;
  in.peer = &peer;
  in.route_name = "allow_any";
  in.cluster_name = kPassthroughCluster;
  in.host = "api.example.com:8000";
  PeerLabels l;
  compute_peer_labels(in, l);
  EXPECT_EQ(l[14], "api.example.com:8000");
  EXPECT_EQ(l[17], "PassthroughCluster");
}

TEST(IstioMetrics, DurationsAreBucketedWithLessOrEqualAndSeriesAreInterned) {
  IstioMetrics m;
  std::array<std::string_view, kHttpLabelCount> v{};
  v.fill("x");
  IstioMetrics::HttpSeries& s = m.http(v);
  EXPECT_EQ(&s, &m.http(v));
  m.record_request(s, 0, 100, 5000);  // 999 µs truncates to 0 ms → le="0.5"
  m.record_request(s, 1, 100, 5001);
  EXPECT_EQ(s.duration_ms.counts[0], 1u);  // 0 <= 0.5
  EXPECT_EQ(s.duration_ms.counts[1], 1u);  // 1 <= 1
  EXPECT_EQ(s.response_bytes.counts[11], 1u);  // 5000 <= 5000
  EXPECT_EQ(s.response_bytes.counts[12], 1u);  // 5001 <= 10000
  EXPECT_EQ(m.http_series().size(), 1u);
}

TEST(PrometheusText, WritesEnvoysFormatWithHelp) {
  IstioMetrics m({}, "1.24.0");
  std::array<std::string_view, kHttpLabelCount> v{};
  v.fill("a");
  v[1] = "quote\"back\\slash\nnl";
  m.record_request(m.http(v), 3, 10, 20);
  std::string out;
  MetricsSource src{&m, "namespace=\"default\",pod=\"p\""};
  write_prometheus(std::span<const MetricsSource>(&src, 1), out);
  EXPECT_EQ(out.find("# HELP istio_requests_total "), 0u) << out;
  EXPECT_NE(out.find("# TYPE istio_requests_total counter\nistio_requests_total{reporter=\"a\",source_workload=\"quote\\\"back\\\\slash\\nnl\","),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(",namespace=\"default\",pod=\"p\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("istio_build{component=\"proxy\",tag=\"1.24.0\",namespace=\"default\",pod=\"p\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find(",pod=\"p\",le=\"0.5\"} 0\n"), std::string::npos) << out;
  EXPECT_NE(out.find(",pod=\"p\",le=\"5\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find(",pod=\"p\",le=\"3600000\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find(",pod=\"p\",le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("istio_request_duration_milliseconds_sum{"), std::string::npos);
  // Families in Envoy's order: counters, gauges, histograms.
  EXPECT_LT(out.find("# TYPE istio_build gauge"), out.find("# TYPE istio_request_bytes histogram"));
  EXPECT_LT(out.find("# TYPE istio_request_bytes histogram"), out.find("# TYPE istio_request_duration_milliseconds"));
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
}  // namespace meshsim::proxy
