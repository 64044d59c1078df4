// gRPC over HTTP/2 as the proxy and the virtual apps see it
// (github.com/grpc/grpc doc/PROTOCOL-HTTP2.md): content types, status codes
// and their names, Envoy's HTTP → gRPC status mapping for local replies
// (source/common/grpc/status.cc Utility::httpToGrpcStatus, from gRPC's
// doc/http-grpc-status-mapping.md), grpc-message percent-encoding, the
// 5-byte length-prefixed message framing, and the few protobuf wire-format
// pieces the virtual apps write (varint and length-delimited fields).
// Pure functions; never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/message.h"

namespace meshsim::proxy::http::grpc {

// Envoy's Grpc::Common::isGrpcRequestHeaders: content-type
// "application/grpc", or "application/grpc+…" / "application/grpc;…"
// (gRPC-Web is not gRPC).
bool is_grpc_content_type(std::string_view content_type);
bool is_grpc_request(const Request& r);

enum Status : int {
  kOk = 0, kCancelled = 1, kUnknown = 2, kInvalidArgument = 3, kDeadlineExceeded = 4, kNotFound = 5,
  kAlreadyExists = 6, kPermissionDenied = 7, kResourceExhausted = 8, kFailedPrecondition = 9, kAborted = 10,
  kOutOfRange = 11, kUnimplemented = 12, kInternal = 13, kUnavailable = 14, kDataLoss = 15, kUnauthenticated = 16,
};
// "OK", "UNAVAILABLE", … ("UNKNOWN" outside 0–16).
const char* status_name(int status);
// 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404
// UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, anything else UNKNOWN.
int http_to_grpc_status(int http_status);

// grpc-message as Envoy writes it (PercentEncoding::encode: bytes outside
// ' '..'~' and '%' as %XX) and reads it back.
std::string percent_encode(std::string_view text);
std::string percent_decode(std::string_view text);

// The call's outcome from a response: grpc-status of the trailers, or of the
// headers for a trailers-only response; nullopt when neither has one.
struct CallStatus {
  int code = kUnknown;
  std::string message;  // decoded grpc-message
};
std::optional<CallStatus> call_status(const Response& r);

// Length-prefixed messages: 1 byte compressed flag (0), 4 bytes big-endian
// length, the message.
void append_frame(std::string_view message, std::string& out);
// Splits `body` into messages; false when it is not a whole number of frames.
bool split_frames(std::string_view body, std::vector<std::string_view>& out);

// Protobuf wire format: field `number` as a varint, or length-delimited
// (string, bytes, embedded message).
void append_varint_field(uint32_t number, uint64_t value, std::string& out);
void append_bytes_field(uint32_t number, std::string_view value, std::string& out);
// The first field `number` of a message, or nullopt (a malformed message too).
std::optional<uint64_t> varint_field(std::string_view message, uint32_t number);
std::optional<std::string_view> bytes_field(std::string_view message, uint32_t number);

}  // namespace meshsim::proxy::http::grpc
