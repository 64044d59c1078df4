// HTTP/1.x messages as the proxy engine and the virtual apps handle them:
// method/target or status, an ordered header list with case-insensitive
// lookup, and a fully buffered body. Parsing is done by Boost.Beast
// (proxy/http/parser.h); serialisation writes the wire form directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meshsim::proxy::http {

bool iequals(std::string_view a, std::string_view b);

class Headers {
 public:
  struct Field {
    std::string name;
    std::string value;
  };

  // First value of `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // Replaces every `name` field with one field (appended at the end if new).
  void set(std::string_view name, std::string_view value);
  // Appends a field, keeping existing ones.
  void add(std::string_view name, std::string_view value);
  // Removes every `name` field; returns how many were removed.
  size_t remove(std::string_view name);

  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  void clear() { fields_.clear(); }
  void reserve(size_t n) { fields_.reserve(n); }

 private:
  std::vector<Field> fields_;
};

struct Request {
  std::string method = "GET";
  std::string target = "/";
  int version = 11;  // 10 = HTTP/1.0, 11 = HTTP/1.1
  Headers headers;
  std::string body;

  // Host header (HTTP/1.1 authority), "" if absent.
  std::string_view host() const;
  // target without the query string.
  std::string_view path() const;
  // Whether the connection stays open after this exchange (HTTP/1.1 default
  // yes unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive").
  bool keep_alive() const;
};

struct Response {
  int status = 200;
  std::string reason;  // "" = the standard reason phrase for status
  int version = 11;
  Headers headers;
  std::string body;

  bool keep_alive() const;
};

std::string_view reason_phrase(int status);

// Wire form. A Content-Length header is added when the message has a body (or
// is a response) and declares neither Content-Length nor Transfer-Encoding;
// a chunked body is re-encoded as Content-Length (bodies are buffered).
void serialize(const Request& r, std::string& out);
void serialize(const Response& r, std::string& out);
std::string serialize(const Request& r);
std::string serialize(const Response& r);

}  // namespace meshsim::proxy::http
