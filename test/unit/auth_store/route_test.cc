// Routes on every store: add/get/list/delete/bump, their refusals leaving the file as it was, what
// survives a reopen, and the v1 -> v2 migration of a database made before routes existed.
#include "store_fixture.h"

namespace kgate::auth::testing {
namespace {

// Schema version 1 exactly as the first release created it (auth/migrations.cc, step 1).
constexpr const char* kSchemaV1 = R"sql(
  CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY NOT NULL,
    applied_at INTEGER NOT NULL
  );
  CREATE TABLE domains (
    id                TEXT    PRIMARY KEY NOT NULL CHECK (id <> ''),
    role              TEXT    NOT NULL,
    cert_pem          TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    registered_at     INTEGER NOT NULL DEFAULT 0,
    token_ttl_seconds INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE deploy_tokens (
    token      TEXT    PRIMARY KEY NOT NULL CHECK (token <> ''),
    domain     TEXT    NOT NULL REFERENCES domains (id),
    state      TEXT    NOT NULL CHECK (state IN ('unused', 'used')),
    created_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX deploy_tokens_by_domain ON deploy_tokens (domain, created_at);
  INSERT INTO schema_version (version, applied_at) VALUES (1, 42);
)sql";

class RouteStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store_ = open();
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->addDomain(lite("alice"), token("T1", "alice")).ok());
    ASSERT_TRUE(store_->addDomain(lite("bob"), token("T2", "bob")).ok());
  }
  std::shared_ptr<Store> store_;
};

TEST_P(RouteStoreTest, AddGetAndListKeepEveryField) {
  RouteRecord r{"alice-bob", "alice", "bob", "https://bob.example:443/gw", "MTLS", 300,
                "",          1234,    1};
  auto added = store_->addRoute(r);
  ASSERT_TRUE(added.ok()) << added.error.message;
  EXPECT_EQ(str(*added.value), "alice-bob|alice|bob|https://bob.example:443/gw|MTLS|300||1234|1");

  auto got = store_->getRoute("alice-bob");
  ASSERT_TRUE(got.ok()) << got.error.message;
  EXPECT_EQ(str(*got.value), str(r));

  RouteRecord transit{"alice-carol", "alice", "carol", "", "None", 0, "bob", 1300, 1};
  ASSERT_TRUE(store_->addRoute(transit).ok());
  auto all = store_->listRoutes();
  ASSERT_TRUE(all.ok()) << all.error.message;
  ASSERT_EQ(all.value->size(), 2u);
  EXPECT_EQ(str(all.value->at(1)), "alice-carol|alice|carol||None|0|bob|1300|1");
}

TEST_P(RouteStoreTest, ListIsSortedByName) {
  for (const char* dst : {"zed", "bob", "mia"}) {
    ASSERT_TRUE(store_->addRoute(route("alice", dst)).ok());
  }
  ASSERT_TRUE(store_->addRoute(route("aaron", "bob")).ok());
  auto all = store_->listRoutes();
  ASSERT_TRUE(all.ok());
  std::string names;
  for (const RouteRecord& r : *all.value) names += r.name + " ";
  EXPECT_EQ(names, "aaron-bob alice-bob alice-mia alice-zed ");
}

TEST_P(RouteStoreTest, EmptyListIsNotAnError) {
  auto all = store_->listRoutes();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all.value->empty());
}

TEST_P(RouteStoreTest, AddingAnExistingNameIsAConflictAndChangesNothing) {
  ASSERT_TRUE(store_->addRoute(route("alice", "bob")).ok());
  std::string before = snapshot();
  RouteRecord other = route("alice", "bob", "http://elsewhere:80");
  other.generation = 9;
  auto again = store_->addRoute(other);
  EXPECT_EQ(again.error.kind, StoreErrorKind::Conflict);
  EXPECT_EQ(again.error.message, "route alice-bob already exists");
  EXPECT_FALSE(again.value.has_value());
  EXPECT_EQ(snapshot(), before);
}

// The master's own domain is not a row of `domains`, yet routes lead to it: the store leaves
// the ends to the Authority.
TEST_P(RouteStoreTest, EndsNeedNotBeDomainsOfTheStore) {
  auto r = store_->addRoute(route("alice", "root", ""));
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_TRUE(store_->addRoute(route("root", "ghost")).ok());
  EXPECT_EQ(query(GetParam() == Backend::Sqlite
                      ? "SELECT count(*) FROM pragma_foreign_key_list('routes')"
                      : "SELECT count(*) FROM information_schema.key_column_usage WHERE "
                        "table_schema = DATABASE() AND table_name = 'routes' AND "
                        "referenced_table_name IS NOT NULL"),
            "0\n");
}

TEST_P(RouteStoreTest, TheSchemaRefusesValuesNoCallerShouldSend) {
  std::string before = snapshot();
  RouteRecord bad = route("alice", "bob");
  bad.authentication = "token";  // canonical spelling only
  EXPECT_EQ(store_->addRoute(bad).error.kind, StoreErrorKind::Conflict);
  bad = route("alice", "bob");
  bad.rollingPeriodSeconds = -1;
  EXPECT_EQ(store_->addRoute(bad).error.kind, StoreErrorKind::Conflict);
  bad = route("alice", "bob");
  bad.name = "";
  EXPECT_EQ(store_->addRoute(bad).error.kind, StoreErrorKind::Conflict);
  EXPECT_EQ(snapshot(), before);
}

TEST_P(RouteStoreTest, UnknownNamesAreNotFound) {
  ASSERT_TRUE(store_->addRoute(route("bob", "alice")).ok());
  std::string before = snapshot();
  auto got = store_->getRoute("alice-bob");
  EXPECT_EQ(got.error.kind, StoreErrorKind::NotFound);
  EXPECT_EQ(got.error.message, "route alice-bob does not exist");
  auto deleted = store_->deleteRoute("alice-bob");
  EXPECT_EQ(deleted.error.kind, StoreErrorKind::NotFound);
  EXPECT_EQ(deleted.error.message, "route alice-bob does not exist");
  auto bumped = store_->bumpRouteGeneration("alice-bob");
  EXPECT_EQ(bumped.error.kind, StoreErrorKind::NotFound);
  EXPECT_EQ(bumped.error.message, "route alice-bob does not exist");
  EXPECT_EQ(snapshot(), before);
}

TEST_P(RouteStoreTest, DeleteRemovesOnlyThatRoute) {
  ASSERT_TRUE(store_->addRoute(route("alice", "bob")).ok());
  ASSERT_TRUE(store_->addRoute(route("bob", "alice")).ok());
  auto deleted = store_->deleteRoute("alice-bob");
  ASSERT_TRUE(deleted.ok()) << deleted.error.message;
  EXPECT_EQ(store_->getRoute("alice-bob").error.kind, StoreErrorKind::NotFound);
  EXPECT_TRUE(store_->getRoute("bob-alice").ok());
  EXPECT_EQ(store_->deleteRoute("alice-bob").error.kind, StoreErrorKind::NotFound);
  // The name is free again.
  EXPECT_TRUE(store_->addRoute(route("alice", "bob")).ok());
}

TEST_P(RouteStoreTest, BumpGenerationAddsOneAndReturnsTheRow) {
  ASSERT_TRUE(store_->addRoute(route("alice", "bob")).ok());
  auto first = store_->bumpRouteGeneration("alice-bob");
  ASSERT_TRUE(first.ok()) << first.error.message;
  EXPECT_EQ(first.value->generation, 2);
  EXPECT_EQ(first.value->endpoint, "http://10.0.0.2:1080");
  auto second = store_->bumpRouteGeneration("alice-bob");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value->generation, 3);
  EXPECT_EQ(store_->getRoute("alice-bob").value->generation, 3);
}

TEST_P(RouteStoreTest, RoutesAndGenerationsSurviveAReopen) {
  ASSERT_TRUE(store_->addRoute(route("alice", "bob")).ok());
  ASSERT_TRUE(store_->addRoute(route("bob", "alice")).ok());
  ASSERT_TRUE(store_->bumpRouteGeneration("bob-alice").ok());
  ASSERT_TRUE(store_->deleteRoute("alice-bob").ok());
  store_.reset();

  auto reopened = open();
  ASSERT_TRUE(reopened);
  auto all = reopened->listRoutes();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value->size(), 1u);
  EXPECT_EQ(str(all.value->at(0)), "bob-alice|bob|alice|http://10.0.0.2:1080|Token|86400||100|2");
}

TEST_P(RouteStoreTest, ASecondConnectionSeesCommittedRoutes) {
  auto other = open();
  ASSERT_TRUE(other);
  ASSERT_TRUE(store_->addRoute(route("alice", "bob")).ok());
  EXPECT_TRUE(other->getRoute("alice-bob").ok());
  EXPECT_EQ(other->addRoute(route("alice", "bob")).error.kind, StoreErrorKind::Conflict);
}

TEST_P(RouteStoreTest, ReportsAreReplacedPerSideAndGoWithTheirRoute) {
  ASSERT_TRUE(store_->addRoute(route("alice", "bob")).ok());
  ASSERT_TRUE(store_->addRoute(route("bob", "alice")).ok());
  ASSERT_TRUE(store_->putReports({{"alice-bob", "source", "{\"revision\":1}", 100},
                                  {"alice-bob", "destination", "{\"revisions\":[1]}", 100},
                                  {"bob-alice", "source", "{}", 50}})
                  .ok());
  ASSERT_TRUE(store_->putReports({{"alice-bob", "source", "{\"revision\":2}", 110}}).ok());
  auto all = store_->listReports(0);
  ASSERT_TRUE(all.ok()) << all.error.message;
  std::string listed;
  for (const ReportRecord& r : *all.value)
    listed += r.route + "|" + r.side + "|" + r.json + "|" + std::to_string(r.receivedAt) + "\n";
  EXPECT_EQ(listed,
            "alice-bob|destination|{\"revisions\":[1]}|100\n"
            "alice-bob|source|{\"revision\":2}|110\n"
            "bob-alice|source|{}|50\n");
  EXPECT_EQ(store_->listReports(100).value->size(), 2u);  // bob-alice's is older
  EXPECT_TRUE(store_->putReports({}).ok());

  ASSERT_TRUE(store_->deleteRoute("alice-bob").ok());
  auto left = store_->listReports(0);
  ASSERT_EQ(left.value->size(), 1u);
  EXPECT_EQ(left.value->at(0).route, "bob-alice");
  // A second store (another master on the same database) sees the same.
  EXPECT_EQ(open()->listReports(0).value->size(), 1u);
}

TEST_P(RouteStoreTest, TheLatestTokenStateWins) {
  ASSERT_TRUE(store_->addRoute(route("alice", "bob")).ok());
  auto first = store_->putTokenState({"alice-bob", "{\"r\":3}", 3, 200});
  ASSERT_TRUE(first.ok()) << first.error.message;
  EXPECT_TRUE(*first.value);
  // Another master's state from an earlier handshake arrives late: it does not replace it.
  EXPECT_FALSE(*open()->putTokenState({"alice-bob", "{\"r\":4}", 4, 100}).value);
  // A later one does, whatever its revision (a rehandshake starts again at 1).
  EXPECT_TRUE(*store_->putTokenState({"alice-bob", "{\"r\":1}", 1, 300}).value);
  auto all = store_->listTokenStates();
  ASSERT_TRUE(all.ok()) << all.error.message;
  ASSERT_EQ(all.value->size(), 1u);
  EXPECT_EQ(all.value->at(0).json, "{\"r\":1}");
  EXPECT_EQ(all.value->at(0).revision, 1);
  EXPECT_EQ(all.value->at(0).updatedAt, 300);
  ASSERT_TRUE(store_->deleteRoute("alice-bob").ok());
  EXPECT_TRUE(store_->listTokenStates().value->empty());
}

TEST_P(RouteStoreTest, TheChangeCountMovesWithEveryWriteMastersActOn) {
  auto count = [&] {
    auto c = store_->changeCount();
    EXPECT_TRUE(c.ok()) << c.error.message;
    return c.ok() ? *c.value : -1;
  };
  int64_t last = count();
  // Each write that changes what the ends of routes are told moves it, seen by every store on
  // the database (another master); reads, reports and refused writes do not.
  auto moved = [&] {
    int64_t now = count();
    bool up = now > last;
    EXPECT_EQ(open()->changeCount().value, now);
    last = now;
    return up;
  };
  ASSERT_TRUE(store_->addRoute(route("alice", "bob")).ok());
  EXPECT_TRUE(moved());
  ASSERT_TRUE(store_->bumpRouteGeneration("alice-bob").ok());
  EXPECT_TRUE(moved());
  ASSERT_TRUE(*store_->putTokenState({"alice-bob", "{}", 1, 200}).value);
  EXPECT_TRUE(moved());
  ASSERT_FALSE(*store_->putTokenState({"alice-bob", "{}", 1, 100}).value);  // older: not stored
  EXPECT_FALSE(moved());
  ASSERT_TRUE(store_->setCertificate("alice", "PEM", 300).ok());
  EXPECT_TRUE(moved());
  ASSERT_EQ(*store_->consumeDeployToken("bob", "T2", "PEM", token("T3", "bob"), 300).value,
            ConsumeOutcome::Consumed);
  EXPECT_TRUE(moved());
  ASSERT_EQ(*store_->consumeDeployToken("bob", "T2", "PEM", token("T4", "bob"), 300).value,
            ConsumeOutcome::AlreadyUsed);
  EXPECT_FALSE(moved());
  ASSERT_TRUE(store_->putReports({{"alice-bob", "source", "{}", 300}}).ok());
  ASSERT_TRUE(store_->listRoutes().ok());
  ASSERT_EQ(store_->addRoute(route("alice", "bob")).error.kind, StoreErrorKind::Conflict);
  EXPECT_FALSE(moved());
  ASSERT_TRUE(store_->deleteRoute("alice-bob").ok());
  EXPECT_TRUE(moved());
}

KGATE_ON_EVERY_STORE(RouteStoreTest);

// A store written by the first release (schema 1, no routes) opens, keeps its data and gains
// the routes table in one step recorded as version 2.
TEST(RouteMigration, AVersion1DatabaseMigratesToVersion2) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kgate-v1-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::filesystem::path dir = tmpl;
  const std::string path = (dir / "authority.db").string();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, kSchemaV1, nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO domains VALUES ('alice', 'lite', 'PEM', 100, 150, 0);"
                           "INSERT INTO deploy_tokens VALUES ('T1', 'alice', 'used', 100, 150, 0);"
                           "INSERT INTO deploy_tokens VALUES ('T2', 'alice', 'unused', 150, 0, 0);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  {
    RawDb raw(path);
    ASSERT_EQ(raw.query("SELECT count(*) FROM sqlite_master WHERE name = 'routes'"), "0\n");
  }

  auto opened = SqliteStore::open(path);
  ASSERT_TRUE(opened.ok()) << opened.error();
  auto store = *opened;
  {
    RawDb raw(path);
    EXPECT_EQ(raw.query("SELECT version FROM schema_version ORDER BY version"),
              "1\n2\n3\n4\n5\n6\n");
    EXPECT_EQ(raw.query("SELECT applied_at FROM schema_version WHERE version = 1"), "42\n");
    EXPECT_EQ(raw.query("SELECT name FROM pragma_table_info('routes') ORDER BY cid"),
              "name\nsource\ndestination\nendpoint\nauthentication\nrolling_period_seconds\n"
              "transit\ncreated_at\ngeneration\n");
  }
  // The old data is intact and usable.
  auto alice = store->getDomain("alice");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(str(*alice.value), "alice|lite|PEM|100|150|0");
  auto tokens = store->listTokens("alice", 200);
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens.value->size(), 2u);
  EXPECT_EQ(tokens.value->at(1).state, TokenState::Unused);
  // And routes work.
  ASSERT_TRUE(store->addRoute(route("alice", "root", "")).ok());
  store.reset();

  // Reopening a migrated store changes nothing.
  std::string versions;
  {
    RawDb raw(path);
    versions = raw.query("SELECT version, applied_at FROM schema_version");
  }
  {
    auto again = SqliteStore::open(path);
    ASSERT_TRUE(again.ok()) << again.error();
    EXPECT_TRUE((*again)->getRoute("alice-root").ok());
  }
  {
    RawDb raw(path);
    EXPECT_EQ(raw.query("SELECT version, applied_at FROM schema_version"), versions);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kgate::auth::testing
