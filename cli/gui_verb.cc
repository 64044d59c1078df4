// `meshsim gui [SCENARIO] [meshsim-gui flags…]` — opens the desktop viewer: it
// execs the meshsim-gui executable that was built beside this one (same
// directory when installed, ../gui/ in a build tree), passing every argument
// on. meshsim itself never links Qt.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/verb.h"

namespace meshsim::cli {

namespace {

std::string find_gui() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate : {self.parent_path() / "meshsim-gui", self.parent_path().parent_path() / "gui" / "meshsim-gui"}) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "";
}

}  // namespace

void register_gui(CLI::App& app, VerbContext& ctx) {
  CLI::App* sub = app.add_subcommand(
      "gui",
      "Open the desktop viewer (meshsim-gui) on a scenario: the mesh as a graph, live request rate,\n"
      "success and mTLS per edge as it crossed the wire, a timeline to seek, inspectors (docs/gui.md).\n"
      "Every argument goes to meshsim-gui: meshsim gui [SCENARIO] [--events FILE] [--at T] [--export FILE]");
  sub->prefix_command();
  sub->callback([sub, &ctx] {
    std::string gui = find_gui();
    if (gui.empty()) {
      print_error("meshsim-gui is not built beside meshsim (configure with -DMESHSIM_BUILD_GUI=ON; the default preset does)");
      ctx.exit_code = kExitBadInput;
      return;
    }
    std::vector<std::string> args = sub->remaining();
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(gui.c_str()));
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(gui.c_str(), argv.data());
    print_error("cannot start " + gui + ": " + std::strerror(errno));
    ctx.exit_code = kExitBadInput;
  });
}

}  // namespace meshsim::cli
