#include "cli/real_flags.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <random>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/verb.h"
#include "proxy/asio/event_loop.h"
#include "proxy/asio/http_server.h"
#include "real/ca_dir.h"
#include "real/pod_proxy.h"

namespace meshsim::cli {

using proxy::asio::EventLoop;
using proxy::asio::HttpServer;
using proxy::asio::ListenSpec;

void add_real_common_flags(CLI::App* sub, RealCommonOptions& o) {
  sub->add_option("--admin", o.admin, "Envoy's admin endpoint address (\"off\": none)")->capture_default_str();
  sub->add_option("--ca-dir", o.ca_dir,
                  "Mesh CA in Istio's cacerts layout (ca-cert.pem ca-key.pem root-cert.pem cert-chain.pem):\n"
                  "loaded if present, created there otherwise; give every process of one mesh the same one");
  sub->add_option("--certs-dir", o.certs_dir,
                  "Write the workload certificate as /etc/certs has it: cert-chain.pem key.pem root-cert.pem");
  sub->add_option("--keylog", o.keylog, "Append NSS key-log lines (SSLKEYLOGFILE) of every TLS session here");
  sub->add_option("--access-log", o.access_log, "Access log (Istio's default TEXT format): FILE, - (stdout) or off")
      ->capture_default_str();
  sub->add_option("--ports-file", o.ports_file, "Write the bound listeners, admin and apps here as JSON once ready");
  sub->add_option("--drain-time", o.drain_time, "On SIGTERM: how long open connections may finish")
      ->capture_default_str();
  sub->add_option("--duration", o.duration, "Exit (after draining) after this long, e.g. 30s (default: until SIGTERM)");
  sub->add_option("--seed", o.seed,
                  "Seed of the engine's random stream (load-balancing picks, x-request-id); default: a fresh\n"
                  "random seed per run (two processes with one seed would hand out the same request ids)");
}

Result<SocketAddress> parse_address(const std::string& text, bool allow_port0) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return Error{"\"" + text + "\": expected IP:PORT"};
  auto ip = parse_ipv4(text.substr(0, colon));
  if (!ip.ok()) return Error{"\"" + text + "\": " + ip.message()};
  unsigned port = 0;
  std::string_view p = std::string_view(text).substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port > 65535 || (port == 0 && !allow_port0))
    return Error{"\"" + text + "\": the port must be " + (allow_port0 ? "0-65535 (0: any free port)" : "1-65535")};
  return SocketAddress{*ip, static_cast<uint16_t>(port)};
}

Result<std::vector<ListenSpec>> parse_listen_specs(const mesh::World& w, const mesh::WorldPod& pod,
                                                   const std::vector<std::string>& inbound,
                                                   const std::vector<std::string>& outbound) {
  std::vector<ListenSpec> out;
  for (const std::string& v : inbound) {
    size_t eq = v.find('=');
    auto bind = parse_address(v.substr(0, eq), true);
    if (!bind.ok()) return Error{"--listen-inbound " + bind.message()};
    ListenSpec s;
    s.bind = *bind;
    s.listener_port = 15006;
    if (eq != std::string::npos) {
      std::string dest = v.substr(eq + 1);
      unsigned port = 0;
      auto [end, ec] = std::from_chars(dest.data(), dest.data() + dest.size(), port);
      if (ec != std::errc() || end != dest.data() + dest.size() || port == 0 || port > 65535)
        return Error{"--listen-inbound " + v + ": after '=' comes the pod port the client dialled (1-65535)"};
      s.original_destination = SocketAddress{pod.ip, static_cast<uint16_t>(port)};
    }
    out.push_back(s);
  }
  for (const std::string& v : outbound) {
    size_t eq = v.find('=');
    auto bind = parse_address(v.substr(0, eq), true);
    if (!bind.ok()) return Error{"--listen-outbound " + bind.message()};
    ListenSpec s;
    s.bind = *bind;
    s.listener_port = 15001;
    if (eq != std::string::npos) {
      std::string dest = v.substr(eq + 1);
      size_t colon = dest.rfind(':');
      if (colon == std::string::npos) return Error{"--listen-outbound " + v + ": after '=' comes HOST:PORT"};
      std::string host = dest.substr(0, colon);
      auto port = parse_address("0.0.0.0" + dest.substr(colon), false);
      if (!port.ok()) return Error{"--listen-outbound " + v + ": " + port.message()};
      Ipv4 ip;
      if (auto parsed = parse_ipv4(host); parsed.ok()) {
        ip = *parsed;
      } else {
        const mesh::WorldService* svc = w.service_by_host(host, pod.namespace_);
        if (!svc) return Error{"--listen-outbound " + v + ": no Service \"" + host + "\" seen from namespace " + pod.namespace_};
        if (!svc->has_vip) return Error{"--listen-outbound " + v + ": " + svc->hostname + " has no ClusterIP (headless); give a pod IP"};
        ip = svc->vip;
      }
      s.original_destination = SocketAddress{ip, port->port};
    }
    out.push_back(s);
  }
  return out;
}

Result<std::map<SocketAddress, SocketAddress>> parse_upstream_map(const std::vector<std::string>& values) {
  std::map<SocketAddress, SocketAddress> out;
  for (const std::string& v : values) {
    size_t eq = v.find('=');
    if (eq == std::string::npos) return Error{"--upstream-map " + v + ": expected IP:PORT=ADDR:PORT"};
    auto from = parse_address(v.substr(0, eq), false);
    auto to = parse_address(v.substr(eq + 1), false);
    if (!from.ok()) return Error{"--upstream-map " + from.message()};
    if (!to.ok()) return Error{"--upstream-map " + to.message()};
    out[*from] = *to;
  }
  return out;
}

std::vector<ListenerLine> describe_listeners(const real::PodProxy& proxy, const std::vector<ListenSpec>& specs) {
  std::vector<ListenerLine> out;
  for (size_t i = 0; i < specs.size() && i < proxy.ports().size(); ++i) {
    ListenerLine l;
    l.pod = proxy.name();
    l.listener = specs[i].listener_port == 15001 ? "virtualOutbound" : "virtualInbound";
    SocketAddress b = specs[i].bind;
    b.port = proxy.ports()[i];
    l.bind = to_string(b);
    l.original_destination = specs[i].original_destination ? to_string(*specs[i].original_destination) : "SO_ORIGINAL_DST";
    out.push_back(std::move(l));
  }
  return out;
}

struct RealProcess::Impl {
  EventLoop loop;
  std::optional<tls::CertificateAuthority> ca;
  RealCommonOptions o;
  std::FILE* keylog = nullptr;
  std::FILE* access = nullptr;
  bool own_access = false;
  std::function<void()> quit;
  ~Impl() {
    if (keylog) std::fclose(keylog);
    if (access && own_access) std::fclose(access);
  }
};

RealProcess::RealProcess() : impl_(std::make_unique<Impl>()) {}
RealProcess::~RealProcess() = default;
EventLoop& RealProcess::loop() { return impl_->loop; }
tls::CertificateAuthority& RealProcess::ca() { return *impl_->ca; }
uint64_t RealProcess::seed() const { return impl_->o.seed; }

Status RealProcess::open(const RealCommonOptions& o, const std::string& trust_domain) {
  impl_->o = o;
  if (impl_->o.seed == 0) impl_->o.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  for (const std::string* d : {&o.drain_time, &o.duration}) {
    if (d->empty()) continue;
    auto parsed = parse_duration(*d);
    if (!parsed.ok()) return Error{(d == &o.duration ? "--duration " : "--drain-time ") + *d + ": " + parsed.message()};
  }
  if (o.admin != "off") {
    auto a = parse_address(o.admin, true);
    if (!a.ok()) return Error{"--admin " + a.message()};
  }
  if (!o.ca_dir.empty()) {
    auto ca = real::load_or_create_ca(o.ca_dir, trust_domain);
    if (!ca.ok()) return Error{ca.message()};
    if (ca->created) print_wrote(o.ca_dir, "mesh CA: ca-cert.pem ca-key.pem root-cert.pem cert-chain.pem");
    impl_->ca.emplace(std::move(ca->ca));
  } else {
    impl_->ca.emplace(real::create_wall_clock_ca(trust_domain));
  }
  if (!o.keylog.empty()) {
    impl_->keylog = std::fopen(o.keylog.c_str(), "a");
    if (!impl_->keylog) return Error{"--keylog " + o.keylog + ": cannot open for appending"};
    std::FILE* f = impl_->keylog;
    impl_->loop.set_keylog_sink([f](std::string_view line) {
      std::fwrite(line.data(), 1, line.size(), f);
      std::fputc('\n', f);
      std::fflush(f);
    });
  }
  if (o.access_log == "-") {
    impl_->access = stdout;
  } else if (o.access_log != "off" && !o.access_log.empty()) {
    impl_->access = std::fopen(o.access_log.c_str(), "a");
    if (!impl_->access) return Error{"--access-log " + o.access_log + ": cannot open for appending"};
    impl_->own_access = true;
  }
  return Status::Ok();
}

std::function<void()> RealProcess::quit_hook() {
  Impl* impl = impl_.get();
  return [impl] {
    if (impl->quit) impl->quit();
  };
}

std::function<void(const std::string&)> RealProcess::access_log_sink() {
  std::FILE* f = impl_->access;
  if (!f) return {};
  return [f](const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), f);
    std::fputc('\n', f);
    std::fflush(f);
  };
}

int RealProcess::serve(const std::vector<real::PodProxy*>& proxies, const std::vector<ListenerLine>& listeners,
                       const std::string& extra_json) {
  const RealCommonOptions& o = impl_->o;
  EventLoop& loop = impl_->loop;
  std::vector<std::unique_ptr<HttpServer>> admins;
  nlohmann::json ports;
  ports["pods"] = nlohmann::json::array();
  bool admin_first = o.admin != "off";
  for (size_t i = 0; i < proxies.size(); ++i) {
    real::PodProxy* p = proxies[i];
    nlohmann::json pj;
    pj["pod"] = p->name();
    pj["spiffe"] = p->spiffe_id();
    if (o.admin != "off") {
      SocketAddress at = *parse_address(o.admin, true);
      if (i > 0 || !admin_first) at.port = 0;
      auto srv = HttpServer::start(loop, at, [p](const auto& req, auto& res) { p->admin(req, res); }, "envoy");
      if (!srv.ok()) {
        print_error("--admin: " + srv.message());
        return kExitBadInput;
      }
      at.port = (*srv)->port();
      pj["admin"] = to_string(at);
      std::fprintf(stderr, "meshsim proxy: %s admin on http://%s/\n", p->name().c_str(), to_string(at).c_str());
      admins.push_back(std::move(*srv));
    }
    pj["listeners"] = nlohmann::json::array();
    for (const ListenerLine& l : listeners) {
      if (l.pod != p->name()) continue;
      pj["listeners"].push_back({{"listener", l.listener}, {"bind", l.bind}, {"original_destination", l.original_destination}});
      std::fprintf(stderr, "meshsim proxy: %s %s on %s (as if sent to %s)\n", p->name().c_str(), l.listener.c_str(),
                   l.bind.c_str(), l.original_destination.c_str());
    }
    ports["pods"].push_back(std::move(pj));
  }
  if (!extra_json.empty()) {
    nlohmann::json extra = nlohmann::json::parse(extra_json, nullptr, false);
    if (extra.is_object()) ports.update(extra);
  }
  if (!o.ports_file.empty()) {
    std::string tmp = o.ports_file + ".tmp";
    {
      std::ofstream f(tmp);
      f << ports.dump(2) << "\n";
    }
    if (std::rename(tmp.c_str(), o.ports_file.c_str()) != 0) {
      print_error("--ports-file " + o.ports_file + ": cannot write");
      return kExitBadInput;
    }
  }
  std::fprintf(stderr, "meshsim proxy: ready (SIGTERM or POST /quitquitquit drains and exits)\n");

  Duration drain_time = parse_duration(o.drain_time).ok() ? *parse_duration(o.drain_time) : Duration::seconds(5);
  bool draining = false;
  Duration drain_deadline;
  std::function<void()> poll_drain = [&] {
    size_t open = 0;
    for (real::PodProxy* p : proxies) open += p->open_connections();
    if (open == 0 || EventLoop::wall_since_epoch() >= drain_deadline) {
      if (open > 0) std::fprintf(stderr, "meshsim proxy: drain time over, %zu connections still open\n", open);
      loop.stop();
      return;
    }
    loop.after(Duration::millis(50), poll_drain);
  };
  auto begin_drain = [&](const char* why) {
    if (draining) return;
    draining = true;
    std::fprintf(stderr, "meshsim proxy: %s: draining (up to %s)\n", why, format_duration(drain_time).c_str());
    for (real::PodProxy* p : proxies) p->drain();
    drain_deadline = EventLoop::wall_since_epoch() + drain_time;
    poll_drain();
  };
  loop.on_termination_signal([&](int signo) { begin_drain(signo == SIGINT ? "SIGINT" : "SIGTERM"); });
  if (!o.duration.empty()) loop.after(*parse_duration(o.duration), [&] { begin_drain("--duration elapsed"); });
  impl_->quit = [&] { loop.after(Duration::zero(), [&] { begin_drain("/quitquitquit"); }); };
  loop.run();
  impl_->quit = nullptr;
  for (auto& a : admins) a->stop();
  std::fprintf(stderr, "meshsim proxy: exited\n");
  return kExitOk;
}

}  // namespace meshsim::cli
