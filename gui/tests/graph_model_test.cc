// The graph model, the recording and seeking, on the default scenario (Bookinfo,
// a legacy namespace without sidecars, PERMISSIVE → STRICT at 60 s) — no Qt.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "gui/model/graph_model.h"
#include "gui/model/layout.h"
#include "gui/model/recording.h"
#include "gui/model/viewer_session.h"
#include "mesh/world.h"
#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"

namespace meshsim::gui {
namespace {

constexpr int64_t kS = 1'000'000'000;

sim::Scenario load_default(Duration duration = Duration::seconds(80)) {
  std::string path = std::string(MESHSIM_SOURCE_DIR) + "/scenarios/bookinfo-migration.yaml";
  sim::ScenarioLoad l = sim::load_scenario(path);
  if (!l.scenario) throw std::runtime_error("cannot load " + path);
  sim::Scenario s = *l.scenario;
  s.duration = duration;  // past the switch at 60 s, shorter than the file's 120 s
  return s;
}

int legacy_edge(const GraphModel& m) {
  int from = m.find_node("workload/legacy/sleep"), to = m.find_node("service/default/productpage");
  if (from < 0 || to < 0) return -1;
  return m.find_edge(static_cast<size_t>(from), static_cast<size_t>(to));
}

std::string tmp(const std::string& f) {
  return (std::filesystem::temp_directory_path() / ("meshsim-gui-" + std::to_string(::getpid()) + "-" + f)).string();
}

TEST(GraphModel, TopologyHasNamespacesWorkloadsWithPodsAndSidecarsAndServices) {
  sim::Scenario s = load_default();
  auto v = ViewerSession::open_live(s);
  ASSERT_TRUE(v.ok()) << v.message();
  const GraphModel& m = (*v)->model();
  ASSERT_EQ(m.namespaces().size(), 2u);
  EXPECT_EQ(m.namespaces()[0].name, "default");
  EXPECT_TRUE(m.namespaces()[0].injection);
  EXPECT_EQ(m.namespaces()[1].name, "legacy");
  EXPECT_FALSE(m.namespaces()[1].injection);
  int pp = m.find_node("workload/default/productpage-v1");
  ASSERT_GE(pp, 0);
  EXPECT_EQ(m.nodes()[static_cast<size_t>(pp)].pods, 1);
  EXPECT_TRUE(m.nodes()[static_cast<size_t>(pp)].sidecar);
  int sleep = m.find_node("workload/legacy/sleep");
  ASSERT_GE(sleep, 0);
  EXPECT_FALSE(m.nodes()[static_cast<size_t>(sleep)].sidecar);
  int svc = m.find_node("service/default/productpage");
  ASSERT_GE(svc, 0);
  EXPECT_EQ(m.nodes()[static_cast<size_t>(svc)].ports, std::vector<uint32_t>{9080});
  // productpage's service is backed by the productpage-v1 workload.
  bool backed = false;
  for (auto [service, workload] : m.backing()) backed = backed || (service == static_cast<size_t>(svc) && workload == static_cast<size_t>(pp));
  EXPECT_TRUE(backed);
  EXPECT_TRUE(m.edges().empty()) << "nothing has happened at t = 0";
}

TEST(GraphModel, LegacyEdgeIsPlaintextOkBeforeStrictAndPlaintextFailedAfter) {
  sim::Scenario s = load_default();
  auto v = ViewerSession::open_live(s);
  ASSERT_TRUE(v.ok()) << v.message();
  ViewerSession& vs = **v;
  vs.seek(50 * kS);
  int e = legacy_edge(vs.model());
  ASSERT_GE(e, 0);
  EdgeView before = vs.model().edge_view(static_cast<size_t>(e));
  EXPECT_EQ(before.health, Health::kOk);
  EXPECT_EQ(before.mtls, MtlsState::kNone);
  EXPECT_DOUBLE_EQ(before.plaintext_share, 1.0);
  EXPECT_NEAR(before.rate_per_s, 2.0, 0.3);  // the scenario's rate: 2/s
  EXPECT_NE(before.label.find("plaintext"), std::string::npos) << before.label;
  EXPECT_EQ(before.label.find("failed"), std::string::npos) << before.label;

  vs.seek(75 * kS);
  EdgeView after = vs.model().edge_view(static_cast<size_t>(e));
  EXPECT_EQ(after.health, Health::kFailed);
  EXPECT_EQ(after.mtls, MtlsState::kNone) << "the legacy client still sends plaintext; the server refuses it";
  EXPECT_NE(after.label.find("plaintext"), std::string::npos) << after.label;
  EXPECT_NE(after.label.find("failed"), std::string::npos) << after.label;
  const GraphEdge& edge = vs.model().edges()[static_cast<size_t>(e)];
  EXPECT_GT(edge.failures.at("reset"), 0u);
  EXPECT_NE(edge.last_error.find("Connection reset by peer"), std::string::npos) << edge.last_error;
  // The story's explanation of the first failure, carried on the verdict.
  EXPECT_NE(edge.why.find("no filter chain on virtualInbound"), std::string::npos) << edge.why;
  EXPECT_NE(edge.why.find("STRICT"), std::string::npos) << edge.why;

  // Mesh traffic is mTLS throughout.
  int pp = vs.model().find_node("workload/default/productpage-v1"), details = vs.model().find_node("service/default/details");
  int mesh_edge = vs.model().find_edge(static_cast<size_t>(pp), static_cast<size_t>(details));
  ASSERT_GE(mesh_edge, 0);
  EdgeView mv = vs.model().edge_view(static_cast<size_t>(mesh_edge));
  EXPECT_EQ(mv.mtls, MtlsState::kFull);
  EXPECT_EQ(mv.health, Health::kOk);
  EXPECT_NE(mv.label.find("mTLS"), std::string::npos);
}

TEST(GraphModel, TimelineMarksTheStrictSwitchAndTheFirstFailure) {
  sim::Scenario s = load_default();
  auto v = ViewerSession::open_live(s);
  ASSERT_TRUE(v.ok()) << v.message();
  (*v)->seek(70 * kS);
  const auto& marks = (*v)->model().marks();
  const TimelineMark* config = nullptr;
  const TimelineMark* legacy_fails = nullptr;
  for (const auto& m : marks) {
    if (m.kind == TimelineMark::Kind::kConfig) config = &m;
    if (m.kind == TimelineMark::Kind::kFailure && m.text.rfind("legacy-sleep→productpage fails", 0) == 0) legacy_fails = &m;
  }
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->t_ns, 60 * kS);
  EXPECT_EQ(config->text, "timeline: switch namespace default to STRICT mTLS");
  ASSERT_FALSE(config->details.empty());
  EXPECT_EQ(config->details[0], "apply PeerAuthentication default/default (mode STRICT)");
  ASSERT_NE(legacy_fails, nullptr);
  EXPECT_GT(legacy_fails->t_ns, 60 * kS);
  EXPECT_LT(legacy_fails->t_ns, 61 * kS);
  EXPECT_EQ(legacy_fails->edge, legacy_edge((*v)->model()));
}

// Seeking backwards rebuilds the model by replay; any path of seeks gives the
// same model at the same time, and so does a second run of the same scenario.
TEST(Seek, AnyPathOfSeeksGivesTheSameModel) {
  sim::Scenario s = load_default();
  auto a = ViewerSession::open_live(s);
  auto b = ViewerSession::open_live(s);
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->seek(75 * kS);
  std::string direct = (*a)->model().to_json();
  // b walks there in uneven steps, overshoots, and comes back.
  for (int64_t t = 0; t < 78 * kS; t += 1'234'567'891) (*b)->seek(t);
  (*b)->seek(78 * kS);
  (*b)->seek(20 * kS);
  EXPECT_NE((*b)->model().to_json(), direct);
  (*b)->seek(75 * kS);
  EXPECT_EQ((*b)->model().to_json(), direct);
  // And back from the far end into a time before the switch.
  (*a)->seek(30 * kS);
  (*b)->seek(30 * kS);
  EXPECT_EQ((*a)->model().to_json(), (*b)->model().to_json());
  int e = legacy_edge((*a)->model());
  ASSERT_GE(e, 0);
  EXPECT_EQ((*a)->model().edge_view(static_cast<size_t>(e)).health, Health::kOk);
}

// `meshsim run --events` recorded the same stream the live view saw: replaying
// the file gives the live model, and its counts are the run's EDGES table.
TEST(Recording, ReplayOfTheEventFileEqualsTheLiveModelAndTheEdgesTable) {
  sim::Scenario s = load_default();
  std::string file = tmp("events.jsonl");
  sim::RunOptions ro;
  ro.events_file = file;
  auto run = sim::run_scenario(s, ro);
  ASSERT_TRUE(run.ok()) << run.message();
  auto rec = ViewerSession::open_recorded(s, file);
  ASSERT_TRUE(rec.ok()) << rec.message();
  EXPECT_EQ((*rec)->end_ns(), 80 * kS);
  auto live = ViewerSession::open_live(s);
  ASSERT_TRUE(live.ok());
  for (int64_t t : {10 * kS, 61 * kS, 75 * kS}) {
    (*rec)->seek(t);
    (*live)->seek(t);
    EXPECT_EQ((*rec)->model().to_json(), (*live)->model().to_json()) << "at " << t;
  }
  // The verdicts the model is fed are the run's EDGES table, up to the last
  // few ms of the run (judged at finish(), after the recording's horizon).
  for (const sim::EdgeSummary& es : run->edges) {
    uint64_t requests = 0, mtls = 0, judged = 0, ok = 0;
    for (const Record& r : (*rec)->recording().records()) {
      const auto* q = std::get_if<RequestRecord>(&r);
      if (!q || q->call || q->client != es.client) continue;
      ++requests;
      ok += q->outcome == "ok";
      mtls += q->wire == "mtls";
      judged += q->wire != "unjudged";
    }
    EXPECT_LE(requests, es.requests) << es.client;
    EXPECT_GE(requests + 2, es.requests) << es.client;
    EXPECT_LE(mtls, es.mtls) << es.client;
    EXPECT_GE(mtls + 2, es.mtls) << es.client;
    EXPECT_GE(judged + 2, es.judged) << es.client;
    EXPECT_GE(ok + 2, es.ok) << es.client;
  }
  // An edge counts every verdict on it: client apps' and server apps' calls.
  (*rec)->seek(80 * kS);
  const GraphModel& m = (*rec)->model();
  for (size_t e = 0; e < m.edges().size(); ++e) {
    const GraphEdge& edge = m.edges()[e];
    EXPECT_EQ(edge.total.requests, edge.total.mtls + edge.total.tls + edge.total.plaintext + edge.total.unjudged);
  }
  std::filesystem::remove(file);
}

TEST(Recording, ReadsEscapesAndArraysAsEventLogWritesThem) {
  std::string file = tmp("escapes.jsonl");
  {
    std::ofstream f(file);
    f << R"({"t_ns":7,"t":"7ns","actor":"scenario","kind":"scenario.action","digest":"0","name":"say \"hi\"\n","category":"fault","details":["caf\u00e9 \ud83d\ude00","b\\c"]})"
      << "\n";
    f << R"({"t_ns":9,"t":"9ns","actor":"scenario","kind":"scenario.request","digest":"0","source":"call","from":"default/a","target":"b:80","protocol":"http","outcome":"reset","error":"x\ty","latency_ns":3,"end_ns":4,"connection":12,"wire":"plaintext"})"
      << "\n";
  }
  auto r = Recording::load_jsonl(file);
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->records().size(), 2u);
  const auto* req = std::get_if<RequestRecord>(&r->records()[0]);
  const auto* act = std::get_if<ActionRecord>(&r->records()[0]);
  if (!act) act = std::get_if<ActionRecord>(&r->records()[1]);
  if (!req) req = std::get_if<RequestRecord>(&r->records()[1]);
  ASSERT_NE(act, nullptr);
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(act->name, "say \"hi\"\n");
  EXPECT_EQ(act->category, "fault");
  EXPECT_EQ(act->details, (std::vector<std::string>{"caf\xc3\xa9 \xf0\x9f\x98\x80", "b\\c"}));
  EXPECT_TRUE(req->call);
  EXPECT_EQ(req->error, "x\ty");
  EXPECT_EQ(req->connection, 12u);
  EXPECT_EQ(req->end_ns, 4);
  EXPECT_EQ(req->wire, "plaintext");
  // Records are in counting order: the action at 7 ns before the request counted at 4 ns + 5 ms.
  EXPECT_NE(std::get_if<ActionRecord>(&r->records()[0]), nullptr);
  std::filesystem::remove(file);
}

TEST(Recording, BadEventFilesAreNamedWithTheirLine) {
  std::string file = tmp("bad.jsonl");
  {
    std::ofstream f(file);
    f << R"({"t_ns":1,"t":"1ns","actor":"kernel","kind":"note","digest":"0"})" << "\n";
    f << "this is not json\n";
  }
  auto r = Recording::load_jsonl(file);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find(file + ":2:"), std::string::npos) << r.message();
  {
    std::ofstream f(file);
    f << R"({"t_ns":5,"t":"5ns","actor":"scenario","kind":"scenario.request","digest":"0","from":"a/b"})" << "\n";
  }
  auto r2 = Recording::load_jsonl(file);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.message().find(file + ":1:"), std::string::npos) << r2.message();
  auto missing = Recording::load_jsonl(file + ".nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("No such file"), std::string::npos) << missing.message();
  std::filesystem::remove(file);
}

TEST(GraphModel, PartialMtlsIsShownWithItsPlaintextShare) {
  sim::Scenario s = load_default();
  std::vector<mesh::Diagnostic> diags;
  auto world = std::make_shared<const mesh::World>(mesh::build_world(s.resources, s.mesh_config, diags));
  GraphModel m(world);
  auto req = [](int64_t end, const std::string& wire) {
    RequestRecord r;
    r.end_ns = end;
    r.published_ns = end + 5'000'000;
    r.client = "mixed";
    r.from = "legacy/sleep-0";
    r.target = "productpage.default:9080";
    r.protocol = "http";
    r.outcome = "ok";
    r.wire = wire;
    r.latency_ns = 1'000'000;
    return r;
  };
  const mesh::WorldPod* sleep = nullptr;
  for (const auto& p : world->pods()) {
    if (p.namespace_ == "legacy" && p.owner_name == "sleep") sleep = &p;
  }
  ASSERT_NE(sleep, nullptr);
  for (int i = 0; i < 4; ++i) {
    RequestRecord r = req(kS + i * 100'000'000, i == 0 ? "plaintext" : "mtls");
    r.from = "legacy/" + sleep->name;
    m.apply(r);
  }
  m.advance(2 * kS);
  int e = legacy_edge(m);
  ASSERT_GE(e, 0);
  EdgeView v = m.edge_view(static_cast<size_t>(e));
  EXPECT_EQ(v.mtls, MtlsState::kPartial);
  EXPECT_DOUBLE_EQ(v.plaintext_share, 0.25);
  EXPECT_NE(v.label.find("partial mTLS (25% plaintext)"), std::string::npos) << v.label;
  // Out of the window the edge is idle, and still says what it was.
  m.advance(30 * kS);
  v = m.edge_view(static_cast<size_t>(e));
  EXPECT_EQ(v.health, Health::kIdle);
  EXPECT_EQ(v.mtls, MtlsState::kPartial);
  EXPECT_EQ(v.rate_per_s, 0);
}

TEST(Layout, IsDeterministicAndKeepsNodesInsideTheirNamespaceBoxes) {
  sim::Scenario s = load_default();
  auto a = ViewerSession::open_live(s);
  auto other = ViewerSession::open_live(s);
  ASSERT_TRUE(a.ok() && other.ok());
  (*a)->seek(75 * kS);
  (*other)->seek(40 * kS);
  (*other)->seek(75 * kS);
  GraphLayout l1 = layout_graph((*a)->model());
  GraphLayout l2 = layout_graph((*other)->model());
  ASSERT_EQ(l1.node_center.size(), l2.node_center.size());
  ASSERT_EQ(l1.node_center.size(), (*a)->model().nodes().size());
  for (size_t i = 0; i < l1.node_center.size(); ++i) {
    EXPECT_EQ(l1.node_center[i].x, l2.node_center[i].x);
    EXPECT_EQ(l1.node_center[i].y, l2.node_center[i].y);
  }
  const GraphModel& m = (*a)->model();
  for (size_t ns = 0; ns < m.namespaces().size(); ++ns) {
    const LayoutRect& b = l1.namespace_box[ns];
    for (size_t n : m.namespaces()[ns].nodes) {
      EXPECT_GT(l1.node_center[n].x - GraphLayout::kNodeWidth / 2, b.x) << m.nodes()[n].id;
      EXPECT_LT(l1.node_center[n].x + GraphLayout::kNodeWidth / 2, b.x + b.w) << m.nodes()[n].id;
      EXPECT_GT(l1.node_center[n].y - GraphLayout::kNodeHeight / 2, b.y) << m.nodes()[n].id;
      EXPECT_LT(l1.node_center[n].y + GraphLayout::kNodeHeight / 2, b.y + b.h) << m.nodes()[n].id;
    }
  }
  // The client-only namespace (legacy) is placed first, left of default.
  EXPECT_LT(l1.namespace_box[1].x, l1.namespace_box[0].x);
}

TEST(Export, DotAndJsonDescribeTheGraph) {
  sim::Scenario s = load_default();
  auto v = ViewerSession::open_live(s);
  ASSERT_TRUE(v.ok());
  (*v)->seek(75 * kS);
  std::string dot = (*v)->model().to_dot();
  EXPECT_EQ(dot.rfind("digraph mesh {", 0), 0u);
  EXPECT_NE(dot.find("subgraph \"cluster_legacy\""), std::string::npos);
  EXPECT_NE(dot.find("\"workload/legacy/sleep\" -> \"service/default/productpage\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("color=red"), std::string::npos) << dot;
  auto j = nlohmann::json::parse((*v)->model().to_json());
  EXPECT_EQ(j["t_ns"], 75 * kS);
  bool found = false;
  for (const auto& e : j["edges"]) {
    if (e["from"] == "workload/legacy/sleep" && e["to"] == "service/default/productpage") {
      found = true;
      EXPECT_EQ(e["window"]["health"], "failed");
      EXPECT_EQ(e["window"]["mtls"], "none");
      EXPECT_GT(e["total"]["plaintext"].get<uint64_t>(), 100u);
    }
  }
  EXPECT_TRUE(found);
}

TEST(ViewerSession, PodInspectorShowsTheConfigInForceAtTheTimeShown) {
  sim::Scenario s = load_default();
  auto v = ViewerSession::open_live(s);
  ASSERT_TRUE(v.ok());
  const GraphModel& m = (*v)->model();
  const GraphNode& pp = m.nodes()[static_cast<size_t>(m.find_node("workload/default/productpage-v1"))];
  ASSERT_EQ(pp.pod_names.size(), 1u);
  (*v)->seek(30 * kS);
  auto before = (*v)->pod_config_text(pp.pod_names[0]);
  ASSERT_TRUE(before.ok()) << before.message();
  EXPECT_NE(before->find("LISTENERS"), std::string::npos);
  EXPECT_NE(before->find("inbound|9080||"), std::string::npos) << *before;
  EXPECT_NE(before->find("details.default.svc.cluster.local"), std::string::npos) << *before;
  EXPECT_NE(before->find("SECRETS"), std::string::npos);
  EXPECT_NE(before->find("Cert Chain"), std::string::npos) << "the live sidecar's workload certificate" << *before;
  EXPECT_NE(before->find("ROOTCA"), std::string::npos) << *before;
  (*v)->seek(75 * kS);
  auto after = (*v)->pod_config_text(pp.pod_names[0]);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*before, *after) << "STRICT changes the inbound filter chains";
  auto bad = (*v)->pod_config_text("default/nope");
  EXPECT_FALSE(bad.ok());
  std::string edge = (*v)->edge_text(static_cast<size_t>(legacy_edge((*v)->model())));
  EXPECT_NE(edge.find("client-visible error: curl: (56) Recv failure: Connection reset by peer"), std::string::npos) << edge;
  EXPECT_NE(edge.find("no filter chain on virtualInbound"), std::string::npos) << edge;
}

TEST(ViewerSession, FlowExportWritesTheSourcePodsCaptureUpToTheTimeShown) {
  sim::Scenario s = load_default();
  auto v = ViewerSession::open_live(s);
  ASSERT_TRUE(v.ok());
  (*v)->seek(5 * kS);
  int e = legacy_edge((*v)->model());
  ASSERT_GE(e, 0);
  std::string pcap = tmp("flow.pcap"), keys = tmp("flow.keys");
  Status st = (*v)->export_flow(static_cast<size_t>(e), pcap, keys);
  ASSERT_TRUE(st.ok()) << st.message();
  std::ifstream f(pcap, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 24u + 16u) << "a pcap header and at least one packet";
  // pcap magic (nanosecond resolution, either byte order).
  uint32_t magic;
  std::memcpy(&magic, bytes.data(), 4);
  EXPECT_TRUE(magic == 0xa1b23c4d || magic == 0x4d3cb2a1) << std::hex << magic;
  // The legacy client speaks plaintext HTTP: its request line is in the capture.
  EXPECT_NE(bytes.find("GET /productpage HTTP/1.1"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(keys));
  EXPECT_FALSE((*v)->export_flow(static_cast<size_t>(e), "/nonexistent-dir/x.pcap", keys).ok());
  std::filesystem::remove(pcap);
  std::filesystem::remove(keys);
}

TEST(ViewerSession, VirtualTimesParseLikeDurations) {
  EXPECT_EQ(*parse_virtual_time("45s"), 45 * kS);
  EXPECT_EQ(*parse_virtual_time("1m30s"), 90 * kS);
  EXPECT_FALSE(parse_virtual_time("soon").ok());
  EXPECT_FALSE(parse_virtual_time("-3s").ok());
}

}  // namespace
}  // namespace meshsim::gui
