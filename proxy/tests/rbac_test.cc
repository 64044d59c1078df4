// CompiledRbac: Envoy's decision (the first matching policy in name order,
// ALLOW/DENY/LOG) whatever the policies' shape — the identity/path/port
// index must only ever skip policies that could not match. Checked against
// a reference that tries every policy with the engine's own matcher, on
// random policies and requests (fixed seed), and on the cases the index
// files differently.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "proxy/http/message.h"
#include "proxy/rbac.h"

namespace meshsim::proxy {
namespace {

using K = RbacMatcher::Kind;
using SK = StringMatcher::Kind;

RbacMatcher leaf(K kind) {
  RbacMatcher m;
  m.kind = kind;
  return m;
}
RbacMatcher node(K kind, std::vector<RbacMatcher> children) {
  RbacMatcher m;
  m.kind = kind;
  m.children = std::move(children);
  return m;
}
RbacMatcher with_string(K kind, SK sk, std::string v, bool icase = false) {
  RbacMatcher m = leaf(kind);
  m.string = StringMatcher{sk, std::move(v), icase};
  return m;
}
RbacMatcher port(uint16_t p) {
  RbacMatcher m = leaf(K::kDestinationPort);
  m.port = p;
  return m;
}
RbacMatcher header(std::string name, SK sk, std::string v) {
  RbacMatcher m = with_string(K::kHeader, sk, std::move(v));
  m.header_name = std::move(name);
  return m;
}

const std::vector<std::string> kSans = {"spiffe://cluster.local/ns/a/sa/x", "spiffe://cluster.local/ns/b/sa/y",
                                        "spiffe://cluster.local/ns/a/sa/z"};
const std::vector<std::string> kPaths = {"/", "/api", "/api/v1", "/api/v1/items", "/admin", "/Api/v1"};
const std::vector<uint16_t> kPorts = {8080, 9000, 3306};

struct Gen {
  std::mt19937 rng{20261202};
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  template <typename T>
  const T& of(const std::vector<T>& v) { return v[static_cast<size_t>(pick(static_cast<int>(v.size())))]; }

  RbacMatcher matcher(int depth) {
    int k = pick(depth > 0 ? 14 : 10);
    switch (k) {
      case 0: return leaf(K::kAny);
      case 1: return with_string(K::kAuthenticated, SK::kExact, of(kSans));
      case 2: return with_string(K::kAuthenticated, SK::kPrefix, "spiffe://cluster.local/ns/a/");
      case 3: return with_string(K::kAuthenticated, SK::kRegex, ".*/ns/b/.*");
      case 4: return leaf(K::kAuthenticated);
      case 5: return with_string(K::kUrlPath, SK::kExact, of(kPaths));
      case 6: return with_string(K::kUrlPath, SK::kPrefix, of(kPaths), pick(4) == 0);
      case 7: return port(of(kPorts));
      case 8: return header(":method", SK::kExact, pick(2) ? "GET" : "POST");
      case 9: return with_string(K::kUrlPath, SK::kSuffix, "items");
      case 10: return node(K::kNot, {matcher(depth - 1)});
      default: {
        std::vector<RbacMatcher> c;
        int n = pick(4);  // empty AND/OR included
        for (int i = 0; i < n; ++i) c.push_back(matcher(depth - 1));
        return node(k % 2 ? K::kAnd : K::kOr, std::move(c));
      }
    }
  }
  std::vector<RbacMatcher> list(int max) {
    std::vector<RbacMatcher> v;
    int n = pick(max + 1);
    for (int i = 0; i < n; ++i) v.push_back(matcher(3));
    return v;
  }
};

struct Input {
  SecurityInfo tls;
  http::Request req;
  RbacInput in;
};

// Every policy in order, with the engine's own matcher.
const RbacPolicy* reference(const CompiledRbac& e, const Rbac& rbac, const RbacInput& in) {
  for (const auto& p : rbac.policies) {
    bool perm = false, princ = false;
    for (const auto& m : p.permissions) perm = perm || e.matches(m, in);
    for (const auto& m : p.principals) princ = princ || e.matches(m, in);
    if (perm && princ) return &p;
  }
  return nullptr;
}

TEST(Rbac, IndexedEvaluationDecidesAsTryingEveryPolicy) {
  Gen g;
  size_t matched = 0, compared = 0;
  for (int round = 0; round < 300; ++round) {
    Rbac rbac;
    rbac.action = static_cast<RbacAction>(g.pick(3));
    int n = 1 + g.pick(40);
    for (int i = 0; i < n; ++i) {
      RbacPolicy p;
      p.name = "p" + std::to_string(1000 + i);
      p.permissions = g.list(3);
      p.principals = g.list(3);
      rbac.policies.push_back(std::move(p));
    }
    CompiledRbac engine(rbac);
    for (int q = 0; q < 40; ++q) {
      Input x;
      x.tls.tls = g.pick(4) != 0;
      if (x.tls.tls && g.pick(5)) x.tls.peer_uri_sans.push_back(g.of(kSans));
      x.req.method = g.pick(2) ? "GET" : "POST";
      x.req.target = g.of(kPaths) + (g.pick(3) == 0 ? "?q=1" : "");
      x.in.tls = &x.tls;
      x.in.local.port = g.of(kPorts);
      x.in.request = g.pick(6) ? &x.req : nullptr;
      const RbacPolicy* want = reference(engine, rbac, x.in);
      for (bool explain : {false, true}) {
        RbacResult r = engine.evaluate(x.in, explain);
        ASSERT_EQ(r.effective_policy, want ? want->name : "") << "round " << round << " query " << q;
        bool allowed = rbac.action == RbacAction::kAllow ? want != nullptr : rbac.action == RbacAction::kDeny ? want == nullptr : true;
        ASSERT_EQ(r.allowed, allowed);
      }
      matched += want != nullptr;
      ++compared;
    }
  }
  // The random cases exercise both outcomes.
  EXPECT_GT(matched, compared / 10);
  EXPECT_LT(matched, compared - compared / 10);
}

// Policies filed under an identity, a path, a port and none at all keep
// their name order: the first that matches wins, filed or not.
TEST(Rbac, FiledAndUnfiledPoliciesKeepNameOrder) {
  Rbac rbac;
  auto policy = [](std::string name, std::vector<RbacMatcher> perms, std::vector<RbacMatcher> princs) {
    RbacPolicy p;
    p.name = std::move(name);
    p.permissions = std::move(perms);
    p.principals = std::move(princs);
    return p;
  };
  RbacMatcher any = leaf(K::kAny);
  rbac.policies.push_back(policy("a-identity", {any}, {with_string(K::kAuthenticated, SK::kExact, kSans[0])}));
  rbac.policies.push_back(policy("b-path", {with_string(K::kUrlPath, SK::kPrefix, "/api/")}, {any}));
  rbac.policies.push_back(policy("c-port", {node(K::kAnd, {header(":method", SK::kExact, "GET"), port(9000)})}, {any}));
  rbac.policies.push_back(policy("d-unfiled", {header(":method", SK::kExact, "POST")}, {any}));
  rbac.policies.push_back(policy("e-never", {}, {any}));
  CompiledRbac engine(rbac);
  Input x;
  x.tls.tls = true;
  x.req.method = "POST";
  x.req.target = "/api/v1";
  x.in.tls = &x.tls;
  x.in.request = &x.req;
  x.in.local.port = 9000;
  EXPECT_EQ(engine.evaluate(x.in, false).effective_policy, "b-path");
  x.tls.peer_uri_sans = {kSans[0]};
  EXPECT_EQ(engine.evaluate(x.in, false).effective_policy, "a-identity");
  x.tls.peer_uri_sans = {kSans[1]};
  x.req.target = "/other";
  EXPECT_EQ(engine.evaluate(x.in, false).effective_policy, "d-unfiled");
  x.req.method = "GET";
  EXPECT_EQ(engine.evaluate(x.in, false).effective_policy, "c-port");
  x.in.local.port = 8080;
  RbacResult r = engine.evaluate(x.in, true);
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.effective_policy, "");
  EXPECT_EQ(r.reasons.size(), 5u) << "an explained miss still names every policy";
  // A plaintext peer matches no identity.
  x.tls.tls = false;
  x.tls.peer_uri_sans = {kSans[0]};
  x.req.method = "POST";
  EXPECT_EQ(engine.evaluate(x.in, false).effective_policy, "d-unfiled");
}

// Header values are read as Envoy does, whatever the path inside the engine:
// pseudo-headers from the request line, repeated headers joined with ",".
TEST(Rbac, HeaderMatchersReadJoinedValuesAndPseudoHeaders) {
  Rbac rbac;
  CompiledRbac engine(rbac);
  http::Request req;
  req.method = "PUT";
  req.target = "/x?y=1";
  req.headers.add("host", "svc:80");
  req.headers.add("x-role", "a");
  req.headers.add("X-Role", "b");
  RbacInput in;
  in.request = &req;
  in.scheme = "https";
  EXPECT_TRUE(engine.matches(header(":method", SK::kExact, "PUT"), in));
  EXPECT_TRUE(engine.matches(header(":path", SK::kExact, "/x?y=1"), in));
  EXPECT_TRUE(engine.matches(header(":authority", SK::kExact, "svc:80"), in));
  EXPECT_TRUE(engine.matches(header(":scheme", SK::kExact, "https"), in));
  EXPECT_TRUE(engine.matches(header("x-role", SK::kExact, "a,b"), in));
  EXPECT_FALSE(engine.matches(header("x-role", SK::kExact, "a"), in));
  RbacMatcher present = leaf(K::kHeader);
  present.header_name = "x-absent";
  EXPECT_FALSE(engine.matches(present, in));
  present.header_name = "X-ROLE";
  EXPECT_TRUE(engine.matches(present, in));
  EXPECT_EQ(rbac_header_value(req, "x-role", "http").value(), "a,b");
}

}  // namespace
}  // namespace meshsim::proxy
