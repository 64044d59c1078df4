// The `meshsim` command is a set of verbs. Each verb lives in its own file in
// cli/, registers its CLI11 subcommand with register_<verb>() and stores its
// exit code in the shared VerbContext when it runs:
//   0 ok · 1 a check or expectation failed · 2 bad input or usage.
// Verbs are thin: they parse flags, call the libraries, and print.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace meshsim::cli {

enum ExitCode : int { kExitOk = 0, kExitCheckFailed = 1, kExitBadInput = 2 };

struct VerbContext {
  int exit_code = kExitOk;
  std::string command;  // the command line, as typed (recorded with results)
};

// Prints "meshsim: error: <message>" to stderr.
void print_error(const std::string& message);
// Prints "wrote <path> (<what>)" to stderr — every file a verb writes is named
// this way, e.g. "wrote capture.pcap (123 packets)".
void print_wrote(const std::string& path, const std::string& what);
// Prints "meshsim: warning: <message>" to stderr.
void print_warning(const std::string& message);
// The wall-clock time as RFC 3339 UTC ("2026-12-01T10:00:00Z"): metadata of results, never simulated time.
std::string now_rfc3339();

void register_kernel_demo(CLI::App& app, VerbContext& ctx);
void register_analyze(CLI::App& app, VerbContext& ctx);
void register_proxy_config(CLI::App& app, VerbContext& ctx);
void register_net_demo(CLI::App& app, VerbContext& ctx);
void register_probe(CLI::App& app, VerbContext& ctx);
void register_run(CLI::App& app, VerbContext& ctx);
void register_conformance(CLI::App& app, VerbContext& ctx);
void register_token(CLI::App& app, VerbContext& ctx);
void register_whatif(CLI::App& app, VerbContext& ctx);
void register_bench(CLI::App& app, VerbContext& ctx);
void register_report(CLI::App& app, VerbContext& ctx);
void register_gui(CLI::App& app, VerbContext& ctx);
void register_gateway_status(CLI::App& app, VerbContext& ctx);
void register_proxy(CLI::App& app, VerbContext& ctx);
void register_up(CLI::App& app, VerbContext& ctx);

}  // namespace meshsim::cli
