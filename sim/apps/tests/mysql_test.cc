#include <gtest/gtest.h>

#include "sim/apps/mysql_session.h"
#include "sim/apps/mysql_wire.h"

namespace meshsim::sim::mysql {
namespace {

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o.push_back(d[c >> 4]);
    o.push_back(d[c & 15]);
  }
  return o;
}

TEST(MysqlWire, GreetingStartsWithProtocol10AndRoundTrips) {
  Greeting g;
  g.connection_id = 42;
  g.auth_plugin_data = "abcdefghijklmnopqrst";
  g.capabilities = default_server_capabilities();
  std::string wire = frame(encode_greeting(g), 0);
  EXPECT_EQ(static_cast<uint8_t>(wire[3]), 0);     // sequence id 0
  EXPECT_EQ(static_cast<uint8_t>(wire[4]), 0x0a);  // protocol version 10
  EXPECT_EQ(wire.substr(5, 7), std::string("8.0.36\0", 7));
  std::string buf = wire;
  auto p = take_packet(buf);
  ASSERT_TRUE(p);
  EXPECT_TRUE(buf.empty());
  auto back = decode_greeting(p->payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->connection_id, 42u);
  EXPECT_EQ(back->auth_plugin_data, "abcdefghijklmnopqrst");
  EXPECT_EQ(back->auth_plugin_name, "caching_sha2_password");
  EXPECT_TRUE(back->capabilities & kClientProtocol41);
}

TEST(MysqlWire, CachingSha2ScrambleMatchesAnIndependentComputation) {
  // Python: h1=sha256(p); h3=sha256(sha256(h1)+nonce); xor(h1,h3)
  std::string nonce;
  for (int i = 1; i <= 20; ++i) nonce.push_back(static_cast<char>(i));
  EXPECT_EQ(hex(caching_sha2_scramble("password", nonce)),
            "f7ab1c623a6e98dceab35e926290e5746a3141116115f4dd8ccca994393eccdd");
  EXPECT_EQ(caching_sha2_scramble("", nonce), "");
}

TEST(MysqlWire, LengthEncodedIntegersUseMysqlPrefixes) {
  for (uint64_t v : {0ull, 250ull, 251ull, 65535ull, 65536ull, 16777216ull, 1ull << 40}) {
    std::string s;
    put_lenenc_int(s, v);
    std::string_view in = s;
    EXPECT_EQ(get_lenenc_int(in).value(), v);
    EXPECT_TRUE(in.empty());
  }
  std::string s;
  put_lenenc_int(s, 251);
  EXPECT_EQ(static_cast<uint8_t>(s[0]), 0xfc);
}

TEST(MysqlSession, ClientAndServerCompleteAHandshakeAndAQuery) {
  ServerConfig cfg;
  ServerSession server(cfg, 7, "0123456789abcdefghij", "10.244.0.5");
  ClientSession client({});
  std::string to_server, to_client = server.greeting();
  for (int round = 0; round < 10 && !client.finished(); ++round) {
    to_server.clear();
    client.on_data(to_client, to_server);
    to_client.clear();
    if (!to_server.empty()) server.on_data(to_server, to_client);
  }
  ASSERT_TRUE(client.succeeded()) << client.error();
  EXPECT_EQ(client.server_version(), "8.0.36");
  EXPECT_EQ(client.rows(), (std::vector<std::vector<std::string>>{{"1", "5"}, {"2", "4"}}));
  EXPECT_EQ(server.username(), "root");
}

TEST(MysqlSession, WrongPasswordIsAccessDenied) {
  ServerConfig cfg;
  ServerSession server(cfg, 7, "0123456789abcdefghij", "10.244.0.5");
  ClientConfig cc;
  cc.password = "wrong";
  ClientSession client(cc);
  std::string to_server, to_client = server.greeting();
  client.on_data(to_client, to_server);
  to_client.clear();
  EXPECT_FALSE(server.on_data(to_server, to_client));
  std::string ignored;
  client.on_data(to_client, ignored);
  EXPECT_EQ(client.error(),
            "ERROR 1045 (28000): Access denied for user 'root'@'10.244.0.5' (using password: YES)");
}

TEST(MysqlSession, ClientErrorsUseLibmysqlclientTexts) {
  ClientSession a({});
  a.on_timeout();
  EXPECT_EQ(a.error(),
            "ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet', "
            "system error: 0");
  ClientSession b({});
  b.on_connect_failed(111);
  EXPECT_EQ(b.error(), "ERROR 2003 (HY000): Can't connect to MySQL server on 'mysqldb:3306' (111)");
  ClientSession c({});
  c.on_closed(104);
  EXPECT_EQ(c.error_code(), 2013);
  EXPECT_NE(c.error().find("system error: 104"), std::string::npos);
}

TEST(MysqlSession, ServerRejectsATlsClientHelloAsABadHandshake) {
  ServerConfig cfg;
  ServerSession server(cfg, 1, "0123456789abcdefghij", "10.244.0.5");
  (void)server.greeting();
  std::string out;
  const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
  EXPECT_FALSE(server.on_data(std::string_view(hello, 11), out));
  EXPECT_EQ(server.close_reason(), "Bad handshake");
  auto p = take_packet(out);
  ASSERT_TRUE(p);
  auto err = decode_err(p->payload);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code, 1043);
}

}  // namespace
}  // namespace meshsim::sim::mysql
