// Internal to MariaDbStore: a small RAII layer over the MariaDB client library (libmariadb,
// which also speaks to MySQL). Prepared statements only: every value is bound, never spliced
// into SQL. Results come back as text and are converted by the caller, which keeps the binding
// code to one shape. Not a public interface.
#pragma once

#include <mysql.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/store.h"
#include "conf/datastore.h"
#include "conf/result.h"

namespace kgate::auth::mariadb {

// What went wrong in one call: the server's or client's error number and its message (which
// names tables and columns, never bound values).
struct DbError {
  unsigned code = 0;
  std::string message;
  // The connection is unusable (refused, lost, timed out, killed): drop it and maybe retry.
  bool connectionLost() const;
  StoreErrorKind kind() const;  // Unavailable, Conflict (duplicate key, CHECK) or Corrupt
};

using Param = std::variant<std::string_view, int64_t>;
using Row = std::vector<std::optional<std::string>>;  // nullopt = SQL NULL

class Connection {
 public:
  // Connects (TLS and timeouts as the DSN says) and selects `database` unless withDatabase is
  // false; utf8mb4, autocommit on.
  static Result<std::unique_ptr<Connection>> open(const conf::MysqlDsn& dsn, bool withDatabase,
                                                  DbError* error = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A statement that returns no rows: the number of rows it changed, or the error.
  std::variant<uint64_t, DbError> execute(std::string_view sql, std::initializer_list<Param> params = {});
  // A query: every row, or the error.
  std::variant<std::vector<Row>, DbError> query(std::string_view sql,
                                                std::initializer_list<Param> params = {});
  // Plain text protocol, for statements without values (BEGIN, COMMIT, DDL).
  std::optional<DbError> run(std::string_view sql);

  bool broken() const { return broken_; }  // a connection-level error was seen

 private:
  explicit Connection(MYSQL* m) : mysql_(m) {}
  DbError lastError();
  DbError statementError(MYSQL_STMT* s);
  struct StmtCloser {
    void operator()(MYSQL_STMT* s) const { mysql_stmt_close(s); }
  };
  using Stmt = std::unique_ptr<MYSQL_STMT, StmtCloser>;
  std::variant<Stmt, DbError> prepareAndRun(std::string_view sql,
                                            std::initializer_list<Param> params);

  MYSQL* mysql_;
  bool broken_ = false;
};

}  // namespace kgate::auth::mariadb

namespace kgate::auth::mariadb {

// The newest schema version this build knows (the same numbering as the SQLite store's).
int latestSchemaVersion();

// Brings the database's schema up to latestSchemaVersion() under a named lock, so masters
// starting together migrate once. DDL commits on its own in MySQL, so each step is written to be
// re-run safely (IF NOT EXISTS) should a crash land between a step and its version row. Fails,
// changing nothing, on a database from a newer kgate or one holding another program's tables.
// `where` names the database in messages.
Result<void> migrate(Connection& db, const std::string& where, int64_t now);

}  // namespace kgate::auth::mariadb
