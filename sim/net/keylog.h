// KeyLogSink collects TLS secrets in the NSS key log format
// (https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/)
// so Wireshark and tshark can decrypt the mTLS in a capture
// (`tshark -o tls.keylog_file:FILE`). A TLS engine hands each line to the
// simulation glue, which publishes it as a KeyLogLine observation; the sink
// subscribes to those (and also accepts lines directly through add_line()).
// Lines are kept in memory in arrival order and written — under a temporary
// name, renamed into place — by finish(), so a failed run leaves no file.
//
// Single-threaded; the Simulator must outlive attach()..finish().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/result.h"

namespace meshsim::sim {

class Simulator;
struct Observation;

class KeyLogSink {
 public:
  explicit KeyLogSink(std::string path);
  ~KeyLogSink();
  KeyLogSink(const KeyLogSink&) = delete;
  KeyLogSink& operator=(const KeyLogSink&) = delete;

  void attach(Simulator& sim);
  // Appends one line (a trailing newline, if any, is dropped). Lines that are
  // not of the form "<LABEL> <hex> <hex>" are ignored and counted.
  void add_line(std::string_view line);
  void on_observation(const Observation& o);
  Status finish();

  const std::string& path() const { return path_; }
  size_t lines() const { return lines_.size(); }
  size_t rejected() const { return rejected_; }

 private:
  std::string path_;
  std::vector<std::string> lines_;
  size_t rejected_ = 0;
  Simulator* sim_ = nullptr;
  int token_ = 0;
};

}  // namespace meshsim::sim
