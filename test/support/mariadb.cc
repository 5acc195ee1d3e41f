#include "support/mariadb.h"

#include <mysql.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "support/harness.h"

namespace kgate::test {
namespace {

struct Parts {
  std::string user, password, host, database;
  unsigned port = 3306;
};

// Only the shape the test server's DSN has: mysql://user:pass@host:port[/db].
Parts split(const std::string& dsn) {
  const std::string scheme = "mysql://";
  if (dsn.rfind(scheme, 0) != 0) throw std::runtime_error("not a mysql:// DSN: " + dsn);
  std::string rest = dsn.substr(scheme.size());
  Parts p;
  auto at = rest.rfind('@');
  std::string user = rest.substr(0, at);
  rest = rest.substr(at + 1);
  auto colon = user.find(':');
  p.user = user.substr(0, colon);
  if (colon != std::string::npos) p.password = user.substr(colon + 1);
  auto slash = rest.find('/');
  if (slash != std::string::npos) {
    p.database = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  auto portAt = rest.rfind(':');
  p.host = rest.substr(0, portAt);
  if (portAt != std::string::npos) p.port = std::stoul(rest.substr(portAt + 1));
  return p;
}

void runScript(const std::string& command, const std::string& dir) {
  CommandResult r = run({KGATE_MARIADB_TEST_SCRIPT, command, dir});
  if (r.exitCode != 0)
    throw std::runtime_error("mariadb-test-server.sh " + command + " " + dir + " failed: " + r.err);
}

// The server's directory. A named string, not a temporary built from the literal: GCC 12 warns
// wrongly (-Warray-bounds) about `std::string(literal) + "..."` at -O1.
const std::string& serverDir() {
  static const std::string dir = KGATE_MARIADB_TEST_DIR;
  return dir;
}

}  // namespace

std::string mariadbServerDsn() {
  if (const char* env = std::getenv("KGATE_TEST_MYSQL_DSN"); env && *env) return env;
  std::string dsn = readFile(serverDir() + "/dsn");
  while (!dsn.empty() && (dsn.back() == '\n' || dsn.back() == ' ')) dsn.pop_back();
  if (dsn.empty())
    throw std::runtime_error(
        "no MariaDB server for this test: run it through ctest (fixture \"mariadb\" starts one) "
        "or set KGATE_TEST_MYSQL_DSN=mysql://user:pass@127.0.0.1:3306");
  return dsn;
}

std::string mariadbServerCaFile() {
  if (const char* env = std::getenv("KGATE_TEST_MYSQL_DSN"); env && *env) return "";
  return serverDir() + "/ca.pem";
}

std::string mariadbQuery(const std::string& serverDsn, const std::string& sql) {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
  Parts p = split(serverDsn);
  MYSQL* m = mysql_init(nullptr);
  std::string out;
  if (!mysql_real_connect(m, p.host.c_str(), p.user.c_str(), p.password.c_str(),
                          p.database.empty() ? nullptr : p.database.c_str(), p.port, nullptr,
                          CLIENT_MULTI_STATEMENTS)) {
    out = std::string("error: ") + mysql_error(m);
    mysql_close(m);
    return out;
  }
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
    out = std::string("error: ") + mysql_error(m);
    mysql_close(m);
    return out;
  }
  do {
    if (MYSQL_RES* res = mysql_store_result(m)) {
      unsigned columns = mysql_num_fields(res);
      while (MYSQL_ROW row = mysql_fetch_row(res)) {
        unsigned long* lengths = mysql_fetch_lengths(res);
        for (unsigned c = 0; c < columns; ++c) {
          if (c) out += '|';
          out += row[c] ? std::string(row[c], lengths[c]) : "NULL";
        }
        out += '\n';
      }
      mysql_free_result(res);
    } else if (mysql_errno(m)) {
      out = std::string("error: ") + mysql_error(m);
      break;
    }
  } while (mysql_next_result(m) == 0);
  if (mysql_errno(m) && out.rfind("error: ", 0) != 0) out = std::string("error: ") + mysql_error(m);
  mysql_close(m);
  return out;
}

TestDatabase::TestDatabase() : server_(mariadbServerDsn()) {
  static std::atomic<int> counter{0};
  name_ = "kgate_t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::string r = mariadbQuery(server_, "DROP DATABASE IF EXISTS " + name_ + "; CREATE DATABASE " +
                                            name_ + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
  if (r.rfind("error: ", 0) == 0) throw std::runtime_error("creating test database: " + r);
}

TestDatabase::~TestDatabase() { mariadbQuery(server_, "DROP DATABASE IF EXISTS " + name_); }

std::string TestDatabase::query(const std::string& sql) const { return mariadbQuery(dsn(), sql); }

PrivateMariadbServer::PrivateMariadbServer(std::string dir) : dir_(std::move(dir)) {
  runScript("start", dir_);
}

PrivateMariadbServer::~PrivateMariadbServer() {
  try {
    runScript("stop", dir_);
  } catch (...) {
  }
}

std::string PrivateMariadbServer::dsn() const {
  std::string dsn = readFile(dir_ + "/dsn");
  while (!dsn.empty() && dsn.back() == '\n') dsn.pop_back();
  return dsn;
}

void PrivateMariadbServer::kill() { runScript("kill", dir_); }
void PrivateMariadbServer::restart() { runScript("restart", dir_); }

}  // namespace kgate::test
