// End-to-end: DestinationRule consistentHash through the `meshsim`
// executable. httpbin has 3 replicas (tests/data/consistent-hash/); each
// probe is one request from default/curl, and the echo app names the pod
// that served it. The seed varies every random stream of the run, so a pod
// that stays the same across seeds was chosen by the hash, not by chance:
// without a DestinationRule the same requests spread over the pods.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/shell_run.h"

namespace {

std::string src() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return s ? s : ".";
}

std::string meshes(const std::string& dr) {
  std::string d = src() + "/tests/data/";
  std::string out = " --mesh " + d + "consistent-hash/httpbin-3.yaml --mesh " + d + "istio-samples/curl/curl.yaml";
  if (!dr.empty()) out += " --mesh " + d + "consistent-hash/" + dr;
  return out;
}

// The pod that answered: the endpoint address the request reached on the wire
// (the client sidecar's upstream, or kube-proxy's pick without sidecars).
std::string served_by(const std::string& dr, const std::string& args, int seed) {
  auto r = meshsim::testing::run_shell("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe" + meshes(dr) +
                                       " --from default/curl --to httpbin:8000 --path /get --seed " +
                                       std::to_string(seed) + " " + args + " -o json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || j["http_status"] != 200 || !j["wire"].is_object()) {
    ADD_FAILURE() << r.out;
    return "";
  }
  return j["wire"]["dst"].get<std::string>();
}

TEST(ConsistentHashCli, TheSameHeaderValueAlwaysReachesTheSamePod) {
  std::map<std::string, std::string> pod_of;
  std::set<std::string> pods;
  for (const char* user : {"user-0", "user-1", "user-2", "user-3", "user-4", "user-5"}) {
    for (int seed = 1; seed <= 3; ++seed) {
      std::string p = served_by("header.yaml", std::string("-H 'x-user: ") + user + "'", seed);
      ASSERT_FALSE(p.empty());
      if (seed == 1) pod_of[user] = p;
      EXPECT_EQ(p, pod_of[user]) << user << " seed " << seed;
      pods.insert(p);
    }
  }
  EXPECT_GE(pods.size(), 2u) << "different users spread over the replicas";
}

TEST(ConsistentHashCli, WithoutTheHeaderOrTheRuleRequestsAreNotPinned) {
  std::set<std::string> without_rule, without_header;
  for (int seed = 1; seed <= 8; ++seed) {
    without_rule.insert(served_by("", "-H 'x-user: user-0'", seed));
    without_header.insert(served_by("header.yaml", "", seed));  // no hash: random
  }
  EXPECT_GE(without_rule.size(), 2u);
  EXPECT_GE(without_header.size(), 2u);
}

TEST(ConsistentHashCli, UseSourceIpPinsTheClient) {
  std::set<std::string> pods;
  for (int seed = 1; seed <= 6; ++seed)
    pods.insert(served_by("source-ip.yaml", "-H 'x-user: user-" + std::to_string(seed) + "'", seed));
  EXPECT_EQ(pods.size(), 1u);
  EXPECT_FALSE(pods.begin()->empty());
}

// The generated config for the Istio mapping (§7.1): the cluster's lb policy
// and the route's hash policy, retries without previous_hosts... except on a
// default route, which keeps Istio's default retry policy.
TEST(ConsistentHashCli, ProxyConfigShowsTheIstioMapping) {
  std::string d = src() + "/tests/data/";
  auto run = [&](const std::string& what) {
    auto r = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " proxy-config " + what + " default/curl -o json" +
                                         meshes("header.yaml") + " --mesh " + d + "consistent-hash/routes.yaml 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  };
  auto clusters = nlohmann::json::parse(run("cluster"), nullptr, false);
  auto routes = nlohmann::json::parse(run("route"), nullptr, false);
  ASSERT_FALSE(clusters.is_discarded());
  ASSERT_FALSE(routes.is_discarded());
  nlohmann::json got = nlohmann::json::object();
  for (const auto& c : clusters) {
    std::string n = c["name"];
    if (n.find("httpbin") == std::string::npos || n.rfind("outbound", 0) != 0) continue;
    nlohmann::json x = {{"lb_policy", c["lb_policy"]}};
    if (c.contains("ring_hash_lb_config")) x["ring_hash_lb_config"] = c["ring_hash_lb_config"];
    if (c.contains("maglev_lb_config")) x["maglev_lb_config"] = c["maglev_lb_config"];
    got["clusters"][n] = x;
  }
  for (const auto& rc : routes) {
    for (const auto& vh : rc["virtual_hosts"]) {
      if (std::string(vh["name"]).find("httpbin") == std::string::npos) continue;
      for (const auto& r : vh["routes"]) {
        nlohmann::json x = nlohmann::json::object();
        if (r["route"].contains("hash_policy")) x["hash_policy"] = r["route"]["hash_policy"];
        if (r["route"].contains("retry_policy")) x["retry_host_predicate"] = r["route"]["retry_policy"].contains("retry_host_predicate");
        got["routes"][std::string(vh["name"]) + " " + std::string(r["name"])] = x;
      }
    }
  }
  std::string golden_path = d + "consistent-hash/proxy-config.golden.json";
  auto g = meshsim::testing::run_shell("cat " + golden_path);
  auto want = nlohmann::json::parse(g.out, nullptr, false);
  EXPECT_EQ(got.dump(2), want.dump(2)) << "golden " << golden_path << "; got:\n" << got.dump(2);
}

}  // namespace
