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

// Header fields in arrival order. Names and values live in one arena string
// per message (a field is a pair of offsets), so parsing, copying and
// clearing a header block costs a handful of allocations at most — and none
// once a message object is reused (clear() keeps the capacity). Lookups are
// case-insensitive. Views returned by get()/operator[] stay valid until the
// next modification of this Headers.
class Headers {
 public:
  struct Field {
    std::string_view name;
    std::string_view value;
  };

  // First value of `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != kNone; }
  // Replaces every `name` field with one field (appended at the end if new).
  void set(std::string_view name, std::string_view value);
  // Appends a field, keeping existing ones.
  void add(std::string_view name, std::string_view value);
  // Removes every `name` field; returns how many were removed.
  size_t remove(std::string_view name);
  // Removes every field whose name satisfies pred(std::string_view name).
  template <typename Pred>
  size_t remove_if(Pred pred) {
    size_t out = 0;
    for (size_t j = 0; j < slots_.size(); ++j) {
      const Slot& s = slots_[j];
      if (!pred(std::string_view(arena_.data() + s.name_off, s.name_len))) slots_[out++] = s;
    }
    size_t removed = slots_.size() - out;
    slots_.resize(out);
    return removed;
  }
  // Appends fields whose names and values all lie within `block` (views
  // into it), copying the block into the arena once.
  void add_block(std::string_view block, const Field* fields, size_t n);

  // Lower-cases every field name in place. Envoy keys its header maps by
  // lower-case names, so what an HTTP/1 peer sends as "Content-Type" it
  // forwards (and logs, and matches) as "content-type".
  void lowercase_names();
  size_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }
  Field operator[](size_t i) const {
    const Slot& s = slots_[i];
    return {std::string_view(arena_.data() + s.name_off, s.name_len),
            std::string_view(arena_.data() + s.value_off, s.value_len)};
  }
  void clear() {
    slots_.clear();
    arena_.clear();
  }
  void reserve(size_t n) { slots_.reserve(n); }

  class const_iterator {
   public:
    const_iterator(const Headers* h, size_t i) : h_(h), i_(i) {}
    Field operator*() const { return (*h_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }

   private:
    const Headers* h_;
    size_t i_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, slots_.size()}; }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  struct Slot {
    uint32_t name_off;
    uint32_t name_len;
    uint32_t value_off;
    uint32_t value_len;
  };
  size_t find(std::string_view name, size_t from = 0) const;
  bool name_is(const Slot& s, std::string_view name) const;
  uint32_t append(std::string_view bytes);

  std::string arena_;
  std::vector<Slot> slots_;
};

struct Request {
  std::string method = "GET";
  std::string target = "/";
  int version = 11;  // 10 = HTTP/1.0, 11 = HTTP/1.1, 20 = HTTP/2
  Headers headers;
  std::string body;
  Headers trailers;  // HTTP/2 trailers (HTTP/1: not sent, as Envoy's default)

  // Host header (HTTP/1.1 authority), "" if absent.
  std::string_view host() const;
  // target without the query string.
  std::string_view path() const;
  // Whether the connection stays open after this exchange (HTTP/1.1 default
  // yes unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive").
  bool keep_alive() const;
  // Back to a default-constructed message, keeping allocated capacity.
  void clear();
};

struct Response {
  int status = 200;
  std::string reason;  // "" = the standard reason phrase for status
  int version = 11;
  Headers headers;
  std::string body;
  Headers trailers;  // HTTP/2 trailers: grpc-status, grpc-message (HTTP/1: not sent)

  bool keep_alive() const;
  void clear();
};

std::string_view reason_phrase(int status);

// Wire form. A Content-Length header is added when the message has a body (or
// is a response) and declares neither Content-Length nor Transfer-Encoding;
// a chunked body is re-encoded as Content-Length (bodies are buffered).
void serialize(const Request& r, std::string& out);
// `version` (10 or 11) overrides r.version in the status line: Envoy's HTTP/1
// server codec writes the downstream connection's protocol (HTTP/1.1, or
// HTTP/1.0 to an HTTP/1.0 client), whatever version the upstream answered in.
void serialize(const Response& r, std::string& out, int version = 0);
std::string serialize(const Request& r);
std::string serialize(const Response& r);

}  // namespace meshsim::proxy::http
