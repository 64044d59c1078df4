// Where a real-socket host creates its sockets: a Linux network namespace and
// the file-system uid/gid the socket is created with. A socket belongs to the
// namespace it was created in for its whole life, and iptables' owner match
// (-m owner --uid-owner / --gid-owner) reads the credentials it was created
// with — so a pod's sidecar can run in this process, in its pod's namespace, as
// uid/gid 1337, and istio-iptables' rules let exactly its own connections
// through, as they do for Envoy in a cluster. Accepted sockets live in their
// listener's namespace.
//
// SocketPlaceScope switches the calling thread (setns(CLONE_NEWNET),
// setfsuid, setfsgid — all per thread) for the lifetime of the scope; the
// event loop is single-threaded, so nothing else runs meanwhile.
#pragma once

#include <string>

#include "proxy/base/result.h"

namespace meshsim::proxy::asio {

struct SocketPlace {
  int netns_fd = -1;  // an open /var/run/netns/NAME; -1: this process's namespace
  int uid = -1;       // -1: unchanged
  int gid = -1;
  bool is_default() const { return netns_fd < 0 && uid < 0 && gid < 0; }
};

class SocketPlaceScope {
 public:
  explicit SocketPlaceScope(const SocketPlace& place);
  ~SocketPlaceScope();
  SocketPlaceScope(const SocketPlaceScope&) = delete;
  SocketPlaceScope& operator=(const SocketPlaceScope&) = delete;
  // Empty when the switch worked; else why not (the scope then changed nothing).
  const std::string& error() const { return error_; }

 private:
  bool switched_ns_ = false;
  int saved_uid_ = -1, saved_gid_ = -1;
  std::string error_;
};

// Opens /var/run/netns/NAME (what `ip netns add NAME` creates), close-on-exec.
Result<int> open_named_netns(const std::string& name);

}  // namespace meshsim::proxy::asio
