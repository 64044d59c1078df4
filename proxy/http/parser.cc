#include "proxy/http/parser.h"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <algorithm>
#include <optional>
#include <vector>

#include "proxy/base/ascii.h"

namespace meshsim::proxy::http {
namespace {

namespace beast_http = boost::beast::http;
using boost::beast::error_code;

constexpr std::size_t kHeaderLimit = 60 * 1024;
constexpr std::uint64_t kBodyLimit = 64ull * 1024 * 1024;

// Copies the bytes of `fields` (each name, then its value, in order) into
// `out` and re-points the views there. The copy is built apart, then swapped
// in, so fields may point into `out` itself; it lives on the heap (reserved
// past the small-string buffer), so the swap keeps the views valid.
void gather_fields(std::vector<Headers::Field>& fields, std::string& out) {
  size_t total = 0;
  for (const Headers::Field& f : fields) total += f.name.size() + f.value.size();
  std::string copy;
  copy.reserve(std::max<size_t>(total, 64));
  for (const Headers::Field& f : fields) copy.append(f.name).append(f.value);
  size_t at = 0;
  for (Headers::Field& f : fields) {
    size_t n = f.name.size(), v = f.value.size();
    f.name = std::string_view(copy).substr(at, n);
    f.value = std::string_view(copy).substr(at + n, v);
    at += n + v;
  }
  out.swap(copy);
}

template <bool IsRequest, typename Message>
class BeastParser final : public beast_http::basic_parser<IsRequest> {
 public:
  BeastParser(Message& m, std::vector<Headers::Field>& fields, bool& stashed, const std::string_view& input)
      : m_(m), fields_(fields), stashed_(stashed), input_(input) {
    fields_.clear();
    stashed_ = false;
    this->header_limit(kHeaderLimit);
    this->body_limit(kBodyLimit);
    this->eager(true);
  }

 private:
  void on_request_impl(beast_http::verb, boost::beast::string_view method, boost::beast::string_view target,
                       int version, error_code&) override {
    if constexpr (IsRequest) {
      m_.method.assign(method.data(), method.size());
      m_.target.assign(target.data(), target.size());
      m_.version = version;
    }
  }
  void on_response_impl(int code, boost::beast::string_view reason, int version, error_code&) override {
    if constexpr (!IsRequest) {
      m_.status = code;
      m_.reason.assign(reason.data(), reason.size());
      m_.version = version;
    }
  }
  // Beast parses a header block only once it is complete in one buffer, so
  // the fields' views all point into it: collect them, then copy the block
  // into the message's arena once (instead of every name and value apart).
  void on_field_impl(beast_http::field, boost::beast::string_view name, boost::beast::string_view value,
                     error_code&) override {
    fields_.push_back({std::string_view(name.data(), name.size()), std::string_view(value.data(), value.size())});
  }
  void on_header_impl(error_code&) override {
    if (fields_.empty()) return;
    // Views outside the bytes being parsed: fields stashed from an earlier
    // read, or values Beast rebuilt in its own buffer (obsolete line folding,
    // found by sidecar_http_fuzz).
    bool outside = stashed_;
    for (const Headers::Field& f : fields_) {
      outside = outside || !within(f.name) || !within(f.value);
    }
    if (outside) {
      // One block of their bytes, in order.
      std::string block;
      gather_fields(fields_, block);
      m_.headers.add_block(block, fields_.data(), fields_.size());
      fields_.clear();
      stashed_ = false;
      return;
    }
    const char* lo = fields_.front().name.data();
    const char* hi = lo;
    for (const Headers::Field& f : fields_) {
      lo = std::min({lo, f.name.data(), f.value.data()});
      hi = std::max({hi, f.name.data() + f.name.size(), f.value.data() + f.value.size()});
    }
    m_.headers.add_block(std::string_view(lo, static_cast<size_t>(hi - lo)), fields_.data(), fields_.size());
    fields_.clear();
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    if (length) m_.body.reserve(static_cast<size_t>(*length));
  }
  std::size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    m_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, error_code&) override {
    m_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  bool within(std::string_view v) const {
    return v.empty() || (v.data() >= input_.data() && v.data() + v.size() <= input_.data() + input_.size());
  }

  Message& m_;
  std::vector<Headers::Field>& fields_;  // owned by the ParserCore (capacity reused)
  bool& stashed_;                        // some of fields_ point into the core's stash
  const std::string_view& input_;        // the bytes of the current put()
};

// Shared machinery of both parsers: a byte buffer with a consumed prefix, a
// fresh Beast parser per message, and the message being built. Bytes handed
// to feed_next() are parsed where they are when nothing is buffered (the
// common case: one whole message per read); only an unparsed remainder is
// copied into the buffer.
template <bool IsRequest, typename Message>
struct ParserCore {
  std::string buf;
  size_t pos = 0;  // bytes of buf already consumed
  Message msg;
  std::optional<BeastParser<IsRequest, Message>> p;
  std::vector<Headers::Field> fields;
  // Beast delivers (and consumes) each complete field of a header block
  // that is not complete yet; their views point into the read they came
  // from, which the caller may reuse or free before the block completes
  // (found by sidecar_http_fuzz: a request split inside its headers). Such
  // fields are copied here when a read ends mid-header.
  std::string stash;
  bool stashed = false;
  std::string_view input;  // what the current put() parses
  bool started = false;
  uint64_t msg_bytes = 0;    // consumed for the message being parsed
  uint64_t taken_bytes = 0;  // of the message last taken
  bool failed = false;
  bool head = false;
  bool continue_checked = false;  // take_continue() looked at this message
  std::string err;

  void fresh() {
    continue_checked = false;
    msg.clear();
    p.reset();
    p.emplace(msg, fields, stashed, input);
    if constexpr (!IsRequest) p->skip(head);
    started = false;
    msg_bytes = 0;
  }

  void compact() {
    if (pos > 0 && pos == buf.size()) {
      buf.clear();
      pos = 0;
    } else if (pos > 4096 && pos * 2 > buf.size()) {
      buf.erase(0, pos);
      pos = 0;
    }
  }

  void feed(std::string_view bytes) {
    compact();
    buf.append(bytes);
  }

  // Runs the Beast parser over `in`; returns bytes consumed and the status.
  ParseStatus run(std::string_view in, size_t& consumed) {
    consumed = 0;
    while (consumed < in.size()) {
      error_code ec;
      input = in.substr(consumed);
      std::size_t n = p->put(boost::asio::const_buffer(in.data() + consumed, in.size() - consumed), ec);
      consumed += n;
      msg_bytes += n;
      if (n > 0) started = true;
      if (ec == beast_http::error::need_more) {
        if (n == 0) {
          stash_fields();
          return ParseStatus::kNeedMore;
        }
        continue;
      }
      if (ec) return fail(ec.message());
      if (p->is_done()) return ParseStatus::kComplete;
    }
    if (p->is_done()) return ParseStatus::kComplete;
    stash_fields();
    return ParseStatus::kNeedMore;
  }

  // Copies the fields of an unfinished header block out of the caller's read.
  void stash_fields() {
    if (fields.empty()) return;
    gather_fields(fields, stash);
    stashed = true;
  }

  ParseStatus next() {
    if (failed) return ParseStatus::kError;
    if (!p) fresh();
    size_t n = 0;
    ParseStatus st = run(std::string_view(buf).substr(pos), n);
    pos += n;
    return st;
  }

  ParseStatus feed_next(std::string_view in) {
    compact();
    if (failed) return ParseStatus::kError;
    if (pos < buf.size()) {  // a partial message is buffered: keep the bytes contiguous
      buf.append(in);
      return next();
    }
    if (!p) fresh();
    size_t n = 0;
    ParseStatus st = run(in, n);
    if (n < in.size()) buf.append(in.substr(n));
    return st;
  }

  ParseStatus eof() {
    if (failed) return ParseStatus::kError;
    if (!p) fresh();
    if (next() == ParseStatus::kComplete) return ParseStatus::kComplete;
    if (failed) return ParseStatus::kError;
    if (!started && pos == buf.size()) return fail("connection closed before a response");
    error_code ec;
    p->put_eof(ec);
    if (ec) return fail(ec.message());
    return p->is_done() ? ParseStatus::kComplete : fail("connection closed mid-message");
  }

  ParseStatus fail(std::string why) {
    failed = true;
    err = std::move(why);
    return ParseStatus::kError;
  }

  Message take() {
    Message out = std::move(msg);
    msg = Message{};
    p.reset();  // next() starts a fresh message
    started = false;
    return out;
  }

  void take_into(Message& out) {
    std::swap(out, msg);  // the parser reuses out's buffers for the next message
    p.reset();
    started = false;
    taken_bytes = msg_bytes;
    msg_bytes = 0;
  }

  bool mid_message() const { return started && !(p && p->is_done()); }

  bool take_continue() {
    if (continue_checked || failed || !p || !p->is_header_done() || p->is_done()) return false;
    continue_checked = true;
    std::optional<std::string_view> expect = msg.headers.get("expect");
    return expect && ascii_iequals(*expect, "100-continue");
  }
};

}  // namespace

struct RequestParser::Impl : ParserCore<true, Request> {};
struct ResponseParser::Impl : ParserCore<false, Response> {};

RequestParser::RequestParser() : impl_(std::make_unique<Impl>()) {}
RequestParser::~RequestParser() = default;
RequestParser::RequestParser(RequestParser&&) noexcept = default;
RequestParser& RequestParser::operator=(RequestParser&&) noexcept = default;
void RequestParser::feed(std::string_view bytes) { impl_->feed(bytes); }
ParseStatus RequestParser::next() { return impl_->next(); }
ParseStatus RequestParser::feed_next(std::string_view bytes) { return impl_->feed_next(bytes); }
bool RequestParser::take_continue() { return impl_->take_continue(); }
Request RequestParser::take() { return impl_->take(); }
void RequestParser::take_into(Request& out) { impl_->take_into(out); }
bool RequestParser::mid_message() const { return impl_->mid_message() || impl_->pos < impl_->buf.size(); }
uint64_t RequestParser::message_bytes() const { return impl_->taken_bytes; }
size_t RequestParser::buffered() const { return impl_->buf.size() - impl_->pos; }
const std::string& RequestParser::error() const { return impl_->err; }

ResponseParser::ResponseParser() : impl_(std::make_unique<Impl>()) {}
ResponseParser::~ResponseParser() = default;
ResponseParser::ResponseParser(ResponseParser&&) noexcept = default;
ResponseParser& ResponseParser::operator=(ResponseParser&&) noexcept = default;
void ResponseParser::expect_head_response(bool head) {
  impl_->head = head;
  if (impl_->p && !impl_->started) impl_->p->skip(head);
}
void ResponseParser::feed(std::string_view bytes) { impl_->feed(bytes); }
ParseStatus ResponseParser::next() { return impl_->next(); }
ParseStatus ResponseParser::feed_next(std::string_view bytes) { return impl_->feed_next(bytes); }
ParseStatus ResponseParser::finish_eof() { return impl_->eof(); }
Response ResponseParser::take() { return impl_->take(); }
void ResponseParser::take_into(Response& out) { impl_->take_into(out); }
bool ResponseParser::mid_message() const { return impl_->mid_message() || impl_->pos < impl_->buf.size(); }
size_t ResponseParser::buffered() const { return impl_->buf.size() - impl_->pos; }
const std::string& ResponseParser::error() const { return impl_->err; }

}  // namespace meshsim::proxy::http
