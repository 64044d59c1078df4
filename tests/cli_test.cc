// End-to-end tests of the `meshsim` command: exit codes, help, version and the
// kernel demo, run as a user would run them.
#include <gtest/gtest.h>

#include "tests/shell_run.h"

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace {

using CliRun = meshsim::testing::ShellRun;
CliRun meshsim(const std::string& args) {
  return meshsim::testing::run_shell(std::string(MESHSIM_EXE) + " " + args + " 2>&1");
}

TEST(Cli, HelpListsTheVerbsAndExplainsExitCodes) {
  CliRun r = meshsim("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("kernel-demo"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << r.out;
}

TEST(Cli, VersionNamesTheGitRevision) {
  CliRun r = meshsim("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("meshsim 0.", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("(git "), std::string::npos) << r.out;
}

TEST(Cli, UnknownFlagIsAUsageErrorWithExitCode2) {
  CliRun r = meshsim("--no-such-flag");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("meshsim: error:"), std::string::npos) << r.out;
}

TEST(Cli, UnknownVerbIsAUsageError) {
  CliRun r = meshsim("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("meshsim: error:"), std::string::npos) << r.out;
}

TEST(Cli, BadDurationIsRejectedWithTheReason) {
  CliRun r = meshsim("kernel-demo --duration 10x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown unit \"x\""), std::string::npos) << r.out;
}

std::string fingerprint_of(const std::string& out) {
  auto pos = out.find("fingerprint");
  if (pos == std::string::npos) return "";
  return out.substr(pos, out.find('\n', pos) - pos);
}

TEST(Cli, KernelDemoIsDeterministicPerSeed) {
  CliRun a = meshsim("kernel-demo --seed 3 --duration 5s --clients 50");
  CliRun b = meshsim("kernel-demo --seed 3 --duration 5s --clients 50");
  CliRun c = meshsim("kernel-demo --seed 4 --duration 5s --clients 50");
  ASSERT_EQ(a.exit_code, 0) << a.out;
  EXPECT_NE(a.out.find("virtual time   5s"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("events/s"), std::string::npos);
  ASSERT_FALSE(fingerprint_of(a.out).empty());
  EXPECT_EQ(fingerprint_of(a.out), fingerprint_of(b.out));
  EXPECT_NE(fingerprint_of(a.out), fingerprint_of(c.out));
}

}  // namespace
