// CaptureSession installs the captures a user asked for (--pcap, --pcap-pod,
// --pcap-filter, --keylog; see docs/formats/pcap.md) on a running
// simulation, and puts the files in place at the end. Every verb that
// simulates traffic (net-demo today; run, probe and conformance later) uses
// it the same way:
//
//   if (auto st = validate_capture_options(opts); !st) → exit 2   // before anything runs
//   auto session = CaptureSession::start(opts, sim, net);          // after the topology exists
//   if (!session) → exit 2                                          // e.g. unknown pod
//   sim.run();
//   session->finish();  // or abandon() when the run itself failed
//
// Until finish(), output goes to "<file>.partial"; abandon() (and the
// destructor of an unfinished session) removes those, so bad input or a
// failed run never leaves a half-written capture behind. The Simulator and
// Network must outlive the session (declare the session after them).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "sim/net/keylog.h"
#include "sim/net/pcap_writer.h"

namespace meshsim::sim {

class Simulator;
class Network;

struct CaptureOptions {
  std::string pcap;                    // --pcap FILE
  std::vector<std::string> pcap_pods;  // --pcap-pod NS/POD[=FILE] (repeatable)
  std::string filter;                  // --pcap-filter EXPR (BPF, applies to every pcap)
  std::string keylog;                  // --keylog FILE
  bool any() const { return !pcap.empty() || !pcap_pods.empty() || !keylog.empty(); }
};

struct PodCaptureSpec {
  std::string ns;
  std::string pod;
  std::string file;  // "<ns>_<pod>.pcap" when not given
};
// Parses "NS/POD" or "NS/POD=FILE".
Result<PodCaptureSpec> parse_pod_capture(const std::string& text);

// Checks everything that does not need the topology: the filter compiles for
// both link types, pod specs parse, output files are distinct and their
// directories exist and are writable. Touches no file.
Status validate_capture_options(const CaptureOptions& opts);

class CaptureSession {
 public:
  static Result<std::unique_ptr<CaptureSession>> start(const CaptureOptions& opts, Simulator& sim, Network& net);
  ~CaptureSession();

  // Flushes every writer and renames the files into place. Returns the first
  // error (the other files are still finished).
  Status finish();
  void abandon();

  struct FileSummary {
    std::string path;
    std::string what;       // "wire", "pod default/sleep", "keylog"
    uint64_t records = 0;   // packets (or key log lines) written
  };
  std::vector<FileSummary> summary() const;
  KeyLogSink* keylog() { return keylog_.get(); }

 private:
  CaptureSession() = default;
  std::vector<std::unique_ptr<PcapWriter>> writers_;
  std::vector<std::string> labels_;
  std::unique_ptr<KeyLogSink> keylog_;
  bool done_ = false;
};

// What a capture file holds, for "wrote FILE (…)" lines: "123 packets, wire",
// "40 packets, pod default/sleep", "4 lines, TLS key log".
std::string describe_capture_file(const CaptureSession::FileSummary& f);

}  // namespace meshsim::sim
