#include "real/pod_network.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace meshsim::real {

namespace fs = std::filesystem;

namespace {

constexpr const char* kGateway = "169.254.1.1";  // the node end of every pod's veth

std::string program_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"}) {
    fs::path p = fs::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Writes /proc/sys/net/… inside a namespace (those files belong to the netns
// of the thread that opens them).
Status write_sysctl(int netns_fd, const std::string& path, const std::string& value) {
  proxy::asio::SocketPlace p;
  p.netns_fd = netns_fd;
  proxy::asio::SocketPlaceScope in(p);
  if (!in.error().empty()) return Error{in.error()};
  std::ofstream f(path);
  f << value;
  f.close();
  if (!f) return Error{"cannot write " + path};
  return Status::Ok();
}

std::string base32_prefix16(const std::string& text) {
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint64_t bits = 0;
  int n = 0;
  for (unsigned i = 0; i < len && out.size() < 16; ++i) {
    bits = (bits << 8) | digest[i];
    n += 8;
    while (n >= 5 && out.size() < 16) {
      out += kAlphabet[(bits >> (n - 5)) & 31];
      n -= 5;
    }
  }
  return out;
}

}  // namespace

Result<std::string> run_program(const std::vector<std::string>& argv, const std::string& input) {
  if (argv.empty()) return Error{"run_program: no program"};
  std::string path = program_path(argv[0]);
  if (path.empty()) return Error{argv[0] + " is not installed"};
  char in_tmpl[] = "/tmp/meshsim-in-XXXXXX";
  char out_tmpl[] = "/tmp/meshsim-out-XXXXXX";
  char err_tmpl[] = "/tmp/meshsim-err-XXXXXX";
  int in_fd = ::mkstemp(in_tmpl), out_fd = ::mkstemp(out_tmpl), err_fd = ::mkstemp(err_tmpl);
  auto cleanup = [&] {
    for (int fd : {in_fd, out_fd, err_fd})
      if (fd >= 0) ::close(fd);
    ::unlink(in_tmpl);
    ::unlink(out_tmpl);
    ::unlink(err_tmpl);
  };
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    cleanup();
    return Error{"cannot create temporary files under /tmp"};
  }
  if (!input.empty() && ::write(in_fd, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    cleanup();
    return Error{"cannot write a temporary file under /tmp"};
  }
  ::lseek(in_fd, 0, SEEK_SET);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args[0] = const_cast<char*>(path.c_str());
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, path.c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    cleanup();
    return Error{"cannot run " + path + ": " + std::strerror(rc)};
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string out = read_text(out_tmpl), err = read_text(err_tmpl);
  cleanup();
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  if (!WIFEXITED(status)) return Error{"`" + cmd + "` was killed by signal " + std::to_string(WTERMSIG(status))};
  if (WEXITSTATUS(status) != 0)
    return Error{"`" + cmd + "` failed (exit " + std::to_string(WEXITSTATUS(status)) + "): " + trim(err)};
  return out;
}

std::string kube_service_chain(const std::string& service_port_name) {
  return "KUBE-SVC-" + base32_prefix16(service_port_name + "tcp");
}

std::string kube_endpoint_chain(const std::string& service_port_name, const std::string& endpoint) {
  return "KUBE-SEP-" + base32_prefix16(service_port_name + "tcp" + endpoint);
}

std::string PodNetwork::unavailable_reason() {
  if (::geteuid() != 0) return "network namespaces need root (run meshsim up as root, or without --netns)";
  for (const char* p : {"ip", "iptables-restore", "iptables-save"})
    if (program_path(p).empty())
      return std::string(p) + " is not installed (Debian packages iproute2 and iptables; ci/setup installs them)";
  return "";
}

PodNetwork::PodNetwork(std::string prefix) : prefix_(std::move(prefix)), node_(prefix_ + "-node") {}

PodNetwork::~PodNetwork() {
  for (auto& [key, p] : pods_)
    if (p.fd >= 0) ::close(p.fd);
  if (node_fd_ >= 0) ::close(node_fd_);
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    auto r = run_program({"ip", "netns", "delete", *it});
    if (!r.ok()) std::fprintf(stderr, "meshsim up: %s\n", r.message().c_str());
    std::error_code ec;
    fs::remove_all(fs::path("/etc/netns") / *it, ec);
  }
}

Status PodNetwork::create_node() {
  if (fs::exists(fs::path("/var/run/netns") / node_))
    return Error{"network namespace " + node_ + " exists already: another `meshsim up --netns` runs (or one was killed; " +
                 "`ip netns delete` its " + prefix_ + "-* namespaces), or pass --netns-prefix"};
  if (auto r = run_program({"ip", "netns", "add", node_}); !r.ok()) return Error{r.message()};
  created_.push_back(node_);
  auto fd = proxy::asio::open_named_netns(node_);
  if (!fd.ok()) return Error{fd.message()};
  node_fd_ = *fd;
  if (auto r = run_program({"ip", "-n", node_, "link", "set", "lo", "up"}); !r.ok()) return Error{r.message()};
  if (Status s = write_sysctl(node_fd_, "/proc/sys/net/ipv4/ip_forward", "1"); !s.ok()) return s;
  node_created_ = true;
  return Status::Ok();
}

Status PodNetwork::add_pod(const std::string& key, const std::string& ns_name, Ipv4 ip, const std::string& hosts) {
  if (!node_created_) return Error{"PodNetwork: create_node() first"};
  std::string netns = prefix_ + "-" + ns_name;
  if (netns.size() > 200) netns.resize(200);
  std::string veth = "msv" + std::to_string(pods_.size());
  if (auto r = run_program({"ip", "netns", "add", netns}); !r.ok()) return Error{r.message()};
  created_.push_back(netns);
  Pod pod;
  pod.netns = netns;
  pod.ip = ip;
  auto fd = proxy::asio::open_named_netns(netns);
  if (!fd.ok()) return Error{fd.message()};
  pod.fd = *fd;
  pods_[key] = pod;
  const std::string addr = to_string(ip);
  const std::vector<std::vector<std::string>> steps = {
      {"ip", "link", "add", veth, "netns", node_, "type", "veth", "peer", "name", "eth0", "netns", netns},
      {"ip", "-n", netns, "link", "set", "lo", "up"},
      {"ip", "-n", netns, "addr", "add", addr + "/32", "dev", "eth0"},
      {"ip", "-n", netns, "link", "set", "eth0", "up"},
      {"ip", "-n", netns, "route", "add", kGateway, "dev", "eth0", "scope", "link"},
      {"ip", "-n", netns, "route", "add", "default", "via", kGateway, "dev", "eth0"},
      {"ip", "-n", node_, "addr", "add", std::string(kGateway) + "/32", "dev", veth},
      {"ip", "-n", node_, "link", "set", veth, "up"},
      {"ip", "-n", node_, "route", "add", addr + "/32", "dev", veth},
  };
  for (const auto& argv : steps)
    if (auto r = run_program(argv); !r.ok()) return Error{r.message()};
  std::error_code ec;
  fs::path etc = fs::path("/etc/netns") / netns;
  fs::create_directories(etc, ec);
  if (ec) return Error{"cannot create " + etc.string() + ": " + ec.message()};
  std::ofstream f(etc / "hosts", std::ios::trunc);
  f << hosts;
  f.close();
  if (!f) return Error{"cannot write " + (etc / "hosts").string()};
  return Status::Ok();
}

Status PodNetwork::restore_iptables(const std::string& key, const std::string& rules) {
  std::string ns = netns_name(key);
  if (ns.empty()) return Error{"no network namespace for " + key};
  auto r = run_program({"ip", "netns", "exec", ns, "iptables-restore", "--noflush"}, rules);
  if (!r.ok()) return Error{r.message()};
  return Status::Ok();
}

Result<std::string> PodNetwork::save_iptables(const std::string& key) const {
  std::string ns = netns_name(key);
  if (ns.empty()) return Error{"no network namespace for " + key};
  return run_program({"ip", "netns", "exec", ns, "iptables-save"});
}

std::string PodNetwork::netns_name(const std::string& key) const {
  if (key.empty()) return node_created_ ? node_ : "";
  auto it = pods_.find(key);
  return it == pods_.end() ? "" : it->second.netns;
}

Result<proxy::asio::SocketPlace> PodNetwork::place(const std::string& key, int uid, int gid) {
  proxy::asio::SocketPlace p;
  if (key.empty()) p.netns_fd = node_fd_;
  else if (auto it = pods_.find(key); it != pods_.end()) p.netns_fd = it->second.fd;
  if (p.netns_fd < 0) return Error{"no network namespace for " + (key.empty() ? std::string("the node") : key)};
  p.uid = uid;
  p.gid = gid;
  return p;
}

}  // namespace meshsim::real
