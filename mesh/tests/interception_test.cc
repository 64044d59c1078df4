// The istio-iptables capture model, rule by rule, against the chains that
// istio-iptables installs (tools/istio-iptables/pkg/capture/testdata/*.golden).
#include "mesh/interception.h"

#include <gtest/gtest.h>

namespace meshsim::mesh {
namespace {

const Ipv4 kPod = Ipv4::of(10, 244, 0, 5);
const Ipv4 kOther = Ipv4::of(10, 244, 1, 7);
const Ipv4 kClusterIp = Ipv4::of(10, 96, 0, 10);

CaptureDecision out(const TrafficInterception& t, SocketAddress dst, uint32_t uid = 0,
                    Ipv4 src = kPod) {
  bool local = dst.ip.is_loopback() || dst.ip == kPod;
  return classify_outbound(t, {uid, src, dst, local});
}

TEST(Interception, AppTrafficToAnotherPodGoesToOutboundListener) {
  auto d = out(default_interception(), {kOther, 8080});
  EXPECT_EQ(d.action, CaptureAction::kRedirectOutbound);
  EXPECT_EQ(d.reason, CaptureReason::kAllOutboundIpRanges);
  EXPECT_EQ(out(default_interception(), {kClusterIp, 80}).action, CaptureAction::kRedirectOutbound);
}

TEST(Interception, SidecarOwnTrafficIsNeverCapturedAgain) {
  auto d = out(default_interception(), {kOther, 8080}, 1337);
  EXPECT_EQ(d.action, CaptureAction::kNone);
  EXPECT_EQ(d.reason, CaptureReason::kProxyUid);
}

TEST(Interception, ProxyUidComesFromTheInterceptionSettings) {
  auto t = default_interception();
  t.proxy_uid = 4242;
  EXPECT_EQ(out(t, {kOther, 80}, 1337).action, CaptureAction::kRedirectOutbound);
  EXPECT_EQ(out(t, {kOther, 80}, 4242).action, CaptureAction::kNone);
}

TEST(Interception, LocalhostIsNotCaptured) {
  auto d = out(default_interception(), {Ipv4::loopback(), 15000}, 0, Ipv4::loopback());
  EXPECT_EQ(d.action, CaptureAction::kNone);
  EXPECT_EQ(d.reason, CaptureReason::kAppToLocalAddress);
  // Any 127/8 address is local (routed via lo).
  EXPECT_EQ(out(default_interception(), {Ipv4::of(127, 0, 0, 2), 80}, 0, Ipv4::loopback()).action,
            CaptureAction::kNone);
}

TEST(Interception, AppToItsOwnPodIpIsNotCaptured) {
  auto d = out(default_interception(), {kPod, 8080});
  EXPECT_EQ(d.action, CaptureAction::kNone);
  EXPECT_EQ(d.reason, CaptureReason::kAppToLocalAddress);
}

TEST(Interception, SidecarToItsOwnPodIpGoesBackThroughInbound) {
  // app → own service VIP → sidecar outbound → upstream is this very pod.
  auto d = out(default_interception(), {kPod, 8080}, 1337);
  EXPECT_EQ(d.action, CaptureAction::kRedirectInbound);
  EXPECT_EQ(d.reason, CaptureReason::kProxyToLocalAddress);
  // …but not to 127.0.0.1 and not to the HBONE port.
  EXPECT_EQ(out(default_interception(), {Ipv4::loopback(), 8080}, 1337, Ipv4::loopback()).action,
            CaptureAction::kNone);
  EXPECT_EQ(out(default_interception(), {kPod, 15008}, 1337).action, CaptureAction::kNone);
}

TEST(Interception, InboundPassthroughSourceIsNeverRedirected) {
  // The sidecar's inbound cluster connects to the app from 127.0.0.6.
  auto d = out(default_interception(), {kPod, 8080}, 1337, kInboundPassthroughSource);
  EXPECT_EQ(d.action, CaptureAction::kNone);
  EXPECT_EQ(d.reason, CaptureReason::kInboundPassthroughSource);
}

TEST(Interception, ExcludedOutboundPortWinsOverEverything) {
  auto t = default_interception();
  t.exclude_outbound_ports = {22, 80, 443};
  EXPECT_EQ(out(t, {kOther, 443}).reason, CaptureReason::kExcludedOutboundPort);
  EXPECT_EQ(out(t, {kOther, 443}).action, CaptureAction::kNone);
  // Even the sidecar-to-self rule comes after the port exclusion.
  EXPECT_EQ(out(t, {kPod, 80}, 1337).action, CaptureAction::kNone);
  EXPECT_EQ(out(t, {kOther, 8443}).action, CaptureAction::kRedirectOutbound);
}

TEST(Interception, ExcludedOutboundIpRangeIsNotCaptured) {
  auto t = default_interception();
  t.exclude_outbound_ip_ranges = {*parse_cidr("10.96.0.0/12")};
  EXPECT_EQ(out(t, {kClusterIp, 80}).reason, CaptureReason::kExcludedOutboundIpRange);
  EXPECT_EQ(out(t, {kOther, 80}).action, CaptureAction::kRedirectOutbound);
}

TEST(Interception, IncludeRangesCaptureOnlyThoseRanges) {
  TrafficInterception t = default_interception();
  t.outbound_all_ips = false;
  t.include_outbound_ip_ranges = {*parse_cidr("10.96.0.0/12")};
  EXPECT_EQ(out(t, {kClusterIp, 80}).reason, CaptureReason::kIncludedOutboundIpRange);
  auto d = out(t, {kOther, 80});
  EXPECT_EQ(d.action, CaptureAction::kNone);
  EXPECT_EQ(d.reason, CaptureReason::kNotInIncludedIpRanges);
}

TEST(Interception, EmptyIncludeRangesCaptureNothingButIncludedPorts) {
  TrafficInterception t = default_interception();
  t.outbound_all_ips = false;
  t.include_outbound_ports = {31000, 32000};
  EXPECT_EQ(out(t, {kOther, 80}).action, CaptureAction::kNone);
  auto d = out(t, {kOther, 32000});
  EXPECT_EQ(d.action, CaptureAction::kRedirectOutbound);
  EXPECT_EQ(d.reason, CaptureReason::kIncludedOutboundPort);
}

TEST(Interception, IncludedPortDoesNotBeatExcludedRange) {
  // -d <excluded> RETURN is installed before the --dport include rules.
  auto t = default_interception();
  t.exclude_outbound_ip_ranges = {*parse_cidr("10.244.1.0/24")};
  t.include_outbound_ports = {8080};
  EXPECT_EQ(out(t, {kOther, 8080}).action, CaptureAction::kNone);
}

TEST(Interception, LoopbackIncludeRangeCapturesAppTrafficToItself) {
  auto t = default_interception();
  t.outbound_all_ips = false;
  t.include_outbound_ip_ranges = {*parse_cidr("10.244.0.5/32"), *parse_cidr("127.0.0.0/8")};
  // The "-o lo ! --uid-owner 1337 RETURN" rule is not installed in this case.
  EXPECT_EQ(out(t, {kPod, 8080}).action, CaptureAction::kRedirectOutbound);
  EXPECT_EQ(out(t, {Ipv4::loopback(), 8080}, 0, Ipv4::loopback()).reason, CaptureReason::kLoopbackDestination);
}

TEST(Interception, InboundDefaultsCaptureAllButTheSidecarPorts) {
  auto t = default_interception();
  EXPECT_EQ(classify_inbound(t, 8080).action, CaptureAction::kRedirectInbound);
  EXPECT_EQ(classify_inbound(t, 8080).reason, CaptureReason::kAllInboundPorts);
  for (uint16_t p : {15020, 15021, 15090}) {
    EXPECT_EQ(classify_inbound(t, p).action, CaptureAction::kNone) << p;
    EXPECT_EQ(classify_inbound(t, p).reason, CaptureReason::kExcludedInboundPort) << p;
  }
  EXPECT_EQ(classify_inbound(t, 15008).reason, CaptureReason::kInboundTunnelPortExempt);
}

TEST(Interception, CustomStatusPortIsExcludedInsteadOf15020) {
  TrafficInterception t;
  t.status_port = 15999;
  t.exclude_inbound_ports = {15090, 15021, t.status_port};
  EXPECT_EQ(classify_inbound(t, 15999).action, CaptureAction::kNone);
  EXPECT_EQ(classify_inbound(t, 15020).action, CaptureAction::kRedirectInbound);
}

TEST(Interception, ExcludedInboundPortsReachTheAppDirectly) {
  auto t = default_interception();
  t.exclude_inbound_ports.push_back(3306);
  EXPECT_EQ(classify_inbound(t, 3306).action, CaptureAction::kNone);
  EXPECT_EQ(classify_inbound(t, 3307).action, CaptureAction::kRedirectInbound);
}

TEST(Interception, IncludeInboundPortListCapturesOnlyThosePorts) {
  auto t = default_interception();
  t.inbound_all_ports = false;
  t.include_inbound_ports = {9080};
  EXPECT_EQ(classify_inbound(t, 9080).reason, CaptureReason::kIncludedInboundPort);
  EXPECT_EQ(classify_inbound(t, 9081).reason, CaptureReason::kInboundPortNotIncluded);
  EXPECT_EQ(classify_inbound(t, 9081).action, CaptureAction::kNone);
}

TEST(Interception, IncludeInboundListIgnoresExclusionsButNeverCaptures15008) {
  // handleInboundPortsInclude(): excludeInboundPorts RETURNs are only installed
  // for "*"; the 15008 RETURN is the first rule of ISTIO_INBOUND in every mode.
  auto t = default_interception();
  t.inbound_all_ports = false;
  t.include_inbound_ports = {9080, 15008, 15021};
  EXPECT_EQ(classify_inbound(t, 15021).reason, CaptureReason::kIncludedInboundPort);
  EXPECT_EQ(classify_inbound(t, 15008).reason, CaptureReason::kInboundTunnelPortExempt);
  EXPECT_FALSE(captures_inbound(t, 15008));
  EXPECT_TRUE(captures_inbound(t, 15021));
}

TEST(Interception, ShorthandsAreTheSameDecision) {
  auto t = default_interception();
  t.exclude_outbound_ip_ranges = {*parse_cidr("10.244.1.0/24")};
  t.include_outbound_ports = {8080};
  EXPECT_FALSE(captures_outbound(t, kPod, kOther, 8080)) << "excluded range before included port";
  EXPECT_FALSE(captures_outbound(t, kPod, kPod, 8080)) << "app to its own address goes via lo";
  EXPECT_TRUE(captures_outbound(t, kPod, kClusterIp, 80));
  EXPECT_FALSE(captures_inbound(t, 15008)) << "15008 is RETURNed before the \"*\" redirect";
  EXPECT_FALSE(captures_inbound(t, 15020));
  EXPECT_TRUE(captures_inbound(t, 8080));
}

TEST(Interception, EmptyIncludeInboundPortsDisablesInboundCapture) {
  auto t = default_interception();
  t.inbound_all_ports = false;
  EXPECT_EQ(classify_inbound(t, 8080).action, CaptureAction::kNone);
  EXPECT_EQ(classify_inbound(t, 8080).reason, CaptureReason::kInboundCaptureDisabled);
}

}  // namespace
}  // namespace meshsim::mesh
