// End-to-end tests of `meshsim net-demo` and the capture flags, run as a user
// would run them; captures are read back with tcpdump.
#include <gtest/gtest.h>

#include "tests/shell_run.h"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

using CliRun = meshsim::testing::ShellRun;
CliRun sh(const std::string& cmd) { return meshsim::testing::run_shell(cmd + " 2>&1"); }

CliRun meshsim(const std::string& args) { return sh(std::string(MESHSIM_EXE) + " " + args); }

class NetDemoCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshsim-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override { (void)std::system(("rm -rf " + dir).c_str()); }
  bool exists(const std::string& name) const { return access((dir + "/" + name).c_str(), F_OK) == 0; }
  std::string dir;
};

std::string line_with(const std::string& out, const std::string& key) {
  auto pos = out.find(key);
  if (pos == std::string::npos) return "";
  return out.substr(pos, out.find('\n', pos) - pos);
}

TEST_F(NetDemoCli, HelpListsTheVerbAndTheCaptureFlags) {
  CliRun top = meshsim("--help");
  EXPECT_NE(top.out.find("net-demo"), std::string::npos);
  CliRun r = meshsim("net-demo --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--pcap", "--pcap-pod", "--pcap-filter", "--keylog", "--sidecars", "--loss"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

TEST_F(NetDemoCli, EchoesEveryByteAndPrintsOneLinePerConnection) {
  CliRun r = meshsim("net-demo --connections 3 --bytes 50000 --writes 5");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("10.244.0.5:32768      10.244.1.7:7          ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10.244.0.5:32770"), std::string::npos) << r.out;
  EXPECT_NE(line_with(r.out, "10.244.0.5:32769").find(" 50000      50000 "), std::string::npos) << r.out;
}

TEST_F(NetDemoCli, SameSeedSameFingerprint) {
  CliRun a = meshsim("net-demo --seed 9 --loss 0.02 --jitter 100us --connections 4");
  CliRun b = meshsim("net-demo --seed 9 --loss 0.02 --jitter 100us --connections 4");
  CliRun c = meshsim("net-demo --seed 10 --loss 0.02 --jitter 100us --connections 4");
  ASSERT_EQ(a.exit_code, 0) << a.out;
  EXPECT_FALSE(line_with(a.out, "fingerprint").empty());
  EXPECT_EQ(line_with(a.out, "fingerprint"), line_with(b.out, "fingerprint"));
  EXPECT_NE(line_with(a.out, "fingerprint"), line_with(c.out, "fingerprint"));
}

TEST_F(NetDemoCli, CapturesAreWrittenAndReadableByTcpdump) {
  CliRun r = meshsim("net-demo --sidecars --pcap " + dir + "/wire.pcap --pcap-pod default/client=" + dir +
                     "/client.pcap --pcap-pod default/echo");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(dir + "/wire.pcap"), std::string::npos) << r.out;
  EXPECT_TRUE(exists("wire.pcap"));
  EXPECT_TRUE(exists("client.pcap"));
  EXPECT_FALSE(exists("wire.pcap.partial"));
  // NS/POD without a file name writes NS_POD.pcap in the working directory.
  CliRun in_dir = sh("cd " + dir + " && " + MESHSIM_EXE + " net-demo --pcap-pod default/echo");
  ASSERT_EQ(in_dir.exit_code, 0) << in_dir.out;
  EXPECT_TRUE(exists("default_echo.pcap"));
  // Each file written is named on stderr, with what it holds.
  CliRun err = meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " net-demo --pcap " + dir + "/w2.pcap 2>&1 >/dev/null");
  ASSERT_EQ(err.exit_code, 0) << err.out;
  EXPECT_NE(err.out.find("wrote " + dir + "/w2.pcap ("), std::string::npos) << err.out;
  EXPECT_NE(err.out.find(" packets, wire)"), std::string::npos) << err.out;
  CliRun td = sh("tcpdump -nn -r " + dir + "/client.pcap");
  EXPECT_EQ(td.exit_code, 0);
  EXPECT_NE(td.out.find("10.244.0.5.32768 > 127.0.0.1.15001: Flags [S]"), std::string::npos) << td.out;
}

TEST_F(NetDemoCli, BadFilterIsRejectedAndNothingIsWritten) {
  CliRun r = meshsim("net-demo --pcap " + dir + "/x.pcap --pcap-filter 'tcp port eighty'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("meshsim: error: --pcap-filter \"tcp port eighty\""), std::string::npos) << r.out;
  EXPECT_FALSE(exists("x.pcap"));
  EXPECT_FALSE(exists("x.pcap.partial"));
}

TEST_F(NetDemoCli, UnknownPodIsRejectedAndNothingIsWritten) {
  CliRun r = meshsim("net-demo --pcap " + dir + "/x.pcap --pcap-pod default/nobody=" + dir + "/p.pcap");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("no pod default/nobody"), std::string::npos) << r.out;
  EXPECT_FALSE(exists("x.pcap"));
  EXPECT_FALSE(exists("x.pcap.partial"));
  EXPECT_FALSE(exists("p.pcap.partial"));
}

TEST_F(NetDemoCli, BadFlagValuesAreUsageErrors) {
  for (const char* args : {"--loss 1.5", "--loss -0.1", "--latency 5parsecs", "--latency 0", "--bandwidth 10GB",
                           "--jitter -1ms", "--pcap-filter tcp", "--pcap /nonexistent/dir/x.pcap",
                           "--pcap-pod nopod", "--bytes 100000000"}) {
    CliRun r = meshsim(std::string("net-demo ") + args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("meshsim: error:"), std::string::npos) << args << "\n" << r.out;
  }
}

// One row of the connection table: conn client server outcome sent received
// segs-out segs-in retrans duration.
struct DemoRow {
  std::string outcome;
  uint64_t sent = 0, received = 0, retransmitted = 0;
  double duration_s = 0;
};

double seconds_of(const std::string& d) {
  size_t unit = d.find_first_not_of("0123456789.");
  double v = std::stod(d.substr(0, unit));
  std::string u = d.substr(unit);
  return u == "s" ? v : u == "ms" ? v / 1e3 : u == "us" ? v / 1e6 : u == "ns" ? v / 1e9 : -1;
}

std::vector<DemoRow> demo_rows(const std::string& out) {
  std::vector<DemoRow> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string conn, client, server, segs_out, segs_in, duration;
    DemoRow r;
    if (!(f >> conn >> client >> server >> r.outcome >> r.sent >> r.received >> segs_out >> segs_in >> r.retransmitted >>
          duration) ||
        conn.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    r.duration_s = seconds_of(duration);
    rows.push_back(r);
  }
  return rows;
}

TEST_F(NetDemoCli, LossSlowsTheExchangeButEveryByteComesBack) {
  CliRun lossy = meshsim("net-demo --loss 0.1 --bytes 300000 --seed 5 --connections 2");
  CliRun clean = meshsim("net-demo --bytes 300000 --seed 5 --connections 2");
  ASSERT_EQ(lossy.exit_code, 0) << lossy.out;
  ASSERT_EQ(clean.exit_code, 0) << clean.out;
  std::vector<DemoRow> l = demo_rows(lossy.out), c = demo_rows(clean.out);
  ASSERT_EQ(l.size(), 2u) << lossy.out;
  ASSERT_EQ(c.size(), 2u) << clean.out;
  uint64_t retransmitted = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    EXPECT_EQ(l[i].outcome, "ok") << lossy.out;
    EXPECT_EQ(l[i].sent, 300000u) << lossy.out;
    EXPECT_EQ(l[i].received, 300000u) << "every byte comes back despite the loss\n" << lossy.out;
    EXPECT_EQ(c[i].retransmitted, 0u) << clean.out;
    EXPECT_GT(l[i].duration_s, c[i].duration_s) << "loss must slow the exchange\n" << lossy.out << clean.out;
    retransmitted += l[i].retransmitted;
  }
  EXPECT_GT(retransmitted, 0u) << "10% loss must cost retransmissions\n" << lossy.out;
}

}  // namespace
