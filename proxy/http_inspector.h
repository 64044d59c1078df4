// The http_inspector listener filter's decision, as Envoy makes it: from the
// first bytes of a plaintext connection, decide whether they start an HTTP/1.x
// request (→ application protocol "http/1.0" or "http/1.1"), the HTTP/2
// prior-knowledge preface (→ "h2c"), or something else (→ no protocol). It
// needs only the request line; it waits for more bytes while they could still
// be HTTP, and gives up after 64 KiB.
#pragma once

#include <string>
#include <string_view>

namespace meshsim::proxy {

struct HttpInspection {
  enum class Status { kNeedMoreBytes, kDone };
  Status status = Status::kNeedMoreBytes;
  std::string protocol;  // "http/1.0", "http/1.1", "h2c" or "" (not HTTP)
};

HttpInspection inspect_http(std::string_view first_bytes);

}  // namespace meshsim::proxy
