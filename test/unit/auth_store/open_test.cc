// SqliteStore::open: file mode, pragmas, schema migrations, and the files it must refuse.
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "store_fixture.h"

namespace kgate::auth::testing {
namespace {

unsigned modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 07777;  // "missing": never a real answer
  return st.st_mode & 0777;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST_F(SqliteStoreTest, CreatesTheFileAndItsWalWithMode0600WhateverTheUmask) {
  mode_t old = ::umask(0);  // the most permissive umask must not widen the mode
  auto store = open();
  ::umask(old);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addDomain(lite("alice"), token("T1", "alice")).ok());
  EXPECT_EQ(modeOf(path_), 0600u);
  EXPECT_EQ(modeOf(path_ + "-wal"), 0600u);  // SQLite copies the database file's mode
  EXPECT_EQ(modeOf(path_ + "-shm"), 0600u);
}

TEST_F(SqliteStoreTest, JournalModeIsWal) {
  auto store = open();
  ASSERT_TRUE(store);
  RawDb raw(path_);
  EXPECT_EQ(raw.query("PRAGMA journal_mode"), "wal\n");
}

TEST_F(SqliteStoreTest, TokensReferenceTheirDomain) {
  auto store = open();
  ASSERT_TRUE(store);
  RawDb raw(path_);
  EXPECT_EQ(raw.query("SELECT \"table\", \"from\", \"to\" FROM "
                      "pragma_foreign_key_list('deploy_tokens')"),
            "domains|domain|id\n");
}

TEST_F(SqliteStoreTest, MigrationsRunOnceAndReopeningChangesNothing) {
  { ASSERT_TRUE(open()); }
  std::string firstVersions;
  {
    RawDb raw(path_);
    firstVersions = raw.query("SELECT version, applied_at FROM schema_version");
    EXPECT_EQ(firstVersions.substr(0, 2), "1|");
    EXPECT_EQ(raw.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND "
                        "name NOT LIKE 'sqlite_%' ORDER BY name"),
              "authority_ca\nchanges\ndeploy_tokens\ndeploy_tokens_by_domain\ndomains\n"
              "route_reports\nroute_tokens\nroutes\nschema_version\n");
  }
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addDomain(lite("alice"), token("T1", "alice")).ok());
  store.reset();
  ASSERT_TRUE(open());
  RawDb raw(path_);
  EXPECT_EQ(raw.query("SELECT version, applied_at FROM schema_version"), firstVersions);
  EXPECT_EQ(raw.query("SELECT id FROM domains"), "alice\n");
}

TEST_F(SqliteStoreTest, ADatabaseFromANewerKgateIsRefused) {
  { ASSERT_TRUE(open()); }
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.query("INSERT INTO schema_version (version, applied_at) VALUES (7, 0)"), "");
  }
  std::string before = snapshot();
  auto r = SqliteStore::open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "sqlite store " + path_ +
                           ": schema version 7 is newer than this kgate (knows up to 6); "
                           "upgrade kgate");
  EXPECT_EQ(snapshot(), before);
}

TEST_F(SqliteStoreTest, AGarbageFileIsRefusedAndLeftByteIdentical) {
  std::string garbage;
  for (int i = 0; i < 600; ++i) garbage += "not a database, honest ";
  for (const std::string& bytes : {garbage, std::string("tiny"), garbage.substr(0, 100)}) {
    writeFile(path_, bytes);
    ::chmod(path_.c_str(), 0640);
    auto r = SqliteStore::open(path_);
    ASSERT_FALSE(r.ok()) << bytes.size() << "-byte file opened";
    EXPECT_NE(r.error().find(path_), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("not an SQLite database"), std::string::npos) << r.error();
    EXPECT_EQ(readFile(path_), bytes);
    EXPECT_EQ(modeOf(path_), 0640u);  // an existing file keeps its mode
    EXPECT_FALSE(std::filesystem::exists(path_ + "-wal"));
    EXPECT_FALSE(std::filesystem::exists(path_ + "-journal"));
  }
}

TEST_F(SqliteStoreTest, AnotherProgramsSqliteDatabaseIsRefused) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE notes (body TEXT)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  auto r = SqliteStore::open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("not a kgate store"), std::string::npos) << r.error();
  RawDb raw(path_);
  EXPECT_EQ(raw.query("SELECT name FROM sqlite_master"), "notes\n");
}

TEST_F(SqliteStoreTest, AMissingDirectoryIsAClearFailure) {
  auto r = SqliteStore::open(dir_.file("no/such/dir/a.db"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("no/such/dir/a.db"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("No such file or directory"), std::string::npos) << r.error();
}

TEST_F(SqliteStoreTest, AnEmptyPathIsRefused) { EXPECT_FALSE(SqliteStore::open("").ok()); }

}  // namespace
}  // namespace kgate::auth::testing
