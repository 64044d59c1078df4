// MySQL server and client sessions as sans-I/O state machines: bytes in,
// bytes out, and (for the client) an outcome in the words the mysql command
// line client prints. Virtual apps (sim/apps/) put them on virtual sockets.
//
// Server: sends a HandshakeV10 greeting as soon as a connection is accepted
// (MySQL is server-first), checks the HandshakeResponse41 against its users
// (caching_sha2_password; the scramble is verified, the server's cache is
// treated as warm so authentication completes with "fast auth success"),
// then answers COM_QUERY from a small table, COM_PING and COM_QUIT.
//
// Client: waits for the greeting, answers it, waits for OK, optionally sends
// one query, then COM_QUIT. Failures are reported with libmysqlclient's texts
// (include/errmsg.h), e.g.
//   ERROR 2003 (HY000): Can't connect to MySQL server on 'mysqldb:3306' (111)
//   ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet', system error: 0
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sim/apps/mysql_wire.h"

namespace meshsim::sim::mysql {

struct ServerConfig {
  std::string server_version = "8.0.36";
  std::map<std::string, std::string> users = {{"root", "password"}};  // user → password
  std::string database = "test";
  std::vector<std::string> columns = {"ReviewID", "Rating"};
  std::vector<std::vector<std::string>> rows = {{"1", "5"}, {"2", "4"}};  // Bookinfo's ratings table
};

class ServerSession {
 public:
  // `scramble` is the 20-byte nonce (drawn from the app's random stream).
  ServerSession(const ServerConfig& config, uint32_t connection_id, std::string scramble, std::string client_ip);

  // The greeting to send right after accept.
  std::string greeting();
  // Client bytes in; bytes to send appended to `out`. Returns false when the
  // server closes the connection after sending `out`.
  bool on_data(std::string_view in, std::string& out);

  enum class State { kGreeted, kAuthenticated, kClosed };
  State state() const { return state_; }
  const std::string& username() const { return username_; }
  // Why the server closed, e.g. "Bad handshake" (empty when it did not).
  const std::string& close_reason() const { return close_reason_; }

 private:
  const ServerConfig& cfg_;
  uint32_t connection_id_;
  std::string scramble_;
  std::string client_ip_;
  std::string buf_;
  State state_ = State::kGreeted;
  bool deprecate_eof_ = false;
  std::string username_;
  std::string close_reason_;
};

struct ClientConfig {
  std::string host = "mysqldb";  // as the user typed it (for error texts)
  uint16_t port = 3306;
  std::string user = "root";
  std::string password = "password";
  std::string database = "test";
  std::string query = "SELECT * FROM ratings";  // "" = connect only
};

class ClientSession {
 public:
  explicit ClientSession(ClientConfig config);

  // Server bytes in; bytes to send appended to `out`.
  void on_data(std::string_view in, std::string& out);
  // The TCP connection failed or ended; errno_value as the kernel reports it
  // (111 refused, 110 timed out, 104 reset, 0 orderly EOF).
  void on_connect_failed(int errno_value);
  void on_closed(int errno_value);
  // The client's own timeout while waiting (connect_timeout for the greeting).
  void on_timeout();

  enum class Phase { kWaitGreeting, kWaitAuth, kWaitQuery, kDone, kFailed };
  Phase phase() const { return phase_; }
  bool succeeded() const { return phase_ == Phase::kDone; }
  bool finished() const { return phase_ == Phase::kDone || phase_ == Phase::kFailed; }
  // "ERROR 2013 (HY000): Lost connection …" or "" on success.
  const std::string& error() const { return error_; }
  int error_code() const { return error_code_; }
  const std::string& server_version() const { return server_version_; }
  const std::vector<std::vector<std::string>>& rows() const { return rows_; }

 private:
  void fail(int code, std::string_view sqlstate, std::string message);
  void handle(const Packet& p, std::string& out);

  ClientConfig cfg_;
  std::string buf_;
  Phase phase_ = Phase::kWaitGreeting;
  std::string error_;
  int error_code_ = 0;
  std::string server_version_;
  bool deprecate_eof_ = false;
  // result-set parsing
  uint64_t columns_ = 0;
  uint64_t columns_seen_ = 0;
  bool in_rows_ = false;
  bool saw_first_eof_ = false;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace meshsim::sim::mysql
