#include "proxy/http/http2_codec.h"


#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <map>
#include <vector>

#include "proxy/base/ascii.h"
#include "proxy/http/nghttp2_session.h"

namespace meshsim::proxy::http {

const char* h2_error_name(uint32_t code) {
  switch (code) {
    case 0x0: return "NO_ERROR";
    case 0x1: return "PROTOCOL_ERROR";
    case 0x2: return "INTERNAL_ERROR";
    case 0x3: return "FLOW_CONTROL_ERROR";
    case 0x4: return "SETTINGS_TIMEOUT";
    case 0x5: return "STREAM_CLOSED";
    case 0x6: return "FRAME_SIZE_ERROR";
    case 0x7: return "REFUSED_STREAM";
    case 0x8: return "CANCEL";
    case 0x9: return "COMPRESSION_ERROR";
    case 0xa: return "CONNECT_ERROR";
    case 0xb: return "ENHANCE_YOUR_CALM";
    case 0xc: return "INADEQUATE_SECURITY";
    case 0xd: return "HTTP_1_1_REQUIRED";
    default: return "UNKNOWN";
  }
}

namespace {

// Connection-specific header fields HTTP/2 forbids (RFC 9113 §8.2.2); Envoy's
// codec drops them when a message crosses from HTTP/1.
bool connection_specific(std::string_view name, std::string_view value) {
  return ascii_iequals(name, "connection") || ascii_iequals(name, "keep-alive") ||
         ascii_iequals(name, "proxy-connection") || ascii_iequals(name, "transfer-encoding") ||
         ascii_iequals(name, "upgrade") || ascii_iequals(name, "host") ||
         (ascii_iequals(name, "te") && !ascii_iequals(value, "trailers"));
}

}  // namespace

// One nghttp2 session (either role) and the messages of its streams.
class Http2Session {
 public:
  friend nghttp2_session* h2::new_session<Http2Session>(bool, Http2Session*);  // reads the callbacks

  struct Stream {
    // Inbound message (server: the request; client: the response).
    Request req;
    Response resp;
    bool in_trailers = false;
    bool final_headers = false;  // client: a non-1xx HEADERS arrived
    bool complete = false;
    bool answered = false;       // server: a response was submitted
    uint64_t wire_in = 0;
    // Outbound body and trailers (a data provider reads them).
    std::string body_out;
    size_t body_off = 0;
    std::vector<std::pair<std::string, std::string>> trailers_out;
  };

  Http2Session(bool server, const Http2Settings& st) : session_(h2::new_session(server, this)), server_(server) {
    const nghttp2_settings_entry iv[3] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, st.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, st.initial_stream_window_size},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, st.hpack_table_size},
    };
    h2::submit_settings(session_, iv, st.initial_connection_window_size);
  }
  ~Http2Session() { nghttp2_session_del(session_); }
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  bool recv(std::string_view bytes) {
    if (failed_) return false;
    ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (n < 0) {
      failed_ = true;
      error_ = nghttp2_strerror(static_cast<int>(n));
      // A bad preface or flood: nghttp2 wants the connection gone; say so
      // with a GOAWAY(PROTOCOL_ERROR) as Envoy's codec does.
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      return false;
    }
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) && error_.empty()) {
      error_ = "the peer's frames violated the protocol (GOAWAY sent)";
    }
    return true;
  }

  void send(std::string& out) { h2::drain(session_, out); }

  // Header list of a message: pseudo-headers first, then the fields
  // (lower-cased as HTTP/2 requires), connection-specific ones dropped.
  // The lower-cased names go into one reused buffer (no allocation once
  // warmed up); the views are taken after the last append.
  void build_nv(const Headers& h, std::vector<nghttp2_nv>& nv) {
    lower_.clear();
    for (Headers::Field f : h) {
      if (connection_specific(f.name, f.value)) continue;
      for (char c : f.name) lower_.push_back(ascii_lower(c));
    }
    size_t off = 0;
    for (Headers::Field f : h) {
      if (connection_specific(f.name, f.value)) continue;
      nv.push_back(make_nv(std::string_view(lower_).substr(off, f.name.size()), f.value));
      off += f.name.size();
    }
  }

  // A stream's state, recycled from closed streams (their message buffers
  // keep their capacity).
  Stream fresh() {
    if (free_.empty()) return Stream{};
    Stream st = std::move(free_.back());
    free_.pop_back();
    st.req.clear();
    st.resp.clear();
    st.in_trailers = st.final_headers = st.complete = st.answered = false;
    st.wire_in = 0;
    st.body_out.clear();
    st.body_off = 0;
    st.trailers_out.clear();
    return st;
  }
  void recycle(std::map<int32_t, Stream>::iterator it) {
    if (free_.size() < 64) free_.push_back(std::move(it->second));
    streams_.erase(it);
  }

  static nghttp2_nv make_nv(std::string_view n, std::string_view v) { return h2::nv(n, v); }

  nghttp2_data_provider provider(Stream& s, const std::string& body, const Headers& trailers) {
    s.body_out.assign(body);
    s.body_off = 0;
    s.trailers_out.clear();
    for (Headers::Field f : trailers) {
      std::string n(f.name);
      for (char& c : n) c = ascii_lower(c);
      s.trailers_out.emplace_back(std::move(n), std::string(f.value));
    }
    nghttp2_data_provider p;
    p.source.ptr = &s;
    p.read_callback = &read_body;
    return p;
  }

  // Server: answers `stream`.
  void respond(StreamId id, const Response& r, std::string& out) {
    auto it = streams_.find(static_cast<int32_t>(id));
    if (it == streams_.end() || it->second.answered) {
      send(out);
      return;
    }
    Stream& s = it->second;
    s.answered = true;
    char status[8];
    auto [e, ec] = std::to_chars(status, status + sizeof status, r.status);
    (void)ec;
    std::vector<nghttp2_nv>& nv = nv_;
    nv.clear();
    nv.push_back(make_nv(":status", std::string_view(status, static_cast<size_t>(e - status))));
    build_nv(r.headers, nv);
    if (r.body.empty() && r.trailers.empty()) {
      nghttp2_submit_response(session_, static_cast<int32_t>(id), nv.data(), nv.size(), nullptr);
    } else {
      nghttp2_data_provider p = provider(s, r.body, r.trailers);
      nghttp2_submit_response(session_, static_cast<int32_t>(id), nv.data(), nv.size(), &p);
    }
    send(out);
  }

  // Client: opens a stream for `r`.
  StreamId request(const Request& r, bool tls, std::string& out) {
    if (goaway_ || !nghttp2_session_check_request_allowed(session_)) return 0;
    std::string_view authority = r.headers.get("host").value_or("");
    std::vector<nghttp2_nv>& nv = nv_;
    nv.clear();
    nv.push_back(make_nv(":method", r.method));
    nv.push_back(make_nv(":scheme", tls ? "https" : "http"));
    nv.push_back(make_nv(":authority", authority));
    nv.push_back(make_nv(":path", r.target));
    build_nv(r.headers, nv);
    // nghttp2 assigns the id at submit time; the response state goes under
    // it (its callbacks come later, in recv). A body's data provider reads
    // from a separately allocated Stream whose address is stable.
    Stream pending = fresh();
    int32_t id;
    if (r.body.empty() && r.trailers.empty()) {
      id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), nullptr, nullptr);
      if (id <= 0) return 0;
      streams_.emplace(id, std::move(pending));
    } else {
      auto holder = std::make_unique<Stream>();
      nghttp2_data_provider p = provider(*holder, r.body, r.trailers);
      id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), &p, nullptr);
      if (id <= 0) return 0;
      bodies_.emplace(id, std::move(holder));
      streams_.emplace(id, std::move(pending));
    }
    send(out);
    return static_cast<StreamId>(id);
  }

  void reset(StreamId id, uint32_t code, std::string& out) {
    auto it = streams_.find(static_cast<int32_t>(id));
    if (it != streams_.end()) it->second.answered = true;
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, static_cast<int32_t>(id), code);
    send(out);
  }

  void goaway(std::string& out) {
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    send(out);
  }

  bool wants_close() const {
    return failed_ || (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_));
  }

  nghttp2_session* session_ = nullptr;
  bool server_;
  bool failed_ = false;
  bool goaway_ = false;
  StreamId goaway_last_ = 0;
  std::string error_;
  std::map<int32_t, Stream> streams_;
  std::vector<Stream> free_;       // recycled stream states
  std::vector<nghttp2_nv> nv_;     // the header list being submitted
  // Client streams with a body: the data provider's source (stable address).
  std::map<int32_t, std::unique_ptr<Stream>> bodies_;
  std::deque<int32_t> ready_;  // streams whose inbound message is complete, in order
  struct Reset {
    int32_t stream;
    uint32_t code;
    bool remote;
  };
  std::deque<Reset> resets_;
  std::string lower_;

 private:
  Stream* stream(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : &it->second;
  }

  static ssize_t read_body(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    Stream& s = *static_cast<Stream*>(source->ptr);
    size_t n = std::min(length, s.body_out.size() - s.body_off);
    if (n) std::memcpy(buf, s.body_out.data() + s.body_off, n);
    s.body_off += n;
    if (s.body_off == s.body_out.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s.trailers_out.empty()) {
        std::vector<nghttp2_nv> nv;
        nv.reserve(s.trailers_out.size());
        for (const auto& [k, v] : s.trailers_out) nv.push_back(make_nv(k, v));
        if (nghttp2_submit_trailer(session, id, nv.data(), nv.size()) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(n);
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& self = *static_cast<Http2Session*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    int32_t id = frame->hd.stream_id;
    if (self.server_ && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      auto it = self.streams_.find(id);
      if (it == self.streams_.end()) it = self.streams_.emplace(id, self.fresh()).first;
      Stream& s = it->second;
      s.req.clear();
      s.req.version = 20;
      return 0;
    }
    Stream* s = self.stream(id);
    if (!s) return 0;
    if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
      // Server: request trailers; client: a final HEADERS after 1xx, or trailers.
      if (self.server_ || s->final_headers) s->in_trailers = true;
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto& self = *static_cast<Http2Session*>(user);
    Stream* s = self.stream(frame->hd.stream_id);
    if (!s) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (s->in_trailers) {
      (self.server_ ? s->req.trailers : s->resp.trailers).add(n, v);
      return 0;
    }
    if (self.server_) {
      Request& r = s->req;
      if (n == ":method") r.method.assign(v);
      else if (n == ":path") r.target.assign(v);
      else if (n == ":authority") r.headers.add("host", v);
      else if (n == ":scheme" || n == ":protocol") {}
      else if (n == "cookie" && r.headers.has("cookie")) {
        // Envoy's codec joins split cookie fields with "; " (RFC 9113 §8.2.3).
        std::string joined(*r.headers.get("cookie"));
        joined.append("; ").append(v);
        r.headers.set("cookie", joined);
      } else {
        r.headers.add(n, v);
      }
      return 0;
    }
    Response& r = s->resp;
    if (n == ":status") {
      int code = 0;
      std::from_chars(v.data(), v.data() + v.size(), code);
      if (code >= 100 && code < 200) return 0;  // 1xx: skipped (headers follow)
      r.status = code;
      r.version = 20;
      s->final_headers = true;
      return 0;
    }
    if (!s->final_headers) return 0;  // fields of a 1xx
    r.headers.add(n, v);
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* user) {
    auto& self = *static_cast<Http2Session*>(user);
    Stream* s = self.stream(id);
    if (!s) return 0;
    (self.server_ ? s->req.body : s->resp.body).append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& self = *static_cast<Http2Session*>(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      self.goaway_ = true;
      self.goaway_last_ = static_cast<StreamId>(frame->goaway.last_stream_id);
      return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA &&
        frame->hd.type != NGHTTP2_CONTINUATION)
      return 0;
    Stream* s = self.stream(frame->hd.stream_id);
    if (!s) return 0;
    s->wire_in += frame->hd.length + 9;
    if (frame->hd.type == NGHTTP2_HEADERS) s->in_trailers = false;
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !s->complete) {
      if (!self.server_ && !s->final_headers) return 0;
      s->complete = true;
      self.ready_.push_back(frame->hd.stream_id);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t code, void* user) {
    auto& self = *static_cast<Http2Session*>(user);
    self.bodies_.erase(id);
    auto it = self.streams_.find(id);
    if (it == self.streams_.end()) return 0;
    Stream& s = it->second;
    if (self.server_) {
      // Closed before this side answered: the client reset it (or the
      // session ended). A stream whose request is still in ready_ is
      // dropped from there.
      if (!s.answered) {
        if (s.complete) {
          auto r = std::find(self.ready_.begin(), self.ready_.end(), id);
          if (r != self.ready_.end()) {
            self.ready_.erase(r);
          } else {
            self.resets_.push_back({id, code, true});
          }
        }
      }
      self.recycle(it);
      return 0;
    }
    if (!s.complete) {
      self.resets_.push_back({id, code == 0 ? kH2RefusedStream : code, !s.answered});
      self.recycle(it);
    }
    // Complete: kept until take_response() moves the message out.
    return 0;
  }
};

// ====================================================== Http2ServerCodec ===

Http2ServerCodec::Http2ServerCodec(const Http2Settings& settings)
    : s_(std::make_unique<Http2Session>(/*server=*/true, settings)) {}
Http2ServerCodec::~Http2ServerCodec() = default;

void Http2ServerCodec::feed(std::string_view bytes) { s_->recv(bytes); }

ParseStatus Http2ServerCodec::feed_next(std::string_view bytes) {
  if (!s_->recv(bytes)) return ParseStatus::kError;
  return next();
}

ParseStatus Http2ServerCodec::next() {
  if (!s_->ready_.empty()) return ParseStatus::kComplete;
  if (s_->failed_) return ParseStatus::kError;
  return ParseStatus::kNeedMore;
}

StreamId Http2ServerCodec::take_into(Request& out) {
  int32_t id = s_->ready_.front();
  s_->ready_.pop_front();
  auto it = s_->streams_.find(id);
  if (it == s_->streams_.end()) {
    out.clear();
    last_wire_bytes_ = 0;
    return static_cast<StreamId>(id);
  }
  Request& in = it->second.req;
  std::swap(out, in);
  in.clear();
  last_wire_bytes_ = it->second.wire_in;
  return static_cast<StreamId>(id);
}

const std::string& Http2ServerCodec::error() const { return s_->error_; }

void Http2ServerCodec::encode(StreamId stream, const Response& r, std::string& out) { s_->respond(stream, r, out); }

void Http2ServerCodec::drain_output(std::string& out) { s_->send(out); }

bool Http2ServerCodec::take_reset(StreamId& stream, uint32_t& error_code) {
  if (s_->resets_.empty()) return false;
  stream = static_cast<StreamId>(s_->resets_.front().stream);
  error_code = s_->resets_.front().code;
  s_->resets_.pop_front();
  return true;
}

void Http2ServerCodec::reset_stream(StreamId stream, uint32_t error_code, std::string& out) {
  s_->reset(stream, error_code, out);
}

void Http2ServerCodec::shutdown(std::string& out) { s_->goaway(out); }

bool Http2ServerCodec::wants_close() const { return s_->wants_close(); }

// ====================================================== Http2ClientCodec ===

Http2ClientCodec::Http2ClientCodec(const Http2Settings& settings)
    : s_(std::make_unique<Http2Session>(/*server=*/false, settings)) {}
Http2ClientCodec::~Http2ClientCodec() = default;

StreamId Http2ClientCodec::submit(const Request& r, bool tls, std::string& out) { return s_->request(r, tls, out); }

bool Http2ClientCodec::feed(std::string_view bytes) { return s_->recv(bytes); }

void Http2ClientCodec::drain_output(std::string& out) { s_->send(out); }

void Http2ClientCodec::reset_stream(StreamId stream, uint32_t error_code, std::string& out) {
  auto it = s_->streams_.find(static_cast<int32_t>(stream));
  if (it != s_->streams_.end()) it->second.complete = true;  // no reset event for a stream this side gave up
  s_->reset(stream, error_code, out);
  auto gone = s_->streams_.find(static_cast<int32_t>(stream));
  if (gone != s_->streams_.end()) s_->recycle(gone);
}

void Http2ClientCodec::shutdown(std::string& out) { s_->goaway(out); }

bool Http2ClientCodec::next_event(Event& e) {
  if (!s_->ready_.empty()) {
    e = Event{};
    e.kind = Event::Kind::kResponse;
    e.stream = static_cast<StreamId>(s_->ready_.front());
    s_->ready_.pop_front();
    return true;
  }
  if (!s_->resets_.empty()) {
    const auto& r = s_->resets_.front();
    e = Event{};
    e.kind = Event::Kind::kReset;
    e.stream = static_cast<StreamId>(r.stream);
    e.error_code = r.code;
    e.remote = r.remote;
    s_->resets_.pop_front();
    return true;
  }
  return false;
}

void Http2ClientCodec::take_response(StreamId stream, Response& out) {
  auto it = s_->streams_.find(static_cast<int32_t>(stream));
  if (it == s_->streams_.end()) {
    out.clear();
    return;
  }
  std::swap(out, it->second.resp);
  s_->recycle(it);
}

size_t Http2ClientCodec::active_streams() const { return s_->streams_.size(); }
bool Http2ClientCodec::goaway_received() const { return s_->goaway_; }
StreamId Http2ClientCodec::goaway_last_stream() const { return s_->goaway_last_; }
uint32_t Http2ClientCodec::peer_max_concurrent_streams() const {
  return nghttp2_session_get_remote_settings(s_->session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}
bool Http2ClientCodec::wants_close() const { return s_->wants_close(); }
const std::string& Http2ClientCodec::error() const { return s_->error_; }

}  // namespace meshsim::proxy::http
