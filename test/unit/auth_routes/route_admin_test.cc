// Authority route administration: route create with each of its refusals, the automatic
// <domain>-<master> route, list, delete, rehandshake, and what each does to routesVersion.
#include "routes_fixture.h"

namespace kgate::auth::testing {
namespace {

class RouteAdmin : public RoutesTest {
 protected:
  void SetUp() override {
    for (const char* id : {"alice", "bob", "carol"}) addDomain(id);
  }
};

TEST_F(RouteAdmin, CreateStoresTheRouteAndAnswersItsFields) {
  int64_t version = routesVersion();
  json::object reply = ok(add("alice", "bob", "HTTPS://Bob.Example:38080/gw/", "mtls", 300));
  const json::object& r = reply.at("route").as_object();
  EXPECT_EQ(r.at("name"), "alice-bob");
  EXPECT_EQ(r.at("source"), "alice");
  EXPECT_EQ(r.at("destination"), "bob");
  EXPECT_EQ(r.at("endpoint"), "https://bob.example:38080/gw");  // canonical form
  EXPECT_EQ(r.at("host"), "bob.example");
  EXPECT_EQ(r.at("authentication"), "MTLS");  // canonical spelling
  EXPECT_EQ(r.at("rollingPeriodSeconds"), 300);
  EXPECT_EQ(r.at("transit"), "");
  EXPECT_EQ(r.at("generation"), 1);
  EXPECT_EQ(r.at("createdAt"), now);
  EXPECT_EQ(routesVersion(), version + 1);

  const RouteRecord& stored = store->routes.at("alice-bob");
  EXPECT_EQ(stored.endpoint, "https://bob.example:38080/gw");
  EXPECT_EQ(stored.authentication, "MTLS");
  EXPECT_EQ(stored.createdAt, now);
}

TEST_F(RouteAdmin, AuthenticationIsCaseInsensitiveAndDefaultsToToken) {
  EXPECT_EQ(ok(add("alice", "bob", kUrl, "TOKEN")).at("route").at("authentication"), "Token");
  EXPECT_EQ(ok(add("bob", "alice", kUrl, "nOnE")).at("route").at("authentication"), "None");
  EXPECT_EQ(ok(add("alice", "carol", kUrl, "")).at("route").at("authentication"), "Token");
  EXPECT_EQ(ok(add("carol", "alice", kTlsUrl, "MTLS", 0)).at("route").at("rollingPeriodSeconds"), 0);
}

TEST_F(RouteAdmin, MtlsNeedsHttps) {
  expectError(add("alice", "bob", kUrl, "MTLS"), 400,
              "MTLS route alice-bob needs an https:// URL (the certificates are exchanged in the "
              "TLS handshake)");
}

TEST_F(RouteAdmin, InvalidDomainIdsAre400) {
  expectError(add("Alice", "bob"), 400,
              "route source: domain ID \"Alice\" is invalid: use lower-case letters, digits and "
              "'-', start and end with a letter or digit, at most 63 characters (RFC 1123 label)");
  expectError(add("", "bob"), 400, "route source: domain ID is empty");
  expectError(add("alice", "bob.x"), 400,
              "route destination: domain ID \"bob.x\" is invalid: use lower-case letters, digits "
              "and '-', start and end with a letter or digit, at most 63 characters (RFC 1123 "
              "label)");
  expectError(add("alice", "default"), 400, "route destination: domain ID \"default\" is reserved");
  expectError(add("alice", "bob", "", "Token", 86400, "Carol"), 400,
              "transit domain: domain ID \"Carol\" is invalid: use lower-case letters, digits and "
              "'-', start and end with a letter or digit, at most 63 characters (RFC 1123 label)");
}

TEST_F(RouteAdmin, UnknownDomainsAre404) {
  expectError(add("dave", "bob"), 404, "domain dave not found");
  expectError(add("alice", "dave"), 404, "domain dave not found");
  expectError(add("alice", "bob", "", "Token", 86400, "dave"), 404, "domain dave not found");
}

TEST_F(RouteAdmin, SameEndsAre400) {
  expectError(add("alice", "alice"), 400, "route source and destination are both alice");
  expectError(add("root", "root", ""), 400, "route source and destination are both root");
}

TEST_F(RouteAdmin, UnsupportedAuthenticationIs400) {
  expectError(add("alice", "bob", kUrl, "Kerberos"), 400,
              "authentication \"Kerberos\" is not supported; use Token, MTLS or None");
  expectError(add("alice", "bob", kUrl, "to\nken"), 400,
              "authentication \"to?ken\" is not supported; use Token, MTLS or None");
}

TEST_F(RouteAdmin, NegativePeriodIs400) {
  expectError(add("alice", "bob", kUrl, "Token", -1), 400,
              "rolling update period must not be negative");
}

TEST_F(RouteAdmin, UrlIsRequiredAndParsed) {
  expectError(add("alice", "bob", ""), 400, "route alice-bob needs the URL of bob's gateway");
  expectError(add("alice", "bob", "ftp://bob:21"), 400,
              "route URL \"ftp://bob:21\": scheme must be http or https");
  expectError(add("alice", "bob", "bob:8080"), 400,
              "route URL \"bob:8080\": not a URL; expected http[s]://host[:port][/path]");
  expectError(add("alice", "bob", "http://bob:0"), 400,
              "route URL \"http://bob:0\": port must be between 1 and 65535");
  // User info is a password: refused, and masked in the message.
  Reply secret = add("alice", "bob", "https://admin:hunter2@bob:443");
  EXPECT_EQ(secret.status, 400);
  EXPECT_EQ(secret.message.find("hunter2"), std::string::npos) << secret.message;
  // A control character never reaches the one-line message.
  Reply newline = add("alice", "bob", "http://bob\n:80");
  EXPECT_EQ(newline.status, 400);
  EXPECT_EQ(newline.message.find('\n'), std::string::npos) << newline.message;
  EXPECT_EQ(store->routes.count("alice-bob"), 0u);
}

TEST_F(RouteAdmin, RoutesToTheMasterNeedNoUrl) {
  store->routes.clear();  // drop the automatic ones to create them by hand
  json::object r = ok(add("alice", "root", "")).at("route").as_object();
  EXPECT_EQ(r.at("endpoint"), "");
  EXPECT_EQ(r.at("host"), "master");
  // From the master, a URL is needed as for any lite.
  expectError(add("root", "bob", ""), 400, "route root-bob needs the URL of bob's gateway");
  EXPECT_EQ(ok(add("root", "bob")).at("route").at("host"), "10.0.0.2");
}

TEST_F(RouteAdmin, TransitRoutesNeedBothHopsAndNoUrl) {
  expectError(add("alice", "bob", kUrl, "Token", 86400, "carol"), 400,
              "transit route alice-bob takes no URL: it goes through carol");
  expectError(add("alice", "bob", "", "Token", 86400, "alice"), 400,
              "transit domain alice must differ from both ends of alice-bob");
  expectError(add("alice", "bob", "", "Token", 86400, "bob"), 400,
              "transit domain bob must differ from both ends of alice-bob");
  expectError(add("alice", "bob", "", "Token", 86400, "carol"), 400,
              "transit route alice-bob via carol needs route alice-carol; create it first");
  ok(add("alice", "carol"));
  expectError(add("alice", "bob", "", "Token", 86400, "carol"), 400,
              "transit route alice-bob via carol needs route carol-bob; create it first");
  ok(add("carol", "bob"));
  json::object r = ok(add("alice", "bob", "", "Token", 86400, "carol")).at("route").as_object();
  EXPECT_EQ(r.at("transit"), "carol");
  EXPECT_EQ(r.at("endpoint"), "");
  EXPECT_EQ(r.at("host"), "-");
}

TEST_F(RouteAdmin, TransitHopsMustBeDirect) {
  addDomain("dave");
  ok(add("alice", "carol"));
  ok(add("carol", "bob"));
  ok(add("alice", "bob", "", "Token", 86400, "carol"));
  ok(add("bob", "dave"));
  expectError(add("alice", "dave", "", "Token", 86400, "bob"), 400,
              "route alice-bob is itself a transit route; the hops must be direct");
}

// The transit must know who asks it to relay, and the destination who relays.
TEST_F(RouteAdmin, TransitHopsMustBeAuthenticated) {
  ok(add("alice", "carol", "http://carol.example:1080", "None"));
  ok(add("carol", "bob"));
  expectError(add("alice", "bob", "", "Token", 86400, "carol"), 400,
              "route alice-carol has no authentication; the hops of a transit route need Token "
              "or MTLS");
  ok(add("bob", "carol", "http://carol.example:1080"));
  ok(add("carol", "alice", "http://alice.example:1080", "None"));
  expectError(add("bob", "alice", "", "Token", 86400, "carol"), 400,
              "route carol-alice has no authentication; the hops of a transit route need Token "
              "or MTLS");
}

TEST_F(RouteAdmin, TheMasterCanBeATransitDomain) {
  ok(add("root", "bob"));
  json::object r = ok(add("alice", "bob", "", "Token", 86400, "root")).at("route").as_object();
  EXPECT_EQ(r.at("transit"), "root");  // alice-root exists since domain add
}

TEST_F(RouteAdmin, DuplicateIs409AndChangesNothing) {
  ok(add("alice", "bob"));
  int64_t version = routesVersion();
  expectError(add("alice", "bob", "http://other:80", "None"), 409,
              "route alice-bob already exists");
  EXPECT_EQ(store->routes.at("alice-bob").endpoint, "http://10.0.0.2:1080");
  EXPECT_EQ(routesVersion(), version);
}

TEST_F(RouteAdmin, NameCollisionBetweenDifferentEndsSaysWhichRouteHasTheName) {
  addDomain("a-b");
  addDomain("a");
  addDomain("b-c");
  addDomain("c");
  ok(add("a-b", "c"));
  expectError(add("a", "b-c"), 409, "route a-b-c already exists (from a-b to c)");
}

TEST_F(RouteAdmin, RefusalsDoNotBumpTheVersion) {
  int64_t version = routesVersion();
  EXPECT_EQ(add("alice", "alice").status, 400);
  EXPECT_EQ(add("alice", "dave").status, 404);
  EXPECT_EQ(authority.deleteRoute("nope").status, 404);
  EXPECT_EQ(authority.rehandshake("nope").status, 404);
  EXPECT_EQ(routesVersion(), version);
}

TEST_F(RouteAdmin, StoreFailuresAreStatusesNotCrashes) {
  store->failRoutesWith = StoreErrorKind::Unavailable;
  expectError(add("alice", "bob"), 503, "authority store unavailable: database is locked");
  expectError(authority.listRoutes(), 503, "authority store unavailable: database is locked");
  EXPECT_EQ(authority.deleteRoute("alice-bob").status, 503);
  EXPECT_EQ(authority.rehandshake("alice-bob").status, 503);
  EXPECT_EQ(authority.routesFor("alice").status, 503);
  EXPECT_EQ(authority.acceptReport("alice", R"({"routes":[]})").status, 503);
}

// Kuscia creates <domain>-<master> with the domain; so does kgate.
TEST_F(RouteAdmin, AddDomainCreatesTheRouteToTheMaster) {
  int64_t version = routesVersion();
  addDomain("dave");
  ASSERT_EQ(store->routes.count("dave-root"), 1u);
  const RouteRecord& r = store->routes.at("dave-root");
  EXPECT_EQ(r.source, "dave");
  EXPECT_EQ(r.destination, "root");
  EXPECT_EQ(r.endpoint, "");
  EXPECT_EQ(r.authentication, "Token");
  EXPECT_EQ(r.rollingPeriodSeconds, 86400);
  EXPECT_EQ(r.transit, "");
  EXPECT_EQ(r.generation, 1);
  EXPECT_EQ(r.createdAt, now);
  EXPECT_EQ(routesVersion(), version + 1);
  json::object listed = RoutesTest::listed("dave-root");
  EXPECT_EQ(listed.at("host"), "master");
}

TEST_F(RouteAdmin, AddDomainIsFineWhenItsMasterRouteExistsOrCannotBeAdded) {
  store->routes["erin-root"] =
      RouteRecord{"erin-root", "erin", "root", "http://m:1", "None", 5, "", 1, 7};
  json::object reply = ok(authority.addDomain("erin", 0));
  EXPECT_EQ(reply.at("domain"), "erin");
  EXPECT_EQ(store->routes.at("erin-root").generation, 7);  // left as it was

  store->failRoutesWith = StoreErrorKind::Unavailable;
  reply = ok(authority.addDomain("frank", 0));
  EXPECT_EQ(reply.at("domain"), "frank");
  EXPECT_EQ(store->domains.count("frank"), 1u);
  // The admin can add it by hand once the store is back.
  store->failRoutesWith = StoreErrorKind::None;
  ok(add("frank", "root", ""));
}

TEST_F(RouteAdmin, ListIsSortedByNameWithEveryField) {
  ok(add("carol", "alice", "https://alice.example"));
  ok(add("bob", "alice"));
  json::array routes = ok(authority.listRoutes()).at("routes").as_array();
  std::string names;
  for (const json::value& v : routes) names += str(v.at("name")) + " ";
  EXPECT_EQ(names, "alice-root bob-alice bob-root carol-alice carol-root ");
  json::object r = RoutesTest::listed("carol-alice");
  for (const char* field :
       {"name", "source", "destination", "endpoint", "host", "authentication",
        "rollingPeriodSeconds", "transit", "generation", "ready", "reason", "message",
        "sourceRevision", "destinationRevisions", "lastHeartbeatAt"}) {
    EXPECT_TRUE(r.contains(field)) << field;
  }
  EXPECT_EQ(r.at("endpoint"), "https://alice.example:443");
  EXPECT_EQ(r.at("host"), "alice.example");
  EXPECT_EQ(r.at("ready"), false);
  EXPECT_EQ(r.at("sourceRevision"), 0);
  EXPECT_EQ(r.at("destinationRevisions"), json::array{});
  EXPECT_EQ(r.at("lastHeartbeatAt"), 0);
}

TEST_F(RouteAdmin, DeleteRemovesTheRouteItsReportsAndBumpsTheVersion) {
  ok(add("alice", "bob"));
  registerDomain("alice", aliceKey());
  registerDomain("bob", bobKey());
  ASSERT_EQ(ok(reportSource("alice", "alice-bob", 2, now)).at("accepted"), 1);
  ASSERT_EQ(listed("alice-bob").at("sourceRevision"), 2);

  int64_t version = routesVersion();
  json::object reply = ok(authority.deleteRoute("alice-bob"));
  EXPECT_EQ(json::serialize(reply), R"({"deleted":"alice-bob"})");
  EXPECT_EQ(store->routes.count("alice-bob"), 0u);
  EXPECT_EQ(routesVersion(), version + 1);
  expectError(authority.deleteRoute("alice-bob"), 404, "route alice-bob not found");

  // A route created again under the name starts without the old reports.
  ok(add("alice", "bob"));
  json::object again = listed("alice-bob");
  EXPECT_EQ(again.at("sourceRevision"), 0);
  EXPECT_EQ(again.at("message"), "alice has not reported this route yet (is its gateway running?)");
}

TEST_F(RouteAdmin, DeleteRefusesAHopOfATransitRoute) {
  ok(add("alice", "carol"));
  ok(add("carol", "bob"));
  ok(add("alice", "bob", "", "Token", 86400, "carol"));
  int64_t version = routesVersion();
  expectError(authority.deleteRoute("alice-carol"), 400,
              "route alice-carol carries transit route alice-bob; delete alice-bob first");
  expectError(authority.deleteRoute("carol-bob"), 400,
              "route carol-bob carries transit route alice-bob; delete alice-bob first");
  EXPECT_EQ(routesVersion(), version);
  EXPECT_EQ(store->routes.count("alice-carol"), 1u);
  ok(authority.deleteRoute("alice-bob"));
  ok(authority.deleteRoute("alice-carol"));
}

TEST_F(RouteAdmin, DeleteEchoesOnlyPrintableText) {
  expectError(authority.deleteRoute("x\r\ny"), 404, "route x??y not found");
}

TEST_F(RouteAdmin, RehandshakeBumpsTheGenerationAndTheVersion) {
  ok(add("alice", "bob"));
  int64_t version = routesVersion();
  json::object r = ok(authority.rehandshake("alice-bob")).at("route").as_object();
  EXPECT_EQ(r.at("name"), "alice-bob");
  EXPECT_EQ(r.at("generation"), 2);
  EXPECT_EQ(store->routes.at("alice-bob").generation, 2);
  EXPECT_EQ(routesVersion(), version + 1);
  EXPECT_EQ(ok(authority.rehandshake("alice-bob")).at("route").at("generation"), 3);
  EXPECT_EQ(routesVersion(), version + 2);
  expectError(authority.rehandshake("bob-alice"), 404, "route bob-alice not found");
}

}  // namespace
}  // namespace kgate::auth::testing
