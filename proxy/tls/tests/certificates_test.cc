#include "proxy/tls/certificates.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "proxy/tls/environment.h"
#include "proxy/tls/tests/tls_test_util.h"

namespace meshsim::tls {
namespace {

using testing::SimEnvironment;

TEST(Certificates, SpiffeIdFollowsIstioFormat) {
  EXPECT_EQ(spiffe_id("cluster.local", "default", "bookinfo-productpage"),
            "spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
}

TEST(Certificates, SelfSignedRootLooksLikeIstiosCa) {
  SimEnvironment env(1);
  auto ca = CertificateAuthority::create_self_signed();
  CertificateInfo info = ca.certificate().info();
  EXPECT_EQ(info.subject, "O=cluster.local");
  EXPECT_EQ(info.issuer, "O=cluster.local");
  EXPECT_TRUE(info.is_ca);
  EXPECT_EQ(info.not_before, Duration::zero());
  EXPECT_EQ(info.not_after, Duration::hours(24 * 3650));
  EXPECT_EQ(info.not_before_unix, kEpochUnixSeconds);
  EXPECT_EQ(info.serial_hex.size(), 32u);  // 128 random bits
  EXPECT_TRUE(ca.root() == ca.certificate());
}

TEST(Certificates, WorkloadCertificateCarriesSpiffeSanAndValidityWindow) {
  SimEnvironment env(2);
  auto ca = CertificateAuthority::create_self_signed();
  CertifiedKey w = ca.issue_workload("cluster.local", "default", "reviews", Duration::hours(1), Duration::hours(25));
  CertificateInfo info = w.certificate.info();
  EXPECT_EQ(info.subject, "");
  EXPECT_EQ(info.issuer, "O=cluster.local");
  ASSERT_EQ(info.uri_sans.size(), 1u);
  EXPECT_EQ(info.uri_sans[0], "spiffe://cluster.local/ns/default/sa/reviews");
  EXPECT_TRUE(info.dns_sans.empty());
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.not_before, Duration::hours(1));
  EXPECT_EQ(info.not_after, Duration::hours(25));
  EXPECT_EQ(info.not_after_unix, kEpochUnixSeconds + 25 * 3600);
  // Istio's agent chain: leaf, then the root.
  ASSERT_EQ(w.chain.size(), 1u);
  EXPECT_TRUE(w.chain[0] == ca.root());
}

TEST(Certificates, UserSuppliedServerCertificateHasDnsSansFromItsOwnCa) {
  SimEnvironment env(3);
  auto ca = CertificateAuthority::create_self_signed({.organization = "Example Inc", .common_name = "Example Root CA"});
  LeafOptions o;
  o.common_name = "httpbin.example.com";
  o.dns_sans = {"httpbin.example.com", "*.httpbin.example.com"};
  o.not_before = Duration::zero();
  o.not_after = Duration::hours(24 * 365);
  CertifiedKey leaf = ca.issue(o);
  CertificateInfo info = leaf.certificate.info();
  EXPECT_EQ(info.subject, "CN=httpbin.example.com");
  EXPECT_EQ(info.issuer, "CN=Example Root CA,O=Example Inc");
  EXPECT_EQ(info.dns_sans, (std::vector<std::string>{"httpbin.example.com", "*.httpbin.example.com"}));
  EXPECT_TRUE(leaf.chain.empty());  // issued by a root: nothing to send but the leaf
}

TEST(Certificates, PemRoundTripPreservesCertificateAndKey) {
  SimEnvironment env(4);
  auto ca = CertificateAuthority::create_self_signed();
  CertifiedKey w = ca.issue_workload("cluster.local", "ns1", "sa1", Duration::zero(), Duration::hours(24));
  auto cert = Certificate::from_pem(w.certificate.to_pem());
  ASSERT_TRUE(cert.ok()) << cert.message();
  EXPECT_TRUE(*cert == w.certificate);
  auto key = PrivateKey::from_pem(w.key.to_pem());
  ASSERT_TRUE(key.ok()) << key.message();
  EXPECT_EQ(key->to_pem(), w.key.to_pem());
  auto chain = Certificate::chain_from_pem(w.chain_pem());
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_TRUE((*chain)[1] == ca.root());
}

TEST(Certificates, PemErrorsSayWhatIsWrong) {
  auto none = Certificate::from_pem("hello");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.message().find("no PEM certificate"), std::string::npos);
  SimEnvironment env(5);
  auto ca = CertificateAuthority::create_self_signed();
  std::string two = ca.certificate().to_pem() + ca.certificate().to_pem();
  auto many = Certificate::from_pem(two);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.message().find("exactly one"), std::string::npos);
  EXPECT_FALSE(PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
}

TEST(Certificates, CaFromPemRejectsMismatchedKey) {
  SimEnvironment env(6);
  auto a = CertificateAuthority::create_self_signed();
  auto b = CertificateAuthority::create_self_signed();
  auto bad = CertificateAuthority::from_pem(a.certificate().to_pem(), b.key().to_pem());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("does not match"), std::string::npos);
  auto good = CertificateAuthority::from_pem(a.certificate().to_pem(), a.key().to_pem());
  ASSERT_TRUE(good.ok()) << good.message();
  CertifiedKey w = good->issue_workload("cluster.local", "x", "y", Duration::zero(), Duration::hours(1));
  EXPECT_EQ(w.certificate.info().issuer, "O=cluster.local");
}

TEST(Certificates, RenewalReusesTheCachedKeyPerIdentity) {
  SimEnvironment env(7);
  auto ca = CertificateAuthority::create_self_signed();
  std::size_t before = ca.keys_generated();
  CertifiedKey first = ca.issue_workload("cluster.local", "default", "reviews", Duration::zero(), Duration::hours(24));
  CertifiedKey renewed = ca.issue_workload("cluster.local", "default", "reviews", Duration::hours(12), Duration::hours(36));
  CertifiedKey other = ca.issue_workload("cluster.local", "default", "ratings", Duration::zero(), Duration::hours(24));
  EXPECT_EQ(ca.keys_generated(), before + 2);
  EXPECT_EQ(first.key.to_pem(), renewed.key.to_pem());
  EXPECT_NE(first.key.to_pem(), other.key.to_pem());
  EXPECT_NE(first.certificate.info().serial_hex, renewed.certificate.info().serial_hex);
}

TEST(Certificates, SameSeedGivesIdenticalCertificates) {
  std::string a, b, c;
  {
    SimEnvironment env(42);
    auto ca = CertificateAuthority::create_self_signed();
    a = ca.issue_workload("cluster.local", "default", "reviews", Duration::zero(), Duration::hours(24)).chain_pem();
  }
  {
    SimEnvironment env(42);
    auto ca = CertificateAuthority::create_self_signed();
    b = ca.issue_workload("cluster.local", "default", "reviews", Duration::zero(), Duration::hours(24)).chain_pem();
  }
  {
    SimEnvironment env(43);
    auto ca = CertificateAuthority::create_self_signed();
    c = ca.issue_workload("cluster.local", "default", "reviews", Duration::zero(), Duration::hours(24)).chain_pem();
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

// openssl x509 is the oracle for what we wrote into the certificate.
TEST(Certificates, OpensslCliReadsTheWorkloadCertificate) {
  SimEnvironment env(8);
  auto ca = CertificateAuthority::create_self_signed();
  CertifiedKey w = ca.issue_workload("cluster.local", "default", "reviews", Duration::zero(), Duration::hours(24));
  std::string dir = ::testing::TempDir();
  std::string leaf = dir + "/leaf.pem", root = dir + "/root.pem";
  std::ofstream(leaf) << w.certificate.to_pem();
  std::ofstream(root) << ca.root().to_pem();
  std::string cmd = "openssl x509 -in " + leaf + " -noout -text -dates 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) text += buf;
  ASSERT_EQ(pclose(p), 0) << text;
  EXPECT_NE(text.find("URI:spiffe://cluster.local/ns/default/sa/reviews"), std::string::npos) << text;
  EXPECT_NE(text.find("notBefore=Jan  1 00:00:00 2026 GMT"), std::string::npos) << text;
  EXPECT_NE(text.find("notAfter=Jan  2 00:00:00 2026 GMT"), std::string::npos) << text;
  EXPECT_NE(text.find("TLS Web Server Authentication, TLS Web Client Authentication"), std::string::npos) << text;
  // Chain verifies against the root at a time inside the window (Unix seconds).
  std::string verify = "openssl verify -attime " + std::to_string(kEpochUnixSeconds + 3600) + " -CAfile " + root +
                       " " + leaf + " 2>&1";
  p = popen(verify.c_str(), "r");
  ASSERT_NE(p, nullptr);
  text.clear();
  while (fgets(buf, sizeof buf, p)) text += buf;
  EXPECT_EQ(pclose(p), 0) << text;
  EXPECT_NE(text.find(": OK"), std::string::npos) << text;
}

}  // namespace
}  // namespace meshsim::tls
