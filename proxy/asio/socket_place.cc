#include "proxy/asio/socket_place.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace meshsim::proxy::asio {

namespace {
// This process's own network namespace, opened before any switch (the first
// scope is always entered from it, and every scope restores it).
int home_netns() {
  static const int fd = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  return fd;
}
}  // namespace

SocketPlaceScope::SocketPlaceScope(const SocketPlace& place) {
  if (place.netns_fd >= 0) {
    if (home_netns() < 0) {
      error_ = std::string("cannot open /proc/self/ns/net: ") + std::strerror(errno);
      return;
    }
    if (::setns(place.netns_fd, CLONE_NEWNET) != 0) {
      error_ = std::string("setns: ") + std::strerror(errno);
      return;
    }
    switched_ns_ = true;
  }
  // setfsuid/setfsgid return the previous value whether or not they succeed.
  if (place.gid >= 0) saved_gid_ = ::setfsgid(static_cast<gid_t>(place.gid));
  if (place.uid >= 0) saved_uid_ = ::setfsuid(static_cast<uid_t>(place.uid));
}

SocketPlaceScope::~SocketPlaceScope() {
  if (saved_uid_ >= 0) ::setfsuid(static_cast<uid_t>(saved_uid_));
  if (saved_gid_ >= 0) ::setfsgid(static_cast<gid_t>(saved_gid_));
  if (switched_ns_) (void)::setns(home_netns(), CLONE_NEWNET);
}

Result<int> open_named_netns(const std::string& name) {
  std::string path = "/var/run/netns/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open " + path + ": " + std::strerror(errno)};
  return fd;
}

}  // namespace meshsim::proxy::asio
