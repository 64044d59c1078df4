// Ambient mode through the `meshsim` executable (docs/model/ambient.md):
// enrolment (no sidecar, the sidecar wins when both are asked for), probes
// between ambient pods carried by the ztunnels over HBONE, L4
// AuthorizationPolicy and PeerAuthentication STRICT in ztunnel, the capture
// of an HBONE tunnel read by tshark with the key log (the oracle: TLS 1.3 to
// 15008 with ALPN h2, the workloads' SPIFFE certificates, an HTTP/2 CONNECT
// with the destination pod's address, 200, the app's HTTP/1.1 in DATA
// frames), and the ztunnel-failure scenario of the resilience suite.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/shell_run.h"

namespace {

namespace fs = std::filesystem;
using meshsim::testing::ShellRun;
ShellRun sh(const std::string& cmd) { return meshsim::testing::run_shell(cmd); }

std::string src(const std::string& f) { return std::string(MESHSIM_SOURCE_DIR) + "/" + f; }
std::string data(const std::string& f) { return src("tests/data/ambient/" + f); }
std::string exe() { return "timeout -s KILL 120 " + std::string(MESHSIM_EXE); }

ShellRun probe(const std::string& extra, const std::string& args) {
  return sh(exe() + " probe --mesh " + data("mesh.yaml") + extra + " " + args + " 2>&1");
}

TEST(AmbientCli, AmbientPodsHaveNoSidecarAndTheirNodesZtunnelServesThem) {
  ShellRun r = sh(exe() + " proxy-config all amb/sleep --mesh " + data("mesh.yaml") + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("amb/sleep is an ambient pod (namespace label istio.io/dataplane-mode=ambient)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("workload amb/sleep "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("identity spiffe://cluster.local/ns/amb/sa/sleep protocol HBONE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("workload amb/httpbin-1 "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("workload amb/httpbin-2 "), std::string::npos) << "httpbin-2 runs on node-2\n" << r.out;
  // Enrolment by pod label; a pod label `none` opts out of its namespace's ambient mode.
  ShellRun in = sh(exe() + " proxy-config all legacy/opted-in --mesh " + data("mesh.yaml") + " 2>&1");
  EXPECT_NE(in.out.find("legacy/opted-in is an ambient pod (pod label istio.io/dataplane-mode=ambient)"), std::string::npos)
      << in.out;
  ShellRun out = sh(exe() + " proxy-config all amb/opted-out --mesh " + data("mesh.yaml") + " 2>&1");
  EXPECT_EQ(out.out.find("is an ambient pod"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("amb/opted-out has no sidecar"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("pod label istio.io/dataplane-mode=none opts out of the namespace's ambient mode"),
            std::string::npos)
      << out.out;
  // A listener view of a ztunnel does not exist.
  ShellRun l = sh(exe() + " proxy-config listener amb/sleep --mesh " + data("mesh.yaml") + " 2>&1");
  EXPECT_EQ(l.exit_code, 2) << l.out;
  EXPECT_NE(l.out.find("a ztunnel is not Envoy"), std::string::npos) << l.out;
  // Labelled for both: the injector gives it a sidecar, istio-cni leaves it alone.
  ShellRun both = sh(exe() + " proxy-config listener both/sleep --mesh " + data("mesh.yaml") + " 2>&1");
  EXPECT_EQ(both.exit_code, 0) << both.out;
  EXPECT_EQ(both.out.find("is an ambient pod"), std::string::npos) << both.out;
  EXPECT_EQ(both.out.find("has no sidecar"), std::string::npos) << both.out;
  EXPECT_NE(both.out.find("15001"), std::string::npos) << both.out;
  EXPECT_NE(both.out.find("note: both/sleep is not in ambient mode: namespace label istio.io/dataplane-mode=ambient, but "
                          "the pod has a sidecar: istio-cni never enrols a pod with a sidecar"),
            std::string::npos)
      << both.out;
}

TEST(AmbientCli, ProbesAcrossNodesGoThroughBothZtunnels) {
  ShellRun r = probe("", "--from amb/sleep --to httpbin-2.amb:8000 --path /get --expect ok");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // Both ztunnels report: node-1's sends HBONE to httpbin-2's identity, node-2's delivers it.
  EXPECT_NE(r.out.find("(node-1) outbound HBONE amb/sleep → "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[spiffe://cluster.local/ns/amb/sa/httpbin]: CONNECT "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(node-2) inbound HBONE amb/httpbin-2 ← "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[spiffe://cluster.local/ns/amb/sa/sleep]: CONNECT → 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(":15008  TLS  ALPN offered [h2]"), std::string::npos) << r.out;
  // ambient → a pod without mesh: passthrough TCP; and back: plaintext into 15006.
  EXPECT_EQ(probe("", "--from amb/sleep --to web.legacy:8000 --expect ok").exit_code, 0);
  EXPECT_EQ(probe("", "--from legacy/client --to httpbin.amb:8000 --expect ok").exit_code, 0);
  // A sidecar to an ambient pod (plaintext: see docs/model/ambient.md).
  EXPECT_EQ(probe("", "--from side/sleep --to httpbin.amb:8000 --expect ok").exit_code, 0);
}

TEST(AmbientCli, ZtunnelEnforcesL4PolicyAndStrict) {
  std::string allow = " --mesh " + data("allow-sleep.yaml");
  EXPECT_EQ(probe(allow, "--from amb/sleep --to httpbin.amb:8000 --expect ok").exit_code, 0);
  // No identity on plaintext: the principal rule cannot match.
  ShellRun denied = probe(allow, "--from legacy/client --to httpbin.amb:8000 --expect reset");
  EXPECT_EQ(denied.exit_code, 0) << denied.out;
  // An HTTP attribute in an ALLOW rule: ztunnel omits the rule and denies everything.
  ShellRun l7 = probe(" --mesh " + data("allow-get.yaml"), "--from amb/sleep --to httpbin.amb:8000 --expect reset");
  EXPECT_EQ(l7.exit_code, 0) << l7.out;
  EXPECT_NE(l7.out.find("denied HBONE amb/httpbin-1 ← "), std::string::npos) << l7.out;
  EXPECT_NE(l7.out.find("RBAC: no ALLOW policy matched (amb/allow-get uses HTTP attributes, which ztunnel omits from "
                        "ALLOW rules: a waypoint is needed) → 401"),
            std::string::npos)
      << l7.out;
  ShellRun pc = sh(exe() + " proxy-config rbac amb/httpbin-1 --mesh " + data("mesh.yaml") + " --mesh " +
                   data("allow-get.yaml") + " 2>/dev/null");
  EXPECT_NE(pc.out.find("policy ALLOW amb/allow-get: 0 L4 rule(s) [ztunnel does not support HTTP attributes (found: methods)"),
            std::string::npos)
      << pc.out;
  std::string strict = " --mesh " + data("strict.yaml");
  EXPECT_EQ(probe(strict, "--from amb/sleep --to httpbin.amb:8000 --expect ok").exit_code, 0);
  ShellRun plain = probe(strict, "--from legacy/client --to httpbin.amb:8000 --expect reset");
  EXPECT_EQ(plain.exit_code, 0) << plain.out;
  EXPECT_NE(plain.out.find("plaintext rejected: DENY policy istio-system/istio_converted_static_strict"), std::string::npos)
      << plain.out;
}

TEST(AmbientCli, HboneCaptureDecodesInTshark) {
  fs::path dir = fs::temp_directory_path() / ("meshsim-ambient-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string pcap = (dir / "hbone.pcap").string(), keys = (dir / "keys.log").string();
  ShellRun r = sh(exe() + " run -q " + data("capture.yaml") + " --pcap " + pcap + " --keylog " + keys + " --json - 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string tshark = "tshark -n -r " + pcap + " -o tls.keylog_file:" + keys + " -d tcp.port==15008,tls ";
  // TLS to 15008, ALPN h2 offered and chosen, TLS 1.3.
  ShellRun hello = sh(tshark + "-Y 'tls.handshake.type==1 && tcp.dstport==15008' -T fields -e tls.handshake.extensions_alpn_str 2>/dev/null");
  EXPECT_EQ(hello.out, "h2\n") << hello.out;
  ShellRun shello = sh(tshark + "-Y 'tls.handshake.type==2' -T fields -e tls.handshake.extensions.supported_version 2>/dev/null");
  EXPECT_EQ(shello.out, "0x0304\n") << shello.out;
  // The certificates (decrypted TLS 1.3 handshake): the server presents the
  // destination workload's identity, the client (ztunnel) the source workload's.
  ShellRun sans = sh(tshark + "-Y 'tls.handshake.type==11' -T fields -e x509ce.uniformResourceIdentifier 2>/dev/null");
  EXPECT_EQ(sans.out, "spiffe://cluster.local/ns/amb/sa/httpbin\nspiffe://cluster.local/ns/amb/sa/sleep\n") << sans.out;
  // HTTP/2 CONNECT with the destination pod's address — the address the
  // HBONE connection itself goes to (port 15008) — answered 200.
  ShellRun dst = sh(tshark + "-Y 'tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==15008' -T fields -e ip.dst 2>/dev/null");
  std::string httpbin2 = dst.out.substr(0, dst.out.find('\n'));
  ASSERT_FALSE(httpbin2.empty()) << dst.out;
  EXPECT_EQ(dst.out, httpbin2 + "\n") << "one HBONE connection: " << dst.out;
  ShellRun connect = sh(tshark + "-Y 'http2.type==1 && http2.headers.method' -T fields -e http2.headers.method -e http2.headers.authority 2>/dev/null");
  EXPECT_EQ(connect.out, "CONNECT\t" + httpbin2 + ":8080\n") << connect.out;
  ShellRun status = sh(tshark + "-Y 'http2.headers.status' -T fields -e http2.headers.status 2>/dev/null");
  EXPECT_EQ(status.out, "200\n") << status.out;
  // The app's HTTP/1.1 request travels in DATA frames of that stream.
  ShellRun dataf = sh(tshark + "-Y 'http2.type==0 && http2.streamid==1' -T fields -e http2.data.data 2>/dev/null | head -1 | xxd -r -p | head -c 14");
  EXPECT_EQ(dataf.out, "GET /get HTTP/") << dataf.out;
  ShellRun malformed = sh(tshark + "-Y '_ws.malformed || _ws.expert.severity == error' 2>/dev/null | wc -l");
  EXPECT_EQ(malformed.out, "0\n") << malformed.out;
  fs::remove_all(dir);
}

TEST(AmbientCli, ZtunnelLossIsLimitedToItsNode) {
  ShellRun r = sh(exe() + " run " + src("conformance/suites/resilience/ztunnel-loss-one-node.yaml") + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("on node node-1 killed: ambient pods amb/httpbin-1, amb/sleep lose their connections"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("all 6 expectations passed"), std::string::npos) << r.out;
  // The event stream carries the ztunnels' decisions: HBONE outbound, and the
  // refused HBONE connect from node-2 to the dead ztunnel's pod.
  fs::path edir = fs::temp_directory_path() / ("meshsim-ambient-ev-" + std::to_string(::getpid()));
  fs::create_directories(edir);
  std::string events = (edir / "events.jsonl").string();
  ShellRun ev = sh(exe() + " run -q " + src("conformance/suites/resilience/ztunnel-loss-one-node.yaml") + " --events " +
                   events + " 2>&1");
  EXPECT_EQ(ev.exit_code, 0) << ev.out;
  ShellRun stopped = sh("grep -c '\"kind\":\"ztunnel.event\".*\"event\":\"stopped\"' " + events);
  EXPECT_EQ(stopped.out, "1\n") << stopped.out;
  ShellRun hbone = sh("grep '\"event\":\"outbound\"' " + events + " | grep -c '\"protocol\":\"HBONE\"'");
  EXPECT_NE(hbone.out, "0\n") << hbone.out;
  ShellRun refused = sh("grep '\"event\":\"failed\"' " + events + " | grep -c '(HBONE 15008) failed: '");
  EXPECT_NE(refused.out, "0\n") << refused.out;
  fs::remove_all(edir);
  // A bad node is bad input.
  fs::path dir = fs::temp_directory_path() / ("meshsim-ambient-bad-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string bad = (dir / "bad.yaml").string();
  sh("sed 's/killZtunnel: node-1/killZtunnel: node-9/; s|\\.\\./\\.\\./\\.\\./tests|" + src("tests") + "|' " +
     src("conformance/suites/resilience/ztunnel-loss-one-node.yaml") + " > " + bad);
  ShellRun b = sh(exe() + " run " + bad + " 2>&1");
  EXPECT_EQ(b.exit_code, 2) << b.out;
  EXPECT_NE(b.out.find("no node \"node-9\""), std::string::npos) << b.out;
  fs::remove_all(dir);
}

TEST(AmbientCli, AKilledAmbientPodIsReenrolledWhenItRestarts) {
  fs::path dir = fs::temp_directory_path() / ("meshsim-ambient-kp-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string events = (dir / "events.jsonl").string();
  ShellRun r = sh(exe() + " run " + data("kill-pod.yaml") + " --events " + events + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("all 3 expectations passed"), std::string::npos) << r.out;
  ShellRun none = sh("grep -c 'no healthy upstream: service httpbin-2.amb.svc.cluster.local has no ready endpoint' " + events);
  EXPECT_NE(none.out, "0\n") << none.out;
  fs::remove_all(dir);
}

}  // namespace
