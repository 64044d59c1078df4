// Virtual applications on the virtual network: the servers that listen in
// pods (echo, MySQL, HTTP with latency/errors, optionally terminating their own
// TLS) and the clients that call them (HTTP like curl, TCP, MySQL like the
// mysql CLI, optionally speaking TLS or mTLS themselves). They use the same
// socket API as the sidecars (sim/net/network.h) and the protocol sessions of
// sim/apps/; a pod's iptables rules decide whether their traffic goes through
// its sidecar. Every client attempt ends in an AppOutcomeObservation.
//
// What serves a container port when nothing says otherwise (issue 5's rule,
// docs/model/apps.md): the pod annotation meshsim.io/app (mysql-server,
// http-echo, tcp-echo, echo) wins; else a MySQL server for a port named
// "mysql" or "*-mysql"/"mysql-*", appProtocol mysql, port 3306, or a container
// image named mysql / mariadb; else Istio's test echo app.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/http/message.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls/tls_context.h"
#include "sim/apps/mysql_session.h"
#include "sim/net/network.h"
#include "sim/random.h"
#include "sim/observations/runtime.h"
#include "sim/simulator.h"

namespace meshsim::sim {

enum class ServerAppKind : uint8_t { kEcho, kHttpEcho, kTcpEcho, kMysql, kExtAuthz };
const char* to_string(ServerAppKind k);

struct AppInference {
  ServerAppKind kind = ServerAppKind::kEcho;
  std::string reason;  // "port name \"mysql\"", "annotation meshsim.io/app=tcp-echo", "default: echo"
};
// The rule above, for one port of a pod. `port_name`/`app_protocol` come from
// the container port or a Service port targeting it.
AppInference infer_server_app(const mesh::WorldPod& pod, uint32_t port, std::string_view port_name,
                              std::string_view app_protocol, std::string_view image);

// The raw TCP client's reply rules (tcp_payload): complete when whole lines
// sent came back as as many lines (else as many bytes); an echo when each
// reply line ends with the line sent.
bool tcp_reply_complete(std::string_view payload, std::string_view reply);
bool tcp_reply_echoes(std::string_view payload, std::string_view reply);

// Whether a container image is `name`, whatever the registry, tag or digest
// ("docker.io/library/mysql:8" is "mysql").
bool image_is(std::string_view image, std::string_view name);

// A latency distribution for simulated server work.
struct LatencyModel {
  enum class Kind : uint8_t { kFixed, kUniform, kExponential, kLognormal };
  Kind kind = Kind::kFixed;
  Duration a;  // fixed value / min / mean / median
  Duration b;  // max (uniform) / p99 (lognormal)
  Duration sample(RandomStream& rng) const;
};

// TLS an application itself speaks (not the sidecar's).
struct AppTls {
  bool enabled = false;
  std::optional<tls::CertifiedKey> identity;  // server cert, or client cert (mTLS)
  std::vector<tls::Certificate> roots;        // verify the peer against these (empty: no verification)
  std::vector<std::string> alpn;
  std::string sni;
  bool require_client_certificate = false;
};

struct ServerAppOptions {
  ServerAppKind kind = ServerAppKind::kEcho;
  // HTTP behaviour (echo and http kinds).
  LatencyModel latency;          // added before each response
  double error_rate = 0;         // fraction answered with error_status
  int error_status = 503;
  int64_t body_bytes = -1;       // >= 0: fixed-size body instead of the echo text
  mysql::ServerConfig mysql;
  AppTls tls;                    // the app terminates TLS itself (e.g. an HTTPS service)
  // tcp-echo (Istio's samples/tcp-echo server): every '\n'-terminated line
  // comes back as "<prefix> <line>"; the prefix is the image's second argument.
  std::string line_prefix = "hello";
};

class AppHost;

// Identity of the pod an app runs in.
struct AppPodInfo {
  std::string ns, pod, version, service_account;
  HostId host = kNoHost;
  Ipv4 ip;
};

// A listening server application.
class ServerApp {
 public:
  ServerApp(Simulator& sim, Network& net, AppPodInfo pod, uint16_t port, ServerAppOptions options);
  ~ServerApp();
  bool start();
  void stop();
  uint64_t connections() const { return connections_; }
  uint16_t port() const { return port_; }
  const ServerAppOptions& options() const { return o_; }

 private:
  struct Conn;
  TcpCallbacks accept(TcpSocket s, const ConnectionInfo& info);
  static bool handle_http(void* self, const proxy::http::Request& req, proxy::http::Response& resp);
  Simulator& sim_;
  Network& net_;
  AppPodInfo pod_;
  uint16_t port_;
  ServerAppOptions o_;
  ActorId actor_;
  EventKindId k_;
  RandomStream rng_;
  ListenerId listener_;
  std::shared_ptr<tls::TlsContext> tls_ctx_;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  uint64_t connections_ = 0;
};

// What a client application does.
struct ClientRequestSpec {
  std::string protocol = "http";  // http | tcp | mysql
  std::string target;             // "reviews:9080", "10.96.0.3:3306", "http://reviews:9080/path"
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::string> paths;  // non-empty: request n asks for paths[n % size] (instead of path)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string host_header;        // default: the target's host[:port]
  std::string body;
  std::string tcp_payload = "hello meshsim\n";  // tcp: bytes sent (and expected back from an echo)
  bool keep_alive = true;         // http: reuse one connection for consecutive requests
  Duration timeout = Duration::seconds(10);     // per attempt (curl --max-time; mysql connect_timeout)
  Duration connect_timeout = Duration::zero();  // 0 = the kernel's 127 s
  mysql::ClientConfig mysql;
  AppTls tls;
};

struct ClientSchedule {
  int64_t count = 1;                // requests to make (-1 = until stop)
  Duration interval;                // open loop: a new request every interval (0 = back to back)
  int concurrency = 1;              // parallel workers
  Duration start;                   // when the first request starts
  Duration stop = Duration::max();  // no new request after this time
};

class ClientApp {
 public:
  ClientApp(Simulator& sim, Network& net, AppPodInfo pod, std::string name, ClientRequestSpec spec,
            ClientSchedule schedule);
  ~ClientApp();
  void start();
  void stop();
  uint64_t completed() const { return completed_; }
  uint64_t succeeded() const { return succeeded_; }
  const std::string& name() const { return name_; }
  // The most recent outcome (for probes): filled when a request completes.
  struct Last {
    AppOutcomeObservation::Outcome outcome = AppOutcomeObservation::Outcome::kOk;
    int http_status = 0;
    std::string error;
    Duration latency;
    uint64_t connection = 0;
    proxy::http::Response response;
    std::vector<std::vector<std::string>> mysql_rows;
    std::string tcp_reply;
    std::optional<std::string> tls_alpn;
  };
  const Last& last() const { return last_; }

 private:
  struct Worker;
  void launch(int worker);
  void finish(Worker& w, AppOutcomeObservation::Outcome o, int status, const std::string& error);
  bool resolve(SocketAddress* out, std::string* host_for_errors, std::string* error);

  Simulator& sim_;
  Network& net_;
  AppPodInfo pod_;
  std::string name_;
  ClientRequestSpec spec_;
  uint64_t next_path_ = 0;  // spec_.paths rotation
  ClientSchedule sched_;
  ActorId actor_;
  EventKindId k_start_, k_outcome_, k_timeout_;
  std::shared_ptr<tls::TlsContext> tls_ctx_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint64_t launched_ = 0, completed_ = 0, succeeded_ = 0;
  bool stopped_ = false;
  Last last_;
};

}  // namespace meshsim::sim
