// Filter-chain selection cases modelled on Istio's own simulation tests
// (pilot/pkg/networking/core/*_simulation_test.go) and Envoy's matching order.
#include "proxy/filter_chain_match.h"

#include <gtest/gtest.h>

namespace meshsim::proxy {
namespace {

FilterChain chain(std::string name, std::optional<uint16_t> port, std::string transport,
                  std::vector<std::string> alpn = {}) {
  FilterChain fc;
  fc.name = std::move(name);
  fc.match.destination_port = port;
  fc.match.transport_protocol = std::move(transport);
  fc.match.application_protocols = std::move(alpn);
  return fc;
}

// The shape of a PERMISSIVE virtualInbound listener for an HTTP port 8080 and
// a TCP port 3306, plus the passthrough chains.
Listener permissive_inbound() {
  Listener l;
  l.name = "virtualInbound";
  l.filter_chains.push_back(chain("0.0.0.0_8080", 8080, "tls",
                                  {"istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"}));
  l.filter_chains.push_back(chain("0.0.0.0_8080", 8080, "raw_buffer"));
  l.filter_chains.push_back(chain("0.0.0.0_3306-mtls", 3306, "tls",
                                  {"istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"}));
  l.filter_chains.push_back(chain("0.0.0.0_3306-tls-passthrough", 3306, "tls"));
  l.filter_chains.push_back(chain("0.0.0.0_3306-raw", 3306, "raw_buffer"));
  l.filter_chains.push_back(chain("virtualInbound-blackhole", 15006, ""));
  l.filter_chains.push_back(chain("virtualInbound-mtls", std::nullopt, "tls", {"istio", "istio-peer-exchange"}));
  l.filter_chains.push_back(chain("virtualInbound", std::nullopt, "raw_buffer"));
  l.filter_chains.push_back(chain("virtualInbound-catchall-http", std::nullopt, "raw_buffer", {"http/1.1", "h2c"}));
  return l;
}

ConnectionMatchInput input(uint16_t port, std::string transport, std::vector<std::string> alpn = {}) {
  ConnectionMatchInput in;
  in.destination = SocketAddress{Ipv4::of(10, 244, 1, 7), port};
  in.transport_protocol = std::move(transport);
  in.application_protocols = std::move(alpn);
  return in;
}

TEST(FilterChainMatch, MtlsHttpPicksTheTlsChainOfItsPort) {
  Listener l = permissive_inbound();
  auto sel = select_filter_chain(l, input(8080, "tls", {"istio-http/1.1", "istio", "http/1.1"}));
  ASSERT_NE(sel.chain, nullptr);
  EXPECT_EQ(sel.chain->name, "0.0.0.0_8080");
  EXPECT_EQ(sel.chain->match.transport_protocol, "tls");
}

TEST(FilterChainMatch, PlaintextPicksTheRawChainOfItsPort) {
  Listener l = permissive_inbound();
  auto sel = select_filter_chain(l, input(8080, "raw_buffer", {"http/1.1"}));
  ASSERT_NE(sel.chain, nullptr);
  EXPECT_EQ(sel.chain->match.transport_protocol, "raw_buffer");
}

TEST(FilterChainMatch, AppTlsWithoutIstioAlpnFallsToThePassthroughTlsChain) {
  Listener l = permissive_inbound();
  auto sel = select_filter_chain(l, input(3306, "tls", {"h2", "http/1.1"}));
  ASSERT_NE(sel.chain, nullptr);
  EXPECT_EQ(sel.chain->name, "0.0.0.0_3306-tls-passthrough");
}

TEST(FilterChainMatch, PortWithoutChainsUsesPortlessPassthroughChains) {
  Listener l = permissive_inbound();
  auto sel = select_filter_chain(l, input(9000, "raw_buffer", {"http/1.1"}));
  ASSERT_NE(sel.chain, nullptr);
  EXPECT_EQ(sel.chain->name, "virtualInbound-catchall-http");
  auto tcp = select_filter_chain(l, input(9000, "raw_buffer"));
  EXPECT_EQ(tcp.chain->name, "virtualInbound");
}

TEST(FilterChainMatch, StrictRejectsPlaintextBecauseThePortStageDoesNotBacktrack) {
  Listener l;
  l.filter_chains.push_back(chain("0.0.0.0_8080", 8080, "tls"));
  l.filter_chains.push_back(chain("virtualInbound", std::nullopt, "raw_buffer"));  // would match, but is port-less
  auto sel = select_filter_chain(l, input(8080, "raw_buffer", {"http/1.1"}));
  EXPECT_EQ(sel.chain, nullptr);
}

TEST(FilterChainMatch, DefaultChainWhenNothingMatches) {
  Listener l;
  l.filter_chains.push_back(chain("only-tls", std::nullopt, "tls"));
  l.default_filter_chain = chain("PassthroughFilterChain", std::nullopt, "");
  auto sel = select_filter_chain(l, input(80, "raw_buffer"));
  ASSERT_NE(sel.chain, nullptr);
  EXPECT_TRUE(sel.is_default);
  EXPECT_EQ(sel.chain->name, "PassthroughFilterChain");
}

TEST(FilterChainMatch, LongestPrefixRangeWins) {
  Listener l;
  FilterChain wide = chain("wide", std::nullopt, "");
  wide.match.prefix_ranges = {parse_cidr("10.0.0.0/8").value()};
  FilterChain narrow = chain("narrow", std::nullopt, "");
  narrow.match.prefix_ranges = {parse_cidr("10.244.1.0/24").value()};
  FilterChain other = chain("other", std::nullopt, "");
  other.match.prefix_ranges = {parse_cidr("192.168.0.0/16").value()};
  l.filter_chains = {wide, narrow, other};
  EXPECT_EQ(select_filter_chain(l, input(80, "raw_buffer")).chain->name, "narrow");
  ConnectionMatchInput elsewhere = input(80, "raw_buffer");
  elsewhere.destination.ip = Ipv4::of(172, 16, 0, 1);
  EXPECT_EQ(select_filter_chain(l, elsewhere).chain, nullptr);  // no range matches and none is range-less
}

TEST(FilterChainMatch, ServerNamesExactBeforeLongestWildcard) {
  Listener l;
  FilterChain star = chain("star", std::nullopt, "tls");
  star.match.server_names = {"*.example.com"};
  FilterChain deeper = chain("deeper", std::nullopt, "tls");
  deeper.match.server_names = {"*.api.example.com"};
  FilterChain exact = chain("exact", std::nullopt, "tls");
  exact.match.server_names = {"www.api.example.com"};
  FilterChain none = chain("none", std::nullopt, "tls");
  l.filter_chains = {star, deeper, exact, none};
  auto with_sni = [](std::string sni) {
    ConnectionMatchInput in = input(443, "tls");
    in.server_name = std::move(sni);
    return in;
  };
  EXPECT_EQ(select_filter_chain(l, with_sni("www.api.example.com")).chain->name, "exact");
  EXPECT_EQ(select_filter_chain(l, with_sni("v1.api.example.com")).chain->name, "deeper");
  EXPECT_EQ(select_filter_chain(l, with_sni("www.example.com")).chain->name, "star");
  EXPECT_EQ(select_filter_chain(l, with_sni("example.com")).chain->name, "none");
  EXPECT_EQ(select_filter_chain(l, with_sni("")).chain->name, "none");
}

TEST(FilterChainMatch, FirstOfferedAlpnThatAChainListsWins) {
  Listener l;
  l.filter_chains.push_back(chain("h2", std::nullopt, "tls", {"h2"}));
  l.filter_chains.push_back(chain("istio", std::nullopt, "tls", {"istio"}));
  l.filter_chains.push_back(chain("any", std::nullopt, "tls"));
  EXPECT_EQ(select_filter_chain(l, input(1, "tls", {"istio", "h2"})).chain->name, "istio");
  EXPECT_EQ(select_filter_chain(l, input(1, "tls", {"h2", "istio"})).chain->name, "h2");
  EXPECT_EQ(select_filter_chain(l, input(1, "tls", {"http/1.1"})).chain->name, "any");
}

TEST(FilterChainMatch, DuplicateMatchesAreReportedAsAmbiguous) {
  Listener l;
  l.filter_chains.push_back(chain("a", 80, ""));
  l.filter_chains.push_back(chain("b", 80, ""));
  auto sel = select_filter_chain(l, input(80, "raw_buffer"));
  EXPECT_TRUE(sel.ambiguous);
  EXPECT_EQ(sel.chain->name, "a");
}

}  // namespace
}  // namespace meshsim::proxy
