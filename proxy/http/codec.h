// HTTP codecs: bytes ⇄ messages for the connection manager (server side) and
// the router's upstream connections (client side). The server codec is
// pull-based — feed bytes, then take complete requests one at a time with a
// stream id — so a multiplexing codec (HTTP/2) fits the same interface with
// several streams in flight; HTTP/1.1 has one stream at a time and keeps
// pipelined bytes buffered until the connection manager asks for the next.
//
// Http1ServerCodec / Http1ClientCodec parse with Boost.Beast
// (proxy/http/parser.h) and serialise the wire form directly. Never throw:
// malformed input is kError with a reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/message.h"
#include "proxy/http/parser.h"

namespace meshsim::proxy::http {

using StreamId = uint32_t;

class ServerCodec {
 public:
  virtual ~ServerCodec() = default;
  // Buffers bytes without parsing (a stream is in flight on HTTP/1.1).
  virtual void feed(std::string_view bytes) = 0;
  // Buffers and tries to complete the next request.
  virtual ParseStatus feed_next(std::string_view bytes) = 0;
  // Tries to complete the next request from buffered bytes.
  virtual ParseStatus next() = 0;
  // Moves the completed request into `out` (keeping `out`'s old buffers for
  // the next one) and returns its stream id.
  virtual StreamId take_into(Request& out) = 0;
  virtual const std::string& error() const = 0;
  // Wire form of a response on `stream`, appended to `out`.
  virtual void encode(StreamId stream, const Response& r, std::string& out) = 0;
  // Whether several streams may be in flight at once.
  virtual bool multiplexed() const = 0;
  // Bytes of the request last taken (HTTP/1: request line, headers, body
  // framing; HTTP/2: its HEADERS, CONTINUATION and DATA frames).
  virtual uint64_t request_wire_bytes() const = 0;
  // Frames the codec wants to send on its own (HTTP/2: SETTINGS and their
  // ACKs, PING ACKs, WINDOW_UPDATE, flow-controlled DATA), appended to `out`.
  virtual void drain_output(std::string& /*out*/) {}
  // A stream the peer reset (HTTP/2 RST_STREAM) before it was answered.
  virtual bool take_reset(StreamId& /*stream*/, uint32_t& /*error_code*/) { return false; }
  // Resets one stream (HTTP/2 RST_STREAM); HTTP/1 has no such thing.
  virtual void reset_stream(StreamId /*stream*/, uint32_t /*error_code*/, std::string& /*out*/) {}
  // Graceful shutdown (HTTP/2 GOAWAY with the last stream processed).
  virtual void shutdown(std::string& /*out*/) {}
  // The codec is done with the connection (HTTP/2: GOAWAY sent after an error).
  virtual bool wants_close() const { return false; }
  // HTTP/1.1: a request's headers asked for `Expect: 100-continue` and its
  // body has not come yet (true once per request). HTTP/2 has no such wait here.
  virtual bool take_continue() { return false; }
};

class Http1ServerCodec final : public ServerCodec {
 public:
  void feed(std::string_view bytes) override { parser_.feed(bytes); }
  ParseStatus feed_next(std::string_view bytes) override { return parser_.feed_next(bytes); }
  ParseStatus next() override { return parser_.next(); }
  StreamId take_into(Request& out) override {
    parser_.take_into(out);
    out.headers.lowercase_names();  // Envoy's header map keys
    request_version_ = out.version == 10 ? 10 : 11;
    return ++streams_;
  }
  const std::string& error() const override { return parser_.error(); }
  // The status line carries the downstream protocol (Envoy's RESPONSE_PREFIX
  // "HTTP/1.1 ", HTTP/1.0 only to an HTTP/1.0 client), not the upstream's.
  void encode(StreamId, const Response& r, std::string& out) override { serialize(r, out, request_version_); }
  bool multiplexed() const override { return false; }
  uint64_t request_wire_bytes() const override { return parser_.message_bytes(); }
  bool take_continue() override { return parser_.take_continue(); }

 private:
  RequestParser parser_;
  StreamId streams_ = 0;
  int request_version_ = 11;
};

class Http1ClientCodec {
 public:
  void encode(const Request& r, std::string& out) { serialize(r, out); }
  // The next response answers a HEAD request (no body whatever its headers say).
  void expect_head_response(bool head) { parser_.expect_head_response(head); }
  ParseStatus feed_next(std::string_view bytes) { return parser_.feed_next(bytes); }
  // The peer closed: completes a close-delimited body, or errors.
  ParseStatus finish_eof() { return parser_.finish_eof(); }
  void take_into(Response& out) {
    parser_.take_into(out);
    out.headers.lowercase_names();  // Envoy's header map keys
  }
  bool mid_message() const { return parser_.mid_message(); }
  size_t buffered() const { return parser_.buffered(); }
  const std::string& error() const { return parser_.error(); }

 private:
  ResponseParser parser_;
};

}  // namespace meshsim::proxy::http
