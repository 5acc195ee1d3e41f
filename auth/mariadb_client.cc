#include "auth/mariadb_client.h"

#include <errmsg.h>
#include <mysqld_error.h>

#include <cstring>
#include <mutex>

namespace kgate::auth::mariadb {
namespace {

// mysql_library_init is not thread-safe and mysql_init calls it lazily: run it once, first.
void initLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

// Binds one parameter; `lengths` must outlive the execute (the client reads it there).
void bindParam(MYSQL_BIND& b, const Param& p, unsigned long& length, long long& integer) {
  std::memset(&b, 0, sizeof b);
  if (const auto* text = std::get_if<std::string_view>(&p)) {
    length = text->size();
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = const_cast<char*>(text->data());
    b.buffer_length = length;
    b.length = &length;
  } else {
    integer = std::get<int64_t>(p);
    b.buffer_type = MYSQL_TYPE_LONGLONG;
    b.buffer = &integer;
  }
}

}  // namespace

bool DbError::connectionLost() const {
  switch (code) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_SSL_CONNECTION_ERROR:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    case ER_NET_READ_INTERRUPTED:
    case 4031:  // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8): the server closed an idle connection
      return true;
    default:
      return false;
  }
}

StoreErrorKind DbError::kind() const {
  switch (code) {
    case ER_DUP_ENTRY:
    case ER_CONSTRAINT_FAILED:
    case 3819:  // ER_CHECK_CONSTRAINT_VIOLATED (MySQL 8)
    case ER_NO_REFERENCED_ROW_2:
      return StoreErrorKind::Conflict;
    default:
      return StoreErrorKind::Unavailable;  // lost connections, lock timeouts, full disks...
  }
}

Result<std::unique_ptr<Connection>> Connection::open(const conf::MysqlDsn& dsn, bool withDatabase,
                                                     DbError* error) {
  initLibrary();
  MYSQL* m = mysql_init(nullptr);
  if (!m) return fail("out of memory creating a MariaDB client");
  std::unique_ptr<Connection> c(new Connection(m));
  unsigned timeout = static_cast<unsigned>(dsn.timeout.count());
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  // A dead server must not hang the control thread: every read and write is bounded too.
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  my_bool off = 0, on = 1;
  mysql_options(m, MYSQL_OPT_RECONNECT, &off);  // a silent reconnect would drop a transaction
  if (dsn.tls != conf::MysqlDsn::Tls::Off) {
    mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on);
    my_bool verify = dsn.tls == conf::MysqlDsn::Tls::Verify ? 1 : 0;
    mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    if (!dsn.tlsCa.empty()) mysql_options(m, MYSQL_OPT_SSL_CA, dsn.tlsCa.c_str());
  }
  if (!mysql_real_connect(m, dsn.host.c_str(), dsn.user.c_str(), dsn.password.c_str(),
                          withDatabase ? dsn.database.c_str() : nullptr, dsn.port, nullptr,
                          CLIENT_FOUND_ROWS)) {
    DbError e = c->lastError();
    if (error) *error = e;
    return fail(e.message);
  }
  return c;
}

Connection::~Connection() { mysql_close(mysql_); }

DbError Connection::lastError() {
  DbError e{mysql_errno(mysql_), mysql_error(mysql_)};
  if (e.connectionLost()) broken_ = true;
  return e;
}

DbError Connection::statementError(MYSQL_STMT* s) {
  DbError e{mysql_stmt_errno(s), mysql_stmt_error(s)};
  if (e.connectionLost()) broken_ = true;
  return e;
}

std::optional<DbError> Connection::run(std::string_view sql) {
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) return lastError();
  // Drain any result set, so the connection is ready for the next statement.
  if (MYSQL_RES* r = mysql_store_result(mysql_)) mysql_free_result(r);
  else if (mysql_errno(mysql_) != 0) return lastError();
  return std::nullopt;
}

std::variant<Connection::Stmt, DbError> Connection::prepareAndRun(
    std::string_view sql, std::initializer_list<Param> params) {
  Stmt s(mysql_stmt_init(mysql_));
  if (!s) return lastError();
  if (mysql_stmt_prepare(s.get(), sql.data(), sql.size()) != 0) return statementError(s.get());
  std::vector<MYSQL_BIND> binds(params.size());
  std::vector<unsigned long> lengths(params.size());
  std::vector<long long> integers(params.size());
  size_t i = 0;
  for (const Param& p : params) {
    bindParam(binds[i], p, lengths[i], integers[i]);
    ++i;
  }
  if (mysql_stmt_param_count(s.get()) != params.size())
    return DbError{CR_UNKNOWN_ERROR, "statement expects " +
                                         std::to_string(mysql_stmt_param_count(s.get())) +
                                         " values, got " + std::to_string(params.size())};
  if (!binds.empty() && mysql_stmt_bind_param(s.get(), binds.data())) return statementError(s.get());
  if (mysql_stmt_execute(s.get()) != 0) return statementError(s.get());
  return s;
}

std::variant<uint64_t, DbError> Connection::execute(std::string_view sql,
                                                    std::initializer_list<Param> params) {
  auto ran = prepareAndRun(sql, params);
  if (auto* e = std::get_if<DbError>(&ran)) return *e;
  return static_cast<uint64_t>(mysql_stmt_affected_rows(std::get<Stmt>(ran).get()));
}

std::variant<std::vector<Row>, DbError> Connection::query(std::string_view sql,
                                                          std::initializer_list<Param> params) {
  auto ran = prepareAndRun(sql, params);
  if (auto* e = std::get_if<DbError>(&ran)) return *e;
  MYSQL_STMT* s = std::get<Stmt>(ran).get();
  const unsigned columns = mysql_stmt_field_count(s);
  // Lengths first (zero-size buffers), then each column fetched into a string of that size.
  std::vector<MYSQL_BIND> binds(columns);
  std::vector<unsigned long> lengths(columns);
  std::vector<my_bool> nulls(columns), truncated(columns);
  for (unsigned c = 0; c < columns; ++c) {
    std::memset(&binds[c], 0, sizeof binds[c]);
    binds[c].buffer_type = MYSQL_TYPE_STRING;
    binds[c].length = &lengths[c];
    binds[c].is_null = &nulls[c];
    binds[c].error = &truncated[c];
  }
  if (columns > 0 && mysql_stmt_bind_result(s, binds.data())) return statementError(s);
  if (mysql_stmt_store_result(s) != 0) return statementError(s);
  std::vector<Row> rows;
  for (;;) {
    int rc = mysql_stmt_fetch(s);
    if (rc == MYSQL_NO_DATA) break;
    if (rc == 1) return statementError(s);
    Row row(columns);
    for (unsigned c = 0; c < columns; ++c) {
      if (nulls[c]) continue;
      std::string value(lengths[c], '\0');
      if (lengths[c] > 0) {
        MYSQL_BIND b;
        std::memset(&b, 0, sizeof b);
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = value.data();
        b.buffer_length = value.size();
        if (mysql_stmt_fetch_column(s, &b, c, 0) != 0) return statementError(s);
      }
      row[c] = std::move(value);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace kgate::auth::mariadb
