// READY, REASON and the hint of listRoutes: each of the ten rules in order, with exact strings,
// and the 60 s after which a report no longer counts.
#include "routes_fixture.h"

namespace kgate::auth::testing {
namespace {

// now = 1'700'000'000 is 2023-11-14T22:13:20Z.
constexpr const char* kNowMinus45 = "2023-11-14T22:12:35Z";
constexpr const char* kNowMinus46 = "2023-11-14T22:12:34Z";

class Readiness : public RoutesTest {
 protected:
  void SetUp() override {
    for (const char* id : {"alice", "bob", "carol"}) addDomain(id);
    registerDomain("alice", aliceKey());
    registerDomain("bob", bobKey());
    registerDomain("carol", otherKey());
    ok(add("alice", "bob"));
  }

  // The route's (ready, reason, message) as one line.
  std::string status(const std::string& name) {
    json::object r = listed(name);
    return std::string(r.at("ready").as_bool() ? "True" : "False") + " | " + str(r.at("reason")) +
           " | " + str(r.at("message"));
  }
  // Both ends of `name` (src-dst) reporting a working route.
  void healthy(const std::string& src, const std::string& dst) {
    ok(reportSource(src, src + "-" + dst, 3, now - 12));
    ok(reportDestination(dst, src + "-" + dst, {2, 3}, now - 10));
  }
};

// 10.
TEST_F(Readiness, BothEndsAgreeingAndARecentHeartbeatIsReady) {
  healthy("alice", "bob");
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
  json::object r = listed("alice-bob");
  EXPECT_EQ(r.at("sourceRevision"), 3);
  EXPECT_EQ(r.at("destinationRevisions"), (json::array{2, 3}));
  EXPECT_EQ(r.at("lastHeartbeatAt"), now - 10);  // the later of the two ends' times
}

// 1.
TEST_F(Readiness, ATransitRouteIsReadyWhenBothHopsAre) {
  store->routes.erase("alice-bob");
  ok(add("alice", "carol"));
  ok(add("carol", "bob"));
  ok(add("alice", "bob", "", "Token", 86400, "carol"));
  EXPECT_EQ(status("alice-bob"),
            "False | TokenNotGenerate | via alice-carol: alice has not reported this route yet "
            "(is its gateway running?)");

  healthy("alice", "carol");
  ok(reportSource("carol", "carol-bob", 3, now - 12, now - 46, 0, "connection refused"));
  EXPECT_EQ(status("alice-bob"),
            std::string("False | DestinationUnreachable | via carol-bob: carol cannot reach bob "
                        "at http://10.0.0.2:1080 since ") +
                kNowMinus46 + ": connection refused");
}

TEST_F(Readiness, ATransitRouteNamesTheFirstBrokenHop) {
  store->routes.erase("alice-bob");
  ok(add("alice", "carol"));
  ok(add("carol", "bob"));
  ok(add("alice", "bob", "", "Token", 86400, "carol"));
  healthy("alice", "carol");
  store->domains["bob"].certPem = "";
  EXPECT_EQ(status("alice-bob"),
            "False | DestinationIsNotAuthorized | via carol-bob: bob has not registered with the "
            "master yet");
  registerDomain("bob", bobKey());
  healthy("carol", "bob");
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
  EXPECT_EQ(status("alice-carol"), "True |  | Success");
}

// 2.
TEST_F(Readiness, AnUnregisteredDestinationComesFirst) {
  addDomain("dave");
  addDomain("erin");
  ok(add("alice", "dave"));
  ok(add("erin", "dave"));  // neither end registered: the destination is named
  EXPECT_EQ(status("alice-dave"),
            "False | DestinationIsNotAuthorized | dave has not registered with the master yet");
  EXPECT_EQ(status("erin-dave"),
            "False | DestinationIsNotAuthorized | dave has not registered with the master yet");
}

// 3.
TEST_F(Readiness, AnUnregisteredSource) {
  addDomain("dave");
  ok(add("dave", "bob"));
  EXPECT_EQ(status("dave-bob"),
            "False | TokenNotGenerate | dave has not registered with the master yet");
  // The master counts as registered at either end.
  EXPECT_EQ(status("dave-root"),
            "False | TokenNotGenerate | dave has not registered with the master yet");
  ok(add("root", "dave"));
  EXPECT_EQ(status("root-dave"),
            "False | DestinationIsNotAuthorized | dave has not registered with the master yet");
}

// 4.
TEST_F(Readiness, NoSourceReport) {
  ok(reportDestination("bob", "alice-bob", {1}, now));  // the destination alone is not enough
  EXPECT_EQ(status("alice-bob"),
            "False | TokenNotGenerate | alice has not reported this route yet (is its gateway "
            "running?)");
}

// 5.
TEST_F(Readiness, UnreachableFor45Seconds) {
  ok(reportSource("alice", "alice-bob", 3, now - 100, now - 45, 0, "connect: timed out"));
  EXPECT_EQ(status("alice-bob"),
            std::string("False | DestinationUnreachable | alice cannot reach bob at "
                        "http://10.0.0.2:1080 since ") +
                kNowMinus45 + ": connect: timed out");
  // 44 s is a blip, not an outage: the next rule speaks.
  ok(reportSource("alice", "alice-bob", 3, now - 100, now - 44, 0, "connect: timed out"));
  EXPECT_EQ(listed("alice-bob").at("reason"), "HeartBeatTimeout");
}

TEST_F(Readiness, UnreachableMasterAndNoError) {
  ok(reportSource("alice", "alice-root", 3, now - 100, now - 60, 0, ""));
  EXPECT_EQ(status("alice-root"),
            "False | DestinationUnreachable | alice cannot reach root at its master endpoint "
            "since 2023-11-14T22:12:20Z");
}

// 6.
TEST_F(Readiness, TheDestinationDoesNotKnowTheRoute) {
  ok(reportSource("alice", "alice-bob", 3, now - 100, 0, 5, "bob answered heartbeat state 5"));
  EXPECT_EQ(status("alice-bob"),
            "False | DestinationIsNotAuthorized | bob does not know this route yet");
}

// 7.
TEST_F(Readiness, NoTokenYet) {
  ok(reportSource("alice", "alice-bob", 0, 0, 0, -1, ""));
  EXPECT_EQ(status("alice-bob"),
            "False | TokenNotGenerate | no token negotiated yet: handshake pending");
  ok(reportSource("alice", "alice-bob", 0, 0, 0, -1, "bob answered: pubhash mismatch"));
  EXPECT_EQ(status("alice-bob"),
            "False | TokenNotGenerate | no token negotiated yet: bob answered: pubhash mismatch");
}

TEST_F(Readiness, RoutesWithoutTokensSkipTheTokenRules) {
  for (const char* auth : {"MTLS", "None"}) {
    SCOPED_TRACE(auth);
    store->routes.erase("bob-alice");
    ok(add("bob", "alice", kTlsUrl, auth));
    ok(reportSource("bob", "bob-alice", 0, now - 5));
    ok(reportDestination("alice", "bob-alice", {7}, now));
    EXPECT_EQ(status("bob-alice"), "True |  | Success");
  }
}

// 8.
TEST_F(Readiness, RevisionMismatch) {
  // The destination reports after the source and holds nothing as new: it lost its tokens.
  ok(reportSource("alice", "alice-bob", 3, now - 5));
  ok(reportDestination("bob", "alice-bob", {1, 2}, now - 5));
  EXPECT_EQ(status("alice-bob"),
            "False | TokenRevisionNotMatch | alice sends revision 3, bob accepts [1, 2]");
  ok(reportDestination("bob", "alice-bob", {}, now - 5));
  EXPECT_EQ(status("alice-bob"),
            "False | TokenRevisionNotMatch | alice sends revision 3, bob accepts []");
  ok(reportDestination("bob", "alice-bob", {3}, now - 5));
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
  // Ahead is fine: the destination has moved on while the source's report was in flight.
  ok(reportDestination("bob", "alice-bob", {4, 5}, now - 5));
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
}

TEST_F(Readiness, TheDestinationSayingTokenNotFoundIsAMismatch) {
  ok(reportSource("alice", "alice-bob", 3, now - 5, 0, 4));
  EXPECT_EQ(status("alice-bob"),
            "False | TokenRevisionNotMatch | alice sends revision 3, bob accepts []");
}

TEST_F(Readiness, ADestinationReportOlderThanTheSourcesProvesNothing) {
  ok(reportDestination("bob", "alice-bob", {1, 2}, now - 5));
  ++now;  // the source reports later
  ok(reportSource("alice", "alice-bob", 3, now - 5));
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
}

TEST_F(Readiness, WithoutADestinationReportTheSourcesWordIsEnough) {
  ok(reportSource("alice", "alice-bob", 3, now - 5));
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
  EXPECT_EQ(listed("alice-bob").at("destinationRevisions"), json::array{});
}

// 9.
TEST_F(Readiness, HeartbeatTimeout) {
  ok(reportSource("alice", "alice-bob", 3, 0));
  EXPECT_EQ(status("alice-bob"),
            "False | HeartBeatTimeout | no successful heartbeat from alice to bob since start");
  ok(reportSource("alice", "alice-bob", 3, now - 46));
  EXPECT_EQ(status("alice-bob"), std::string("False | HeartBeatTimeout | no successful "
                                             "heartbeat from alice to bob since ") +
                                     kNowMinus46);
  ok(reportSource("alice", "alice-bob", 3, now - 45));
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
}

TEST_F(Readiness, TheGraceIsThreeOfTheSourcesHeartbeatIntervals) {
  auto report = [&](int64_t okAt, int64_t unreachableSince) {
    return send("alice", json::object{{"name", "alice-bob"},
                                      {"side", "source"},
                                      {"revision", 3},
                                      {"heartbeatOkAt", okAt},
                                      {"unreachableSince", unreachableSince},
                                      {"heartbeatState", 0},
                                      {"heartbeatInterval", 2}});
  };
  ok(report(now - 6, 0));
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
  ok(report(now - 7, 0));
  EXPECT_EQ(listed("alice-bob").at("reason"), "HeartBeatTimeout");
  ok(report(now, now - 5));
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
  ok(report(now, now - 6));
  EXPECT_EQ(listed("alice-bob").at("reason"), "DestinationUnreachable");
}

TEST_F(Readiness, TheRulesApplyInOrder) {
  // Everything wrong at once: each fix uncovers the next rule.
  ok(reportDestination("bob", "alice-bob", {1}, now));
  ok(reportSource("alice", "alice-bob", 0, 0, now - 50, 5, "e"));
  EXPECT_EQ(listed("alice-bob").at("reason"), "DestinationUnreachable");
  ok(reportSource("alice", "alice-bob", 0, 0, 0, 5, "e"));
  EXPECT_EQ(listed("alice-bob").at("reason"), "DestinationIsNotAuthorized");
  ok(reportSource("alice", "alice-bob", 0, 0, 0, 4, "e"));
  EXPECT_EQ(listed("alice-bob").at("reason"), "TokenNotGenerate");
  ok(reportSource("alice", "alice-bob", 2, 0, 0, 4, "e"));
  EXPECT_EQ(listed("alice-bob").at("reason"), "TokenRevisionNotMatch");
  // The source's heartbeat is the evidence: it no longer says TokenNotFound.
  ok(reportSource("alice", "alice-bob", 2, 0, 0, -1, "e"));
  ok(reportDestination("bob", "alice-bob", {1, 2}, now));
  EXPECT_EQ(listed("alice-bob").at("reason"), "HeartBeatTimeout");
  ok(reportSource("alice", "alice-bob", 2, now, 0, 0, ""));
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
  // And registration comes before all of them.
  store->domains["alice"].certPem = "";
  EXPECT_EQ(status("alice-bob"),
            "False | TokenNotGenerate | alice has not registered with the master yet");
}

TEST_F(Readiness, ReportsOlderThan60SecondsCountAsAbsent) {
  ok(reportSource("alice", "alice-bob", 3, now));
  ok(reportDestination("bob", "alice-bob", {1}, now));
  const int64_t sent = now;
  now = sent + 60;  // still counts: the mismatch shows
  EXPECT_EQ(listed("alice-bob").at("reason"), "TokenRevisionNotMatch");
  now = sent + 61;
  EXPECT_EQ(status("alice-bob"),
            "False | TokenNotGenerate | alice has not reported this route yet (is its gateway "
            "running?)");
  json::object r = listed("alice-bob");
  EXPECT_EQ(r.at("sourceRevision"), 0);
  EXPECT_EQ(r.at("destinationRevisions"), json::array{});

  // A fresh source report with a stale destination one: the mismatch is forgotten.
  ok(reportSource("alice", "alice-bob", 3, now));
  EXPECT_EQ(status("alice-bob"), "True |  | Success");
}

}  // namespace
}  // namespace kgate::auth::testing
