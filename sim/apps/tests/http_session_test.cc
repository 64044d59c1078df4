#include <gtest/gtest.h>

#include "sim/apps/http_session.h"

namespace meshsim::sim::apps {
namespace {

TEST(EchoServer, DescribesTheRequestItReceived) {
  EchoServerSession s({"httpbin-0", "default", "v1", 8000}, "10.244.0.5");
  std::string out;
  EXPECT_TRUE(s.on_data("GET /headers?x=1 HTTP/1.1\r\nHost: httpbin:8000\r\nX-Forwarded-Client-Cert: By=a;URI=b\r\n\r\n", out));
  proxy::http::ResponseParser p;
  p.feed(out);
  ASSERT_EQ(p.next(), proxy::http::ParseStatus::kComplete);
  auto r = p.take();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("URL=/headers?x=1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("IP=10.244.0.5\n"), std::string::npos);
  EXPECT_NE(r.body.find("RequestHeader=X-Forwarded-Client-Cert:By=a;URI=b\n"), std::string::npos);
  EXPECT_NE(r.body.find("Hostname=httpbin-0\n"), std::string::npos);
  EXPECT_NE(r.body.find("ServicePort=8000\n"), std::string::npos);
}

TEST(EchoServer, EchoesNonHttpBytesVerbatim) {
  EchoServerSession s({}, "10.0.0.1");
  std::string out;
  const char tls[] = "\x16\x03\x01\x00\x05hello";
  EXPECT_TRUE(s.on_data(std::string_view(tls, 10), out));
  EXPECT_EQ(out, std::string(tls, 10));
  out.clear();
  s.on_data("more", out);
  EXPECT_EQ(out, "more");
  EXPECT_EQ(s.requests(), 0u);
}

TEST(EchoServer, ClosesAfterAConnectionCloseRequest) {
  EchoServerSession s({}, "10.0.0.1");
  std::string out;
  EXPECT_FALSE(s.on_data("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out));
  EXPECT_NE(out.find("connection: close"), std::string::npos);
}

TEST(HttpClient, ReportsCurlStyleFailures) {
  HttpClientSession a("reviews", 9080);
  std::string out;
  proxy::http::Request req;
  a.send(req, out);
  a.on_closed(true, 3);
  EXPECT_EQ(a.outcome().status, 0);
  EXPECT_EQ(a.outcome().curl_exit, 56);
  EXPECT_EQ(a.outcome().curl_error, "curl: (56) Recv failure: Connection reset by peer");

  HttpClientSession b("reviews", 9080);
  b.send(req, out);
  b.on_closed(false, 3);
  EXPECT_EQ(b.outcome().curl_exit, 52);

  HttpClientSession c("reviews", 9080);
  c.send(req, out);
  c.on_connect_failed(111, 0);
  EXPECT_EQ(c.outcome().curl_error, "curl: (7) Failed to connect to reviews port 9080 after 0 ms: Couldn't connect to server");
}

TEST(HttpClient, CompletesOnAFullResponseEvenAcrossWrites) {
  HttpClientSession a("x", 80);
  std::string out;
  a.send(proxy::http::Request{}, out);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(a.on_data("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 19\r\n\r\nno healthy"));
  EXPECT_TRUE(a.on_data(" upstream"));
  EXPECT_EQ(a.outcome().status, 503);
  EXPECT_EQ(a.outcome().response.body, "no healthy upstream");
}

}  // namespace
}  // namespace meshsim::sim::apps

namespace meshsim::sim::apps {
namespace {

// Istio's echo server query parameters (pkg/test/echo/server/endpoint/http.go).
TEST(EchoParameters, DelayHeadersAndCodes) {
  proxy::http::Request req;
  req.target = "/x?delay=1500ms&headers=x-a:1,x-b:two&codes=503";
  proxy::http::Response r;
  r.status = 200;
  Duration d = apply_echo_parameters(req, r, nullptr, nullptr);
  EXPECT_EQ(d, Duration::millis(1500));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.get("x-a").value_or(""), "1");
  EXPECT_EQ(r.headers.get("x-b").value_or(""), "two");
}

TEST(EchoParameters, WeightedCodesFollowTheEchoServersSliceWalk) {
  // codes=500:1,200:3 — slices 0..3; the walk returns 500 only for slice 0.
  int n500 = 0;
  for (uint64_t slice = 0; slice < 4; ++slice) {
    proxy::http::Request req;
    req.target = "/?codes=500:1,200:3";
    proxy::http::Response r;
    uint64_t s = slice;
    apply_echo_parameters(req, r, [](void* c) { return *static_cast<uint64_t*>(c); }, &s);
    n500 += r.status == 500;
    EXPECT_TRUE(r.status == 500 || r.status == 200);
  }
  EXPECT_EQ(n500, 1);
}

TEST(EchoParameters, MalformedValuesAreReportedInTheBody) {
  proxy::http::Request req;
  req.target = "/?delay=soon&codes=99";
  proxy::http::Response r;
  r.status = 200;
  apply_echo_parameters(req, r, nullptr, nullptr);
  EXPECT_NE(r.body.find("invalid duration"), std::string::npos) << r.body;
  EXPECT_EQ(r.status, 400);
}

}  // namespace
}  // namespace meshsim::sim::apps

namespace meshsim::sim::apps {
namespace {

// An app that calls other services holds each request; the next pipelined
// request waits in the session until the first is answered.
TEST(EchoServer, DeferredRequestsAreAnsweredInOrderWhenCompleted) {
  EchoServerSession s({}, "10.0.0.1");
  int held = 0;
  std::string last_target;
  struct Ctx {
    int* held;
    std::string* target;
  } ctx{&held, &last_target};
  s.set_deferred_handler(
      [](void* c, const proxy::http::Request& req) {
        auto* x = static_cast<Ctx*>(c);
        ++*x->held;
        *x->target = req.target;
        return true;
      },
      &ctx);
  std::string out;
  EXPECT_TRUE(s.on_data("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n", out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(s.pending());
  EXPECT_EQ(held, 1);
  EXPECT_EQ(last_target, "/a");
  EXPECT_TRUE(s.on_data("Connection: close\r\n\r\n", out));  // buffered while /a is held
  EXPECT_EQ(held, 1);
  proxy::http::Response r;
  r.status = 200;
  r.body = "first";
  EXPECT_TRUE(s.complete(r, out));  // answers /a, then holds /b
  EXPECT_EQ(held, 2);
  EXPECT_EQ(last_target, "/b");
  r.body = "second";
  EXPECT_FALSE(s.complete(r, out));  // /b asked for Connection: close
  proxy::http::ResponseParser p;
  p.feed(out);
  ASSERT_EQ(p.next(), proxy::http::ParseStatus::kComplete);
  EXPECT_EQ(p.take().body, "first");
  ASSERT_EQ(p.next(), proxy::http::ParseStatus::kComplete);
  auto second = p.take();
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(second.headers.get("connection").value_or(""), "close");
}

}  // namespace
}  // namespace meshsim::sim::apps
