// Real sockets (`meshsim up`, `meshsim proxy`): the engine the simulation runs,
// checked against real software nobody here wrote — curl, the MariaDB server
// and client, openssl s_client, tcpdump + tshark — on loopback, and a parity
// suite that runs the security FAQ matrix both in the simulation (`meshsim
// probe`) and on real sockets and compares the verdicts cell by cell.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "tests/shell_run.h"

namespace {

using meshsim::testing::run_shell;
using meshsim::testing::ShellRun;
namespace fs = std::filesystem;

std::string src() {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  return std::string(s ? s : MESHSIM_SOURCE_DIR);
}
std::string data(const std::string& p) { return src() + "/tests/data/" + p; }
std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

const std::string kHttpbinCurl = "--mesh " + data("istio-samples/httpbin/httpbin.yaml") + " --mesh " +
                                 data("istio-samples/curl/curl.yaml") + " --inject-namespace default";
const std::string kBookinfoGateway = "--mesh " + data("istio-samples/bookinfo/platform/kube/bookinfo.yaml") + " --mesh " +
                                     data("istio-samples/bookinfo/networking/bookinfo-gateway.yaml") + " --mesh " +
                                     data("ingress/istio-ingressgateway.yaml") + " --inject-namespace default";
const std::string kMysql = "--mesh " + data("istio-samples/bookinfo/platform/kube/bookinfo-mysql.yaml") + " --mesh " +
                           data("istio-samples/bookinfo/platform/kube/bookinfo-ratings-v2-mysql.yaml") +
                           " --inject-namespace default";

// One `meshsim up` in the background, for one test: its ports file, logs and
// certificates live in a directory of the test's own.
class RealMesh {
 public:
  RealMesh(const std::string& name, const std::string& args) : dir_(fs::temp_directory_path() / ("meshsim-real-" + std::to_string(::getpid()) + "-" + name)) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::string cmd = "cd " + dir_.string() + " && (exec " + std::string(MESHSIM_EXE) + " up " + args +
                      " --ports-file ports.json --keylog keys.log --access-log access.log --certs-dir certs" +
                      " --work-dir work --duration 120s >out.txt 2>err.txt & echo $!)";
    ShellRun r = run_shell(cmd);
    pid_ = std::atoi(r.out.c_str());
    for (int i = 0; i < 300 && !fs::exists(dir_ / "ports.json"); ++i) {
      if (pid_ > 0 && ::kill(pid_, 0) != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ports_ = nlohmann::json::parse(slurp(dir_ / "ports.json"), nullptr, false);
  }
  ~RealMesh() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 200 && ::kill(pid_, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (::kill(pid_, 0) == 0) ::kill(pid_, SIGKILL);
    }
    fs::remove_all(dir_);
  }
  bool ready() const { return ports_.is_object() && ports_.contains("entries"); }
  std::string diagnostics() const { return slurp(dir_ / "err.txt"); }
  const fs::path& dir() const { return dir_; }
  // The address of an entry point: kind "outbound" (from = client pod prefix)
  // or "direct"/"app"; `service` is a prefix of the Service host:port.
  std::string entry(const std::string& kind, const std::string& from, const std::string& service) const {
    for (const auto& e : ports_["entries"]) {
      if (e["kind"] != kind) continue;
      if (!from.empty() && e.value("from", "").rfind(from, 0) != 0) continue;
      if (!service.empty() && e.value("service", "").rfind(service, 0) != 0) continue;
      return e["address"];
    }
    return "";
  }
  std::string certs_of(const std::string& ns_pod_prefix) const {
    for (const auto& d : fs::directory_iterator(dir_ / "certs"))
      if (d.path().filename().string().rfind(ns_pod_prefix, 0) == 0) return d.path().string();
    return "";
  }
  std::string access_log() const { return slurp(dir_ / "access.log"); }
  // The access log once it holds `needle` (a sidecar logs a connection when it
  // ends, which may come a moment after the client's exit), or after 5 s.
  std::string access_log_with(const std::string& needle) const {
    for (int i = 0; i < 100 && access_log().find(needle) == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return access_log();
  }
  // --netns: the network namespace of the first pod whose "NS/NAME" starts with `pod`.
  std::string netns_of(const std::string& pod) const {
    for (const auto& e : ports_["entries"])
      if (e["kind"] == "pod" && e.value("from", "").rfind(pod, 0) == 0) return e["netns"];
    return "";
  }

 private:
  fs::path dir_;
  int pid_ = -1;
  nlohmann::json ports_;
};

// tcpdump in the background (`prefix` e.g. "ip netns exec NS "), writing
// `pcap`; capturing once the constructor returns, flushed once stop() returns.
class Tcpdump {
 public:
  Tcpdump(const std::string& prefix, const std::string& iface, const fs::path& pcap, const fs::path& err) : err_(err) {
    ShellRun cap = run_shell("(" + prefix + "tcpdump -Z root --immediate-mode -i " + iface + " -U -w " + pcap.string() +
                             " tcp >/dev/null 2>" + err.string() + " & echo $!)");
    pid_ = std::atoi(cap.out.c_str());
    // tcpdump captures once it says so ("listening on lo, …").
    for (int i = 0; i < 250 && !listening(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ~Tcpdump() { stop(); }
  bool listening() const { return slurp(err_).find("listening on") != std::string::npos; }
  std::string messages() const { return slurp(err_); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGINT);
    for (int i = 0; i < 150 && slurp(err_).find("packets captured") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pid_ = -1;
  }

 private:
  fs::path err_;
  int pid_ = -1;
};

std::string host_of(const std::string& a) { return a.substr(0, a.rfind(':')); }
std::string port_of(const std::string& a) { return a.substr(a.rfind(':') + 1); }

TEST(RealSockets, CurlThroughTwoSidecarsGets200OverMutualTlsThatTsharkSeesAndDecrypts) {
  RealMesh m("curl", kHttpbinCurl);
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string out = m.entry("outbound", "default/curl", "httpbin.default");
  ASSERT_FALSE(out.empty());
  std::string pcap = (m.dir() / "lo.pcap").string();
  Tcpdump tcpdump("", "lo", pcap, m.dir() / "tcpdump.err");
  ASSERT_TRUE(tcpdump.listening()) << tcpdump.messages();
  std::string body = (m.dir() / "body.json").string();
  ShellRun c = run_shell("curl -sS -m 10 -o " + body + " -w '%{http_code}' http://" + out + "/headers -H 'Host: httpbin:8000' 2>&1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  tcpdump.stop();
  EXPECT_EQ(c.exit_code, 0) << c.out;
  EXPECT_EQ(c.out, "200");
  // The server's echo app saw the request the server sidecar forwarded, with
  // Envoy's XFCC naming both SPIFFE identities of the mTLS connection.
  auto j = nlohmann::json::parse(slurp(body), nullptr, false);
  ASSERT_TRUE(j.is_object()) << slurp(body);
  std::string xfcc = j["headers"].value("x-forwarded-client-cert", "");
  EXPECT_NE(xfcc.find("By=spiffe://cluster.local/ns/default/sa/httpbin"), std::string::npos) << xfcc;
  EXPECT_NE(xfcc.find("URI=spiffe://cluster.local/ns/default/sa/curl"), std::string::npos) << xfcc;
  // tshark on the loopback capture: the ClientHello carries Istio's ALPN and SNI …
  ShellRun hello = run_shell("tshark -r " + pcap +
                             " -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.extensions_server_name "
                             "-e tls.handshake.extensions_alpn_str 2>/dev/null");
  EXPECT_NE(hello.out.find("outbound_.8000_._.httpbin.default.svc.cluster.local"), std::string::npos)
      << hello.out << tcpdump.messages() << run_shell("tshark -r " + pcap + " 2>&1 | head -40").out;
  EXPECT_NE(hello.out.find("istio-http/1.1"), std::string::npos) << hello.out;
  // … and with the key log the request inside the TLS stream decrypts.
  ShellRun dec = run_shell("tshark -r " + pcap + " -o tls.keylog_file:" + (m.dir() / "keys.log").string() +
                           " -Y 'tls && http.request' -T fields -e http.request.uri -e http.host 2>/dev/null");
  EXPECT_NE(dec.out.find("/headers\thttpbin:8000"), std::string::npos) << dec.out;
  // Both sidecars logged the request in Istio's access-log format.
  std::string log = m.access_log_with("inbound|8080||");
  EXPECT_NE(log.find("\"GET /headers HTTP/1.1\" 200 - via_upstream"), std::string::npos) << log;
  EXPECT_NE(log.find("outbound|8000||httpbin.default.svc.cluster.local"), std::string::npos) << log;
  EXPECT_NE(log.find("inbound|8080||"), std::string::npos) << log;
}

// curl sends `Expect: 100-continue` for bodies over 1 MiB and waits up to 1 s
// for the interim 100: the client sidecar answers it at once (Envoy,
// proxy_100_continue false) and strips Expect, so the 2 MiB POST goes through
// without the wait and the app never sees Expect.
TEST(RealSockets, LargePostWithExpectContinueIsAnsweredByTheSidecarWithoutWaiting) {
  RealMesh m("expect", kHttpbinCurl);
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string out = m.entry("outbound", "default/curl", "httpbin.default");
  ASSERT_FALSE(out.empty());
  std::string file = (m.dir() / "body.bin").string();
  ASSERT_EQ(run_shell("head -c 2097152 /dev/zero | tr '\\0' 'a' > " + file).exit_code, 0);
  std::string reply = (m.dir() / "reply.json").string();
  ShellRun c = run_shell("curl -sS -m 10 -o " + reply + " -w '%{http_code} %{time_total}' --data-binary @" + file +
                         " -H 'Content-Type: application/octet-stream' http://" + out + "/post -H 'Host: httpbin:8000' 2>&1");
  ASSERT_EQ(c.exit_code, 0) << c.out;
  EXPECT_EQ(c.out.substr(0, 4), "200 ") << c.out;
  EXPECT_LT(std::stod(c.out.substr(4)), 0.9) << c.out;  // not curl's 1 s expect timeout
  auto j = nlohmann::json::parse(slurp(reply), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_FALSE(j["headers"].contains("expect")) << j["headers"].dump();
  EXPECT_EQ(j.value("data", "").size(), 2097152u);
  // A client that sends its body with the headers still gets the interim 100
  // first, as from Envoy's decodeHeaders.
  {
    std::ofstream py(m.dir() / "raw.py");
    py << "import socket, sys\n"
          "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
          "s.sendall(b'POST /post HTTP/1.1\\r\\nHost: httpbin:8000\\r\\nExpect: 100-continue\\r\\n'\n"
          "          b'Content-Length: 2\\r\\nConnection: close\\r\\n\\r\\nhi')\n"
          "out = b''\n"
          "while True:\n"
          "    b = s.recv(65536)\n"
          "    if not b: break\n"
          "    out += b\n"
          "sys.stdout.write(out.decode('latin-1'))\n";
  }
  ShellRun raw = run_shell("python3 " + (m.dir() / "raw.py").string() + " " + host_of(out) + " " + port_of(out));
  EXPECT_EQ(raw.out.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0), 0u) << raw.out;
}

TEST(RealSockets, StrictResetsPlaintextCurlWithExit56AndServesTheMeshClient) {
  RealMesh m("strict", kHttpbinCurl + " --mesh " + data("real/strict.yaml"));
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string direct = m.entry("direct", "", "httpbin.default");
  ShellRun plain = run_shell("curl -sS -m 10 http://" + direct + "/headers 2>&1");
  EXPECT_EQ(plain.exit_code, 56) << plain.out;  // "Recv failure: Connection reset by peer"
  EXPECT_NE(plain.out.find("Connection reset"), std::string::npos) << plain.out;
  std::string out = m.entry("outbound", "default/curl", "httpbin.default");
  ShellRun mesh = run_shell("curl -sS -m 10 -o /dev/null -w '%{http_code}' http://" + out + "/get -H 'Host: httpbin:8000'");
  EXPECT_EQ(mesh.out, "200");
  std::string log = m.access_log_with("filter_chain_not_found");
  EXPECT_NE(log.find("filter_chain_not_found"), std::string::npos) << log;
}

TEST(RealSockets, OpensslSClientNeedsAMeshCertificateOnAStrictPort) {
  RealMesh m("sclient", kHttpbinCurl + " --mesh " + data("real/strict.yaml"));
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string direct = m.entry("direct", "", "httpbin.default");
  std::string certs = m.certs_of("default_curl");
  ASSERT_FALSE(certs.empty());
  std::string base = "printf 'GET /get HTTP/1.1\\r\\nHost: httpbin\\r\\nConnection: close\\r\\n\\r\\n' | timeout 10 "
                     "openssl s_client -connect " + direct + " -alpn istio-http/1.1 -servername "
                     "outbound_.8000_._.httpbin.default.svc.cluster.local -CAfile " + certs + "/root-cert.pem -quiet -ign_eof";
  ShellRun with = run_shell(base + " -cert " + certs + "/cert-chain.pem -key " + certs + "/key.pem 2>&1");
  EXPECT_NE(with.out.find("HTTP/1.1 200 OK"), std::string::npos) << with.out;
  ShellRun without = run_shell(base + " 2>&1");
  EXPECT_EQ(without.out.find("HTTP/1.1 200"), std::string::npos) << without.out;
  EXPECT_NE(without.out.find("certificate required"), std::string::npos) << without.out;
}

TEST(RealSockets, RealMariaDbBehindAPermissiveSidecarGivesThePlaintextClientError2013) {
  RealMesh m("mysql", kMysql);
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string direct = m.entry("direct", "", "mysqldb.default");
  ASSERT_FALSE(direct.empty()) << m.diagnostics();
  // The FAQ's client without a sidecar: TCP connects, the server's sidecar waits
  // for the client's first bytes, mysqld never sends its greeting.
  ShellRun plain = run_shell("mariadb -h " + host_of(direct) + " -P " + port_of(direct) +
                             " -uroot --connect-timeout=3 -e 'select 1' 2>&1");
  EXPECT_EQ(plain.exit_code, 1) << plain.out;
  EXPECT_NE(plain.out.find("ERROR 2013 (HY000)"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("reading initial communication packet"), std::string::npos) << plain.out;
  // The same server through a sidecar'd client: mTLS (client-first), and it works.
  std::string out = m.entry("outbound", "default/ratings-v2-mysql", "mysqldb.default");
  ShellRun mesh = run_shell("mariadb -h " + host_of(out) + " -P " + port_of(out) +
                            " -uroot --connect-timeout=5 -N -e 'select 40+2' 2>&1");
  EXPECT_EQ(mesh.exit_code, 0) << mesh.out;
  EXPECT_NE(mesh.out.find("42"), std::string::npos) << mesh.out;
  // Each sidecar logs a connection when it ends: wait for both lines.
  std::string log = m.access_log_with("closed by the client while the listener filters");
  EXPECT_NE(log.find("closed by the client while the listener filters"), std::string::npos) << log;
  log = m.access_log_with("inbound|3306||");
  EXPECT_NE(log.find("inbound|3306||"), std::string::npos) << log;
}

TEST(RealSockets, MtlsDisabledLetsThePlaintextMariaDbClientIn) {
  RealMesh m("mysql-disable", kMysql + " --mesh " + data("real/disable.yaml"));
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string direct = m.entry("direct", "", "mysqldb.default");
  ShellRun plain = run_shell("mariadb -h " + host_of(direct) + " -P " + port_of(direct) +
                             " -uroot --connect-timeout=5 -N -e 'select 40+2' 2>&1");
  EXPECT_EQ(plain.exit_code, 0) << plain.out;
  EXPECT_NE(plain.out.find("42"), std::string::npos) << plain.out;
}

TEST(RealSockets, ProxyServesEnvoyAdminEndpointsAndDrainsOnSigterm) {
  fs::path dir = fs::temp_directory_path() / ("meshsim-real-" + std::to_string(::getpid()) + "-admin");
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string cmd = "cd " + dir.string() + "; " + MESHSIM_EXE + " proxy " + kHttpbinCurl +
                    " --pod default/httpbin --listen-inbound 127.0.0.1:0=8080 --admin 127.0.0.1:0 --ports-file p.json"
                    " --access-log off 2>err.txt & P=$!; for i in $(seq 100); do [ -f p.json ] && break; sleep 0.05; done; "
                    "A=$(python3 -c 'import json;print(json.load(open(\"p.json\"))[\"pods\"][0][\"admin\"])'); "
                    "curl -s -o ready.txt -w '%{http_code}' http://$A/ready; echo; "
                    "curl -s http://$A/config_dump > dump.json; curl -s http://$A/stats > stats.txt; "
                    "curl -s http://$A/stats/prometheus > prom.txt; curl -s http://$A/clusters > clusters.txt; "
                    "kill -TERM $P; wait $P; echo rc=$?";
  ShellRun r = run_shell(cmd);
  EXPECT_NE(r.out.find("200\n"), std::string::npos) << r.out << slurp(dir / "err.txt");
  EXPECT_NE(r.out.find("rc=0"), std::string::npos) << r.out << slurp(dir / "err.txt");
  EXPECT_EQ(slurp(dir / "ready.txt"), "LIVE\n");
  auto dump = nlohmann::json::parse(slurp(dir / "dump.json"), nullptr, false);
  ASSERT_TRUE(dump.is_object()) << slurp(dir / "dump.json").substr(0, 400);
  EXPECT_NE(dump.dump().find("virtualInbound"), std::string::npos);
  EXPECT_NE(slurp(dir / "stats.txt").find("downstream_cx_total: 0"), std::string::npos) << slurp(dir / "stats.txt");
  EXPECT_NE(slurp(dir / "clusters.txt").find("outbound|8000||httpbin.default.svc.cluster.local::10.244."), std::string::npos)
      << slurp(dir / "clusters.txt");
  EXPECT_NE(slurp(dir / "err.txt").find("SIGTERM: draining"), std::string::npos) << slurp(dir / "err.txt");
  fs::remove_all(dir);
}

// pilot-agent's renewal on real sockets: with SECRET_TTL 6s the certificate is
// renewed after about half its lifetime; /certs, the certificate files and
// the TLS handshakes all show the new serial, and requests keep working.
TEST(RealSockets, ProxyRenewsTheWorkloadCertificateAtHalfItsLifetime) {
  fs::path dir = fs::temp_directory_path() / ("meshsim-real-" + std::to_string(::getpid()) + "-renew");
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string cmd = "cd " + dir.string() + "; " + MESHSIM_EXE + " proxy " + kHttpbinCurl + " --mesh-config " +
                    data("real/short-cert-ttl.yaml") +
                    " --pod default/httpbin --listen-inbound 127.0.0.1:0=8080 --admin 127.0.0.1:0 --ports-file p.json"
                    " --certs-dir certs --access-log off 2>err.txt & P=$!; for i in $(seq 100); do [ -f p.json ] && break; sleep 0.05; done; "
                    "A=$(python3 -c 'import json;print(json.load(open(\"p.json\"))[\"pods\"][0][\"admin\"])'); "
                    "curl -s http://$A/certs > before.json; openssl x509 -in certs/cert-chain.pem -noout -serial > before.txt; "
                    "sleep 4.5; curl -s http://$A/certs > after.json; openssl x509 -in certs/cert-chain.pem -noout -serial > after.txt; "
                    "kill -TERM $P; wait $P; echo rc=$?";
  ShellRun r = run_shell(cmd);
  EXPECT_NE(r.out.find("rc=0"), std::string::npos) << r.out << slurp(dir / "err.txt");
  auto before = nlohmann::json::parse(slurp(dir / "before.json"), nullptr, false);
  auto after = nlohmann::json::parse(slurp(dir / "after.json"), nullptr, false);
  ASSERT_TRUE(before.is_object() && after.is_object()) << slurp(dir / "before.json") << slurp(dir / "after.json");
  const auto& chain_before = before["certificates"][0]["cert_chain"][0];
  const auto& chain_after = after["certificates"][0]["cert_chain"][0];
  EXPECT_EQ(chain_before["subject_alt_names"][0]["uri"], "spiffe://cluster.local/ns/default/sa/httpbin");
  EXPECT_NE(chain_before["serial_number"], chain_after["serial_number"]);
  EXPECT_EQ(after["certificates"][0]["ca_cert"][0]["serial_number"], before["certificates"][0]["ca_cert"][0]["serial_number"]);
  // The files a real client would present were rewritten with the new certificate.
  EXPECT_NE(slurp(dir / "before.txt"), slurp(dir / "after.txt"));
  std::string serial_after = slurp(dir / "after.txt");
  std::string hex = chain_after["serial_number"];
  std::string upper;
  for (char ch : hex) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_NE(serial_after.find(upper), std::string::npos) << serial_after << " vs " << hex;
  EXPECT_NE(slurp(dir / "err.txt").find("workload certificate renewed"), std::string::npos) << slurp(dir / "err.txt");
  fs::remove_all(dir);
}

// The security FAQ's matrix — sleep.{foo,legacy} → httpbin.{foo,bar,legacy}
// with bar STRICT — answered twice: by the simulation (`meshsim probe`) and by
// real curl on real sockets; `curl_to(from, to)` is the real client's command.
// Every cell must agree.
void expect_parity_with_simulation(const std::string& mesh,
                                   const std::function<std::string(const std::string&, const std::string&)>& curl_to) {
  const char* clients[] = {"foo", "legacy"};  // the FAQ's mesh has sleep in foo and legacy
  const char* servers[] = {"foo", "bar", "legacy"};
  std::string differences;
  int cells = 0, ok_cells = 0;
  for (const char* from : clients) {
    for (const char* to : servers) {
      ShellRun sim = run_shell("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe " + mesh + " --from " + from +
                               "/sleep --to httpbin." + to + ":8000 -o json 2>/dev/null");
      auto j = nlohmann::json::parse(sim.out, nullptr, false);
      ASSERT_TRUE(j.is_object()) << sim.out;
      ASSERT_EQ(sim.exit_code, 0) << sim.out;
      bool sim_ok = j.value("outcome", "") == "ok" && j.value("http_status", 0) == 200;
      std::string cmd = curl_to(from, to);
      ASSERT_FALSE(cmd.empty()) << from << " → " << to;
      ShellRun real = run_shell(cmd);
      bool real_ok = real.exit_code == 0 && real.out == "200";
      ++cells;
      if (real_ok) ++ok_cells;
      if (sim_ok != real_ok) {
        differences += std::string("sleep.") + from + " → httpbin." + to + ": simulation " + j.value("outcome", "?") +
                       ", real curl " + real.out + " (exit " + std::to_string(real.exit_code) + ")\n";
      }
    }
  }
  EXPECT_EQ(differences, "") << "cells that differ:\n" << differences;
  EXPECT_EQ(cells, 6);
  EXPECT_EQ(ok_cells, 5);  // the FAQ: only legacy → bar (STRICT) fails
}

TEST(RealSockets, ParityWithTheSimulationOnTheSecurityFaqMatrix) {
  const std::string mesh = "--mesh " + data("security-faq");
  RealMesh m("parity", mesh);
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  expect_parity_with_simulation(mesh, [&](const std::string& from, const std::string& to) -> std::string {
    // A client in a namespace with sidecars goes through its pod's sidecar;
    // legacy's client has none and reaches the server pod as iptables hands it over.
    std::string addr = from == "legacy" ? m.entry("direct", "", "httpbin." + to + ".")
                                        : m.entry("outbound", from + "/sleep", "httpbin." + to + ".");
    if (addr.empty()) return "";
    return "curl -sS -m 10 -o /dev/null -w '%{http_code}' http://" + addr + "/ip -H 'Host: httpbin." + to + ":8000' 2>&1";
  });
}

// The ingress gateway on real sockets (router mode: Istio's Gateway +
// VirtualService bookinfo, no capture): a client outside the mesh reaches
// productpage through it, the gateway → productpage hop is mTLS.
TEST(RealSockets, IngressGatewayRoutesAPlainClientToProductpageOverMutualTls) {
  RealMesh m("gateway", kBookinfoGateway);
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string gw = m.entry("direct", "", "istio-ingressgateway.istio-system.svc.cluster.local:80");
  ASSERT_FALSE(gw.empty()) << m.diagnostics();
  std::string body = (m.dir() / "body.json").string();
  ShellRun c = run_shell("curl -sS -m 10 -o " + body + " -w '%{http_code}' http://" + gw + "/productpage -H 'Host: bookinfo.example' 2>&1");
  EXPECT_EQ(c.out, "200") << c.out << m.diagnostics();
  auto j = nlohmann::json::parse(slurp(body), nullptr, false);
  ASSERT_TRUE(j.is_object()) << slurp(body);
  EXPECT_EQ(j.value("pod", "").rfind("default/productpage-v1", 0), 0u) << j.dump();
  EXPECT_NE(j["headers"].value("x-forwarded-client-cert", "").find("URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"),
            std::string::npos) << j.dump();
  // No VirtualService route for another path: the gateway's own 404.
  ShellRun miss = run_shell("curl -sS -m 10 -o /dev/null -w '%{http_code}' http://" + gw + "/nope 2>&1");
  EXPECT_EQ(miss.out, "404") << miss.out;
  EXPECT_NE(m.access_log().find("outbound|9080||productpage.default.svc.cluster.local"), std::string::npos) << m.access_log();
}

// Istio's secure-ingress task on real sockets: the gateway terminates TLS with
// the certificate of the Kubernetes Secret its Gateway names (credentialName),
// real curl verifies it against the task's CA, and port 80 answers 301.
TEST(RealSockets, IngressGatewayServesTheCredentialNameCertificateToRealCurl) {
  RealMesh m("gateway-tls", "--mesh " + data("istio-samples/bookinfo/platform/kube/bookinfo.yaml") + " --mesh " +
                                data("ingress/bookinfo-https-gateway.yaml") + " --mesh " + data("ingress/bookinfo-credential.yaml") +
                                " --mesh " + data("ingress/istio-ingressgateway.yaml") + " --inject-namespace default");
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string https = m.entry("direct", "", "istio-ingressgateway.istio-system.svc.cluster.local:443");
  std::string http = m.entry("direct", "", "istio-ingressgateway.istio-system.svc.cluster.local:80");
  ASSERT_FALSE(https.empty()) << m.diagnostics();
  ShellRun ok = run_shell("curl -sS -m 10 -o /dev/null -w '%{http_code} %{ssl_verify_result}' --cacert " + data("ingress/example-ca.crt") +
                          " --resolve bookinfo.example.com:" + port_of(https) + ":127.0.0.1 https://bookinfo.example.com:" +
                          port_of(https) + "/productpage 2>&1");
  EXPECT_EQ(ok.out, "200 0") << ok.out << m.diagnostics();
  // Without the task's CA curl refuses the certificate (exit 60).
  ShellRun untrusted = run_shell("curl -sS -m 10 -o /dev/null --resolve bookinfo.example.com:" + port_of(https) +
                                 ":127.0.0.1 https://bookinfo.example.com:" + port_of(https) + "/productpage 2>&1");
  EXPECT_EQ(untrusted.exit_code, 60) << untrusted.out;
  ShellRun redirect = run_shell("curl -sS -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' http://" + http +
                                "/productpage -H 'Host: bookinfo.example.com' 2>&1");
  EXPECT_EQ(redirect.out, "301 https://bookinfo.example.com/productpage") << redirect.out;
}

// ---- `meshsim up --netns`: pods in network namespaces, real iptables capture ----

// Network namespaces need root and iproute2/iptables (ci/setup installs them;
// CI runs as root). Anything else is a skip that says why, never a pass.
std::string netns_unavailable() {
  if (::geteuid() != 0) return "not root";
  if (run_shell("command -v ip && command -v iptables-restore").exit_code != 0) return "ip or iptables-restore missing";
  return "";
}
std::string netns_prefix(const std::string& tag) { return "t" + std::to_string(::getpid() % 100000) + tag; }

// Sums the packet counters of the iptables-save -c lines containing `rule`.
uint64_t packets_of(const std::string& save, const std::string& rule) {
  uint64_t n = 0;
  std::istringstream in(save);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '[' || line.find(rule) == std::string::npos) continue;
    n += std::strtoull(line.c_str() + 1, nullptr, 10);
  }
  return n;
}

size_t istio_rule_lines(const std::string& text) {
  size_t n = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.find("-A ISTIO_") != std::string::npos) ++n;
  return n;
}

TEST(RealSockets, NetnsIptablesCaptureCarriesCurlByServiceNameOverMutualTls) {
  if (std::string why = netns_unavailable(); !why.empty()) GTEST_SKIP() << "network namespaces unavailable: " << why;
  const std::string prefix = netns_prefix("a");
  RealMesh m("netns-curl", kHttpbinCurl + " --netns --netns-prefix " + prefix);
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string client = m.netns_of("default/curl"), server = m.netns_of("default/httpbin");
  ASSERT_FALSE(client.empty()) << m.diagnostics();
  ASSERT_FALSE(server.empty());
  // The rules in the pods are the ones `proxy-config iptables` shows (iptables-save
  // spells matches its own way, so compare the number of ISTIO_* rules).
  ShellRun shown = run_shell(std::string(MESHSIM_EXE) + " proxy-config iptables default/curl " + kHttpbinCurl + " 2>&1");
  ASSERT_EQ(shown.exit_code, 0) << shown.out;
  ShellRun saved = run_shell("ip netns exec " + client + " iptables-save -t nat");
  EXPECT_EQ(istio_rule_lines(saved.out), istio_rule_lines(shown.out)) << saved.out << "\n---\n" << shown.out;
  EXPECT_NE(saved.out.find("-A ISTIO_OUTPUT -j ISTIO_REDIRECT"), std::string::npos) << saved.out;
  // Capture on the server pod's eth0: the wire into the pod, as tcpdump in a pod sees it.
  std::string pcap = (m.dir() / "pod.pcap").string();
  Tcpdump tcpdump("ip netns exec " + server + " ", "eth0", pcap, m.dir() / "tcpdump.err");
  ASSERT_TRUE(tcpdump.listening()) << tcpdump.messages();
  // A plain client in the curl pod, by Service name, as `kubectl exec` would run it.
  std::string body = (m.dir() / "body.json").string();
  ShellRun c = run_shell("ip netns exec " + client + " curl -sS -m 10 -o " + body +
                         " -w '%{http_code}' http://httpbin:8000/headers 2>&1");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  tcpdump.stop();
  EXPECT_EQ(c.exit_code, 0) << c.out << m.diagnostics();
  EXPECT_EQ(c.out, "200");
  auto j = nlohmann::json::parse(slurp(body), nullptr, false);
  ASSERT_TRUE(j.is_object()) << slurp(body);
  std::string xfcc = j["headers"].value("x-forwarded-client-cert", "");
  EXPECT_NE(xfcc.find("By=spiffe://cluster.local/ns/default/sa/httpbin"), std::string::npos) << xfcc;
  EXPECT_NE(xfcc.find("URI=spiffe://cluster.local/ns/default/sa/curl"), std::string::npos) << xfcc;
  // The kernel did the capture: the client pod's OUTPUT redirect and the
  // server pod's inbound redirect counted the connection.
  EXPECT_GE(packets_of(run_shell("ip netns exec " + client + " iptables-save -c -t nat").out, "-A ISTIO_OUTPUT -j ISTIO_REDIRECT"), 1u);
  EXPECT_GE(packets_of(run_shell("ip netns exec " + server + " iptables-save -c -t nat").out, "-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT"), 1u);
  // Between the pods: a ClientHello with Istio's SNI and ALPN to the server pod's
  // own port 8080 (the sidecar kept the endpoint, iptables kept the original destination).
  // (8080 is HTTP-alt to tshark: decode it as TLS.)
  ShellRun hello = run_shell("tshark -r " + pcap + " -d tcp.port==8080,tls -Y 'tls.handshake.type == 1' -T fields -e tcp.dstport "
                             "-e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str 2>/dev/null");
  EXPECT_NE(hello.out.find("8080\toutbound_.8000_._.httpbin.default.svc.cluster.local\tistio-http/1.1"), std::string::npos)
      << hello.out << run_shell("tshark -r " + pcap + " 2>&1 | head -30").out;
  // No plaintext HTTP crossed the wire; with the key log the request decrypts.
  ShellRun http = run_shell("tshark -r " + pcap + " -d tcp.port==8080,tls -Y http -T fields -e http.request.uri 2>/dev/null");
  EXPECT_EQ(http.out, "") << http.out;
  ShellRun dec = run_shell("tshark -r " + pcap + " -d tcp.port==8080,tls -o tls.keylog_file:" + (m.dir() / "keys.log").string() +
                           " -Y 'tls && http.request' -T fields -e http.request.uri 2>/dev/null");
  EXPECT_NE(dec.out.find("/headers"), std::string::npos) << dec.out;
}

TEST(RealSockets, NetnsParityWithTheSimulationOnTheSecurityFaqMatrix) {
  if (std::string why = netns_unavailable(); !why.empty()) GTEST_SKIP() << "network namespaces unavailable: " << why;
  const std::string mesh = "--mesh " + data("security-faq");
  RealMesh m("netns-parity", mesh + " --netns --netns-prefix " + netns_prefix("b"));
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  expect_parity_with_simulation(mesh, [&](const std::string& from, const std::string& to) -> std::string {
    std::string ns = m.netns_of(from + "/sleep");  // legacy's sleep has no sidecar: no capture
    if (ns.empty()) return "";
    return "ip netns exec " + ns + " curl -sS -m 10 -o /dev/null -w '%{http_code}' http://httpbin." + to + ":8000/ip 2>&1";
  });
}

TEST(RealSockets, NetnsIngressGatewayIsReachedThroughKubeProxyFromAPodOutsideTheMesh) {
  if (std::string why = netns_unavailable(); !why.empty()) GTEST_SKIP() << "network namespaces unavailable: " << why;
  RealMesh m("netns-gateway", kBookinfoGateway + " --mesh " + data("real/legacy-client.yaml") + " --netns --netns-prefix " + netns_prefix("d"));
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string client = m.netns_of("legacy/client");
  ASSERT_FALSE(client.empty()) << m.diagnostics();
  std::string body = (m.dir() / "body.json").string();
  ShellRun c = run_shell("ip netns exec " + client + " curl -sS -m 10 -o " + body +
                         " -w '%{http_code}' http://istio-ingressgateway.istio-system/productpage 2>&1");
  EXPECT_EQ(c.out, "200") << c.out << m.diagnostics();
  auto j = nlohmann::json::parse(slurp(body), nullptr, false);
  ASSERT_TRUE(j.is_object()) << slurp(body);
  EXPECT_EQ(j.value("pod", "").rfind("default/productpage-v1", 0), 0u) << j.dump();
  // The gateway pod has no istio-init rules: its namespace's nat table has no ISTIO_ chains.
  std::string gw_ns = m.netns_of("istio-system/istio-ingressgateway");
  ASSERT_FALSE(gw_ns.empty());
  EXPECT_EQ(istio_rule_lines(run_shell("ip netns exec " + gw_ns + " iptables-save -t nat").out), 0u);
}

// The FAQ's server-first matrix (ISTIO_BEHAVIOR.md §3.5) — MySQL behind a
// sidecar under PERMISSIVE / STRICT / DISABLE, from a pod without a sidecar and
// from the ratings pod's sidecar — answered by the simulation (`meshsim probe
// --protocol mysql`) and by the real mariadb client in the pods' namespaces.
TEST(RealSockets, NetnsParityWithTheSimulationOnTheMysqlServerFirstMatrix) {
  if (std::string why = netns_unavailable(); !why.empty()) GTEST_SKIP() << "network namespaces unavailable: " << why;
  const std::string base = kMysql + " --mesh " + data("real/legacy-client.yaml");
  struct Mode {
    const char* name;
    std::string extra;
  };
  const Mode modes[] = {{"PERMISSIVE", ""}, {"STRICT", " --mesh " + data("real/strict.yaml")}, {"DISABLE", " --mesh " + data("real/disable.yaml")}};
  std::string differences, verdicts;
  int n = 0;
  for (const Mode& mode : modes) {
    const std::string mesh = base + mode.extra;
    RealMesh m(std::string("netns-mysql-") + mode.name, mesh + " --netns --netns-prefix " + netns_prefix("e" + std::to_string(n++)));
    ASSERT_TRUE(m.ready()) << m.diagnostics();
    for (const char* from : {"legacy/client", "default/ratings-v2-mysql"}) {
      ShellRun sim = run_shell("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe " + mesh + " --from " + from +
                               " --to mysqldb.default:3306 --protocol mysql -o json 2>/dev/null");
      auto j = nlohmann::json::parse(sim.out, nullptr, false);
      ASSERT_TRUE(j.is_object()) << sim.out;
      bool sim_ok = j.value("outcome", "") == "ok";
      std::string ns = m.netns_of(from);
      ASSERT_FALSE(ns.empty()) << from;
      ShellRun real = run_shell("ip netns exec " + ns + " mariadb -h mysqldb.default -uroot --connect-timeout=3 -N -e 'select 40+2' 2>&1");
      bool real_ok = real.exit_code == 0 && real.out.find("42") != std::string::npos;
      verdicts += std::string(mode.name) + " " + from + ": " + (real_ok ? "ok" : "fails") + "\n";
      if (!real_ok) {
        EXPECT_NE(real.out.find("ERROR 2013"), std::string::npos) << mode.name << " " << from << ": " << real.out;
      }
      if (sim_ok != real_ok)
        differences += std::string(mode.name) + " " + from + ": simulation " + j.value("outcome", "?") + ", real mariadb " + real.out + "\n";
    }
  }
  EXPECT_EQ(differences, "") << "cells that differ:\n" << differences;
  // The matrix itself: only DISABLE lets the plaintext client in; the sidecar'd client always works.
  EXPECT_EQ(verdicts,
            "PERMISSIVE legacy/client: fails\nPERMISSIVE default/ratings-v2-mysql: ok\n"
            "STRICT legacy/client: fails\nSTRICT default/ratings-v2-mysql: ok\n"
            "DISABLE legacy/client: ok\nDISABLE default/ratings-v2-mysql: ok\n");
}

TEST(RealSockets, NetnsMariaDbClientOutsideTheMeshGetsError2013AndASidecarClientWorks) {
  if (std::string why = netns_unavailable(); !why.empty()) GTEST_SKIP() << "network namespaces unavailable: " << why;
  RealMesh m("netns-mysql", kMysql + " --mesh " + data("real/legacy-client.yaml") + " --netns --netns-prefix " + netns_prefix("c"));
  ASSERT_TRUE(m.ready()) << m.diagnostics();
  std::string legacy = m.netns_of("legacy/client"), ratings = m.netns_of("default/ratings-v2-mysql");
  ASSERT_FALSE(legacy.empty()) << m.diagnostics();
  ASSERT_FALSE(ratings.empty());
  // A pod without a sidecar: kube-proxy's DNAT takes it to the MySQL pod, whose
  // iptables hand it to the PERMISSIVE sidecar, which waits for client bytes.
  ShellRun plain = run_shell("ip netns exec " + legacy + " mariadb -h mysqldb.default -uroot --connect-timeout=3 -e 'select 1' 2>&1");
  EXPECT_EQ(plain.exit_code, 1) << plain.out;
  EXPECT_NE(plain.out.find("ERROR 2013 (HY000)"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("reading initial communication packet"), std::string::npos) << plain.out;
  // The ratings pod's own client, captured by its sidecar: mTLS, and it works.
  ShellRun mesh = run_shell("ip netns exec " + ratings + " mariadb -h mysqldb -uroot --connect-timeout=5 -N -e 'select 40+2' 2>&1");
  EXPECT_EQ(mesh.exit_code, 0) << mesh.out;
  EXPECT_NE(mesh.out.find("42"), std::string::npos) << mesh.out;
}

}  // namespace
