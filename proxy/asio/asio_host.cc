#include "proxy/asio/asio_host.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <unordered_map>
#include <vector>

#include "proxy/asio/asio_internal.h"

namespace meshsim::proxy::asio {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

// <linux/netfilter_ipv4.h> clashes with <netinet/in.h>; its one constant:
constexpr int kSoOriginalDst = 80;  // SO_ORIGINAL_DST

tcp::endpoint to_endpoint(const SocketAddress& a) { return {net::ip::address_v4(a.ip.value), a.port}; }

SocketAddress from_endpoint(const tcp::endpoint& e) {
  SocketAddress a;
  if (e.address().is_v4()) a.ip = Ipv4{e.address().to_v4().to_uint()};
  a.port = e.port();
  return a;
}

// What istio-iptables' REDIRECT remembered about the connection (the
// destination the client dialled), or nullopt when no NAT rule touched it.
std::optional<SocketAddress> original_dst(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (getsockopt(fd, SOL_IP, kSoOriginalDst, &sa, &len) != 0 || sa.sin_family != AF_INET) return std::nullopt;
  return SocketAddress{Ipv4{ntohl(sa.sin_addr.s_addr)}, ntohs(sa.sin_port)};
}

ConnectFailure to_failure(const error_code& ec, bool timed_out) {
  if (timed_out || ec == net::error::timed_out) return ConnectFailure::kTimeout;
  if (ec == net::error::connection_refused) return ConnectFailure::kRefused;
  return ConnectFailure::kUnreachable;
}

}  // namespace

struct Conn {
  explicit Conn(net::io_context& ioc) : sock(ioc), connect_timer(ioc) {}
  tcp::socket sock;
  net::steady_timer connect_timer;
  ConnId id = 0;
  bool open = true;         // the engine still knows this id
  bool connected = false;   // upstream: the handshake finished
  bool timed_out = false;   // upstream: the connect timer fired first
  bool reading = false;     // an async_read_some is pending
  bool read_done = false;   // peer FIN or error seen
  bool writing = false;     // an async_wait(write) is pending: the socket was full
  bool dirty = false;       // in Impl::dirty: queued bytes or a FIN/close to flush
  bool fin_after_flush = false;
  bool close_after_flush = false;
  bool over_watermark = false;
  std::string queued;       // bytes not yet handed to the socket, from queued_pos on
  size_t queued_pos = 0;
  size_t pending() const { return queued.size() - queued_pos; }
  std::array<uint8_t, 16 * 1024> buf;
};

struct AsioHost::Impl {
  Impl(EventLoop& l, AsioHostOptions o)
      : loop(l), ioc(io_context_of(l)), options(std::move(o)), rng(options.seed), trace(std::getenv("MESHSIM_TRACE_IO") != nullptr) {}

  EventLoop& loop;
  net::io_context& ioc;
  AsioHostOptions options;
  AsioHost* host = nullptr;
  std::shared_ptr<int> alive = std::make_shared<int>(0);
  struct Acceptor {
    std::unique_ptr<tcp::acceptor> acceptor;
    ListenSpec spec;
  };
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  std::unordered_map<ConnId, std::shared_ptr<Conn>> conns;
  std::unordered_map<uint64_t, std::unique_ptr<net::steady_timer>> timers;
  uint64_t next_conn = 1, next_timer = 1;
  uint64_t rng;
  bool trace;  // MESHSIM_TRACE_IO set: every Io call and engine entry on stderr
  void log(const char* what, ConnId id, size_t n = 0) {
    if (trace) std::fprintf(stderr, "[io %s] %s conn=%llu n=%zu\n", options.sidecar.name.c_str(), what,
                            static_cast<unsigned long long>(id), n);
  }
  size_t over_watermark = 0;  // sockets whose queue is above the high watermark
  // now() is wall time since the simulation epoch at start, advanced by the
  // monotonic clock: the engine's Date headers and log times read as real
  // dates, and its timers never jump with the wall clock.
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  Duration wall_at_start = EventLoop::wall_since_epoch();

  Sidecar& engine() { return host->sidecar(); }
  AsioHostCounters& counters() { return host->counters_; }

  // Writes are gathered: send() appends to the connection's queue and marks it
  // dirty; the queue goes to the socket in one write when the loop handler
  // that called into the engine returns (HandlerScope), so the several sends
  // of one engine entry (headers, body, TLS records) cost one syscall. A send
  // from outside any of our handlers (e.g. a drain started by a signal
  // handler) posts the flush instead.
  std::vector<std::shared_ptr<Conn>> dirty;
  int handler_depth = 0;
  bool flush_posted = false;
  struct HandlerScope {
    explicit HandlerScope(Impl& i) : impl(i) { ++impl.handler_depth; }
    ~HandlerScope() {
      if (impl.handler_depth == 1) impl.flush_dirty();  // still "inside": sends it causes join the walk
      --impl.handler_depth;
    }
    Impl& impl;
  };
  void mark_dirty(const std::shared_ptr<Conn>& c);
  void flush_dirty();

  void accept(Acceptor& a);
  void read(const std::shared_ptr<Conn>& c);
  void on_read(const std::shared_ptr<Conn>& c, const boost::system::error_code& ec, size_t n);
  void flush(const std::shared_ptr<Conn>& c);
  void finish_close(Conn& c);
  void watermark(const std::shared_ptr<Conn>& c);
  void peer_closed(const std::shared_ptr<Conn>& c, CloseType how);
  void resume_all() {
    for (auto& [id, c] : conns) read(c);
  }
};

AsioHost::AsioHost(EventLoop& loop, AsioHostOptions options) : impl_(std::make_unique<Impl>(loop, std::move(options))) {
  impl_->host = this;
  sidecar_ = std::make_unique<Sidecar>(*this, impl_->options.sidecar);
}

AsioHost::~AsioHost() {
  abort_all();
  impl_->alive.reset();
  sidecar_.reset();
}

Result<uint16_t> AsioHost::listen(const ListenSpec& spec) {
  auto a = std::make_unique<Impl::Acceptor>();
  a->spec = spec;
  a->acceptor = std::make_unique<tcp::acceptor>(impl_->ioc);
  error_code ec;
  tcp::endpoint ep = to_endpoint(spec.bind);
  {
    SocketPlaceScope in(impl_->options.place);
    if (!in.error().empty()) return Error{"cannot listen on " + to_string(spec.bind) + ": " + in.error()};
    a->acceptor->open(ep.protocol(), ec);
  }
  if (!ec) a->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a->acceptor->bind(ep, ec);
  if (!ec) a->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Error{"cannot listen on " + to_string(spec.bind) + ": " + ec.message()};
  uint16_t port = a->acceptor->local_endpoint().port();
  a->spec.bind.port = port;
  impl_->accept(*a);
  impl_->acceptors.push_back(std::move(a));
  return port;
}

void AsioHost::Impl::accept(Acceptor& a) {
  a.acceptor->async_accept([this, &a, guard = std::weak_ptr<int>(alive)](const error_code& ec, tcp::socket s) {
    if (guard.expired() || ec == net::error::operation_aborted) return;
    HandlerScope scope(*this);
    if (!ec) {
      auto c = std::make_shared<Conn>(ioc);
      c->sock = std::move(s);
      c->id = next_conn++;
      c->connected = true;
      error_code ignored;
      c->sock.set_option(tcp::no_delay(true), ignored);
      c->sock.non_blocking(true, ignored);  // write_some returns would_block, never waits
      DownstreamInfo d;
      d.listener_port = a.spec.listener_port;
      d.remote = from_endpoint(c->sock.remote_endpoint(ignored));
      if (a.spec.original_destination) {
        d.original_destination = *a.spec.original_destination;
      } else {
        d.original_destination = original_dst(c->sock.native_handle()).value_or(from_endpoint(c->sock.local_endpoint(ignored)));
      }
      conns.emplace(c->id, c);
      ++counters().accepted;
      log("accepted", c->id);
      engine().on_downstream_accepted(c->id, d);
      read(c);
    }
    if (a.acceptor->is_open()) accept(a);
  });
}

void AsioHost::Impl::read(const std::shared_ptr<Conn>& c) {
  if (!c->open || c->reading || c->read_done || !c->connected || over_watermark > 0) return;
  c->reading = true;
  // Asio tries the read at once and waits for readiness only if it would
  // block: after a short read that try returns EAGAIN (one recvfrom per
  // arrival). Waiting for readiness instead (async_wait) costs the same — Asio
  // re-arms the descriptor with epoll_ctl(MOD) — so the plain read stays.
  c->sock.async_read_some(net::buffer(c->buf), [this, c, guard = std::weak_ptr<int>(alive)](const error_code& ec, size_t n) {
    c->reading = false;
    if (guard.expired() || !c->open) return;
    HandlerScope scope(*this);
    on_read(c, ec, n);
  });
}

void AsioHost::Impl::on_read(const std::shared_ptr<Conn>& c, const error_code& ec, size_t n) {
  if (n > 0) {
    counters().bytes_in += n;
    log("on_data", c->id, n);
    engine().on_data(c->id, std::span<const uint8_t>(c->buf.data(), n));
    if (!c->open) return;
  }
  if (ec == net::error::eof) {
    log("peer_fin", c->id);
    c->read_done = true;
    engine().on_peer_closed(c->id, CloseType::kFin);
  } else if (ec) {
    if (ec != net::error::operation_aborted) peer_closed(c, CloseType::kReset);
  } else {
    read(c);
  }
}

void AsioHost::Impl::peer_closed(const std::shared_ptr<Conn>& c, CloseType how) {
  if (c->read_done && how == CloseType::kFin) return;
  c->read_done = true;
  engine().on_peer_closed(c->id, how);
  if (how == CloseType::kReset && c->open) {
    // A reset socket is dead: the engine may still close(id) later (ignored).
    conns.erase(c->id);
    c->open = false;
    finish_close(*c);
    error_code ignored;
    c->sock.close(ignored);
  }
}

void AsioHost::Impl::mark_dirty(const std::shared_ptr<Conn>& c) {
  if (c->dirty) return;
  c->dirty = true;
  dirty.push_back(c);
  if (handler_depth == 0 && !flush_posted) {
    flush_posted = true;
    net::post(ioc, [this, guard = std::weak_ptr<int>(alive)] {
      if (guard.expired()) return;
      flush_posted = false;
      HandlerScope scope(*this);
    });
  }
}

void AsioHost::Impl::flush_dirty() {
  // flush() may call into the engine (a reset seen while writing), which may
  // send on other connections: the list can grow while we walk it.
  for (size_t i = 0; i < dirty.size(); ++i) {
    std::shared_ptr<Conn> c = std::move(dirty[i]);
    c->dirty = false;
    flush(c);
  }
  dirty.clear();
}

// Writes what is queued now, without waiting: a full socket arms one
// async_wait(write) that resumes here. Never calls the engine for a
// connection the engine closed, so close() may call it.
void AsioHost::Impl::flush(const std::shared_ptr<Conn>& c) {
  if (c->writing || !c->connected) return;
  while (c->pending() > 0) {
    error_code ec;
    size_t n = c->sock.write_some(net::buffer(c->queued.data() + c->queued_pos, c->pending()), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
      c->writing = true;
      c->sock.async_wait(tcp::socket::wait_write, [this, c, guard = std::weak_ptr<int>(alive)](const error_code& e) {
        c->writing = false;
        if (guard.expired()) return;
        HandlerScope scope(*this);
        if (e == net::error::operation_aborted && !c->open) return;
        flush(c);
      });
      return;
    }
    if (ec) {
      c->queued.clear();
      c->queued_pos = 0;
      watermark(c);
      if (c->open && ec != net::error::operation_aborted) peer_closed(c, CloseType::kReset);
      if (!c->open) {
        error_code ignored;
        c->sock.close(ignored);
      }
      return;
    }
    c->queued_pos += n;
    counters().bytes_out += n;
  }
  c->queued.clear();
  c->queued_pos = 0;
  watermark(c);
  if (c->fin_after_flush || c->close_after_flush) {
    error_code ignored;
    c->sock.shutdown(tcp::socket::shutdown_send, ignored);
    c->fin_after_flush = false;
    if (c->close_after_flush) c->sock.close(ignored);
  }
}

void AsioHost::Impl::watermark(const std::shared_ptr<Conn>& c) {
  size_t pending = c->pending();
  if (!c->over_watermark && pending > options.high_watermark) {
    c->over_watermark = true;
    if (over_watermark++ == 0) ++counters().read_pauses;
  } else if (c->over_watermark && pending <= options.low_watermark) {
    c->over_watermark = false;
    if (--over_watermark == 0) resume_all();
  }
}

void AsioHost::Impl::finish_close(Conn& c) {
  if (c.over_watermark) {
    c.over_watermark = false;
    if (--over_watermark == 0) {
      // resume after the engine call returns: resume_all walks conns
      net::post(ioc, [this, guard = std::weak_ptr<int>(alive)] {
        if (!guard.expired()) resume_all();
      });
    }
  }
}

void AsioHost::map_upstream(const SocketAddress& from, const SocketAddress& to) { impl_->options.upstream_map[from] = to; }

size_t AsioHost::open_sockets() const { return impl_->conns.size(); }

void AsioHost::close_listeners() {
  for (auto& a : impl_->acceptors) {
    error_code ignored;
    a->acceptor->close(ignored);
  }
}

void AsioHost::abort_all() {
  close_listeners();
  for (auto& [id, c] : impl_->conns) {
    c->open = false;
    error_code ignored;
    c->sock.set_option(net::socket_base::linger(true, 0), ignored);
    c->sock.close(ignored);
    c->connect_timer.cancel();
  }
  impl_->conns.clear();
  for (auto& c : impl_->dirty) c->dirty = false;
  impl_->dirty.clear();
  for (auto& [h, t] : impl_->timers) t->cancel();
  impl_->timers.clear();
  impl_->over_watermark = 0;
}

Duration AsioHost::now() const {
  return impl_->wall_at_start +
         Duration::nanos(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - impl_->start).count());
}

ConnId AsioHost::connect(const SocketAddress& to, Duration timeout, std::optional<Ipv4> source) {
  auto c = std::make_shared<Conn>(impl_->ioc);
  c->id = impl_->next_conn++;
  impl_->conns.emplace(c->id, c);
  impl_->log("connect", c->id);
  ++counters_.connects;
  SocketAddress real = to;
  if (auto it = impl_->options.upstream_map.find(to); it != impl_->options.upstream_map.end()) real = it->second;
  Impl* impl = impl_.get();
  auto fail = [impl, c, guard = std::weak_ptr<int>(impl_->alive)](const error_code& ec) {
    if (guard.expired() || !c->open) return;
    Impl::HandlerScope scope(*impl);
    impl->conns.erase(c->id);
    c->open = false;
    ++impl->counters().connect_failures;
    error_code ignored;
    c->sock.close(ignored);
    impl->engine().on_upstream_connect_failed(c->id, to_failure(ec, c->timed_out));
  };
  error_code ec;
  {
    SocketPlaceScope in(impl_->options.place);
    if (!in.error().empty()) ec = net::error::access_denied;
    else c->sock.open(tcp::v4(), ec);
  }
  if (!ec && source && !source->is_any()) c->sock.bind(tcp::endpoint(net::ip::address_v4(source->value), 0), ec);
  if (ec) {
    net::post(impl_->ioc, [fail, ec] { fail(ec); });
    return c->id;
  }
  if (timeout > Duration::zero()) {
    c->connect_timer.expires_after(std::chrono::nanoseconds(timeout.ns()));
    c->connect_timer.async_wait([c](const error_code& e) {
      if (e || c->connected || !c->open) return;
      c->timed_out = true;
      error_code ignored;
      c->sock.cancel(ignored);
    });
  }
  c->sock.async_connect(to_endpoint(real), [impl, c, fail, guard = std::weak_ptr<int>(impl_->alive)](const error_code& e) {
    c->connect_timer.cancel();
    if (guard.expired() || !c->open) return;
    if (e || c->timed_out) {
      fail(e ? e : net::error::timed_out);
      return;
    }
    Impl::HandlerScope scope(*impl);
    c->connected = true;
    error_code ignored;
    c->sock.set_option(tcp::no_delay(true), ignored);
    c->sock.non_blocking(true, ignored);
    impl->log("connected", c->id);
    impl->engine().on_upstream_connected(c->id);
    impl->read(c);
    if (c->open) impl->mark_dirty(c);
  });
  return c->id;
}

void AsioHost::send(ConnId id, std::span<const uint8_t> bytes) {
  auto it = impl_->conns.find(id);
  if (it == impl_->conns.end() || bytes.empty()) return;
  const auto& c = it->second;
  impl_->log("send", id, bytes.size());
  c->queued.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  impl_->watermark(c);
  if (c->connected) impl_->mark_dirty(c);
}

void AsioHost::shutdown_write(ConnId id) {
  auto it = impl_->conns.find(id);
  if (it == impl_->conns.end()) return;
  it->second->fin_after_flush = true;
  if (it->second->connected) impl_->mark_dirty(it->second);
}

void AsioHost::close(ConnId id, CloseType how) {
  auto it = impl_->conns.find(id);
  if (it == impl_->conns.end()) return;
  std::shared_ptr<Conn> c = std::move(it->second);
  impl_->log(how == CloseType::kReset ? "close(reset)" : "close(fin)", id);
  impl_->conns.erase(it);
  c->open = false;
  c->connect_timer.cancel();
  impl_->finish_close(*c);
  error_code ignored;
  if (how == CloseType::kReset || !c->connected) {
    c->queued.clear();
    c->queued_pos = 0;
    c->sock.set_option(net::socket_base::linger(true, 0), ignored);
    c->sock.close(ignored);
    return;
  }
  // Orderly: what the engine queued is delivered, then FIN, then close.
  c->close_after_flush = true;
  impl_->flush(c);
}

uint64_t AsioHost::arm_timer(Duration after, TimerToken token) {
  uint64_t handle = impl_->next_timer++;
  auto t = std::make_unique<net::steady_timer>(impl_->ioc, std::chrono::nanoseconds(std::max<int64_t>(after.ns(), 0)));
  Impl* impl = impl_.get();
  t->async_wait([impl, handle, token, guard = std::weak_ptr<int>(impl_->alive)](const error_code& ec) {
    if (ec || guard.expired()) return;
    Impl::HandlerScope scope(*impl);
    impl->timers.erase(handle);
    impl->log("timer", token);
    impl->engine().on_timer(token);
  });
  impl_->timers.emplace(handle, std::move(t));
  return handle;
}

void AsioHost::cancel_timer(uint64_t handle) {
  auto it = impl_->timers.find(handle);
  if (it == impl_->timers.end()) return;
  it->second->cancel();
  impl_->timers.erase(it);
}

uint64_t AsioHost::random() {
  // splitmix64 over the host's seed: the engine's LB picks and request ids.
  uint64_t z = (impl_->rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace meshsim::proxy::asio
