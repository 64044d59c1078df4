#include "proxy/http_inspector.h"

#include <gtest/gtest.h>

namespace meshsim::proxy {
namespace {

TEST(HttpInspector, DetectsHttp11AndHttp10FromTheRequestLine) {
  EXPECT_EQ(inspect_http("GET / HTTP/1.1\r\nHost: x\r\n").protocol, "http/1.1");
  EXPECT_EQ(inspect_http("GET /index HTTP/1.0\r\n").protocol, "http/1.0");
  EXPECT_EQ(inspect_http("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").protocol, "h2c");
}

TEST(HttpInspector, WaitsWhileTheBytesCouldStillBeHttp) {
  EXPECT_EQ(inspect_http("").status, HttpInspection::Status::kNeedMoreBytes);
  EXPECT_EQ(inspect_http("GE").status, HttpInspection::Status::kNeedMoreBytes);
  EXPECT_EQ(inspect_http("GET /very/long").status, HttpInspection::Status::kNeedMoreBytes);
  EXPECT_EQ(inspect_http("GET / HTTP/1.").status, HttpInspection::Status::kNeedMoreBytes);
  EXPECT_EQ(inspect_http("PRI * HTTP/2").status, HttpInspection::Status::kNeedMoreBytes);
}

TEST(HttpInspector, DecidesNotHttpAsSoonAsTheBytesCannotBeARequestLine) {
  const char tls[] = "\x16\x03\x01\x00\xa5";
  auto r = inspect_http(std::string_view(tls, 5));
  EXPECT_EQ(r.status, HttpInspection::Status::kDone);
  EXPECT_EQ(r.protocol, "");
  // A MySQL client's handshake response starts with a length and sequence id.
  EXPECT_EQ(inspect_http(std::string_view("\x55\x00\x00\x01\x85\xa6", 6)).protocol, "");
  EXPECT_EQ(inspect_http("hello world\n").protocol, "");
  EXPECT_EQ(inspect_http("GET / SPDY/3\r\n").protocol, "");
}

}  // namespace
}  // namespace meshsim::proxy
