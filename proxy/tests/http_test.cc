#include <gtest/gtest.h>

#include "proxy/http/message.h"
#include "proxy/http/parser.h"

namespace meshsim::proxy::http {
namespace {

TEST(HttpParser, ParsesARequestFedByteByByte) {
  std::string wire =
      "POST /api/v1/reviews?x=1 HTTP/1.1\r\nHost: reviews:9080\r\nX-Request-Id: abc\r\n"
      "Content-Length: 5\r\n\r\nhello";
  RequestParser p;
  ParseStatus st = ParseStatus::kNeedMore;
  for (char c : wire) {
    ASSERT_EQ(st, ParseStatus::kNeedMore);
    p.feed(std::string_view(&c, 1));
    st = p.next();
  }
  ASSERT_EQ(st, ParseStatus::kComplete);
  Request r = p.take();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/v1/reviews?x=1");
  EXPECT_EQ(r.path(), "/api/v1/reviews");
  EXPECT_EQ(r.host(), "reviews:9080");
  EXPECT_EQ(r.headers.get("x-request-id").value(), "abc");
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(r.keep_alive());
}

// Expect: 100-continue — the parser says so once, when the headers are in and
// the body is not (the HCM then answers 100 itself, as Envoy does).
TEST(HttpParser, ExpectContinueIsReportedOnceBetweenHeadersAndBody) {
  RequestParser p;
  EXPECT_EQ(p.feed_next("POST /post HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-"), ParseStatus::kNeedMore);
  EXPECT_FALSE(p.take_continue());  // headers not complete yet
  EXPECT_EQ(p.feed_next("Length: 5\r\n\r\n"), ParseStatus::kNeedMore);
  EXPECT_TRUE(p.take_continue());
  EXPECT_FALSE(p.take_continue());  // once
  EXPECT_EQ(p.feed_next("hello"), ParseStatus::kComplete);
  Request r = p.take();
  EXPECT_EQ(r.body, "hello");
  RequestParser q;  // without Expect, or with the whole body at once: no interim response
  EXPECT_EQ(q.feed_next("POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"), ParseStatus::kNeedMore);
  EXPECT_FALSE(q.take_continue());
  RequestParser whole;
  EXPECT_EQ(whole.feed_next("POST /post HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"),
            ParseStatus::kComplete);
  EXPECT_FALSE(whole.take_continue());
}

// Regression (sidecar_http_fuzz): a request split inside its header block,
// fed with feed_next from buffers the caller reuses. Beast reports the fields
// of the incomplete block, then parses the block again from the next buffer;
// the fields must come from the bytes that are still there.
TEST(HttpParser, HeadersSplitAcrossReadsFromReusedBuffersAreParsedFromLiveBytes) {
  const std::string wire =
      "POST /x HTTP/1.1\r\nHost: reviews:9080\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  for (size_t split = 1; split < wire.size(); ++split) {
    RequestParser p;
    std::string read = wire.substr(0, split);
    ParseStatus st = p.feed_next(read);
    read.assign(read.size(), 'X');  // the caller's buffer is reused for the next read
    if (st == ParseStatus::kNeedMore) {
      std::string second = wire.substr(split);
      st = p.feed_next(second);
    }
    ASSERT_EQ(st, ParseStatus::kComplete) << "split at " << split;
    Request r = p.take();
    EXPECT_EQ(r.method, "POST") << split;
    EXPECT_EQ(r.host(), "reviews:9080") << split;
    EXPECT_EQ(r.headers.size(), 2u) << split;
    EXPECT_EQ(r.headers.get("transfer-encoding").value_or(""), "chunked") << split;
    EXPECT_EQ(r.body, "hello") << split;
  }
}

// Regression (sidecar_http_fuzz): an obsolete line fold (a header line that
// starts with a space continues the previous value). Beast rebuilds such a
// value in its own buffer, outside the bytes being parsed.
TEST(HttpParser, ObsoleteLineFoldingIsParsedFromTheRebuiltValue) {
  const std::string wire = "GET / HTTP/1.1\r\nHost: reviews\r\n jangth( 0\r\nX-A: b\r\n\r\n";
  RequestParser p;
  ASSERT_EQ(p.feed_next(wire), ParseStatus::kComplete);
  Request r = p.take();
  EXPECT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.host().substr(0, 7), "reviews");
  EXPECT_NE(r.host().find("jangth( 0"), std::string_view::npos) << r.host();
  EXPECT_EQ(r.headers.get("x-a").value_or(""), "b");
}

TEST(HttpParser, KeepsPipelinedRequestsApart) {
  RequestParser p;
  p.feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(p.next(), ParseStatus::kComplete);
  EXPECT_EQ(p.take().target, "/a");
  ASSERT_EQ(p.next(), ParseStatus::kComplete);
  Request b = p.take();
  EXPECT_EQ(b.target, "/b");
  EXPECT_FALSE(b.keep_alive());
  EXPECT_EQ(p.next(), ParseStatus::kNeedMore);
}

TEST(HttpParser, RejectsTlsBytesAsAnHttpRequest) {
  RequestParser p;
  const unsigned char hello[] = {0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03};
  p.feed(std::string_view(reinterpret_cast<const char*>(hello), sizeof hello));
  EXPECT_EQ(p.next(), ParseStatus::kError);
  EXPECT_FALSE(p.error().empty());
}

TEST(HttpParser, DecodesChunkedResponsesAndReframesThem) {
  ResponseParser p;
  p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_EQ(p.next(), ParseStatus::kComplete);
  Response r = p.take();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
  std::string out = serialize(r);
  EXPECT_EQ(out.find("chunked"), std::string::npos) << out;
  EXPECT_NE(out.find("content-length: 11\r\n"), std::string::npos) << out;
}

TEST(HttpParser, HeadResponsesHaveNoBodyAndCloseDelimitedBodiesEndAtEof) {
  ResponseParser head;
  head.expect_head_response(true);
  head.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  ASSERT_EQ(head.next(), ParseStatus::kComplete);
  EXPECT_EQ(head.take().body, "");

  ResponseParser eof;
  eof.feed("HTTP/1.0 200 OK\r\n\r\npartial");
  EXPECT_EQ(eof.next(), ParseStatus::kNeedMore);
  eof.feed(" body");
  ASSERT_EQ(eof.finish_eof(), ParseStatus::kComplete);
  EXPECT_EQ(eof.take().body, "partial body");
}

TEST(HttpMessage, SerializesWithContentLengthAndRoundTrips) {
  Request r;
  r.method = "PUT";
  r.target = "/x";
  r.headers.add("Host", "httpbin:8000");
  r.body = "abc";
  std::string wire = serialize(r);
  EXPECT_EQ(wire, "PUT /x HTTP/1.1\r\nHost: httpbin:8000\r\ncontent-length: 3\r\n\r\nabc");
  RequestParser p;
  p.feed(wire);
  ASSERT_EQ(p.next(), ParseStatus::kComplete);
  EXPECT_EQ(p.take().body, "abc");
}

TEST(HttpHeaders, SetReplacesAllCaseInsensitively) {
  Headers h;
  h.add("X-A", "1");
  h.add("x-a", "2");
  h.add("Other", "o");
  h.set("X-a", "3");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.get("x-A").value(), "3");
  EXPECT_EQ(h.remove("OTHER"), 1u);
  EXPECT_FALSE(h.has("other"));
}

TEST(HttpMessage, KeepAliveFollowsVersionAndConnectionHeader) {
  Request a;
  a.version = 10;
  EXPECT_FALSE(a.keep_alive());
  a.headers.add("Connection", "Keep-Alive");
  EXPECT_TRUE(a.keep_alive());
  Response b;
  b.headers.add("connection", "upgrade, close");
  EXPECT_FALSE(b.keep_alive());
}

}  // namespace
}  // namespace meshsim::proxy::http
