// Tests against a real MariaDB server: the one CTest starts for the run (fixture "mariadb",
// test/support/mariadb-test-server.sh), or any server named by $KGATE_TEST_MYSQL_DSN
// (mysql://user:pass@host:port, no database: e.g. a MySQL 8 to check compatibility). Each test
// works in a database of its own, so tests run in parallel against one server.
#pragma once

#include <string>

namespace kgate::test {

// The server's DSN without a database; throws std::runtime_error saying how to get one.
std::string mariadbServerDsn();
// The CA of the run's server (for tls-ca=), and the user that may only connect over TLS: the
// same password as the DSN's user. Empty when $KGATE_TEST_MYSQL_DSN names another server.
std::string mariadbServerCaFile();
inline constexpr const char* kMariadbTlsUser = "kgate_tls";

// A fresh, empty database on that server, dropped on destruction.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // mysql://user:pass@host:port/<name>, for the store or a node's datastoreEndpoint.
  std::string dsn() const { return server_ + "/" + name_; }
  // Runs statements (separated by ';') in this database; rows as "a|b|c" lines (NULL for SQL
  // NULL), or "error: <message>".
  std::string query(const std::string& sql) const;

 private:
  std::string server_, name_;
};

// A MariaDB server of one's own (for tests that stop it), in `dir`: started on construction.
class PrivateMariadbServer {
 public:
  explicit PrivateMariadbServer(std::string dir);
  ~PrivateMariadbServer();
  std::string dsn() const;  // without a database
  void kill();              // SIGKILL: the database vanishes mid-flight
  void restart();           // same port and data
 private:
  std::string dir_;
};

// Runs statements against the server at `serverDsn` (no database selected unless the DSN has
// one); the same result format as TestDatabase::query.
std::string mariadbQuery(const std::string& serverDsn, const std::string& sql);

}  // namespace kgate::test
