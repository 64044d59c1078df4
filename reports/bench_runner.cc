#include "reports/bench_runner.h"

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace meshsim::reports {
namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) {
    if (c == '\'') o += "'\\''";
    else o += c;
  }
  return o + "'";
}

// stdout of a shell command, trailing newline stripped; nullopt when it failed.
std::optional<std::string> command_output(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  std::array<char, 4096> buf;
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string cmake_set_value(const std::string& text, const std::string& var) {
  std::string key = "set(" + var + " \"";
  size_t at = text.find(key);
  if (at == std::string::npos) return "";
  size_t start = at + key.size();
  return text.substr(start, text.find('"', start) - start);
}

perf_event_attr instructions_attr() {
  perf_event_attr a;
  std::memset(&a, 0, sizeof a);
  a.type = PERF_TYPE_HARDWARE;
  a.size = sizeof a;
  a.config = PERF_COUNT_HW_INSTRUCTIONS;
  a.disabled = 1;
  a.inherit = 1;
  a.enable_on_exec = 1;
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  return a;
}

int perf_open(pid_t pid) {
  perf_event_attr a = instructions_attr();
  return static_cast<int>(syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC));
}

struct ChildRun {
  int exit_status = -1;  // waitpid status
  std::optional<double> instructions;
};

// fork + exec with stdout redirected to `stdout_fd`; counts the child's
// instructions when `count` (the child waits on a pipe until the counter is
// attached, so it counts from exec on).
ChildRun spawn(const std::vector<std::string>& argv, int stdout_fd, bool count) {
  ChildRun r;
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) return r;
  pid_t pid = fork();
  if (pid < 0) {
    close(sync[0]);
    close(sync[1]);
    return r;
  }
  if (pid == 0) {
    close(sync[1]);
    char go;
    if (read(sync[0], &go, 1) < 0) _exit(127);
    dup2(stdout_fd, STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(sync[0]);
  int fd = count ? perf_open(pid) : -1;
  char go = 1;
  if (write(sync[1], &go, 1) < 0) {
    // the child has gone; waitpid reports it
  }
  close(sync[1]);
  waitpid(pid, &r.exit_status, 0);
  if (fd >= 0) {
    uint64_t v[3] = {0, 0, 0};
    if (read(fd, v, sizeof v) == static_cast<ssize_t>(sizeof v) && v[2] > 0) {
      r.instructions = static_cast<double>(v[0]) * (static_cast<double>(v[1]) / static_cast<double>(v[2]));
    }
    close(fd);
  }
  return r;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "did not run";
}

std::string temp_file(const std::string& stem) {
  static int counter = 0;
  return (fs::temp_directory_path() /
          ("meshsim-" + stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter)))
      .string();
}

std::vector<std::string> short_run_args(const std::string& binary, const BenchRunOptions& o) {
  std::vector<std::string> args = {binary, "--benchmark_min_time=0", "--benchmark_repetitions=1"};
  if (!o.filter.empty()) args.push_back("--benchmark_filter=" + o.filter);
  return args;
}

std::optional<double> callgrind_instructions(const std::string& binary, const BenchRunOptions& o) {
  std::string out = temp_file("callgrind");
  std::vector<std::string> args = {"valgrind", "--tool=callgrind", "--callgrind-out-file=" + out};
  for (const auto& a : short_run_args(binary, o)) args.push_back(a);
  // valgrind's own chatter goes to stderr; keep it off the user's terminal.
  std::string cmd;
  for (const auto& a : args) cmd += shell_quote(a) + " ";
  cmd += ">/dev/null 2>&1";
  int status = std::system(cmd.c_str());
  std::string text = read_file(out);
  std::remove(out.c_str());
  if (status != 0) return std::nullopt;
  for (const char* key : {"\nsummary: ", "\ntotals: "}) {
    size_t at = text.find(key);
    if (at != std::string::npos) return std::strtod(text.c_str() + at + std::strlen(key), nullptr);
  }
  return std::nullopt;
}

}  // namespace

GitState git_state(const std::string& directory) {
  GitState g;
  std::string dir = shell_quote(directory);
  if (auto rev = command_output("git -C " + dir + " rev-parse HEAD 2>/dev/null")) g.revision = *rev;
  if (g.revision.empty()) return g;
  auto status = command_output("git -C " + dir + " status --porcelain --untracked-files=no 2>/dev/null");
  g.dirty = status && !status->empty();
  return g;
}

MachineInfo this_machine() {
  MachineInfo m;
  std::istringstream cpu(read_file("/proc/cpuinfo"));
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) m.cpu_model = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  if (m.cpu_model.empty()) m.cpu_model = "unknown";
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  m.cores = cores > 0 ? cores : 0;
  utsname u;
  if (uname(&u) == 0) {
    m.kernel = u.release;
    m.host_name = u.nodename;
  }
  return m;
}

std::optional<BuildInfo> cmake_build_info(const std::string& binary) {
  std::error_code ec;
  fs::path dir = fs::absolute(binary, ec).parent_path();
  for (int up = 0; up < 6 && !dir.empty(); ++up, dir = dir.parent_path()) {
    if (!fs::exists(dir / "CMakeCache.txt", ec)) {
      if (dir == dir.root_path()) break;
      continue;
    }
    BuildInfo b;
    std::istringstream cache(read_file(dir / "CMakeCache.txt"));
    for (std::string line; std::getline(cache, line);) {
      if (line.rfind("CMAKE_BUILD_TYPE:", 0) == 0) b.build_type = line.substr(line.find('=') + 1);
    }
    for (const auto& entry : fs::directory_iterator(dir / "CMakeFiles", ec)) {
      fs::path f = entry.path() / "CMakeCXXCompiler.cmake";
      if (!fs::exists(f, ec)) continue;
      std::string text = read_file(f);
      b.compiler = cmake_set_value(text, "CMAKE_CXX_COMPILER_ID") + " " + cmake_set_value(text, "CMAKE_CXX_COMPILER_VERSION");
      break;
    }
    return b;
  }
  return std::nullopt;
}

bool perf_instructions_available() {
  int fd = perf_open(0);
  if (fd < 0) return false;
  close(fd);
  return true;
}

bool callgrind_available() { return command_output("valgrind --version 2>/dev/null").has_value(); }

Result<BenchRunOutput> run_benchmark_binary(const std::string& binary, const BenchRunOptions& o) {
  std::string name = fs::path(binary).filename().string();
  std::error_code ec;
  if (!fs::is_regular_file(binary, ec) || access(binary.c_str(), X_OK) != 0) {
    return Error{binary + ": not an executable benchmark binary"};
  }
  std::string json_path = temp_file(name + ".json");
  std::vector<std::string> args = {binary, "--benchmark_out=" + json_path, "--benchmark_out_format=json",
                                   "--benchmark_repetitions=" + std::to_string(o.repetitions)};
  if (!o.filter.empty()) args.push_back("--benchmark_filter=" + o.filter);
  for (const auto& a : o.extra_args) args.push_back(a);
  auto t0 = std::chrono::steady_clock::now();
  ChildRun run = spawn(args, STDERR_FILENO, false);
  BenchRunOutput out;
  out.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string text = read_file(json_path);
  std::remove(json_path.c_str());
  if (!WIFEXITED(run.exit_status) || WEXITSTATUS(run.exit_status) != 0) {
    return Error{binary + ": " + describe_status(run.exit_status)};
  }
  if (text.empty() && !o.filter.empty()) {
    // Google Benchmark writes nothing when the filter matches none of its benchmarks.
    out.json.context_json = "{}";
    out.json.warnings.push_back(binary + ": no benchmark matches the filter " + o.filter);
    return out;
  }
  auto parsed = parse_benchmark_json(text, binary + " (--benchmark_out JSON)", name);
  if (!parsed.ok()) return parsed.error();
  out.json = std::move(*parsed);
  if (!o.save_json_dir.empty()) {
    std::ofstream f(fs::path(o.save_json_dir) / (name + ".json"), std::ios::binary | std::ios::trunc);
    f << text;
  }
  bool use_perf = o.instructions == InstructionCounter::kPerf ||
                  (o.instructions == InstructionCounter::kAuto && perf_instructions_available());
  bool use_callgrind = !use_perf && (o.instructions == InstructionCounter::kCallgrind ||
                                     (o.instructions == InstructionCounter::kAuto && callgrind_available()));
  if (use_perf) {
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ChildRun counted = spawn(short_run_args(binary, o), devnull, true);
    close(devnull);
    if (counted.instructions && WIFEXITED(counted.exit_status) && WEXITSTATUS(counted.exit_status) == 0) {
      out.instructions = counted.instructions;
      out.instructions_tool = "perf";
    }
  } else if (use_callgrind) {
    out.instructions = callgrind_instructions(binary, o);
    if (out.instructions) out.instructions_tool = "callgrind";
  }
  return out;
}

}  // namespace meshsim::reports
