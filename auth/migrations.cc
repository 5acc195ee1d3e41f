#include "auth/migrations.h"

#include <array>

namespace kgate::auth::sqlite {
namespace {

struct Migration {
  int version;
  std::string_view sql;  // constant DDL; may hold several statements
};

// Append only: a released step is never edited, a change is a new step. Each step runs in its
// own transaction together with its schema_version row, so a crash leaves a whole step or none.
// (A future step that rebuilds a referenced table must turn foreign_keys off around it.)
constexpr std::array kMigrations{
    Migration{1, R"sql(
      CREATE TABLE domains (
        id                TEXT    PRIMARY KEY NOT NULL CHECK (id <> ''),
        role              TEXT    NOT NULL,
        cert_pem          TEXT    NOT NULL DEFAULT '',
        created_at        INTEGER NOT NULL,
        registered_at     INTEGER NOT NULL DEFAULT 0,
        token_ttl_seconds INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE deploy_tokens (
        token      TEXT    PRIMARY KEY NOT NULL CHECK (token <> ''),
        domain     TEXT    NOT NULL REFERENCES domains (id),
        state      TEXT    NOT NULL CHECK (state IN ('unused', 'used')),
        created_at INTEGER NOT NULL,
        used_at    INTEGER NOT NULL DEFAULT 0,
        expires_at INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX deploy_tokens_by_domain ON deploy_tokens (domain, created_at);
    )sql"},
    // Routes. No foreign keys on source/destination: the master's own domain is not a row of
    // `domains`, yet routes lead to it; the Authority checks that both ends are known.
    Migration{2, R"sql(
      CREATE TABLE routes (
        name                   TEXT    PRIMARY KEY NOT NULL CHECK (name <> ''),
        source                 TEXT    NOT NULL CHECK (source <> ''),
        destination            TEXT    NOT NULL CHECK (destination <> ''),
        endpoint               TEXT    NOT NULL DEFAULT '',
        authentication         TEXT    NOT NULL
                                       CHECK (authentication IN ('Token', 'MTLS', 'None')),
        rolling_period_seconds INTEGER NOT NULL CHECK (rolling_period_seconds >= 0),
        transit                TEXT    NOT NULL DEFAULT '',
        created_at             INTEGER NOT NULL,
        generation             INTEGER NOT NULL DEFAULT 1 CHECK (generation >= 1)
      );
    )sql"},
    // The CA, one row: masters sharing a database share it.
    Migration{3, R"sql(
      CREATE TABLE authority_ca (
        id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
        cert_pem   TEXT    NOT NULL CHECK (cert_pem <> ''),
        key_pem    TEXT    NOT NULL CHECK (key_pem <> ''),
        created_at INTEGER NOT NULL
      );
    )sql"},
    // The ends' latest reports on their routes, shared by the masters of one database.
    Migration{4, R"sql(
      CREATE TABLE route_reports (
        route       TEXT    NOT NULL,
        side        TEXT    NOT NULL CHECK (side IN ('source', 'destination')),
        json        TEXT    NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (route, side)
      );
    )sql"},
    // The master's destination tokens, shared by the masters of one database.
    Migration{5, R"sql(
      CREATE TABLE route_tokens (
        route      TEXT    PRIMARY KEY NOT NULL,
        json       TEXT    NOT NULL,
        revision   INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
    )sql"},
    // Store::changeCount(): one row, bumped by the writes masters must notice.
    Migration{6, R"sql(
      CREATE TABLE changes (
        id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
        count INTEGER NOT NULL
      );
      INSERT INTO changes (id, count) VALUES (1, 0);
    )sql"},
};

constexpr std::string_view kVersionTable = R"sql(
  CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY NOT NULL,
    applied_at INTEGER NOT NULL
  )
)sql";

// Runs every statement of a constant script (sqlite3_prepare_v2 compiles one at a time).
int executeScript(sqlite3* db, std::string_view script) {
  const char* next = script.data();
  const char* end = script.data() + script.size();
  while (next < end) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, next, static_cast<int>(end - next), &raw, &tail);
    if (rc != SQLITE_OK) return rc;
    if (!raw) break;  // only whitespace or comments left
    rc = sqlite3_step(raw);
    sqlite3_finalize(raw);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return rc;
    next = tail;
  }
  return SQLITE_OK;
}

// The applied version: 0 for a database without the table. rc receives the sqlite3 result.
int currentVersion(sqlite3* db, int& rc) {
  Statement has(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                    "name = 'schema_version'");
  if ((rc = has.step()) != SQLITE_ROW) return 0;
  if (has.int64(0) == 0) {
    rc = SQLITE_OK;
    return 0;
  }
  Statement max(db, "SELECT coalesce(max(version), 0) FROM schema_version");
  if ((rc = max.step()) != SQLITE_ROW) return 0;
  rc = SQLITE_OK;
  return static_cast<int>(max.int64(0));
}

// Whether a database without our schema_version already holds tables: someone else's, which
// we must not add ours to. rc receives the sqlite3 result.
bool hasForeignTables(sqlite3* db, int& rc) {
  Statement s(db, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' "
                  "ESCAPE '\\' AND name <> 'schema_version'");
  if ((rc = s.step()) != SQLITE_ROW) return false;
  rc = SQLITE_OK;
  return s.int64(0) > 0;
}

std::string tooNew(const std::string& path, int version) {
  return "sqlite store " + path + ": schema version " + std::to_string(version) +
         " is newer than this kgate (knows up to " + std::to_string(latestSchemaVersion()) +
         "); upgrade kgate";
}

}  // namespace

Statement::Statement(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  stmt_.reset(raw);
  if (rc_ == SQLITE_OK && !raw) rc_ = SQLITE_MISUSE;  // empty SQL: a bug at the call site
}

Statement& Statement::bind(int index, std::string_view text) {
  if (rc_ == SQLITE_OK)
    rc_ = sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}

int Statement::step() { return rc_ == SQLITE_OK ? sqlite3_step(stmt_.get()) : rc_; }

int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_.get(), column); }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_.get(), column);
  int n = sqlite3_column_bytes(stmt_.get(), column);  // after column_text, per the docs
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : "";
}

int execute(sqlite3* db, std::string_view sql) {
  Statement s(db, sql);
  int rc = s.step();
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

Transaction::Transaction(sqlite3* db, Mode mode)
    : db_(db), beginRc_(execute(db, mode == Immediate ? "BEGIN IMMEDIATE" : "BEGIN")) {
  open_ = beginRc_ == SQLITE_OK;
}

Transaction::~Transaction() {
  // A failed statement or COMMIT may already have ended the transaction; only roll back one
  // that is still open.
  if (open_ && !sqlite3_get_autocommit(db_)) execute(db_, "ROLLBACK");
}

int Transaction::commit() {
  int rc = execute(db_, "COMMIT");
  if (rc == SQLITE_OK) open_ = false;
  return rc;
}

StoreError errorOf(sqlite3* db, int rc, const std::string& what) {
  StoreErrorKind kind = StoreErrorKind::Unavailable;  // busy, I/O, full disk, and the rest
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: kind = StoreErrorKind::Corrupt; break;
    case SQLITE_CONSTRAINT: kind = StoreErrorKind::Conflict; break;
    default: break;
  }
  // errmsg names tables and columns, never bound values, so no token can leak through it.
  std::string detail = db && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return StoreError{kind, what + ": " + detail};
}

int latestSchemaVersion() { return kMigrations.back().version; }

Result<void> migrate(sqlite3* db, const std::string& path, int64_t now) {
  auto sqlFailure = [&](int rc, const std::string& what) {
    return fail(errorOf(db, rc, "sqlite store " + path + ": " + what).message);
  };
  int rc = SQLITE_OK;
  int version = currentVersion(db, rc);
  if (rc != SQLITE_OK) return sqlFailure(rc, "reading the schema version");
  if (version > latestSchemaVersion()) return fail(tooNew(path, version));
  if (version == latestSchemaVersion()) return {};  // the common case: no write at all

  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    Transaction tx(db, Transaction::Immediate);
    if (tx.begun() != SQLITE_OK) return sqlFailure(tx.begun(), "starting a migration");
    // Read again under the write lock: another process may have migrated in the meantime.
    version = currentVersion(db, rc);
    if (rc != SQLITE_OK) return sqlFailure(rc, "reading the schema version");
    if (version > latestSchemaVersion()) return fail(tooNew(path, version));
    if (m.version <= version) continue;
    if (version == 0 && hasForeignTables(db, rc))
      return fail("sqlite store " + path +
                  ": is an SQLite database but not a kgate store (it has tables and no "
                  "schema version); refusing to change it");
    if (rc != SQLITE_OK) return sqlFailure(rc, "reading the schema");
    if ((rc = executeScript(db, kVersionTable)) != SQLITE_OK)
      return sqlFailure(rc, "creating the schema_version table");
    if ((rc = executeScript(db, m.sql)) != SQLITE_OK)
      return sqlFailure(rc, "migrating to schema version " + std::to_string(m.version));
    Statement record(db, "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)");
    record.bind(1, int64_t{m.version}).bind(2, now);
    if ((rc = record.step()) != SQLITE_DONE)
      return sqlFailure(rc, "recording schema version " + std::to_string(m.version));
    if ((rc = tx.commit()) != SQLITE_OK)
      return sqlFailure(rc, "committing schema version " + std::to_string(m.version));
    version = m.version;
  }
  return {};
}

}  // namespace kgate::auth::sqlite
