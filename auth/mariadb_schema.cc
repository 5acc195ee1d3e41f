// MariaDbStore's versioned schema: the SQLite store's tables in MySQL's dialect. Keys are
// VARCHAR (MySQL cannot index TEXT whole), text compares byte for byte (utf8mb4_bin: domain IDs
// and tokens are case-sensitive), and `seq` keeps insertion order where SQLite has its rowid.
#include <array>
#include <charconv>

#include "auth/mariadb_client.h"

namespace kgate::auth::mariadb {
namespace {

struct Migration {
  int version;
  std::vector<std::string_view> statements;
};

constexpr std::string_view kTableOptions =
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

// Append only: a released step is never edited, a change is a new step.
const std::array kMigrations{
    Migration{1,
              {R"sql(CREATE TABLE IF NOT EXISTS domains (
        id                VARCHAR(253) NOT NULL PRIMARY KEY CHECK (id <> ''),
        role              VARCHAR(32)  NOT NULL,
        cert_pem          MEDIUMTEXT   NOT NULL,
        created_at        BIGINT       NOT NULL,
        registered_at     BIGINT       NOT NULL DEFAULT 0,
        token_ttl_seconds BIGINT       NOT NULL DEFAULT 0,
        seq               BIGINT       NOT NULL AUTO_INCREMENT UNIQUE
      ))sql",
               R"sql(CREATE TABLE IF NOT EXISTS deploy_tokens (
        token      VARCHAR(255) NOT NULL PRIMARY KEY CHECK (token <> ''),
        domain     VARCHAR(253) NOT NULL,
        state      VARCHAR(8)   NOT NULL CHECK (state IN ('unused', 'used')),
        created_at BIGINT       NOT NULL,
        used_at    BIGINT       NOT NULL DEFAULT 0,
        expires_at BIGINT       NOT NULL DEFAULT 0,
        seq        BIGINT       NOT NULL AUTO_INCREMENT UNIQUE,
        KEY deploy_tokens_by_domain (domain, created_at),
        CONSTRAINT deploy_tokens_domain FOREIGN KEY (domain) REFERENCES domains (id)
      ))sql"}},
    // Routes: no foreign keys on the ends (the master's own domain is not a row of `domains`).
    Migration{2,
              {R"sql(CREATE TABLE IF NOT EXISTS routes (
        name                   VARCHAR(512) NOT NULL PRIMARY KEY CHECK (name <> ''),
        source                 VARCHAR(253) NOT NULL CHECK (source <> ''),
        destination            VARCHAR(253) NOT NULL CHECK (destination <> ''),
        endpoint               TEXT         NOT NULL,
        authentication         VARCHAR(8)   NOT NULL
                                            CHECK (authentication IN ('Token', 'MTLS', 'None')),
        rolling_period_seconds BIGINT       NOT NULL CHECK (rolling_period_seconds >= 0),
        transit                VARCHAR(253) NOT NULL DEFAULT '',
        created_at             BIGINT       NOT NULL,
        generation             BIGINT       NOT NULL DEFAULT 1 CHECK (generation >= 1)
      ))sql"}},
    Migration{3,
              {R"sql(CREATE TABLE IF NOT EXISTS authority_ca (
        id         INT        NOT NULL PRIMARY KEY CHECK (id = 1),
        cert_pem   MEDIUMTEXT NOT NULL CHECK (cert_pem <> ''),
        key_pem    MEDIUMTEXT NOT NULL CHECK (key_pem <> ''),
        created_at BIGINT     NOT NULL
      ))sql"}},
    Migration{4,
              {R"sql(CREATE TABLE IF NOT EXISTS route_reports (
        route       VARCHAR(512) NOT NULL,
        side        VARCHAR(16)  NOT NULL CHECK (side IN ('source', 'destination')),
        json        TEXT         NOT NULL,
        received_at BIGINT       NOT NULL,
        PRIMARY KEY (route, side)
      ))sql"}},
    Migration{5,
              {R"sql(CREATE TABLE IF NOT EXISTS route_tokens (
        route      VARCHAR(512) NOT NULL PRIMARY KEY,
        json       TEXT         NOT NULL,
        revision   BIGINT       NOT NULL,
        updated_at BIGINT       NOT NULL
      ))sql"}},
    // Store::changeCount(): one row, bumped by the writes masters must notice. DDL commits on
    // its own in MySQL, so a step cut short is run again: both statements tolerate that.
    Migration{6,
              {R"sql(CREATE TABLE IF NOT EXISTS changes (
        id    INT    NOT NULL PRIMARY KEY CHECK (id = 1),
        count BIGINT NOT NULL
      ))sql",
               "INSERT IGNORE INTO changes (id, count) VALUES (1, 0)"}},
};

Failure failure(const std::string& where, const std::string& what, const DbError& e) {
  return fail("mariadb store " + where + ": " + what + ": " + e.message);
}

// A query's single integer, or the error.
std::variant<int64_t, DbError> single(Connection& db, std::string_view sql) {
  auto rows = db.query(sql);
  if (auto* e = std::get_if<DbError>(&rows)) return *e;
  const auto& r = std::get<std::vector<Row>>(rows);
  int64_t v = 0;
  if (!r.empty() && !r[0].empty() && r[0][0]) {
    const std::string& s = *r[0][0];
    std::from_chars(s.data(), s.data() + s.size(), v);
  }
  return v;
}

std::variant<int64_t, DbError> currentVersion(Connection& db) {
  auto has = single(db, "SELECT count(*) FROM information_schema.tables WHERE "
                        "table_schema = DATABASE() AND table_name = 'schema_version'");
  if (std::holds_alternative<DbError>(has) || std::get<int64_t>(has) == 0) return has;
  return single(db, "SELECT coalesce(max(version), 0) FROM schema_version");
}

std::string tooNew(const std::string& where, int64_t version) {
  return "mariadb store " + where + ": schema version " + std::to_string(version) +
         " is newer than this kgate (knows up to " + std::to_string(latestSchemaVersion()) +
         "); upgrade kgate";
}

// Releases the named lock however migrate() returns.
struct LockGuard {
  Connection& db;
  ~LockGuard() { (void)db.run("DO RELEASE_LOCK('kgate_schema')"); }
};

}  // namespace

int latestSchemaVersion() { return kMigrations.back().version; }

Result<void> migrate(Connection& db, const std::string& where, int64_t now) {
  auto version = currentVersion(db);
  if (auto* e = std::get_if<DbError>(&version)) return failure(where, "reading the schema version", *e);
  if (std::get<int64_t>(version) > latestSchemaVersion()) return fail(tooNew(where, std::get<int64_t>(version)));
  if (std::get<int64_t>(version) == latestSchemaVersion()) return {};  // the common case

  auto locked = single(db, "SELECT GET_LOCK('kgate_schema', 30)");
  if (auto* e = std::get_if<DbError>(&locked)) return failure(where, "taking the schema lock", *e);
  if (std::get<int64_t>(locked) != 1)
    return fail("mariadb store " + where + ": another process held the schema lock for 30 s");
  LockGuard guard{db};
  // Read again under the lock: another master may have migrated in the meantime.
  version = currentVersion(db);
  if (auto* e = std::get_if<DbError>(&version)) return failure(where, "reading the schema version", *e);
  int64_t current = std::get<int64_t>(version);
  if (current > latestSchemaVersion()) return fail(tooNew(where, current));
  if (current == 0) {
    auto foreign = single(db, "SELECT count(*) FROM information_schema.tables WHERE "
                              "table_schema = DATABASE() AND table_name <> 'schema_version'");
    if (auto* e = std::get_if<DbError>(&foreign)) return failure(where, "reading the schema", *e);
    if (std::get<int64_t>(foreign) > 0)
      return fail("mariadb store " + where +
                  ": the database holds tables but no kgate schema version (another "
                  "program's?); refusing to change it; give kgate its own database");
  }
  std::string versionTable = "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL "
                             "PRIMARY KEY, applied_at BIGINT NOT NULL)" + std::string(kTableOptions);
  if (auto e = db.run(versionTable)) return failure(where, "creating the schema_version table", *e);
  for (const Migration& m : kMigrations) {
    if (m.version <= current) continue;
    for (std::string_view sql : m.statements)
      if (auto e = db.run(std::string(sql) +
                          std::string(sql.starts_with("CREATE TABLE") ? kTableOptions : "")))
        return failure(where, "migrating to schema version " + std::to_string(m.version), *e);
    auto recorded = db.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                               {int64_t{m.version}, now});
    if (auto* e = std::get_if<DbError>(&recorded))
      return failure(where, "recording schema version " + std::to_string(m.version), *e);
  }
  return {};
}

}  // namespace kgate::auth::mariadb
