// Internal to SqliteStore: the versioned schema and how it is applied, plus the small RAII layer
// over the sqlite3 C API that both the migrations and the store use. Not a public interface.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/store.h"
#include "conf/result.h"

namespace kgate::auth::sqlite {

// One prepared statement. Values are always bound, never spliced into SQL. The first failure
// (prepare or bind) is remembered and returned by step(), so call sites check once.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  int step();  // SQLITE_ROW, SQLITE_DONE or an (extended) error code

  int64_t int64(int column) const;
  std::string text(int column) const;

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  int rc_ = SQLITE_OK;
};

// Runs a statement that returns no rows (or whose rows do not matter); SQLITE_OK or the error.
int execute(sqlite3* db, std::string_view sql);

// BEGIN [IMMEDIATE] ... COMMIT; rolls back on destruction unless committed. IMMEDIATE takes the
// write lock up front, so two writers serialise on it (waiting up to the busy timeout) instead of
// one failing mid-transaction when it tries to upgrade a read lock.
class Transaction {
 public:
  enum Mode { Deferred, Immediate };
  Transaction(sqlite3* db, Mode mode);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  int begun() const { return beginRc_; }  // SQLITE_OK when the transaction is open
  int commit();

 private:
  sqlite3* db_;
  int beginRc_;
  bool open_ = false;
};

// A failed sqlite3 call as a StoreError: busy/locked/I/O -> Unavailable, corrupt -> Corrupt,
// constraint -> Conflict. `what` says what was being done (one line, never a token value).
StoreError errorOf(sqlite3* db, int rc, const std::string& what);

// The newest schema version this build knows.
int latestSchemaVersion();

// Brings the schema of an open database up to latestSchemaVersion(), one transaction per step.
// Fails, changing nothing, on a database from a newer kgate or an SQLite file that is not ours.
Result<void> migrate(sqlite3* db, const std::string& path, int64_t now);

}  // namespace kgate::auth::sqlite
