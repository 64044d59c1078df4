// Incremental HTTP/1.x parsers over Boost.Beast's basic_parser: feed bytes as
// they arrive, take complete messages out. Bytes after a complete message
// (pipelining, or the next keep-alive request) stay buffered for the next one.
// Chunked and Content-Length bodies are supported; a response body delimited
// by connection close completes on finish_eof(). Beast stays inside parser.cc.
//
// Limits follow Envoy's defaults: 60 KiB of headers; bodies up to 64 MiB.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "proxy/http/message.h"

namespace meshsim::proxy::http {

enum class ParseStatus {
  kNeedMore,  // no complete message yet
  kComplete,  // a message is ready: take it with take()
  kError,     // malformed input: error() says why; the parser is unusable
};

class RequestParser {
 public:
  RequestParser();
  ~RequestParser();
  RequestParser(RequestParser&&) noexcept;
  RequestParser& operator=(RequestParser&&) noexcept;

  // Appends bytes to the parser's buffer.
  void feed(std::string_view bytes);
  // Tries to complete the next message from buffered bytes.
  ParseStatus next();
  // feed() + next() without copying `bytes` when nothing is buffered (only
  // an unparsed remainder is kept). `bytes` need not outlive the call.
  ParseStatus feed_next(std::string_view bytes);
  // The completed message (valid after next() returned kComplete).
  Request take();
  // Swaps the completed message into `out`; the parser keeps `out`'s old
  // buffers for the next message (no allocation once warmed up).
  void take_into(Request& out);
  // Whether a message has started but is not complete (for "reset before
  // complete request" decisions).
  bool mid_message() const;
  size_t buffered() const;
  const std::string& error() const;
  // Wire bytes of the message last taken (start line, headers, body as framed).
  uint64_t message_bytes() const;
  // True once per message, when its header block is complete, it carries
  // `Expect: 100-continue` (case-insensitive) and it is not complete yet: the
  // client waits for an interim 100 before it sends the body.
  bool take_continue();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ResponseParser {
 public:
  ResponseParser();
  ~ResponseParser();
  ResponseParser(ResponseParser&&) noexcept;
  ResponseParser& operator=(ResponseParser&&) noexcept;

  // The next response answers a HEAD request (it has no body whatever its headers say).
  void expect_head_response(bool head);
  void feed(std::string_view bytes);
  ParseStatus next();
  ParseStatus feed_next(std::string_view bytes);
  // The peer closed: completes a close-delimited body, or reports an error if
  // the response was cut short.
  ParseStatus finish_eof();
  Response take();
  void take_into(Response& out);
  bool mid_message() const;
  size_t buffered() const;
  const std::string& error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::proxy::http
