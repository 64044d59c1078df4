// Trace context on the wire, as Envoy's tracers read and write it:
//  * Zipkin B3 (envoy.tracers.zipkin span_context_extractor / injectContext):
//    the `b3` single header wins over x-b3-*; ids are hex; a malformed
//    context is an error that makes the span a NullSpan (nothing is reported
//    and nothing is injected); x-b3-flags is ignored; injection always
//    writes x-b3-traceid, x-b3-spanid, x-b3-sampled (and x-b3-parentspanid
//    when the span has a parent), never `b3` nor x-b3-flags.
//  * W3C trace context (the OpenTelemetry tracer, and the Zipkin tracer with
//    USE_B3_WITH_W3C_PROPAGATION): traceparent 00-<32 hex>-<16 hex>-<2 hex>,
//    all-zero ids invalid, sampled = flags & 1; tracestate carried as is.
// docs/istio/telemetry.md §3.1, §3.3, §5. Pure functions, no allocation
// beyond the header values written.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace meshsim::proxy::http {
class Headers;
}

namespace meshsim::proxy::tracing {

struct SpanContext {
  uint64_t trace_id_high = 0;  // 0 with 64-bit trace ids
  uint64_t trace_id = 0;
  uint64_t span_id = 0;
  uint64_t parent_id = 0;
  bool has_parent = false;
  bool sampled = false;
};

enum class Extracted : uint8_t {
  kNone,     // no context in the headers: the span is a root
  kContext,  // a parent context
  kInvalid,  // a malformed context: Envoy's extractor throws; NullSpan
};

// extractSampled: the sampling decision the headers carry (b3 single's flag
// by its length, else x-b3-sampled "1"/"true"), nullopt when they carry none.
std::optional<bool> b3_sampled(const http::Headers& h);
// extractSpanContext: b3 single (strict), else x-b3-traceid + x-b3-spanid
// (both needed) with an optional x-b3-parentspanid. `sampled` becomes the
// context's flag.
Extracted b3_context(const http::Headers& h, bool sampled, SpanContext* out);
// injectContext: sets (replacing) the B3 headers of a span.
void inject_b3(const SpanContext& span, bool trace_128bit, http::Headers& h);

// traceparent: version-traceid-parentid-flags, exactly 55 characters.
Extracted w3c_context(const http::Headers& h, SpanContext* out, std::string_view* tracestate);
void inject_w3c(const SpanContext& span, std::string_view tracestate, http::Headers& h);

// Lower-case hex of `v`, zero-padded to 16 digits.
void hex16(uint64_t v, char* out);
// StringUtil::atoull(s, 16): strtoull's rules (leading blanks, a sign, 0x),
// every character consumed, no overflow; nullopt otherwise.
std::optional<uint64_t> atoull16(std::string_view s);

}  // namespace meshsim::proxy::tracing
