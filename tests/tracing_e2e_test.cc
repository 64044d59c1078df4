// End-to-end: sidecar tracing through the `meshsim` executable. The
// scenarios of tests/data/tracing/ configure a Zipkin provider the way users
// do (meshConfig.extensionProviders + Telemetry); the spans come from the
// engine's own tracer (proxy/tracing/) and are checked against the Zipkin v2
// schema (python3-jsonschema with tests/data/zipkin/zipkin2-spans.schema.json)
// and against what Envoy does: one CLIENT and one SERVER span per hop, the
// SERVER span a child of the CLIENT span in the same 128-bit trace, the app
// seeing the SERVER span's id in x-b3-spanid.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "tests/shell_run.h"

namespace {

std::string src() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return s ? s : ".";
}
std::string data(const std::string& f) { return src() + "/tests/data/" + f; }
std::string tmp(const std::string& f) { return ::testing::TempDir() + "/tracing_" + f; }

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

meshsim::testing::ShellRun meshsim_cmd(const std::string& args) {
  return meshsim::testing::run_shell("timeout -s KILL 120 " + std::string(MESHSIM_EXE) + " " + args);
}

std::string tag(const nlohmann::json& span, const std::string& k) {
  auto it = span["tags"].find(k);
  return it == span["tags"].end() ? "<none>" : it->get<std::string>();
}

TEST(TracingCli, EveryHopHasAClientAndAServerSpanInOneTrace) {
  std::string out = tmp("two-hops.json");
  auto r = meshsim_cmd("run " + data("tracing/two-hops.yaml") + " -q --trace " + out + " --json " + tmp("two-hops-run.json") + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("sampled spans, Zipkin v2 JSON"), std::string::npos) << r.out;
  auto spans = nlohmann::json::parse(slurp(out));
  ASSERT_TRUE(spans.is_array());
  ASSERT_EQ(spans.size(), 40u);  // 20 requests, 2 sidecars each, 100% sampling
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& s : spans) by_id[s["id"]] = s;
  EXPECT_EQ(by_id.size(), 40u) << "span ids are distinct";
  size_t servers = 0;
  for (const auto& s : spans) {
    EXPECT_EQ(s["traceId"].get<std::string>().size(), 32u);  // trace_id_128bit
    if (s["kind"] == "CLIENT") {
      EXPECT_FALSE(s.contains("parentId")) << "the client app sent no context: a root span";
      EXPECT_EQ(s["localEndpoint"]["serviceName"], "sleep.default");
      EXPECT_EQ(tag(s, "upstream_cluster"), "outbound|8000||httpbin.default.svc.cluster.local");
      EXPECT_EQ(s["annotations"][0]["value"], "cr");
      continue;
    }
    ++servers;
    ASSERT_EQ(s["kind"], "SERVER");
    ASSERT_TRUE(s.contains("parentId"));
    const auto& parent = by_id.at(s["parentId"]);
    EXPECT_EQ(parent["kind"], "CLIENT");
    EXPECT_EQ(parent["traceId"], s["traceId"]);
    // The server span carries the client's decorator (x-envoy-decorator-operation).
    EXPECT_EQ(s["name"], "httpbin.default.svc.cluster.local:8000/*");
    EXPECT_EQ(parent["name"], s["name"]);
    EXPECT_EQ(s["localEndpoint"]["serviceName"], "httpbin.default");
    EXPECT_EQ(s["localEndpoint"]["port"], 0);
    EXPECT_EQ(tag(s, "upstream_cluster"), "inbound|8080||");
    EXPECT_EQ(tag(s, "http.status_code"), "200");
    EXPECT_EQ(tag(s, "component"), "proxy");
    EXPECT_EQ(tag(s, "istio.canonical_service"), "httpbin");
    EXPECT_EQ(tag(s, "istio.canonical_revision"), "v1");
    EXPECT_EQ(tag(s, "istio.namespace"), "default");
    EXPECT_EQ(tag(s, "http.url"), "http://httpbin:8000/get");
    std::string rid = tag(s, "guid:x-request-id");
    ASSERT_EQ(rid.size(), 36u);
    EXPECT_EQ(rid[14], '9') << "the sampled decision is packed into x-request-id";
    EXPECT_EQ(tag(parent, "guid:x-request-id"), rid);
  }
  EXPECT_EQ(servers, 20u);
  // A Zipkin-compatible reader accepts the file: the zipkin2 API schema.
  auto v = meshsim::testing::run_shell("python3 -c \"import json,sys,jsonschema; "
                                       "jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); "
                                       "print('valid')\" " + out + " " + data("zipkin/zipkin2-spans.schema.json") + " 2>&1");
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("valid"), std::string::npos) << v.out;
  // The run's JSON reports the traces whole.
  auto j = nlohmann::json::parse(slurp(tmp("two-hops-run.json")));
  EXPECT_EQ(j["traces"]["user_requests"], 20);
  EXPECT_EQ(j["traces"]["broken"], 0);
  EXPECT_EQ(j["traces"]["spans"], 40);
}

// The app behind the server sidecar gets B3 headers whose span id is the
// SERVER span's (Envoy injects the active span once per upstream attempt),
// x-b3-sampled 1 and the x-request-id the client sidecar generated with the
// sampled nibble. The echo app prints the headers it received.
TEST(TracingCli, TheAppSeesTheServerSpanInItsB3Headers) {
  auto r = meshsim_cmd("probe --mesh " + data("tracing/mesh.yaml") +
                       " --from default/sleep --to httpbin:8000 --path /get -o json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  std::string body = j["response_body"];
  auto header = [&](const std::string& name) -> std::string {
    std::string key = "RequestHeader=" + name + ":";
    size_t at = body.find(key);
    if (at == std::string::npos) return "<none>";
    at += key.size();
    return body.substr(at, body.find('\n', at) - at);
  };
  std::string span_id = header("x-b3-spanid"), trace_id = header("x-b3-traceid");
  EXPECT_EQ(span_id.size(), 16u) << body;
  EXPECT_EQ(trace_id.size(), 32u) << body;
  EXPECT_EQ(header("x-b3-sampled"), "1");
  EXPECT_EQ(header("x-b3-parentspanid").size(), 16u);
  EXPECT_EQ(header("x-envoy-decorator-operation"), "<none>") << "the server sidecar removes it";
  std::string rid = header("x-request-id");
  ASSERT_EQ(rid.size(), 36u);
  EXPECT_EQ(rid[14], '9');
}

// The broken-trace report's findings are on the event stream too, exactly
// as --json and the story give them: reviews forwards nothing, so the hop to
// ratings starts new traces for the requests reviews-v2 and -v3 served.
TEST(TracingCli, BrokenTraceFindingsAreOnTheEventStream) {
  std::string events = tmp("findings.jsonl"), json = tmp("findings.json");
  auto r = meshsim_cmd("run " + data("tracing/bookinfo-reviews-drops.yaml") + " --events " + events + " --json " + json +
                       " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(slurp(json));
  std::map<std::string, uint64_t> reported;
  for (const auto& f : j["traces"]["findings"]) reported[f["finding"]] = f["requests"];
  ASSERT_EQ(reported.size(), 2u) << j["traces"].dump();
  std::map<std::string, uint64_t> streamed;
  std::istringstream lines(slurp(events));
  uint64_t last_t = 0;
  for (std::string line; std::getline(lines, line);) {
    auto e = nlohmann::json::parse(line);
    uint64_t t = e["t_ns"];
    EXPECT_GE(t, last_t) << "events in time order";
    last_t = t;
    if (e["kind"] != "trace.finding") continue;
    EXPECT_EQ(e["actor"], "tracing");
    EXPECT_EQ(e["finding_kind"], "broken_propagation");
    EXPECT_EQ(t, 10'000'000'000u) << "published at the end of the run";
    streamed[e["finding"]] = e["count"];
  }
  EXPECT_EQ(streamed, reported);
  uint64_t broken = j["traces"]["broken"];
  EXPECT_EQ(broken, reported.begin()->second + std::next(reported.begin())->second);
  for (const auto& [f, n] : reported) {
    EXPECT_NE(f.find("did not forward x-b3-traceid"), std::string::npos) << f;
    EXPECT_NE(f.find("to ratings:9080"), std::string::npos) << f;
    EXPECT_GT(n, 0u);
  }
}

TEST(TracingCli, BadTraceFormatIsBadInput) {
  auto r = meshsim_cmd("run " + data("tracing/two-hops.yaml") + " -q --trace x.json --trace-format jaeger 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

}  // namespace
