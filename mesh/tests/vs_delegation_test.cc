// VirtualService delegation: hasConflict against Istio's own table
// (pilot/pkg/model/virtualservice_test.go TestHasConflict), and the merge of
// root and delegate routes as MergeHTTPRoutes / mergeVirtualServices do it.
#include <gtest/gtest.h>

#include "mesh/vs_delegation.h"

namespace meshsim::mesh {
namespace {

StringMatch exact(std::string v) { return {StringMatch::Type::kExact, std::move(v)}; }
StringMatch prefix(std::string v) { return {StringMatch::Type::kPrefix, std::move(v)}; }
StringMatch regex(std::string v) { return {StringMatch::Type::kRegex, std::move(v)}; }

HttpMatchRequest uri(StringMatch m) {
  HttpMatchRequest r;
  r.uri = std::move(m);
  return r;
}
HttpMatchRequest header(std::string k, StringMatch m) {
  HttpMatchRequest r;
  r.headers[std::move(k)] = std::move(m);
  return r;
}
HttpMatchRequest port(uint32_t p) {
  HttpMatchRequest r;
  if (p) r.port = p;
  return r;
}

TEST(VsDelegation, HasConflictAsIstiosTable) {
  struct Case {
    const char* name;
    HttpMatchRequest root, leaf;
    bool expected;
  };
  HttpMatchRequest wh1, wh2;
  wh1.without_headers["header"] = prefix("h1");
  wh2.without_headers["header"] = exact("h2");
  HttpMatchRequest sl1, sl2, sn1, sn2, gw1, gw2;
  sl1.source_labels["a"] = "b";
  sl2.source_labels["a"] = "c";
  sn1.source_namespace = "test1";
  sn2.source_namespace = "test2";
  gw1.gateways = {"ingress-gateway"};
  gw2.gateways = {"ingress-gateway", "mesh"};
  Case cases[] = {
      {"regex uri", uri(regex("^/productpage")), uri(prefix("/productpage/v2")), true},
      {"regex uri in root and delegate does not have uri", uri(regex("^/productpage")), {}, false},
      {"regex uri in delegate and root does not have uri", {}, uri(regex("^/productpage")), false},
      {"regex uri in root and delegate has conflicting uri match", uri(regex("^/productpage")),
       uri(prefix("/productpage")), true},
      {"regex uri in delegate and root has conflicting uri match", uri(prefix("/productpage")),
       uri(regex("^/productpage")), true},
      {"match uri", uri(prefix("/productpage")), uri(prefix("/productpage/v2")), false},
      {"mismatch uri", uri(prefix("/productpage/v2")), uri(prefix("/productpage")), true},
      {"match uri (exact under prefix)", uri(prefix("/productpage/v2")), uri(exact("/productpage/v2")), false},
      {"headers not equal", header("header", exact("h1")), header("header", exact("h2")), true},
      {"headers equal", header("header", exact("h1")), header("header", exact("h1")), false},
      {"headers match", header("header", prefix("h1")), header("header", exact("h1-v1")), false},
      {"headers mismatch", header("header", prefix("h1")), header("header", exact("h2")), true},
      {"headers prefix mismatch", header("header", prefix("h1")), header("header", prefix("h2")), true},
      {"diff headers", header("header", exact("h1")), header("header-2", exact("h2")), false},
      {"withoutHeaders mismatch", wh1, wh2, true},
      {"port 0 / 8080", port(0), port(8080), false},
      {"port 8080 / 0", port(8080), port(0), false},
      {"port 8080 / 8090", port(8080), port(8090), true},
      {"sourceLabels mismatch", sl1, sl2, true},
      {"sourceNamespace mismatch", sn1, sn2, true},
      {"root has less gateways than delegate", gw1, gw2, true},
  };
  for (const Case& c : cases) EXPECT_EQ(http_match_conflicts(c.root, c.leaf), c.expected) << c.name;
}

VirtualService vs(std::string ns, std::string name, std::vector<std::string> hosts) {
  VirtualService v;
  v.meta.namespace_ = std::move(ns);
  v.meta.name = std::move(name);
  v.hosts = std::move(hosts);
  return v;
}

HttpRoute to(std::string host, std::string name = "") {
  HttpRoute r;
  r.name = std::move(name);
  HttpRouteDestination d;
  d.destination.host = std::move(host);
  r.route.push_back(d);
  return r;
}

std::string fqdn(std::string_view h, std::string_view ns) {
  return h.find('.') == std::string_view::npos ? std::string(h) + "." + std::string(ns) + ".svc.cluster.local"
                                               : std::string(h);
}

TEST(VsDelegation, RootRouteIsReplacedByMergedDelegateRoutes) {
  VirtualService root = vs("istio-system", "root", {"bookinfo.example.com"});
  HttpRoute del;
  del.name = "pp";
  del.match = {uri(prefix("/productpage"))};
  del.delegate = std::make_pair(std::string("productpage"), std::string("bookinfo"));
  del.timeout = Duration::seconds(5);
  root.http = {del, to("fallback")};

  VirtualService d = vs("bookinfo", "productpage", {});
  HttpRoute v2 = to("productpage", "v2");
  v2.match = {uri(prefix("/productpage/v2"))};
  HttpRoute bad = to("productpage", "other");
  bad.match = {uri(prefix("/reviews"))};  // not under /productpage: dropped
  HttpRoute rest = to("productpage.bookinfo.svc.cluster.local");
  rest.timeout = Duration::seconds(1);
  d.http = {v2, bad, rest};

  MergedVirtualServices m = merge_virtual_services({root, d}, {"*"}, fqdn);
  ASSERT_EQ(m.services.size(), 1u);  // the delegate itself is not routed with
  const auto& http = m.services[0].http;
  ASSERT_EQ(http.size(), 3u);
  EXPECT_EQ(http[0].name, "pp-v2");
  ASSERT_EQ(http[0].match.size(), 1u);
  EXPECT_EQ(http[0].match[0].uri->value, "/productpage/v2");
  EXPECT_EQ(http[0].route[0].destination.host, "productpage.bookinfo.svc.cluster.local");  // resolved in the delegate's namespace
  EXPECT_EQ(http[0].timeout, Duration::seconds(5));                                       // from the root
  EXPECT_EQ(http[1].name, "pp");
  EXPECT_EQ(http[1].match[0].uri->value, "/productpage");  // delegate route without match takes the root's
  EXPECT_EQ(http[1].timeout, Duration::seconds(1));        // the delegate's own wins
  EXPECT_EQ(http[2].route[0].destination.host, "fallback");  // the root's own route, resolved later in its namespace
  ASSERT_EQ(m.issues.size(), 1u);
  EXPECT_EQ(m.issues[0].kind, DelegationIssue::Kind::kMatchConflict);
  EXPECT_EQ(m.issues[0].delegate_route, 1u);
}

TEST(VsDelegation, MissingOrHiddenDelegateDropsOnlyItsRoute) {
  VirtualService root = vs("istio-system", "root", {"a.example.com"});
  HttpRoute r1;
  r1.delegate = std::make_pair(std::string("gone"), std::string("x"));
  HttpRoute r2;
  r2.delegate = std::make_pair(std::string("private"), std::string("y"));
  root.http = {r1, r2, to("fallback")};
  VirtualService hidden = vs("y", "private", {});
  hidden.export_to = {"."};
  hidden.http = {to("svc")};
  MergedVirtualServices m = merge_virtual_services({root, hidden}, {"*"}, fqdn);
  ASSERT_EQ(m.services.size(), 1u);
  ASSERT_EQ(m.services[0].http.size(), 1u);
  EXPECT_EQ(m.services[0].http[0].route[0].destination.host, "fallback");
  ASSERT_EQ(m.issues.size(), 2u);
  EXPECT_EQ(m.issues[0].kind, DelegationIssue::Kind::kNotFound);
  EXPECT_EQ(m.issues[0].message, "delegate virtual service x/gone of istio-system/root not found");
  EXPECT_EQ(m.issues[1].kind, DelegationIssue::Kind::kNotExported);
  // The same delegate exported to the root's namespace is used.
  hidden.export_to = {"istio-system"};
  EXPECT_EQ(merge_virtual_services({root, hidden}, {"*"}, fqdn).services[0].http.size(), 2u);
}

}  // namespace
}  // namespace meshsim::mesh
