#include "sim/net/pcap_writer.h"

#include <pcap/pcap.h>
#include <pcap/sll.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "sim/net/network.h"
#include "sim/net/packet.h"
#include "sim/simulator.h"

namespace meshsim::sim {
namespace {

constexpr int kSnapLen = 262144;
constexpr uint16_t kArphrdEther = 1;
constexpr uint16_t kArphrdLoopback = 772;
constexpr uint16_t kPacketHost = 0;      // LINUX_SLL_HOST
constexpr uint16_t kPacketOutgoing = 4;  // LINUX_SLL_OUTGOING

int link_type(PcapWriter::Point p) { return p == PcapWriter::Point::kWire ? DLT_EN10MB : DLT_LINUX_SLL; }

pcap_t* open_dead(PcapWriter::Point p) {
  return pcap_open_dead_with_tstamp_precision(link_type(p), kSnapLen, PCAP_TSTAMP_PRECISION_NANO);
}

}  // namespace

struct PcapWriter::Impl {
  pcap_t* handle = nullptr;
  pcap_dumper_t* dumper = nullptr;
  bpf_program prog{};
  bool has_filter = false;
  std::string partial;
  std::vector<uint8_t> frame;
  std::vector<char> iobuf;

  ~Impl() {
    if (has_filter) pcap_freecode(&prog);
    if (dumper) pcap_dump_close(dumper);
    if (handle) pcap_close(handle);
  }
};

Status PcapWriter::check_filter(std::string_view filter, Point point) {
  if (filter.empty()) return Status::Ok();
  pcap_t* p = open_dead(point);
  if (!p) return Error{"libpcap: cannot create a capture handle"};
  bpf_program prog{};
  std::string expr(filter);
  Status st = Status::Ok();
  if (pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    st = Error{"--pcap-filter \"" + expr + "\": " + pcap_geterr(p)};
  } else {
    pcap_freecode(&prog);
  }
  pcap_close(p);
  return st;
}

Result<std::unique_ptr<PcapWriter>> PcapWriter::open(std::string path, Point point, HostId pod, std::string_view filter) {
  auto impl = std::make_unique<Impl>();
  impl->handle = open_dead(point);
  if (!impl->handle) return Error{"libpcap: cannot create a capture handle"};
  if (!filter.empty()) {
    std::string expr(filter);
    if (pcap_compile(impl->handle, &impl->prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return Error{"--pcap-filter \"" + expr + "\": " + pcap_geterr(impl->handle)};
    }
    impl->has_filter = true;
  }
  // Device paths (/dev/null, /dev/stdout, /dev/fd/N) are written directly.
  impl->partial = path.rfind("/dev/", 0) == 0 ? path : path + ".partial";
  impl->dumper = pcap_dump_open(impl->handle, impl->partial.c_str());
  if (!impl->dumper) return Error{path + ": " + pcap_geterr(impl->handle)};
  impl->iobuf.resize(1 << 20);
  std::setvbuf(pcap_dump_file(impl->dumper), impl->iobuf.data(), _IOFBF, impl->iobuf.size());
  impl->frame.resize(kMaxLinkHeaderBytes + kIpv4HeaderBytes + kMaxTcpHeaderBytes + 65536);
  return std::unique_ptr<PcapWriter>(new PcapWriter(std::move(path), point, pod, std::move(impl)));
}

PcapWriter::PcapWriter(std::string path, Point point, HostId pod, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), point_(point), pod_(pod), impl_(std::move(impl)) {}

PcapWriter::~PcapWriter() {
  if (impl_ && impl_->dumper) abandon();
  if (sim_) sim_->unsubscribe(token_);
}

void PcapWriter::attach(Simulator& sim, Network& net) {
  sim_ = &sim;
  token_ = sim.subscribe([this](const Observation& o) { on_observation(o); });
  net.enable_wire_records();
}

void PcapWriter::on_observation(const Observation& o) {
  const auto* seg = std::get_if<TcpSegmentObservation>(&o.payload);
  if (!seg || !impl_->dumper) return;
  const TcpFlowAddresses& f = *seg->flow;
  const bool departed = seg->point == TcpSegmentObservation::Point::kDeparted;
  const HostId from = seg->from_client ? f.client_host : f.server_host;
  const HostId to = seg->from_client ? f.server_host : f.client_host;
  uint8_t* buf = impl_->frame.data();
  size_t link = 0;
  SocketAddress src, dst;
  if (point_ == Point::kWire) {
    if (!departed || f.loopback) return;
    src = seg->from_client ? f.client : f.server_on_wire;
    dst = seg->from_client ? f.server_on_wire : f.client;
    link = write_ethernet(buf, mac_for(dst.ip), mac_for(src.ip));
  } else {
    SllHeader h;
    if (f.loopback) {
      if (!departed || from != pod_) return;  // lo: each packet once, as an incoming one
      src = seg->from_client ? f.client : f.server_at_client;
      dst = seg->from_client ? f.server_at_client : f.client;
      h.hatype = kArphrdLoopback;
      h.pkttype = kPacketHost;
    } else if (departed && from == pod_) {
      // Sent by this pod: addresses as its own netns sees them.
      if (seg->from_client) {
        src = f.client;
        dst = f.server_at_client;
      } else {
        src = f.server_on_wire;
        dst = f.client;
      }
      h.hatype = kArphrdEther;
      h.pkttype = kPacketOutgoing;
      h.addr = mac_for(src.ip);
    } else if (!departed && to == pod_) {
      if (seg->from_client) {
        src = f.client;
        dst = f.server_on_wire;
      } else {
        src = f.server_at_client;
        dst = f.client;
      }
      h.hatype = kArphrdEther;
      h.pkttype = kPacketHost;
      h.addr = mac_for(seg->from_client ? f.client.ip : f.server_on_wire.ip);
    } else {
      return;
    }
    link = write_sll(buf, h);
  }
  size_t hdr = write_ipv4_tcp_headers(buf + link, src, dst, *seg);
  const size_t payload = seg->payload.size();
  if (payload) std::memcpy(buf + link + hdr, seg->payload.data(), payload);
  const size_t len = link + hdr + payload;
  pcap_pkthdr ph{};
  const int64_t ns = o.time.ns();
  ph.ts.tv_sec = static_cast<time_t>(kCaptureEpochSeconds + ns / 1'000'000'000);
  ph.ts.tv_usec = static_cast<suseconds_t>(ns % 1'000'000'000);  // nanoseconds: the handle is nano-precision
  ph.caplen = static_cast<bpf_u_int32>(len);
  ph.len = static_cast<bpf_u_int32>(len);
  if (impl_->has_filter && pcap_offline_filter(&impl_->prog, &ph, buf) == 0) {
    ++filtered_;
    return;
  }
  pcap_dump(reinterpret_cast<u_char*>(impl_->dumper), &ph, buf);
  ++written_;
}

Status PcapWriter::finish() {
  if (sim_) {
    sim_->unsubscribe(token_);
    sim_ = nullptr;
  }
  if (!impl_->dumper) return Error{path_ + ": already closed"};
  bool ok = pcap_dump_flush(impl_->dumper) == 0 && !std::ferror(pcap_dump_file(impl_->dumper));
  pcap_dump_close(impl_->dumper);
  impl_->dumper = nullptr;
  if (!ok) {
    if (impl_->partial != path_) std::remove(impl_->partial.c_str());
    return Error{path_ + ": write failed: " + std::strerror(errno)};
  }
  if (impl_->partial != path_ && std::rename(impl_->partial.c_str(), path_.c_str()) != 0) {
    int e = errno;
    std::remove(impl_->partial.c_str());
    return Error{path_ + ": " + std::strerror(e)};
  }
  return Status::Ok();
}

void PcapWriter::abandon() {
  if (sim_) {
    sim_->unsubscribe(token_);
    sim_ = nullptr;
  }
  if (impl_->dumper) {
    pcap_dump_close(impl_->dumper);
    impl_->dumper = nullptr;
    if (impl_->partial != path_) std::remove(impl_->partial.c_str());
  }
}

}  // namespace meshsim::sim
