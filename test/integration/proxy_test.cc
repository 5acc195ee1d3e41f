// Two gateways, alice and bob, on separate loopback "machines": an application behind alice
// calls bob's echo service through alice's internal port and both gateways, over every
// combination of HTTP versions and TLS on the way, and every failure comes back with the
// status and kuscia-error-message chain the spec describes.
#include <gtest/gtest.h>

#include "integration/node.h"

namespace kgate::test {
namespace {

struct Legs {
  bool clientH2;          // application -> alice internal
  std::string route;      // alice -> bob: http1 | http2
  bool bobTls;            // bob's external listener
  std::string name;
};

std::string json(const HttpReply& r, std::vector<std::string> path) {
  return jsonGet(r.body, path).value_or("<missing>");
}

class Proxy : public ::testing::TestWithParam<Legs> {
 protected:
  void SetUp() override {
    const Legs& legs = GetParam();
    upstream_.emplace(Upstream::Options{.ip = "127.0.0.3", .name = "bob-echo"});
    alice_.emplace(dir_, NodeSpec{.domain = "alice", .ip = "127.0.0.2", .protocol = "NOTLS"});
    bob_.emplace(dir_, NodeSpec{.domain = "bob", .ip = "127.0.0.3",
                                .protocol = legs.bobTls ? "TLS" : "NOTLS"});
    connectPeers(*alice_, *bob_, legs.route);
    // bob gives up on an idle stream first, so alice relays bob's 504.
    alice_->appendConfig("errorMessageFormat: chained\nlimits:\n  streamIdleTimeout: 20s");
    bob_->appendConfig("errorMessageFormat: chained\nlimits:\n  streamIdleTimeout: 2s");
    bob_->appendConfig("services:\n  echo: " + upstream_->url() +
                       "\n  dead: http://127.0.0.3:" + std::to_string(freePort("127.0.0.3")));
    alice_->start();
    bob_->start();
  }

  // A request from an application behind alice to <svc>.bob.svc.
  HttpReply call(const std::string& host, const std::string& path,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> args{alice_->internalUrl(path), "-H", "Host: " + host};
    if (GetParam().clientH2) args.push_back("--http2-prior-knowledge");
    args.insert(args.end(), extra.begin(), extra.end());
    return curl(args);
  }

  TempDir dir_;
  std::optional<Upstream> upstream_;
  std::optional<Node> alice_, bob_;
};

TEST_P(Proxy, ReachesBobsServiceWithKusciaHeaders) {
  auto r = call("echo.bob.svc:8080", "/hello?x=1",
                {"-H", "Kuscia-Source: mallory", "-H", "Kuscia-Token: forged"});
  ASSERT_EQ(r.status, 200) << r.raw << r.body;
  EXPECT_EQ(r.httpVersion, GetParam().clientH2 ? "2" : "1.1");
  EXPECT_EQ(json(r, {"target"}), "/hello?x=1");
  EXPECT_EQ(json(r, {"headers", "kuscia-source"}), "alice");
  EXPECT_EQ(json(r, {"headers", "kuscia-token"}), tokenFor("alice-bob"));
  EXPECT_EQ(json(r, {"headers", "kuscia-host"}), "echo.bob.svc");
  EXPECT_EQ(json(r, {"headers", "kuscia-origin-source"}), "alice");
  EXPECT_EQ(json(r, {"headers", "x-interconn-protocol"}), "kuscia");
  EXPECT_EQ(json(r, {"headers", "host"}), "127.0.0.3");  // the endpoint host, as Kuscia sends
  EXPECT_EQ(r.header("x-accel-buffering"), "no");
  EXPECT_FALSE(r.hasHeader("kuscia-error-message"));
}

TEST_P(Proxy, BodiesTravelBothWays) {
  writePatternFile(dir_.file("up"), 3 * 1024 * 1024 + 17);
  auto echoed = call("echo.bob.svc", "/echo-body",
                     {"-X", "POST", "--data-binary", "@" + dir_.file("up")});
  EXPECT_EQ(echoed.status, 200);
  EXPECT_EQ(echoed.bodySha256, patternSha256(3 * 1024 * 1024 + 17));
  auto chunked = call("echo.bob.svc", "/chunked/100000?chunk=7000");
  EXPECT_EQ(chunked.status, 200);
  EXPECT_EQ(chunked.bodySha256, patternSha256(100000));
  auto sink = call("echo.bob.svc", "/sink", {"-X", "POST", "-T", dir_.file("up")});
  EXPECT_EQ(jsonGet(sink.body, {"body_bytes"}), std::to_string(3 * 1024 * 1024 + 17)) << sink.raw << sink.body;
}

TEST_P(Proxy, KeepsConnectionsAlive) {
  for (int i = 0; i < 10; ++i) ASSERT_EQ(call("echo.bob.svc", "/x").status, 200);
  // Ten requests, each on a new client connection to alice: bob's two workers reuse their
  // pooled connections to the service (a new request may overtake the return of the previous
  // connection to the pool, so allow one per worker more), plus the one that reads the stats.
  EXPECT_LE(upstream_->stats().connectionsAccepted, 5u);
}

// Bytes an upstream sends on a pooled connection nobody is reading (a HEAD body written anyway,
// a response to nothing) must not become the answer to the next request on it, which may be
// another client's, from another domain. bob checks each pooled connection is silent first.
TEST_P(Proxy, AnUpstreamsUnaskedResponseReachesNobody) {
  for (int round = 1; round <= 4; ++round) {
    auto asked = call("echo.bob.svc", "/unasked");
    ASSERT_EQ(asked.status, 200) << asked.raw;
    ASSERT_EQ(asked.body, "asked\n");
    ASSERT_TRUE(waitUntil([&] { return upstream_->stats().unaskedSent == uint64_t(round); },
                          std::chrono::seconds(10)));
    for (int i = 0; i < 4; ++i) {
      auto r = call("echo.bob.svc", "/after-" + std::to_string(i));
      ASSERT_EQ(r.status, 200) << r.raw;
      EXPECT_EQ(json(r, {"target"}), "/after-" + std::to_string(i)) << r.body;
    }
  }
}

TEST_P(Proxy, UnknownServiceAtBob) {
  auto r = call("nosvc.bob.svc", "/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("kuscia-error-message"),
            "<alice/alice-gw/internal> => <bob/bob-gw/external $service_not_found$ Service "
            "\"nosvc.bob.svc\" not found.>");
}

TEST_P(Proxy, UnknownPeer) {
  auto r = call("echo.carol.svc", "/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("kuscia-error-message"),
            "<alice/alice-gw/internal $route_not_found$ Service \"echo.carol.svc\" not found.>");
}

TEST_P(Proxy, GrpcClientsGetAGrpcStatus) {
  auto r = call("echo.carol.svc", "/pkg.Service/Method", {"-H", "content-type: application/grpc"});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("grpc-status"), "14");
  EXPECT_EQ(r.header("grpc-message"), "Service \"echo.carol.svc\" not found.");
}

TEST_P(Proxy, ServiceDownAtBob) {
  auto r = call("dead.bob.svc", "/");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("kuscia-error-message"),
            "<alice/alice-gw/internal> => <bob/bob-gw/external $upstream_connect_failure$ "
            "Service Unavailable>");
}

TEST_P(Proxy, UpstreamResetBeforeAnswer) {
  auto r = call("echo.bob.svc", "/reset");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("kuscia-error-message"),
            "<alice/alice-gw/internal> => <bob/bob-gw/external $upstream_reset$ Service "
            "Unavailable>");
}

TEST_P(Proxy, UpstreamResetMidBodyCutsTheResponse) {
  auto r = call("echo.bob.svc", "/reset-mid/100000");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.curlExit, 0) << "a truncated body must not look complete";
  EXPECT_LT(r.bodyBytes, 200000u);
}

TEST_P(Proxy, StreamIdleTimeout) {
  auto r = call("echo.bob.svc", "/hang");
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.header("kuscia-error-message"),
            "<alice/alice-gw/internal> => <bob/bob-gw/external $stream_idle_timeout$ Gateway "
            "Timeout>");
}

TEST_P(Proxy, ApplicationErrorsAreWrappedNotReplaced) {
  auto plain = call("echo.bob.svc", "/status/500");
  EXPECT_EQ(plain.status, 500);
  EXPECT_EQ(plain.body, "status 500\n");
  EXPECT_EQ(plain.header("kuscia-error-message"),
            "<alice/alice-gw/internal> => <bob/bob-gw/external> => <upstream Internal Server "
            "Error>");
  auto internal = call("echo.bob.svc", "/status/503?header=Kuscia-Error-Message-Internal:db%20down");
  EXPECT_EQ(internal.status, 503);
  EXPECT_FALSE(internal.hasHeader("kuscia-error-message-internal"));
  EXPECT_EQ(internal.header("kuscia-error-message"),
            "<alice/alice-gw/internal> => <bob/bob-gw/external> => <upstream db down>");
  auto fine = call("echo.bob.svc", "/status/204?header=X-Accel-Buffering:yes");
  EXPECT_EQ(fine.status, 204);
  EXPECT_FALSE(fine.hasHeader("kuscia-error-message"));
  EXPECT_EQ(fine.header("x-accel-buffering"), "no");
}

TEST_P(Proxy, BobRefusesUnknownSourcesAndWrongTokens) {
  std::string url = bob_->externalUrl("/");
  auto wrong = curl({"-k", url, "-H", "Kuscia-Source: alice", "-H", "Kuscia-Token: nope",
                     "-H", "Kuscia-Host: echo.bob.svc"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.header("kuscia-error-message"),
            "<bob/bob-gw/external $token_mismatch$ Unauthorized>");
  auto none = curl({"-k", url, "-H", "Kuscia-Source: alice", "-H", "Kuscia-Host: echo.bob.svc"});
  EXPECT_EQ(none.header("kuscia-error-message"), "<bob/bob-gw/external $no_token$ Unauthorized>");
  auto stranger = curl({"-k", url, "-H", "Kuscia-Source: carol", "-H",
                        "Kuscia-Token: " + tokenFor("alice-bob"), "-H", "Kuscia-Host: echo.bob.svc"});
  EXPECT_EQ(stranger.header("kuscia-error-message"),
            "<bob/bob-gw/external $unknown_source$ Unauthorized>");
  // The right pair goes through, straight to the service.
  auto good = curl({"-k", url + "x", "-H", "Kuscia-Source: alice", "-H",
                    "Kuscia-Token: " + tokenFor("alice-bob"), "-H", "Kuscia-Host: echo.bob.svc"});
  EXPECT_EQ(good.status, 200);
  EXPECT_EQ(good.header("server"), "kuscia-gateway");
}

TEST_P(Proxy, HandshakeStatusNeedsNoToken) {
  std::string url = bob_->externalUrl("/handshake");
  auto none = curl({"-k", url, "-H", "Kuscia-Host: kuscia-handshake.bob.svc"});
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.header("content-type"), "application/json");
  EXPECT_EQ(none.body, "{\"namespace\":\"bob\",\"state\":1}\n");
  auto noRevision = curl({"-k", url, "-H", "Host: kuscia-handshake.bob.svc", "-H",
                          "Kuscia-Source: alice"});
  EXPECT_EQ(noRevision.body, "{\"namespace\":\"bob\",\"state\":2}\n");
  auto stranger = curl({"-k", url, "-H", "Kuscia-Host: kuscia-handshake.bob.svc", "-H",
                        "Kuscia-Source: zed"});
  EXPECT_EQ(stranger.body, "{\"namespace\":\"bob\",\"state\":5}\n");
}

TEST_P(Proxy, OneTraceIdInBothGatewaysLogs) {
  auto r = call("echo.bob.svc", "/traced");
  ASSERT_EQ(r.status, 200);
  std::string trace = json(r, {"headers", "x-b3-traceid"});
  ASSERT_EQ(trace.size(), 16u);
  auto logged = [&](Node& n, const std::string& file) {
    return waitUntil([&] { return readFile(n.logFile(file)).find(trace) != std::string::npos; },
                     std::chrono::seconds(5));
  };
  EXPECT_TRUE(logged(*alice_, "internal.log"));
  EXPECT_TRUE(logged(*bob_, "external.log"));
}

INSTANTIATE_TEST_SUITE_P(
    Legs, Proxy,
    ::testing::Values(Legs{false, "http1", false, "h1_h1_plain"},
                      Legs{true, "http2", false, "h2_h2c_plain"},
                      Legs{false, "http2", true, "h1_h2_tls"},
                      Legs{true, "http1", true, "h2_h1_tls"},
                      Legs{true, "auto", true, "h2_auto_tls"}),
    [](const auto& info) { return info.param.name; });

TEST(ProxyPeers, PeerDownAndWrongTokenSeenFromAlice) {
  TempDir dir;
  Node alice(dir, {.domain = "alice", .ip = "127.0.0.2", .protocol = "NOTLS"});
  Node bob(dir, {.domain = "bob", .ip = "127.0.0.3", .protocol = "NOTLS"});
  uint16_t nobody = freePort("127.0.0.4");
  alice.appendConfig("routes:\n"
                     "  - destination: bob\n    endpoint: " + bob.externalUrl("") +
                     "\n    token: wrong-token\n"
                     "  - destination: carol\n    endpoint: http://127.0.0.4:" +
                     std::to_string(nobody) + "\n    token: t\n");
  bob.appendConfig("tokens:\n  alice: [\"" + tokenFor("alice-bob") + "\"]");
  alice.start();
  bob.start();
  auto down = curl({alice.internalUrl("/"), "-H", "Host: echo.carol.svc"});
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.header("kuscia-error-message"),
            "Domain alice.alice-gw<--echo.carol.svc return http code 503.");
  auto refused = curl({alice.internalUrl("/"), "-H", "Host: echo.bob.svc"});
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.body,
            "{\"domain\":\"bob\",\"instance\":\"bob-gw\",\"kuscia\":\"v0.1.0\","
            "\"reason\":\"unauthorized.\"}\n");
  EXPECT_EQ(refused.header("kuscia-error-message"),
            "Domain alice.alice-gw<--Domain bob.bob-gw<--127.0.0.3 return http code 401.");
}

TEST(ProxyServiceLeg, Http2ToTheLocalService) {
  // nghttpd (Debian's nghttp2-server) is a real HTTP/2-only server: h2c with prior knowledge.
  TempDir dir;
  writePatternFile(dir.file("file.bin"), 5 * 1024 * 1024);
  uint16_t port = freePort("127.0.0.3");
  Process h2only({"nghttpd", "--no-tls", "-a", "127.0.0.3", "-d", dir.path(),
                  std::to_string(port)},
                 dir.path(), ProcessOptions{.name = "nghttpd"});
  ASSERT_TRUE(h2only.waitForPort("127.0.0.3", port, std::chrono::seconds(10)));
  Node alice(dir, {.domain = "alice", .ip = "127.0.0.2", .protocol = "NOTLS"});
  Node bob(dir, {.domain = "bob", .ip = "127.0.0.3", .protocol = "TLS"});
  connectPeers(alice, bob, "http2");
  bob.appendConfig("services:\n  files:\n    url: http://127.0.0.3:" + std::to_string(port) +
                   "\n    protocol: http2");
  alice.start();
  bob.start();
  for (bool h2 : {false, true}) {
    std::vector<std::string> args{alice.internalUrl("/file.bin"), "-H", "Host: files.bob.svc"};
    if (h2) args.push_back("--http2-prior-knowledge");
    auto r = curl(args, CurlOptions{.keepBody = false});
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.bodySha256, patternSha256(5 * 1024 * 1024));
  }
  auto missing = curl({alice.internalUrl("/nope"), "-H", "Host: files.bob.svc"});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("kuscia-error-message"),
            "Domain alice.alice-gw<--Domain bob.bob-gw<--127.0.0.3 return http code 404.");
}

TEST(ProxyTransit, AliceReachesBobThroughCarol) {
  TempDir dir;
  Upstream echo(Upstream::Options{.ip = "127.0.0.3", .name = "bob-echo"});
  Node alice(dir, {.domain = "alice", .ip = "127.0.0.2", .protocol = "NOTLS"});
  Node bob(dir, {.domain = "bob", .ip = "127.0.0.3", .protocol = "NOTLS"});
  Node carol(dir, {.domain = "carol", .ip = "127.0.0.4", .protocol = "NOTLS"});
  alice.appendConfig("routes:\n"
                     "  - destination: carol\n    endpoint: " + carol.externalUrl("") +
                     "\n    token: \"" + tokenFor("alice-carol") + "\"\n"
                     "  - destination: bob\n    transit: carol\n");
  const std::string transitRoute =
      "transitRoutes:\n  - {source: alice, destination: bob, transit: carol}\n";
  carol.appendConfig("routes:\n  - destination: bob\n    endpoint: " + bob.externalUrl("") +
                     "\n    token: \"" + tokenFor("carol-bob") +
                     "\"\n"
                     "tokens:\n  alice: [\"" +
                     tokenFor("alice-carol") +
                     "\"]\n"
                     "  dave: [\"" +
                     tokenFor("dave-carol") + "\"]\n" + transitRoute);
  bob.appendConfig("tokens:\n  carol: [\"" + tokenFor("carol-bob") +
                   "\"]\n"
                   "services:\n  echo: " +
                   echo.url() + "\n" + transitRoute);
  for (Node* n : {&alice, &bob, &carol}) n->start();
  auto r = curl({alice.internalUrl("/via-carol"), "-H", "Host: echo.bob.svc"});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(jsonGet(r.body, {"headers", "kuscia-source"}), "carol");
  EXPECT_EQ(jsonGet(r.body, {"headers", "kuscia-token"}), tokenFor("carol-bob"));
  EXPECT_EQ(jsonGet(r.body, {"headers", "kuscia-origin-source"}), "alice");
  EXPECT_EQ(jsonGet(r.body, {"headers", "kuscia-host"}), "echo.bob.svc");

  // carol relays alice's own requests to bob, and nothing else: not dave's (a peer of carol's
  // without a transit route), not alice's in someone else's name.
  auto refused = [](const HttpReply& c, const std::string& why) {
    EXPECT_EQ(c.status, 403) << c.raw;
    EXPECT_NE(c.header("kuscia-error-message").find(" return http code 403"), std::string::npos)
        << c.raw;
    EXPECT_NE(c.body.find(why), std::string::npos) << c.body;
  };
  auto asDave =
      curl({carol.externalUrl("/from-dave"), "-H", "Kuscia-Source: dave", "-H",
            "Kuscia-Token: " + tokenFor("dave-carol"), "-H", "Kuscia-Host: echo.bob.svc"});
  refused(asDave, "carol relays nothing from dave to bob");
  auto spoofed = curl({alice.internalUrl("/spoofed"), "-H", "Host: echo.bob.svc", "-H",
                       "Kuscia-Origin-Source: dave"});
  refused(spoofed, "Kuscia-Origin-Source \"dave\" is not alice");
  // bob takes an origin other than carol from carol only for the transit route alice -> bob.
  auto direct = curl({bob.externalUrl("/as-carol"), "-H", "Kuscia-Source: carol", "-H",
                      "Kuscia-Token: " + tokenFor("carol-bob"), "-H", "Kuscia-Host: echo.bob.svc",
                      "-H", "Kuscia-Origin-Source: dave"});
  refused(direct, "no transit route dave-bob through carol");
  auto underscored = curl({bob.externalUrl("/as-carol"), "-H", "Kuscia-Source: carol", "-H",
                           "Kuscia-Token: " + tokenFor("carol-bob"), "-H",
                           "Kuscia-Host: echo.bob.svc", "-H", "Kuscia_Origin_Source: dave"});
  EXPECT_EQ(underscored.status, 400) << underscored.raw;
  EXPECT_NE(underscored.body.find("kuscia_origin_source is spelt with underscores"),
            std::string::npos)
      << underscored.body;
  auto relayedByHand = curl({bob.externalUrl("/as-carol"), "-H", "Kuscia-Source: carol", "-H",
                             "Kuscia-Token: " + tokenFor("carol-bob"), "-H",
                             "Kuscia-Host: echo.bob.svc", "-H", "Kuscia-Origin-Source: alice"});
  EXPECT_EQ(relayedByHand.status, 200) << relayedByHand.raw;
}

}  // namespace
}  // namespace kgate::test
