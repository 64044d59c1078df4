// meshsim — service-mesh simulator and conformance harness. See `meshsim --help`.
#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/verb.h"
#include "mesh/suggest.h"
#include "meshsim_version.h"

namespace meshsim::cli {

void print_error(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "meshsim: error: %s\n", message.c_str());
}

void print_wrote(const std::string& path, const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "wrote %s (%s)\n", path.c_str(), what.c_str());
}

void print_warning(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "meshsim: warning: %s\n", message.c_str());
}

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

namespace {

// After CLI11 rejected the command line: the first unknown verb or flag, with
// the closest valid name — "unknown flag --form for 'meshsim probe' (did you
// mean --from?)" — or "" when every verb and flag exists (CLI11's own message
// is then the better one, e.g. a missing required flag).
std::string unknown_name_message(const CLI::App& app, int argc, char** argv) {
  const CLI::App* verb = nullptr;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") return "";
    if (!a.empty() && a[0] == '-') continue;  // the top level has only flags without values
    std::vector<std::string> verbs;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == a) verb = sub;
      verbs.push_back(sub->get_name());
    }
    if (!verb) {
      std::string guess = mesh::closest_match(a, verbs);
      std::string all;
      for (const auto& v : verbs) all += (all.empty() ? "" : ", ") + v;
      return "unknown verb \"" + a + "\"" + (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)") + "; verbs: " + all;
    }
    ++i;
    break;
  }
  // Verbs with verbs of their own (bench record, conformance merge).
  while (verb && i < argc) {
    std::string a = argv[i];
    if (a.empty() || a[0] == '-') break;
    const CLI::App* inner = nullptr;
    for (const CLI::App* sub : verb->get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == a) inner = sub;
    }
    if (!inner) {
      // A verb that takes no positional arguments has only its own verbs there.
      std::vector<std::string> names;
      for (const CLI::App* sub : verb->get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
      bool positionals = false;
      for (const CLI::Option* opt : verb->get_options()) positionals |= opt->get_positional();
      if (names.empty() || positionals) break;
      std::string guess = mesh::closest_match(a, names);
      std::string all;
      for (const auto& v : names) all += (all.empty() ? "" : ", ") + v;
      return "unknown verb \"" + a + "\" for 'meshsim " + verb->get_name() + "'" +
             (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)") + "; verbs: " + all;
    }
    verb = inner;
    ++i;
  }
  const CLI::App& scope = verb ? *verb : app;
  for (int j = verb ? i : 1; j < argc; ++j) {
    std::string a = argv[j];
    if (a == "--") break;
    bool long_flag = a.size() > 2 && a[0] == '-' && a[1] == '-';
    bool short_flag = a.size() == 2 && a[0] == '-' && std::isalpha(static_cast<unsigned char>(a[1]));
    if (!long_flag && !short_flag) continue;
    std::string name = a.substr(0, a.find('='));
    if (scope.get_option_no_throw(name) || name == "--help" || name == "-h") continue;
    std::vector<std::string> flags;
    for (const CLI::Option* opt : scope.get_options()) {
      for (const auto& l : opt->get_lnames()) flags.push_back("--" + l);
      for (const auto& sn : opt->get_snames()) flags.push_back("-" + sn);
    }
    std::string guess = mesh::closest_match(name, flags);
    std::string path;
    for (const CLI::App* v = verb; v && v != &app; v = v->get_parent()) path = " " + v->get_name() + path;
    std::string where = "'meshsim" + path + "'";
    return "unknown flag " + name + " for " + where + (guess.empty() ? "" : " (did you mean " + guess + "?)");
  }
  return "";
}

// CLI11's "--protocol: htp not in {http,tcp,mysql}" gets the closest value:
// "… (did you mean http?)".
std::string with_value_suggestion(const std::string& message) {
  size_t not_in = message.rfind(" not in {");
  size_t colon = message.rfind(": ", not_in);
  if (not_in == std::string::npos || colon == std::string::npos || message.back() != '}') return message;
  std::string value = message.substr(colon + 2, not_in - colon - 2);
  std::vector<std::string> values;
  std::string list = message.substr(not_in + 9, message.size() - not_in - 10);
  for (size_t start = 0; start <= list.size();) {
    size_t comma = list.find(',', start);
    values.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::string guess = mesh::closest_match(value, values);
  return guess.empty() ? message : message + " (did you mean " + guess + "?)";
}

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
  ctx.command = "meshsim";
  for (int i = 1; i < argc; ++i) ctx.command += std::string(" ") + argv[i];
  register_kernel_demo(app, ctx);
  register_analyze(app, ctx);
  register_proxy_config(app, ctx);
  register_net_demo(app, ctx);
  register_run(app, ctx);
  register_conformance(app, ctx);
  register_probe(app, ctx);
  register_token(app, ctx);
  register_whatif(app, ctx);
  register_bench(app, ctx);
  register_report(app, ctx);
  register_gui(app, ctx);
  register_gateway_status(app, ctx);
  register_proxy(app, ctx);
  register_up(app, ctx);

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
    std::string unknown = unknown_name_message(app, argc, argv);
    print_error(unknown.empty() ? with_value_suggestion(e.what()) : unknown);
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
