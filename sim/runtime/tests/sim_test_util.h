// Helpers shared by the full-simulation tests of sim/runtime/: manifests in,
// a World out; a user (non-mesh) CA for applications that terminate TLS
// themselves; finding things in a built simulation.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "mesh/world.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls/environment.h"
#include "sim/random.h"

namespace meshsim::sim::testing {

// Loads YAML text into a World; schema errors fail the test.
inline std::shared_ptr<const mesh::World> world_from(const std::string& yaml) {
  mesh::ResourceSet rs;
  std::vector<mesh::Diagnostic> diags;
  mesh::load_text(yaml, "test.yaml", rs, diags);
  for (const auto& d : diags) EXPECT_NE(d.severity, mesh::Severity::kError) << d.format();
  mesh::MeshConfig mc = mesh::resolve_mesh_config(rs, diags);
  auto w = std::make_shared<const mesh::World>(mesh::build_world(std::move(rs), mc, diags));
  for (const auto& d : diags) EXPECT_NE(d.severity, mesh::Severity::kError) << d.format();
  return w;
}

// A CA outside the mesh (an organisation's own PKI) and certificates from
// it, made with a fixed random stream so tests are reproducible.
class UserPki {
 public:
  explicit UserPki(uint64_t seed = 7)
      : rng_(RandomStream::derive(seed, "test/user-pki")),
        env_{[this](unsigned char* p, std::size_t n) { rng_.fill(p, n); }, nullptr, nullptr} {
    tls::EnvironmentScope scope(&env_);
    tls::CaOptions o;
    o.organization = "example.com";
    o.common_name = "Example Root CA";
    ca_.emplace(tls::CertificateAuthority::create_self_signed(o));
  }
  // A server/client certificate with DNS SANs, valid for ten years.
  tls::CertifiedKey issue(std::vector<std::string> dns, std::string cn = "") {
    tls::EnvironmentScope scope(&env_);
    tls::LeafOptions l;
    l.common_name = cn.empty() ? dns.front() : cn;
    l.dns_sans = std::move(dns);
    l.not_before = Duration::zero();
    l.not_after = Duration::hours(24 * 3650);
    return ca_->issue(l);
  }
  const tls::Certificate& root() const { return ca_->root(); }

 private:
  RandomStream rng_;
  tls::Environment env_;
  std::optional<tls::CertificateAuthority> ca_;
};

}  // namespace meshsim::sim::testing
