// libFuzzer target for the MySQL wire codec and sessions: arbitrary bytes as
// packets (framing, greeting, HandshakeResponse41, OK/ERR/result sets,
// length-encoded integers), into the server session as a client's bytes and
// into the client session as a server's bytes, whole and split in two.
// Any crash, sanitizer report or hang is a bug: a peer's garbage must end in
// an error packet or a closed session. ci/fuzz-smoke runs it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/apps/mysql_session.h"
#include "sim/apps/mysql_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshsim::sim::mysql;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Framing and every decoder on each packet.
  std::string buf(in);
  for (int i = 0; i < 64; ++i) {
    auto p = take_packet(buf);
    if (!p) break;
    (void)decode_greeting(p->payload);
    (void)decode_handshake_response(p->payload);
    (void)classify(p->payload, false);
    (void)classify(p->payload, true);
    (void)decode_err(p->payload);
    std::string_view v = p->payload;
    while (!v.empty() && get_lenenc_int(v)) {
    }
  }
  for (size_t split : {size, size / 2}) {
    static const ServerConfig kServer;  // the session keeps a reference
    ServerSession server(kServer, 7, std::string(20, 'n'), "10.244.0.9");
    std::string out = server.greeting();
    out.clear();
    if (server.on_data(in.substr(0, split), out)) (void)server.on_data(in.substr(split), out);
    ClientSession client(ClientConfig{});
    out.clear();
    client.on_data(in.substr(0, split), out);
    client.on_data(in.substr(split), out);
    client.on_closed(0);
  }
  return 0;
}
