// Shared by the store tests: the contract fixture that runs each test on every backend, the
// SQLite-only fixture, a raw sqlite3 connection to look at (or tamper with) the file behind the
// store's back, and record builders.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "auth/mariadb_store.h"
#include "auth/sqlite_store.h"
#include "conf/datastore.h"
#include "support/mariadb.h"

namespace kgate::auth::testing {

// A plain connection; query() returns rows as "a|b|c" lines, or "error: ..." on failure.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  std::string query(const std::string& sql) {
    std::string out;
    const char* next = sql.c_str();
    while (*next) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db_, next, -1, &s, &next) != SQLITE_OK)
        return std::string("error: ") + sqlite3_errmsg(db_);
      if (!s) break;
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); ++c) {
          if (c) out += '|';
          const unsigned char* t = sqlite3_column_text(s, c);
          out += t ? reinterpret_cast<const char*>(t) : "NULL";
        }
        out += '\n';
      }
      sqlite3_finalize(s);
      if (rc != SQLITE_DONE) return std::string("error: ") + sqlite3_errmsg(db_);
    }
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// A fresh temporary directory per test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kgate-store-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
  }
  ~ScratchDir() { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

enum class Backend { Sqlite, Mariadb };

inline std::string backendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::Sqlite ? "Sqlite" : "Mariadb";
}
inline void PrintTo(Backend b, std::ostream* os) { *os << (b == Backend::Sqlite ? "Sqlite" : "Mariadb"); }

// The Store contract, run against every backend: a test written with TEST_P on this fixture
// (or one derived from it) runs once on SQLite and once on MariaDB (a database of its own on
// the test run's server, test/support/mariadb.h).
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::Mariadb) db_ = std::make_unique<test::TestDatabase>();
  }

  std::shared_ptr<Store> open() {
    if (GetParam() == Backend::Sqlite) {
      auto r = SqliteStore::open(path_);
      EXPECT_TRUE(r.ok()) << r.error();
      return r.ok() ? std::shared_ptr<Store>(*r) : nullptr;
    }
    auto dsn = conf::parseMysqlDsn(db_->dsn());
    EXPECT_TRUE(dsn.ok()) << dsn.error();
    if (!dsn) return nullptr;
    auto r = MariaDbStore::open(*dsn);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? std::shared_ptr<Store>(*r) : nullptr;
  }

  // Rows as "a|b|c" lines, straight from the database (behind the store's back).
  std::string query(const std::string& sql) {
    if (GetParam() == Backend::Sqlite) return RawDb(path_).query(sql);
    return db_->query(sql);
  }

  // Every row of every table, to show a refused call changed nothing.
  std::string snapshot() {
    return query("SELECT * FROM domains ORDER BY id; SELECT * FROM deploy_tokens "
                 "ORDER BY token; SELECT * FROM routes ORDER BY name");
  }

  ScratchDir dir_;
  std::string path_ = dir_.file("authority.db");
  std::unique_ptr<test::TestDatabase> db_;
};

#define KGATE_ON_EVERY_STORE(Suite)                                                          \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite,                                                  \
                           ::testing::Values(Backend::Sqlite, Backend::Mariadb), backendName)

// SQLite only: the file itself (modes, WAL, corruption, processes killed mid-write).
class SqliteStoreTest : public ::testing::Test {
 protected:
  std::shared_ptr<SqliteStore> open() {
    auto r = SqliteStore::open(path_);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : nullptr;
  }

  std::string snapshot() {
    RawDb raw(path_);
    return raw.query("SELECT * FROM domains ORDER BY id; SELECT * FROM deploy_tokens "
                     "ORDER BY token; SELECT * FROM routes ORDER BY name");
  }

  ScratchDir dir_;
  std::string path_ = dir_.file("authority.db");
};

inline DomainRecord lite(const std::string& id, int64_t createdAt = 100, int64_t ttl = 0) {
  return DomainRecord{id, "lite", "", createdAt, 0, ttl};
}

inline DeployToken token(const std::string& value, const std::string& domain,
                         int64_t createdAt = 100, int64_t expiresAt = 0) {
  return DeployToken{value, domain, TokenState::Unused, createdAt, 0, expiresAt};
}

inline RouteRecord route(const std::string& source, const std::string& destination,
                         const std::string& endpoint = "http://10.0.0.2:1080") {
  return RouteRecord{source + "-" + destination, source, destination, endpoint, "Token", 86400,
                     "", 100, 1};
}

inline std::string str(const RouteRecord& r) {
  return r.name + "|" + r.source + "|" + r.destination + "|" + r.endpoint + "|" +
         r.authentication + "|" + std::to_string(r.rollingPeriodSeconds) + "|" + r.transit + "|" +
         std::to_string(r.createdAt) + "|" + std::to_string(r.generation);
}

inline std::string str(const DomainRecord& d) {
  return d.id + "|" + d.role + "|" + d.certPem + "|" + std::to_string(d.createdAt) + "|" +
         std::to_string(d.registeredAt) + "|" + std::to_string(d.tokenTtlSeconds);
}

inline std::string str(const DeployToken& t) {
  return t.token + "|" + t.domain + "|" + std::string(toString(t.state)) + "|" +
         std::to_string(t.createdAt) + "|" + std::to_string(t.usedAt) + "|" +
         std::to_string(t.expiresAt);
}

}  // namespace kgate::auth::testing
