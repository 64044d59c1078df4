#include "sim/apps/mysql_wire.h"

#include <openssl/evp.h>

#include <cstring>

namespace meshsim::sim::mysql {
namespace {

void put_u16(std::string& o, uint16_t v) {
  o.push_back(static_cast<char>(v & 0xff));
  o.push_back(static_cast<char>(v >> 8));
}
void put_u24(std::string& o, uint32_t v) {
  o.push_back(static_cast<char>(v & 0xff));
  o.push_back(static_cast<char>((v >> 8) & 0xff));
  o.push_back(static_cast<char>((v >> 16) & 0xff));
}
void put_u32(std::string& o, uint32_t v) {
  put_u16(o, static_cast<uint16_t>(v & 0xffff));
  put_u16(o, static_cast<uint16_t>(v >> 16));
}
uint32_t get_le(std::string_view s, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(s[i])) << (8 * i);
  return v;
}
bool take(std::string_view& in, size_t n, std::string_view* out) {
  if (in.size() < n) return false;
  *out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}
bool take_nul(std::string_view& in, std::string* out) {
  size_t z = in.find('\0');
  if (z == std::string_view::npos) return false;
  out->assign(in.substr(0, z));
  in.remove_prefix(z + 1);
  return true;
}

std::string sha256(std::string_view a, std::string_view b = {}) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  if (!b.empty()) EVP_DigestUpdate(ctx, b.data(), b.size());
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

void put_lenenc_int(std::string& out, uint64_t v) {
  if (v < 251) {
    out.push_back(static_cast<char>(v));
  } else if (v < (1u << 16)) {
    out.push_back(static_cast<char>(0xfc));
    put_u16(out, static_cast<uint16_t>(v));
  } else if (v < (1u << 24)) {
    out.push_back(static_cast<char>(0xfd));
    put_u24(out, static_cast<uint32_t>(v));
  } else {
    out.push_back(static_cast<char>(0xfe));
    put_u32(out, static_cast<uint32_t>(v & 0xffffffffu));
    put_u32(out, static_cast<uint32_t>(v >> 32));
  }
}

void put_lenenc_str(std::string& out, std::string_view s) {
  put_lenenc_int(out, s.size());
  out.append(s);
}

std::optional<uint64_t> get_lenenc_int(std::string_view& in) {
  if (in.empty()) return std::nullopt;
  auto first = static_cast<uint8_t>(in[0]);
  size_t n = first < 0xfb ? 0 : first == 0xfc ? 2 : first == 0xfd ? 3 : first == 0xfe ? 8 : SIZE_MAX;
  if (n == SIZE_MAX || in.size() < 1 + n) return std::nullopt;
  uint64_t v = first;
  if (n > 0) {
    v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[1 + i])) << (8 * i);
  }
  in.remove_prefix(1 + n);
  return v;
}

std::string frame(std::string_view payload, uint8_t sequence_id) {
  std::string out;
  out.reserve(4 + payload.size());
  put_u24(out, static_cast<uint32_t>(payload.size()));
  out.push_back(static_cast<char>(sequence_id));
  out.append(payload);
  return out;
}

std::optional<Packet> take_packet(std::string& buf) {
  if (buf.size() < 4) return std::nullopt;
  uint32_t len = get_le(buf, 3);
  if (buf.size() < 4 + static_cast<size_t>(len)) return std::nullopt;
  Packet p;
  p.sequence_id = static_cast<uint8_t>(buf[3]);
  p.payload = buf.substr(4, len);
  buf.erase(0, 4 + len);
  return p;
}

uint32_t default_server_capabilities() {
  // What mysqld 8.0 announces without TLS configured (0xdfffffff minus CLIENT_SSL
  // and a few rarely used bits), keeping the ones the handshake depends on.
  return 0xc7fff7ffu & ~static_cast<uint32_t>(kClientSsl);
}

uint32_t default_client_capabilities() {
  return kClientLongPassword | kClientFoundRows | kClientLongFlag | kClientProtocol41 | kClientTransactions |
         kClientSecureConnection | kClientMultiStatements | kClientMultiResults | kClientPluginAuth |
         kClientConnectAttrs | kClientPluginAuthLenencClientData | kClientDeprecateEof;
}

std::string encode_greeting(const Greeting& g) {
  std::string o;
  o.push_back(0x0a);  // protocol version 10
  o.append(g.server_version).push_back('\0');
  put_u32(o, g.connection_id);
  std::string scramble = g.auth_plugin_data;
  scramble.resize(20, '\x01');
  o.append(scramble.substr(0, 8));
  o.push_back('\0');  // filler
  put_u16(o, static_cast<uint16_t>(g.capabilities & 0xffff));
  o.push_back(static_cast<char>(g.character_set));
  put_u16(o, g.status_flags);
  put_u16(o, static_cast<uint16_t>(g.capabilities >> 16));
  o.push_back(static_cast<char>(21));  // auth plugin data length (20 + NUL)
  o.append(10, '\0');                  // reserved
  o.append(scramble.substr(8, 12));
  o.push_back('\0');
  o.append(g.auth_plugin_name).push_back('\0');
  return o;
}

std::optional<Greeting> decode_greeting(std::string_view in) {
  Greeting g;
  std::string_view b;
  if (!take(in, 1, &b) || b[0] != 0x0a) return std::nullopt;
  if (!take_nul(in, &g.server_version)) return std::nullopt;
  if (!take(in, 4, &b)) return std::nullopt;
  g.connection_id = get_le(b, 4);
  std::string_view part1;
  if (!take(in, 8, &part1) || !take(in, 1, &b)) return std::nullopt;
  if (!take(in, 2, &b)) return std::nullopt;
  uint32_t caps = get_le(b, 2);
  if (!take(in, 1, &b)) return std::nullopt;
  g.character_set = static_cast<uint8_t>(b[0]);
  if (!take(in, 2, &b)) return std::nullopt;
  g.status_flags = static_cast<uint16_t>(get_le(b, 2));
  if (!take(in, 2, &b)) return std::nullopt;
  caps |= get_le(b, 2) << 16;
  g.capabilities = caps;
  if (!take(in, 1, &b)) return std::nullopt;
  size_t data_len = static_cast<uint8_t>(b[0]);
  if (!take(in, 10, &b)) return std::nullopt;
  size_t part2_len = std::max<size_t>(13, data_len > 8 ? data_len - 8 : 0);
  std::string_view part2;
  if (!take(in, part2_len, &part2)) return std::nullopt;
  g.auth_plugin_data = std::string(part1) + std::string(part2.substr(0, part2_len - 1));
  std::string plugin;
  if (take_nul(in, &plugin)) g.auth_plugin_name = plugin;
  return g;
}

std::string encode_handshake_response(const HandshakeResponse& r) {
  std::string o;
  put_u32(o, r.capabilities);
  put_u32(o, r.max_packet_size);
  o.push_back(static_cast<char>(r.character_set));
  o.append(23, '\0');
  o.append(r.username).push_back('\0');
  if (r.capabilities & kClientPluginAuthLenencClientData) {
    put_lenenc_str(o, r.auth_response);
  } else {
    o.push_back(static_cast<char>(r.auth_response.size()));
    o.append(r.auth_response);
  }
  if (r.capabilities & kClientConnectWithDb) o.append(r.database).push_back('\0');
  if (r.capabilities & kClientPluginAuth) o.append(r.auth_plugin_name).push_back('\0');
  if (r.capabilities & kClientConnectAttrs) {
    std::string attrs;
    for (const auto& [k, v] : r.attributes) {
      put_lenenc_str(attrs, k);
      put_lenenc_str(attrs, v);
    }
    put_lenenc_str(o, attrs);
  }
  return o;
}

std::optional<HandshakeResponse> decode_handshake_response(std::string_view in) {
  HandshakeResponse r;
  std::string_view b;
  if (!take(in, 4, &b)) return std::nullopt;
  r.capabilities = get_le(b, 4);
  if (!(r.capabilities & kClientProtocol41)) return std::nullopt;
  if (!take(in, 4, &b)) return std::nullopt;
  r.max_packet_size = get_le(b, 4);
  if (!take(in, 1, &b)) return std::nullopt;
  r.character_set = static_cast<uint8_t>(b[0]);
  if (!take(in, 23, &b)) return std::nullopt;
  if (!take_nul(in, &r.username)) return std::nullopt;
  if (r.capabilities & kClientPluginAuthLenencClientData) {
    auto n = get_lenenc_int(in);
    if (!n || !take(in, static_cast<size_t>(*n), &b)) return std::nullopt;
    r.auth_response.assign(b);
  } else {
    if (!take(in, 1, &b)) return std::nullopt;
    size_t n = static_cast<uint8_t>(b[0]);
    if (!take(in, n, &b)) return std::nullopt;
    r.auth_response.assign(b);
  }
  if (r.capabilities & kClientConnectWithDb) {
    if (!take_nul(in, &r.database)) return std::nullopt;
  }
  if (r.capabilities & kClientPluginAuth) {
    if (!take_nul(in, &r.auth_plugin_name)) return std::nullopt;
  }
  if (r.capabilities & kClientConnectAttrs) {
    auto total = get_lenenc_int(in);
    std::string_view attrs;
    if (!total || !take(in, static_cast<size_t>(*total), &attrs)) return std::nullopt;
    while (!attrs.empty()) {
      auto kl = get_lenenc_int(attrs);
      std::string_view k, v;
      if (!kl || !take(attrs, static_cast<size_t>(*kl), &k)) return std::nullopt;
      auto vl = get_lenenc_int(attrs);
      if (!vl || !take(attrs, static_cast<size_t>(*vl), &v)) return std::nullopt;
      r.attributes.emplace_back(std::string(k), std::string(v));
    }
  }
  return r;
}

std::string caching_sha2_scramble(std::string_view password, std::string_view nonce) {
  if (password.empty()) return {};
  std::string h1 = sha256(password);
  std::string h2 = sha256(h1);
  std::string h3 = sha256(h2, nonce.substr(0, 20));
  std::string out(32, '\0');
  for (size_t i = 0; i < 32; ++i) out[i] = static_cast<char>(h1[i] ^ h3[i]);
  return out;
}

std::string encode_ok(uint64_t affected_rows, uint16_t status) {
  std::string o;
  o.push_back(0x00);
  put_lenenc_int(o, affected_rows);
  put_lenenc_int(o, 0);  // last insert id
  put_u16(o, status);
  put_u16(o, 0);  // warnings
  return o;
}

std::string encode_err(uint16_t code, std::string_view sql_state, std::string_view message) {
  std::string o;
  o.push_back(static_cast<char>(0xff));
  put_u16(o, code);
  o.push_back('#');
  std::string state(sql_state);
  state.resize(5, '0');
  o.append(state);
  o.append(message);
  return o;
}

std::string encode_fast_auth_success() { return std::string("\x01\x03", 2); }

std::vector<std::string> encode_result_set(const std::vector<std::string>& columns,
                                           const std::vector<std::vector<std::string>>& rows, bool deprecate_eof) {
  std::vector<std::string> out;
  std::string count;
  put_lenenc_int(count, columns.size());
  out.push_back(count);
  for (const std::string& c : columns) {
    std::string def;
    put_lenenc_str(def, "def");   // catalog
    put_lenenc_str(def, "test");  // schema
    put_lenenc_str(def, "t");     // table
    put_lenenc_str(def, "t");     // org_table
    put_lenenc_str(def, c);       // name
    put_lenenc_str(def, c);       // org_name
    put_lenenc_int(def, 0x0c);    // length of fixed fields
    put_u16(def, 255);            // character set
    put_u32(def, 1024);           // column length
    def.push_back(static_cast<char>(0xfd));  // MYSQL_TYPE_VAR_STRING
    put_u16(def, 0);              // flags
    def.push_back(0);             // decimals
    put_u16(def, 0);              // filler
    out.push_back(def);
  }
  if (!deprecate_eof) out.push_back(std::string("\xfe\x00\x00\x02\x00", 5));
  for (const auto& row : rows) {
    std::string r;
    for (const std::string& v : row) put_lenenc_str(r, v);
    out.push_back(r);
  }
  if (deprecate_eof) {
    std::string ok = encode_ok(0, 0x0002);
    ok[0] = static_cast<char>(0xfe);  // OK packet with EOF header
    out.push_back(ok);
  } else {
    out.push_back(std::string("\xfe\x00\x00\x02\x00", 5));
  }
  return out;
}

ResponseKind classify(std::string_view p, bool deprecate_eof) {
  if (p.empty()) return ResponseKind::kOther;
  auto h = static_cast<uint8_t>(p[0]);
  if (h == 0x00 && p.size() >= 7) return ResponseKind::kOk;
  if (h == 0xff) return ResponseKind::kErr;
  if (h == 0x01) return ResponseKind::kAuthMoreData;
  if (h == 0xfe && p.size() < 9) return deprecate_eof ? ResponseKind::kOk : ResponseKind::kEof;
  return ResponseKind::kResultSetHeader;
}

std::optional<ErrPacket> decode_err(std::string_view p) {
  if (p.size() < 3 || static_cast<uint8_t>(p[0]) != 0xff) return std::nullopt;
  ErrPacket e;
  e.code = static_cast<uint16_t>(get_le(p.substr(1), 2));
  std::string_view rest = p.substr(3);
  if (!rest.empty() && rest[0] == '#' && rest.size() >= 6) {
    e.sql_state.assign(rest.substr(1, 5));
    rest.remove_prefix(6);
  }
  e.message.assign(rest);
  return e;
}

}  // namespace meshsim::sim::mysql
