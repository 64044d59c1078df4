// PcapWriter is an event-stream subscriber that writes the TCP segments of a
// simulation to a pcap file with libpcap (pcap_open_dead_with_tstamp_precision
// + pcap_dump), nanosecond timestamps = a fixed epoch (2026-01-01T00:00:00Z)
// + virtual time. Two capture points (docs/formats/pcap.md):
//
//  * kWire — every pod-to-pod segment as it leaves its sender (lost ones
//    included: they were on the wire), Ethernet link type, addresses as
//    between nodes (after kube-proxy DNAT). Loopback traffic is not wire
//    traffic and is not included.
//  * kPod  — what `tcpdump -i any` inside one pod's network namespace sees:
//    its eth0 (outgoing when sent, incoming when received, addresses as the
//    pod sees them) and its lo (the app↔sidecar hops, each packet once, as
//    libpcap reports loopback on "any"). Link type LINUX_SLL ("cooked",
//    v1), what `tcpdump -i any -y LINUX_SLL` writes: direction In/Out, and
//    ARPHRD type 772 marks lo, 1 marks eth0. (tcpdump 4.99 defaults to
//    LINUX_SLL2 for "any", but prints a warning for every SLL2 file it reads.)
//
// An optional BPF filter (pcap_compile against the writer's link type,
// pcap_offline_filter per packet) selects what is written. The file is
// written under a temporary name and renamed into place by finish(), so a
// failed run leaves nothing half-written (device paths such as /dev/null or
// /dev/fd/3 are written directly).
//
// Single-threaded; the Simulator and Network must outlive attach()..finish().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/base/result.h"
#include "sim/net/topology.h"

namespace meshsim::sim {

class Simulator;
class Network;
struct Observation;

// 2026-01-01T00:00:00Z, the wall-clock time of virtual time zero in captures.
inline constexpr int64_t kCaptureEpochSeconds = 1767225600;

class PcapWriter {
 public:
  enum class Point { kWire, kPod };

  // Compiles `filter` for the link type of `point` (empty = no filter);
  // returns libpcap's message on error. No file is touched.
  static Status check_filter(std::string_view filter, Point point);

  // Opens `path`.partial for writing. `pod` is the HostId for kPod.
  static Result<std::unique_ptr<PcapWriter>> open(std::string path, Point point, HostId pod, std::string_view filter);

  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Subscribes to the simulator's event stream and turns on the network's
  // wire records.
  void attach(Simulator& sim, Network& net);
  // The subscriber body (public for tests that feed observations directly).
  void on_observation(const Observation& o);
  // Flushes, closes and renames the file into place.
  Status finish();
  // Closes and removes the partial file.
  void abandon();

  const std::string& path() const { return path_; }
  Point point() const { return point_; }
  uint64_t packets_written() const { return written_; }
  uint64_t packets_filtered_out() const { return filtered_; }

 private:
  struct Impl;
  PcapWriter(std::string path, Point point, HostId pod, std::unique_ptr<Impl> impl);

  std::string path_;
  Point point_;
  HostId pod_;
  std::unique_ptr<Impl> impl_;
  Simulator* sim_ = nullptr;
  int token_ = 0;
  uint64_t written_ = 0;
  uint64_t filtered_ = 0;
};

}  // namespace meshsim::sim
