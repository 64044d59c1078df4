// AuthorizationPolicy and RequestAuthentication through the whole
// simulation: `meshsim probe -o json` from Istio's authz integration-test
// callers (tests/data/authz/mesh.yaml) to httpbin and tcp-echo in ns1, with
// the policies of each case. Every case asserts what the client saw (status,
// body, a closed connection) and the engine's own verdict (denied_by: the
// action, policy, rule and clause).
//
// Expected values are Istio's (docs/istio/authorization.md §11.2, from
// tests/integration/security/authz_test.go and its testdata), Envoy's RBAC
// replies (403 "RBAC: access denied", rbac_access_denied_matched_policy[…])
// and jwt_authn's (401 with the jwt_verify_lib status string).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/shell_run.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string src() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return s ? s : MESHSIM_SOURCE_DIR;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

class Authz : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("meshsim-authz-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Policies for this case (YAML text), written next to the mesh.
  void policies(const std::string& yaml) { std::ofstream(dir_ / "policies.yaml") << yaml; }

  json probe(const std::string& args) {
    std::string mesh = " --mesh " + src() + "/tests/data/authz/mesh.yaml";
    if (fs::exists(dir_ / "policies.yaml")) mesh += " --mesh " + (dir_ / "policies.yaml").string();
    auto r = meshsim::testing::run_shell("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe -o json" + mesh +
                                         " " + args + " 2>/dev/null");
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.out;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }
  json http(const std::string& from, const std::string& path, const std::string& extra = "") {
    return probe("--from " + from + " --to httpbin.ns1:8000 --path '" + path + "' " + extra);
  }

  fs::path dir_;
};

const char* kAllowA = R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-a, namespace: ns1}
spec:
  selector: {matchLabels: {app: httpbin}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/ns1/sa/a"]}}]
    to: [{operation: {paths: ["/allow"], methods: ["GET"]}}]
)";

TEST_F(Authz, AllowByPrincipalPathAndMethod) {
  policies(kAllowA);
  json ok = http("ns1/a", "/allow");
  EXPECT_EQ(ok["outcome"], "ok") << ok.dump(2);
  EXPECT_EQ(ok["http_status"], 200);
  EXPECT_TRUE(ok["server_sidecar"]["denied_by"].is_null());
  EXPECT_EQ(ok["server_sidecar"]["authz"][0]["summary"], "allowed by AuthorizationPolicy ns1/allow-a rule 0");

  // The query is not part of the path a rule matches.
  EXPECT_EQ(http("ns1/a", "/allow?param=value")["http_status"], 200);

  // Another namespace's identity: no rule matches.
  json other = http("ns2/a", "/allow");
  EXPECT_EQ(other["outcome"], "denied");
  EXPECT_EQ(other["http_status"], 403);
  EXPECT_EQ(other["response_body"], "RBAC: access denied");
  const json& by = other["server_sidecar"]["denied_by"];
  EXPECT_EQ(by["action"], "ALLOW");
  EXPECT_EQ(by["rbac_policy"], "none");
  EXPECT_EQ(other["server_sidecar"]["details"], "rbac_access_denied_matched_policy[none]");
  ASSERT_EQ(by["rules"].size(), 1u) << by.dump(2);
  EXPECT_EQ(by["rules"][0]["policy"], "ns1/allow-a");
  EXPECT_EQ(by["rules"][0]["rule"], 0);
  EXPECT_EQ(by["rules"][0]["clause"].get<std::string>().rfind("from[0].source.principals: peer is "
                                                               "spiffe://cluster.local/ns/ns2/sa/a, not ",
                                                               0),
            0u)
      << by.dump(2);

  json wrong_path = http("ns1/a", "/deny");
  EXPECT_EQ(wrong_path["http_status"], 403);
  EXPECT_EQ(wrong_path["server_sidecar"]["denied_by"]["rules"][0]["clause"].get<std::string>().rfind(
                "to[0].operation.paths: path is /deny", 0),
            0u);
  json wrong_method = http("ns1/a", "/allow", "--method POST");
  EXPECT_EQ(wrong_method["http_status"], 403);
}

TEST_F(Authz, PlaintextPeerHasNoIdentityUnderPermissive) {
  policies(kAllowA);
  json r = http("legacy/sleep", "/allow");
  EXPECT_EQ(r["http_status"], 403);
  EXPECT_EQ(r["wire"]["mtls"], false);
  EXPECT_EQ(r["server_sidecar"]["denied_by"]["rules"][0]["clause"].get<std::string>().rfind(
                "from[0].source.principals: peer has no identity (plaintext)", 0),
            0u)
      << r.dump(2);
}

TEST_F(Authz, ServiceAccountsAndNamespaces) {
  policies(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-sa, namespace: ns1}
spec:
  selector: {matchLabels: {app: httpbin}}
  rules:
  - from: [{source: {serviceAccounts: ["ns1/a"]}}]
    to: [{operation: {paths: ["/sa"]}}]
  - from: [{source: {namespaces: ["ns2"]}}]
    to: [{operation: {paths: ["/ns"]}}]
)");
  EXPECT_EQ(http("ns1/a", "/sa")["http_status"], 200);
  EXPECT_EQ(http("ns2/a", "/sa")["http_status"], 403);
  EXPECT_EQ(http("ns2/a", "/ns")["http_status"], 200);
  EXPECT_EQ(http("ns1/a", "/ns")["http_status"], 403);
}

TEST_F(Authz, DenyBeforeAllowAndTheRootNamespace) {
  policies(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-ns2, namespace: ns1}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: DENY
  rules:
  - from: [{source: {principals: ["cluster.local/ns/ns2/sa/a"]}}]
    to: [{operation: {paths: ["/deny*"], notPaths: ["/deny/allow"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: global-deny, namespace: istio-system}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ["/global-deny*"], notPaths: ["/global-deny/allow"]}}]
)");
  json d = http("ns2/a", "/deny");
  EXPECT_EQ(d["http_status"], 403);
  EXPECT_EQ(d["server_sidecar"]["denied_by"]["action"], "DENY");
  EXPECT_EQ(d["server_sidecar"]["denied_by"]["policy"], "ns1/deny-ns2");
  EXPECT_EQ(d["server_sidecar"]["details"], "rbac_access_denied_matched_policy[ns[ns1]-policy[deny-ns2]-rule[0]]");
  EXPECT_EQ(http("ns2/a", "/deny/allow")["http_status"], 200);
  EXPECT_EQ(http("ns2/a", "/allow")["http_status"], 200);
  EXPECT_EQ(http("ns1/a", "/deny")["http_status"], 200);
  json g = http("ns1/a", "/global-deny");
  EXPECT_EQ(g["http_status"], 403);
  EXPECT_EQ(g["server_sidecar"]["denied_by"]["policy"], "istio-system/global-deny");
  EXPECT_EQ(http("ns1/a", "/global-deny/allow")["http_status"], 200);
}

TEST_F(Authz, NotPrincipalsStarDeniesPlaintextOverHttpAndTcp) {
  policies(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-mtls, namespace: ns1}
spec:
  action: DENY
  rules: [{from: [{source: {notPrincipals: ["*"]}}]}]
)");
  EXPECT_EQ(http("ns1/a", "/get")["http_status"], 200);
  json plain = http("legacy/sleep", "/get");
  EXPECT_EQ(plain["http_status"], 403);
  EXPECT_EQ(plain["server_sidecar"]["denied_by"]["policy"], "ns1/require-mtls");

  // TCP: the network RBAC filter closes the connection on the first bytes;
  // nothing reaches tcp-echo, so the client gets no echo.
  json tcp = probe("--from legacy/sleep --to tcp-echo.ns1:9000 --protocol tcp --payload 'hello\\n'");
  EXPECT_NE(tcp["outcome"], "ok") << tcp.dump(2);
  EXPECT_EQ(tcp["response_body"], "");
  const json& by = tcp["server_sidecar"]["denied_by"];
  EXPECT_EQ(by["filter"], "envoy.filters.network.rbac");
  EXPECT_EQ(by["policy"], "ns1/require-mtls");
  EXPECT_EQ(tcp["server_sidecar"]["details"], "rbac_access_denied_matched_policy[ns[ns1]-policy[require-mtls]-rule[0]]");
  json mesh_tcp = probe("--from ns1/a --to tcp-echo.ns1:9000 --protocol tcp --payload 'hello\\n'");
  EXPECT_EQ(mesh_tcp["outcome"], "ok") << mesh_tcp.dump(2);
  EXPECT_EQ(mesh_tcp["response_body"], "hello hello\n");
}

TEST_F(Authz, HttpOnlyFieldsOnTcp) {
  // ALLOW: the rule with methods disappears on the TCP chain: tcp-echo
  // accepts nothing; DENY: the field is dropped and the rule denies all TCP.
  policies(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-get, namespace: ns1}
spec:
  selector: {matchLabels: {app: tcp-echo}}
  rules: [{to: [{operation: {methods: ["GET"], ports: ["9000"]}}]}]
)");
  json r = probe("--from ns1/a --to tcp-echo.ns1:9000 --protocol tcp --payload 'hello\\n'");
  EXPECT_NE(r["outcome"], "ok");
  EXPECT_EQ(r["server_sidecar"]["denied_by"]["action"], "ALLOW");
  EXPECT_EQ(r["server_sidecar"]["denied_by"]["rbac_policy"], "none");
  auto pc = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " proxy-config rbac ns1/tcp-echo --mesh " + src() +
                                        "/tests/data/authz/mesh.yaml --mesh " + (dir_ / "policies.yaml").string() +
                                        " 2>/dev/null");
  EXPECT_NE(pc.out.find("skipped rule ns[ns1]-policy[allow-get]-rule[0] on TCP filter chain: \":method\" is HTTP only"),
            std::string::npos)
      << pc.out;
}

TEST_F(Authz, NotMethodsPathTemplatesAndNormalization) {
  policies(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: paths, namespace: ns1}
spec:
  selector: {matchLabels: {app: httpbin}}
  rules:
  - to: [{operation: {notMethods: ["PUT"], paths: ["/foo/{*}/bar/{**}", "/store/{**}/cart", "/public*"]}}]
)");
  EXPECT_EQ(http("ns1/a", "/foo/buzz/bar/bat")["http_status"], 200);
  EXPECT_EQ(http("ns1/a", "/foo/bar/bat.txt")["http_status"], 403);
  EXPECT_EQ(http("ns1/a", "/store/foo/bar/cart")["http_status"], 200);
  EXPECT_EQ(http("ns1/a", "/store/cart")["http_status"], 403);
  EXPECT_EQ(http("ns1/a", "/public/x", "--method PUT")["http_status"], 403);
  // BASE path normalization happens before RBAC (authz_test.go "path normalization").
  EXPECT_EQ(http("ns1/a", "/public/../public")["http_status"], 200);
  EXPECT_EQ(http("ns1/a", "/public/../private")["http_status"], 403);
  EXPECT_EQ(http("ns1/a", "/public/%2E%2E/private")["http_status"], 403);
  EXPECT_EQ(http("ns1/a", "/public/%2e/%2e%2e/private")["http_status"], 403);
}

TEST_F(Authz, ConditionsOnHeadersPortsAndForwardedFor) {
  policies(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: when, namespace: ns1}
spec:
  selector: {matchLabels: {app: httpbin}}
  rules:
  - to: [{operation: {paths: ["/header"]}}]
    when: [{key: "request.headers[x-foo]", values: ["foo"]}]
  - to: [{operation: {paths: ["/target-port"]}}]
    when: [{key: destination.port, values: ["8080"]}]
  - to: [{operation: {paths: ["/service-port"]}}]
    when: [{key: destination.port, values: ["8000"]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-remote, namespace: ns1}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: DENY
  rules: [{from: [{source: {remoteIpBlocks: ["1.2.3.4"]}}]}]
)");
  EXPECT_EQ(http("ns1/a", "/header", "-H 'x-foo: foo'")["http_status"], 200);
  EXPECT_EQ(http("ns1/a", "/header", "-H 'x-foo: bar'")["http_status"], 403);
  EXPECT_EQ(http("ns1/a", "/header")["http_status"], 403);
  // destination.port is the workload's port (the original destination), not the Service's.
  EXPECT_EQ(http("ns1/a", "/target-port")["http_status"], 200);
  EXPECT_EQ(http("ns1/a", "/service-port")["http_status"], 403);
  // remoteIpBlocks: the client address from X-Forwarded-For.
  json xff = http("ns1/a", "/target-port", "-H 'X-Forwarded-For: 1.2.3.4'");
  EXPECT_EQ(xff["http_status"], 403);
  EXPECT_EQ(xff["server_sidecar"]["denied_by"]["policy"], "ns1/deny-remote");
}

TEST_F(Authz, DryRunIsReportedNotEnforced) {
  policies(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: dry, namespace: ns1, annotations: {istio.io/dry-run: "true"}}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/get"]}}]}]
)");
  json r = http("ns1/a", "/get");
  EXPECT_EQ(r["http_status"], 200);
  ASSERT_EQ(r["server_sidecar"]["authz"].size(), 1u) << r.dump(2);
  const json& v = r["server_sidecar"]["authz"][0];
  EXPECT_EQ(v["shadow"], true);
  EXPECT_EQ(v["denied"], true);
  EXPECT_EQ(v["policy"], "ns[ns1]-policy[dry]-rule[0]");
  EXPECT_EQ(v["summary"], "dry-run: DENY by AuthorizationPolicy ns1/dry rule 0 (not enforced)");
}

TEST_F(Authz, DenyAllAndAllowAll) {
  policies(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: ns1}
spec: {}
)");
  json r = http("ns1/a", "/get");
  EXPECT_EQ(r["http_status"], 403);
  EXPECT_EQ(r["server_sidecar"]["denied_by"]["rules"][0]["clause"], "the policy has no rules: it matches nothing");
  policies(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: ns1}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: ns1}
spec: {rules: [{}]}
)");
  EXPECT_EQ(http("legacy/sleep", "/get")["http_status"], 200);
}

TEST_F(Authz, JwtRequiredWithClaims) {
  std::string jwt = src() + "/tests/data/jwt/";
  std::string jwks = trim(slurp(jwt + "jwks.json"));
  for (char& c : jwks)
    if (c == '\n') c = ' ';
  policies(R"(apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: ns1}
spec:
  selector: {matchLabels: {app: httpbin}}
  jwtRules:
  - issuer: testing@secure.istio.io
    jwksUri: https://example.com/jwks.json
    outputClaimToHeaders: [{header: x-jwt-foo, claim: foo}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: ns1}
spec:
  selector: {matchLabels: {app: httpbin}}
  rules:
  - from: [{source: {requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]}}]
    to: [{operation: {paths: ["/token"]}}]
  - to: [{operation: {paths: ["/group1"]}}]
    when: [{key: "request.auth.claims[groups]", values: ["group1"]}]
  - to: [{operation: {paths: ["/scope"]}}]
    when: [{key: "request.auth.claims[scope]", values: ["scope2"]}]
)");
  std::string with_jwks = "--jwks https://example.com/jwks.json=" + jwt + "jwks.json ";
  std::string demo = trim(slurp(jwt + "demo.jwt")), groups = trim(slurp(jwt + "groups-scope.jwt"));
  // No token: passes authentication, fails the ALLOW (no request principal).
  json none = http("ns1/a", "/token", with_jwks);
  EXPECT_EQ(none["http_status"], 403);
  EXPECT_NE(none["server_sidecar"]["denied_by"]["rules"][0]["clause"].get<std::string>().find("no valid JWT"),
            std::string::npos)
      << none.dump(2);
  json ok = http("ns1/a", "/token", with_jwks + "-H 'Authorization: Bearer " + demo + "'");
  EXPECT_EQ(ok["http_status"], 200) << ok.dump(2);
  EXPECT_EQ(ok["server_sidecar"]["request_auth"].get<std::string>().rfind(
                "verified testing@secure.istio.io/testing@secure.istio.io (origins-0", 0),
            0u);
  // The Authorization header is not forwarded (forwardOriginalToken false);
  // the claim named in outputClaimToHeaders is (demo.jwt has "foo": "bar").
  std::string seen = ok["response_body"].get<std::string>();
  for (char& c : seen) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(seen.find("bearer"), std::string::npos) << seen;
  EXPECT_NE(seen.find("x-jwt-foo"), std::string::npos) << seen;
  EXPECT_NE(seen.find("bar"), std::string::npos) << seen;
  EXPECT_EQ(http("ns1/a", "/group1", with_jwks + "-H 'Authorization: Bearer " + groups + "'")["http_status"], 200);
  EXPECT_EQ(http("ns1/a", "/group1", with_jwks + "-H 'Authorization: Bearer " + demo + "'")["http_status"], 403);
  // scope is space-delimited ("scope1 scope2"): Istio splits it.
  EXPECT_EQ(http("ns1/a", "/scope", with_jwks + "-H 'Authorization: Bearer " + groups + "'")["http_status"], 200);
  // A token that does not verify: 401 from jwt_authn before RBAC runs.
  json bad = http("ns1/a", "/token", with_jwks + "-H 'Authorization: Bearer " + demo.substr(0, demo.size() - 2) + "AA'");
  EXPECT_EQ(bad["http_status"], 401);
  EXPECT_EQ(bad["response_body"], "Jwt verification fails");
  EXPECT_EQ(bad["server_sidecar"]["details"], "jwt_authn_access_denied{Jwt_verification_fails}");
  bool www = false;
  for (const auto& h : bad["response_headers"])
    www = www || (h["name"] == "www-authenticate" &&
                  h["value"].get<std::string>().find("error=\"invalid_token\"") != std::string::npos);
  EXPECT_TRUE(www) << bad.dump(2);
  // Without --jwks istiod could not fetch the keys: no token verifies.
  json unresolved = http("ns1/a", "/token", "-H 'Authorization: Bearer " + demo + "'");
  EXPECT_EQ(unresolved["http_status"], 401);
  EXPECT_EQ(unresolved["response_body"], "Jwt verification fails");
}

}  // namespace

namespace {

// `meshsim token` with Istio's published test key and demo.jwt's payload
// mints demo.jwt byte for byte (kid = the key's RFC 7638 thumbprint, as
// Istio's gen-jwt.py); --jwks-out writes a JWKS the probe then accepts.
TEST(TokenCli, MintsIstiosDemoTokenByteForByte) {
  std::string jwt = src() + "/tests/data/jwt/";
  std::string claims =
      R"({"exp":4685989700,"foo":"bar","iat":1532389700,"iss":"testing@secure.istio.io","sub":"testing@secure.istio.io"})";
  fs::path out = fs::temp_directory_path() / ("meshsim-token-" + std::to_string(::getpid()) + ".json");
  auto r = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " token --key " + jwt + "key.pem --claims '" + claims +
                                       "' --jwks-out " + out.string() + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(trim(r.out), trim(slurp(jwt + "demo.jwt")));
  json mine = json::parse(slurp(out.string()), nullptr, false);
  json istio = json::parse(slurp(jwt + "jwks.json"), nullptr, false);
  EXPECT_EQ(mine, istio);
  fs::remove(out);
  auto bad = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " token --key /nonexistent.pem 2>&1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("--key: cannot read /nonexistent.pem"), std::string::npos) << bad.out;
  auto notjson = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " token --key " + jwt + "key.pem --claims '[1]' 2>&1");
  EXPECT_EQ(notjson.exit_code, 2);
}

}  // namespace
