// Issue 11 in mesh/: what a typo in a manifest turns into (the closest kind or
// apiVersion, the closest field; errors under strict decoding), Helm charts
// recognised before they are parsed, and --inject-namespace's effect on the
// injection decision and the analyzers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mesh/analyzers.h"
#include "mesh/decoder.h"
#include "mesh/loader.h"
#include "mesh/tests/test_util.h"

namespace meshsim::mesh {
namespace {

using ::testing::HasSubstr;
using testing::dump;
using testing::load;
using testing::Loaded;
using testing::with_code;

TEST(Suggestions, MisspeltKindNamesTheClosestKnownKind) {
  auto l = load("apiVersion: security.istio.io/v1\nkind: PeerAuthenticaton\nmetadata: {name: p}\nspec: {}\n");
  auto w = with_code(l.diags, "MS0004");
  ASSERT_EQ(w.size(), 1u) << dump(l.diags);
  EXPECT_EQ(w[0].severity, Severity::kWarning);
  EXPECT_THAT(w[0].message, HasSubstr("unknown kind \"PeerAuthenticaton\" (apiVersion security.istio.io/v1); ignored (did "
                                      "you mean \"PeerAuthentication\"?)"));
  auto far = load("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n");
  ASSERT_EQ(with_code(far.diags, "MS0004").size(), 1u);
  EXPECT_THAT(with_code(far.diags, "MS0004")[0].message, ::testing::Not(HasSubstr("did you mean")));
}

TEST(Suggestions, MisspeltApiVersionNamesTheClosestServedOne) {
  auto l = load("apiVersion: securty.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p}\nspec: {}\n");
  auto e = with_code(l.diags, "MS0004");
  ASSERT_EQ(e.size(), 1u) << dump(l.diags);
  EXPECT_EQ(e[0].severity, Severity::kError);
  EXPECT_THAT(e[0].message, HasSubstr("(did you mean \"security.istio.io/v1\"?)"));
}

TEST(Suggestions, DecoderSuggestsTheClosestKeyAndIsStrictOnRequest) {
  auto parsed = parse_yaml_stream("keepalive: true\nzzz: 1\ntimeout: 1s\n", intern_file("t.yaml"));
  ASSERT_EQ(parsed.size(), 1u);
  for (bool strict : {false, true}) {
    std::vector<Diagnostic> diags;
    detail::Decoder d(diags, "Scenario t.yaml");
    d.set_strict_unknown_fields(strict);
    detail::PathSeg top;
    d.fields(parsed[0].doc->root(), top, {"keepAlive", "timeout"},
             [](std::string_view k, YamlNode, const detail::PathSeg&) { return k == "timeout"; });
    ASSERT_EQ(diags.size(), 2u) << dump(diags);
    EXPECT_EQ(diags[0].severity, strict ? Severity::kError : Severity::kWarning);
    EXPECT_EQ(diags[0].code, "MS0003");
    EXPECT_EQ(diags[0].format(), strict ? "t.yaml:1:1: Scenario t.yaml: keepalive: unknown field \"keepalive\" (did you mean \"keepAlive\"?)"
                                        : "t.yaml:1:1: Scenario t.yaml: keepalive: unknown field \"keepalive\" (ignored; did you mean \"keepAlive\"?)");
    EXPECT_THAT(diags[1].message, HasSubstr("valid here: keepAlive, timeout")) << "no close match: list the keys";
  }
}

class ChartDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("meshsim-chart-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                                     "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "templates");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::filesystem::path dir_;
};

TEST_F(ChartDir, ChartYamlMakesOneErrorAndNothingIsParsed) {
  write("Chart.yaml", "apiVersion: v2\nname: x\nversion: 0.1.0\n");
  write("templates/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: {{ .Release.Name }}}\n");
  LoadResult r = load_paths({dir_.string()});
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r.diagnostics);
  EXPECT_EQ(r.diagnostics[0].code, "MS0005");
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("helm template NAME " + dir_.string() + " | meshsim analyze -"));
  EXPECT_EQ(r.stats.files, 0u);
}

TEST_F(ChartDir, TemplatesThatBreakTheYamlMakeTheDirectoryAChartEvenWithoutChartYaml) {
  write("templates/svc.yaml", "{{- if .Values.enabled }}\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n{{- end }}\n");
  LoadResult r = load_paths({(dir_ / "templates").string()});
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r.diagnostics);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("has {{ }} template actions"));
}

TEST_F(ChartDir, TemplateTextInsideValidYamlIsData) {
  write("templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndata:\n  t: |\n    {{- if .Values.x }}\n    "
        "name: {{ .Release.Name }}\n");
  LoadResult r = load_paths({(dir_ / "templates").string()});
  EXPECT_FALSE(r.has_errors()) << dump(r.diagnostics);
  EXPECT_EQ(r.resources.config_maps.size(), 1u);
}

constexpr const char* kSample = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: i}]}
)";

TEST(InjectNamespaces, PodsOfANamedNamespaceGetSidecarsWithoutANamespaceObject) {
  Loaded l = load(kSample);
  MeshConfig mc = resolve_mesh_config(l.rs, l.diags);
  World plain = build_world(l.rs, mc, l.diags);
  ASSERT_EQ(plain.pods().size(), 1u);
  EXPECT_FALSE(plain.pods()[0].injected);
  auto findings = analyze_world(plain);
  EXPECT_EQ(with_code(findings, "MS0124").size(), 1u);

  mc.inject_namespaces = {"shop"};
  World w = build_world(l.rs, mc, l.diags);
  ASSERT_EQ(w.pods().size(), 1u);
  EXPECT_TRUE(w.pods()[0].injected);
  EXPECT_EQ(w.pods()[0].injection_reason,
            "namespace shop treated as labelled istio-injection=enabled (--inject-namespace)");
  EXPECT_TRUE(with_code(analyze_world(w), "MS0124").empty());
}

TEST(InjectNamespaces, OverrideANamespaceObjectWithoutTheLabelAndSilenceMS0102) {
  Loaded l = load(std::string("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n") + kSample);
  MeshConfig mc = resolve_mesh_config(l.rs, l.diags);
  World plain = build_world(l.rs, mc, l.diags);
  EXPECT_EQ(with_code(analyze_world(plain), "MS0102").size(), 1u);
  mc.inject_namespaces = {"shop"};
  World w = build_world(l.rs, mc, l.diags);
  EXPECT_TRUE(w.pods()[0].injected);
  EXPECT_TRUE(with_code(analyze_world(w), "MS0102").empty());
}

}  // namespace
}  // namespace meshsim::mesh
