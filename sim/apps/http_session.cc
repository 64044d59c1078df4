#include "sim/apps/http_session.h"

#include <charconv>

#include "proxy/http/grpc.h"
#include "proxy/http/http2_codec.h"
#include "proxy/http_inspector.h"
#include "sim/apps/httpbin.h"

namespace meshsim::sim::apps {

using proxy::http::ParseStatus;
using proxy::http::Request;
using proxy::http::Response;

void append_echo_body(const EchoIdentity& id, std::string_view peer_ip, const Request& req, std::string& b) {
  char port[8];
  auto [end, ec] = std::to_chars(port, port + sizeof port, id.port);
  (void)ec;
  b.append("ServiceVersion=").append(id.version).append("\n");
  b.append("ServicePort=").append(port, static_cast<size_t>(end - port)).append("\n");
  b.append("Host=").append(req.host()).append("\n");
  b.append("URL=").append(req.target).append("\n");
  b.append("Method=").append(req.method).append("\n");
  b.append("Proto=").append(req.version == 10 ? "HTTP/1.0" : req.version == 20 ? "HTTP/2.0" : "HTTP/1.1").append("\n");
  b.append("IP=").append(peer_ip).append("\n");
  b.append("Namespace=").append(id.namespace_).append("\n");
  for (proxy::http::Headers::Field f : req.headers) {
    b.append("RequestHeader=").append(f.name).append(":").append(f.value).append("\n");
  }
  b.append("Hostname=").append(id.pod).append("\n");
}

std::string echo_body(const EchoIdentity& id, const std::string& peer_ip, const Request& req) {
  std::string b;
  append_echo_body(id, peer_ip, req, b);
  return b;
}

namespace {

// Query parameter `name` of a request target, URL-decoded ("" if absent).
std::string query_value(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view qs = target.substr(q + 1);
  while (!qs.empty()) {
    size_t amp = qs.find('&');
    std::string_view kv = qs.substr(0, amp);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) == name && eq != std::string_view::npos) {
      std::string out;
      std::string_view v = kv.substr(eq + 1);
      for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '+') out += ' ';
        else if (v[i] == '%' && i + 2 < v.size()) {
          int x = 0;
          auto [p, ec] = std::from_chars(v.data() + i + 1, v.data() + i + 3, x, 16);
          if (ec == std::errc() && p == v.data() + i + 3) {
            out += static_cast<char>(x);
            i += 2;
          } else {
            out += v[i];
          }
        } else {
          out += v[i];
        }
      }
      return out;
    }
    if (amp == std::string_view::npos) break;
    qs.remove_prefix(amp + 1);
  }
  return "";
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool to_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Duration apply_echo_parameters(const Request& req, Response& r, uint64_t (*random)(void*), void* random_ctx) {
  Duration delay;
  if (req.target.find('?') == std::string::npos) return delay;
  std::string& body = r.body;
  if (std::string d = query_value(req.target, "delay"); !d.empty()) {
    auto parsed = parse_duration(d);
    if (parsed.ok()) delay = *parsed;
    else body.append("error delaying response error: time: invalid duration \"").append(d).append("\"\n");
  }
  if (std::string h = query_value(req.target, "headers"); !h.empty()) {
    for (std::string_view nv : split(h, ',')) {
      auto parts = split(nv, ':');
      if (parts.size() != 2) {
        body.append("response headers error: invalid \"").append(nv).append("\" (want name:value)\n");
        break;
      }
      r.headers.set(parts[0], parts[1]);
    }
  }
  if (std::string c = query_value(req.target, "codes"); !c.empty()) {
    struct Slice {
      int code, slices;
    };
    std::vector<Slice> codes;
    bool bad = false;
    for (std::string_view cs : split(c, ',')) {
      auto flavor = split(cs, ':');
      Slice sl{0, 1};
      if (flavor.size() > 2 || !to_int(flavor[0], sl.code) || sl.code < 200 || sl.code >= 600 ||
          (flavor.size() == 2 && (!to_int(flavor[1], sl.slices) || sl.slices < 0))) {
        bad = true;
        break;
      }
      codes.push_back(sl);
    }
    if (bad) {
      r.status = 400;
      body.append("codes error: invalid \"").append(c).append("\"\n");
    } else {
      int total = 0;
      for (const Slice& sl : codes) total += sl.slices;
      int slice = total > 0 && random ? static_cast<int>(random(random_ctx) % static_cast<uint64_t>(total)) : 0;
      // The echo server's walk: the last code unless an earlier running
      // position passes the slice.
      int code = codes.back().code;
      int position = 0;
      for (size_t n = 0; n < codes.size(); ++n) {
        if (position > slice) {
          code = codes[n - 1].code;
          break;
        }
        position += codes[n].slices;
      }
      r.status = code;
    }
  }
  return delay;
}

void answer_grpc(const EchoIdentity& id, std::string_view peer_ip, const Request& req, Response& r) {
  namespace grpc = proxy::http::grpc;
  r.status = 200;
  r.headers.set("content-type", "application/grpc");
  std::string_view path = req.path();
  auto fail = [&](int code, std::string_view message) {
    r.body.clear();
    r.trailers.set("grpc-status", std::to_string(code));
    r.trailers.set("grpc-message", grpc::percent_encode(message));
  };
  std::vector<std::string_view> frames;
  if (!grpc::split_frames(req.body, frames) || frames.size() != 1) {
    fail(grpc::kInternal, "grpc: error while reading the request message");
    return;
  }
  std::string message;
  if (path == kGrpcHealthCheck) {
    // grpc.health.v1.HealthCheckResponse{status: SERVING}: field 1, varint 1.
    grpc::append_varint_field(1, 1, message);
  } else if (path == kGrpcEcho) {
    // proto.EchoResponse{message}: field 1, the echo text Istio's echo returns.
    std::string text;
    if (auto m = grpc::bytes_field(frames.front(), 1)) text.append("Echo=").append(*m).append("\n");
    append_echo_body(id, peer_ip, req, text);
    grpc::append_bytes_field(1, text, message);
  } else {
    // grpc-go's unknown service / method status.
    std::string_view rest = path.substr(path.empty() ? 0 : 1);
    size_t slash = rest.find('/');
    std::string_view service = rest.substr(0, slash);
    std::string_view method = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (service == "grpc.health.v1.Health" || service == "proto.EchoTestService") {
      fail(grpc::kUnimplemented, "unknown method " + std::string(method) + " for service " + std::string(service));
    } else {
      fail(grpc::kUnimplemented, "unknown service " + std::string(service));
    }
    return;
  }
  r.body.clear();
  grpc::append_frame(message, r.body);
  r.trailers.set("grpc-status", "0");
}

EchoServerSession::EchoServerSession(EchoIdentity id, std::string peer_ip, uint16_t peer_port)
    : id_(std::move(id)), peer_ip_(std::move(peer_ip)), peer_port_(peer_port) {}

EchoServerSession::~EchoServerSession() = default;

bool EchoServerSession::on_data(std::string_view in, std::string& out) {
  if (raw_mode_) {
    out.append(in);
    return true;
  }
  if (h2_) {
    // A held request keeps later streams in the codec until its answer.
    if (pending_) {
      h2_->feed(in);
      h2_->drain_output(out);
      return !h2_->wants_close();
    }
    return drain_h2(h2_->feed_next(in), out);
  }
  if (pending_) {  // a held request: keep the bytes for after its answer
    parser_.feed(in);
    return true;
  }
  if (requests_ == 0 && parser_.buffered() == 0) {
    // Decide once, from the first bytes, whether the peer speaks HTTP.
    proxy::HttpInspection h = proxy::inspect_http(in);
    if (h.status == proxy::HttpInspection::Status::kDone && h.protocol.empty()) {
      raw_mode_ = true;
      out.append(in);
      return true;
    }
    if (h.status == proxy::HttpInspection::Status::kDone && h.protocol == "h2c") {
      h2_ = std::make_unique<proxy::http::Http2ServerCodec>();
      return drain_h2(h2_->feed_next(in), out);
    }
  }
  return drain(parser_.feed_next(in), out);
}

// h2c: every complete stream is answered at once (or held, one at a time).
bool EchoServerSession::drain_h2(ParseStatus st, std::string& out) {
  for (; st == ParseStatus::kComplete && !pending_; st = h2_->next()) {
    stream_ = h2_->take_into(req_);
    ++requests_;
    delay_ = Duration::zero();
    if (deferred_ && deferred_(deferred_ctx_, req_)) {
      pending_ = true;
      break;
    }
    Response& r = resp_;
    r.clear();
    r.version = 20;
    r.headers.set("content-type", "text/plain");
    bool handled = handler_ && handler_(handler_ctx_, req_, r);
    if (!handled && proxy::http::grpc::is_grpc_request(req_)) {
      answer_grpc(id_, peer_ip_, req_, r);
    } else if (!handled && id_.httpbin) {
      delay_ = answer_httpbin({peer_ip_, peer_port_}, req_, r, random_, random_ctx_);
    } else if (!handled) {
      r.status = 200;
      delay_ = apply_echo_parameters(req_, r, random_, random_ctx_);
      append_echo_body(id_, peer_ip_, req_, r.body);
    }
    h2_->encode(stream_, r, out);
  }
  h2_->drain_output(out);
  return !h2_->wants_close();
}

bool EchoServerSession::drain(ParseStatus st, std::string& out) {
  for (;; st = parser_.next()) {
    if (st == ParseStatus::kNeedMore) return true;
    if (st == ParseStatus::kError) {
      Response r;
      r.status = 400;
      r.headers.set("content-type", "text/plain");
      r.headers.set("connection", "close");
      r.body = "Bad Request";
      proxy::http::serialize(r, out);
      return false;
    }
    parser_.take_into(req_);
    const Request& req = req_;
    ++requests_;
    delay_ = Duration::zero();
    if (deferred_ && deferred_(deferred_ctx_, req)) {
      pending_ = true;
      return true;
    }
    Response& r = resp_;
    r.clear();
    r.version = req.version;
    r.headers.set("content-type", "text/plain");
    bool handled = handler_ && handler_(handler_ctx_, req, r);
    if (!handled && id_.httpbin) {
      delay_ = answer_httpbin({peer_ip_, peer_port_}, req, r, random_, random_ctx_);
    } else if (!handled) {
      r.status = 200;
      delay_ = apply_echo_parameters(req, r, random_, random_ctx_);
      append_echo_body(id_, peer_ip_, req, r.body);
    }
    if (!finish_response(out)) return false;
  }
}

// Connection handling of the answer in resp_ to req_, serialised into `out`.
bool EchoServerSession::finish_response(std::string& out) {
  bool keep = req_.keep_alive();
  if (!keep) resp_.headers.set("connection", "close");
  else if (req_.version == 10) resp_.headers.set("connection", "keep-alive");
  proxy::http::serialize(resp_, out);
  return keep;
}

bool EchoServerSession::complete(const Response& answer, std::string& out) {
  if (!pending_) return true;
  pending_ = false;
  if (h2_) {
    resp_ = answer;
    resp_.version = 20;
    if (!resp_.headers.has("content-type")) resp_.headers.set("content-type", "text/plain");
    h2_->encode(stream_, resp_, out);
    return drain_h2(h2_->next(), out);
  }
  resp_ = answer;
  resp_.version = req_.version;
  if (!resp_.headers.has("content-type")) resp_.headers.set("content-type", "text/plain");
  if (!finish_response(out)) return false;
  return drain(parser_.next(), out);
}

const char* grpc_go_code_name(int code) {
  static const char* kNames[] = {"OK",       "Canceled",          "Unknown",           "InvalidArgument",
                                 "DeadlineExceeded", "NotFound",   "AlreadyExists",     "PermissionDenied",
                                 "ResourceExhausted", "FailedPrecondition", "Aborted",   "OutOfRange",
                                 "Unimplemented", "Internal",      "Unavailable",       "DataLoss",
                                 "Unauthenticated"};
  return code >= 0 && code <= 16 ? kNames[code] : "Unknown";
}

HttpClientSession::HttpClientSession(std::string host_for_errors, uint16_t port_for_errors, bool grpc)
    : host_(std::move(host_for_errors)), port_(port_for_errors), grpc_(grpc) {}

HttpClientSession::~HttpClientSession() = default;

void HttpClientSession::send(const Request& req, std::string& out) {
  waiting_ = true;
  bytes_received_ = 0;
  outcome_.status = 0;
  outcome_.grpc_status = -1;
  outcome_.curl_exit = 0;
  outcome_.curl_error.clear();
  outcome_.response.clear();
  if (grpc_) {
    if (!h2_) h2_ = std::make_unique<proxy::http::Http2ClientCodec>();
    stream_ = h2_->submit(req, /*tls=*/false, out);
    if (stream_ == 0) fail(14, "rpc error: code = Unavailable desc = the connection is draining");
    return;
  }
  proxy::http::serialize(req, out);
  parser_.expect_head_response(req.method == "HEAD");
}

void HttpClientSession::take_output(std::string& out) {
  if (h2_) h2_->drain_output(out);
}

// grpc-go's status of a completed call: grpc-status (trailers, or the
// headers of a trailers-only response); a non-200 :status maps by gRPC's
// HTTP → status table with grpc-go's "unexpected HTTP status code" text.
void HttpClientSession::grpc_outcome() {
  namespace grpc = proxy::http::grpc;
  const Response& r = outcome_.response;
  outcome_.status = r.status;
  if (r.status != 200) {
    int code = grpc::http_to_grpc_status(r.status);
    outcome_.grpc_status = code;
    outcome_.curl_error = "rpc error: code = " + std::string(grpc_go_code_name(code)) +
                          " desc = unexpected HTTP status code received from server: " + std::to_string(r.status) +
                          " (" + std::string(proxy::http::reason_phrase(r.status)) + ")";
    return;
  }
  auto st = grpc::call_status(r);
  if (!st) {
    outcome_.grpc_status = grpc::kInternal;
    outcome_.curl_error = "rpc error: code = Internal desc = server closed the stream without sending trailers";
    return;
  }
  outcome_.grpc_status = st->code;
  if (st->code != 0) {
    outcome_.curl_error = "rpc error: code = " + std::string(grpc_go_code_name(st->code)) + " desc = " + st->message;
  }
}

bool HttpClientSession::on_data(std::string_view in) {
  if (!waiting_) return false;
  bytes_received_ += in.size();
  if (grpc_) {
    if (!h2_->feed(in)) {
      fail(14, "rpc error: code = Unavailable desc = connection error: " + h2_->error());
      return true;
    }
    proxy::http::Http2ClientCodec::Event e;
    while (h2_->next_event(e)) {
      if (e.stream != stream_) continue;
      if (e.kind == proxy::http::Http2ClientCodec::Event::Kind::kReset) {
        // grpc-go: RST_STREAM → "stream terminated by RST_STREAM with error code: X".
        int code = e.error_code == proxy::http::kH2RefusedStream ? 14 : e.error_code == proxy::http::kH2Cancel ? 1 : 13;
        waiting_ = false;
        outcome_.status = 0;
        outcome_.grpc_status = code;
        outcome_.curl_exit = 0;
        outcome_.curl_error = "rpc error: code = " + std::string(grpc_go_code_name(code)) +
                              " desc = stream terminated by RST_STREAM with error code: " +
                              proxy::http::h2_error_name(e.error_code);
        return true;
      }
      h2_->take_response(e.stream, outcome_.response);
      waiting_ = false;
      grpc_outcome();
      return true;
    }
    return false;
  }
  ParseStatus st = parser_.feed_next(in);
  if (st == ParseStatus::kNeedMore) return false;
  if (st == ParseStatus::kError) {
    fail(1, "curl: (1) Received HTTP/0.9 when not allowed");
    return true;
  }
  parser_.take_into(outcome_.response);
  outcome_.status = outcome_.response.status;
  waiting_ = false;
  return true;
}

void HttpClientSession::fail(int exit, std::string message) {
  waiting_ = false;
  outcome_.status = 0;
  outcome_.curl_exit = exit;
  if (grpc_) {
    // grpc-go's words for the transport failures curl reports by exit code.
    int code = exit == 28 ? 4 : 14;
    outcome_.grpc_status = code;
    if (message.rfind("rpc error:", 0) != 0) {
      std::string why;
      switch (exit) {
        case 7: why = "connection error: desc = \"transport: Error while dialing: dial tcp " + host_ + ":" +
                      std::to_string(port_) + ": connect: connection refused\""; break;
        case 28: why = "context deadline exceeded"; break;
        case 52: case 18: why = "error reading from server: EOF"; break;
        case 56: why = "error reading from server: read: connection reset by peer"; break;
        default: why = message; break;
      }
      message = "rpc error: code = " + std::string(grpc_go_code_name(code)) + " desc = " + why;
    }
  }
  outcome_.curl_error = std::move(message);
}

void HttpClientSession::on_connect_failed(int errno_value, int64_t elapsed_ms) {
  std::string why = errno_value == 111 ? "Couldn't connect to server"
                    : errno_value == 113 ? "No route to host"
                                         : "Connection timed out";
  if (errno_value == 110) {
    fail(28, "curl: (28) Failed to connect to " + host_ + " port " + std::to_string(port_) + " after " +
                 std::to_string(elapsed_ms) + " ms: Timeout was reached");
    return;
  }
  fail(7, "curl: (7) Failed to connect to " + host_ + " port " + std::to_string(port_) + " after " +
              std::to_string(elapsed_ms) + " ms: " + why);
}

void HttpClientSession::on_closed(bool reset, int64_t) {
  if (!waiting_) return;
  if (!reset) {
    if (parser_.mid_message() && parser_.finish_eof() == ParseStatus::kComplete) {
      outcome_.response = parser_.take();
      outcome_.status = outcome_.response.status;
      waiting_ = false;
      return;
    }
    if (bytes_received_ == 0) {
      fail(52, "curl: (52) Empty reply from server");
      return;
    }
    fail(18, "curl: (18) transfer closed with outstanding read data remaining");
    return;
  }
  fail(56, "curl: (56) Recv failure: Connection reset by peer");
}

void HttpClientSession::on_timeout(int64_t elapsed_ms) {
  if (!waiting_) return;
  fail(28, "curl: (28) Operation timed out after " + std::to_string(elapsed_ms) + " milliseconds with " +
               std::to_string(bytes_received_) + " bytes received");
}

void HttpClientSession::on_tls_failed(std::string_view why) {
  fail(35, "curl: (35) " + std::string(why));
}

}  // namespace meshsim::sim::apps
