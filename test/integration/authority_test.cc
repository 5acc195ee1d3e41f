// The seed tutorial's registration steps with kgate's commands and real processes: a master,
// `kgate domain add alice` and `bob`, two lites registering with their deploy tokens, `domain
// list` showing both registered, a token reused by a third process refused, and a master
// restart that keeps everything.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <list>
#include <sstream>

#include "integration/node.h"

namespace kgate::test {
namespace {

// `kgate domain ...` run where the master's config is, as the tutorial's admin does.
CommandResult domainCmd(const TempDir& dir, const std::string& args) {
  return kgateIn(dir, "domain " + args);
}

std::string masterUrl(Node& master) { return master.externalUrl(""); }

class Authority : public ::testing::Test {
 protected:
  void SetUp() override {
    master_.emplace(dir_, NodeSpec{.domain = "mycompany-secretflow-master", .mode = "master",
                                   .seedDataDir = true});
    master_->start();
  }
  // Admits a domain and returns its deploy token, as `export ALICE_TOKEN=$(kgate domain add alice)`.
  std::string addDomain(const std::string& id) {
    auto r = domainCmd(dir_, "add " + id);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    std::string token = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(r.out, token + "\n") << "stdout must be the token and nothing else";
    return token;
  }
  Node& lite(const std::string& id, const std::string& ip, const std::string& token) {
    lites_.emplace_back(dir_, NodeSpec{.domain = id, .mode = "lite", .ip = ip,
                                       .masterEndpoint = masterUrl(*master_),
                                       .deployToken = token});
    return lites_.back();
  }

  TempDir dir_;
  std::optional<Node> master_;
  std::list<Node> lites_;
};

TEST_F(Authority, SeedWalkthroughRegistersTwoLites) {
  // curl -kvvv https://ip:18080 -> 401 on the master too.
  EXPECT_EQ(curl({"-k", master_->externalUrl("/")}).status, 401);
  std::string aliceToken = addDomain("alice");
  std::string bobToken = addDomain("bob");
  EXPECT_EQ(aliceToken.size(), 32u);
  for (char ch : aliceToken) EXPECT_EQ(std::string("01oO").find(ch), std::string::npos);
  EXPECT_NE(aliceToken, bobToken);
  EXPECT_EQ(domainCmd(dir_, "token alice").out, aliceToken + "\n");

  Node& alice = lite("alice", "127.0.0.2", aliceToken);
  Node& bob = lite("bob", "127.0.0.3", bobToken);
  alice.start();
  bob.start();

  // What the lite keeps: its certificate (CN=alice, issued by the master's CA), the master's
  // public key and CA, all 0600.
  std::string certs = alice.dataDir() + "/certs";
  for (std::string f : {"domain.crt", "master.pub", "master-ca.crt", "master.json"}) {
    struct stat st{};
    ASSERT_EQ(stat((certs + "/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  auto verify = run({"openssl", "verify", "-CAfile", master_->dataDir() + "/certs/ca.crt",
                     certs + "/domain.crt"});
  EXPECT_EQ(verify.exitCode, 0) << verify.out << verify.err;
  auto subject = run({"openssl", "x509", "-in", certs + "/domain.crt", "-noout", "-subject"});
  EXPECT_NE(subject.out.find("CN = alice"), std::string::npos) << subject.out;
  EXPECT_NE(readFile(certs + "/master.json").find("mycompany-secretflow-master"), std::string::npos);

  // The master shows both registered, with their certificates' fingerprints.
  auto list = domainCmd(dir_, "list");
  ASSERT_EQ(list.exitCode, 0) << list.err;
  auto fp = run({"openssl", "x509", "-in", certs + "/domain.crt", "-noout", "-fingerprint",
                 "-sha256"});
  std::string fingerprint = fp.out.substr(fp.out.find('=') + 1);
  fingerprint.pop_back();
  EXPECT_NE(list.out.find(fingerprint), std::string::npos) << list.out;
  for (std::string line : {"alice", "bob"}) {
    auto at = list.out.find("\n" + line + " ");
    ASSERT_NE(at, std::string::npos) << list.out;
    std::string row = list.out.substr(at + 1, list.out.find('\n', at + 1) - at - 1);
    EXPECT_NE(row.find(" yes "), std::string::npos) << row;
    EXPECT_NE(row.find("used, unused"), std::string::npos) << row;
  }
  EXPECT_EQ(list.out.find(aliceToken), std::string::npos) << "values only with --show-tokens";
  EXPECT_NE(domainCmd(dir_, "list --show-tokens").out.find(aliceToken), std::string::npos);

  // The used token was replaced by a fresh unused one.
  std::string next = domainCmd(dir_, "token alice").out;
  EXPECT_NE(next, aliceToken + "\n");
  EXPECT_EQ(next.size(), 33u);
}

TEST_F(Authority, UsedTokenIsRefusedToAnotherProcessWith409) {
  std::string token = addDomain("alice");
  lite("alice", "127.0.0.2", token).start();
  // A third process claims to be alice with a new key and the same, now used, token.
  Node& impostor = lite("alice", "127.0.0.4", token);
  auto r = impostor.startExpectingFailure();
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("registration refused by the master (HTTP 409): deploy token already used"),
            std::string::npos)
      << r.err;
}

TEST_F(Authority, RegistrationErrorsArePreciseAndLiteExitsWithTheReason) {
  addDomain("alice");
  auto unknownToken = lite("alice", "127.0.0.2", "abcdefghijkmnpqrstuvwxyzABCDEFGH")
                          .startExpectingFailure();
  EXPECT_EQ(unknownToken.exitCode, 1);
  EXPECT_NE(unknownToken.err.find("(HTTP 401)"), std::string::npos) << unknownToken.err;
  auto unknownDomain = lite("carol", "127.0.0.3", "abcdefghijkmnpqrstuvwxyzABCDEFGH")
                           .startExpectingFailure();
  EXPECT_NE(unknownDomain.err.find("(HTTP 404): domain carol not found"), std::string::npos)
      << unknownDomain.err;
  auto get = curl({"-k", master_->externalUrl("/register"), "-H",
                   "Kuscia-Host: kuscia-handshake.master.svc"});
  EXPECT_EQ(get.status, 405);
  auto junk = curl({"-k", master_->externalUrl("/register"), "-H",
                    "Kuscia-Host: kuscia-handshake.master.svc", "--data-binary", "{not json"});
  EXPECT_EQ(junk.status, 400);
  // A lite pointed at something that is not a gateway's external port refuses to start.
  lites_.emplace_back(dir_, NodeSpec{.domain = "alice", .mode = "lite", .ip = "127.0.0.5",
                                     .masterEndpoint = master_->metricsUrl(""),
                                     .deployToken = "x"});
  auto lost = lites_.back().startExpectingFailure();
  EXPECT_EQ(lost.exitCode, 1);
  EXPECT_NE(lost.err.find("without kuscia-error-message"), std::string::npos) << lost.err;
}

TEST_F(Authority, LiteRestartsWithoutItsTokenAndMasterRestartKeepsState) {
  std::string token = addDomain("alice");
  Node& alice = lite("alice", "127.0.0.2", token);
  alice.start();
  std::string before = domainCmd(dir_, "list --show-tokens").out;
  EXPECT_EQ(master_->stop(), 0);
  master_->start();
  EXPECT_EQ(domainCmd(dir_, "list --show-tokens").out, before);
  // The lite no longer needs the token: its certificate is what registers it.
  EXPECT_EQ(alice.stop(), 0);
  alice.dropGeneratedKey("liteDeployToken");
  alice.start();
  struct stat st{};
  ASSERT_EQ(stat((master_->dataDir() + "/authority.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(Authority, AdminCommandsRefuseBadInputAndChangeNothing) {
  addDomain("alice");
  std::string before = domainCmd(dir_, "list --show-tokens").out;
  auto dup = domainCmd(dir_, "add alice");
  EXPECT_EQ(dup.exitCode, 1);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;
  EXPECT_TRUE(dup.out.empty());
  auto bad = domainCmd(dir_, "add Not_Valid");
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_NE(bad.err.find("invalid"), std::string::npos) << bad.err;
  auto reserved = domainCmd(dir_, "add master");
  EXPECT_NE(reserved.err.find("reserved"), std::string::npos) << reserved.err;
  auto unknown = domainCmd(dir_, "token nobody");
  EXPECT_EQ(unknown.exitCode, 1);
  EXPECT_NE(unknown.err.find("not found"), std::string::npos) << unknown.err;
  EXPECT_EQ(domainCmd(dir_, "list --show-tokens").out, before);
  EXPECT_EQ(domainCmd(dir_, "frobnicate").exitCode, 2);
}

TEST_F(Authority, AdminApiNeedsClientCertificateAndToken) {
  std::string certs = master_->dataDir() + "/certs";
  std::string url = "https://127.0.0.1:" + std::to_string(master_->apiPort()) + "/api/v1/domains";
  std::string body = "{\"domain\":\"mallory\"}";
  std::string token = readFile(certs + "/token").substr(0, 32);
  auto noCert = curl({"--cacert", certs + "/ca.crt", url, "-H", "Token: " + token,
                      "--data-binary", body});
  EXPECT_EQ(noCert.status, 401);
  EXPECT_NE(noCert.body.find("client certificate"), std::string::npos) << noCert.body;
  // A certificate the CA issued for another purpose (the API's own server certificate) is no
  // better than none.
  auto serverCert = curl({"--cacert", certs + "/ca.crt", "--cert", certs + "/api.crt", "--key",
                          certs + "/api.key", url, "-H",
                          "Token: " + token, "--data-binary",
                          body});
  EXPECT_EQ(serverCert.status, 401);
  // Nor is a client certificate from the same CA, as every lite gets one when it registers: only
  // the node's own admin client certificate opens the API.
  std::string key = master_->dataDir() + "/mallory.key", csr = master_->dataDir() + "/mallory.csr",
              crt = master_->dataDir() + "/mallory.crt", ext = master_->dataDir() + "/mallory.ext";
  writeFile(ext, "extendedKeyUsage=clientAuth\n");
  ASSERT_EQ(run({"openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=mallory",
                 "-keyout", key, "-out", csr})
                .exitCode,
            0);
  ASSERT_EQ(
      run({"openssl", "x509", "-req", "-in", csr, "-CA", certs + "/ca.crt", "-CAkey",
           certs + "/ca.key", "-set_serial", "77", "-days", "1", "-extfile", ext, "-out", crt})
          .exitCode,
      0);
  auto liteLike = curl({"--cacert", certs + "/ca.crt", "--cert", crt, "--key", key, url, "-H",
                        "Token: " + token, "--data-binary", body});
  EXPECT_EQ(liteLike.status, 401) << liteLike.body;
  EXPECT_NE(liteLike.body.find("admin client certificate"), std::string::npos) << liteLike.body;
  auto wrongToken = curl({"--cacert", certs + "/ca.crt", "--cert", certs + "/admin-client.crt",
                          "--key", certs + "/admin-client.key", url, "-H", "Token: nope",
                          "--data-binary", body});
  EXPECT_EQ(wrongToken.status, 401);
  EXPECT_NE(wrongToken.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(domainCmd(dir_, "list").out.find("mallory"), std::string::npos);
}

TEST_F(Authority, TokensCanExpire) {
  auto r = domainCmd(dir_, "add alice --ttl 1s");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::string token = r.out.substr(0, 32);
  // Wait until the master considers it expired (its clock, not ours).
  ASSERT_TRUE(waitUntil([&] { return domainCmd(dir_, "list").out.find("expired") != std::string::npos; },
                        std::chrono::seconds(10)));
  auto refused = lite("alice", "127.0.0.2", token).startExpectingFailure();
  EXPECT_NE(refused.err.find("(HTTP 401): deploy token expired"), std::string::npos) << refused.err;
  std::string fresh = domainCmd(dir_, "token alice").out;
  EXPECT_NE(fresh.substr(0, 32), token);
}

TEST_F(Authority, KilledMasterLosesNoCommittedDomain) {
  std::vector<std::string> committed;
  for (int i = 0; i < 5; ++i) {
    auto r = domainCmd(dir_, "add d" + std::to_string(i));
    if (r.exitCode == 0) committed.push_back("d" + std::to_string(i));
  }
  // Adds in flight when the master dies: each either committed whole or not at all.
  std::vector<Process> inflight;
  for (int i = 5; i < 15; ++i)
    inflight.emplace_back(std::vector<std::string>{"sh", "-c", "cd '" + dir_.path() + "' && '" +
                                                   kgateBinary() + "' domain add d" +
                                                   std::to_string(i)},
                          dir_.path(), ProcessOptions{.name = "add" + std::to_string(i)});
  master_->process().signal(SIGKILL);
  for (auto& p : inflight) p.waitExit(std::chrono::seconds(30));
  master_->start();
  auto list = domainCmd(dir_, "list");
  ASSERT_EQ(list.exitCode, 0) << list.err;
  for (const auto& d : committed) EXPECT_NE(list.out.find("\n" + d + " "), std::string::npos) << d;
  // Every domain present has its unused token: none is half-written.
  std::istringstream rows(list.out);
  std::string row;
  std::getline(rows, row);  // header
  while (std::getline(rows, row)) EXPECT_NE(row.find("unused"), std::string::npos) << row;
}

}  // namespace
}  // namespace kgate::test
