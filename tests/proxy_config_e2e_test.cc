// End-to-end tests of `meshsim proxy-config secret` (and the secrets in
// `all`): the sidecar's SDS secrets after pilot-agent issued — and renewed —
// the workload certificate, shown like `istioctl proxy-config secret`, with
// openssl as the oracle for what the PEM really contains.
//
// Expected values: workload certificate TTL 24h, renewal when half the
// lifetime is left (SECRET_GRACE_PERIOD_RATIO 0.5, jitter 1%), SPIFFE URI
// SAN, self-signed root valid 10 years (ISTIO_BEHAVIOR.md §6).
#include <gtest/gtest.h>

#include "tests/shell_run.h"
#include <sys/wait.h>
#include <unistd.h>

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

ShellRun meshsim(const std::string& args) {
  return sh("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " " + args + " 2>&1");
}

std::vector<std::vector<std::string>> table(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    // Columns are separated by runs of 2+ spaces (single spaces occur inside "Cert Chain").
    size_t i = 0;
    while (i < line.size()) {
      size_t j = line.find("  ", i);
      cells.push_back(line.substr(i, j == std::string::npos ? std::string::npos : j - i));
      if (j == std::string::npos) break;
      i = line.find_first_not_of(' ', j);
    }
    rows.push_back(cells);
  }
  return rows;
}

TEST(ProxyConfigSecretCli, ShowsTheWorkloadCertificateAndTheRootLikeIstioctl) {
  ShellRun r = meshsim("proxy-config secret foo/httpbin --mesh " + mesh_dir());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto rows = table(r.out);
  ASSERT_EQ(rows.size(), 3u) << r.out;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"RESOURCE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER",
                                                "NOT AFTER", "NOT BEFORE"}));
  EXPECT_EQ(rows[1][0], "default");
  EXPECT_EQ(rows[1][1], "Cert Chain");
  EXPECT_EQ(rows[1][2], "ACTIVE");
  EXPECT_EQ(rows[1][3], "true");
  EXPECT_EQ(rows[1][5], "2026-01-02T00:00:00Z");  // 24h after the simulation epoch
  EXPECT_EQ(rows[1][6], "2026-01-01T00:00:00Z");
  EXPECT_EQ(rows[2][0], "ROOTCA");
  EXPECT_EQ(rows[2][1], "CA");
  EXPECT_EQ(rows[2][5], "2035-12-30T00:00:00Z");  // 3650 days
}

TEST(ProxyConfigSecretCli, AtShowsTheCertificateAfterRotation) {
  ShellRun first = meshsim("proxy-config secret foo/httpbin --mesh " + mesh_dir());
  ShellRun later = meshsim("proxy-config secret foo/httpbin --mesh " + mesh_dir() + " --at 13h");
  ASSERT_EQ(later.exit_code, 0) << later.out;
  auto a = table(first.out), b = table(later.out);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_NE(a[1][4], b[1][4]);  // a new serial number
  // Renewed at 12h ± 1% of 24h: between 11:45:36 and 12:14:24.
  EXPECT_GE(b[1][6], "2026-01-01T11:45:36Z");
  EXPECT_LE(b[1][6], "2026-01-01T12:14:24Z");
  EXPECT_EQ(b[2], a[2]);  // the root does not change
  // Without renewal in between, a certificate shown after its NOT AFTER would
  // be invalid; with renewal it stays valid at any --at.
  ShellRun much_later = meshsim("proxy-config secret foo/httpbin --mesh " + mesh_dir() + " --at 71h");
  EXPECT_EQ(table(much_later.out)[1][3], "true");
}

TEST(ProxyConfigSecretCli, JsonCarriesPemThatOpensslReadsTheSame) {
  ShellRun r = sh(std::string(MESHSIM_EXE) + " proxy-config secret foo/httpbin --mesh " + mesh_dir() +
                  " -o json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "default");
  EXPECT_EQ(j[0]["secret"]["tls_certificate"]["private_key"]["inline_string"], "[redacted]");
  std::string pem = j[0]["secret"]["tls_certificate"]["certificate_chain"]["inline_string"];
  fs::path f = fs::temp_directory_path() / ("meshsim-secret-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(f) << pem;
  ShellRun x = sh("openssl x509 -in " + f.string() + " -noout -serial -startdate -enddate -ext subjectAltName");
  fs::remove(f);
  ASSERT_EQ(x.exit_code, 0) << x.out;
  std::string serial = j[0]["serial_number"];
  for (char& c : serial) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (serial.size() % 2) serial = "0" + serial;
  EXPECT_NE(x.out.find("serial=" + serial), std::string::npos) << x.out << serial;
  EXPECT_NE(x.out.find("notBefore=Jan  1 00:00:00 2026 GMT"), std::string::npos) << x.out;
  EXPECT_NE(x.out.find("notAfter=Jan  2 00:00:00 2026 GMT"), std::string::npos) << x.out;
  EXPECT_NE(x.out.find("URI:spiffe://cluster.local/ns/foo/sa/httpbin"), std::string::npos) << x.out;
  EXPECT_EQ(j[1]["name"], "ROOTCA");
  EXPECT_TRUE(j[1]["secret"]["validation_context"]["trusted_ca"].contains("inline_string"));
}

TEST(ProxyConfigSecretCli, AllIncludesTheSecretsConfigDump) {
  ShellRun r = sh(std::string(MESHSIM_EXE) + " proxy-config all foo/httpbin --mesh " + mesh_dir() +
                  " -o json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& c : j["configs"]) {
    if (c["@type"] == "type.googleapis.com/envoy.admin.v3.SecretsConfigDump") {
      found = true;
      EXPECT_EQ(c["dynamic_active_secrets"].size(), 2u);
    }
  }
  EXPECT_TRUE(found);
  ShellRun text = meshsim("proxy-config all foo/httpbin --mesh " + mesh_dir());
  EXPECT_NE(text.out.find("RESOURCE NAME"), std::string::npos);
}

TEST(ProxyConfigSecretCli, APodWithoutSidecarHasNoSecrets) {
  ShellRun r = meshsim("proxy-config secret legacy/sleep --mesh " + mesh_dir());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("meshsim: error:"), std::string::npos) << r.out;
  ShellRun bad = meshsim("proxy-config secret foo/httpbin --mesh " + mesh_dir() + " --at -1h");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
}

}  // namespace

namespace {

// istioctl's filter flags (istioctl proxy-config cluster --fqdn/--port/
// --subset/--direction, route --name, listener --port/--address, endpoint
// --cluster) on Bookinfo.
std::string bookinfo(const std::string& args) {
  const char* s = std::getenv("MESHSIM_SOURCE_DIR");
  auto r = sh("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " proxy-config " + args + " --mesh " +
              std::string(s ? s : ".") + "/tests/data/bookinfo 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return r.out;
}

TEST(ProxyConfigFilters, SelectLikeIstioctl) {
  auto c = table(bookinfo("cluster bookinfo/productpage --fqdn reviews.bookinfo.svc.cluster.local --subset v2"));
  ASSERT_EQ(c.size(), 2u);  // header + one cluster
  EXPECT_EQ(c[1][0], "reviews.bookinfo.svc.cluster.local");
  EXPECT_EQ(c[1][2], "v2");
  EXPECT_EQ(c[1][5], "reviews.bookinfo");  // the DestinationRule it came from
  auto in = table(bookinfo("cluster bookinfo/productpage --direction inbound"));
  ASSERT_GE(in.size(), 2u);
  for (size_t i = 1; i < in.size(); ++i) EXPECT_EQ(in[i][3], "inbound");
  auto r = table(bookinfo("route bookinfo/productpage --name 9080"));
  ASSERT_GE(r.size(), 2u);
  for (size_t i = 1; i < r.size(); ++i) EXPECT_EQ(r[i][0], "9080");
  auto l = table(bookinfo("listener bookinfo/productpage --port 9080"));
  ASSERT_GE(l.size(), 2u);
  for (size_t i = 1; i < l.size(); ++i) EXPECT_EQ(l[i][1], "9080");
  auto e = table(bookinfo("endpoint bookinfo/productpage --cluster 'outbound|9080|v1|reviews.bookinfo.svc.cluster.local'"));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1][3], "outbound|9080|v1|reviews.bookinfo.svc.cluster.local");
  auto bad = sh(std::string(MESHSIM_EXE) + " proxy-config cluster bookinfo/productpage --direction sideways --mesh x 2>&1");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
}

}  // namespace
