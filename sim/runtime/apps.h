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
// image named mysql / mariadb; else Istio's test echo app — which, for
// Bookinfo's images, calls the services the real one calls and forwards the
// headers it forwards (docs/istio/telemetry.md §9).
//
// An HTTP server app with `calls` answers each request only after making its
// calls one after another (each through the pod's own network stack, so its
// sidecar captures them like a client app's), on keep-alive connections kept
// per target; every call attempt ends in an AppCallObservation.
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
#include "sim/apps/trace_headers.h"
#include "sim/net/network.h"
#include "sim/random.h"
#include "sim/observations/runtime.h"
#include "sim/simulator.h"

namespace meshsim::sim {

enum class ServerAppKind : uint8_t { kEcho, kHttpEcho, kTcpEcho, kMysql, kExtAuthz, kHttpbin };
const char* to_string(ServerAppKind k);
// The kinds that answer HTTP with app logic a scenario can extend (calls,
// header propagation, latency): Istio's echo, http-echo and go-httpbin.
inline bool is_http_server(ServerAppKind k) {
  return k == ServerAppKind::kEcho || k == ServerAppKind::kHttpEcho || k == ServerAppKind::kHttpbin;
}

// One outbound HTTP call a server app makes while handling a request.
struct AppCall {
  std::string host;             // as the app addresses it: "details", "ratings.default", "10.96.0.7"
  uint16_t port = 80;
  std::string path = "/";
  std::string method = "GET";
  Duration timeout = Duration::seconds(3);  // per attempt (requests' timeout=, a Java client's read timeout)
  // When the call gets no 2xx answer after its attempts: kIgnore makes the
  // app carry on (Bookinfo: productpage renders an error box, reviews shows
  // "ratings unavailable" — both still answer 200); kFail makes it stop and
  // answer 500.
  enum class OnError : uint8_t { kIgnore, kFail };
  OnError on_error = OnError::kIgnore;
  int attempts = 1;             // tried again while the answer is not 2xx, up to this many times
  std::string target() const { return host + ":" + std::to_string(port); }
};

struct AppInference {
  ServerAppKind kind = ServerAppKind::kEcho;
  std::string reason;  // "port name \"mysql\"", "annotation meshsim.io/app=tcp-echo", "default: echo"
  std::vector<AppCall> calls;            // Bookinfo images: the calls the real service makes
  apps::HeaderPropagation propagate;     // and the headers it forwards (none for everything else)
};

// The calls and propagation of a Bookinfo image (docs/istio/telemetry.md §9),
// or false when `image` is not one: examples-bookinfo-productpage-v1 calls
// details:9080/details/0 then reviews:9080/reviews/0 (3 s each, reviews tried
// twice) with productpage's propagation; -details-v1 and -reviews-v1 are
// leaves that would forward the 20 names; -reviews-v2 / -v3 call
// ratings:9080/ratings/0 (10 s / 2.5 s); -ratings-v1 and every -ratings-v2
// variant are HTTP leaves.
bool bookinfo_app(std::string_view image, AppInference& out);
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
  // HTTP (echo and http-echo kinds): calls made, in order, for every request
  // before it is answered, and the inbound headers copied into them. Unset in
  // a scenario's or a test's override: the inferred ones (Bookinfo's images),
  // else none.
  std::optional<std::vector<AppCall>> calls;
  std::optional<apps::HeaderPropagation> propagate;
};

class AppHost;

// Identity of the pod an app runs in.
struct AppPodInfo {
  std::string ns, pod, version, service_account;
  std::string workload;  // the owning workload's name ("" for a bare pod)
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
  // A fault from now on (scenario appFault): requests answered with
  // `error_status` at `error_rate`, and/or a new latency; unset ones keep theirs.
  void set_behavior(std::optional<double> error_rate, std::optional<int> error_status,
                    const std::optional<LatencyModel>& latency);
  // Outbound calls made so far (attempts), and connections opened for them.
  uint64_t calls_made() const { return calls_made_; }
  uint64_t call_connections() const { return call_connections_; }

 private:
  struct Conn;
  struct Handling;  // an inbound request whose calls are under way
  struct Upstream;  // a keep-alive connection of the app's HTTP client
  TcpCallbacks accept(TcpSocket s, const ConnectionInfo& info);
  static bool handle_http(void* self, const proxy::http::Request& req, proxy::http::Response& resp);
  static bool hold_request(void* conn, const proxy::http::Request& req);
  void send_out(uint64_t conn, std::string_view plain, bool close_after);
  void next_call(uint64_t handling);
  void attempt(Handling& h);
  void send_call(Upstream& u, Handling& h);
  void call_done(uint64_t handling, AppOutcomeObservation::Outcome o, int status, const std::string& error);
  void drop_upstream(uint64_t upstream);
  void answer(uint64_t handling);
  Simulator& sim_;
  Network& net_;
  AppPodInfo pod_;
  std::string pod_key_;  // "ns/name"
  uint16_t port_;
  ServerAppOptions o_;
  ActorId actor_;
  EventKindId k_;
  RandomStream rng_;
  ListenerId listener_;
  std::shared_ptr<tls::TlsContext> tls_ctx_;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  uint64_t connections_ = 0;
  std::vector<AppCall> calls_;            // resolved from o_.calls
  apps::HeaderPropagation propagate_;     // resolved from o_.propagate
  EventKindId k_call_ = 0, k_call_timeout_ = 0;
  std::map<uint64_t, std::unique_ptr<Handling>> handlings_;
  std::map<uint64_t, std::unique_ptr<Upstream>> upstreams_;  // by id: reuse picks the oldest idle one
  uint64_t next_handling_ = 0, next_upstream_ = 0;
  uint64_t calls_made_ = 0, call_connections_ = 0;
};

// What a client application does.
struct ClientRequestSpec {
  std::string protocol = "http";  // http | grpc | tcp | mysql
  std::string target;             // "reviews:9080", "10.96.0.3:3306", "http://reviews:9080/path"
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::string> paths;  // non-empty: request n asks for paths[n % size] (instead of path)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string host_header;        // default: the target's host[:port]
  std::string body;
  std::string tcp_payload = "hello meshsim\n";  // tcp: bytes sent (and expected back from an echo)
  // grpc: the unary call /<service>/<method>; `grpc_message` fills field 1
  // of the request message (EchoRequest.message, HealthCheckRequest.service).
  std::string grpc_service = "grpc.health.v1.Health", grpc_method = "Check", grpc_message;
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
    int grpc_status = -1;  // grpc clients: the call's status
    std::string error;
    Duration latency;
    uint64_t connection = 0;
    proxy::http::Response response;
    std::vector<std::vector<std::string>> mysql_rows;
    std::string tcp_reply;
    std::optional<std::string> tls_alpn;
  };
  const Last& last() const { return last_; }
  // Called after each completed request with its outcome (the kubelet's probe
  // bookkeeping); after the outcome is published and before the next request.
  void set_on_complete(std::function<void(const Last&)> f) { on_complete_ = std::move(f); }

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
  std::function<void(const Last&)> on_complete_;
};

}  // namespace meshsim::sim
