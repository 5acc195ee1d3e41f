// The authority's Store on a local SQLite file: WAL journal, synchronous=FULL (a commit is on disk
// before the call returns), foreign keys on, versioned schema (auth/migrations.cc).
//
// Threads: one SqliteStore is one connection; call it from one thread at a time (the node
// serialises store calls on its control thread). Several SqliteStores on the same file, in this
// process or others, are fine: writes take the write lock up front (BEGIN IMMEDIATE) and wait
// up to 5 s for it, then fail as Unavailable.
#pragma once

#include <memory>
#include <string>

#include "auth/store.h"
#include "conf/result.h"

struct sqlite3;

namespace kgate::auth {

class SqliteStore final : public Store {
 public:
  // Opens `path`, creating it with mode 0600 if missing (it holds unused deploy tokens), and
  // migrates its schema. Refuses, without writing to it, a file that is not an SQLite database,
  // another program's database, or one from a newer kgate.
  static Result<std::shared_ptr<SqliteStore>> open(const std::string& path);

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  StoreResult<DomainRecord> addDomain(const DomainRecord& domain,
                                      const DeployToken& firstToken) override;
  StoreResult<DomainRecord> getDomain(const std::string& id) override;
  StoreResult<std::vector<DomainRecord>> listDomains() override;
  // NotFound for an unknown domain (rather than an empty list). Expired applies to unused
  // tokens only: a used token stays Used.
  StoreResult<std::vector<DeployToken>> listTokens(const std::string& domain,
                                                   int64_t now) override;
  StoreResult<DeployToken> addToken(const DeployToken& token) override;
  // newToken.domain may be empty (it is stored under `domain`); any other domain is refused.
  StoreResult<ConsumeOutcome> consumeDeployToken(const std::string& domain,
                                                 const std::string& token,
                                                 const std::string& certPem,
                                                 const DeployToken& newToken,
                                                 int64_t now) override;
  StoreResult<bool> setCertificate(const std::string& domain, const std::string& certPem,
                                   int64_t now) override;

  // Routes. The ends are not checked against `domains` (the master's own domain is not a row
  // there): the Authority checks them. Conflict on an existing name (or a value the schema
  // refuses, such as an unknown authentication).
  StoreResult<RouteRecord> addRoute(const RouteRecord& route) override;
  StoreResult<RouteRecord> getRoute(const std::string& name) override;
  StoreResult<std::vector<RouteRecord>> listRoutes() override;
  StoreResult<bool> deleteRoute(const std::string& name) override;
  StoreResult<RouteRecord> bumpRouteGeneration(const std::string& name) override;
  StoreResult<CaRecord> getCa() override;
  StoreResult<CaRecord> putCaIfAbsent(const CaRecord& ca) override;
  StoreResult<bool> putReports(const std::vector<ReportRecord>& reports) override;
  StoreResult<std::vector<ReportRecord>> listReports(int64_t since) override;
  StoreResult<bool> putTokenState(const TokenStateRecord& state) override;
  StoreResult<std::vector<TokenStateRecord>> listTokenStates() override;
  StoreResult<int64_t> changeCount() override;

  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  using Handle = std::unique_ptr<sqlite3, Closer>;

  SqliteStore(Handle db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  StoreError error(int rc, const std::string& what) const;

  Handle db_;
  std::string path_;
};

}  // namespace kgate::auth
