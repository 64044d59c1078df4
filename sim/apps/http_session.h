// HTTP/1.1 application sessions as sans-I/O state machines (bytes in, bytes
// out), parsed with the proxy's Beast-based codec:
//  * EchoServerSession answers every request like Istio's test `echo` app
//    (pkg/test/echo): 200 with a text body of Key=Value lines describing the
//    request as the app saw it (host, URL, method, protocol, peer IP, every
//    request header, the serving pod) — so a test can see exactly what reached
//    the application, e.g. whether X-Forwarded-Client-Cert carried an identity.
//    Non-HTTP bytes are echoed back verbatim. A connection that starts with
//    the HTTP/2 preface is served as h2c (Istio's echo serves h2c on every
//    HTTP port: protocols.SetUnencryptedHTTP2), each stream answered as it completes.
//  * ClientSession sends requests on one keep-alive connection and reports
//    each outcome like curl does: the status code, or curl's exit code and
//    message when no response came ("curl: (56) Recv failure: Connection
//    reset by peer", http_code 000).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"

namespace meshsim::proxy::http {
class Http2ServerCodec;
class Http2ClientCodec;
}

namespace meshsim::sim::apps {

struct EchoIdentity {
  std::string pod;        // Hostname=
  std::string namespace_;
  std::string version;    // ServiceVersion= (the pod's "version" label)
  uint16_t port = 0;      // ServicePort=
  // The server is go-httpbin (Istio's samples/httpbin, sim/apps/httpbin.h)
  // rather than Istio's echo: requests are answered as go-httpbin does.
  bool httpbin = false;
};

class EchoServerSession {
 public:
  EchoServerSession(EchoIdentity id, std::string peer_ip, uint16_t peer_port = 0);
  ~EchoServerSession();
  // Bytes in; response bytes appended to `out`. Returns false when the
  // connection should be closed after `out` is sent.
  bool on_data(std::string_view in, std::string& out);
  uint64_t requests() const { return requests_; }
  // Hook for scenario-configured servers: fills the response for a request.
  using Handler = bool (*)(void* ctx, const proxy::http::Request&, proxy::http::Response&);
  void set_handler(Handler h, void* ctx) {
    handler_ = h;
    handler_ctx_ = ctx;
  }
  // The random source for ?codes= (the app's seeded stream).
  using Random = uint64_t (*)(void* ctx);
  void set_random(Random r, void* ctx) {
    random_ = r;
    random_ctx_ = ctx;
  }
  // The ?delay= the last request asked for (0 when none): the server app
  // holds the response that long.
  Duration requested_delay() const { return delay_; }

  // Hook for apps that answer later (an app that calls other services while
  // handling a request): returning true holds the request. The session then
  // parses no further request — bytes that arrive are buffered — until
  // complete() answers it; the request passed stays valid until then.
  using DeferredHandler = bool (*)(void* ctx, const proxy::http::Request&);
  void set_deferred_handler(DeferredHandler h, void* ctx) {
    deferred_ = h;
    deferred_ctx_ = ctx;
  }
  bool pending() const { return pending_; }
  // Answers the held request with `r` (status, headers, body as the app made
  // them; the session adds connection handling as for its own answers),
  // appending the bytes to `out`, then handles requests already buffered
  // (which may be held again). Returns false when the connection should be
  // closed after `out` is sent. Precondition: pending().
  bool complete(const proxy::http::Response& r, std::string& out);

 private:
  bool drain(proxy::http::ParseStatus st, std::string& out);
  bool drain_h2(proxy::http::ParseStatus st, std::string& out);
  bool finish_response(std::string& out);
  std::unique_ptr<proxy::http::Http2ServerCodec> h2_;  // h2c (prior knowledge)
  uint32_t stream_ = 0;  // h2c: the stream of req_
  EchoIdentity id_;
  std::string peer_ip_;
  uint16_t peer_port_ = 0;
  proxy::http::RequestParser parser_;
  proxy::http::Request req_;    // reused per request (buffers kept)
  proxy::http::Response resp_;
  bool raw_mode_ = false;  // the first bytes were not HTTP: echo bytes back
  uint64_t requests_ = 0;
  Handler handler_ = nullptr;
  void* handler_ctx_ = nullptr;
  Random random_ = nullptr;
  void* random_ctx_ = nullptr;
  DeferredHandler deferred_ = nullptr;
  void* deferred_ctx_ = nullptr;
  bool pending_ = false;
  Duration delay_;
};

// What Istio's echo server (pkg/test/echo/server/endpoint/http.go) lets a
// request ask for with its query parameters: ?delay=DURATION (Go syntax:
// 100ms, 1.5s) holds the response, ?headers=name:value[,name:value] adds
// response headers, ?codes=code[:slices][,…] picks the status from a pie of
// weighted codes (Go's slice walk, drawn from `random`). Malformed values
// are reported in the body as the echo server writes them. Returns the
// delay.
Duration apply_echo_parameters(const proxy::http::Request& req, proxy::http::Response& r, uint64_t (*random)(void*),
                               void* random_ctx);

// gRPC on the echo app's h2c connections (Istio's echo serves
// proto.EchoTestService; every gRPC server of grpc-go serves the health
// service): /grpc.health.v1.Health/Check answers HealthCheckResponse
// {status: SERVING}; /proto.EchoTestService/Echo answers EchoResponse
// {message: "Echo=<request message>" + the echo text}; other methods
// UNIMPLEMENTED with grpc-go's message. Status in trailers.
inline constexpr std::string_view kGrpcHealthCheck = "/grpc.health.v1.Health/Check";
inline constexpr std::string_view kGrpcEcho = "/proto.EchoTestService/Echo";
void answer_grpc(const EchoIdentity& id, std::string_view peer_ip, const proxy::http::Request& req,
                 proxy::http::Response& r);

// The body Istio's echo app would return for `req`.
std::string echo_body(const EchoIdentity& id, const std::string& peer_ip, const proxy::http::Request& req);
void append_echo_body(const EchoIdentity& id, std::string_view peer_ip, const proxy::http::Request& req,
                      std::string& out);

// grpc-go's name of a status code ("Unavailable", "PermissionDenied", …).
const char* grpc_go_code_name(int code);

// One request's result as a client application sees it.
struct HttpOutcome {
  int status = 0;           // 0 when no response (curl prints 000)
  int grpc_status = -1;     // gRPC calls: the call's status (-1: not a gRPC call)
  int curl_exit = 0;        // 0 on a response; 7, 28, 52, 56, 35 … otherwise
  std::string curl_error;   // "curl: (56) Recv failure: Connection reset by peer"
  proxy::http::Response response;
};

// HTTP/1.1 like curl, or — constructed with grpc = true — a gRPC client
// like grpc-go over h2c (prior knowledge): one HTTP/2 connection, a stream
// per call, the call's status from grpc-status (trailers or trailers-only
// headers; a non-200 :status maps as grpc-go maps it), failures in
// grpc-go's words ("rpc error: code = Unavailable desc = …").
class HttpClientSession {
 public:
  // A request to send; the caller has connected (or is connecting).
  explicit HttpClientSession(std::string host_for_errors, uint16_t port_for_errors, bool grpc = false);
  ~HttpClientSession();
  // Serialises `req` into `out` (after the connection is up) and waits.
  void send(const proxy::http::Request& req, std::string& out);
  // Names another host/port in error texts (a session reused for a new connection).
  void retarget(std::string_view host_for_errors, uint16_t port_for_errors) {
    if (host_ != host_for_errors) host_.assign(host_for_errors);
    port_ = port_for_errors;
  }
  // Response bytes in. Returns true when the awaited response completed.
  bool on_data(std::string_view in);
  // gRPC: frames the HTTP/2 codec wants sent after on_data (SETTINGS ACK,
  // WINDOW_UPDATE, PING ACK), appended to `out`.
  void take_output(std::string& out);
  bool grpc() const { return grpc_; }
  // The connection failed or ended before a response: errno as the kernel says.
  void on_connect_failed(int errno_value, int64_t elapsed_ms);
  void on_closed(bool reset, int64_t elapsed_ms);
  void on_timeout(int64_t elapsed_ms);
  // A TLS error from the client's own TLS stack (curl exit 35).
  void on_tls_failed(std::string_view why);

  bool waiting() const { return waiting_; }
  const HttpOutcome& outcome() const { return outcome_; }

 private:
  void fail(int exit, std::string message);
  void grpc_outcome();
  std::string host_;
  uint16_t port_;
  bool grpc_ = false;
  std::unique_ptr<proxy::http::Http2ClientCodec> h2_;
  uint32_t stream_ = 0;
  proxy::http::ResponseParser parser_;
  bool waiting_ = false;
  uint64_t bytes_received_ = 0;
  HttpOutcome outcome_;
};

}  // namespace meshsim::sim::apps
