// meshsim — service-mesh simulator and conformance harness. See `meshsim --help`.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/verb.h"
#include "meshsim_version.h"

namespace meshsim::cli {

void print_error(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "meshsim: error: %s\n", message.c_str());
}

namespace {

constexpr const char* kDescription =
    "meshsim simulates an Istio service mesh before you roll it out: it loads your\n"
    "Kubernetes + Istio YAML, builds each sidecar's configuration the way istiod\n"
    "would, and runs real proxy engines (OpenSSL mTLS, HTTP/1.1, MySQL wire bytes)\n"
    "between virtual workloads in one deterministic discrete-event simulation.\n\n"
    "Exit codes: 0 ok, 1 a check or expectation failed, 2 bad input or usage.";

int main_impl(int argc, char** argv) {
  CLI::App app{kDescription, "meshsim"};
  app.set_version_flag("--version", std::string("meshsim ") + MESHSIM_VERSION + " (git " + MESHSIM_GIT_REVISION + ")",
                       "Print the version and git revision, then exit");
  app.require_subcommand(0, 1);
  app.fallthrough(false);
  VerbContext ctx;
  register_kernel_demo(app, ctx);
  register_analyze(app, ctx);
  register_proxy_config(app, ctx);
  register_net_demo(app, ctx);
  register_run(app, ctx);
  register_conformance(app, ctx);
  register_probe(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    print_error(e.what());
    std::fprintf(stderr, "Run 'meshsim --help' (or 'meshsim <verb> --help') for usage.\n");
    return kExitBadInput;
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return kExitOk;
  }
  return ctx.exit_code;
}

}  // namespace
}  // namespace meshsim::cli

int main(int argc, char** argv) { return meshsim::cli::main_impl(argc, argv); }
