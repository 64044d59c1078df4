// End-to-end tests of ingress through `meshsim probe` and `meshsim
// proxy-config` (the executable): Istio's Bookinfo gateway sample from an
// external client, the secure-ingress task (TLS only: httpsRedirect 301,
// SIMPLE and MUTUAL with real certificates from Secret manifests), and the
// FAQ's Kubernetes Ingress examples.
//
// Expected answers and their sources (docs/model/ingress.md):
//  * the gateway listens on the Service's targetPort: Gateway port 8080 →
//    listener 0.0.0.0_8080, route http.8080 (I:pilot/pkg/model/gateway.go
//    resolvePorts, gatewayRDSRouteName); HTTPS 443 → 0.0.0.0_8443, route
//    https.443.https.bookinfo-gateway.default;
//  * the gateway → productpage hop is Istio mTLS (auto mTLS, as a sidecar);
//  * an unmatched host or path is 404 NR (I:pilot/pkg/networking/core/gateway.go);
//  * httpsRedirect answers 301 to https://<host><path> (Envoy require_tls ALL);
//  * the FAQ: "simple-ingress" works for example.com/helloworld; in
//    "this-will-not-work" the regex is literal, so /helloworld is 404.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/shell_run.h"

namespace {

using ShellRun = meshsim::testing::ShellRun;
ShellRun sh(const std::string& cmd) { return meshsim::testing::run_shell(cmd); }

std::string src() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return std::string(s ? s : ".");
}
std::string data(const std::string& p) { return src() + "/tests/data/" + p; }

const std::string kBookinfo = "--mesh " + data("istio-samples/bookinfo/platform/kube/bookinfo.yaml") +
                              " --inject-namespace default";

struct Probe {
  int code = 0;
  nlohmann::json j;
  std::string err;
};

// A file of this process's own (ctest runs the cases in parallel processes).
std::string temp_file(const std::string& what) {
  return (std::filesystem::temp_directory_path() / ("meshsim-ingress-" + std::to_string(::getpid()) + "-" + what)).string();
}

Probe probe(const std::string& args) {
  std::string err = temp_file("probe.err");
  ShellRun r = sh("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe " + args + " -o json 2>" + err);
  Probe p;
  p.code = r.exit_code;
  p.j = nlohmann::json::parse(r.out, nullptr, false);
  std::ifstream f(err);
  p.err.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  std::filesystem::remove(err);
  return p;
}

std::string header(const nlohmann::json& j, const std::string& name) {
  for (const auto& h : j["response_headers"])
    if (h["name"] == name) return h["value"];
  return "";
}

TEST(IngressGateway, BookinfoSampleReachesProductpageFromOutside) {
  Probe p = probe(kBookinfo + " --mesh " + data("istio-samples/bookinfo/networking/bookinfo-gateway.yaml") +
                  " --from external --to bookinfo.example.com:80 --via ingress --path /productpage");
  ASSERT_EQ(p.code, 0) << p.err;
  ASSERT_FALSE(p.j.is_discarded());
  EXPECT_EQ(p.j["outcome"], "ok");
  EXPECT_EQ(p.j["http_status"], 200);
  // No gateway deployment in the input: Istio's default one runs, and the output says so.
  EXPECT_NE(p.err.find("no ingress gateway deployment (a pod labelled istio=ingressgateway) in the input: meshsim runs "
                       "Istio's default one, istio-system/istio-ingressgateway"),
            std::string::npos)
      << p.err;
  EXPECT_NE(p.j["to"].get<std::string>().find("istio-system/istio-ingressgateway at 172.18.255.200:80"), std::string::npos);
  const auto& g = p.j["gateway"];
  EXPECT_EQ(g["pod"].get<std::string>().rfind("istio-system/istio-ingressgateway-", 0), 0u) << g;
  EXPECT_EQ(g["listener"], "0.0.0.0_8080");
  EXPECT_EQ(g["route_config"], "http.8080");
  EXPECT_EQ(g["virtual_host"], "*:8080");
  EXPECT_EQ(g["cluster"], "outbound|9080||productpage.default.svc.cluster.local");
  EXPECT_EQ(g["upstream_tls_mode"], "ISTIO_MUTUAL");
  // productpage's sidecar got the gateway's request over mTLS.
  EXPECT_EQ(p.j["server_sidecar"]["pod"].get<std::string>().rfind("default/productpage-v1-", 0), 0u);
  EXPECT_EQ(p.j["server_sidecar"]["tls_termination"], "mtls");
  // productpage called details and reviews (→ ratings) through its sidecar.
  EXPECT_NE(p.j["response_body"].get<std::string>().find("details:9080/details/0 200"), std::string::npos);
  EXPECT_EQ(p.j["wire"]["dst"], "10.244.0.4:8080");  // kube LB → the gateway pod's targetPort
}

TEST(IngressGateway, ANodePortGatewayIsReachedOnANodesAddress) {
  Probe p = probe(kBookinfo + " --mesh " + data("istio-samples/bookinfo/networking/bookinfo-gateway.yaml") + " --mesh " +
                  data("ingress/istio-ingressgateway-nodeport.yaml") +
                  " --from external --to bookinfo.example.com:80 --via ingress --path /productpage");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(p.j["http_status"], 200);
  EXPECT_EQ(p.err.find("no ingress gateway deployment"), std::string::npos) << "the input has one: " << p.err;
  std::string to = p.j["to"];
  EXPECT_NE(to.find(":30080 (NodePort)"), std::string::npos) << to;
  EXPECT_EQ(p.j["gateway"]["listener"], "0.0.0.0_8080");
}

TEST(IngressGateway, UnmatchedPathAndHostAre404AtTheGateway) {
  std::string mesh = kBookinfo + " --mesh " + data("istio-samples/bookinfo/networking/bookinfo-gateway.yaml");
  Probe path = probe(mesh + " --from external --to bookinfo.example.com:80 --via ingress --path /nothing");
  ASSERT_EQ(path.code, 0) << path.err;
  EXPECT_EQ(path.j["http_status"], 404);
  EXPECT_EQ(path.j["gateway"]["result"], "no_route");
  EXPECT_EQ(path.j["gateway"]["response_flags"], "NR");
  EXPECT_TRUE(path.j["server_sidecar"].is_null());

  Probe host = probe(kBookinfo + " --mesh " + data("ingress/bookinfo-https-gateway.yaml") + " --mesh " +
                     data("ingress/bookinfo-credential.yaml") +
                     " --from external --to other.example.com:80 --via ingress --path /productpage");
  ASSERT_EQ(host.code, 0) << host.err;
  EXPECT_EQ(host.j["http_status"], 404);
  EXPECT_EQ(host.j["gateway"]["result"], "no_virtual_host");
}

TEST(IngressGateway, TlsOnlyIngressRedirectsPlaintextAndServesTls) {
  std::string mesh = kBookinfo + " --mesh " + data("ingress/bookinfo-https-gateway.yaml") + " --mesh " +
                     data("ingress/bookinfo-credential.yaml");
  Probe plain = probe(mesh + " --from external --to bookinfo.example.com:80 --via ingress --path /productpage");
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.j["http_status"], 301);
  EXPECT_EQ(header(plain.j, "location"), "https://bookinfo.example.com/productpage");
  EXPECT_EQ(plain.j["gateway"]["route_config"], "http.8080");
  EXPECT_TRUE(plain.j["server_sidecar"].is_null());  // never reached productpage

  Probe tls = probe(mesh + " --from external --to bookinfo.example.com:443 --via ingress --path /productpage"
                           " --client-tls tls --cacert " + data("ingress/example-ca.crt"));
  ASSERT_EQ(tls.code, 0) << tls.err;
  EXPECT_EQ(tls.j["outcome"], "ok");
  EXPECT_EQ(tls.j["http_status"], 200);
  EXPECT_EQ(tls.j["gateway"]["listener"], "0.0.0.0_8443");
  EXPECT_EQ(tls.j["gateway"]["route_config"], "https.443.https.bookinfo-gateway.default");
  EXPECT_EQ(tls.j["gateway"]["tls_termination"], "tls");
  EXPECT_EQ(tls.j["wire"]["tls"], true);
  EXPECT_EQ(tls.j["wire"]["mtls"], false);
  EXPECT_EQ(tls.j["wire"]["sni"], "bookinfo.example.com");
  EXPECT_EQ(tls.j["server_sidecar"]["tls_termination"], "mtls");

  // The client verifies the gateway's certificate: another CA refuses it.
  Probe wrong_ca = probe(mesh + " --from external --to bookinfo.example.com:443 --via ingress --path /productpage"
                                " --client-tls tls --cacert " + data("ingress/other-ca.crt"));
  ASSERT_EQ(wrong_ca.code, 0) << wrong_ca.err;
  EXPECT_EQ(wrong_ca.j["outcome"], "tls_error");

  // Plaintext on the TLS port matches no filter chain (SNI bookinfo.example.com, TLS only).
  Probe plain443 = probe(mesh + " --from external --to bookinfo.example.com:443 --via ingress --path /productpage");
  ASSERT_EQ(plain443.code, 0) << plain443.err;
  EXPECT_NE(plain443.j["outcome"], "ok");
  EXPECT_EQ(plain443.j["gateway"]["result"], "no_filter_chain");
}

TEST(IngressGateway, MutualTlsAtTheGatewayRequiresAClientCertificateOfTheCa) {
  std::string mesh = kBookinfo + " --mesh " + data("ingress/bookinfo-mtls-gateway.yaml") + " --mesh " +
                     data("ingress/bookinfo-credential.yaml");
  std::string to = " --from external --to bookinfo.example.com:443 --via ingress --path /productpage --client-tls tls"
                   " --cacert " + data("ingress/example-ca.crt");
  Probe none = probe(mesh + to);
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(none.j["outcome"], "tls_error");
  EXPECT_EQ(none.j["gateway"]["result"], "mtls_error");

  Probe good = probe(mesh + to + " --cert " + data("ingress/client.example.com.crt") + " --key " +
                     data("ingress/client.example.com.key"));
  ASSERT_EQ(good.code, 0) << good.err;
  EXPECT_EQ(good.j["http_status"], 200);
  EXPECT_EQ(good.j["gateway"]["tls_termination"], "mtls");
  EXPECT_EQ(good.j["wire"]["mtls"], true);

  Probe other = probe(mesh + to + " --cert " + data("ingress/other-client.crt") + " --key " +
                      data("ingress/other-client.key"));
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_EQ(other.j["outcome"], "tls_error");
  EXPECT_EQ(other.j["gateway"]["result"], "tls_error");
}

TEST(IngressGateway, ProxyConfigShowsTheGatewaysListenersRoutesAndSecrets) {
  std::string mesh = kBookinfo + " --mesh " + data("ingress/bookinfo-https-gateway.yaml") + " --mesh " +
                     data("ingress/bookinfo-credential.yaml");
  std::string pc = std::string(MESHSIM_EXE) + " proxy-config ";
  ShellRun l = sh(pc + "listener istio-system/istio-ingressgateway " + mesh + " -o json 2>/dev/null");
  ASSERT_EQ(l.exit_code, 0) << l.out;
  auto lj = nlohmann::json::parse(l.out, nullptr, false);
  ASSERT_FALSE(lj.is_discarded()) << l.out;
  std::set<std::string> names;
  for (const auto& x : lj) names.insert(x["name"].get<std::string>());
  EXPECT_TRUE(names.count("0.0.0.0_8080")) << l.out;
  EXPECT_TRUE(names.count("0.0.0.0_8443")) << l.out;
  EXPECT_FALSE(names.count("virtualOutbound")) << "a gateway has no capture listeners";
  EXPECT_NE(l.out.find("kubernetes://bookinfo-credential"), std::string::npos);
  EXPECT_NE(l.out.find("bookinfo.example.com"), std::string::npos);  // the SNI match

  ShellRun r = sh(pc + "route istio-system/istio-ingressgateway " + mesh + " --name http.8080 -o json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"require_tls\": \"ALL\""), std::string::npos) << r.out;

  ShellRun s = sh(pc + "secret istio-system/istio-ingressgateway " + mesh + " 2>/dev/null");
  ASSERT_EQ(s.exit_code, 0) << s.out;
  EXPECT_NE(s.out.find("kubernetes://bookinfo-credential"), std::string::npos) << s.out;
  // SIMPLE validates no client certificate: the Secret's ca.crt is not served.
  EXPECT_EQ(s.out.find("kubernetes://bookinfo-credential-cacert"), std::string::npos) << s.out;
  ShellRun m = sh(pc + "secret istio-system/istio-ingressgateway " + kBookinfo + " --mesh " +
                  data("ingress/bookinfo-mtls-gateway.yaml") + " --mesh " + data("ingress/bookinfo-credential.yaml") +
                  " 2>/dev/null");
  EXPECT_NE(m.out.find("kubernetes://bookinfo-credential-cacert"), std::string::npos) << m.out;
}

TEST(IngressGateway, ABrokenSecretIsBadInputWithItsLocation) {
  std::string file = temp_file("bad-secret.yaml");
  {
    std::ofstream f(file);
    f << "apiVersion: v1\nkind: Secret\nmetadata: {name: bad, namespace: istio-system}\ndata:\n  tls.crt: \"%%not base64\"\n";
  }
  ShellRun r = sh(std::string(MESHSIM_EXE) + " probe " + kBookinfo + " --mesh " + file +
                  " --from external --to productpage:9080 2>&1");
  std::filesystem::remove(file);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("bad-secret.yaml:5:12"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data.tls.crt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("base64"), std::string::npos) << r.out;
}

// ---- the FAQ: "Can I use standard Ingress specification without any route rules?" ----

const std::string kFaq = "--mesh " + data("ingress/faq/myservice.yaml");

TEST(KubernetesIngress, SimpleIngressWorksWithoutRouteRules) {
  std::string mesh = kFaq + " --mesh " + data("ingress/faq/simple-ingress.yaml");
  Probe ok = probe(mesh + " --from external --to example.com:80 --via ingress --path /helloworld");
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.j["http_status"], 200);
  EXPECT_EQ(ok.j["gateway"]["route_config"], "http.8080");
  EXPECT_EQ(ok.j["gateway"]["virtual_host"], "example.com:80");
  EXPECT_EQ(ok.j["gateway"]["cluster"], "outbound|8000||myservice.default.svc.cluster.local");
  // Prefix is a path-separated prefix (Kubernetes Ingress semantics).
  Probe sub = probe(mesh + " --from external --to example.com:80 --via ingress --path /helloworld/en");
  EXPECT_EQ(sub.j["http_status"], 200);
  Probe longer = probe(mesh + " --from external --to example.com:80 --via ingress --path /helloworldx");
  EXPECT_EQ(longer.j["http_status"], 404);
  Probe other = probe(mesh + " --from external --to other.com:80 --via ingress --path /helloworld");
  EXPECT_EQ(other.j["http_status"], 404);
}

TEST(KubernetesIngress, ThisWillNotWorkMatchesTheRegexLiterally) {
  std::string mesh = kFaq + " --mesh " + data("ingress/faq/this-will-not-work.yaml");
  Probe p = probe(mesh + " --from external --to example.com:80 --via ingress --path /helloworld/");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(p.j["http_status"], 404);
  EXPECT_EQ(p.j["gateway"]["result"], "no_route");
  // analyze names both reasons.
  ShellRun a = sh(std::string(MESHSIM_EXE) + " analyze " + data("ingress/faq/myservice.yaml") + " " +
                  data("ingress/faq/this-will-not-work.yaml") + " 2>&1");
  EXPECT_NE(a.out.find("MS0114"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("regular expression"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("ingress.kubernetes.io/rewrite-target"), std::string::npos) << a.out;
}

TEST(KubernetesIngress, IngressClassNameTlsAndImplementationSpecificPaths) {
  std::string mesh = kFaq + " --mesh " + data("ingress/faq/ingress-class.yaml") + " --mesh " +
                     data("ingress/faq/shop-credential.yaml");
  std::string tls = " --client-tls tls --cacert " + data("ingress/example-ca.crt") + " --sni shop.example.com";
  Probe api = probe(mesh + " --from external --to shop.example.com:443 --via ingress --path /api/items" + tls);
  ASSERT_EQ(api.code, 0) << api.err;
  EXPECT_EQ(api.j["http_status"], 200) << api.j;
  EXPECT_EQ(api.j["gateway"]["route_config"], "https.443.https-443-ingress-by-class-default-0.by-class-istio-autogenerated-k8s-ingress-default.istio-system");
  // "/index.html": a "." makes it exact — /index.html matches, /index.htmlx does not.
  Probe exact = probe(mesh + " --from external --to shop.example.com:443 --via ingress --path /index.html" + tls);
  EXPECT_EQ(exact.j["http_status"], 200);
  Probe not_exact = probe(mesh + " --from external --to shop.example.com:443 --via ingress --path /index.htmlx" + tls);
  EXPECT_EQ(not_exact.j["http_status"], 404);
  // Plain HTTP on port 80 is served too (the converted Gateway has an HTTP server for "*").
  Probe http = probe(mesh + " --from external --to shop.example.com:80 --via ingress --path /api/x");
  EXPECT_EQ(http.j["http_status"], 200);
}

}  // namespace
