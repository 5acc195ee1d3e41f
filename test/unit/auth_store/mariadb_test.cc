// MariaDbStore only: opening (unreachable server, refused credentials, missing database, schema
// from a newer kgate or another program, masters migrating at once) and a server that dies and
// comes back while the store is open.
#include <latch>
#include <thread>

#include "store_fixture.h"
#include "support/harness.h"

namespace kgate::auth::testing {
namespace {

using test::TestDatabase;

Result<std::shared_ptr<MariaDbStore>> openDsn(const std::string& url) {
  auto dsn = conf::parseMysqlDsn(url);
  if (!dsn) return fail(dsn.error());
  return MariaDbStore::open(*dsn);
}

// The test server's DSN with another password.
std::string withPassword(const std::string& dsn, const std::string& password) {
  auto colon = dsn.find(':', std::string("mysql://").size());
  auto at = dsn.rfind('@');
  return dsn.substr(0, colon + 1) + password + dsn.substr(at);
}

TEST(MariaDbStore, AnUnreachableServerIsOneClearLine) {
  uint16_t port = test::freePort();  // nothing listens there
  auto r = openDsn("mysql://kgate:secret-pw@127.0.0.1:" + std::to_string(port) + "/kgate");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("mariadb store kgate@127.0.0.1:" + std::to_string(port) +
                                "/kgate: cannot connect: ",
                            0),
            0u)
      << r.error();
  EXPECT_EQ(r.error().find('\n'), std::string::npos);
  EXPECT_EQ(r.error().find("secret-pw"), std::string::npos);
}

TEST(MariaDbStore, RefusedCredentialsAreOneClearLineWithoutThePassword) {
  TestDatabase db;
  auto r = openDsn(withPassword(db.dsn(), "not-the-password"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("cannot connect: Access denied for user 'kgate'"), std::string::npos)
      << r.error();
  EXPECT_EQ(r.error().find("not-the-password"), std::string::npos);
}

// The DSN's user swapped for the one the server admits only over TLS.
std::string asTlsUser(const std::string& dsn) {
  auto userAt = std::string("mysql://").size();
  return dsn.substr(0, userAt) + test::kMariadbTlsUser + dsn.substr(dsn.find(':', userAt));
}

TEST(MariaDbStore, TlsWhenTheDsnAsksForItWithTheServerVerified) {
  TestDatabase db;
  const std::string ca = test::mariadbServerCaFile();
  if (ca.empty()) GTEST_SKIP() << "the run's own server has the test CA; this one may not";
  const std::string tlsDsn = asTlsUser(db.dsn());
  auto plain = openDsn(tlsDsn);
  ASSERT_FALSE(plain.ok()) << "the user must be refused without TLS";
  EXPECT_NE(plain.error().find("Access denied for user 'kgate_tls'"), std::string::npos)
      << plain.error();

  auto verified = openDsn(tlsDsn + "?tls=true&tls-ca=" + ca);
  ASSERT_TRUE(verified.ok()) << verified.error();
  EXPECT_TRUE((*verified)->addDomain(lite("alice"), token("T1", "alice")).ok());

  // A server whose certificate does not chain to the CA we trust is refused.
  ScratchDir other;
  ASSERT_EQ(test::run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                       "-subj", "/CN=other-ca", "-keyout", other.file("k"), "-out",
                       other.file("ca.pem")})
                .exitCode,
            0);
  auto wrongCa = openDsn(tlsDsn + "?tls=true&tls-ca=" + other.file("ca.pem"));
  ASSERT_FALSE(wrongCa.ok());
  EXPECT_NE(wrongCa.error().find("cannot connect"), std::string::npos) << wrongCa.error();
  // skip-verify encrypts without checking, for tests only.
  EXPECT_TRUE(openDsn(tlsDsn + "?tls=skip-verify").ok());
}

TEST(MariaDbStore, AMissingDatabaseIsCreated) {
  TestDatabase db;
  ASSERT_EQ(db.query("DROP DATABASE " + db.name()), "");
  auto r = openDsn(db.dsn());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(db.query("SELECT version FROM schema_version ORDER BY version"),
            "1\n2\n3\n4\n5\n6\n");
  EXPECT_EQ(db.query("SELECT default_collation_name FROM information_schema.schemata WHERE "
                     "schema_name = DATABASE()"),
            "utf8mb4_bin\n");
}

TEST(MariaDbStore, MigrationsRunOnceAndReopeningChangesNothing) {
  TestDatabase db;
  ASSERT_TRUE(openDsn(db.dsn()).ok());
  std::string versions = db.query("SELECT version, applied_at FROM schema_version");
  ASSERT_EQ(db.query("SELECT count(*) FROM schema_version"), "6\n");
  ASSERT_TRUE(openDsn(db.dsn()).ok());
  EXPECT_EQ(db.query("SELECT version, applied_at FROM schema_version"), versions);
}

TEST(MariaDbStore, MastersOpeningANewDatabaseAtOnceMigrateItOnce) {
  TestDatabase db;
  std::array<Result<std::shared_ptr<MariaDbStore>>, 4> opened{fail("unset"), fail("unset"),
                                                              fail("unset"), fail("unset")};
  std::latch start(opened.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < opened.size(); ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      opened[i] = openDsn(db.dsn());
    });
  for (auto& t : threads) t.join();
  for (auto& r : opened) ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(db.query("SELECT version FROM schema_version ORDER BY version"),
            "1\n2\n3\n4\n5\n6\n");
  ASSERT_TRUE((*opened[0])->addDomain(lite("alice"), token("T1", "alice")).ok());
  EXPECT_EQ((*opened[3])->getDomain("alice").value->id, "alice");
}

TEST(MariaDbStore, ADatabaseFromANewerKgateIsRefusedUntouched) {
  TestDatabase db;
  ASSERT_TRUE(openDsn(db.dsn()).ok());
  ASSERT_EQ(db.query("INSERT INTO schema_version VALUES (99, 1)"), "");
  std::string before = db.query("SELECT * FROM schema_version; SHOW TABLES");
  auto r = openDsn(db.dsn());
  ASSERT_FALSE(r.ok());
  auto dsn = conf::parseMysqlDsn(db.dsn());
  EXPECT_EQ(r.error(), "mariadb store " + dsn->display() +
                           ": schema version 99 is newer than this kgate (knows up to 6); "
                           "upgrade kgate");
  EXPECT_EQ(db.query("SELECT * FROM schema_version; SHOW TABLES"), before);
}

TEST(MariaDbStore, AnotherProgramsDatabaseIsRefusedUntouched) {
  TestDatabase db;
  ASSERT_EQ(db.query("CREATE TABLE kine (id INT PRIMARY KEY)"), "");
  auto r = openDsn(db.dsn());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("holds tables but no kgate schema version"), std::string::npos)
      << r.error();
  EXPECT_EQ(db.query("SHOW TABLES"), "kine\n");
}

// The server is killed under an open store: calls fail as Unavailable (a 503 at the API), and
// once the server is back the same store works again, with everything acknowledged before.
TEST(MariaDbStore, AServerThatDiesAndReturnsIsRecoveredWithoutLosingAcknowledgedWrites) {
  ScratchDir dir;
  test::PrivateMariadbServer server(dir.file("mariadb"));
  auto r = openDsn(server.dsn() + "/kgate?timeout=2s");
  ASSERT_TRUE(r.ok()) << r.error();
  auto store = *r;
  ASSERT_TRUE(store->addDomain(lite("alice"), token("T1", "alice")).ok());

  server.kill();
  auto down = store->addDomain(lite("bob"), token("T2", "bob"));
  EXPECT_EQ(down.error.kind, StoreErrorKind::Unavailable) << down.error.message;
  EXPECT_NE(down.error.message.find("adding domain bob"), std::string::npos) << down.error.message;
  EXPECT_EQ(store->getDomain("alice").error.kind, StoreErrorKind::Unavailable);

  server.restart();
  auto again = store->addDomain(lite("bob"), token("T2", "bob"));
  ASSERT_TRUE(again.ok()) << again.error.message;
  auto domains = store->listDomains();
  ASSERT_TRUE(domains.ok()) << domains.error.message;
  ASSERT_EQ(domains.value->size(), 2u);
  EXPECT_EQ(domains.value->at(0).id, "alice");
  EXPECT_EQ(domains.value->at(1).id, "bob");
}

}  // namespace
}  // namespace kgate::auth::testing
