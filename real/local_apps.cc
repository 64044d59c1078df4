#include "real/local_apps.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "proxy/asio/http_server.h"

extern char** environ;

namespace meshsim::real {

using proxy::asio::HttpServer;
using proxy::asio::HttpServerRequest;
using proxy::asio::HttpServerResponse;

Result<std::unique_ptr<HttpServer>> start_echo_app(proxy::asio::EventLoop& loop, const std::string& pod, uint16_t port,
                                                   SocketAddress bind, const proxy::asio::SocketPlace& place) {
  return HttpServer::start(
      loop, bind,
      [pod, port](const HttpServerRequest& req, HttpServerResponse& res) {
        nlohmann::ordered_json j;
        j["pod"] = pod;
        j["port"] = port;
        j["method"] = req.method;
        j["url"] = req.target;
        nlohmann::ordered_json h = nlohmann::ordered_json::object();
        for (const auto& [k, v] : req.headers) h[k] = v;
        j["headers"] = std::move(h);
        if (!req.body.empty()) j["data"] = req.body;
        res.content_type = "application/json";
        res.body = j.dump(2) + "\n";
      },
      "meshsim-echo", place);
}

namespace {
bool on_path(const char* program) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  p += ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::filesystem::path cand = std::filesystem::path(p.substr(start, end - start)) / program;
    if (::access(cand.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

std::string find_program(const char* program) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"}) {
    std::filesystem::path cand = std::filesystem::path(dir) / program;
    if (::access(cand.c_str(), X_OK) == 0) return cand.string();
  }
  return program;
}

int spawn(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

bool accepts(uint16_t port, const proxy::asio::SocketPlace& place) {
  int fd = -1;
  {
    proxy::asio::SocketPlaceScope in(place);
    if (in.error().empty()) fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

Result<uint16_t> pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{"socket() failed"};
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    ::close(fd);
    return Error{"cannot bind a free port on 127.0.0.1"};
  }
  ::close(fd);
  return static_cast<uint16_t>(ntohs(sa.sin_port));
}

bool MariaDbServer::available() { return on_path("mariadbd") && on_path("mariadb-install-db"); }

Result<std::unique_ptr<MariaDbServer>> MariaDbServer::start(const std::string& dir, const MariaDbPlacement* in) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path base = fs::absolute(dir, ec);  // mariadbd resolves paths against its own working directory
  std::string data = (base / "data").string();
  std::string log = (base / "mariadb.log").string();
  if (!fs::exists(fs::path(data) / "mysql")) {
    int pid = spawn({find_program("mariadb-install-db"), "--no-defaults", "--datadir=" + data,
                     "--auth-root-authentication-method=normal", "--skip-test-db", "--user=root"},
                    log);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return Error{"mariadb-install-db failed (see " + log + ")"};
  }
  auto port = in ? Result<uint16_t>(in->port) : pick_free_port();
  if (!port.ok()) return Error{port.message()};
  auto s = std::unique_ptr<MariaDbServer>(new MariaDbServer());
  s->address_ = {Ipv4::loopback(), *port};
  std::vector<std::string> argv;
  if (in) argv = {find_program("ip"), "netns", "exec", in->netns};  // execs mariadbd in the pod's namespace
  const std::vector<std::string> server = {
      find_program("mariadbd"), "--no-defaults", "--datadir=" + data, "--port=" + std::to_string(*port),
      in ? "--bind-address=0.0.0.0" : "--bind-address=127.0.0.1", "--socket=" + (base / "mysqld.sock").string(),
      "--user=root", "--skip-grant-tables", "--skip-name-resolve", "--pid-file=" + (base / "mysqld.pid").string()};
  argv.insert(argv.end(), server.begin(), server.end());
  s->pid_ = spawn(argv, log);
  if (s->pid_ < 0) return Error{"cannot start mariadbd"};
  const proxy::asio::SocketPlace here;
  for (int i = 0; i < 200; ++i) {
    if (accepts(*port, in ? in->place : here)) return s;
    int status = 0;
    if (::waitpid(s->pid_, &status, WNOHANG) == s->pid_) {
      s->pid_ = -1;
      return Error{"mariadbd exited at start (see " + log + ")"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Error{"mariadbd did not listen within 10s (see " + log + ")"};
}

MariaDbServer::~MariaDbServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
}

}  // namespace meshsim::real
