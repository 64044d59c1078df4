// Which headers of an incoming request a virtual server application copies
// into the HTTP calls it makes while handling that request — the application
// side of distributed tracing, which Envoy cannot do for the app (a sidecar
// sees the inbound and the outbound request as unrelated streams; only the
// app knows that one caused the other). Sources: docs/istio/telemetry.md §9
// (Bookinfo's productpage.py, details.rb, LibertyRestEndpoint.java, read at
// istio/istio 86c9f01f) and OpenTelemetry Python's B3MultiFormat.
//
// Pure functions over header lists; no state, no randomness. Header names
// compare case-insensitively; forwarded headers keep the policy's spelling
// (lower case, as the Bookinfo services write them).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/message.h"

namespace meshsim::sim::apps {

// The 20 trace and context headers details and reviews forward (§9), in
// their source order: x-request-id, x-ot-span-context, the three datadog
// headers, traceparent, tracestate, x-cloud-trace-context, grpc-trace-bin,
// the five x-b3-* headers, sw8, end-user, user-agent, cookie, authorization,
// jwt. `propagate: all` means exactly these.
std::span<const std::string_view> bookinfo_forwarded_headers();

// The headers productpage copies verbatim (§9: the list above without the
// x-b3-* headers, which its OpenTelemetry propagator regenerates, and without
// end-user, which it sets from its own session).
std::span<const std::string_view> productpage_verbatim_headers();

// Whether `name` is a trace/context header meshsim reports on: the 20 names
// above plus the B3 single header `b3` (which no Bookinfo service forwards).
bool is_trace_context_header(std::string_view name);

// A workload's propagation policy.
struct HeaderPropagation {
  enum class Kind : uint8_t {
    kNone,         // copies nothing (the generic echo app)
    kList,         // copies `names` verbatim when present (`all` = bookinfo_forwarded_headers())
    kProductpage,  // productpage: B3 through productpage_b3(), then productpage_verbatim_headers()
  };
  Kind kind = Kind::kNone;
  std::vector<std::string> names;  // kList only, lower case, in the order they are written
  std::string text = "none";       // as configured: "none", "all", "productpage", "[a, b]"

  static HeaderPropagation none();
  static HeaderPropagation all();
  static HeaderPropagation productpage();
  static HeaderPropagation list(std::vector<std::string> names);  // names lower-cased
};

// productpage's B3 headers for its outbound calls, exactly as OpenTelemetry
// Python's B3MultiFormat extract() + inject() compute them from the incoming
// request (productpage.py getForwardHeaders: propagator.inject(headers,
// propagator.extract(request.headers))):
//  * extract: a non-empty `b3` single header wins: split on '-' (at most 5
//    fields); 1 field = sampled only (no ids), 2 = traceid-spanid (sampled
//    "1", the spec's "deferred"), 3 = traceid-spanid-sampled,
//    4 = traceid-spanid-sampled-parentspanid; 5 or more: no ids. Else
//    x-b3-traceid, x-b3-spanid, x-b3-sampled (default "0") and x-b3-flags.
//  * the trace id must be exactly 16 or 32 hex digits and the span id exactly
//    16, else nothing is injected (an empty result);
//  * inject: x-b3-traceid as 32 lower-case hex digits (a 64-bit id
//    zero-padded on the left), x-b3-spanid as 16 lower-case hex digits,
//    x-b3-sampled "1" when the extracted sampled value is one of 1, True,
//    true, d or x-b3-flags is "1", else "0". Never x-b3-parentspanid,
//    x-b3-flags or b3.
struct B3Injection {
  std::string trace_id;  // 32 hex
  std::string span_id;   // 16 hex
  std::string sampled;   // "1" | "0"
};
std::optional<B3Injection> productpage_b3(const proxy::http::Headers& incoming);

// The headers a call carries because of `policy`, in the order they are
// written, with the names as the policy spells them.
struct PropagatedHeaders {
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> forwarded;  // names written (each once)
  std::vector<std::string> carried;    // trace/context headers of the incoming request (each once, arrival order)
  std::vector<std::string> dropped;    // carried but not forwarded
};
// "Carried" counts the names is_trace_context_header() knows and, for a
// list policy, the names of its list (lower case, arrival order).
PropagatedHeaders propagate_headers(const HeaderPropagation& policy, const proxy::http::Headers& incoming);

}  // namespace meshsim::sim::apps
