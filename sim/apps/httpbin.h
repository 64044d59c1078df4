// go-httpbin, the server of Istio's `samples/httpbin` (image
// docker.io/mccutchen/go-httpbin:v2.15.0), as a sans-I/O answer function:
// one parsed request in, the response go-httpbin writes out. It covers the
// endpoints Istio's tasks point curl at — /get, /anything[/…], /headers, /ip,
// /user-agent, /hostname, /status/{code[,code:weight…]}, /delay/{duration},
// /response-headers, /uuid, /post /put /patch /delete, /unstable — with
// go-httpbin's JSON layout (Go's encoder: two-space indent, struct field
// order, map keys sorted, header names canonicalised as Go's textproto does,
// values as arrays) and its middleware: CORS headers on every answer and the
// OPTIONS preflight answered before routing; HEAD answered like GET without
// a body. go-httpbin endpoints meshsim does not simulate (images, streams,
// auth challenges, cookies, …) answer 501 naming the endpoint, never a
// plausible-looking wrong body; unknown paths get Go's ServeMux 404.
// Source: github.com/mccutchen/go-httpbin v2.15.0 httpbin/{httpbin,handlers,
// helpers,middleware,responses}.go.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/base/duration.h"

namespace meshsim::proxy::http {
struct Request;
struct Response;
}  // namespace meshsim::proxy::http

namespace meshsim::sim::apps {

// The connection's peer as go-httpbin's r.RemoteAddr ("10.1.0.7:40212").
struct HttpbinPeer {
  std::string_view ip;
  uint16_t port = 0;
};

// Fills `r` (status, headers, body) for `req`. Returns how long go-httpbin
// holds the answer (/delay/{d}, capped at its 10 s maximum); the caller
// sends it after that. `random` draws for weighted /status choices, /uuid
// and /unstable (the app's seeded stream).
Duration answer_httpbin(HttpbinPeer peer, const proxy::http::Request& req, proxy::http::Response& r,
                        uint64_t (*random)(void*), void* random_ctx);

// Go's textproto.CanonicalMIMEHeaderKey: "x-request-id" → "X-Request-Id";
// names with bytes outside the token set are returned unchanged.
std::string canonical_header_key(std::string_view name);

}  // namespace meshsim::sim::apps
