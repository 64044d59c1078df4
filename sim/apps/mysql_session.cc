#include "sim/apps/mysql_session.h"

namespace meshsim::sim::mysql {

ServerSession::ServerSession(const ServerConfig& config, uint32_t connection_id, std::string scramble,
                             std::string client_ip)
    : cfg_(config), connection_id_(connection_id), scramble_(std::move(scramble)), client_ip_(std::move(client_ip)) {
  scramble_.resize(20, '\x2a');
  // A scramble never contains NUL or '$' (mysqld's generate_user_salt).
  for (char& c : scramble_) {
    c = static_cast<char>((static_cast<unsigned char>(c) & 0x7f));
    if (c == '\0' || c == '$') c = 'x';
  }
}

std::string ServerSession::greeting() {
  Greeting g;
  g.server_version = cfg_.server_version;
  g.connection_id = connection_id_;
  g.auth_plugin_data = scramble_;
  g.capabilities = default_server_capabilities();
  return frame(encode_greeting(g), 0);
}

bool ServerSession::on_data(std::string_view in, std::string& out) {
  buf_.append(in);
  while (state_ != State::kClosed) {
    // A client that answers the greeting with something that is not a MySQL
    // packet (e.g. a TLS ClientHello) is a bad handshake.
    if (state_ == State::kGreeted && buf_.size() >= 4) {
      uint32_t len = static_cast<uint8_t>(buf_[0]) | (static_cast<uint8_t>(buf_[1]) << 8) |
                     (static_cast<uint32_t>(static_cast<uint8_t>(buf_[2])) << 16);
      if (static_cast<uint8_t>(buf_[3]) != 1 || len > 64 * 1024) {
        out += frame(encode_err(1043, "08S01", "Bad handshake"), 2);
        close_reason_ = "Bad handshake";
        state_ = State::kClosed;
        return false;
      }
    }
    auto p = take_packet(buf_);
    if (!p) return true;
    if (state_ == State::kGreeted) {
      auto r = decode_handshake_response(p->payload);
      if (!r) {
        out += frame(encode_err(1043, "08S01", "Bad handshake"), 2);
        close_reason_ = "Bad handshake";
        state_ = State::kClosed;
        return false;
      }
      deprecate_eof_ = (r->capabilities & kClientDeprecateEof) != 0;
      username_ = r->username;
      auto user = cfg_.users.find(r->username);
      bool ok = user != cfg_.users.end() && caching_sha2_scramble(user->second, scramble_) == r->auth_response;
      if (!ok) {
        std::string msg = "Access denied for user '" + r->username + "'@'" + client_ip_ + "' (using password: " +
                          (r->auth_response.empty() ? "NO" : "YES") + ")";
        out += frame(encode_err(1045, "28000", msg), 2);
        close_reason_ = "Access denied";
        state_ = State::kClosed;
        return false;
      }
      out += frame(encode_fast_auth_success(), 2);
      out += frame(encode_ok(), 3);
      state_ = State::kAuthenticated;
      continue;
    }
    // Command phase.
    if (p->payload.empty()) continue;
    auto cmd = static_cast<uint8_t>(p->payload[0]);
    if (cmd == kComQuit) {
      state_ = State::kClosed;
      return false;
    }
    if (cmd == kComPing) {
      out += frame(encode_ok(), 1);
    } else if (cmd == kComQuery) {
      auto packets = encode_result_set(cfg_.columns, cfg_.rows, deprecate_eof_);
      uint8_t seq = 1;
      for (const std::string& payload : packets) out += frame(payload, seq++);
    } else {
      out += frame(encode_err(1047, "08S01", "Unknown command"), 1);
    }
  }
  return false;
}

ClientSession::ClientSession(ClientConfig config) : cfg_(std::move(config)) {}

void ClientSession::fail(int code, std::string_view sqlstate, std::string message) {
  if (finished()) return;
  phase_ = Phase::kFailed;
  error_code_ = code;
  error_ = "ERROR " + std::to_string(code) + " (" + std::string(sqlstate) + "): " + message;
}

void ClientSession::on_connect_failed(int errno_value) {
  fail(2003, "HY000",
       "Can't connect to MySQL server on '" + cfg_.host + ":" + std::to_string(cfg_.port) + "' (" +
           std::to_string(errno_value) + ")");
}

void ClientSession::on_closed(int errno_value) {
  if (finished()) return;
  if (phase_ == Phase::kWaitGreeting) {
    fail(2013, "HY000",
         "Lost connection to MySQL server at 'reading initial communication packet', system error: " +
             std::to_string(errno_value));
  } else if (phase_ == Phase::kWaitAuth) {
    fail(2013, "HY000",
         "Lost connection to MySQL server at 'reading authorization packet', system error: " +
             std::to_string(errno_value));
  } else {
    fail(2013, "HY000", "Lost connection to MySQL server during query");
  }
}

void ClientSession::on_timeout() {
  // The greeting never came: the mysql client gives up on the initial read.
  on_closed(0);
}

void ClientSession::on_data(std::string_view in, std::string& out) {
  buf_.append(in);
  while (!finished()) {
    auto p = take_packet(buf_);
    if (!p) return;
    handle(*p, out);
  }
}

void ClientSession::handle(const Packet& p, std::string& out) {
  switch (phase_) {
    case Phase::kWaitGreeting: {
      if (auto err = decode_err(p.payload)) {
        fail(err->code, err->sql_state.empty() ? "HY000" : err->sql_state, err->message);
        return;
      }
      auto g = decode_greeting(p.payload);
      if (!g) {
        fail(2007, "HY000", "Protocol mismatch; server version = " +
                                std::to_string(p.payload.empty() ? 0 : static_cast<uint8_t>(p.payload[0])) +
                                ", client version = 10");
        return;
      }
      server_version_ = g->server_version;
      HandshakeResponse r;
      r.capabilities = default_client_capabilities() & (g->capabilities | kClientConnectAttrs | kClientDeprecateEof);
      r.capabilities |= kClientProtocol41;
      if (!cfg_.database.empty()) r.capabilities |= kClientConnectWithDb;
      deprecate_eof_ = (r.capabilities & kClientDeprecateEof) != 0;
      r.username = cfg_.user;
      r.database = cfg_.database;
      r.auth_response = caching_sha2_scramble(cfg_.password, g->auth_plugin_data);
      r.attributes = {{"_client_name", "libmysql"}, {"_client_version", "8.0.36"}, {"program_name", "mysql"}};
      out += frame(encode_handshake_response(r), static_cast<uint8_t>(p.sequence_id + 1));
      phase_ = Phase::kWaitAuth;
      return;
    }
    case Phase::kWaitAuth: {
      ResponseKind k = classify(p.payload, false);
      if (k == ResponseKind::kAuthMoreData) return;  // fast auth success; OK follows
      if (k == ResponseKind::kErr) {
        auto err = decode_err(p.payload);
        fail(err ? err->code : 2013, err ? err->sql_state : "HY000", err ? err->message : "bad error packet");
        return;
      }
      if (k != ResponseKind::kOk) {
        fail(2027, "HY000", "Malformed packet");
        return;
      }
      if (cfg_.query.empty()) {
        out += frame(std::string(1, static_cast<char>(kComQuit)), 0);
        phase_ = Phase::kDone;
        return;
      }
      std::string q(1, static_cast<char>(kComQuery));
      q += cfg_.query;
      out += frame(q, 0);
      phase_ = Phase::kWaitQuery;
      return;
    }
    case Phase::kWaitQuery: {
      if (columns_ == 0) {
        ResponseKind k = classify(p.payload, deprecate_eof_);
        if (k == ResponseKind::kErr) {
          auto err = decode_err(p.payload);
          fail(err ? err->code : 2013, err ? err->sql_state : "HY000", err ? err->message : "");
          return;
        }
        if (k == ResponseKind::kOk) {
          out += frame(std::string(1, static_cast<char>(kComQuit)), 0);
          phase_ = Phase::kDone;
          return;
        }
        std::string_view v = p.payload;
        columns_ = get_lenenc_int(v).value_or(0);
        return;
      }
      if (columns_seen_ < columns_) {
        ++columns_seen_;
        return;
      }
      auto h = static_cast<uint8_t>(p.payload.empty() ? 0 : p.payload[0]);
      if (h == 0xfe && p.payload.size() < 9) {
        if (!deprecate_eof_ && !saw_first_eof_) {
          saw_first_eof_ = true;
          return;
        }
        out += frame(std::string(1, static_cast<char>(kComQuit)), 0);
        phase_ = Phase::kDone;
        return;
      }
      std::string_view v = p.payload;
      std::vector<std::string> row;
      for (uint64_t i = 0; i < columns_; ++i) {
        auto n = get_lenenc_int(v);
        if (!n || v.size() < *n) break;
        row.emplace_back(v.substr(0, static_cast<size_t>(*n)));
        v.remove_prefix(static_cast<size_t>(*n));
      }
      rows_.push_back(std::move(row));
      return;
    }
    default:
      return;
  }
}

}  // namespace meshsim::sim::mysql
