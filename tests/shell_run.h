// Runs a shell command for the end-to-end tests that drive the `meshsim`
// executable and real tools (tshark, tcpdump, openssl, xmllint): stdout is
// captured (append " 2>&1" to the command to capture stderr too) and the exit
// code is WEXITSTATUS, or -1 when the command did not exit normally.
// Single-threaded test helper; header-only so every test binary can use it.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace meshsim::testing {

struct ShellRun {
  int exit_code = -1;
  std::string out;
};

inline ShellRun run_shell(const std::string& cmd) {
  ShellRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace meshsim::testing
