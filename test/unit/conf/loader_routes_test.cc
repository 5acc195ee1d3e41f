// Loader tests for the static routing block: services, routes, tokens, transit routes.
#include "loader_test_util.h"

namespace kgate::conf {
namespace {

using namespace testing;

// kMinimal (3 lines) + "routes:" on line 4, so the first route starts on line 5.
std::string withRoutes(const std::string& routes) { return kMinimal + "routes:\n" + routes; }

TEST(Services, ShortAndLongForms) {
  Config c = parsed(kMinimal +
                    "services:\n"
                    "  echo: http://127.0.0.1:9000\n"
                    "  grpc:\n"
                    "    url: https://[::1]:9443/api/\n"
                    "    protocol: HTTP2\n"
                    "  web: {url: http://web, protocol: auto}\n");
  ASSERT_EQ(c.services.size(), 3u);
  EXPECT_EQ(c.services[0].name, "echo");
  EXPECT_EQ(c.services[0].endpoint.port, 9000);
  EXPECT_EQ(c.services[0].protocol, UpstreamProtocol::Http1);
  EXPECT_EQ(c.services[1].name, "grpc");
  EXPECT_EQ(c.services[1].endpoint.host, "::1");
  EXPECT_EQ(c.services[1].endpoint.pathPrefix, "/api");
  EXPECT_EQ(c.services[1].protocol, UpstreamProtocol::Http2);
  EXPECT_EQ(c.services[2].protocol, UpstreamProtocol::Auto);
}

TEST(Services, InvalidNamesUrlsAndKeys) {
  EXPECT_HAS(errorsOf(kMinimal + "services:\n  Echo: http://a\n"),
             "/cfg/node.yaml:5: services.Echo: service name is invalid: use lower-case letters");
  EXPECT_HAS(errorsOf(kMinimal + "services:\n  kuscia-handshake: http://a\n"),
             "services.kuscia-handshake: the name is reserved for the gateway's handshake "
             "service");
  EXPECT_HAS(errorsOf(kMinimal + "services:\n  echo: ftp://x\n"),
             "/cfg/node.yaml:5: services.echo: \"ftp://x\": scheme must be http or https");
  EXPECT_HAS(errorsOf(kMinimal + "services:\n  echo:\n"),
             "services.echo: the URL is missing");
  EXPECT_HAS(errorsOf(kMinimal + "services:\n  echo: [http://a]\n"),
             "services.echo: expected a string, found a list");
  EXPECT_HAS(errorsOf(kMinimal + "services:\n  echo:\n    protocol: http2\n"),
             "/cfg/node.yaml:6: services.echo.url: is required");
  EXPECT_HAS(errorsOf(kMinimal + "services:\n  echo: {url: http://a, protocol: http3}\n"),
             "services.echo.protocol: \"http3\" is not one of http1, http2, auto");
  EXPECT_HAS(errorsOf(kMinimal + "services:\n  echo: {uri: http://a}\n"),
             "services.echo.uri: unknown key \"uri\"; did you mean \"url\"?");
  EXPECT_HAS(errorsOf(kMinimal + "services:\n  echo: http://a\n  echo: http://b\n"),
             "/cfg/node.yaml:6: services.echo: duplicate key (first at line 5)");
  EXPECT_HAS(errorsOf(kMinimal + "services: [echo]\n"), "services: expected a map");
}

TEST(Routes, DirectAndTransitRoutes) {
  Config c = parsed(withRoutes("  - destination: bob\n"
                               "    endpoint: https://3.3.3.3:38080/gw/\n"
                               "    token: dG9rZW4=\n"
                               "    protocol: http2\n"
                               "    verifyPeer: true\n"
                               "    caFile: certs/ca.crt\n"
                               "    sni: bob.example\n"
                               "    streamIdleTimeout: 2m\n"
                               "  - destination: carol\n"
                               "    transit: bob\n"));
  ASSERT_EQ(c.routes.size(), 2u);
  const Route& bob = c.routes[0];
  EXPECT_EQ(bob.destination, "bob");
  EXPECT_EQ(bob.endpoint.url(), "https://3.3.3.3:38080/gw");
  EXPECT_EQ(bob.token, "dG9rZW4=");
  EXPECT_EQ(bob.protocol, UpstreamProtocol::Http2);
  EXPECT_TRUE(bob.verifyPeer);
  EXPECT_EQ(bob.caFile, "/cfg/certs/ca.crt");
  EXPECT_EQ(bob.sni, "bob.example");
  ASSERT_TRUE(bob.streamIdleTimeout.has_value());
  EXPECT_EQ(*bob.streamIdleTimeout, Seconds(120));
  const Route& carol = c.routes[1];
  EXPECT_EQ(carol.transit, "bob");
  EXPECT_TRUE(carol.endpoint.host.empty());
  EXPECT_FALSE(carol.streamIdleTimeout.has_value());
  EXPECT_EQ(carol.protocol, UpstreamProtocol::Http1);
}

TEST(Routes, Destination) {
  EXPECT_HAS(errorsOf(withRoutes("  - endpoint: http://a\n    token: t\n")),
             "/cfg/node.yaml:5: routes[0].destination: is required (the peer's domain ID)");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: Bob\n    endpoint: http://a\n    token: t\n")),
             "/cfg/node.yaml:5: routes[0].destination: domain ID \"Bob\" is invalid");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: alice\n    endpoint: http://a\n    token: t\n")),
             "routes[0].destination: \"alice\" is this node's own domain; a route leads to "
             "another domain");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: master\n    endpoint: http://a\n"
                                 "    token: t\n")),
             "routes[0].destination: domain ID \"master\" is reserved");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    endpoint: http://a\n    token: t\n"
                                 "  - destination: bob\n    endpoint: http://b\n    token: t\n")),
             "/cfg/node.yaml:8: routes[1].destination: a route to \"bob\" is already defined at "
             "routes[0] (line 5)");
}

TEST(Routes, Endpoint) {
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    token: t\n")),
             "/cfg/node.yaml:5: routes[0].endpoint: is required (the peer's external URL, e.g. "
             "http://10.0.0.2:38080), unless transit names a domain to go through");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    endpoint: \"\"\n    token: t\n")),
             "/cfg/node.yaml:6: routes[0].endpoint: is required");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    endpoint: 3.3.3.3:38080\n"
                                 "    token: t\n")),
             "/cfg/node.yaml:6: routes[0].endpoint: \"3.3.3.3:38080\": not a URL");
  std::string e = errorsOf(withRoutes("  - destination: bob\n    endpoint: {host: a}\n"
                                      "    token: t\n"));
  EXPECT_HAS(e, "routes[0].endpoint: expected a string, found a map");
  EXPECT_EQ(lineCount(e), 1u) << e;
}

TEST(Routes, Transit) {
  const std::string carol = "  - destination: carol\n    endpoint: http://c\n    token: t\n";
  EXPECT_HAS(errorsOf(withRoutes(carol + "  - destination: bob\n    transit: carol\n"
                                         "    endpoint: http://b\n    token: t\n")),
             "/cfg/node.yaml:10: routes[1].endpoint: set either endpoint or transit, not both; "
             "the route to \"carol\" decides how to reach it");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    transit: carol\n")),
             "/cfg/node.yaml:6: routes[0].transit: no route to \"carol\" is defined; add a route "
             "with destination: carol and its endpoint");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    transit: bob\n")),
             "routes[0].transit: a route cannot go through its own destination \"bob\"");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    transit: alice\n")),
             "routes[0].transit: \"alice\" is this node itself");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    transit: Carol\n    token: t\n")),
             "routes[0].transit: domain ID \"Carol\" is invalid");
  EXPECT_HAS(errorsOf(withRoutes(carol + "  - destination: dave\n    transit: carol\n"
                                         "    token: t\n"
                                         "  - destination: bob\n    transit: dave\n"
                                         "    token: t\n")),
             "routes[2].transit: the route to \"dave\" itself goes through \"carol\"; transit "
             "must name a route that has an endpoint");
  EXPECT_HAS(errorsOf(withRoutes(carol + "  - destination: bob\n    transit: carol\n"
                                         "    verifyPeer: true\n    token: t\n")),
             "routes[1].verifyPeer: has no effect on a transit route");
}

TEST(Routes, Token) {
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    endpoint: http://b\n")),
             "/cfg/node.yaml:5: routes[0].token: is required (the token this node sends as "
             "Kuscia-Token");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    endpoint: http://b\n"
                                 "    token: \"\"\n")),
             "/cfg/node.yaml:7: routes[0].token: is required");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    endpoint: http://b\n    token:\n")),
             "/cfg/node.yaml:7: routes[0].token: is required");
  std::string e = errorsOf(withRoutes("  - destination: bob\n    endpoint: http://b\n"
                                      "    token: \"secret \"\n"));
  EXPECT_HAS(e, "routes[0].token: token starts or ends with a space");
  EXPECT_LACKS(e, "secret");
  std::string ctl = errorsOf(withRoutes("  - destination: bob\n    endpoint: http://b\n"
                                        "    token: \"sec\\x01ret\"\n"));
  EXPECT_HAS(ctl, "routes[0].token: token contains a control or non-ASCII character");
  EXPECT_LACKS(ctl, "sec");
}

TEST(Routes, TlsOptions) {
  const std::string head = "  - destination: bob\n    token: t\n";
  EXPECT_HAS(errorsOf(withRoutes(head + "    endpoint: http://b\n    protocol: h2\n")),
             "routes[0].protocol: \"h2\" is not one of http1, http2, auto");
  EXPECT_HAS(errorsOf(withRoutes(head + "    endpoint: http://b\n    verifyPeer: true\n")),
             "/cfg/node.yaml:8: routes[0].verifyPeer: needs an https:// endpoint; "
             "http://b:80 is plain HTTP");
  EXPECT_HAS(errorsOf(withRoutes(head + "    endpoint: https://b\n    caFile: ca.crt\n")),
             "routes[0].caFile: is only used with verifyPeer: true; set verifyPeer or remove "
             "caFile");
  EXPECT_HAS(errorsOf(withRoutes(head + "    endpoint: http://b\n    sni: b.example\n")),
             "routes[0].sni: needs an https:// endpoint");
  EXPECT_HAS(errorsOf(withRoutes(head + "    endpoint: https://b\n    sni: \"b example\"\n")),
             "routes[0].sni: \"b example\" is not a DNS name");
  EXPECT_HAS(errorsOf(withRoutes(head + "    endpoint: https://b\n    verifyPeer: sure\n")),
             "routes[0].verifyPeer: \"sure\" is not a boolean");
  EXPECT_HAS(errorsOf(withRoutes(head + "    endpoint: https://b\n    streamIdleTimeout: 0\n")),
             "routes[0].streamIdleTimeout: \"0\" must be greater than 0");
}

TEST(Routes, ShapeErrors) {
  EXPECT_HAS(errorsOf(kMinimal + "routes:\n  bob: http://b\n"),
             "/cfg/node.yaml:5: routes: expected a list of routes (lines starting with "
             "'- destination: ...'), found a map");
  EXPECT_HAS(errorsOf(withRoutes("  - bob\n")),
             "/cfg/node.yaml:5: routes[0]: expected a map (key: value lines), found the value "
             "\"bob\"");
  EXPECT_HAS(errorsOf(withRoutes("  - destination: bob\n    endpiont: http://b\n    token: t\n")),
             "/cfg/node.yaml:6: routes[0].endpiont: unknown key \"endpiont\"; did you mean "
             "\"endpoint\"?");
}

TEST(Tokens, AcceptedTokensPerSource) {
  Config c = parsed(kMinimal + "tokens:\n  bob: [new, old]\n  carol:\n    - only\n");
  EXPECT_EQ(c.tokens.at("bob"), (std::vector<std::string>{"new", "old"}));
  EXPECT_EQ(c.tokens.at("carol"), (std::vector<std::string>{"only"}));
}

TEST(Tokens, Errors) {
  EXPECT_HAS(errorsOf(kMinimal + "tokens:\n  Bob: [t]\n"),
             "/cfg/node.yaml:5: tokens.Bob: domain ID \"Bob\" is invalid");
  EXPECT_HAS(errorsOf(kMinimal + "tokens:\n  alice: [t]\n"),
             "tokens.alice: is this node's own domain");
  EXPECT_HAS(errorsOf(kMinimal + "tokens:\n  bob: []\n"),
             "tokens.bob: expected a list of 1 or 2 tokens (newest first during rotation), "
             "e.g. [\"<token>\"], found a list of 0");
  EXPECT_HAS(errorsOf(kMinimal + "tokens:\n  bob: [a, b, c]\n"), "found a list of 3");
  EXPECT_HAS(errorsOf(kMinimal + "tokens:\n  bob: tok\n"), "found the value \"tok\"");
  EXPECT_HAS(errorsOf(kMinimal + "tokens:\n  bob: [\"\"]\n"), "tokens.bob[0]: token is empty");
  EXPECT_HAS(errorsOf(kMinimal + "tokens:\n  bob: [a, ~]\n"), "tokens.bob[1]: token is empty");
  EXPECT_HAS(errorsOf(kMinimal + "tokens:\n  bob: [a, {x: 1}]\n"),
             "tokens.bob[1]: expected a string, found a map");
  EXPECT_HAS(errorsOf(kMinimal + "tokens:\n  bob: [a, a]\n"),
             "tokens.bob: the two tokens are identical");
  std::string e = errorsOf(kMinimal + "tokens:\n  bob: [\"a\\tb\"]\n");
  EXPECT_HAS(e, "tokens.bob[0]: token contains a control or non-ASCII character");
  EXPECT_HAS(errorsOf(kMinimal + "tokens: [a]\n"), "tokens: expected a map");
}

// alice (kMinimal) relays bob -> carol and ends erin -> alice through dave.
TEST(TransitRoutes, TheNodeIsTheTransitOrTheDestination) {
  Config c = parsed(withRoutes("  - {destination: carol, endpoint: http://c:1080, token: t}\n") +
                    "tokens: {bob: [b], dave: [d]}\n"
                    "transitRoutes:\n"
                    "  - {source: bob, destination: carol, transit: alice}\n"
                    "  - source: erin\n    destination: alice\n    transit: dave\n");
  EXPECT_EQ(c.transitRoutes,
            (std::vector<TransitRoute>{{"bob", "carol", "alice"}, {"erin", "alice", "dave"}}));
}

TEST(TransitRoutes, Errors) {
  const std::string t = kMinimal + "transitRoutes:\n";
  EXPECT_HAS(errorsOf(t + "  - {source: bob, destination: carol, transit: alice}\n"),
             "/cfg/node.yaml:5: transitRoutes[0]: this node relays to carol but has no route to "
             "it; add one under routes with its endpoint");
  EXPECT_HAS(errorsOf(t + "  - {source: alice, destination: carol, transit: bob}\n"),
             "transitRoutes[0]: this node is the source; its side is a route: - destination: "
             "carol, transit: bob (under routes)");
  EXPECT_HAS(errorsOf(t + "  - {source: bob, destination: carol, transit: dave}\n"),
             "transitRoutes[0]: this node (alice) is neither the transit nor the destination");
  EXPECT_HAS(errorsOf(t + "  - {source: bob, destination: alice, transit: bob}\n"),
             "transitRoutes[0]: source, destination and transit must be three domains");
  EXPECT_HAS(errorsOf(t + "  - {source: bob, destination: alice}\n"),
             "/cfg/node.yaml:5: transitRoutes[0].transit: is required");
  EXPECT_HAS(errorsOf(t + "  - {source: Bob, destination: alice, transit: dave}\n"),
             "transitRoutes[0].source: domain ID \"Bob\" is invalid");
  EXPECT_HAS(errorsOf(t + "  - {source: bob, destination: alice, via: dave}\n"),
             "transitRoutes[0].via: unknown key \"via\"");
  EXPECT_HAS(errorsOf(t + "  - {source: bob, destination: alice, transit: dave}\n"
                          "  - {source: bob, destination: alice, transit: erin}\n"),
             "/cfg/node.yaml:6: transitRoutes[1]: a transit route bob -> alice is already listed "
             "at transitRoutes[0]");
  const std::string relay = withRoutes(
      "  - {destination: carol, endpoint: http://c:1080}\n"
      "  - {destination: erin, transit: carol}\n");
  EXPECT_HAS(
      errorsOf(relay + "transitRoutes: [{source: bob, destination: erin, transit: alice}]\n"),
      "transitRoutes[0]: the route to erin goes through carol; a relay goes one hop, so it "
      "needs a route with an endpoint");
  EXPECT_HAS(
      errorsOf(relay + "transitRoutes: [{source: bob, destination: carol, transit: alice}]\n"),
      "transitRoutes[0]: no tokens are listed for bob, so nothing it sends is accepted; add them "
      "under tokens");
  EXPECT_HAS(errorsOf(kMinimal + "tokens: {dave: [noop]}\n" +
                      "transitRoutes: [{source: bob, destination: alice, transit: dave}]\n"),
             "transitRoutes[0]: tokens.dave accepts anyone (noop); the hops of a transit route "
             "need a token");
  EXPECT_HAS(errorsOf(kMinimal + "transitRoutes: {source: bob}\n"),
             "transitRoutes: expected a list of {source, destination, transit}, found a map");
}

}  // namespace
}  // namespace kgate::conf
