// libFuzzer target for the listener filters' view of a connection's first
// bytes: TLS records into the tls_inspector (ClientHello parsing: record
// layer, handshake fragments across records, SNI, ALPN, supported_versions),
// fed whole and byte by byte, and the same bytes into the http_inspector.
// Any crash, sanitizer report or hang is a bug, and the two feeding orders
// must agree. ci/fuzz-smoke runs it.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proxy/http_inspector.h"
#include "proxy/tls/client_hello_inspector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshsim;
  std::span<const uint8_t> all(data, size);
  tls::ClientHelloInfo whole_info;
  tls::InspectResult whole = tls::inspect_client_hello(all, &whole_info);
  // The inspector sees a growing peek buffer (MSG_PEEK): each call has every
  // byte so far.
  tls::ClientHelloInspector inc;
  tls::InspectResult r = tls::InspectResult::kNeedMoreBytes;
  for (size_t n = 1; n <= size && r == tls::InspectResult::kNeedMoreBytes; ++n) r = inc.inspect(all.first(n));
  if (size > 0 && r != whole) __builtin_trap();
  (void)proxy::inspect_http(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
