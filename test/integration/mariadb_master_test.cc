// A master keeping its state in MySQL/MariaDB (datastoreEndpoint), with real processes and a
// real server: the tutorial's registration steps, a restart that keeps everything, start-up
// refusals in one line, a database outage answered with 503 and recovered from by itself, and
// two masters on one database, directly and behind a load balancer.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "integration/node.h"
#include "support/mariadb.h"
#include "support/tcp_balancer.h"

namespace kgate::test {
namespace {

std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

class MasterOnMariadb : public ::testing::Test {
 protected:
  Node& startMaster(const std::string& dsn, const std::string& yaml = "") {
    master_.emplace(dir_, NodeSpec{.domain = "mycompany-secretflow-master", .mode = "master",
                                   .datastore = dsn, .seedDataDir = true});
    if (!yaml.empty()) master_->appendConfig(yaml);
    master_->start();
    return *master_;
  }
  // A second master of the domain on the same database, in dir (the operator copies the
  // config: same domain, same key, same datastoreEndpoint; another machine and data directory).
  std::unique_ptr<Node> startSecondMaster(const TempDir& dir, const std::string& dsn,
                                          const std::string& yaml = "") {
    auto b = std::make_unique<Node>(dir, NodeSpec{.domain = "mycompany-secretflow-master",
                                                  .mode = "master", .ip = "127.0.0.5",
                                                  .datastore = dsn, .seedDataDir = true});
    auto key = run({"sh", "-c", "grep '^domainKeyData:' '" + master_->configPath() + "'"});
    if (key.exitCode != 0) throw std::runtime_error("the first master's config has no key");
    b->dropGeneratedKey("domainKeyData");
    b->appendConfig(key.out + yaml);
    b->start();
    return b;
  }
  Node& lite(const std::string& id, const std::string& ip) {
    auto added = kgateIn(dir_, "domain add " + id);
    EXPECT_EQ(added.exitCode, 0) << added.err;
    lites_.emplace_back(dir_, NodeSpec{.domain = id, .mode = "lite", .ip = ip,
                                       .masterEndpoint = master_->externalUrl(""),
                                       .deployToken = firstLine(added.out)});
    lites_.back().start();
    return lites_.back();
  }

  TempDir dir_;
  std::optional<Node> master_;
  std::list<Node> lites_;
};

TEST_F(MasterOnMariadb, TheTutorialsRegistrationKeepsItsStateInTheDatabase) {
  TestDatabase db;
  startMaster(db.dsn());
  lite("alice", "127.0.0.2");
  lite("bob", "127.0.0.3");
  EXPECT_EQ(db.query("SELECT id, registered_at > 0, cert_pem LIKE '-----BEGIN CERTIFICATE-----%' "
                     "FROM domains ORDER BY id"),
            "alice|1|1\nbob|1|1\n");
  EXPECT_EQ(db.query("SELECT domain, state FROM deploy_tokens ORDER BY domain, seq"),
            "alice|used\nalice|unused\nbob|used\nbob|unused\n");
  // Nothing went to an SQLite file beside it.
  EXPECT_FALSE(std::filesystem::exists(master_->dataDir() + "/authority.db"));

  ASSERT_EQ(kgateIn(dir_, "route create alice bob " + lites_.back().externalUrl("")).exitCode, 0);
  EXPECT_EQ(db.query("SELECT source, destination FROM routes WHERE name = 'alice-bob'"),
            "alice|bob\n");

  std::string before = kgateIn(dir_, "domain list --show-tokens").out;
  ASSERT_NE(before.find("alice"), std::string::npos) << before;
  EXPECT_EQ(master_->stop(), 0);
  master_->start();
  EXPECT_EQ(kgateIn(dir_, "domain list --show-tokens").out, before);
  EXPECT_NE(kgateIn(dir_, "route list").out.find("alice-bob"), std::string::npos);
}

TEST_F(MasterOnMariadb, StartupRefusalsAreOneLineWithoutThePassword) {
  TestDatabase db;
  std::string dsn = db.dsn();
  std::string wrong = dsn.substr(0, dsn.find(':', 8) + 1) + "wrong-pass-123" + dsn.substr(dsn.rfind('@'));
  master_.emplace(dir_, NodeSpec{.domain = "m", .mode = "master", .datastore = wrong});
  CommandResult denied = master_->startExpectingFailure();
  EXPECT_NE(denied.exitCode, 0);
  EXPECT_NE(denied.err.find("cannot connect: Access denied for user 'kgate'"), std::string::npos)
      << denied.err;
  EXPECT_EQ(denied.err.find("wrong-pass-123"), std::string::npos) << denied.err;

  uint16_t nobody = freePort();
  master_.emplace(dir_, NodeSpec{.domain = "m2", .mode = "master",
                                 .datastore = "mysql://kgate:pw-456@127.0.0.1:" +
                                              std::to_string(nobody) + "/kgate"});
  CommandResult refused = master_->startExpectingFailure();
  EXPECT_NE(refused.exitCode, 0);
  EXPECT_NE(refused.err.find("authority store: mariadb store kgate@127.0.0.1:" +
                             std::to_string(nobody) + "/kgate: cannot connect"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.err.find("pw-456"), std::string::npos);
}

TEST_F(MasterOnMariadb, ADatabaseOutageIs503AndTheMasterRecoversByItself) {
  PrivateMariadbServer server(dir_.file("mariadb"));
  startMaster(server.dsn() + "/kgate?timeout=2s");
  std::string aliceToken = firstLine(kgateIn(dir_, "domain add alice").out);
  ASSERT_EQ(aliceToken.size(), 32u);

  server.kill();
  CommandResult down = kgateIn(dir_, "domain add bob");
  EXPECT_NE(down.exitCode, 0);
  // The API answered 503; the CLI prints its message.
  EXPECT_NE(down.err.find("authority store unavailable: adding domain bob: cannot reach the "
                          "database"),
            std::string::npos)
      << down.err;
  EXPECT_TRUE(master_->running());

  server.restart();
  CommandResult up = kgateIn(dir_, "domain add bob");
  EXPECT_EQ(up.exitCode, 0) << up.err;
  EXPECT_EQ(firstLine(kgateIn(dir_, "domain token alice").out), aliceToken);
  // alice registers with the token acknowledged before the outage.
  lites_.emplace_back(dir_, NodeSpec{.domain = "alice", .mode = "lite", .ip = "127.0.0.2",
                                     .masterEndpoint = master_->externalUrl(""),
                                     .deployToken = aliceToken});
  lites_.back().start();
  EXPECT_NE(kgateIn(dir_, "domain list").out.find("alice"), std::string::npos);
}

// Two master processes of one domain on one database.
TEST_F(MasterOnMariadb, TwoMastersServeOneStateAndADeployTokenIsUsedOnce) {
  TestDatabase db;
  Node& a = startMaster(db.dsn());
  TempDir dirB;
  auto second = startSecondMaster(dirB, db.dsn());
  Node& b = *second;
  // One CA: the second master took the first's from the store.
  EXPECT_EQ(readFile(a.dataDir() + "/certs/ca.crt"), readFile(b.dataDir() + "/certs/ca.crt"));

  // A domain added through one master is visible through the other at once.
  std::string aliceToken = firstLine(kgateIn(dir_, "domain add alice").out);
  ASSERT_EQ(aliceToken.size(), 32u);
  EXPECT_EQ(firstLine(kgateIn(dirB, "domain token alice").out), aliceToken);

  // Two lites race for alice's one token, one through each master: exactly one registers.
  std::list<Node> racers;
  racers.emplace_back(dir_, NodeSpec{.domain = "alice", .mode = "lite", .ip = "127.0.0.2",
                                     .masterEndpoint = a.externalUrl(""),
                                     .deployToken = aliceToken});
  racers.emplace_back(dirB, NodeSpec{.domain = "alice", .mode = "lite", .ip = "127.0.0.3",
                                     .masterEndpoint = b.externalUrl(""),
                                     .deployToken = aliceToken});
  std::vector<std::thread> threads;
  std::array<bool, 2> started{false, false};
  int i = 0;
  for (Node& racer : racers) {
    threads.emplace_back([&racer, &started, n = i++] {
      try {
        racer.start();
        started[n] = true;
      } catch (const std::exception&) {
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_NE(started[0], started[1]) << "exactly one lite may register with one deploy token";
  EXPECT_EQ(db.query("SELECT count(*) FROM deploy_tokens WHERE domain = 'alice' AND "
                     "state = 'used'"),
            "1\n");

  // The other master's endpoint works for a lite as well: bob registers through b.
  std::string bobToken = firstLine(kgateIn(dir_, "domain add bob").out);
  lites_.emplace_back(dirB, NodeSpec{.domain = "bob", .mode = "lite", .ip = "127.0.0.4",
                                     .masterEndpoint = b.externalUrl(""), .deployToken = bobToken});
  lites_.back().start();
  std::string list = kgateIn(dir_, "domain list").out;
  EXPECT_NE(list.find("bob"), std::string::npos) << list;
  // bob reports to b; both masters judge its route to the master from the shared reports.
  auto ready = [&](const TempDir& where) {
    std::string routes = kgateIn(where, "route list").out;
    std::istringstream in(routes);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("bob-mycompany-secretflow-master ", 0) == 0) return line;
    return std::string();
  };
  EXPECT_TRUE(waitUntil([&] { return ready(dir_).find("True") != std::string::npos; },
                        std::chrono::seconds(30)))
      << ready(dir_);
  EXPECT_NE(ready(dirB).find("True"), std::string::npos) << ready(dirB);

  // bob negotiated its route token with b; a accepts it too (the masters share their tokens).
  Node& bob = lites_.back();
  auto token = jsonGet(readFile(bob.dataDir() + "/routes.json"),
                       {"source", "bob-mycompany-secretflow-master", "current", "token"});
  ASSERT_TRUE(token.has_value());
  auto askA = [&](const std::string& t) {
    return curl({"-k", a.externalUrl("/api/v1/lite/routes"), "-H",
                 "Kuscia-Host: kgate-control.mycompany-secretflow-master.svc", "-H",
                 "Kuscia-Source: bob", "-H", "Kuscia-Token: " + t});
  };
  EXPECT_TRUE(waitUntil([&] { return askA(*token).status == 200; }, std::chrono::seconds(10)))
      << askA(*token).status << " " << askA(*token).header("kuscia-error-message") << "\n"
      << db.query("SELECT route, revision, json FROM route_tokens") << a.process().describe();
  EXPECT_EQ(askA("not-" + *token).status, 401);

  // A route from the masters to bob: whichever master negotiates, both send the same token.
  const std::string route = "mycompany-secretflow-master-bob";
  ASSERT_EQ(kgateIn(dir_, "route create mycompany-secretflow-master bob " + bob.externalUrl(""))
                .exitCode,
            0);
  auto sent = [&](Node& master) {
    return jsonGet(readFile(master.dataDir() + "/routes.json"), {"source", route, "current", "token"})
        .value_or("");
  };
  EXPECT_TRUE(waitUntil([&] { return !sent(a).empty() && sent(a) == sent(b); },
                        std::chrono::seconds(20)))
      << "a sends '" << sent(a) << "', b sends '" << sent(b) << "'";
}

// Two masters behind one address, as a production HA deployment has them: each connection of
// bob's goes to the next master in turn. bob's route to the masters rotates every few seconds;
// the master that did not answer a handshake learns the new token a second or so later, through
// the store. Requests from bob's apps to the masters' service flow all along, over connections
// to both masters, and none may be refused.
TEST_F(MasterOnMariadb, ALiteBehindABalancerOverTwoMastersIsNeverRefusedThroughRotations) {
  TestDatabase db;
  // Each master's service answers with its own name: the load must reach both.
  Upstream echoA(Upstream::Options{.ip = "127.0.0.1", .name = "master-a"});
  Upstream echoB(Upstream::Options{.ip = "127.0.0.5", .name = "master-b"});
  Node& a = startMaster(db.dsn(), "services:\n  echo: " + echoA.url() + "\n");
  TempDir dirB;
  auto second = startSecondMaster(dirB, db.dsn(), "services:\n  echo: " + echoB.url() + "\n");
  Node& b = *second;

  TcpBalancer balancer("127.0.0.7", {{a.ip(), a.externalPort()}, {b.ip(), b.externalPort()}});
  std::string scheme = a.externalUrl("").substr(0, a.externalUrl("").find("://"));
  const std::string endpoint =
      scheme + "://" + balancer.ip() + ":" + std::to_string(balancer.port());
  // bob's route to the masters, through the balancer and rotating every 3 s (the one
  // `domain add` makes rotates daily).
  std::string bobToken = firstLine(kgateIn(dir_, "domain add bob").out);
  const std::string route = "bob-mycompany-secretflow-master";
  ASSERT_EQ(kgateIn(dir_, "route delete " + route).exitCode, 0);
  auto created = kgateIn(dir_, "route create bob mycompany-secretflow-master " + endpoint +
                                   " --rolling-period 3");
  ASSERT_EQ(created.exitCode, 0) << created.err;
  lites_.emplace_back(dir_, NodeSpec{.domain = "bob", .mode = "lite", .ip = "127.0.0.4",
                                     .masterEndpoint = endpoint, .deployToken = bobToken});
  Node& bob = lites_.back();
  // Each worker keeps its own connection to the masters (an HTTP/2 session): with eight, the
  // balancer's turns put some on each master.
  bob.dropGeneratedKey("workers");
  bob.appendConfig("workers: 8\n");
  bob.start();
  auto ask = [&] {
    return curl({"-m", "20", bob.internalUrl("/x"), "-H",
                 "Host: echo.mycompany-secretflow-master.svc"});
  };
  ASSERT_TRUE(waitUntil([&] { return ask().status == 200; }, std::chrono::seconds(30)))
      << ask().status << " " << ask().header("kuscia-error-message");
  // The first token has no predecessor to fall back on: until the other master has taken it
  // from the store, that master refuses it. Rotations are what this test is about.
  auto accepts = [&](Node& master) {
    auto t = jsonGet(readFile(bob.dataDir() + "/routes.json"),
                     {"source", route, "current", "token"});
    return t && curl({"-k", master.externalUrl("/x"), "-H",
                      "Kuscia-Host: echo.mycompany-secretflow-master.svc", "-H",
                      "Kuscia-Source: bob", "-H", "Kuscia-Token: " + *t})
                        .status == 200;
  };
  ASSERT_TRUE(waitUntil([&] { return accepts(a) && accepts(b); }, std::chrono::seconds(30)));

  // Only what bob logs from here on counts: the first token's window is behind us.
  const size_t logFrom = bob.process().stderrText().size();
  // Four callers, reaching bob's workers and through them both masters.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::mutex mu;
  std::set<std::string> tokens, masters;
  std::vector<std::string> failures;
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      while (!stop) {
        HttpReply r = ask();
        std::lock_guard lock(mu);
        auto token = jsonGet(r.body, {"headers", "kuscia-token"});
        if (r.status == 200 && token) {
          ++ok;
          tokens.insert(*token);
          masters.insert(jsonGet(r.body, {"name"}).value_or(""));
        } else if (failures.size() < 5) {
          failures.push_back(std::to_string(r.status) + " " + r.header("kuscia-error-message") +
                             (r.status == 0 ? " (curl: " + r.curlStderr + ")" : ""));
        }
      }
    });
  }
  bool rotated = waitUntil(
      [&] {
        std::lock_guard lock(mu);
        return tokens.size() >= 4 || !failures.empty();
      },
      std::chrono::seconds(90), std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : callers) t.join();
  for (const std::string& f : failures) ADD_FAILURE() << "refused during a rotation: " << f;
  EXPECT_TRUE(rotated) << "tokens seen: " << tokens.size();
  EXPECT_GT(ok.load(), 20);
  std::vector<int> spread = balancer.connectionsPerBackend();
  EXPECT_EQ(masters, (std::set<std::string>{"master-a", "master-b"}))
      << "connections relayed to a: " << spread[0] << ", to b: " << spread[1];
  // bob's own calls to the masters (its route list, every 2 s) were never refused either: a
  // refusal makes it drop its token and negotiate afresh.
  EXPECT_EQ(bob.process().stderrText().find("refused our route token", logFrom),
            std::string::npos);
}

}  // namespace
}  // namespace kgate::test
