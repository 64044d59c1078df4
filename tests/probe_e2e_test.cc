// End-to-end tests of `meshsim probe` through the executable: the security
// questions of istio.io's FAQ and mTLS migration task answered from the CLI
// (JSON output checked field by field), and a capture of a probe checked with
// tshark — the ClientHello carries Istio's ALPN and SNI, and the key log lets
// tshark decrypt the HTTP inside the mTLS.
//
// Expected answers and their sources:
//  * legacy (no sidecar) → PERMISSIVE server: works in plaintext; sidecar →
//    server: mTLS with ALPN istio-http/1.1,istio,http/1.1 and SNI
//    outbound_.<port>_._.<fqdn> (istio.io mtls-migration; ISTIO_BEHAVIOR.md §2.1);
//  * legacy → STRICT server: "000 / exit code 56" (istio.io authentication
//    task; curl: (56) Recv failure: Connection reset by peer);
//  * plaintext MySQL client → PERMISSIVE MySQL: ERROR 2013 … 'reading
//    initial communication packet' (FAQ "MySQL with mutual TLS"; §3.5);
//  * client sidecar → a port excluded from inbound capture: the client still
//    sends mTLS (FAQ "excludeInboundPorts"), so the plaintext app fails the
//    handshake and the client gets Envoy's 503.
#include <gtest/gtest.h>

#include "tests/shell_run.h"
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

using ShellRun = meshsim::testing::ShellRun;
ShellRun sh(const std::string& cmd) { return meshsim::testing::run_shell(cmd); }

std::string mesh_dir() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return std::string(s ? s : ".") + "/tests/data/security-faq";
}

nlohmann::json probe(const std::string& args, int expect_code = 0) {
  ShellRun r = sh("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe --mesh " + mesh_dir() + " " + args +
             " -o json 2>/dev/null");
  EXPECT_EQ(r.exit_code, expect_code) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

TEST(ProbeCli, JsonHasEveryDocumentedField) {
  auto j = probe("--from foo/sleep --to httpbin.foo:8000");
  for (const char* k : {"outcome", "http_status", "client_error", "elapsed_ms", "client_sidecar", "server_sidecar",
                        "wire", "from", "to", "fingerprint"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  for (const char* k : {"listener", "filter_chain", "route", "cluster", "tls_mode", "response_flags"}) {
    EXPECT_TRUE(j["client_sidecar"].contains(k)) << k;
  }
  for (const char* k : {"listener", "filter_chain", "virtual_host", "route", "cluster", "result", "response_flags",
                        "tls_termination"}) {
    EXPECT_TRUE(j["server_sidecar"].contains(k)) << k;
  }
  for (const char* k : {"tls", "mtls", "alpn", "sni", "client_identity", "server_identity"}) {
    EXPECT_TRUE(j["wire"].contains(k)) << k;
  }
}

// "Is the traffic between my sidecars mutual TLS?"
TEST(ProbeCli, SidecarToSidecarIsIstioMutualTls) {
  auto j = probe("--from foo/sleep --to httpbin.foo:8000 --path /headers");
  EXPECT_EQ(j["outcome"], "ok");
  EXPECT_EQ(j["http_status"], 200);
  EXPECT_EQ(j["client_sidecar"]["listener"], "0.0.0.0_8000");
  EXPECT_EQ(j["client_sidecar"]["route"], "default");
  EXPECT_EQ(j["client_sidecar"]["cluster"], "outbound|8000||httpbin.foo.svc.cluster.local");
  EXPECT_EQ(j["client_sidecar"]["tls_mode"], "ISTIO_MUTUAL");
  EXPECT_EQ(j["server_sidecar"]["listener"], "virtualInbound");
  EXPECT_EQ(j["server_sidecar"]["filter_chain"], "0.0.0.0_8080");
  EXPECT_EQ(j["server_sidecar"]["virtual_host"], "inbound|http|8000");
  EXPECT_EQ(j["server_sidecar"]["cluster"], "inbound|8080||");
  EXPECT_EQ(j["server_sidecar"]["result"], "ok");
  EXPECT_EQ(j["wire"]["tls"], true);
  EXPECT_EQ(j["wire"]["mtls"], true);
  EXPECT_EQ(j["wire"]["sni"], "outbound_.8000_._.httpbin.foo.svc.cluster.local");
  EXPECT_EQ(j["wire"]["alpn_offered"], nlohmann::json::array({"istio-http/1.1", "istio", "http/1.1"}));
  EXPECT_EQ(j["wire"]["client_identity"], "spiffe://cluster.local/ns/foo/sa/sleep");
  EXPECT_EQ(j["wire"]["server_identity"], "spiffe://cluster.local/ns/foo/sa/httpbin");
}

// "Can clients without a sidecar still reach a PERMISSIVE service?" — yes, in plaintext.
TEST(ProbeCli, LegacyClientReachesPermissiveServiceInPlaintext) {
  auto j = probe("--from legacy/sleep --to httpbin.foo:8000");
  EXPECT_EQ(j["outcome"], "ok");
  EXPECT_TRUE(j["client_sidecar"].is_null());
  EXPECT_EQ(j["server_sidecar"]["tls_termination"], "none");
  EXPECT_EQ(j["wire"]["tls"], false);
}

// "What happens to clients without a sidecar under STRICT?" — 000, exit code 56.
TEST(ProbeCli, LegacyClientIsResetByStrictService) {
  auto j = probe("--from legacy/sleep --to httpbin.bar:8000 --expect reset");
  EXPECT_EQ(j["outcome"], "reset");
  EXPECT_EQ(j["http_status"], 0);
  EXPECT_EQ(j["client_error"], "curl: (56) Recv failure: Connection reset by peer");
  EXPECT_EQ(j["server_sidecar"]["result"], "no_filter_chain");
  EXPECT_EQ(j["server_sidecar"]["filter_chain"], "");
  // --expect turns a different outcome into exit code 1.
  probe("--from legacy/sleep --to httpbin.bar:8000 --expect ok", 1);
}

// FAQ "MySQL with mutual TLS": PERMISSIVE breaks plaintext MySQL clients.
TEST(ProbeCli, PlaintextMysqlClientOfPermissiveServerGetsError2013) {
  auto j = probe("--from legacy/sleep --to mysqldb.foo:3306 --protocol mysql --timeout 5s");
  EXPECT_EQ(j["outcome"], "timeout");
  EXPECT_EQ(j["client_error"],
            "ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet', "
            "system error: 0");
  EXPECT_EQ(j["server_sidecar"]["result"], "inspecting");
  EXPECT_NEAR(j["elapsed_ms"].get<double>(), 5000.0, 1.0);
  auto mesh = probe("--from foo/sleep --to mysqldb.foo:3306 --protocol mysql");
  EXPECT_EQ(mesh["outcome"], "ok");
  EXPECT_EQ(mesh["wire"]["mtls"], true);
  EXPECT_EQ(mesh["wire"]["alpn_offered"], nlohmann::json::array({"istio-peer-exchange", "istio"}));
}

// FAQ "Does auto mutual TLS exclude ports set using excludeInboundPorts?" — no.
TEST(ProbeCli, ExcludedInboundPortStillGetsMtlsFromTheClient) {
  auto j = probe("--from foo/sleep --to httpbin-excluded.bar:8000");
  EXPECT_EQ(j["outcome"], "http_error");
  EXPECT_EQ(j["http_status"], 503);
  EXPECT_EQ(j["client_sidecar"]["tls_mode"], "ISTIO_MUTUAL");
  EXPECT_TRUE(j["server_sidecar"].is_null());
  EXPECT_EQ(j["wire"]["tls"], true);
  EXPECT_NE(j["client_sidecar"]["response_flags"].get<std::string>().find("UF"), std::string::npos);
}

// The capture: real TLS bytes on the wire that tshark parses, decrypted with
// the key log (NSS format, SSLKEYLOGFILE).
TEST(ProbeCli, PcapAndKeylogShowIstioAlpnAndTheDecryptedRequest) {
  fs::path dir = fs::temp_directory_path() / ("meshsim-probe-pcap-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string pcap = (dir / "wire.pcap").string(), keys = (dir / "keys.log").string();
  auto j = probe("--from foo/sleep --to httpbin.foo:8000 --path /headers --pcap " + pcap + " --keylog " + keys);
  EXPECT_EQ(j["outcome"], "ok");
  ASSERT_TRUE(fs::exists(pcap));
  ASSERT_TRUE(fs::exists(keys));
  std::string tshark = "tshark -n -r " + pcap + " -o tls.keylog_file:" + keys + " -d tcp.port==8080,tls ";
  ShellRun hello = sh(tshark + "-Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_alpn_str "
                          "-e tls.handshake.extensions_server_name 2>/dev/null");
  ASSERT_EQ(hello.exit_code, 0);
  EXPECT_EQ(hello.out, "istio-http/1.1,istio,http/1.1\toutbound_.8000_._.httpbin.foo.svc.cluster.local\n");
  ShellRun http = sh(tshark + "-Y http -T fields -e http.request.method -e http.request.uri -e http.response.code "
                         "-e http.host 2>/dev/null");
  ASSERT_EQ(http.exit_code, 0);
  // Exactly one request and its response, decrypted from the mTLS records
  // between the two sidecars (the app-to-sidecar legs are on loopback inside
  // each pod and not on the wire).
  EXPECT_EQ(http.out, "GET\t/headers\t\thttpbin.foo:8000\n\t\t200\t\n") << http.out;
  ShellRun version = sh(tshark + "-Y 'tls.handshake.type==2' -T fields -e tls.handshake.extensions.supported_version "
                            "2>/dev/null");
  EXPECT_EQ(version.out, "0x0304\n");  // TLS 1.3 negotiated
  fs::remove_all(dir);
}

// Istio's tcp-echo sample: the server prefixes each line with its second
// argument ("hello") and listens on every port of the first argument —
// 9002 too, which neither the container nor the Service declares.
nlohmann::json probe_tcp_echo(const std::string& args) {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  std::string samples = std::string(s ? s : ".") + "/tests/data/istio-samples";
  ShellRun r = sh("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe --mesh " + samples +
                  "/tcp-echo/tcp-echo.yaml --mesh " + samples + "/curl/curl.yaml --from default/curl --protocol tcp " +
                  args + " -o json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

TEST(ProbeCli, IstioTcpEchoSampleAnswersEachLineWithItsPrefix) {
  auto j = probe_tcp_echo("--to tcp-echo:9000 --payload 'world\\n'");
  EXPECT_EQ(j["outcome"], "ok") << j.dump(2);
  EXPECT_EQ(j["response_body"], "hello world\n");
  EXPECT_EQ(j["client_error"], "");
  // Two lines in one write: two answers.
  j = probe_tcp_echo("--to tcp-echo:9001 --payload 'a\\nb\\n'");
  EXPECT_EQ(j["outcome"], "ok") << j.dump(2);
  EXPECT_EQ(j["response_body"], "hello a\nhello b\n");
  // The undeclared port 9002 is served too (by pod IP: no Service has it).
  j = probe_tcp_echo("--to default/tcp-echo:9002 --payload 'x\\n'");
  EXPECT_EQ(j["outcome"], "ok") << j.dump(2);
  EXPECT_EQ(j["response_body"], "hello x\n");
  // No newline: the server is still reading the line; the client times out.
  j = probe_tcp_echo("--to tcp-echo:9000 --payload world --timeout 2s");
  EXPECT_EQ(j["outcome"], "timeout") << j.dump(2);
  EXPECT_EQ(j["response_body"], "");
}

// --pcap-pod takes a workload name like --from does: the capture is of its
// first pod, here the client's own namespace (the app → sidecar hop on lo).
TEST(ProbeCli, PcapPodAcceptsAWorkloadName) {
  fs::path dir = fs::temp_directory_path() / ("meshsim-probe-pod-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string file = (dir / "sleep.pcap").string();
  ShellRun r = sh("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe --mesh " + mesh_dir() +
                  " --from foo/sleep --to httpbin.foo:8000 --pcap-pod foo/sleep=" + file + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  ShellRun t = sh("tcpdump -nr " + file + " 2>/dev/null | grep -c '127.0.0.1.15001'");
  EXPECT_GT(std::atoi(t.out.c_str()), 0) << t.out;  // the app's connection to the outbound listener
  fs::remove_all(dir);
}

// A client outside the mesh speaking mTLS itself (a mesh certificate, as
// Istio's simulation Call{TLS: MTLS}): both identities are on the wire — its
// own, which the server sidecar verified, and the one the server presented.
TEST(ProbeCli, ExternalMtlsClientSeesBothIdentities) {
  auto j = probe("--from external --to httpbin.foo:8000 --client-tls mtls");
  EXPECT_EQ(j["outcome"], "ok") << j.dump(2);
  EXPECT_EQ(j["wire"]["mtls"], true) << j.dump(2);
  EXPECT_EQ(j["wire"]["client_identity"], "spiffe://cluster.local/ns/external/sa/default");
  EXPECT_EQ(j["wire"]["server_identity"], "spiffe://cluster.local/ns/foo/sa/httpbin");
}

// A name the cluster DNS does not know: no connection, each client's own
// resolver error.
TEST(ProbeCli, UnknownNameIsADnsErrorInEachClientsWords) {
  auto j = probe("--from foo/sleep --to nosuch.foo:8000");
  EXPECT_EQ(j["outcome"], "dns_error") << j.dump(2);
  EXPECT_EQ(j["client_error"], "curl: (6) Could not resolve host: nosuch.foo");
  j = probe("--from foo/sleep --to nosuch:3306 --protocol mysql");
  EXPECT_EQ(j["outcome"], "dns_error") << j.dump(2);
  EXPECT_EQ(j["client_error"], "ERROR 2005 (HY000): Unknown MySQL server host 'nosuch' (-2)");
  j = probe("--from foo/sleep --to nosuch:9000 --protocol tcp");
  EXPECT_EQ(j["client_error"], "nc: getaddrinfo for host \"nosuch\" port 9000: Name or service not known");
  EXPECT_EQ(j["wire"], nullptr);  // nothing left the pod
}

// curl -H 'Host: …' replaces curl's own Host header, and the client sidecar
// routes by it (ISTIO_BEHAVIOR.md §3.4): an address no Service owns, with
// Host httpbin.foo, reaches httpbin through its cluster.
TEST(ProbeCli, HostHeaderReplacesCurlsAndRoutes) {
  auto j = probe("--from foo/sleep --to 1.2.3.4:8000 --path /headers -H 'Host: httpbin.foo'");
  EXPECT_EQ(j["outcome"], "ok") << j.dump(2);
  EXPECT_EQ(j["client_sidecar"]["cluster"], "outbound|8000||httpbin.foo.svc.cluster.local") << j.dump(2);
  // go-httpbin's /headers: one Host header only, the one the client set.
  auto app = nlohmann::json::parse(std::string(j["response_body"]));
  EXPECT_EQ(app["headers"]["Host"], nlohmann::json::array({"httpbin.foo"})) << app.dump();
}

}  // namespace
