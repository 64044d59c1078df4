// mesh::istio_iptables_restore against Istio's own goldens: the same
// configurations as istio-iptables' TestIptables (run_test.go), the same
// iptables-restore input, byte for byte (tests/data/istio-iptables/README.md).
#include "mesh/istio_iptables.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "mesh/tests/test_util.h"

namespace meshsim::mesh {
namespace {

std::string golden(const std::string& name) {
  std::ifstream in(std::string(MESHSIM_TEST_SOURCE_DIR) + "/tests/data/istio-iptables/" + name + ".golden");
  EXPECT_TRUE(in.good()) << name;
  std::string line, out;
  while (std::getline(in, line)) {
    if (line == "iptables-save" || line == "ip6tables-save") continue;  // state checks, not rules
    out += line + "\n";
  }
  return out;
}

// run_test.go's constructTestConfig: the tool's flag defaults with the test's
// ports and owner; no inbound ports and no outbound ranges unless a case sets them.
IstioIptablesConfig test_config() {
  IstioIptablesConfig c;
  c.inbound_interception_mode = "";
  return c;
}

struct Case {
  const char* name;
  std::function<void(IstioIptablesConfig&)> change;
};

const Case kCases[] = {
    {"empty", [](IstioIptablesConfig&) {}},
    {"ip-range",
     [](IstioIptablesConfig& c) {
       c.outbound_ip_ranges_exclude = "1.1.0.0/16";
       c.outbound_ip_ranges_include = "9.9.0.0/16";
       c.redirect_dns = true;
       c.proxy_gid = "1,2";
       c.proxy_uid = "3,4";
       c.dns_servers_v4 = {"127.0.0.53"};
     }},
    {"kube-virt-interfaces",
     [](IstioIptablesConfig& c) {
       c.reroute_virtual_interfaces = "eth1,eth2";
       c.outbound_ip_ranges_include = "*";
     }},
    {"ipnets", [](IstioIptablesConfig& c) { c.outbound_ip_ranges_include = "10.0.0.0/8"; }},
    {"ipnets-with-kube-virt-interfaces",
     [](IstioIptablesConfig& c) {
       c.reroute_virtual_interfaces = "eth1,eth2";
       c.outbound_ip_ranges_include = "10.0.0.0/8";
     }},
    {"inbound-ports-include", [](IstioIptablesConfig& c) { c.inbound_ports_include = "32000,31000"; }},
    {"inbound-ports-wildcard", [](IstioIptablesConfig& c) { c.inbound_ports_include = "*"; }},
    {"inbound-ports-tproxy",
     [](IstioIptablesConfig& c) {
       c.inbound_ports_include = "32000,31000";
       c.inbound_interception_mode = "TPROXY";
     }},
    {"inbound-ports-wildcard-tproxy",
     [](IstioIptablesConfig& c) {
       c.inbound_ports_include = "*";
       c.inbound_interception_mode = "TPROXY";
     }},
    {"outbound-owner-groups", [](IstioIptablesConfig& c) { c.owner_groups_include = "java,202"; }},
    {"outbound-owner-groups-exclude", [](IstioIptablesConfig& c) { c.owner_groups_exclude = "888,ftp"; }},
    {"outbound-ports-include", [](IstioIptablesConfig& c) { c.outbound_ports_include = "32000,31000"; }},
    {"loopback-outbound-iprange",
     [](IstioIptablesConfig& c) {
       c.outbound_ip_ranges_include = "127.1.2.3/32";
       c.redirect_dns = true;
       c.dns_servers_v4 = {"127.0.0.53"};
       c.proxy_gid = "1,2";
       c.proxy_uid = "3,4";
     }},
    {"basic-exclude-nic", [](IstioIptablesConfig& c) { c.exclude_interfaces = "not-istio-nic"; }},
    {"drop-invalid", [](IstioIptablesConfig& c) { c.drop_invalid = true; }},
    {"host-ipv4-loopback-cidr", [](IstioIptablesConfig& c) { c.host_ipv4_loopback_cidr = "127.0.0.1/8"; }},
};

TEST(IstioIptables, ReproducesIstioGoldens) {
  for (const Case& k : kCases) {
    IstioIptablesConfig c = test_config();
    k.change(c);
    auto got = istio_iptables_restore(c);
    ASSERT_TRUE(got.ok()) << k.name << ": " << got.message();
    EXPECT_EQ(*got, golden(k.name)) << "case " << k.name;
  }
}

TEST(IstioIptables, ExcludeWildcardAndBadCidrsAreErrors) {
  IstioIptablesConfig c = test_config();
  c.outbound_ip_ranges_exclude = "*";
  EXPECT_FALSE(istio_iptables_restore(c).ok());
  c.outbound_ip_ranges_exclude = "10.0.0/8";
  auto r = istio_iptables_restore(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("10.0.0/8"), std::string::npos);
}

const WorldPod& pod_named(const World& w, const std::string& name) {
  for (const WorldPod& p : w.pods())
    if (p.name.rfind(name, 0) == 0) return p;
  ADD_FAILURE() << "no pod " << name;
  return w.pods().front();
}

World world_of(const std::string& yaml) { return testing::build(yaml).world; }

TEST(IstioIptables, InjectorDefaultsCaptureEverythingButTheAgentPorts) {
  World w = world_of(R"(apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: default, labels: {sidecar.istio.io/inject: "true"}}
spec: {containers: [{name: app, image: app}]}
)");
  IstioIptablesConfig c = istio_init_config(pod_named(w, "plain"));
  std::vector<std::string> want = {"istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
                                   "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"};
  EXPECT_EQ(istio_init_args(c), want);
  auto rules = istio_iptables_restore(c);
  ASSERT_TRUE(rules.ok());
  // Inbound: every port but the excluded ones to 15006; outbound: everything to 15001.
  EXPECT_NE(rules->find("-A PREROUTING -p tcp -j ISTIO_INBOUND\n"), std::string::npos);
  EXPECT_NE(rules->find("-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN\n-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT\n"),
            std::string::npos);
  EXPECT_NE(rules->find("-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN\n-A ISTIO_OUTPUT -j ISTIO_REDIRECT\nCOMMIT\n"),
            std::string::npos);
}

TEST(IstioIptables, AnnotationsBecomeTheInjectorsFlags) {
  World w = world_of(R"(apiVersion: v1
kind: Pod
metadata:
  name: tuned
  namespace: default
  labels: {sidecar.istio.io/inject: "true"}
  annotations:
    traffic.sidecar.istio.io/excludeInboundPorts: "9000,9001"
    traffic.sidecar.istio.io/includeOutboundIPRanges: "10.96.0.0/12"
    traffic.sidecar.istio.io/excludeOutboundPorts: "3306"
    status.sidecar.istio.io/port: "15030"
spec: {containers: [{name: app, image: app}]}
)");
  IstioIptablesConfig c = istio_init_config(pod_named(w, "tuned"));
  EXPECT_EQ(c.inbound_ports_exclude, "15090,15021,9000,9001,15030");
  EXPECT_EQ(c.outbound_ip_ranges_include, "10.96.0.0/12");
  auto args = istio_init_args(c);
  ASSERT_GE(args.size(), 2u);
  EXPECT_EQ(args[args.size() - 2], "-o");
  EXPECT_EQ(args.back(), "3306");
  auto rules = istio_iptables_restore(c);
  ASSERT_TRUE(rules.ok());
  EXPECT_NE(rules->find("-A ISTIO_OUTPUT -p tcp --dport 3306 -j RETURN\n-A ISTIO_OUTPUT -p udp --dport 3306 -j RETURN\n"),
            std::string::npos);
  EXPECT_NE(rules->find("-A ISTIO_OUTPUT -d 10.96.0.0/12 -j ISTIO_REDIRECT\n"), std::string::npos);
  // A status port already excluded by the annotation is not added twice.
  World w2 = world_of(R"(apiVersion: v1
kind: Pod
metadata:
  name: twice
  namespace: default
  labels: {sidecar.istio.io/inject: "true"}
  annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "15020, 8080"}
spec: {containers: [{name: app, image: app}]}
)");
  EXPECT_EQ(istio_init_config(pod_named(w2, "twice")).inbound_ports_exclude, "15090,15021,15020, 8080");
}

}  // namespace
}  // namespace meshsim::mesh
