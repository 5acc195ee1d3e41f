#include "auth/mariadb_store.h"

#include <mysqld_error.h>
#include <openssl/crypto.h>

#include <charconv>
#include <ctime>

#include "auth/mariadb_client.h"
#include "auth/token_set.h"

namespace kgate::auth {

using mariadb::Connection;
using mariadb::DbError;
using mariadb::Param;
using mariadb::Row;

class MariaDbStore::Tx {
 public:
  explicit Tx(Connection& c) : c_(c) {}

  // Rows changed; nullopt after an error (kept, and every later call is skipped).
  std::optional<uint64_t> exec(std::string_view sql, std::initializer_list<Param> params = {}) {
    if (error_) return std::nullopt;
    auto r = c_.execute(sql, params);
    if (auto* e = std::get_if<DbError>(&r)) {
      record(*e);
      return std::nullopt;
    }
    return std::get<uint64_t>(r);
  }
  std::optional<std::vector<Row>> query(std::string_view sql,
                                        std::initializer_list<Param> params = {}) {
    if (error_) return std::nullopt;
    auto r = c_.query(sql, params);
    if (auto* e = std::get_if<DbError>(&r)) {
      record(*e);
      return std::nullopt;
    }
    return std::move(std::get<std::vector<Row>>(r));
  }
  void record(const DbError& e) {
    if (!error_) error_ = e;
  }
  const std::optional<DbError>& error() const { return error_; }
  // The recorded error as a store failure; `what` says what was being done.
  template <class T>
  StoreResult<T> failure(const std::string& what) const {
    return StoreResult<T>::failure(error_ ? error_->kind() : StoreErrorKind::Corrupt,
                                   what + ": " + (error_ ? error_->message : "no result"));
  }
  bool isDuplicateKey() const { return error_ && error_->code == ER_DUP_ENTRY; }

 private:
  Connection& c_;
  std::optional<DbError> error_;
};

namespace {

template <class T>
StoreResult<T> success(T value) {
  return StoreResult<T>{std::move(value), StoreError{}};
}

template <class T>
StoreResult<T> failed(StoreErrorKind kind, std::string message) {
  return StoreResult<T>::failure(kind, std::move(message));
}

int64_t num(const Row& row, size_t column) {
  int64_t v = 0;
  if (column < row.size() && row[column]) {
    const std::string& s = *row[column];
    std::from_chars(s.data(), s.data() + s.size(), v);
  }
  return v;
}

std::string text(const Row& row, size_t column) {
  return column < row.size() && row[column] ? *row[column] : std::string();
}

constexpr const char* kSelectDomain =
    "SELECT id, role, cert_pem, created_at, registered_at, token_ttl_seconds FROM domains";

DomainRecord domainFrom(const Row& r) {
  return DomainRecord{text(r, 0), text(r, 1), text(r, 2), num(r, 3), num(r, 4), num(r, 5)};
}

constexpr const char* kSelectRoute =
    "SELECT name, source, destination, endpoint, authentication, rolling_period_seconds, "
    "transit, created_at, generation FROM routes";

RouteRecord routeFrom(const Row& r) {
  return RouteRecord{text(r, 0), text(r, 1), text(r, 2), text(r, 3), text(r, 4),
                     num(r, 5),  text(r, 6), num(r, 7),  num(r, 8)};
}

StoreError routeNotFound(const std::string& name) {
  return {StoreErrorKind::NotFound, "route " + name + " does not exist"};
}

bool insertToken(MariaDbStore::Tx& tx, const std::string& domain, const DeployToken& t) {
  return tx
      .exec("INSERT INTO deploy_tokens (token, domain, state, created_at, used_at, expires_at) "
            "VALUES (?, ?, 'unused', ?, 0, ?)",
            {std::string_view(t.token), std::string_view(domain), t.createdAt, t.expiresAt})
      .has_value();
}

// Bumps Store::changeCount() inside the transaction; false (the error is in tx) on failure.
bool countChange(MariaDbStore::Tx& tx) {
  return tx.exec("UPDATE changes SET count = count + 1 WHERE id = 1").has_value();
}

DeployToken storedToken(const std::string& domain, const DeployToken& t) {
  return DeployToken{t.token, domain, TokenState::Unused, t.createdAt, 0, t.expiresAt};
}

bool domainExists(MariaDbStore::Tx& tx, const std::string& id, bool& exists) {
  auto rows = tx.query("SELECT 1 FROM domains WHERE id = ?", {std::string_view(id)});
  if (!rows) return false;
  exists = !rows->empty();
  return true;
}

constexpr int kAttempts = 3;
constexpr size_t kMaxIdle = 8;

bool retryable(const DbError& e) {
  return e.connectionLost() || e.code == ER_LOCK_DEADLOCK || e.code == ER_LOCK_WAIT_TIMEOUT;
}

}  // namespace

MariaDbStore::MariaDbStore(conf::MysqlDsn dsn) : dsn_(std::move(dsn)) {}
MariaDbStore::~MariaDbStore() = default;

Result<std::shared_ptr<MariaDbStore>> MariaDbStore::open(const conf::MysqlDsn& dsn) {
  const std::string where = dsn.display();
  DbError err;
  auto conn = Connection::open(dsn, true, &err);
  if (!conn && err.code == ER_BAD_DB_ERROR) {
    // A new deployment: create the database, when the account is allowed to.
    auto server = Connection::open(dsn, false, &err);
    if (!server) return fail("mariadb store " + where + ": cannot connect: " + server.error());
    // The name passed parseMysqlDsn's identifier check, so quoting it is safe.
    if (auto e = (*server)->run("CREATE DATABASE IF NOT EXISTS `" + dsn.database +
                                "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
      return fail("mariadb store " + where + ": database " + dsn.database +
                  " does not exist and cannot be created: " + e->message);
    conn = Connection::open(dsn, true, &err);
  }
  if (!conn) return fail("mariadb store " + where + ": cannot connect: " + conn.error());
  if (auto migrated = mariadb::migrate(**conn, where, static_cast<int64_t>(std::time(nullptr)));
      !migrated)
    return fail(migrated.error());
  std::shared_ptr<MariaDbStore> store(new MariaDbStore(dsn));
  store->checkin(std::move(*conn));
  return store;
}

std::unique_ptr<Connection> MariaDbStore::checkout(std::string& error) {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  auto c = Connection::open(dsn_, true);
  if (!c) {
    error = c.error();
    return nullptr;
  }
  // Fewer gap locks than REPEATABLE READ, so masters writing different domains do not deadlock;
  // every check-then-write below locks the rows it reads (FOR UPDATE) or relies on a key.
  if (auto e = (*c)->run("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")) {
    error = e->message;
    return nullptr;
  }
  return std::move(*c);
}

void MariaDbStore::checkin(std::unique_ptr<Connection> c) {
  if (!c || c->broken()) return;
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
}

template <class T>
StoreResult<T> MariaDbStore::transact(const std::string& what,
                                      const std::function<StoreResult<T>(Tx&)>& body) {
  for (int attempt = 1;; ++attempt) {
    std::string why;
    auto conn = checkout(why);
    if (!conn)
      return failed<T>(StoreErrorKind::Unavailable,
                       what + ": cannot reach the database " + dsn_.display() + ": " + why);
    Tx tx(*conn);
    std::optional<StoreResult<T>> result;
    if (auto e = conn->run("START TRANSACTION")) tx.record(*e);
    else result = body(tx);
    if (tx.error() || !result->ok()) {
      if (!conn->broken()) (void)conn->run("ROLLBACK");
      checkin(std::move(conn));
      if (tx.error() && retryable(*tx.error()) && attempt < kAttempts) continue;
      return result && !result->ok() ? std::move(*result) : tx.failure<T>(what);
    }
    if (auto e = conn->run("COMMIT")) {
      checkin(std::move(conn));
      // The outcome is unknown when the connection died here: not retried, the caller decides.
      return failed<T>(StoreErrorKind::Unavailable, what + ": commit: " + e->message);
    }
    checkin(std::move(conn));
    return std::move(*result);
  }
}

StoreResult<DomainRecord> MariaDbStore::addDomain(const DomainRecord& domain,
                                                  const DeployToken& firstToken) {
  using R = DomainRecord;
  if (!firstToken.domain.empty() && firstToken.domain != domain.id)
    return failed<R>(StoreErrorKind::Conflict, "the first deploy token of domain " + domain.id +
                                                   " names domain " + firstToken.domain);
  const std::string what = "adding domain " + domain.id;
  return transact<R>(what, [&](Tx& tx) -> StoreResult<R> {
    tx.exec("INSERT INTO domains (id, role, cert_pem, created_at, registered_at, "
            "token_ttl_seconds) VALUES (?, ?, ?, ?, ?, ?)",
            {std::string_view(domain.id), std::string_view(domain.role),
             std::string_view(domain.certPem), domain.createdAt, domain.registeredAt,
             domain.tokenTtlSeconds});
    if (tx.isDuplicateKey())
      return failed<R>(StoreErrorKind::Conflict, "domain " + domain.id + " already exists");
    if (tx.error()) return tx.failure<R>(what);
    insertToken(tx, domain.id, firstToken);
    if (tx.isDuplicateKey())
      return failed<R>(StoreErrorKind::Conflict, what + ": its first deploy token is already in use");
    if (tx.error()) return tx.failure<R>(what + ": inserting its first deploy token");
    return success(domain);
  });
}

StoreResult<DomainRecord> MariaDbStore::getDomain(const std::string& id) {
  using R = DomainRecord;
  const std::string what = "reading domain " + id;
  return transact<R>(what, [&](Tx& tx) -> StoreResult<R> {
    auto rows = tx.query(std::string(kSelectDomain) + " WHERE id = ?", {std::string_view(id)});
    if (!rows) return tx.failure<R>(what);
    if (rows->empty()) return failed<R>(StoreErrorKind::NotFound, "domain " + id + " does not exist");
    return success(domainFrom(rows->front()));
  });
}

StoreResult<std::vector<DomainRecord>> MariaDbStore::listDomains() {
  using R = std::vector<DomainRecord>;
  return transact<R>("listing domains", [&](Tx& tx) -> StoreResult<R> {
    auto rows = tx.query(std::string(kSelectDomain) + " ORDER BY created_at, seq");
    if (!rows) return tx.failure<R>("listing domains");
    R out;
    for (const Row& r : *rows) out.push_back(domainFrom(r));
    return success(std::move(out));
  });
}

StoreResult<std::vector<DeployToken>> MariaDbStore::listTokens(const std::string& domain,
                                                               int64_t now) {
  using R = std::vector<DeployToken>;
  const std::string what = "listing the deploy tokens of domain " + domain;
  return transact<R>(what, [&](Tx& tx) -> StoreResult<R> {
    bool exists = false;
    if (!domainExists(tx, domain, exists)) return tx.failure<R>(what);
    if (!exists) return failed<R>(StoreErrorKind::NotFound, "domain " + domain + " does not exist");
    auto rows = tx.query("SELECT token, state, created_at, used_at, expires_at FROM deploy_tokens "
                         "WHERE domain = ? ORDER BY created_at, seq",
                         {std::string_view(domain)});
    if (!rows) return tx.failure<R>(what);
    R out;
    for (const Row& r : *rows) {
      DeployToken t{text(r, 0), domain, TokenState::Unused, num(r, 2), num(r, 3), num(r, 4)};
      std::string state = text(r, 1);
      if (state == "used") t.state = TokenState::Used;
      else if (state != "unused")
        return failed<R>(StoreErrorKind::Corrupt, what + ": unknown token state '" + state + "'");
      else if (t.expiresAt != 0 && t.expiresAt <= now) t.state = TokenState::Expired;
      out.push_back(std::move(t));
    }
    return success(std::move(out));
  });
}

StoreResult<DeployToken> MariaDbStore::addToken(const DeployToken& token) {
  using R = DeployToken;
  const std::string what = "adding a deploy token to domain " + token.domain;
  return transact<R>(what, [&](Tx& tx) -> StoreResult<R> {
    bool exists = false;
    if (!domainExists(tx, token.domain, exists)) return tx.failure<R>(what);
    if (!exists)
      return failed<R>(StoreErrorKind::NotFound, "domain " + token.domain + " does not exist");
    insertToken(tx, token.domain, token);
    if (tx.isDuplicateKey())
      return failed<R>(StoreErrorKind::Conflict, what + ": that token is already in use");
    if (tx.error()) return tx.failure<R>(what);
    return success(storedToken(token.domain, token));
  });
}

StoreResult<ConsumeOutcome> MariaDbStore::consumeDeployToken(const std::string& domain,
                                                             const std::string& token,
                                                             const std::string& certPem,
                                                             const DeployToken& newToken,
                                                             int64_t now) {
  using R = ConsumeOutcome;
  if (!newToken.domain.empty() && newToken.domain != domain)
    return failed<R>(StoreErrorKind::Conflict, "the new deploy token for domain " + domain +
                                                   " names domain " + newToken.domain);
  const std::string what = "consuming a deploy token of domain " + domain;
  const TokenSet::Digest presented = digestOf(token);
  return transact<R>(what, [&](Tx& tx) -> StoreResult<R> {
    // FOR UPDATE locks the domain's token rows before they are judged: a concurrent consumer
    // (on this master or another) waits here, then reads the token as used.
    auto rows = tx.query("SELECT seq, token, state, expires_at FROM deploy_tokens "
                         "WHERE domain = ? FOR UPDATE",
                         {std::string_view(domain)});
    if (!rows) return tx.failure<R>(what);
    const Row* match = nullptr;
    for (const Row& r : *rows) {
      // Digests compared in constant time, as TokenSet does; the lookup is by domain.
      TokenSet::Digest d = digestOf(text(r, 1));
      if (!match && CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0) match = &r;
    }
    // Every refusal returns before any write; the rollback then releases the locks.
    if (!match) return success(ConsumeOutcome::UnknownToken);
    std::string state = text(*match, 2);
    if (state == "used") return success(ConsumeOutcome::AlreadyUsed);
    if (state != "unused")
      return failed<R>(StoreErrorKind::Corrupt, what + ": unknown token state '" + state + "'");
    int64_t expiresAt = num(*match, 3);
    if (expiresAt != 0 && expiresAt <= now) return success(ConsumeOutcome::Expired);

    auto marked = tx.exec("UPDATE deploy_tokens SET state = 'used', used_at = ? "
                          "WHERE seq = ? AND state = 'unused'",
                          {now, num(*match, 0)});
    if (!marked) return tx.failure<R>(what + ": marking it used");
    if (*marked != 1)  // impossible under the row lock; never half-apply
      return failed<R>(StoreErrorKind::Corrupt, what + ": the token row changed under the lock");
    tx.exec("UPDATE domains SET cert_pem = ?, registered_at = ? WHERE id = ?",
            {std::string_view(certPem), now, std::string_view(domain)});
    if (tx.error()) return tx.failure<R>(what + ": storing the certificate");
    insertToken(tx, domain, newToken);
    if (tx.isDuplicateKey())
      return failed<R>(StoreErrorKind::Conflict, what + ": the new token is already in use");
    if (tx.error()) return tx.failure<R>(what + ": inserting the new token");
    if (!countChange(tx)) return tx.failure<R>(what);
    return success(ConsumeOutcome::Consumed);
  });
}

StoreResult<bool> MariaDbStore::setCertificate(const std::string& domain,
                                               const std::string& certPem, int64_t now) {
  const std::string what = "storing the certificate of domain " + domain;
  return transact<bool>(what, [&](Tx& tx) -> StoreResult<bool> {
    auto changed = tx.exec("UPDATE domains SET cert_pem = ?, registered_at = ? WHERE id = ?",
                           {std::string_view(certPem), now, std::string_view(domain)});
    if (!changed) return tx.failure<bool>(what);
    if (*changed == 0)
      return failed<bool>(StoreErrorKind::NotFound, "domain " + domain + " does not exist");
    if (!countChange(tx)) return tx.failure<bool>(what);
    return success(true);
  });
}

StoreResult<RouteRecord> MariaDbStore::addRoute(const RouteRecord& route) {
  using R = RouteRecord;
  const std::string what = "adding route " + route.name;
  return transact<R>(what, [&](Tx& tx) -> StoreResult<R> {
    tx.exec("INSERT INTO routes (name, source, destination, endpoint, authentication, "
            "rolling_period_seconds, transit, created_at, generation) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {std::string_view(route.name), std::string_view(route.source),
             std::string_view(route.destination), std::string_view(route.endpoint),
             std::string_view(route.authentication), route.rollingPeriodSeconds,
             std::string_view(route.transit), route.createdAt, route.generation});
    if (tx.isDuplicateKey())
      return failed<R>(StoreErrorKind::Conflict, "route " + route.name + " already exists");
    if (tx.error() || !countChange(tx)) return tx.failure<R>(what);
    return success(route);
  });
}

StoreResult<RouteRecord> MariaDbStore::getRoute(const std::string& name) {
  using R = RouteRecord;
  const std::string what = "reading route " + name;
  return transact<R>(what, [&](Tx& tx) -> StoreResult<R> {
    auto rows = tx.query(std::string(kSelectRoute) + " WHERE name = ?", {std::string_view(name)});
    if (!rows) return tx.failure<R>(what);
    if (rows->empty()) return StoreResult<R>{std::nullopt, routeNotFound(name)};
    return success(routeFrom(rows->front()));
  });
}

StoreResult<std::vector<RouteRecord>> MariaDbStore::listRoutes() {
  using R = std::vector<RouteRecord>;
  return transact<R>("listing routes", [&](Tx& tx) -> StoreResult<R> {
    auto rows = tx.query(std::string(kSelectRoute) + " ORDER BY name");
    if (!rows) return tx.failure<R>("listing routes");
    R out;
    for (const Row& r : *rows) out.push_back(routeFrom(r));
    return success(std::move(out));
  });
}

StoreResult<bool> MariaDbStore::deleteRoute(const std::string& name) {
  const std::string what = "deleting route " + name;
  return transact<bool>(what, [&](Tx& tx) -> StoreResult<bool> {
    auto deleted = tx.exec("DELETE FROM routes WHERE name = ?", {std::string_view(name)});
    if (!deleted) return tx.failure<bool>(what);
    if (*deleted == 0) return StoreResult<bool>{std::nullopt, routeNotFound(name)};
    if (!tx.exec("DELETE FROM route_reports WHERE route = ?", {std::string_view(name)}))
      return tx.failure<bool>(what + ": its reports");
    if (!tx.exec("DELETE FROM route_tokens WHERE route = ?", {std::string_view(name)}))
      return tx.failure<bool>(what + ": its tokens");
    if (!countChange(tx)) return tx.failure<bool>(what);
    return success(true);
  });
}

StoreResult<RouteRecord> MariaDbStore::bumpRouteGeneration(const std::string& name) {
  using R = RouteRecord;
  const std::string what = "bumping the generation of route " + name;
  return transact<R>(what, [&](Tx& tx) -> StoreResult<R> {
    auto bumped = tx.exec("UPDATE routes SET generation = generation + 1 WHERE name = ?",
                          {std::string_view(name)});
    if (!bumped) return tx.failure<R>(what);
    if (*bumped == 0) return StoreResult<R>{std::nullopt, routeNotFound(name)};
    if (!countChange(tx)) return tx.failure<R>(what);
    // Read back inside the transaction: the caller gets exactly the row it committed.
    auto rows = tx.query(std::string(kSelectRoute) + " WHERE name = ?", {std::string_view(name)});
    if (!rows || rows->empty()) return tx.failure<R>(what + ": reading it back");
    return success(routeFrom(rows->front()));
  });
}

StoreResult<CaRecord> MariaDbStore::getCa() {
  using R = CaRecord;
  return transact<R>("reading the CA", [&](Tx& tx) -> StoreResult<R> {
    auto rows = tx.query("SELECT cert_pem, key_pem, created_at FROM authority_ca WHERE id = 1");
    if (!rows) return tx.failure<R>("reading the CA");
    if (rows->empty()) return failed<R>(StoreErrorKind::NotFound, "no CA stored yet");
    const Row& r = rows->front();
    return success(CaRecord{text(r, 0), text(r, 1), num(r, 2)});
  });
}

StoreResult<CaRecord> MariaDbStore::putCaIfAbsent(const CaRecord& ca) {
  using R = CaRecord;
  const std::string what = "storing the CA";
  return transact<R>(what, [&](Tx& tx) -> StoreResult<R> {
    // A second master's insert waits on the first's row lock, then does nothing.
    tx.exec("INSERT INTO authority_ca (id, cert_pem, key_pem, created_at) VALUES (1, ?, ?, ?) "
            "ON DUPLICATE KEY UPDATE id = id",
            {std::string_view(ca.certPem), std::string_view(ca.keyPem), ca.createdAt});
    auto rows = tx.query("SELECT cert_pem, key_pem, created_at FROM authority_ca WHERE id = 1");
    if (!rows || rows->empty()) return tx.failure<R>(what);
    const Row& r = rows->front();
    return success(CaRecord{text(r, 0), text(r, 1), num(r, 2)});
  });
}

StoreResult<bool> MariaDbStore::putReports(const std::vector<ReportRecord>& reports) {
  const std::string what = "storing route reports";
  return transact<bool>(what, [&](Tx& tx) -> StoreResult<bool> {
    for (const ReportRecord& r : reports)
      tx.exec("INSERT INTO route_reports (route, side, json, received_at) VALUES (?, ?, ?, ?) "
              "ON DUPLICATE KEY UPDATE json = VALUES(json), received_at = VALUES(received_at)",
              {std::string_view(r.route), std::string_view(r.side), std::string_view(r.json),
               r.receivedAt});
    if (tx.error()) return tx.failure<bool>(what);
    return success(true);
  });
}

StoreResult<std::vector<ReportRecord>> MariaDbStore::listReports(int64_t since) {
  using R = std::vector<ReportRecord>;
  return transact<R>("listing route reports", [&](Tx& tx) -> StoreResult<R> {
    auto rows = tx.query("SELECT route, side, json, received_at FROM route_reports "
                         "WHERE received_at >= ? ORDER BY route, side",
                         {since});
    if (!rows) return tx.failure<R>("listing route reports");
    R out;
    for (const Row& r : *rows) out.push_back(ReportRecord{text(r, 0), text(r, 1), text(r, 2), num(r, 3)});
    return success(std::move(out));
  });
}

StoreResult<bool> MariaDbStore::putTokenState(const TokenStateRecord& t) {
  const std::string what = "storing the tokens of route " + t.route;
  return transact<bool>(what, [&](Tx& tx) -> StoreResult<bool> {
    // The row lock orders two masters storing at once; the older handshake loses.
    auto rows = tx.query("SELECT updated_at FROM route_tokens WHERE route = ? FOR UPDATE",
                         {std::string_view(t.route)});
    if (!rows) return tx.failure<bool>(what);
    if (!rows->empty() && num(rows->front(), 0) > t.updatedAt) return success(false);
    tx.exec("INSERT INTO route_tokens (route, json, revision, updated_at) VALUES (?, ?, ?, ?) "
            "ON DUPLICATE KEY UPDATE json = VALUES(json), revision = VALUES(revision), "
            "updated_at = VALUES(updated_at)",
            {std::string_view(t.route), std::string_view(t.json), t.revision, t.updatedAt});
    if (tx.error() || !countChange(tx)) return tx.failure<bool>(what);
    return success(true);
  });
}

StoreResult<std::vector<TokenStateRecord>> MariaDbStore::listTokenStates() {
  using R = std::vector<TokenStateRecord>;
  return transact<R>("listing route tokens", [&](Tx& tx) -> StoreResult<R> {
    auto rows =
        tx.query("SELECT route, json, revision, updated_at FROM route_tokens ORDER BY route");
    if (!rows) return tx.failure<R>("listing route tokens");
    R out;
    for (const Row& r : *rows)
      out.push_back(TokenStateRecord{text(r, 0), text(r, 1), num(r, 2), num(r, 3)});
    return success(std::move(out));
  });
}

StoreResult<int64_t> MariaDbStore::changeCount() {
  const std::string what = "reading the change count";
  return transact<int64_t>(what, [&](Tx& tx) -> StoreResult<int64_t> {
    auto rows = tx.query("SELECT count FROM changes WHERE id = 1");
    if (!rows) return tx.failure<int64_t>(what);
    if (rows->empty())
      return failed<int64_t>(StoreErrorKind::Corrupt, what + ": the changes row is missing");
    return success(num(rows->front(), 0));
  });
}

}  // namespace kgate::auth
