// Loading and validation: locations, strict typing, enum messages, YAML limits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "mesh/decoder.h"
#include "mesh/tests/test_util.h"

namespace meshsim::mesh {
namespace {

using ::testing::HasSubstr;
using testing::dump;
using testing::load;
using testing::with_code;

TEST(Loader, UnknownEnumNamesFieldAndListsValidValuesAtKeyLocation) {
  auto l = load(R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    tls:
      mode: MUTUALL
)", "reviews.yaml");
  auto errs = with_code(l.diags, "MS0002");
  ASSERT_EQ(errs.size(), 1u) << dump(l.diags);
  EXPECT_EQ(errs[0].format(),
            "reviews.yaml:9:7: DestinationRule default/reviews: spec.trafficPolicy.tls.mode: unknown value \"MUTUALL\" "
            "(valid: DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL)");
  EXPECT_TRUE(l.rs.destination_rules.empty()) << "invalid objects are not admitted";
}

TEST(Loader, ReportsAllErrorsOfAllDocumentsInOnePass) {
  auto l = load(R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a}
spec:
  host: a
  trafficPolicy:
    tls: {mode: BAD}
    outlierDetection: {interval: 5 seconds, maxEjectionPercent: 150}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports:
  - port: "80"
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: p}
spec:
  mtls: {mode: STRICT}
)");
  EXPECT_EQ(testing::error_count(l.diags), 4u) << dump(l.diags);
  EXPECT_EQ(l.rs.peer_authentications.size(), 1u);
  EXPECT_THAT(dump(l.diags), HasSubstr("spec.trafficPolicy.outlierDetection.interval: invalid duration \"5 seconds\""));
  EXPECT_THAT(dump(l.diags), HasSubstr("maxEjectionPercent: value 150 out of range [0, 100]"));
  EXPECT_THAT(dump(l.diags), HasSubstr("spec.ports[0].port: expected an integer, got string \"80\""));
}

TEST(Loader, UnquotedNumberInStringFieldIsAnErrorWithQuotingHint) {
  auto l = load(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d, version: 1}}
    spec:
      containers: [{name: c, image: i}]
)");
  auto errs = with_code(l.diags, "MS0002");
  ASSERT_FALSE(errs.empty());
  EXPECT_THAT(errs[0].message, HasSubstr("expected a string, got integer 1 (quote it: \"1\")"));
  EXPECT_EQ(errs[0].path, "spec.template.metadata.labels.version");
}

TEST(Loader, UnknownFieldsAndKindsAreWarningsNotErrors) {
  auto l = load(R"(apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: p, namespace: foo}
spec:
  mtls: {mode: STRICT, strict: true}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
)");
  EXPECT_EQ(testing::error_count(l.diags), 0u) << dump(l.diags);
  auto unknown = with_code(l.diags, "MS0003");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].path, "spec.mtls.strict");
  EXPECT_EQ(with_code(l.diags, "MS0004").size(), 1u);
  ASSERT_EQ(l.rs.peer_authentications.size(), 1u);
  EXPECT_EQ(l.rs.peer_authentications[0].mode, MtlsMode::kStrict);
}

// A typo inside an AuthorizationPolicy source or operation must not widen
// the rule: the API server prunes the unknown field and Istio's webhook then
// rejects the empty source/operation, so the policy never applies.
TEST(Loader, AnAuthorizationSourceOfOnlyUnknownFieldsIsAnError) {
  auto l = load(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: x, namespace: foo}
spec:
  rules:
  - from: [{source: {principles: ["cluster.local/ns/foo/sa/a"]}}]
  - to: [{operation: {method: [GET]}}]
  - from: [{source: {principals: ["cluster.local/ns/foo/sa/a"], principles: ["x"]}}]
)");
  std::vector<std::string> errors;
  for (const auto& d : l.diags)
    if (d.severity == Severity::kError) errors.push_back(d.path + ": " + d.message);
  ASSERT_EQ(errors.size(), 2u) << dump(l.diags);
  EXPECT_EQ(errors[0], "spec.rules[0].from[0].source: `from.source` must not be empty (its only fields are unknown, and dropped)");
  EXPECT_EQ(errors[1], "spec.rules[1].to[0].operation: `to.operation` must not be empty (its only fields are unknown, and dropped)");
}

TEST(Loader, ApiVersionMustBeServedForTheKind) {
  auto l = load(R"(apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: i}
spec: {}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: v}
spec:
  hosts: [a]
  http: [{route: [{destination: {host: a}}]}]
)");
  auto errs = with_code(l.diags, "MS0004");
  ASSERT_EQ(errs.size(), 1u) << dump(l.diags);
  EXPECT_THAT(errs[0].message, HasSubstr("not served for kind Ingress (served: networking.k8s.io/v1)"));
  EXPECT_EQ(l.rs.virtual_services.size(), 1u);
}

TEST(Loader, ListItemsAreObjectsAndDefaultNamespaceIsApplied) {
  auto l = load(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: a}
- apiVersion: v1
  kind: Namespace
  metadata: {name: foo, labels: {istio-injection: enabled}}
)");
  EXPECT_TRUE(l.diags.empty()) << dump(l.diags);
  ASSERT_EQ(l.rs.service_accounts.size(), 1u);
  EXPECT_EQ(l.rs.service_accounts[0].meta.namespace_, "default");
  EXPECT_EQ(l.rs.service_accounts[0].source.location.line, 4u);
  ASSERT_EQ(l.rs.namespaces.size(), 1u);
  EXPECT_EQ(l.rs.namespaces[0].meta.namespace_, "");
}

TEST(Loader, BrokenDocumentDoesNotHideTheOthers) {
  auto l = load("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\nkey: [unclosed\n---\n"
                "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b}\n");
  auto errs = with_code(l.diags, "MS0001");
  ASSERT_EQ(errs.size(), 1u) << dump(l.diags);
  EXPECT_GE(errs[0].location.line, 5u);
  EXPECT_EQ(l.rs.service_accounts.size(), 2u);
}

TEST(Loader, DuplicateKeysAreErrors) {
  auto l = load("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  name: b\n");
  auto errs = with_code(l.diags, "MS0001");
  ASSERT_EQ(errs.size(), 1u) << dump(l.diags);
  EXPECT_EQ(errs[0].location.line, 5u);
  EXPECT_THAT(errs[0].message, HasSubstr("duplicate key \"name\" (first defined at line 4)"));
}

TEST(Loader, TabIndentationIsAnError) {
  auto l = load("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n\tname: a\n");
  auto errs = with_code(l.diags, "MS0001");
  ASSERT_EQ(errs.size(), 1u) << dump(l.diags);
  EXPECT_EQ(errs[0].location.line, 4u);
  EXPECT_THAT(errs[0].message, HasSubstr("tab"));
}

TEST(Loader, TabsInsideBlockScalarsAreContent) {
  auto l = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  f: |\n    a\n\tb\n");
  // The tab line is less indented than the block: YAML ends the scalar there, so this one is an error...
  auto l2 = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  f: |\n    a\n    \tb\n");
  EXPECT_TRUE(l2.diags.empty()) << dump(l2.diags);
  ASSERT_EQ(l2.rs.config_maps.size(), 1u);
  EXPECT_EQ(l2.rs.config_maps[0].data.at("f"), "a\n\tb\n");
  EXPECT_FALSE(l.diags.empty());
}

TEST(Loader, AliasBombIsRejectedQuickly) {
  std::string y = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    y += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) y += std::string(i ? ", " : "") + "*" + prev;
    y += "]\n";
    prev = c;
  }
  auto l = load(y);
  auto errs = with_code(l.diags, "MS0001");
  ASSERT_EQ(errs.size(), 1u) << dump(l.diags);
  EXPECT_THAT(errs[0].message, HasSubstr("alias bomb"));
}

TEST(Loader, DeepNestingIsRejected) {
  std::string y = "a: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  auto l = load(y);
  auto errs = with_code(l.diags, "MS0001");
  ASSERT_EQ(errs.size(), 1u) << dump(l.diags);
  EXPECT_THAT(errs[0].message, HasSubstr("nesting deeper than"));
}

TEST(Loader, MergeKeysAreResolvedAndExplicitKeysWin) {
  auto l = load(R"(base: &base {name: x, namespace: ns1}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  <<: {name: from-merge, namespace: ns2}
  name: explicit
)");
  ASSERT_EQ(l.rs.service_accounts.size(), 1u) << dump(l.diags);
  EXPECT_EQ(l.rs.service_accounts[0].meta.name, "explicit");
  EXPECT_EQ(l.rs.service_accounts[0].meta.namespace_, "ns2");
}

TEST(Loader, HugeIntegersAreRangeErrors) {
  auto l = load("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 99999999999999999999999\n"
                "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n"
                "    spec: {containers: [{name: c, image: i}]}\n");
  auto errs = with_code(l.diags, "MS0002");
  ASSERT_EQ(errs.size(), 1u) << dump(l.diags);
  EXPECT_EQ(errs[0].path, "spec.replicas");
  EXPECT_THAT(errs[0].message, HasSubstr("out of range"));
}

TEST(Loader, PortLevelMtlsWithoutSelectorIsRejected) {
  auto l = load(R"(apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: p}
spec:
  mtls: {mode: STRICT}
  portLevelMtls:
    8080: {mode: DISABLE}
)");
  auto errs = with_code(l.diags, "MS0002");
  ASSERT_EQ(errs.size(), 1u) << dump(l.diags);
  EXPECT_THAT(errs[0].message, HasSubstr("portLevelMtls requires selector"));
  EXPECT_EQ(errs[0].location.line, 6u);
}

TEST(Loader, DeploymentSelectorMustMatchTemplate) {
  auto l = load(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: y}}
    spec: {containers: [{name: c, image: i}]}
)");
  EXPECT_THAT(dump(l.diags), HasSubstr("`selector` does not match template `labels`"));
}

TEST(Loader, VirtualServiceWebhookRules) {
  auto l = load(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: ["*"]
  http:
  - route: [{destination: {host: a}}]
    redirect: {uri: /x}
  - fault: {abort: {httpStatus: 700, percentage: {value: 50}}}
    route: [{destination: {host: a}, weight: -1}]
    timeout: 2
)");
  std::string all = dump(l.diags);
  EXPECT_THAT(all, HasSubstr("wildcard host * is not allowed for virtual services bound to the mesh gateway"));
  EXPECT_THAT(all, HasSubstr("HTTP route cannot contain both route and redirect"));
  EXPECT_THAT(all, HasSubstr("httpStatus must be in range 200 - 599"));
  EXPECT_THAT(all, HasSubstr("weight must not be negative"));
  EXPECT_THAT(all, HasSubstr("spec.http[1].timeout: expected a duration string"));
}

TEST(Loader, LocateFindsFieldsByPath) {
  auto l = load(R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports:
  - name: http
    port: 80
  - name: tcp
    port: 81
)");
  ASSERT_EQ(l.rs.services.size(), 1u);
  Location loc = locate(l.rs.services[0], "spec.ports[1].port");
  EXPECT_EQ(loc.line, 9u);
  EXPECT_EQ(loc.column, 5u);
  EXPECT_EQ(locate(l.rs.services[0], "spec.nothing").line, 4u) << "falls back to the deepest existing ancestor";
}

TEST(Loader, ReadsStdinAndDirectoriesRecursively) {
  std::istringstream in("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: from-stdin}\n");
  LoadResult r = load_paths({"-"}, &in);
  ASSERT_EQ(r.resources.service_accounts.size(), 1u);
  EXPECT_EQ(*r.resources.service_accounts[0].source.location.file, "<stdin>");
  LoadResult missing = load_paths({"/nonexistent/meshsim/path"});
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_EQ(missing.diagnostics[0].code, "MS0005");
}

TEST(Loader, RegexSyntaxIsCheckedWithoutCompiling) {
  using detail::check_re2_syntax;
  EXPECT_EQ(check_re2_syntax("/api/v[0-9]+/.*"), "");
  EXPECT_EQ(check_re2_syntax("(?i)^/a(b|c){2,3}$"), "");
  EXPECT_EQ(check_re2_syntax("a{,5}"), "") << "not a counted repetition: literal";
  EXPECT_NE(check_re2_syntax("/api/(v1|v2"), "");
  EXPECT_NE(check_re2_syntax("*abc"), "");
  EXPECT_NE(check_re2_syntax("[abc"), "");
  EXPECT_NE(check_re2_syntax("(a{1000}){1001}"), "");
  EXPECT_NE(check_re2_syntax(std::string(2000, 'a')), "");
}

TEST(Loader, CreationTimestampIsParsed) {
  auto l = load("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  creationTimestamp: \"2024-01-02T03:04:05Z\"\n");
  ASSERT_EQ(l.rs.service_accounts.size(), 1u);
  EXPECT_EQ(*l.rs.service_accounts[0].meta.creation_timestamp, 1704164645);
}

}  // namespace
}  // namespace meshsim::mesh
