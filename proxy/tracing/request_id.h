// The x-request-id extension Istio configures on every HTTP connection
// manager (envoy.request_id.uuid, pack_trace_reason and
// use_request_id_for_trace_sampling on): a new id is an RFC 4122 version 4
// UUID, and the tracing decision of the first proxy that saw the request is
// packed into the version character at index 14, so that every later hop
// honours it without drawing again. docs/istio/telemetry.md §1.2.
//
// Pure functions; no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace meshsim::proxy::tracing {

// Envoy's Tracing::Reason, as far as a sidecar produces it.
enum class Reason : uint8_t {
  kNotTraceable,   // '4' (or anything but 9/a/b)
  kHealthCheck,
  kSampling,       // '9': drawn by random_sampling
  kServiceForced,  // 'a': x-envoy-force-trace
  kClientForced,   // 'b': x-client-trace-id
};
std::string_view to_string(Reason r);
inline bool traced(Reason r) {
  return r == Reason::kSampling || r == Reason::kServiceForced || r == Reason::kClientForced;
}

inline constexpr size_t kUuidLength = 36;
inline constexpr size_t kTraceByte = 14;

// Two random words as a version 4 UUID, lower-case hex, 8-4-4-4-12.
std::string_view format_uuid(uint64_t a, uint64_t b, char (&buf)[kUuidLength]);

// getTraceReason: the reason packed in a 36-character id, else kNotTraceable.
Reason trace_reason(std::string_view request_id);
// setTraceReason: writes the reason's character at index 14 of a
// 36-character id (copied into `buf`); nullopt when the id has another length
// (the id is then left as it is).
std::optional<std::string_view> with_trace_reason(std::string_view request_id, Reason r, char (&buf)[kUuidLength]);

// getInteger: the first (up to) 8 characters read as a hexadecimal number
// with strtoull's rules, as Envoy's StringUtil::atoull does; nullopt when
// they are not one.
std::optional<uint64_t> request_id_integer(std::string_view request_id);

}  // namespace meshsim::proxy::tracing
