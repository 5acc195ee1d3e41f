// Shared by the SqliteStore tests: a temporary directory per test, a raw sqlite3 connection to
// look at (or tamper with) the file behind the store's back, and record builders.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "auth/sqlite_store.h"

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

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kgate-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "authority.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<SqliteStore> open() {
    auto r = SqliteStore::open(path_);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : nullptr;
  }

  // Every row of every table, to show a refused call changed nothing.
  std::string snapshot() {
    RawDb raw(path_);
    return raw.query("SELECT * FROM domains ORDER BY id; SELECT * FROM deploy_tokens "
                     "ORDER BY token; SELECT * FROM routes ORDER BY name");
  }

  std::filesystem::path dir_;
  std::string path_;
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
