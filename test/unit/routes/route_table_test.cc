#include "routes/route_table.h"

#include <gtest/gtest.h>

#include "conf/endpoint.h"

namespace kgate::routes {
namespace {

using conf::UpstreamProtocol;
using std::chrono::seconds;

conf::Endpoint ep(std::string_view url) {
  auto r = conf::parseEndpoint(url);
  EXPECT_TRUE(r.ok()) << url << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : conf::Endpoint{};
}

conf::Route direct(std::string dest, std::string_view url, std::string token) {
  conf::Route r;
  r.destination = std::move(dest);
  r.endpoint = ep(url);
  r.token = std::move(token);
  return r;
}

conf::Route transit(std::string dest, std::string via) {
  conf::Route r;
  r.destination = std::move(dest);
  r.transit = std::move(via);
  return r;
}

conf::Config baseConfig() {
  conf::Config c;
  c.domainID = "alice";
  c.instance = "gw-0";
  c.services.push_back({"svc", ep("http://10.0.0.5:8080"), UpstreamProtocol::Http1});
  c.services.push_back({"grpc", ep("https://grpc.internal:8443"), UpstreamProtocol::Http2});
  c.routes.push_back(direct("bob", "http://bob.example.com:1080", "TAB"));
  c.routes.push_back(direct("carol", "https://carol.example.com:2080/gw/", "TAC"));
  return c;
}

std::shared_ptr<const RouteTable> mustBuild(const conf::Config& c) {
  auto t = RouteTable::build(c);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error());
  return t.ok() ? *t : nullptr;
}

TEST(RouteTableBuild, SelfAndServices) {
  auto t = mustBuild(baseConfig());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->self(), "alice");
  const Service* s = t->service("svc");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "svc");
  EXPECT_EQ(s->upstream.endpoint.host, "10.0.0.5");
  EXPECT_EQ(s->upstream.endpoint.port, 8080);
  EXPECT_EQ(s->upstream.hostHeader, "10.0.0.5");  // vector 6: upstream sees Host 10.0.0.5
  EXPECT_EQ(s->upstream.protocol, UpstreamProtocol::Http1);
  EXPECT_FALSE(s->upstream.verifyPeer);
  const Service* g = t->service("grpc");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->upstream.protocol, UpstreamProtocol::Http2);
  EXPECT_EQ(g->upstream.sni, "grpc.internal");
  EXPECT_EQ(t->service("nosvc"), nullptr);
  EXPECT_EQ(t->service(""), nullptr);
  EXPECT_EQ(t->service("SVC"), nullptr);
}

TEST(RouteTableBuild, DirectRoutes) {
  auto t = mustBuild(baseConfig());
  ASSERT_NE(t, nullptr);
  const PeerRoute* bob = t->route("bob");
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(bob->destination, "bob");
  EXPECT_EQ(bob->nextHop, "bob");
  EXPECT_EQ(bob->token, "TAB");
  EXPECT_EQ(bob->pathPrefix, "");
  EXPECT_EQ(bob->upstream.hostHeader, "bob.example.com");  // vector 20: no port
  EXPECT_EQ(bob->upstream.endpoint.port, 1080);
  EXPECT_FALSE(bob->streamIdleTimeout.has_value());
  EXPECT_EQ(t->route("zed"), nullptr);
  EXPECT_EQ(t->route(""), nullptr);
  EXPECT_EQ(t->routes().size(), 2u);
}

TEST(RouteTableBuild, PathPrefixComesFromTheEndpoint) {
  auto t = mustBuild(baseConfig());
  ASSERT_NE(t, nullptr);
  const PeerRoute* carol = t->route("carol");
  ASSERT_NE(carol, nullptr);
  EXPECT_EQ(carol->pathPrefix, "/gw");  // trailing '/' dropped by parseEndpoint
  EXPECT_TRUE(carol->upstream.endpoint.tls());
}

TEST(RouteTableBuild, RouteOptionsReachTheUpstream) {
  conf::Config c = baseConfig();
  conf::Route r = direct("erin", "https://10.1.1.1:443", "TAE");
  r.protocol = UpstreamProtocol::Auto;
  r.verifyPeer = true;
  r.caFile = "/etc/ca.pem";
  r.sni = "erin.example";
  r.streamIdleTimeout = seconds(5);
  c.routes.push_back(r);
  auto t = mustBuild(c);
  ASSERT_NE(t, nullptr);
  const PeerRoute* e = t->route("erin");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->upstream.protocol, UpstreamProtocol::Auto);
  EXPECT_TRUE(e->upstream.verifyPeer);
  EXPECT_EQ(e->upstream.caFile, "/etc/ca.pem");
  EXPECT_EQ(e->upstream.sni, "erin.example");
  ASSERT_TRUE(e->streamIdleTimeout.has_value());
  EXPECT_EQ(*e->streamIdleTimeout, seconds(5));
}

TEST(RouteTableTransit, BorrowsTheNextHopsUpstreamAndToken) {
  conf::Config c = baseConfig();
  c.routes.push_back(transit("dave", "carol"));
  auto t = mustBuild(c);
  ASSERT_NE(t, nullptr);
  const PeerRoute* dave = t->route("dave");
  const PeerRoute* carol = t->route("carol");
  ASSERT_NE(dave, nullptr);
  ASSERT_NE(carol, nullptr);
  EXPECT_EQ(dave->destination, "dave");
  EXPECT_EQ(dave->nextHop, "carol");
  EXPECT_EQ(dave->token, "TAC");
  EXPECT_EQ(dave->pathPrefix, "/gw");
  EXPECT_EQ(dave->upstream.poolKey, carol->upstream.poolKey);
  EXPECT_EQ(dave->upstream.hostHeader, "carol.example.com");
  EXPECT_EQ(dave->upstream.endpoint.port, 2080);
  // The hop itself is unchanged.
  EXPECT_EQ(carol->destination, "carol");
  EXPECT_EQ(carol->nextHop, "carol");
}

TEST(RouteTableTransit, TransitListedBeforeItsHopStillResolves) {
  conf::Config c;
  c.domainID = "alice";
  c.routes.push_back(transit("bob", "carol"));
  c.routes.push_back(direct("carol", "http://3.3.3.3:38080", "TAC"));
  auto t = mustBuild(c);
  ASSERT_NE(t, nullptr);
  ASSERT_NE(t->route("bob"), nullptr);
  EXPECT_EQ(t->route("bob")->token, "TAC");
  EXPECT_EQ(t->route("bob")->nextHop, "carol");
}

TEST(RouteTableTransit, KeepsItsOwnStreamIdleTimeout) {
  conf::Config c = baseConfig();
  c.routes[1].streamIdleTimeout = seconds(30);  // carol
  conf::Route withOwn = transit("dave", "carol");
  withOwn.streamIdleTimeout = seconds(7);
  c.routes.push_back(withOwn);
  c.routes.push_back(transit("erin", "carol"));
  auto t = mustBuild(c);
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->route("dave")->streamIdleTimeout.has_value());
  EXPECT_EQ(*t->route("dave")->streamIdleTimeout, seconds(7));
  EXPECT_EQ(*t->route("carol")->streamIdleTimeout, seconds(30));
  // Without its own override a transit route runs with the hop's.
  ASSERT_TRUE(t->route("erin")->streamIdleTimeout.has_value());
  EXPECT_EQ(*t->route("erin")->streamIdleTimeout, seconds(30));
}

TEST(RouteTableTransit, WithoutADirectHopFailsClearly) {
  conf::Config c = baseConfig();
  c.routes.push_back(transit("dave", "zed"));
  auto t = RouteTable::build(c);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error(), "route to dave: transit domain zed has no direct route");
}

TEST(RouteTableTransit, ThroughAnotherTransitRouteFails) {
  conf::Config c = baseConfig();
  c.routes.push_back(transit("dave", "carol"));
  c.routes.push_back(transit("erin", "dave"));  // dave is itself a transit route
  auto t = RouteTable::build(c);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error(), "route to erin: transit domain dave has no direct route");
}

TEST(MakeUpstream, HostHeaderAndSniForNames) {
  Upstream u = makeUpstream(ep("https://bob.example.com:1080"), UpstreamProtocol::Http1, false, "", "");
  EXPECT_EQ(u.hostHeader, "bob.example.com");
  EXPECT_EQ(u.sni, "bob.example.com");
  EXPECT_EQ(u.endpoint.host, "bob.example.com");
  EXPECT_FALSE(u.verifyPeer);
}

TEST(MakeUpstream, IpLiteralsGetNoSni) {
  Upstream v4 = makeUpstream(ep("https://10.0.0.5:8443"), UpstreamProtocol::Http1, false, "", "");
  EXPECT_EQ(v4.hostHeader, "10.0.0.5");
  EXPECT_EQ(v4.sni, "");
  Upstream v6 = makeUpstream(ep("https://[2001:db8::1]:8443"), UpstreamProtocol::Http1, false, "", "");
  EXPECT_EQ(v6.endpoint.host, "2001:db8::1");
  EXPECT_EQ(v6.hostHeader, "[2001:db8::1]");
  EXPECT_EQ(v6.sni, "");
  Upstream loop6 = makeUpstream(ep("http://[::1]:80"), UpstreamProtocol::Http1, false, "", "");
  EXPECT_EQ(loop6.hostHeader, "[::1]");
  EXPECT_EQ(loop6.sni, "");
}

TEST(MakeUpstream, ExplicitSniWins) {
  Upstream ip = makeUpstream(ep("https://10.0.0.5"), UpstreamProtocol::Http1, true, "", "peer.example");
  EXPECT_EQ(ip.sni, "peer.example");
  EXPECT_EQ(ip.hostHeader, "10.0.0.5");  // Host is still the endpoint host
  Upstream name = makeUpstream(ep("https://a.example"), UpstreamProtocol::Http1, true, "", "b.example");
  EXPECT_EQ(name.sni, "b.example");
  EXPECT_EQ(name.hostHeader, "a.example");
}

TEST(RouteTable, TransitRoutesAnswerAsRelayOrAsDestination) {
  conf::Config c = baseConfig();
  c.transitRoutes = {{"bob", "carol", "alice"}, {"erin", "alice", "bob"}, {"x", "y", "z"}};
  auto t = RouteTable::build(c);
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_TRUE((*t)->relays("bob", "carol"));
  EXPECT_FALSE((*t)->relays("carol", "bob"));
  EXPECT_FALSE((*t)->relays("erin", "alice"));
  EXPECT_TRUE((*t)->acceptsOrigin("erin", "bob"));
  EXPECT_FALSE((*t)->acceptsOrigin("bob", "erin"));
  EXPECT_FALSE((*t)->acceptsOrigin("erin", "dave"));
  EXPECT_FALSE((*t)->relays("x", "y"));  // neither end nor transit here: nothing
  EXPECT_FALSE((*t)->acceptsOrigin("x", "z"));
}

TEST(MakeUpstream, PoolKeyDistinguishesWhatMatters) {
  conf::Endpoint e = ep("https://bob.example.com:1080");
  Upstream base = makeUpstream(e, UpstreamProtocol::Http1, false, "", "");
  EXPECT_EQ(base.poolKey, makeUpstream(e, UpstreamProtocol::Http1, false, "", "").poolKey);
  EXPECT_FALSE(base.poolKey.empty());
  EXPECT_NE(base.poolKey, makeUpstream(e, UpstreamProtocol::Http2, false, "", "").poolKey);
  EXPECT_NE(base.poolKey, makeUpstream(e, UpstreamProtocol::Auto, false, "", "").poolKey);
  EXPECT_NE(base.poolKey, makeUpstream(e, UpstreamProtocol::Http1, true, "", "").poolKey);
  EXPECT_NE(makeUpstream(e, UpstreamProtocol::Http1, true, "/a.pem", "").poolKey,
            makeUpstream(e, UpstreamProtocol::Http1, true, "/b.pem", "").poolKey);
  EXPECT_NE(base.poolKey, makeUpstream(e, UpstreamProtocol::Http1, false, "", "other").poolKey);
  EXPECT_NE(base.poolKey,
            makeUpstream(ep("https://bob.example.com:1081"), UpstreamProtocol::Http1, false, "", "").poolKey);
  EXPECT_NE(base.poolKey,
            makeUpstream(ep("http://bob.example.com:1080"), UpstreamProtocol::Http1, false, "", "").poolKey);
  // The path prefix is applied to requests, not to connections: same pool.
  EXPECT_EQ(base.poolKey,
            makeUpstream(ep("https://bob.example.com:1080/gw"), UpstreamProtocol::Http1, false, "", "").poolKey);
}

TEST(MakeUpstream, KeepsOptions) {
  Upstream u = makeUpstream(ep("https://bob.example.com"), UpstreamProtocol::Http2, true, "/ca.pem", "");
  EXPECT_EQ(u.protocol, UpstreamProtocol::Http2);
  EXPECT_TRUE(u.verifyPeer);
  EXPECT_EQ(u.caFile, "/ca.pem");
  EXPECT_EQ(u.endpoint.port, 443);
}

}  // namespace
}  // namespace kgate::routes
