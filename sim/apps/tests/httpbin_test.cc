// go-httpbin's answers, checked against go-httpbin v2.15.0's own test tables
// (httpbin/handlers_test.go: TestStatus, TestDelay, TestIP, TestCORS,
// TestHeaders, TestGet) — the expectations are theirs, not ours.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "proxy/http/parser.h"
#include "sim/apps/http_session.h"
#include "sim/apps/httpbin.h"

namespace meshsim::sim::apps {
namespace {

using proxy::http::Request;
using proxy::http::Response;

uint64_t counter(void* ctx) { return (*static_cast<uint64_t*>(ctx))++ * 0x9E3779B97F4A7C15ull; }

struct Answer {
  Response r;
  Duration delay;
  nlohmann::json json() const { return nlohmann::json::parse(r.body); }
  std::string header(std::string_view n) const {
    auto v = r.headers.get(n);
    return v ? std::string(*v) : std::string("<absent>");
  }
};

Answer ask(std::string method, std::string target, std::vector<std::pair<std::string, std::string>> headers = {},
           std::string body = "") {
  Request req;
  req.method = std::move(method);
  req.target = std::move(target);
  req.headers.set("Host", "httpbin:8000");
  for (auto& [k, v] : headers) req.headers.add(k, v);
  req.body = std::move(body);
  static uint64_t seq = 1;
  Answer a;
  a.delay = answer_httpbin({"192.168.0.100", 51234}, req, a.r, &counter, &seq);
  return a;
}

TEST(Httpbin, StatusTableOfGoHttpbinsTests) {
  struct Case {
    int code;
    std::string location, body;
  } cases[] = {
      {200, "", ""},
      {300, "/image/jpeg",
       "<!doctype html>\n<head>\n<title>Multiple Choices</title>\n</head>\n<body>\n<ul>\n"
       "<li><a href=\"/image/jpeg\">/image/jpeg</a></li>\n<li><a href=\"/image/png\">/image/png</a></li>\n"
       "<li><a href=\"/image/svg\">/image/svg</a></li>\n</body>\n</html>"},
      {301, "/redirect/1", ""},
      {302, "/redirect/1", ""},
      {308, "/image/jpeg",
       "<!doctype html>\n<head>\n<title>Permanent Redirect</title>\n</head>\n<body>Permanently redirected to "
       "<a href=\"/image/jpeg\">/image/jpeg</a>\n</body>\n</html>"},
      {401, "", ""},
      {418, "", "I'm a teapot!"},
      {500, "", ""},
      {599, "", ""},
  };
  for (const Case& c : cases) {
    Answer a = ask("GET", "/status/" + std::to_string(c.code));
    EXPECT_EQ(a.r.status, c.code);
    EXPECT_EQ(a.r.body, c.body) << c.code;
    if (!c.location.empty()) {
      EXPECT_EQ(a.header("Location"), c.location) << c.code;
    }
  }
  EXPECT_EQ(ask("GET", "/status/401").header("WWW-Authenticate"), "Basic realm=\"Fake Realm\"");
  for (auto [url, status] : std::vector<std::pair<std::string, int>>{{"/status", 404},
                                                                     {"/status/", 404},
                                                                     {"/status/200/foo", 404},
                                                                     {"/status/3.14", 400},
                                                                     {"/status/foo", 400},
                                                                     {"/status/600", 400},
                                                                     {"/status/1024", 400}}) {
    EXPECT_EQ(ask("GET", url).r.status, status) << url;
  }
  // The error body is writeError's JSON with strconv's message.
  nlohmann::json e = ask("GET", "/status/foo").json();
  EXPECT_EQ(e["status_code"], 400);
  EXPECT_EQ(e["error"], "Bad Request");
  EXPECT_EQ(e["detail"], "invalid status code: \"foo\": strconv.Atoi: parsing \"foo\": invalid syntax");
  EXPECT_EQ(ask("GET", "/status/600").json()["detail"], "invalid status code: 600 not in range [100, 599]");
}

TEST(Httpbin, WeightedStatusChoicesPickOnlyListedCodes) {
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) seen.insert(ask("GET", "/status/200:0.7,429:0.2,503:0.1").r.status);
  EXPECT_TRUE(seen.count(200) && seen.count(429) && seen.count(503));
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(ask("GET", "/status/200:foo,503").r.status, 400);
}

TEST(Httpbin, DelayAcceptsGoDurationsAndSecondsWithinTheMaximum) {
  for (auto [url, ms] : std::vector<std::pair<std::string, int64_t>>{
           {"/delay/0ms", 0}, {"/delay/500ms", 500}, {"/delay/0", 0}, {"/delay/0.5", 500}, {"/delay/10", 10000}}) {
    Answer a = ask("GET", url);
    EXPECT_EQ(a.r.status, 200) << url;
    EXPECT_EQ(a.delay, Duration::millis(ms)) << url;
    char timing[80];
    std::snprintf(timing, sizeof timing, "initial_delay;dur=%0.2f;desc=\"initial delay\"", static_cast<double>(ms));
    EXPECT_EQ(a.header("Server-Timing"), timing) << url;
    EXPECT_EQ(a.json()["url"], "http://httpbin:8000" + url);
  }
  for (auto [url, status] : std::vector<std::pair<std::string, int>>{{"/delay", 404},
                                                                     {"/delay/foo", 400},
                                                                     {"/delay/1/foo", 404},
                                                                     {"/delay/10.5s", 400},
                                                                     {"/delay/-1ms", 400},
                                                                     {"/delay/-1", 400},
                                                                     {"/delay/-3.14", 400}}) {
    Answer a = ask("GET", url);
    EXPECT_EQ(a.r.status, status) << url;
    EXPECT_EQ(a.delay, Duration::zero()) << url;
  }
  EXPECT_EQ(ask("GET", "/delay/11s").json()["detail"], "invalid duration: duration 11s longer than 10s");
}

TEST(Httpbin, OriginIsRemoteAddrOrTheFirstForwardedFor) {
  EXPECT_EQ(ask("GET", "/ip").json()["origin"], "192.168.0.100:51234");  // r.RemoteAddr keeps the port
  EXPECT_EQ(ask("GET", "/ip", {{"X-Forwarded-For", ""}}).json()["origin"], "192.168.0.100:51234");
  EXPECT_EQ(ask("GET", "/ip", {{"X-Forwarded-For", "10.1.1.1, 10.2.2.2, 10.3.3.3"}}).json()["origin"], "10.1.1.1");
  EXPECT_EQ(ask("GET", "/ip", {{"X-Forwarded-For", "10.1.1.1"}}).json()["origin"], "10.1.1.1");
  EXPECT_EQ(ask("GET", "/ip").header("Content-Type"), "application/json; charset=utf-8");
}

TEST(Httpbin, CorsOnEveryAnswerAndPreflightBeforeRouting) {
  EXPECT_EQ(ask("GET", "/get").header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(ask("GET", "/get", {{"Origin", "origin"}}).header("Access-Control-Allow-Origin"), "origin");
  Answer o = ask("OPTIONS", "/get");
  EXPECT_EQ(o.r.status, 200);
  EXPECT_EQ(o.header("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(o.header("Access-Control-Allow-Methods"), "GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS");
  EXPECT_EQ(o.header("Access-Control-Max-Age"), "3600");
  EXPECT_EQ(o.header("Access-Control-Allow-Headers"), "<absent>");
  EXPECT_EQ(ask("OPTIONS", "/get", {{"Access-Control-Request-Headers", "X-Test-Header"}})
                .header("Access-Control-Allow-Headers"),
            "X-Test-Header");
}

TEST(Httpbin, HeadersAreGoCanonicalArraysSortedWithHost) {
  Answer a = ask("GET", "/headers", {{"x-request-id", "r1"}, {"X-B3-TRACEID", "abc"}, {"foo", "1"}, {"foo", "2"}});
  EXPECT_EQ(a.r.body,
            "{\n"
            "  \"headers\": {\n"
            "    \"Foo\": [\n      \"1\",\n      \"2\"\n    ],\n"
            "    \"Host\": [\n      \"httpbin:8000\"\n    ],\n"
            "    \"X-B3-Traceid\": [\n      \"abc\"\n    ],\n"
            "    \"X-Request-Id\": [\n      \"r1\"\n    ]\n"
            "  }\n"
            "}\n");
  EXPECT_EQ(canonical_header_key("x-forwarded-client-cert"), "X-Forwarded-Client-Cert");
  EXPECT_EQ(canonical_header_key("bad header"), "bad header");
}

TEST(Httpbin, GetAndAnythingDescribeTheRequest) {
  nlohmann::json g = ask("GET", "/get?foo=bar&foo=baz&x=a+b%21", {{"X-Forwarded-Proto", "http"}}).json();
  EXPECT_EQ(g["args"], nlohmann::json::parse(R"({"foo":["bar","baz"],"x":["a b!"]})"));
  EXPECT_EQ(g["method"], "GET");
  EXPECT_EQ(g["url"], "http://httpbin:8000/get?foo=bar&foo=baz&x=a+b%21");
  EXPECT_FALSE(g.contains("data"));
  EXPECT_EQ(ask("POST", "/get").r.status, 405);
  EXPECT_EQ(ask("POST", "/get").header("Allow"), "GET, HEAD");
  nlohmann::json p = ask("POST", "/anything/x", {{"Content-Type", "application/json"}}, R"({"b":1,"a":[true]})").json();
  EXPECT_EQ(p["method"], "POST");
  EXPECT_EQ(p["data"], R"({"b":1,"a":[true]})");
  EXPECT_EQ(p["json"], nlohmann::json::parse(R"({"a":[true],"b":1})"));
  EXPECT_EQ(p["form"], nlohmann::json::object());
  nlohmann::json f = ask("PUT", "/put", {{"Content-Type", "application/x-www-form-urlencoded"}}, "k=v&k=w").json();
  EXPECT_EQ(f["form"], nlohmann::json::parse(R"({"k":["v","w"]})"));
  Answer head = ask("HEAD", "/get");
  EXPECT_EQ(head.r.status, 200);
  EXPECT_TRUE(head.r.body.empty());
  Answer missing = ask("GET", "/nope");
  EXPECT_EQ(missing.r.status, 404);
  EXPECT_EQ(missing.r.body, "404 page not found\n");
  Answer unsimulated = ask("GET", "/image/png");
  EXPECT_EQ(unsimulated.r.status, 501);
  EXPECT_NE(unsimulated.r.body.find("not simulated"), std::string::npos);
}

TEST(Httpbin, EchoSessionServesHttpbinOverTheWire) {
  EchoIdentity id{"httpbin-0", "default", "v1", 8080, true};
  EchoServerSession s(id, "127.0.0.6", 40000);
  std::string out;
  EXPECT_TRUE(s.on_data("GET /status/418 HTTP/1.1\r\nHost: httpbin:8000\r\n\r\n", out));
  proxy::http::ResponseParser p;
  p.feed(out);
  ASSERT_EQ(p.next(), proxy::http::ParseStatus::kComplete);
  Response r = p.take();
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.body, "I'm a teapot!");
  out.clear();
  EXPECT_TRUE(s.on_data("GET /delay/2 HTTP/1.1\r\nHost: httpbin:8000\r\n\r\n", out));
  EXPECT_EQ(s.requested_delay(), Duration::seconds(2));
}

}  // namespace
}  // namespace meshsim::sim::apps
