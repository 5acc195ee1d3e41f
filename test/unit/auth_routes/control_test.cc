// The control service of the master: routesFor (a domain's routes with its peers' public keys,
// and the transit routes it relays) and acceptReport (an end's word on its own side of its
// routes, and only that).
#include "routes_fixture.h"

namespace kgate::auth::testing {
namespace {

std::string pubPem(const EVP_PKEY& key) { return certs::publicKeyToPem(key, true); }

class Control : public RoutesTest {
 protected:
  void SetUp() override {
    for (const char* id : {"alice", "bob", "carol"}) addDomain(id);
    registerDomain("alice", aliceKey());
    registerDomain("bob", bobKey());  // carol has not registered
    ok(add("alice", "bob", "https://bob.example:8443"));
    ok(add("bob", "alice"));
    ok(add("alice", "carol"));
    ok(add("carol", "bob"));
  }
};

TEST_F(Control, RoutesForListsTheDomainsRoutesWithThePeersKeys) {
  json::object reply = ok(authority.routesFor("alice"));
  EXPECT_EQ(reply.at("master"), "root");
  EXPECT_EQ(reply.at("version"), routesVersion());
  std::string names;
  for (const json::value& v : reply.at("routes").as_array()) names += str(v.at("name")) + " ";
  EXPECT_EQ(names, "alice-bob alice-carol alice-root bob-alice ");  // not carol-bob

  json::object ab = entry(reply, "alice-bob");
  EXPECT_EQ(ab.at("peer"), "bob");
  EXPECT_EQ(ab.at("peerPublicKey"), pubPem(bobKey()).c_str());
  EXPECT_EQ(ab.at("endpoint"), "https://bob.example:8443");
  EXPECT_EQ(ab.at("host"), "bob.example");
  EXPECT_EQ(ab.at("authentication"), "Token");
  EXPECT_EQ(ab.at("rollingPeriodSeconds"), 86400);
  EXPECT_EQ(ab.at("generation"), 1);
  EXPECT_FALSE(ab.contains("ready"));  // no status in what a lite gets
  EXPECT_FALSE(ab.contains("transitEndpoint"));

  json::object ba = entry(reply, "bob-alice");
  EXPECT_EQ(ba.at("peer"), "bob");  // alice is the destination: the peer is the source
  EXPECT_EQ(ba.at("peerPublicKey"), pubPem(bobKey()).c_str());

  json::object toMaster = entry(reply, "alice-root");
  EXPECT_EQ(toMaster.at("peer"), "root");
  EXPECT_EQ(toMaster.at("peerPublicKey"), pubPem(masterKey()).c_str());
  EXPECT_EQ(toMaster.at("endpoint"), "");
  EXPECT_EQ(toMaster.at("host"), "master");

  EXPECT_EQ(entry(reply, "alice-carol").at("peerPublicKey"), "");  // carol has not registered
  EXPECT_NE(str(ab.at("peerPublicKey")).find("-----BEGIN RSA PUBLIC KEY-----"), std::string::npos);
}

TEST_F(Control, RoutesForAnUnregisteredDomainStillListsItsRoutes) {
  json::object reply = ok(authority.routesFor("carol"));
  EXPECT_EQ(entry(reply, "alice-carol").at("peerPublicKey"), pubPem(aliceKey()).c_str());
  EXPECT_EQ(entry(reply, "carol-bob").at("peerPublicKey"), pubPem(bobKey()).c_str());
  EXPECT_EQ(entry(reply, "carol-root").at("peerPublicKey"), pubPem(masterKey()).c_str());
}

TEST_F(Control, RoutesForTheMasterHasTheLitesKeys) {
  ok(add("root", "alice"));
  json::object reply = ok(authority.routesFor("root"));
  std::string names;
  for (const json::value& v : reply.at("routes").as_array()) names += str(v.at("name")) + " ";
  EXPECT_EQ(names, "alice-root bob-root carol-root root-alice ");
  EXPECT_EQ(entry(reply, "alice-root").at("peer"), "alice");
  EXPECT_EQ(entry(reply, "alice-root").at("peerPublicKey"), pubPem(aliceKey()).c_str());
  EXPECT_EQ(entry(reply, "carol-root").at("peerPublicKey"), "");
}

TEST_F(Control, RoutesForTransitRoutesGivesTheSourceTheFirstHopsEndpoint) {
  addDomain("dave");
  ok(add("dave", "carol", "http://carol.example:1080"));
  ok(add("dave", "bob", "", "MTLS", 0, "carol"));
  json::object forDave = ok(authority.routesFor("dave"));
  json::object transit = entry(forDave, "dave-bob");
  EXPECT_EQ(transit.at("transit"), "carol");
  EXPECT_EQ(transit.at("host"), "-");
  EXPECT_EQ(transit.at("peer"), "bob");
  EXPECT_EQ(transit.at("peerPublicKey"), pubPem(bobKey()).c_str());
  EXPECT_EQ(transit.at("transitEndpoint"), "http://carol.example:1080");
  // The destination of a transit route does not dial anything for it.
  EXPECT_FALSE(entry(ok(authority.routesFor("bob")), "dave-bob").contains("transitEndpoint"));
  // The transit learns the pair it relays, and nothing to negotiate with either end.
  json::object relayed = entry(ok(authority.routesFor("carol")), "dave-bob");
  EXPECT_EQ(relayed.at("source"), "dave");
  EXPECT_EQ(relayed.at("destination"), "bob");
  EXPECT_EQ(relayed.at("transit"), "carol");
  EXPECT_EQ(relayed.at("peer"), "");
  EXPECT_EQ(relayed.at("peerPublicKey"), "");
  EXPECT_FALSE(relayed.contains("transitEndpoint"));
  // A domain that is neither an end nor the transit is not told.
  json::object forAlice = ok(authority.routesFor("alice"));
  std::string names;
  for (const json::value& v : forAlice.at("routes").as_array()) names += str(v.at("name")) + " ";
  EXPECT_EQ(names.find("dave-bob"), std::string::npos) << names;
}

TEST_F(Control, RoutesForRefusesUnknownAndInvalidDomains) {
  expectError(authority.routesFor("dave"), 404, "domain dave not found");
  EXPECT_EQ(authority.routesFor("Bad Name").status, 400);
}

TEST_F(Control, RoutesForVersionFollowsChanges) {
  uint64_t before = ok(authority.routesFor("alice")).at("version").to_number<uint64_t>();
  ok(authority.rehandshake("alice-bob"));
  json::object after = ok(authority.routesFor("alice"));
  EXPECT_EQ(after.at("version").to_number<uint64_t>(), before + 1);
  EXPECT_EQ(entry(after, "alice-bob").at("generation"), 2);
}

TEST_F(Control, ReportsAreAcceptedOnlyFromTheSideTheyDescribe) {
  auto e = [](const char* name, const char* side) {
    return json::object{
        {"name", name}, {"side", side}, {"revision", 9}, {"revisions", json::array{9}}};
  };
  json::array routes{
      e("alice-bob", "source"),       // alice is its source: kept
      e("alice-bob", "destination"),  // bob's side: ignored
      e("bob-alice", "destination"),  // alice is its destination: kept
      e("bob-alice", "source"),       // bob's side: ignored
      e("carol-bob", "source"),       // not alice's route at all: ignored
      e("nope-bob", "source"),        // no such route: ignored
      e("alice-carol", "sideways"),   // no such side: ignored
  };
  json::object body{{"routes", routes}};
  EXPECT_EQ(json::serialize(ok(authority.acceptReport("alice", json::serialize(body)))),
            R"({"accepted":2})");
  EXPECT_EQ(listed("alice-bob").at("sourceRevision"), 9);
  EXPECT_EQ(listed("alice-bob").at("destinationRevisions"), json::array{});  // bob's to tell
  EXPECT_EQ(listed("bob-alice").at("destinationRevisions"), json::array{9});
  EXPECT_EQ(listed("bob-alice").at("sourceRevision"), 0);
  EXPECT_EQ(listed("carol-bob").at("sourceRevision"), 0);

  // bob can speak for his side only.
  EXPECT_EQ(ok(reportSource("bob", "alice-bob", 7, now)).at("accepted"), 0);
  EXPECT_EQ(listed("alice-bob").at("sourceRevision"), 9);
  EXPECT_EQ(ok(reportDestination("bob", "alice-bob", {2, 3}, now)).at("accepted"), 1);
  EXPECT_EQ(listed("alice-bob").at("destinationRevisions"), (json::array{2, 3}));
  EXPECT_EQ(ok(authority.acceptReport("", json::serialize(body))).at("accepted"), 0);
}

TEST_F(Control, TheNewestReportWins) {
  ok(reportSource("alice", "alice-bob", 1, now));
  ok(reportSource("alice", "alice-bob", 2, now));
  EXPECT_EQ(listed("alice-bob").at("sourceRevision"), 2);
}

TEST_F(Control, MalformedReportsAre400AndChangeNothing) {
  ok(reportSource("alice", "alice-bob", 1, now));
  const std::string good = R"({"name":"alice-bob","side":"source","revision":5})";
  struct Case {
    std::string body, message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"{", "route report is not valid JSON: "},
           {"[]", "route report must be an object with a \"routes\" array"},
           {R"({"routes":{}})", "route report must be an object with a \"routes\" array"},
           {R"({"routes":[)" + good + R"(,7]})", "route report routes[1]: is not an object"},
           {R"({"routes":[{"side":"source"}]})", "route report routes[0]: name must be a string"},
           {R"({"routes":[{"name":"alice-bob"}]})",
            "route report routes[0]: side must be a string"},
           {R"({"routes":[)" + good + R"(,{"name":"alice-bob","side":"source","revision":"3"}]})",
            "route report routes[1]: revision must be a non-negative integer"},
           {R"({"routes":[{"name":"alice-bob","side":"source","revision":-1}]})",
            "route report routes[0]: revision must be a non-negative integer"},
           {R"({"routes":[{"name":"alice-bob","side":"source","heartbeatOkAt":1.5}]})",
            "route report routes[0]: heartbeatOkAt must be a non-negative integer"},
           {R"({"routes":[{"name":"alice-bob","side":"source","heartbeatInterval":0}]})",
            "route report routes[0]: heartbeatInterval must be an integer from 1 to 300"},
           {R"({"routes":[{"name":"alice-bob","side":"source","heartbeatInterval":301}]})",
            "route report routes[0]: heartbeatInterval must be an integer from 1 to 300"},
           {R"({"routes":[{"name":"alice-bob","side":"source","error":3}]})",
            "route report routes[0]: error must be a string"},
           {R"({"routes":[{"name":"bob-alice","side":"destination","revisions":[1,"2"]}]})",
            "route report routes[0]: revisions must be an array of non-negative integers"},
           {R"({"routes":[{"name":"bob-alice","side":"destination","revisions":3}]})",
            "route report routes[0]: revisions must be an array of integers"},
       }) {
    Reply r = authority.acceptReport("alice", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(r.message.substr(0, c.message.size()), c.message) << c.body;
    EXPECT_EQ(r.message.find('\n'), std::string::npos);
  }
  EXPECT_EQ(listed("alice-bob").at("sourceRevision"), 1);  // the good entries were not kept
  EXPECT_EQ(authority.acceptReport("alice", std::string(2 << 20, ' ')).status, 400);
}

TEST_F(Control, MissingFieldsTakeTheirDefaults) {
  EXPECT_EQ(
      ok(authority.acceptReport("alice", R"({"routes":[{"name":"alice-bob","side":"source"}]})"))
          .at("accepted"),
      1);
  json::object r = listed("alice-bob");
  EXPECT_EQ(r.at("sourceRevision"), 0);
  EXPECT_EQ(r.at("reason"), "TokenNotGenerate");
  EXPECT_EQ(r.at("message"), "no token negotiated yet: handshake pending");
}

TEST_F(Control, ReportedErrorsBecomeOneSafeLine) {
  ok(reportSource("alice", "alice-bob", 0, 0, 0, 3, "boom\nline two\x01" + std::string(300, 'x')));
  std::string message = str(listed("alice-bob").at("message"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_EQ(message.find('\x01'), std::string::npos);
  EXPECT_EQ(message.substr(0, 44), "no token negotiated yet: boom line two xxxxx");
  EXPECT_LT(message.size(), 250u);
}

TEST_F(Control, ReportSelfSpeaksForTheMaster) {
  authority.reportSelf(R"({"routes":[{"name":"alice-root","side":"destination","revisions":[4],)"
                       R"("lastHeartbeatAt":5},{"name":"alice-bob","side":"destination",)"
                       R"("revisions":[9]}]})");
  EXPECT_EQ(listed("alice-root").at("destinationRevisions"), json::array{4});
  EXPECT_EQ(listed("alice-bob").at("destinationRevisions"), json::array{});  // bob's side
  authority.reportSelf("not json");  // nothing to answer, nothing changed
  EXPECT_EQ(listed("alice-root").at("destinationRevisions"), json::array{4});
}

}  // namespace
}  // namespace kgate::auth::testing
