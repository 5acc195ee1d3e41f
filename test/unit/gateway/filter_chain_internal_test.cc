// dataplane.md test vectors on the internal listener: gress and router (no token auth).
#include "filter_chain.h"
#include "gateway/causes.h"

namespace kgate {
namespace {

using kgate::testing::FilterChain;
using InternalChain = FilterChain;

bool isLowerHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Vector 20.
TEST_F(InternalChain, V20OutboundHeadersAreOverwritten) {
  EXPECT_FALSE(internal("svc.bob.svc:8080", {{"kuscia-source", "evil"},
                                             {"kuscia-token", "stolen"},
                                             {"kuscia-token", "stolen2"},
                                             {"kuscia-host", "svc.alice.svc"},
                                             {"x-interconn-protocol", "bfia"}},
                        "/api"));
  EXPECT_FALSE(ctx().local);
  EXPECT_EQ(ctx().target, Target::Peer);
  ASSERT_NE(ctx().route, nullptr);
  EXPECT_EQ(ctx().route->destination, "bob");
  EXPECT_EQ(ctx().route->upstream.hostHeader, "bob.example.com");
  EXPECT_EQ(ctx().route->upstream.endpoint.port, 1080);
  EXPECT_EQ(ctx().req.path, "/api");
  EXPECT_EQ(ctx().originalPath, "");
  EXPECT_EQ(reqHeaders().get("kuscia-source"), "alice");
  EXPECT_EQ(reqHeaders().get("kuscia-token"), "TAB");
  EXPECT_EQ(reqHeaders().get("kuscia-host"), "svc.bob.svc");
  EXPECT_EQ(reqHeaders().get("x-interconn-protocol"), "kuscia");
  EXPECT_EQ(reqHeaders().get("kuscia-origin-source"), "alice");
  for (const char* n : {"kuscia-source", "kuscia-token", "kuscia-host", "x-interconn-protocol",
                        "kuscia-origin-source"})
    EXPECT_EQ(count(n), 1u) << n;
  EXPECT_EQ(ctx().source, "evil");  // as received, for the access log
  EXPECT_EQ(ctx().peer, "bob");
}

// A peer refuses them, and the router rewrites only the spellings with dashes.
TEST_F(InternalChain, IdentityHeadersSpeltWithUnderscoresAreDropped) {
  EXPECT_FALSE(internal(
      "svc.bob.svc",
      {{"kuscia_origin_source", "carol"}, {"kuscia_source", "carol"}, {"x_other", "kept"}}));
  EXPECT_EQ(count("kuscia_origin_source"), 0u);
  EXPECT_EQ(count("kuscia_source"), 0u);
  EXPECT_EQ(reqHeaders().get("kuscia-origin-source"), "alice");
  EXPECT_EQ(reqHeaders().get("x_other"), "kept");
}

TEST_F(InternalChain, OriginSourceIsKeptWhenPresent) {
  EXPECT_FALSE(internal("svc.bob.svc", {{"kuscia-origin-source", "carol"}}));
  EXPECT_EQ(reqHeaders().get("kuscia-origin-source"), "carol");
  EXPECT_EQ(count("kuscia-origin-source"), 1u);
}

// Vector 21.
TEST_F(InternalChain, V21PathPrefixIsPrependedAndTheOriginalPathKept) {
  EXPECT_FALSE(internal("svc.carol.svc", {}, "/api?x=1"));
  EXPECT_EQ(ctx().target, Target::Peer);
  EXPECT_EQ(ctx().req.path, "/gw/api?x=1");
  EXPECT_EQ(ctx().originalPath, "/api?x=1");
  EXPECT_EQ(reqHeaders().get("kuscia-token"), "TAC");
  EXPECT_EQ(ctx().peer, "carol");
}

// Vector 22.
TEST_F(InternalChain, V22UnknownDomainIsRouteNotFound) {
  EXPECT_TRUE(internal("svc.zed.svc", {}, "/"));
  EXPECT_TRUE(ctx().local);
  EXPECT_EQ(ctx().status, 404);
  EXPECT_EQ(ctx().cause, cause::kRouteNotFound);
  EXPECT_EQ(ctx().message, "Service \"svc.zed.svc\" not found.");
  EXPECT_EQ(ctx().peer, "");
  EXPECT_EQ(ctx().route, nullptr);
  EXPECT_FALSE(reqHeaders().has("kuscia-token"));
}

TEST_F(InternalChain, NotFoundMessageUsesTheHostWithoutPort) {
  EXPECT_TRUE(internal("svc.zed.svc:8080"));
  EXPECT_EQ(ctx().message, "Service \"svc.zed.svc\" not found.");
}

TEST_F(InternalChain, HostThatIsNotAServiceNameIsRouteNotFound) {
  EXPECT_TRUE(internal("www.example.com"));
  EXPECT_EQ(ctx().status, 404);
  EXPECT_EQ(ctx().cause, cause::kRouteNotFound);
  EXPECT_EQ(ctx().message, "Service \"www.example.com\" not found.");
  EXPECT_TRUE(internal(""));
  EXPECT_EQ(ctx().status, 404);
  EXPECT_EQ(ctx().message, "Service \"\" not found.");
}

// Vector 24.
TEST_F(InternalChain, V24OwnDomainGoesToTheLocalServiceUnsigned) {
  EXPECT_FALSE(internal("svc.alice.svc", {}, "/"));
  EXPECT_EQ(ctx().target, Target::Service);
  ASSERT_NE(ctx().service, nullptr);
  EXPECT_EQ(ctx().service->upstream.hostHeader, "10.0.0.5");
  EXPECT_FALSE(reqHeaders().has("kuscia-source"));
  EXPECT_FALSE(reqHeaders().has("kuscia-token"));
  EXPECT_FALSE(reqHeaders().has("x-interconn-protocol"));
  EXPECT_EQ(reqHeaders().get("kuscia-origin-source"), "alice");
  EXPECT_EQ(ctx().peer, "");
}

// Vector 25.
TEST_F(InternalChain, V25ShortName) {
  EXPECT_FALSE(internal("svc", {}, "/"));
  EXPECT_EQ(ctx().target, Target::Service);
  ASSERT_NE(ctx().service, nullptr);
  EXPECT_EQ(ctx().service->name, "svc");
  EXPECT_FALSE(internal("svc:8080", {}, "/"));
  EXPECT_EQ(ctx().target, Target::Service);
}

TEST_F(InternalChain, UnknownLocalServiceIsServiceNotFound) {
  EXPECT_TRUE(internal("nosvc.alice.svc"));
  EXPECT_EQ(ctx().status, 404);
  EXPECT_EQ(ctx().cause, cause::kServiceNotFound);
  EXPECT_EQ(ctx().message, "Service \"nosvc.alice.svc\" not found.");
  EXPECT_TRUE(internal("nosvc"));
  EXPECT_EQ(ctx().cause, cause::kServiceNotFound);
}

// Vector 7 (second half): Kuscia-Host is ignored for routing on the internal listener.
TEST_F(InternalChain, KusciaHostDoesNotRoute) {
  EXPECT_FALSE(internal("svc.bob.svc", {{"kuscia-host", "svc.alice.svc"}}));
  EXPECT_EQ(ctx().target, Target::Peer);
  EXPECT_EQ(ctx().host, "svc.bob.svc");
  EXPECT_EQ(reqHeaders().get("kuscia-host"), "svc.bob.svc");
}

// Vector 8 (second half): the port after .svc is ignored; the host is lower-cased.
TEST_F(InternalChain, HostPortIsStrippedAndCaseFolded) {
  EXPECT_FALSE(internal("SVC.Bob.SVC:8080"));
  EXPECT_EQ(ctx().originalHost, "svc.bob.svc");
  EXPECT_EQ(ctx().host, "svc.bob.svc");
  EXPECT_EQ(ctx().target, Target::Peer);
  EXPECT_EQ(reqHeaders().get("kuscia-host"), "svc.bob.svc");
}

TEST_F(InternalChain, HandshakeHostOfSelf) {
  EXPECT_FALSE(internal("kuscia-handshake.alice.svc", {}, "/handshake"));
  EXPECT_EQ(ctx().target, Target::Handshake);
}

TEST_F(InternalChain, NoAuthOnTheInternalListener) {
  // No source, no token: the internal listener trusts local apps.
  EXPECT_FALSE(internal("svc.bob.svc"));
  EXPECT_FALSE(ctx().local);
}

TEST_F(InternalChain, B3TraceIdsAreStartedWhenAbsent) {
  EXPECT_FALSE(internal("svc.bob.svc"));
  std::string trace(reqHeaders().get("x-b3-traceid"));
  std::string span(reqHeaders().get("x-b3-spanid"));
  EXPECT_EQ(trace.size(), 16u);
  EXPECT_EQ(span.size(), 16u);
  EXPECT_TRUE(isLowerHex(trace)) << trace;
  EXPECT_TRUE(isLowerHex(span)) << span;
  EXPECT_EQ(ctx().traceId, trace);
  EXPECT_EQ(ctx().spanId, span);
  EXPECT_EQ(count("x-b3-traceid"), 1u);
  EXPECT_EQ(count("x-b3-spanid"), 1u);
  // A second request gets a different id.
  EXPECT_FALSE(internal("svc.bob.svc"));
  EXPECT_NE(reqHeaders().get("x-b3-traceid"), trace);
}

TEST_F(InternalChain, B3TraceIdsAreKeptWhenPresent) {
  EXPECT_FALSE(internal("svc.bob.svc", {{"x-b3-traceid", "463ac35c9f6413ad"},
                                        {"x-b3-spanid", "72485a3953bb6124"}}));
  EXPECT_EQ(reqHeaders().get("x-b3-traceid"), "463ac35c9f6413ad");
  EXPECT_EQ(reqHeaders().get("x-b3-spanid"), "72485a3953bb6124");
  EXPECT_EQ(count("x-b3-traceid"), 1u);
  EXPECT_EQ(count("x-b3-spanid"), 1u);
  EXPECT_EQ(ctx().traceId, "463ac35c9f6413ad");
}

TEST_F(InternalChain, TransitRouteUsesTheHopButSignsForTheDestination) {
  configure(kgate::testing::vectorConfigWithErinViaCarol());
  EXPECT_FALSE(internal("svc.erin.svc", {}, "/api"));
  EXPECT_EQ(ctx().target, Target::Peer);
  ASSERT_NE(ctx().route, nullptr);
  EXPECT_EQ(ctx().route->nextHop, "carol");
  EXPECT_EQ(ctx().route->upstream.hostHeader, "carol.example.com");
  EXPECT_EQ(reqHeaders().get("kuscia-source"), "alice");
  EXPECT_EQ(reqHeaders().get("kuscia-token"), "TAC");  // self -> carol token
  EXPECT_EQ(reqHeaders().get("kuscia-host"), "svc.erin.svc");
  EXPECT_EQ(ctx().req.path, "/gw/api");
  EXPECT_EQ(ctx().peer, "erin");
}

}  // namespace
}  // namespace kgate
