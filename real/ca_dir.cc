#include "real/ca_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>

#include "proxy/asio/event_loop.h"

namespace meshsim::real {

namespace fs = std::filesystem;

namespace {
std::optional<std::string> slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

Status write(const fs::path& p, const std::string& text, bool secret) {
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) return Error{"cannot write " + p.string()};
  }
  if (secret) fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write);
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) return Error{"cannot write " + p.string() + ": " + ec.message()};
  return Status::Ok();
}

// Holds an exclusive flock on DIR/.lock while two processes race to create the CA.
struct DirLock {
  explicit DirLock(const fs::path& dir) : fd(::open((dir / ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600)) {
    if (fd >= 0) (void)::flock(fd, LOCK_EX);
  }
  ~DirLock() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};
}  // namespace

tls::CertificateAuthority create_wall_clock_ca(const std::string& trust_domain) {
  Duration now = proxy::asio::EventLoop::wall_since_epoch();
  tls::CaOptions o;
  o.organization = trust_domain;
  o.not_before = now - Duration::hours(1);
  o.not_after = now + Duration::hours(24 * 3650);
  return tls::CertificateAuthority::create_self_signed(o);
}

Result<CaFromDir> load_or_create_ca(const std::string& dir, const std::string& trust_domain) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"--ca-dir " + dir + ": " + ec.message()};
  DirLock lock(dir);
  fs::path d(dir);
  auto cert = slurp(d / "ca-cert.pem");
  auto key = slurp(d / "ca-key.pem");
  if (cert && key) {
    std::string chain;
    auto root = slurp(d / "root-cert.pem");
    if (root && *root != *cert) chain = *root;
    auto ca = tls::CertificateAuthority::from_pem(*cert, *key, chain);
    if (!ca.ok()) return Error{"--ca-dir " + dir + ": ca-cert.pem/ca-key.pem: " + ca.message()};
    return CaFromDir{std::move(*ca), false};
  }
  if (cert || key) return Error{"--ca-dir " + dir + ": has only one of ca-cert.pem and ca-key.pem"};
  tls::CertificateAuthority ca = create_wall_clock_ca(trust_domain);
  std::string pem = ca.certificate().to_pem();
  for (auto [name, text, secret] : {std::tuple{"ca-key.pem", ca.key().to_pem(), true}, std::tuple{"ca-cert.pem", pem, false},
                                    std::tuple{"root-cert.pem", pem, false}, std::tuple{"cert-chain.pem", pem, false}}) {
    if (Status s = write(d / name, text, secret); !s.ok()) return Error{"--ca-dir: " + s.message()};
  }
  return CaFromDir{std::move(ca), true};
}

}  // namespace meshsim::real
