// The whole seed walkthrough with kgate's commands: a master, two lites registering, routes
// alice->bob and bob->alice created on the master, tokens negotiated by the two gateways
// (RSA-GEN), `kgate route list` READY True, and an application behind alice calling bob's
// service through both gateways; then rotation under load, and readiness following bob.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <list>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "auth/handshake.h"
#include "certs/keys.h"
#include "integration/node.h"

namespace kgate::test {
namespace {

// The READY and REASON columns of one route in `kgate route list`.
std::pair<std::string, std::string> readiness(const TempDir& dir, const std::string& name) {
  auto r = kgateIn(dir, "route list");
  std::istringstream rows(r.out);
  std::string row;
  while (std::getline(rows, row)) {
    std::istringstream cols(row);
    std::vector<std::string> c;
    std::string x;
    while (cols >> x) c.push_back(x);
    if (c.size() >= 7 && c[0] == name) return {c[5], c[6]};
  }
  return {"?", r.out + r.err};
}

class Walkthrough : public ::testing::Test {
 protected:
  void SetUp() override {
    master_.emplace(dir_, NodeSpec{.domain = "mycompany-secretflow-master", .mode = "master",
                                   .seedDataDir = true});
    master_->start();
    echo_.emplace(Upstream::Options{.ip = "127.0.0.3", .name = "bob-echo"});
  }
  // A lite registered with the master and started. It heartbeats every 2 s, so READY follows a
  // change within seconds instead of the default 45.
  Node& addLite(NodeSpec spec, const std::string& extraYaml = "") {
    auto token = kgateIn(dir_, "domain add " + spec.domain).out;
    spec.mode = "lite";
    spec.masterEndpoint = master_->externalUrl("");
    spec.deployToken = token.substr(0, token.find('\n'));
    lites_.emplace_back(dir_, spec);
    lites_.back().appendConfig("heartbeatInterval: 2s\n" + extraYaml);
    lites_.back().start();
    return lites_.back();
  }
  Node& lite(const std::string& id, const std::string& ip, const std::string& extraYaml = "") {
    return addLite(NodeSpec{.domain = id, .ip = ip}, extraYaml);
  }
  void createRoutes(Node& alice, Node& bob, const std::string& options = "") {
    auto ab = kgateIn(dir_, "route create alice bob " + bob.externalUrl("") + " " + options);
    ASSERT_EQ(ab.exitCode, 0) << ab.err;
    auto ba = kgateIn(dir_, "route create bob alice " + alice.externalUrl("") + " " + options);
    ASSERT_EQ(ba.exitCode, 0) << ba.err;
  }
  bool waitReady(const std::string& name, const std::string& want = "True",
                 std::chrono::seconds timeout = std::chrono::seconds(60)) {
    return waitUntil([&] { return readiness(dir_, name).first == want; }, timeout,
                     std::chrono::milliseconds(500));
  }
  HttpReply call(Node& from, const std::string& host, const std::string& path, bool h2 = false) {
    std::vector<std::string> args{from.internalUrl(path), "-H", "Host: " + host};
    if (h2) args.push_back("--http2-prior-knowledge");
    return curl(args);
  }
  // Calls until the answer has `status` (routes and tokens arrive by polling) or 15 s pass;
  // the last answer either way.
  HttpReply callUntil(Node& from, const std::string& host, const std::string& path, int status) {
    HttpReply r;
    waitUntil(
        [&] {
          r = call(from, host, path);
          return r.status == status;
        },
        std::chrono::seconds(15));
    return r;
  }

  TempDir dir_;
  std::optional<Node> master_;
  std::optional<Upstream> echo_;
  std::list<Node> lites_;
};

TEST_F(Walkthrough, RoutesBecomeReadyAndTrafficFlows) {
  Node& alice = lite("alice", "127.0.0.2");
  Node& bob = lite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  createRoutes(alice, bob);
  ASSERT_TRUE(waitReady("alice-bob")) << readiness(dir_, "alice-bob").second;
  ASSERT_TRUE(waitReady("bob-alice")) << readiness(dir_, "bob-alice").second;

  auto list = kgateIn(dir_, "route list");
  EXPECT_NE(list.out.find("NAME"), std::string::npos);
  for (std::string col : {"SOURCE", "DESTINATION", "HOST", "AUTHENTICATION", "READY", "REASON"})
    EXPECT_NE(list.out.find(col), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("alice-mycompany-secretflow-master"), std::string::npos) << list.out;

  for (bool h2 : {false, true}) {
    auto r = call(alice, "echo.bob.svc", "/hello", h2);
    ASSERT_EQ(r.status, 200) << r.raw << r.body;
    EXPECT_EQ(jsonGet(r.body, {"headers", "kuscia-source"}), "alice");
    EXPECT_EQ(jsonGet(r.body, {"headers", "kuscia-token"}).value_or("").size(), 44u);
  }
  // The 401 probe on every external port.
  for (Node* n : {&*master_, &alice, &bob}) {
    auto probe = curl({"-k", n->externalUrl("/")});
    EXPECT_EQ(probe.status, 401);
    EXPECT_FALSE(probe.header("kuscia-error-message").empty());
  }
  // A route that is deleted stops working at once on both sides.
  ASSERT_EQ(kgateIn(dir_, "route delete alice-bob").exitCode, 0);
  EXPECT_TRUE(waitUntil([&] { return call(alice, "echo.bob.svc", "/gone").status == 404; },
                        std::chrono::seconds(15)));
}

TEST_F(Walkthrough, RotationUnderLoadLosesNoRequest) {
  Node& alice = lite("alice", "127.0.0.2");
  Node& bob = lite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  createRoutes(alice, bob, "--rolling-period 3");
  ASSERT_TRUE(waitReady("alice-bob")) << readiness(dir_, "alice-bob").second;
  std::string firstToken =
      jsonGet(call(alice, "echo.bob.svc", "/t").body, {"headers", "kuscia-token"}).value_or("");
  // Requests flow continuously while at least three rotations happen.
  std::atomic<int> ok{0}, failed{0};
  std::atomic<bool> stop{false};
  std::set<std::string> tokensSeen;
  std::mutex seenMu;
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c)
    clients.emplace_back([&] {
      while (!stop) {
        auto r = call(alice, "echo.bob.svc", "/load");
        if (r.status == 200) {
          ++ok;
          std::lock_guard lock(seenMu);
          tokensSeen.insert(jsonGet(r.body, {"headers", "kuscia-token"}).value_or(""));
        } else {
          ++failed;
          ADD_FAILURE() << "request failed during rotation: " << r.status << " "
                        << r.header("kuscia-error-message");
        }
      }
    });
  bool rotated = waitUntil(
      [&] {
        std::lock_guard lock(seenMu);
        return tokensSeen.size() >= 4;
      },
      std::chrono::seconds(40), std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_TRUE(rotated) << "tokens seen: " << tokensSeen.size();
  EXPECT_GT(ok.load(), 20);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_NE(tokensSeen.count(firstToken), 0u);
}

// After a scheduled rotation, requests carry the previous token until the new one has settled
// (a destination with several masters learns it a second or so late); then the new one.
TEST_F(Walkthrough, RequestsCarryTheNewTokenOnceItSettled) {
  Node& alice = lite("alice", "127.0.0.2");
  Node& bob = lite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  createRoutes(alice, bob, "--rolling-period 3");
  ASSERT_TRUE(waitReady("alice-bob")) << readiness(dir_, "alice-bob").second;
  auto held = [&](const char* which) {
    return jsonGet(readFile(alice.dataDir() + "/routes.json"),
                   {"source", "alice-bob", which, "token"})
        .value_or("");
  };
  auto carried = [&] {
    return jsonGet(call(alice, "echo.bob.svc", "/t").body, {"headers", "kuscia-token"})
        .value_or("");
  };
  std::string previous, current;
  bool seen = false;
  ASSERT_TRUE(waitUntil(
      [&] {
        previous = held("previous");
        current = held("current");
        if (previous.empty()) return false;
        std::string sent = carried();
        if (held("previous") != previous) return false;  // it settled meanwhile: next rotation
        EXPECT_EQ(sent, previous);
        EXPECT_NE(sent, current);
        seen = true;
        return true;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100)))
      << "no rotation seen settling";
  ASSERT_TRUE(seen);
  EXPECT_TRUE(waitUntil([&] { return carried() == current; }, std::chrono::seconds(15)))
      << "requests never carried the new token";
}

TEST_F(Walkthrough, ReadinessFollowsTheDestination) {
  Node& alice = lite("alice", "127.0.0.2");
  Node& bob = lite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  createRoutes(alice, bob);
  ASSERT_TRUE(waitReady("alice-bob"));
  EXPECT_EQ(bob.stop(), 0);
  ASSERT_TRUE(waitUntil(
      [&] {
        auto [ready, reason] = readiness(dir_, "alice-bob");
        return ready == "False" &&
               (reason == "DestinationUnreachable" || reason == "HeartBeatTimeout");
      },
      std::chrono::seconds(90), std::chrono::seconds(1)))
      << readiness(dir_, "alice-bob").second;
  bob.start();
  EXPECT_TRUE(waitReady("alice-bob", "True", std::chrono::seconds(60)))
      << readiness(dir_, "alice-bob").second;
  EXPECT_EQ(call(alice, "echo.bob.svc", "/back").status, 200);
}

TEST_F(Walkthrough, UnregisteredDestinationIsNotAuthorized) {
  Node& alice = lite("alice", "127.0.0.2");
  ASSERT_EQ(kgateIn(dir_, "domain add carol").exitCode, 0);
  ASSERT_EQ(kgateIn(dir_, "route create alice carol http://127.0.0.4:1").exitCode, 0);
  EXPECT_TRUE(waitReady("alice-carol", "False", std::chrono::seconds(10)));
  EXPECT_EQ(readiness(dir_, "alice-carol").second, "DestinationIsNotAuthorized");
  // Once alice has learned the route (it polls the master), the route is known but has no token.
  HttpReply r = callUntil(alice, "echo.carol.svc", "/", 503);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.header("kuscia-error-message").find("return http code 503"), std::string::npos);
}

TEST_F(Walkthrough, ProbePrintsEachStep) {
  Node& alice = lite("alice", "127.0.0.2");
  Node& bob = lite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  createRoutes(alice, bob);
  ASSERT_TRUE(waitReady("alice-bob"));
  auto ok = kgateIn(dir_, "route probe alice bob");
  EXPECT_EQ(ok.exitCode, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("probe alice-bob (run by alice)"), std::string::npos) << ok.out;
  for (std::string line : {"reach    PASS", "tls      SKIP", "token    PASS", "request  PASS"})
    EXPECT_NE(ok.out.find(line), std::string::npos) << line << "\n" << ok.out;
  EXPECT_EQ(bob.stop(), 0);
  auto down = kgateIn(dir_, "route probe alice bob");
  EXPECT_EQ(down.exitCode, 1);
  EXPECT_NE(down.out.find("reach    FAIL"), std::string::npos) << down.out;
}

TEST_F(Walkthrough, TransitThroughAThirdDomain) {
  Node& alice = lite("alice", "127.0.0.2");
  Node& bob = lite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  Node& carol = lite("carol", "127.0.0.4");
  ASSERT_EQ(kgateIn(dir_, "route create alice carol " + carol.externalUrl("")).exitCode, 0);
  ASSERT_EQ(kgateIn(dir_, "route create carol bob " + bob.externalUrl("")).exitCode, 0);
  auto transit = kgateIn(dir_, "route create alice bob --transit carol");
  ASSERT_EQ(transit.exitCode, 0) << transit.err;
  ASSERT_TRUE(waitReady("alice-bob")) << readiness(dir_, "alice-bob").second;
  HttpReply r = callUntil(alice, "echo.bob.svc", "/via-carol", 200);
  ASSERT_EQ(r.status, 200) << r.header("kuscia-error-message");
  EXPECT_EQ(jsonGet(r.body, {"headers", "kuscia-source"}), "carol");
  EXPECT_EQ(jsonGet(r.body, {"headers", "kuscia-origin-source"}), "alice");
}

TEST_F(Walkthrough, SourceKilledDuringRotationRecoversByItself) {
  Node& alice = lite("alice", "127.0.0.2");
  Node& bob = lite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  createRoutes(alice, bob, "--rolling-period 2");
  ASSERT_TRUE(waitReady("alice-bob"));
  // Rotations every 2 s; a SIGKILL now lands in or near one.
  alice.process().signal(SIGKILL);
  alice.process().waitExit(std::chrono::seconds(10));
  alice.start();
  EXPECT_TRUE(waitReady("alice-bob", "True", std::chrono::seconds(60)))
      << readiness(dir_, "alice-bob").second;
  EXPECT_TRUE(waitUntil([&] { return call(alice, "echo.bob.svc", "/after").status == 200; },
                        std::chrono::seconds(20)));
}

TEST_F(Walkthrough, RehandshakeNegotiatesANewToken) {
  Node& alice = lite("alice", "127.0.0.2");
  Node& bob = lite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  createRoutes(alice, bob);
  ASSERT_TRUE(waitReady("alice-bob"));
  auto tokenSeen = [&] {
    return jsonGet(call(alice, "echo.bob.svc", "/t").body, {"headers", "kuscia-token"}).value_or("");
  };
  std::string before = tokenSeen();
  ASSERT_EQ(before.size(), 44u);
  auto r = kgateIn(dir_, "route rehandshake alice-bob");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(waitUntil(
      [&] {
        std::string now = tokenSeen();  // "" while the call fails
        return !now.empty() && now != before;
      },
      std::chrono::seconds(20)));
  EXPECT_TRUE(waitReady("alice-bob"));
}

// POST /handshake needs no credentials, and anyone holding the two public keys can make one (or
// replay one seen on the wire). kgate sources sign theirs, so bob refuses unsigned ones for
// alice and replays of signed ones. And whatever bob does answer (here: handshakes signed with
// alice's key, as a second instance of alice would make) never displaces the token alice uses.
TEST_F(Walkthrough, ForgedHandshakesDoNotLockTheSourceOut) {
  Node& alice = lite("alice", "127.0.0.2");
  Node& bob = lite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  createRoutes(alice, bob);
  ASSERT_TRUE(waitReady("alice-bob")) << readiness(dir_, "alice-bob").second;
  auto tokenSeen = [&] {
    return jsonGet(call(alice, "echo.bob.svc", "/t").body, {"headers", "kuscia-token"})
        .value_or("");
  };
  const std::string token = tokenSeen();
  ASSERT_EQ(token.size(), 44u);

  auto keyOf = [](const Node& n) {
    std::string text = readFile(n.configPath());
    size_t at = text.find("\ndomainKeyData: ") + 16;
    auto pem = certs::base64Decode(text.substr(at, text.find('\n', at) - at));
    return certs::privateKeyFromPem(pem.value_or(""));
  };
  auto aliceKey = keyOf(alice), bobKey = keyOf(bob);
  ASSERT_TRUE(aliceKey && bobKey);
  auto bobPublic = certs::publicKeyFromPem(certs::publicKeyToPem(**bobKey));
  ASSERT_TRUE(bobPublic);
  auto handshakeBody = [&](int64_t requestTime) {
    auto h = auth::startHandshake("alice", certs::publicKeyToPem(**aliceKey), **bobPublic, 1,
                                  requestTime);
    return h ? auth::encodeHandshakeRequest(h->request) : std::string();
  };
  // From an address of its own: on loopback the nodes all connect from 127.0.0.1.
  auto post = [&](const std::string& body, const std::string& signature) {
    std::vector<std::string> args{"-k",
                                  "--interface",
                                  "127.0.0.9",
                                  bob.externalUrl("/handshake"),
                                  "-H",
                                  "Kuscia-Host: kuscia-handshake.bob.svc",
                                  "-H",
                                  "Content-Type: application/json",
                                  "--data-binary",
                                  body};
    if (!signature.empty()) {
      args.push_back("-H");
      args.push_back(std::string(auth::kSignatureHeader) + ": " + signature);
    }
    return curl(args);
  };
  auto replyTo = [](const HttpReply& r) {
    auto reply = auth::decodeHandshakeReply(r.body);
    if (reply) return *reply;
    auth::HandshakeReply none;
    none.code = -1;
    none.message = r.raw + r.body;
    return none;
  };
  const std::string unsigned_ = handshakeBody(0);
  auto refused = replyTo(post(unsigned_, ""));
  EXPECT_EQ(refused.code, 500);
  EXPECT_EQ(refused.message,
            "source domain [alice] signs its handshakes; an unsigned one is refused");
  auto badSignature = replyTo(post(unsigned_, "AAAA"));
  EXPECT_NE(badSignature.message.find("signature does not verify"), std::string::npos)
      << badSignature.message;

  // More than the tokens bob keeps waiting for a source (DestinationTokens::kMaxUnused).
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string lastBody, lastSignature;
  for (int i = 0; i < 6; ++i) {
    lastBody = handshakeBody(now + i);
    lastSignature = auth::signHandshake(**aliceKey, "bob", lastBody).value_or("");
    auto reply = replyTo(post(lastBody, lastSignature));
    ASSERT_TRUE(reply.code == 0 && !reply.token.empty()) << reply.message;  // answered
  }
  EXPECT_EQ(tokenSeen(), token);  // alice's token still works: no 401, no new negotiation
  EXPECT_EQ(readiness(dir_, "alice-bob").first, "True");
  auto replay = replyTo(post(lastBody, lastSignature));
  EXPECT_EQ(replay.code, 500);
  EXPECT_NE(replay.message.find("is not newer than its last signed one"), std::string::npos)
      << replay.message;

  // The posts come from one address: after a burst they are refused before any RSA work.
  HttpReply limited;
  for (int i = 0; i < 30 && limited.status != 429; ++i) limited = post(unsigned_, "");
  EXPECT_EQ(limited.status, 429) << limited.raw;
  EXPECT_NE(limited.body.find("too many handshakes"), std::string::npos) << limited.body;
  EXPECT_EQ(tokenSeen(), token);  // still
  // Alice negotiates from her address, untouched by the limit, with a newer request_time.
  ASSERT_EQ(kgateIn(dir_, "route rehandshake alice-bob").exitCode, 0);
  EXPECT_TRUE(waitUntil(
      [&] {
        std::string seen = tokenSeen();  // "" while the call fails
        return !seen.empty() && seen != token;
      },
      std::chrono::seconds(20)));
}

TEST_F(Walkthrough, MtlsRouteUsesCertificatesFromTheMaster) {
  auto mtlsLite = [&](const std::string& id, const std::string& ip, const std::string& extra) -> Node& {
    return addLite(NodeSpec{.domain = id, .ip = ip, .protocol = "MTLS"}, extra);
  };
  Node& alice = mtlsLite("alice", "127.0.0.2", "");
  Node& bob = mtlsLite("bob", "127.0.0.3", "services:\n  echo: " + echo_->url());
  auto refused = kgateIn(dir_, "route create alice bob http://127.0.0.3:1 --auth MTLS");
  EXPECT_EQ(refused.exitCode, 1);
  EXPECT_NE(refused.err.find("https"), std::string::npos) << refused.err;
  ASSERT_EQ(kgateIn(dir_, "route create alice bob " + bob.externalUrl("") + " --auth MTLS").exitCode, 0);
  ASSERT_TRUE(waitReady("alice-bob")) << readiness(dir_, "alice-bob").second;
  HttpReply r = callUntil(alice, "echo.bob.svc", "/mtls", 200);
  ASSERT_EQ(r.status, 200) << r.header("kuscia-error-message");
  EXPECT_EQ(jsonGet(r.body, {"headers", "kuscia-source"}), "alice");
  EXPECT_FALSE(jsonGet(r.body, {"headers", "kuscia-token"}).has_value()) << "no token on MTLS";

  // bob accepts "alice" only with alice's certificate from the master.
  std::string aliceCerts = alice.dataDir() + "/certs";
  std::vector<std::string> asAlice{"-k", bob.externalUrl("/direct"), "-H", "Kuscia-Source: alice",
                                   "-H", "Kuscia-Host: echo.bob.svc"};
  auto noCert = curl(asAlice);
  EXPECT_EQ(noCert.status, 401);
  auto withBobs = asAlice;
  for (std::string a : std::vector<std::string>{"--cert", bob.dataDir() + "/certs/domain.crt",
                                                "--key", dir_.file("bob.key")})
    withBobs.push_back(a);
  auto key = run({"sh", "-c", "grep domainKeyData '" + bob.configPath() +
                              "' | cut -d' ' -f2 | base64 -d > '" + dir_.file("bob.key") + "'"});
  ASSERT_EQ(key.exitCode, 0);
  EXPECT_EQ(curl(withBobs).status, 401) << "bob's own certificate does not make it alice";
  auto aliceKey = run({"sh", "-c", "grep domainKeyData '" + alice.configPath() +
                                   "' | cut -d' ' -f2 | base64 -d > '" + dir_.file("alice.key") + "'"});
  ASSERT_EQ(aliceKey.exitCode, 0);
  auto withAlices = asAlice;
  for (std::string a : std::vector<std::string>{"--cert", aliceCerts + "/domain.crt", "--key",
                                                dir_.file("alice.key")})
    withAlices.push_back(a);
  EXPECT_EQ(curl(withAlices).status, 200);
  // The 401 probe still answers clients without a certificate.
  EXPECT_EQ(curl({"-k", bob.externalUrl("/")}).status, 401);
}

TEST_F(Walkthrough, MtlsRouteToAPeerWithoutTheMastersCertificateIsNotReady) {
  // bob serves TLS with its own CA's certificate, not one from the master: alice refuses it.
  Node& alice = addLite(NodeSpec{.domain = "alice", .ip = "127.0.0.2", .protocol = "MTLS"});
  Node& bob = addLite(NodeSpec{.domain = "bob", .ip = "127.0.0.3", .protocol = "TLS"},
                      "services:\n  echo: " + echo_->url());
  ASSERT_EQ(kgateIn(dir_, "route create alice bob " + bob.externalUrl("") + " --auth MTLS").exitCode, 0);
  ASSERT_TRUE(waitReady("alice-bob", "False", std::chrono::seconds(20)));
  EXPECT_TRUE(waitUntil(
      [&] {
        auto list = kgateIn(dir_, "route list").out;
        return list.find("certificate") != std::string::npos;
      },
      std::chrono::seconds(90), std::chrono::seconds(1)))
      << kgateIn(dir_, "route list").out;
  HttpReply r = callUntil(alice, "echo.bob.svc", "/", 503);
  EXPECT_EQ(r.status, 503);
  auto probe = kgateIn(dir_, "route probe alice bob");
  EXPECT_NE(probe.out.find("tls      FAIL"), std::string::npos) << probe.out;
}

TEST_F(Walkthrough, RouteCommandsRefuseBadInput) {
  lite("alice", "127.0.0.2");
  auto unknown = kgateIn(dir_, "route create alice nobody http://127.0.0.4:1");
  EXPECT_EQ(unknown.exitCode, 1);
  EXPECT_NE(unknown.err.find("nobody"), std::string::npos) << unknown.err;
  auto self = kgateIn(dir_, "route create alice alice http://127.0.0.4:1");
  EXPECT_EQ(self.exitCode, 1);
  auto badUrl = kgateIn(dir_, "route create alice mycompany-secretflow-master ftp://x");
  EXPECT_EQ(badUrl.exitCode, 1);
  EXPECT_NE(badUrl.err.find("ftp://x"), std::string::npos) << badUrl.err;
  auto dup = kgateIn(dir_, "route create alice mycompany-secretflow-master http://127.0.0.1:1");
  EXPECT_EQ(dup.exitCode, 1);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;
  EXPECT_EQ(kgateIn(dir_, "route delete nosuch-route").exitCode, 1);
  EXPECT_EQ(kgateIn(dir_, "route create alice").exitCode, 2);
}

}  // namespace
}  // namespace kgate::test
