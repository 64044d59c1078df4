// kube-proxy's chain names, against names every Kubernetes cluster shows
// (iptables-save on any node: the kubernetes and kube-dns Services).
#include "real/pod_network.h"

#include <gtest/gtest.h>

namespace meshsim::real {
namespace {

TEST(KubeProxyNames, ServiceChainsAreThoseOfEveryCluster) {
  EXPECT_EQ(kube_service_chain("default/kubernetes:https"), "KUBE-SVC-NPX46M4PTMTKRN6Y");
  EXPECT_EQ(kube_service_chain("kube-system/kube-dns:dns-tcp"), "KUBE-SVC-ERIFXISQEP7F7OF4");
  EXPECT_EQ(kube_service_chain("kube-system/kube-dns:metrics"), "KUBE-SVC-JD5MR3NA4I4DYORP");
}

TEST(KubeProxyNames, EndpointChainsDependOnTheEndpoint) {
  std::string a = kube_endpoint_chain("default/reviews:http", "10.244.0.5:9080");
  std::string b = kube_endpoint_chain("default/reviews:http", "10.244.0.6:9080");
  EXPECT_EQ(a.rfind("KUBE-SEP-", 0), 0u);
  EXPECT_EQ(a.size(), 9u + 16u);
  EXPECT_NE(a, b);
}

TEST(RunProgram, ReturnsStdoutAndReportsFailuresWithStderr) {
  auto ok = run_program({"sh", "-c", "cat; echo done"}, "in\n");
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(*ok, "in\ndone\n");
  auto bad = run_program({"sh", "-c", "echo oops >&2; exit 3"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("exit 3"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("oops"), std::string::npos) << bad.message();
  EXPECT_FALSE(run_program({"no-such-program-meshsim"}).ok());
}

}  // namespace
}  // namespace meshsim::real
