#include "sim/net/capture_session.h"

#include <unistd.h>

#include <set>

#include "sim/net/network.h"
#include "sim/simulator.h"

namespace meshsim::sim {
namespace {

Status check_writable(const std::string& path, const char* flag) {
  if (path.empty()) return Error{std::string(flag) + ": empty file name"};
  if (path.back() == '/') return Error{std::string(flag) + " " + path + ": is a directory"};
  if (path.rfind("/dev/", 0) == 0) {
    if (::access(path.c_str(), W_OK) != 0) return Error{std::string(flag) + " " + path + ": not writable"};
    return Status::Ok();
  }
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (::access(dir.c_str(), W_OK) != 0) {
    return Error{std::string(flag) + " " + path + ": directory \"" + dir + "\" does not exist or is not writable"};
  }
  return Status::Ok();
}

}  // namespace

Result<PodCaptureSpec> parse_pod_capture(const std::string& text) {
  PodCaptureSpec s;
  std::string who = text;
  if (auto eq = text.find('='); eq != std::string::npos) {
    who = text.substr(0, eq);
    s.file = text.substr(eq + 1);
    if (s.file.empty()) return Error{"--pcap-pod " + text + ": empty file name after '='"};
  }
  auto slash = who.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == who.size() || who.find('/', slash + 1) != std::string::npos) {
    return Error{"--pcap-pod " + text + ": expected NAMESPACE/POD or NAMESPACE/POD=FILE"};
  }
  s.ns = who.substr(0, slash);
  s.pod = who.substr(slash + 1);
  if (s.file.empty()) s.file = s.ns + "_" + s.pod + ".pcap";
  return s;
}

Status validate_capture_options(const CaptureOptions& o) {
  if (!o.filter.empty() && o.pcap.empty() && o.pcap_pods.empty()) {
    return Error{"--pcap-filter needs --pcap or --pcap-pod"};
  }
  if (auto st = PcapWriter::check_filter(o.filter, PcapWriter::Point::kWire); !st) return st;
  if (auto st = PcapWriter::check_filter(o.filter, PcapWriter::Point::kPod); !st) return st;
  std::set<std::string> files;
  auto claim = [&](const std::string& f, const char* flag) -> Status {
    if (auto st = check_writable(f, flag); !st) return st;
    if (!files.insert(f).second) return Error{std::string(flag) + " " + f + ": the same file is already an output"};
    return Status::Ok();
  };
  if (!o.pcap.empty()) {
    if (auto st = claim(o.pcap, "--pcap"); !st) return st;
  }
  for (const std::string& p : o.pcap_pods) {
    auto spec = parse_pod_capture(p);
    if (!spec.ok()) return spec.error();
    if (auto st = claim(spec->file, "--pcap-pod"); !st) return st;
  }
  if (!o.keylog.empty()) {
    if (auto st = claim(o.keylog, "--keylog"); !st) return st;
  }
  return Status::Ok();
}

Result<std::unique_ptr<CaptureSession>> CaptureSession::start(const CaptureOptions& o, Simulator& sim, Network& net) {
  if (auto st = validate_capture_options(o); !st) return Error{st.message()};
  std::unique_ptr<CaptureSession> s(new CaptureSession());
  // Resolve every pod before creating any file.
  std::vector<std::pair<PodCaptureSpec, HostId>> pods;
  for (const std::string& p : o.pcap_pods) {
    PodCaptureSpec spec = *parse_pod_capture(p);
    HostId h = net.topology().find_host(spec.ns, spec.pod);
    if (h == kNoHost) return Error{"--pcap-pod " + p + ": no pod " + spec.ns + "/" + spec.pod + " in the simulation"};
    pods.emplace_back(std::move(spec), h);
  }
  if (!o.pcap.empty()) {
    auto w = PcapWriter::open(o.pcap, PcapWriter::Point::kWire, kNoHost, o.filter);
    if (!w.ok()) return w.error();
    s->writers_.push_back(std::move(*w));
    s->labels_.push_back("wire");
  }
  for (auto& [spec, h] : pods) {
    auto w = PcapWriter::open(spec.file, PcapWriter::Point::kPod, h, o.filter);
    if (!w.ok()) {
      s->abandon();
      return w.error();
    }
    s->writers_.push_back(std::move(*w));
    s->labels_.push_back("pod " + spec.ns + "/" + spec.pod);
  }
  for (auto& w : s->writers_) w->attach(sim, net);
  if (!o.keylog.empty()) {
    s->keylog_ = std::make_unique<KeyLogSink>(o.keylog);
    s->keylog_->attach(sim);
  }
  return s;
}

CaptureSession::~CaptureSession() {
  if (!done_) abandon();
}

Status CaptureSession::finish() {
  Status first = Status::Ok();
  for (auto& w : writers_) {
    Status st = w->finish();
    if (!st && first) first = st;
  }
  if (keylog_) {
    Status st = keylog_->finish();
    if (!st && first) first = st;
  }
  done_ = true;
  return first;
}

void CaptureSession::abandon() {
  for (auto& w : writers_) w->abandon();
  done_ = true;
}

std::vector<CaptureSession::FileSummary> CaptureSession::summary() const {
  std::vector<FileSummary> out;
  for (size_t i = 0; i < writers_.size(); ++i) {
    out.push_back({writers_[i]->path(), labels_[i], writers_[i]->packets_written()});
  }
  if (keylog_) out.push_back({keylog_->path(), "keylog", keylog_->lines()});
  return out;
}

std::string describe_capture_file(const CaptureSession::FileSummary& f) {
  if (f.what == "keylog") return std::to_string(f.records) + (f.records == 1 ? " line" : " lines") + ", TLS key log";
  return std::to_string(f.records) + (f.records == 1 ? " packet, " : " packets, ") + f.what;
}

}  // namespace meshsim::sim
