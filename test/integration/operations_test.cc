// Running a node: metrics, access logs, reload without loss, drain on SIGTERM, and limits that
// cut off bad clients while everyone else is served.
#include <gtest/gtest.h>

#include <sched.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "integration/node.h"
#include "support/raw_client.h"

namespace kgate::test {
namespace {

// alice (internal port) -> bob (external, plain HTTP unless bobProtocol_ says otherwise) -> bob's
// echo service.
class Operations : public ::testing::Test {
 protected:
  void start(const std::string& bobExtra = "", const std::string& aliceExtra = "") {
    upstream_.emplace(Upstream::Options{.ip = "127.0.0.3", .name = "bob-echo"});
    alice_.emplace(dir_, NodeSpec{.domain = "alice", .ip = "127.0.0.2", .protocol = "NOTLS"});
    bob_.emplace(dir_, NodeSpec{.domain = "bob", .ip = "127.0.0.3", .protocol = bobProtocol_});
    connectPeers(*alice_, *bob_);
    bob_->appendConfig("services:\n  echo: " + upstream_->url() + "\n" + bobExtra);
    if (!aliceExtra.empty()) alice_->appendConfig(aliceExtra);
    alice_->start();
    bob_->start();
  }
  HttpReply viaAlice(const std::string& path, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{alice_->internalUrl(path), "-H", "Host: echo.bob.svc"};
    args.insert(args.end(), extra.begin(), extra.end());
    return curl(args);
  }

  TempDir dir_;
  std::string bobProtocol_ = "NOTLS";  // bob's external listener (--protocol at init)
  std::optional<Upstream> upstream_;
  std::optional<Node> alice_, bob_;
};

TEST_F(Operations, MetricsAndHealth) {
  start();
  ASSERT_EQ(viaAlice("/x").status, 200);
  ASSERT_EQ(viaAlice("/x", {"--http2-prior-knowledge"}).status, 200);
  curl({bob_->externalUrl("/"), "-H", "Kuscia-Source: alice", "-H", "Kuscia-Token: nope"});
  curl({alice_->internalUrl("/"), "-H", "Host: echo.carol.svc"});
  auto m = curl({bob_->metricsUrl()});
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.header("content-type").find("text/plain"), std::string::npos);
  for (std::string family : {"kgate_requests_total", "kgate_request_duration_seconds",
                             "kgate_auth_failures_total", "kgate_open_connections",
                             "kgate_upstream_failures_total", "kgate_ready", "kgate_build_info",
                             "kgate_certificate_expiry_timestamp_seconds"})
    EXPECT_NE(m.body.find("# TYPE " + family), std::string::npos) << family;
  EXPECT_EQ(bob_->metric("kgate_requests_total{listener=\"external\",peer=\"alice\",code=\"200\","
                         "cause=\"via_upstream\"}"),
            2);
  EXPECT_EQ(bob_->metric("kgate_auth_failures_total{reason=\"token_mismatch\"}"), 1);
  // An unauthenticated source never becomes a label.
  EXPECT_EQ(bob_->metric("kgate_requests_total{listener=\"external\",peer=\"\",code=\"401\","
                         "cause=\"token_mismatch\"}"),
            1);
  EXPECT_EQ(alice_->metric("kgate_requests_total{listener=\"internal\",peer=\"\",code=\"404\","
                           "cause=\"route_not_found\"}"),
            1);
  EXPECT_EQ(bob_->metric("kgate_request_duration_seconds_count{listener=\"external\","
                         "peer=\"alice\"}"),
            2);
  EXPECT_EQ(curl({bob_->metricsUrl("/healthz")}).status, 200);
  EXPECT_EQ(curl({bob_->metricsUrl("/ready")}).body, "ready\n");
}

TEST_F(Operations, UpstreamFailuresAreCounted) {
  start("limits:\n  connectTimeout: 2s", "");
  bob_->replaceAppended(bob_->appended() + "\n");  // no change; keeps the helper honest
  uint16_t closed = freePort("127.0.0.3");
  bob_->replaceAppended("routes:\n  - destination: alice\n    endpoint: " + alice_->externalUrl("") +
                        "\n    token: \"" + tokenFor("bob-alice") + "\"\ntokens:\n  alice: [\"" +
                        tokenFor("alice-bob") + "\"]\nservices:\n  echo: " + upstream_->url() +
                        "\n  dead: http://127.0.0.3:" + std::to_string(closed));
  bob_->reload();
  auto r = curl({alice_->internalUrl("/"), "-H", "Host: dead.bob.svc"});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(bob_->metric("kgate_upstream_failures_total{peer=\"alice\",kind=\"connect\"}"), 1);
}

TEST_F(Operations, AccessLogsHaveOneLinePerRequestAndNoSecrets) {
  start();
  ASSERT_EQ(viaAlice("/logged?q=1", {"-H", "Cookie: session=s3cr3t-cookie"}).status, 200);
  curl({bob_->externalUrl("/"), "-H", "Kuscia-Source: alice", "-H", "Kuscia-Token: wrong-token-xyz"});
  std::string internal, external;
  ASSERT_TRUE(waitUntil(
      [&] {
        internal = readFile(alice_->logFile("internal.log"));
        external = readFile(bob_->logFile("external.log"));
        return std::count(external.begin(), external.end(), '\n') >= 2 && !internal.empty();
      },
      std::chrono::seconds(5)));
  EXPECT_NE(internal.find("\"GET /logged?q=1 HTTP/1.1\""), std::string::npos) << internal;
  EXPECT_NE(internal.find(" 200 via_upstream "), std::string::npos) << internal;
  {  // request bytes, response bytes, duration and the upstream's time to its head, in ms
    std::istringstream fields(internal.substr(internal.find(" 200 via_upstream ") + 18));
    std::string requestBytes, responseBytes, durationMs, upstreamMs;
    fields >> requestBytes >> responseBytes >> durationMs >> upstreamMs;
    EXPECT_GE(std::atof(upstreamMs.c_str()), 0.0);
    EXPECT_NE(upstreamMs.find('.'), std::string::npos) << "upstream time: " << upstreamMs;
  }
  EXPECT_EQ(internal.rfind("127.0.0.", 0), 0u) << internal;  // the client's address first
  EXPECT_NE(internal.find(" - ["), std::string::npos) << internal;
  EXPECT_NE(external.find(" alice echo.bob.svc \"GET /logged?q=1 HTTP/1.1\""), std::string::npos)
      << external;
  EXPECT_NE(external.find(" 401 token_mismatch "), std::string::npos) << external;
  // No token, wrong or right, and no cookie in any log or output of either node.
  std::vector<std::string> secrets{tokenFor("alice-bob"), tokenFor("bob-alice"),
                                   "wrong-token-xyz", "s3cr3t-cookie"};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (!entry.is_regular_file() || entry.path().extension() == ".yaml") continue;
    std::string name = entry.path().filename();
    if (name.find(".key") != std::string::npos || name == "token") continue;
    std::string text = readFile(entry.path());
    for (const auto& s : secrets)
      EXPECT_EQ(text.find(s), std::string::npos) << s << " leaked into " << entry.path();
  }
}

TEST_F(Operations, ReloadRotatesTokensWithoutDroppingTraffic) {
  start();
  // A download that spans both reloads.
  Process download({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                    "--limit-rate", "50M", alice_->internalUrl("/bytes/100000000"), "-H",
                    "Host: echo.bob.svc"},
                   dir_.path(), ProcessOptions{.name = "download"});
  // Rotation: bob accepts old and new, then alice switches, then bob drops the old.
  std::string oldToken = tokenFor("alice-bob"), newToken = tokenFor("alice-bob-2");
  auto bobConfig = [&](const std::string& tokens) {
    return "routes:\n  - destination: alice\n    endpoint: " + alice_->externalUrl("") +
           "\n    token: \"" + tokenFor("bob-alice") + "\"\ntokens:\n  alice: [" + tokens +
           "]\nservices:\n  echo: " + upstream_->url();
  };
  bob_->replaceAppended(bobConfig("\"" + oldToken + "\", \"" + newToken + "\""));
  bob_->reload();
  EXPECT_EQ(viaAlice("/during").status, 200);
  alice_->replaceAppended("routes:\n  - destination: bob\n    endpoint: " + bob_->externalUrl("") +
                          "\n    token: \"" + newToken + "\"\ntokens:\n  bob: [\"" +
                          tokenFor("bob-alice") + "\"]");
  alice_->reload();
  auto after = viaAlice("/after");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(jsonGet(after.body, {"headers", "kuscia-token"}), newToken);
  bob_->replaceAppended(bobConfig("\"" + newToken + "\""));
  bob_->reload();
  auto stale = curl({bob_->externalUrl("/"), "-H", "Kuscia-Source: alice", "-H",
                     "Kuscia-Token: " + oldToken, "-H", "Kuscia-Host: echo.bob.svc"});
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(viaAlice("/final").status, 200);

  ASSERT_TRUE(download.waitExit(std::chrono::seconds(60)).has_value());
  EXPECT_EQ(download.exitCode(), 0) << download.stderrText();
  EXPECT_EQ(download.stdoutText(), "200 100000000");
}

TEST_F(Operations, BadReloadKeepsTheRunningConfig) {
  start();
  std::string good = bob_->appended();
  bob_->replaceAppended(good + "\nroutes: [this is not a route list\n");
  bob_->reload(/*expectOk=*/false);
  EXPECT_NE(bob_->process().stderrText().find("reload failed, keeping the running config"),
            std::string::npos);
  EXPECT_EQ(viaAlice("/still").status, 200);
  EXPECT_TRUE(bob_->running());
}

// Settings a reload cannot change are named, and the node goes on as it was started.
TEST_F(Operations, AReloadSaysWhichSettingsWaitForARestart) {
  start();
  bob_->replaceAppended(bob_->appended() + "\naccessLog: {enabled: false}\n");
  bob_->reload();
  EXPECT_NE(bob_->process().stderrText().find("reload: accessLog changed; it takes effect on "
                                              "restart"),
            std::string::npos)
      << bob_->process().stderrText();
  ASSERT_EQ(viaAlice("/after-reload").status, 200);
  EXPECT_TRUE(waitUntil(
      [&] {
        return readFile(bob_->logFile("external.log")).find("GET /after-reload") !=
               std::string::npos;
      },
      std::chrono::seconds(5)))
      << "still logging, as started";
}

TEST_F(Operations, DrainFinishesInFlightRequestsAndExitsZero) {
  start("limits:\n  drainTimeout: 20s");
  Process slow({"curl", "-sS", "-w", " %{http_code}", alice_->internalUrl("/delay/1500"), "-H",
                "Host: echo.bob.svc"},
               dir_.path(), ProcessOptions{.name = "slow"});
  // The request is in flight once bob's service has seen it.
  ASSERT_TRUE(waitUntil([&] { return upstream_->stats().requests >= 2; },
                        std::chrono::seconds(10)));
  bob_->process().signal(SIGTERM);
  EXPECT_TRUE(waitUntil([&] { return curl({bob_->metricsUrl("/ready")}).status == 503; },
                        std::chrono::seconds(5)));
  EXPECT_TRUE(waitUntil([&] { return !canConnect("127.0.0.3", bob_->externalPort()); },
                        std::chrono::seconds(5)))
      << "the external listener must stop accepting";
  ASSERT_TRUE(slow.waitExit(std::chrono::seconds(20)).has_value());
  EXPECT_EQ(slow.stdoutText(), "delayed\n 200");
  auto code = bob_->process().waitExit(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << bob_->process().describe();
}

TEST_F(Operations, DrainDeadlineCutsWhatIsStillRunning) {
  start("limits:\n  drainTimeout: 1s");
  Process hung({"curl", "-sS", alice_->internalUrl("/hang"), "-H", "Host: echo.bob.svc"},
               dir_.path(), ProcessOptions{.name = "hung"});
  ASSERT_TRUE(waitUntil([&] { return upstream_->stats().requests >= 2; },
                        std::chrono::seconds(10)));
  bob_->process().signal(SIGTERM);
  auto code = bob_->process().waitExit(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value()) << "drain must end at its deadline";
  EXPECT_EQ(*code, 0);
  EXPECT_NE(bob_->process().stderrText().find("drain deadline passed"), std::string::npos);
  // Cutting a request must also release its upstream side, so every worker winds down.
  EXPECT_EQ(bob_->process().stderrText().find("did not stop cleanly"), std::string::npos);
}

TEST_F(Operations, EarlyAnswerToAnUploadReachesTheClient) {
  start();
  // bob refuses the request (no token) while the client is still sending 20 MiB. Closing at
  // once would reset the connection and could destroy the 401 before the client reads it.
  writePatternFile(dir_.file("20m"), 20 << 20);
  for (int i = 0; i < 5; ++i) {
    auto r = curl({bob_->externalUrl("/upload"), "-H", "Expect:", "--data-binary",
                   "@" + dir_.file("20m")});
    EXPECT_EQ(r.status, 401) << "attempt " << i << ": curl " << r.curlExit << " " << r.curlStderr;
  }
}

// The Cpus_allowed_list of a /proc status file: the CPUs that task may run on.
std::string cpusAllowed(const std::filesystem::path& status) {
  std::ifstream in(status);
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("Cpus_allowed_list:"))
      return line.substr(line.find_first_not_of(" \t", 18));
  return "";
}

// Worker threads by name ("kgate-w<N>") with the CPUs each may run on.
std::map<std::string, std::string> workerCpus(pid_t pid) {
  std::map<std::string, std::string> out;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream comm(t.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name.starts_with("kgate-w")) out[name] = cpusAllowed(t.path() / "status");
  }
  return out;
}

TEST_F(Operations, WorkersThatFillTheCpusRunOnACpuEachUnlessTurnedOff) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  int cpus = CPU_COUNT(&mine);
  if (cpus < 2 || cpus > 256) GTEST_SKIP() << cpus << " CPUs";
  // bob: workers: 0, one per CPU this test may use, pinned (the default). alice: as many workers,
  // not pinned.
  upstream_.emplace(Upstream::Options{.ip = "127.0.0.3", .name = "bob-echo"});
  alice_.emplace(dir_, NodeSpec{.domain = "alice", .ip = "127.0.0.2", .protocol = "NOTLS"});
  bob_.emplace(dir_, NodeSpec{.domain = "bob", .ip = "127.0.0.3", .protocol = "NOTLS"});
  connectPeers(*alice_, *bob_);
  std::string workers = "workers: " + std::to_string(cpus) + "\n";
  bob_->dropGeneratedKey("workers");
  alice_->dropGeneratedKey("workers");
  bob_->appendConfig("services:\n  echo: " + upstream_->url() + "\nworkers: 0\n");
  alice_->appendConfig(workers + "pinWorkers: false\n");
  alice_->start();
  bob_->start();
  auto bobs = workerCpus(bob_->process().pid());
  ASSERT_EQ(bobs.size(), size_t(cpus));
  std::set<std::string> distinct;
  for (const auto& [name, list] : bobs) {
    EXPECT_EQ(list.find_first_of(",-"), std::string::npos) << name << ": " << list;
    distinct.insert(list);
  }
  EXPECT_EQ(distinct.size(), size_t(cpus));
  auto alices = workerCpus(alice_->process().pid());
  ASSERT_EQ(alices.size(), size_t(cpus));
  std::string all = cpusAllowed("/proc/self/status");
  for (const auto& [name, list] : alices) EXPECT_EQ(list, all) << name;
  EXPECT_EQ(viaAlice("/ok").status, 200);  // both still serve
}

// The kernel hashes each connection to one of bob's two workers (their SO_REUSEPORT sockets):
// left at that, 20 of them would land 10/10 less than one time in five; the balancer makes it
// every time. Each is served (a 401 answered) before the next opens, and all stay open; then
// six close and six more come.
void expectSpreadEvenly(Node& bob, RawOptions options) {
  auto connect = [&] {
    auto c = std::make_unique<RawConnection>(bob.ip(), bob.externalPort(), options);
    EXPECT_TRUE(c->ok()) << c->error();
    EXPECT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(c->readUntil([](const std::string& r) { return r.find("\r\n\r\n") != r.npos; }));
    EXPECT_EQ(c->received().substr(0, 12), "HTTP/1.1 401");
    return c;
  };
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 20; ++i) held.push_back(connect());
  EXPECT_EQ(bob.metric("kgate_worker_connections{worker=\"0\"}"), 10);
  EXPECT_EQ(bob.metric("kgate_worker_connections{worker=\"1\"}"), 10);
  // Connections that close are uncounted, so the next ones fill the emptier worker.
  held.resize(14);
  EXPECT_TRUE(waitUntil([&] {
    return bob.metric("kgate_worker_connections{worker=\"0\"}") +
               bob.metric("kgate_worker_connections{worker=\"1\"}") == 14;
  }, std::chrono::seconds(10)));
  for (int i = 0; i < 6; ++i) held.push_back(connect());
  EXPECT_EQ(bob.metric("kgate_worker_connections{worker=\"0\"}"), 10);
  EXPECT_EQ(bob.metric("kgate_worker_connections{worker=\"1\"}"), 10);
}

TEST_F(Operations, ConnectionsAreSpreadEvenlyOverTheWorkers) {
  start();  // two workers
  expectSpreadEvenly(*bob_, {});
}

// TLS connections are moved after their handshake (balancer.h): spread just the same, and the
// moved ones are served by the worker they moved to.
TEST_F(Operations, TlsConnectionsAreSpreadEvenlyAfterTheirHandshakes) {
  bobProtocol_ = "TLS";
  start();
  expectSpreadEvenly(*bob_, {.tls = true});
}

TEST_F(Operations, LimitsCutOffBadClientsAndEveryoneElseIsServed) {
  start("limits:\n  headerTimeout: 1s\n  maxBodyBytes: 1MiB");
  const std::string ip = "127.0.0.3";
  uint16_t port = bob_->externalPort();
  auto normal = [&] {
    EXPECT_EQ(viaAlice("/ok").status, 200);
    EXPECT_EQ(viaAlice("/ok", {"--http2-prior-knowledge"}).status, 200);
  };

  // Answered before its large body was sent: the answer announces the close that follows, so
  // no client reuses the connection. (Malformed requests are in hostile_test.cc.)
  auto early = rawExchange(ip, port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n");
  EXPECT_EQ(early.statusLine(), "HTTP/1.1 401");
  EXPECT_TRUE(early.hasHeaderLine("connection: close")) << early.bytes;
  normal();
  // A head that never finishes: 408 after headerTimeout, while others are served meanwhile.
  RawReply slowAnswer;
  std::thread slowClient([&] {
    slowAnswer = rawExchange(ip, port, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n");
  });
  normal();
  slowClient.join();
  EXPECT_EQ(slowAnswer.statusLine(), "HTTP/1.1 408");
  EXPECT_NE(slowAnswer.bytes.find("kuscia-error-message: Domain bob.bob-gw<--x return http code 408."),
            std::string::npos)
      << slowAnswer.bytes;
  // Bodies over maxBodyBytes: refused up front when the length is known, cut when it is not.
  writePatternFile(dir_.file("2m"), 2 << 20);
  EXPECT_EQ(viaAlice("/sink", {"--data-binary", "@" + dir_.file("2m")}).status, 413);
  EXPECT_EQ(viaAlice("/sink", {"-X", "POST", "-T", dir_.file("2m"), "-H",
                               "Transfer-Encoding: chunked"})
                .status,
            413);
  normal();
}

// Clients that connected and sent nothing yet (pools and browsers open connections ahead of
// need): TLS without ALPN, TLS with ALPN h2, and plain TCP on the internal listener.
class Silent : public ::testing::Test {
 protected:
  void start(const std::string& extra = "") {
    node_.emplace(dir_, NodeSpec{.domain = "alice", .ip = "127.0.0.3"});
    if (!extra.empty()) node_->appendConfig(extra);
    node_->start();
  }
  double open(const std::string& listener) {
    return node_->metric("kgate_open_connections{listener=\"" + listener + "\"}");
  }
  // Connects the three (TLS handshakes done on the client's side); returns once the node
  // counts them, which it does from accept.
  void connectSilently() {
    double external = open("external"), internal = open("internal");
    auto ip = node_->ip();
    clients_.push_back(std::make_unique<RawConnection>(ip, node_->externalPort(),
                                                       RawOptions{.tls = true}));
    clients_.push_back(std::make_unique<RawConnection>(
        ip, node_->externalPort(), RawOptions{.tls = true, .alpn = {"h2"}}));
    clients_.push_back(std::make_unique<RawConnection>(ip, node_->internalPort()));
    for (auto& c : clients_) ASSERT_TRUE(c->ok()) << c->error();
    ASSERT_TRUE(waitUntil(
        [&] { return open("external") >= external + 2 && open("internal") >= internal + 1; },
        std::chrono::seconds(10)));
  }

  TempDir dir_;
  std::optional<Node> node_;
  std::vector<std::unique_ptr<RawConnection>> clients_;
};

// Nothing of theirs is in flight: a drain closes them at once, and the node stops cleanly
// instead of waiting for them.
TEST_F(Silent, DrainClosesConnectionsThatSentNothing) {
  start("limits:\n  headerTimeout: 120s\n");  // only the drain can close them in time
  ASSERT_NO_FATAL_FAILURE(connectSilently());
  node_->process().signal(SIGTERM);
  for (auto& c : clients_) EXPECT_TRUE(c->readToClose(std::chrono::seconds(20)));
  auto code = node_->process().waitExit(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << node_->process().describe();
  EXPECT_EQ(node_->process().stderrText().find("did not stop cleanly"), std::string::npos)
      << node_->process().stderrText();
}

// headerTimeout covers the TLS handshake and the first byte: silent connections are closed and
// counted, and a client that does send is served as usual.
TEST_F(Silent, ConnectionsThatSendNothingAreClosedAfterTheHeaderTimeout) {
  start("limits:\n  headerTimeout: 3s\n");
  ASSERT_NO_FATAL_FAILURE(connectSilently());
  for (auto& c : clients_) EXPECT_TRUE(c->readToClose(std::chrono::seconds(20)));
  EXPECT_EQ(node_->metric("kgate_downstream_timeouts_total{listener=\"external\",kind=\"header\"}"),
            2);
  EXPECT_EQ(node_->metric("kgate_downstream_timeouts_total{listener=\"internal\",kind=\"header\"}"),
            1);
  EXPECT_EQ(curl({"-sk", node_->externalUrl("/")}).status, 401);
  // Every one of them was uncounted as it closed.
  EXPECT_TRUE(waitUntil([&] { return open("external") == 0 && open("internal") == 0; },
                        std::chrono::seconds(10)));
}

// Connections moved to the other worker after their handshake (balancer.h) count towards
// maxConnections while they move and after, and still meet the header timeout: silent TLS
// connections up to the limit, the moved ones among them, make the next one refused until they
// have timed out.
TEST_F(Silent, MovedConnectionsStillCountAndTimeOut) {
  constexpr int kLimit = 32;
  start("limits:\n  headerTimeout: 3s\n  maxConnections: " + std::to_string(kLimit) + "\n");
  auto connect = [&] {
    return std::make_unique<RawConnection>(node_->ip(), node_->externalPort(),
                                           RawOptions{.tls = true});
  };
  for (int i = 0; i < kLimit; ++i) {
    clients_.push_back(connect());
    ASSERT_TRUE(clients_.back()->ok()) << i << ": " << clients_.back()->error();
  }
  ASSERT_TRUE(waitUntil([&] { return open("external") == kLimit; }, std::chrono::seconds(10)));
  // None moves only if every second connection lands on the worker behind: 1 in 2^16.
  auto moved = [&] {
    return node_->metric("kgate_worker_connections_taken_over_total{worker=\"0\"}") +
           node_->metric("kgate_worker_connections_taken_over_total{worker=\"1\"}");
  };
  EXPECT_TRUE(waitUntil([&] { return moved() > 0; }, std::chrono::seconds(10)));
  EXPECT_FALSE(connect()->ok()) << "one over maxConnections";
  for (auto& c : clients_) EXPECT_TRUE(c->readToClose(std::chrono::seconds(20)));
  EXPECT_EQ(node_->metric("kgate_downstream_timeouts_total{listener=\"external\",kind=\"header\"}"),
            kLimit);
  EXPECT_TRUE(waitUntil([&] { return open("external") == 0; }, std::chrono::seconds(10)));
  EXPECT_TRUE(connect()->ok()) << "their places are free again";
}

}  // namespace
}  // namespace kgate::test
