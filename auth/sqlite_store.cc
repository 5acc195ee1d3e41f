#include "auth/sqlite_store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <thread>

#include "auth/migrations.h"
#include "auth/token_set.h"

namespace kgate::auth {
namespace {

using sqlite::Statement;
using sqlite::Transaction;

constexpr int kBusyTimeoutMs = 5000;

template <class T>
StoreResult<T> success(T value) {
  return StoreResult<T>{std::move(value), StoreError{}};
}

template <class T>
StoreResult<T> failed(StoreError e) {
  return StoreResult<T>{std::nullopt, std::move(e)};
}

Failure osFailure(const std::string& path, const std::string& what) {
  return fail("sqlite store " + path + ": " + what + ": " + std::strerror(errno));
}

// Creates the file 0600 before SQLite sees it: SQLite would create it with 0644 (less umask),
// and its -wal and -shm files copy the database file's mode.
Result<void> createIfMissing(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return {};  // exists (or another process just made it): keep its mode
    return osFailure(path, "cannot create the database file");
  }
  int rc = ::fchmod(fd, 0600);  // exact, whatever the umask
  int err = errno;
  ::close(fd);
  errno = err;
  if (rc != 0) return osFailure(path, "cannot set mode 0600");
  // The new directory entry must be durable before writes into the file are acknowledged.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return osFailure(path, "cannot open its directory");
  rc = ::fsync(dfd);
  err = errno;
  ::close(dfd);
  errno = err;
  if (rc != 0 && err != EINVAL) return osFailure(path, "cannot sync its directory");
  return {};
}

// Runs a query returning one value as text ("" when it returns no row); SQLITE_OK or the error.
int queryText(sqlite3* db, const char* sql, std::string& out) {
  Statement s(db, sql);
  int rc = s.step();
  out = rc == SQLITE_ROW ? s.text(0) : "";
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Bumps Store::changeCount() inside the caller's write transaction.
int countChange(sqlite3* db) {
  return Statement(db, "UPDATE changes SET count = count + 1 WHERE id = 1").step();
}

// Switching a database to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY at once,
// without calling the busy handler, when another connection is switching it at the same moment
// (two nodes starting on a new file). Retried here for as long as the busy timeout.
int switchToWal(sqlite3* db, std::string& mode) {
  auto giveUpAt = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (;;) {
    int rc = queryText(db, "PRAGMA journal_mode = WAL", mode);
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= giveUpAt) return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int64_t unixNow() { return static_cast<int64_t>(std::time(nullptr)); }

constexpr const char* kSelectDomain =
    "SELECT id, role, cert_pem, created_at, registered_at, token_ttl_seconds FROM domains";

DomainRecord domainFrom(const Statement& s) {
  return DomainRecord{s.text(0), s.text(1), s.text(2), s.int64(3), s.int64(4), s.int64(5)};
}

// Inserts `t` as an unused token of `domain`; the sqlite3_step result (SQLITE_DONE on success).
int insertToken(sqlite3* db, const std::string& domain, const DeployToken& t) {
  Statement s(db, "INSERT INTO deploy_tokens (token, domain, state, created_at, used_at, "
                  "expires_at) VALUES (?1, ?2, 'unused', ?3, 0, ?4)");
  s.bind(1, t.token).bind(2, domain).bind(3, t.createdAt).bind(4, t.expiresAt);
  return s.step();
}

DeployToken storedToken(const std::string& domain, const DeployToken& t) {
  return DeployToken{t.token, domain, TokenState::Unused, t.createdAt, 0, t.expiresAt};
}

bool sameToken(const std::string& stored, const TokenSet::Digest& presented) {
  // Digests compared in constant time, as TokenSet does: the database lookup is by domain, so
  // how long a guess takes does not depend on how much of it is right.
  TokenSet::Digest d = digestOf(stored);
  return CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0;
}

constexpr const char* kSelectRoute =
    "SELECT name, source, destination, endpoint, authentication, rolling_period_seconds, "
    "transit, created_at, generation FROM routes";

RouteRecord routeFrom(const Statement& s) {
  return RouteRecord{s.text(0), s.text(1),  s.text(2),  s.text(3), s.text(4),
                     s.int64(5), s.text(6), s.int64(7), s.int64(8)};
}

StoreError routeNotFound(const std::string& name) {
  return {StoreErrorKind::NotFound, "route " + name + " does not exist"};
}

}  // namespace

void SqliteStore::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

StoreError SqliteStore::error(int rc, const std::string& what) const {
  return sqlite::errorOf(db_.get(), rc, what);
}

Result<std::shared_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  if (path.empty()) return fail("sqlite store: no database path given");
  if (auto created = createIfMissing(path); !created) return fail(created.error());

  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE, nullptr);
  Handle db(raw);  // closed on every early return, including a failed open
  auto sqlFailure = [&](int code, const std::string& what) {
    return fail(sqlite::errorOf(db.get(), code, "sqlite store " + path + ": " + what).message);
  };
  if (rc != SQLITE_OK) return sqlFailure(rc, "cannot open");
  if ((rc = sqlite3_busy_timeout(db.get(), kBusyTimeoutMs)) != SQLITE_OK)
    return sqlFailure(rc, "setting the busy timeout");

  // Read before anything writes: a file that is not a database fails here, untouched.
  std::string value;
  rc = queryText(db.get(), "SELECT count(*) FROM sqlite_master", value);
  if ((rc & 0xff) == SQLITE_NOTADB)
    return fail("sqlite store " + path +
                ": not an SQLite database (or encrypted); refusing to open it, file left as is");
  if (rc != SQLITE_OK) return sqlFailure(rc, "cannot read the database");

  // WAL: readers do not block the writer. synchronous=FULL: in WAL mode NORMAL may lose the
  // last commits on power loss, and a write must be durable before it is acknowledged.
  if ((rc = switchToWal(db.get(), value)) != SQLITE_OK)
    return sqlFailure(rc, "setting journal_mode=WAL");
  if (value != "wal")
    return fail("sqlite store " + path + ": journal_mode stays '" + value +
                "', WAL is required (is it on a network filesystem?)");
  struct Setting {
    const char* set;
    const char* get;
    const char* want;
  };
  for (const Setting& p : {Setting{"PRAGMA synchronous = FULL", "PRAGMA synchronous", "2"},
                           Setting{"PRAGMA foreign_keys = ON", "PRAGMA foreign_keys", "1"}}) {
    if ((rc = sqlite::execute(db.get(), p.set)) != SQLITE_OK ||
        (rc = queryText(db.get(), p.get, value)) != SQLITE_OK)
      return sqlFailure(rc, std::string("running ") + p.set);
    if (value != p.want)
      return fail("sqlite store " + path + ": " + p.set + " did not take effect");
  }

  if (auto migrated = sqlite::migrate(db.get(), path, unixNow()); !migrated)
    return fail(migrated.error());
  return std::shared_ptr<SqliteStore>(new SqliteStore(std::move(db), path));
}

StoreResult<DomainRecord> SqliteStore::addDomain(const DomainRecord& domain,
                                                 const DeployToken& firstToken) {
  using R = DomainRecord;
  if (!firstToken.domain.empty() && firstToken.domain != domain.id)
    return failed<R>({StoreErrorKind::Conflict, "the first deploy token of domain " + domain.id +
                                                    " names domain " + firstToken.domain});
  const std::string what = "adding domain " + domain.id;
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<R>(error(tx.begun(), what));
  int rc;
  {
    Statement s(db_.get(), "INSERT INTO domains (id, role, cert_pem, created_at, registered_at, "
                           "token_ttl_seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    s.bind(1, domain.id).bind(2, domain.role).bind(3, domain.certPem).bind(4, domain.createdAt);
    s.bind(5, domain.registeredAt).bind(6, domain.tokenTtlSeconds);
    rc = s.step();
  }
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    return failed<R>({StoreErrorKind::Conflict, "domain " + domain.id + " already exists"});
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what));
  rc = insertToken(db_.get(), domain.id, firstToken);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    return failed<R>({StoreErrorKind::Conflict,
                      what + ": its first deploy token is already in use"});
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what + ": inserting its first deploy token"));
  if ((rc = tx.commit()) != SQLITE_OK) return failed<R>(error(rc, what + ": commit"));
  return success(domain);
}

StoreResult<DomainRecord> SqliteStore::getDomain(const std::string& id) {
  Statement s(db_.get(), std::string(kSelectDomain) + " WHERE id = ?1");
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return success(domainFrom(s));
  if (rc == SQLITE_DONE)
    return failed<DomainRecord>({StoreErrorKind::NotFound, "domain " + id + " does not exist"});
  return failed<DomainRecord>(error(rc, "reading domain " + id));
}

StoreResult<std::vector<DomainRecord>> SqliteStore::listDomains() {
  Statement s(db_.get(), std::string(kSelectDomain) + " ORDER BY created_at, rowid");
  std::vector<DomainRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(domainFrom(s));
  if (rc != SQLITE_DONE) return failed<std::vector<DomainRecord>>(error(rc, "listing domains"));
  return success(std::move(out));
}

StoreResult<std::vector<DeployToken>> SqliteStore::listTokens(const std::string& domain,
                                                              int64_t now) {
  using R = std::vector<DeployToken>;
  const std::string what = "listing the deploy tokens of domain " + domain;
  Transaction tx(db_.get(), Transaction::Deferred);  // one snapshot for both queries
  if (tx.begun() != SQLITE_OK) return failed<R>(error(tx.begun(), what));
  int rc;
  {
    Statement exists(db_.get(), "SELECT 1 FROM domains WHERE id = ?1");
    rc = exists.bind(1, domain).step();
  }
  if (rc == SQLITE_DONE)
    return failed<R>({StoreErrorKind::NotFound, "domain " + domain + " does not exist"});
  if (rc != SQLITE_ROW) return failed<R>(error(rc, what));

  Statement s(db_.get(), "SELECT token, state, created_at, used_at, expires_at FROM deploy_tokens "
                         "WHERE domain = ?1 ORDER BY created_at, rowid");
  s.bind(1, domain);
  R out;
  while ((rc = s.step()) == SQLITE_ROW) {
    DeployToken t{s.text(0), domain, TokenState::Unused, s.int64(2), s.int64(3), s.int64(4)};
    std::string state = s.text(1);
    if (state == "used") {
      t.state = TokenState::Used;
    } else if (state != "unused") {
      return failed<R>({StoreErrorKind::Corrupt, what + ": unknown token state '" + state + "'"});
    } else if (t.expiresAt != 0 && t.expiresAt <= now) {
      t.state = TokenState::Expired;
    }
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what));
  return success(std::move(out));  // the read transaction ends (rolls back) with `tx`
}

StoreResult<DeployToken> SqliteStore::addToken(const DeployToken& token) {
  using R = DeployToken;
  const std::string what = "adding a deploy token to domain " + token.domain;
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<R>(error(tx.begun(), what));
  int rc;
  {
    Statement exists(db_.get(), "SELECT 1 FROM domains WHERE id = ?1");
    rc = exists.bind(1, token.domain).step();
  }
  if (rc == SQLITE_DONE)
    return failed<R>({StoreErrorKind::NotFound, "domain " + token.domain + " does not exist"});
  if (rc != SQLITE_ROW) return failed<R>(error(rc, what));
  rc = insertToken(db_.get(), token.domain, token);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    return failed<R>({StoreErrorKind::Conflict, what + ": that token is already in use"});
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what));
  if ((rc = tx.commit()) != SQLITE_OK) return failed<R>(error(rc, what + ": commit"));
  return success(storedToken(token.domain, token));
}

StoreResult<ConsumeOutcome> SqliteStore::consumeDeployToken(const std::string& domain,
                                                            const std::string& token,
                                                            const std::string& certPem,
                                                            const DeployToken& newToken,
                                                            int64_t now) {
  using R = ConsumeOutcome;
  if (!newToken.domain.empty() && newToken.domain != domain)
    return failed<R>({StoreErrorKind::Conflict, "the new deploy token for domain " + domain +
                                                    " names domain " + newToken.domain});
  const std::string what = "consuming a deploy token of domain " + domain;
  // The write lock is taken before the token is read, so a concurrent consumer of the same
  // token waits and then sees it used: check and change are one atomic step.
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<R>(error(tx.begun(), what));

  const TokenSet::Digest presented = digestOf(token);
  bool found = false;
  int64_t rowid = 0, expiresAt = 0;
  std::string state;
  int rc;
  {
    Statement s(db_.get(), "SELECT rowid, token, state, expires_at FROM deploy_tokens "
                           "WHERE domain = ?1");
    s.bind(1, domain);
    while ((rc = s.step()) == SQLITE_ROW) {
      if (sameToken(s.text(1), presented) && !found) {
        found = true;
        rowid = s.int64(0);
        state = s.text(2);
        expiresAt = s.int64(3);
      }
    }
  }
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what));
  // Every refusal returns before any write; `tx` then rolls back an empty transaction.
  if (!found) return success(ConsumeOutcome::UnknownToken);
  if (state == "used") return success(ConsumeOutcome::AlreadyUsed);
  if (state != "unused")
    return failed<R>({StoreErrorKind::Corrupt, what + ": unknown token state '" + state + "'"});
  if (expiresAt != 0 && expiresAt <= now) return success(ConsumeOutcome::Expired);

  {
    Statement s(db_.get(), "UPDATE deploy_tokens SET state = 'used', used_at = ?2 "
                           "WHERE rowid = ?1 AND state = 'unused'");
    rc = s.bind(1, rowid).bind(2, now).step();
  }
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what + ": marking it used"));
  if (sqlite3_changes(db_.get()) != 1)  // impossible under the write lock; never half-apply
    return failed<R>({StoreErrorKind::Corrupt, what + ": the token row changed under the lock"});
  {
    Statement s(db_.get(), "UPDATE domains SET cert_pem = ?1, registered_at = ?2 WHERE id = ?3");
    rc = s.bind(1, certPem).bind(2, now).bind(3, domain).step();
  }
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what + ": storing the certificate"));
  rc = insertToken(db_.get(), domain, newToken);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    return failed<R>({StoreErrorKind::Conflict, what + ": the new token is already in use"});
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what + ": inserting the new token"));
  if ((rc = countChange(db_.get())) != SQLITE_DONE) return failed<R>(error(rc, what));
  if ((rc = tx.commit()) != SQLITE_OK) return failed<R>(error(rc, what + ": commit"));
  return success(ConsumeOutcome::Consumed);
}

StoreResult<bool> SqliteStore::setCertificate(const std::string& domain,
                                              const std::string& certPem, int64_t now) {
  const std::string what = "storing the certificate of domain " + domain;
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<bool>(error(tx.begun(), what));
  int rc;
  {
    Statement s(db_.get(), "UPDATE domains SET cert_pem = ?1, registered_at = ?2 WHERE id = ?3");
    rc = s.bind(1, certPem).bind(2, now).bind(3, domain).step();
  }
  if (rc != SQLITE_DONE) return failed<bool>(error(rc, what));
  if (sqlite3_changes(db_.get()) == 0)
    return failed<bool>({StoreErrorKind::NotFound, "domain " + domain + " does not exist"});
  if ((rc = countChange(db_.get())) != SQLITE_DONE) return failed<bool>(error(rc, what));
  if ((rc = tx.commit()) != SQLITE_OK) return failed<bool>(error(rc, what + ": commit"));
  return success(true);
}

StoreResult<RouteRecord> SqliteStore::addRoute(const RouteRecord& route) {
  using R = RouteRecord;
  const std::string what = "adding route " + route.name;
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<R>(error(tx.begun(), what));
  int rc;
  {
    Statement s(db_.get(), "INSERT INTO routes (name, source, destination, endpoint, "
                           "authentication, rolling_period_seconds, transit, created_at, "
                           "generation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    s.bind(1, route.name).bind(2, route.source).bind(3, route.destination);
    s.bind(4, route.endpoint).bind(5, route.authentication).bind(6, route.rollingPeriodSeconds);
    s.bind(7, route.transit).bind(8, route.createdAt).bind(9, route.generation);
    rc = s.step();
  }
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    return failed<R>({StoreErrorKind::Conflict, "route " + route.name + " already exists"});
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what));
  if ((rc = countChange(db_.get())) != SQLITE_DONE) return failed<R>(error(rc, what));
  if ((rc = tx.commit()) != SQLITE_OK) return failed<R>(error(rc, what + ": commit"));
  return success(route);
}

StoreResult<RouteRecord> SqliteStore::getRoute(const std::string& name) {
  Statement s(db_.get(), std::string(kSelectRoute) + " WHERE name = ?1");
  s.bind(1, name);
  int rc = s.step();
  if (rc == SQLITE_ROW) return success(routeFrom(s));
  if (rc == SQLITE_DONE) return failed<RouteRecord>(routeNotFound(name));
  return failed<RouteRecord>(error(rc, "reading route " + name));
}

StoreResult<std::vector<RouteRecord>> SqliteStore::listRoutes() {
  Statement s(db_.get(), std::string(kSelectRoute) + " ORDER BY name");
  std::vector<RouteRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(routeFrom(s));
  if (rc != SQLITE_DONE) return failed<std::vector<RouteRecord>>(error(rc, "listing routes"));
  return success(std::move(out));
}

StoreResult<bool> SqliteStore::deleteRoute(const std::string& name) {
  const std::string what = "deleting route " + name;
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<bool>(error(tx.begun(), what));
  int rc;
  {
    Statement s(db_.get(), "DELETE FROM routes WHERE name = ?1");
    rc = s.bind(1, name).step();
  }
  if (rc != SQLITE_DONE) return failed<bool>(error(rc, what));
  if (sqlite3_changes(db_.get()) == 0) return failed<bool>(routeNotFound(name));
  {
    Statement s(db_.get(), "DELETE FROM route_reports WHERE route = ?1");
    rc = s.bind(1, name).step();
  }
  if (rc != SQLITE_DONE) return failed<bool>(error(rc, what + ": its reports"));
  {
    Statement s(db_.get(), "DELETE FROM route_tokens WHERE route = ?1");
    rc = s.bind(1, name).step();
  }
  if (rc != SQLITE_DONE) return failed<bool>(error(rc, what + ": its tokens"));
  if ((rc = countChange(db_.get())) != SQLITE_DONE) return failed<bool>(error(rc, what));
  if ((rc = tx.commit()) != SQLITE_OK) return failed<bool>(error(rc, what + ": commit"));
  return success(true);
}

StoreResult<RouteRecord> SqliteStore::bumpRouteGeneration(const std::string& name) {
  using R = RouteRecord;
  const std::string what = "bumping the generation of route " + name;
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<R>(error(tx.begun(), what));
  int rc;
  {
    Statement s(db_.get(), "UPDATE routes SET generation = generation + 1 WHERE name = ?1");
    rc = s.bind(1, name).step();
  }
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what));
  if (sqlite3_changes(db_.get()) == 0) return failed<R>(routeNotFound(name));
  if ((rc = countChange(db_.get())) != SQLITE_DONE) return failed<R>(error(rc, what));
  // Read back inside the transaction: the caller gets exactly the row it committed.
  std::optional<RouteRecord> bumped;
  {
    Statement s(db_.get(), std::string(kSelectRoute) + " WHERE name = ?1");
    s.bind(1, name);
    rc = s.step();
    if (rc == SQLITE_ROW) bumped = routeFrom(s);
  }
  if (rc != SQLITE_ROW) return failed<R>(error(rc, what + ": reading it back"));
  if ((rc = tx.commit()) != SQLITE_OK) return failed<R>(error(rc, what + ": commit"));
  return success(std::move(*bumped));
}

StoreResult<CaRecord> SqliteStore::getCa() {
  Statement s(db_.get(), "SELECT cert_pem, key_pem, created_at FROM authority_ca WHERE id = 1");
  int rc = s.step();
  if (rc == SQLITE_ROW) return success(CaRecord{s.text(0), s.text(1), s.int64(2)});
  if (rc == SQLITE_DONE) return failed<CaRecord>({StoreErrorKind::NotFound, "no CA stored yet"});
  return failed<CaRecord>(error(rc, "reading the CA"));
}

StoreResult<CaRecord> SqliteStore::putCaIfAbsent(const CaRecord& ca) {
  using R = CaRecord;
  const std::string what = "storing the CA";
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<R>(error(tx.begun(), what));
  int rc;
  {
    Statement s(db_.get(), "INSERT INTO authority_ca (id, cert_pem, key_pem, created_at) "
                           "VALUES (1, ?1, ?2, ?3) ON CONFLICT (id) DO NOTHING");
    rc = s.bind(1, ca.certPem).bind(2, ca.keyPem).bind(3, ca.createdAt).step();
  }
  if (rc != SQLITE_DONE) return failed<R>(error(rc, what));
  std::optional<CaRecord> stored;
  {
    Statement s(db_.get(), "SELECT cert_pem, key_pem, created_at FROM authority_ca WHERE id = 1");
    rc = s.step();
    if (rc == SQLITE_ROW) stored = CaRecord{s.text(0), s.text(1), s.int64(2)};
  }
  if (rc != SQLITE_ROW) return failed<R>(error(rc, what + ": reading it back"));
  if ((rc = tx.commit()) != SQLITE_OK) return failed<R>(error(rc, what + ": commit"));
  return success(std::move(*stored));
}

StoreResult<bool> SqliteStore::putReports(const std::vector<ReportRecord>& reports) {
  const std::string what = "storing route reports";
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<bool>(error(tx.begun(), what));
  for (const ReportRecord& r : reports) {
    Statement s(db_.get(), "INSERT INTO route_reports (route, side, json, received_at) "
                           "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (route, side) DO UPDATE SET "
                           "json = excluded.json, received_at = excluded.received_at");
    int rc = s.bind(1, r.route).bind(2, r.side).bind(3, r.json).bind(4, r.receivedAt).step();
    if (rc != SQLITE_DONE) return failed<bool>(error(rc, what));
  }
  if (int rc = tx.commit(); rc != SQLITE_OK) return failed<bool>(error(rc, what + ": commit"));
  return success(true);
}

StoreResult<std::vector<ReportRecord>> SqliteStore::listReports(int64_t since) {
  Statement s(db_.get(), "SELECT route, side, json, received_at FROM route_reports "
                         "WHERE received_at >= ?1 ORDER BY route, side");
  s.bind(1, since);
  std::vector<ReportRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back(ReportRecord{s.text(0), s.text(1), s.text(2), s.int64(3)});
  if (rc != SQLITE_DONE)
    return failed<std::vector<ReportRecord>>(error(rc, "listing route reports"));
  return success(std::move(out));
}

StoreResult<bool> SqliteStore::putTokenState(const TokenStateRecord& t) {
  const std::string what = "storing the tokens of route " + t.route;
  Transaction tx(db_.get(), Transaction::Immediate);
  if (tx.begun() != SQLITE_OK) return failed<bool>(error(tx.begun(), what));
  int rc;
  {
    Statement s(db_.get(), "INSERT INTO route_tokens (route, json, revision, updated_at) "
                           "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (route) DO UPDATE SET "
                           "json = excluded.json, revision = excluded.revision, "
                           "updated_at = excluded.updated_at "
                           "WHERE excluded.updated_at >= route_tokens.updated_at");
    rc = s.bind(1, t.route).bind(2, t.json).bind(3, t.revision).bind(4, t.updatedAt).step();
  }
  if (rc != SQLITE_DONE) return failed<bool>(error(rc, what));
  bool stored = sqlite3_changes(db_.get()) == 1;
  if (stored && (rc = countChange(db_.get())) != SQLITE_DONE) return failed<bool>(error(rc, what));
  if ((rc = tx.commit()) != SQLITE_OK) return failed<bool>(error(rc, what + ": commit"));
  return success(stored);
}

StoreResult<std::vector<TokenStateRecord>> SqliteStore::listTokenStates() {
  Statement s(db_.get(),
              "SELECT route, json, revision, updated_at FROM route_tokens ORDER BY route");
  std::vector<TokenStateRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back(TokenStateRecord{s.text(0), s.text(1), s.int64(2), s.int64(3)});
  if (rc != SQLITE_DONE)
    return failed<std::vector<TokenStateRecord>>(error(rc, "listing route tokens"));
  return success(std::move(out));
}

StoreResult<int64_t> SqliteStore::changeCount() {
  Statement s(db_.get(), "SELECT count FROM changes WHERE id = 1");
  int rc = s.step();
  if (rc == SQLITE_ROW) return success(s.int64(0));
  if (rc == SQLITE_DONE)
    return failed<int64_t>({StoreErrorKind::Corrupt, "reading the change count: the changes row "
                                                     "is missing"});
  return failed<int64_t>(error(rc, "reading the change count"));
}

}  // namespace kgate::auth
