// MySQL client/server protocol bytes, as a real mysqld and libmysqlclient put
// them on the wire (dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html):
// the 4-byte packet header (3-byte little-endian length + sequence id), the
// Protocol::HandshakeV10 greeting a server sends first, the
// Protocol::HandshakeResponse41 a client answers with, caching_sha2_password
// scrambles, OK/ERR packets, COM_QUERY with a text result set, COM_PING and
// COM_QUIT. tshark's MySQL dissector decodes what these functions produce.
//
// Pure functions over byte strings; no I/O, no allocation beyond the results.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshsim::sim::mysql {

// Capability flags (include/mysql_com.h).
enum Capability : uint32_t {
  kClientLongPassword = 1u << 0,
  kClientFoundRows = 1u << 1,
  kClientLongFlag = 1u << 2,
  kClientConnectWithDb = 1u << 3,
  kClientProtocol41 = 1u << 9,
  kClientSsl = 1u << 11,
  kClientTransactions = 1u << 13,
  kClientSecureConnection = 1u << 15,
  kClientMultiStatements = 1u << 16,
  kClientMultiResults = 1u << 17,
  kClientPluginAuth = 1u << 19,
  kClientConnectAttrs = 1u << 20,
  kClientPluginAuthLenencClientData = 1u << 21,
  kClientDeprecateEof = 1u << 24,
};

inline constexpr uint8_t kComQuit = 0x01;
inline constexpr uint8_t kComQuery = 0x03;
inline constexpr uint8_t kComPing = 0x0e;

// Wraps a payload in a packet header with the given sequence id.
std::string frame(std::string_view payload, uint8_t sequence_id);

// Splits the first complete packet off `buf`. Returns nullopt when `buf` does
// not yet hold a whole packet.
struct Packet {
  uint8_t sequence_id = 0;
  std::string payload;
};
std::optional<Packet> take_packet(std::string& buf);

struct Greeting {
  std::string server_version = "8.0.36";
  uint32_t connection_id = 1;
  std::string auth_plugin_data;  // 20 bytes of scramble
  uint32_t capabilities = 0;
  uint8_t character_set = 255;   // utf8mb4_0900_ai_ci
  uint16_t status_flags = 0x0002;  // SERVER_STATUS_AUTOCOMMIT
  std::string auth_plugin_name = "caching_sha2_password";
};

// Capabilities a MySQL 8.0 server announces by default.
uint32_t default_server_capabilities();
uint32_t default_client_capabilities();

std::string encode_greeting(const Greeting& g);  // payload (frame with sequence 0)
std::optional<Greeting> decode_greeting(std::string_view payload);

struct HandshakeResponse {
  uint32_t capabilities = 0;
  uint32_t max_packet_size = 16 * 1024 * 1024;
  uint8_t character_set = 255;
  std::string username;
  std::string auth_response;
  std::string database;
  std::string auth_plugin_name = "caching_sha2_password";
  std::vector<std::pair<std::string, std::string>> attributes;
};

std::string encode_handshake_response(const HandshakeResponse& r);  // payload (frame with sequence 1)
std::optional<HandshakeResponse> decode_handshake_response(std::string_view payload);

// caching_sha2_password scramble:
// XOR(SHA256(password), SHA256(SHA256(SHA256(password)) || nonce)). Empty
// password ⇒ empty response.
std::string caching_sha2_scramble(std::string_view password, std::string_view nonce);

std::string encode_ok(uint64_t affected_rows = 0, uint16_t status = 0x0002);
std::string encode_err(uint16_t code, std::string_view sql_state, std::string_view message);
// AuthMoreData "fast auth success" (0x01 0x03) of caching_sha2_password.
std::string encode_fast_auth_success();

// A text-protocol result set with string columns (column definitions, rows,
// terminating OK/EOF per CLIENT_DEPRECATE_EOF), as a list of packet payloads.
std::vector<std::string> encode_result_set(const std::vector<std::string>& columns,
                                           const std::vector<std::vector<std::string>>& rows,
                                           bool deprecate_eof);

// Classifies a server response payload.
enum class ResponseKind { kOk, kErr, kEof, kAuthMoreData, kResultSetHeader, kOther };
ResponseKind classify(std::string_view payload, bool deprecate_eof);

struct ErrPacket {
  uint16_t code = 0;
  std::string sql_state;
  std::string message;
};
std::optional<ErrPacket> decode_err(std::string_view payload);

// Length-encoded integers and strings.
void put_lenenc_int(std::string& out, uint64_t v);
void put_lenenc_str(std::string& out, std::string_view s);
std::optional<uint64_t> get_lenenc_int(std::string_view& in);

}  // namespace meshsim::sim::mysql
