// The authority's Store on MySQL or MariaDB (datastoreEndpoint: mysql://...), for production
// masters and for several master processes sharing one database. Same contract as SqliteStore
// (store.h): every method is one transaction, committed before it returns.
//
// Threads: safe to call from several threads; each call takes a connection from a small pool.
// A connection that fails (server restarted, network cut, idle timeout) is dropped; a call whose
// transaction had not reached COMMIT is retried once on a new connection, since the server rolled
// it back. A lost COMMIT is reported as Unavailable, never retried (it may have applied).
// Deadlocks and lock timeouts between masters are retried a few times, then Unavailable.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/store.h"
#include "conf/datastore.h"
#include "conf/result.h"

namespace kgate::auth {
namespace mariadb {
class Connection;
struct DbError;
}  // namespace mariadb

class MariaDbStore final : public Store {
 public:
  // Connects, creates the database if it is missing and the account may, and migrates the
  // schema. Fails with one line (never the password) when the server is unreachable, the
  // credentials are refused, or the schema is from a newer kgate or another program.
  static Result<std::shared_ptr<MariaDbStore>> open(const conf::MysqlDsn& dsn);
  ~MariaDbStore() override;

  StoreResult<DomainRecord> addDomain(const DomainRecord& domain,
                                      const DeployToken& firstToken) override;
  StoreResult<DomainRecord> getDomain(const std::string& id) override;
  StoreResult<std::vector<DomainRecord>> listDomains() override;
  StoreResult<std::vector<DeployToken>> listTokens(const std::string& domain,
                                                   int64_t now) override;
  StoreResult<DeployToken> addToken(const DeployToken& token) override;
  StoreResult<ConsumeOutcome> consumeDeployToken(const std::string& domain,
                                                 const std::string& token,
                                                 const std::string& certPem,
                                                 const DeployToken& newToken,
                                                 int64_t now) override;
  StoreResult<bool> setCertificate(const std::string& domain, const std::string& certPem,
                                   int64_t now) override;
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

  const conf::MysqlDsn& dsn() const { return dsn_; }

  // One transaction's view of its connection: statements record the first error, so a body
  // reads as a sequence of steps and checks `failed()` where it matters.
  class Tx;

 private:
  explicit MariaDbStore(conf::MysqlDsn dsn);
  // Runs `body` between START TRANSACTION and COMMIT with the retries described above; a body
  // that returns a failure is rolled back. T is the StoreResult's value type.
  template <class T>
  StoreResult<T> transact(const std::string& what, const std::function<StoreResult<T>(Tx&)>& body);
  std::unique_ptr<mariadb::Connection> checkout(std::string& error);
  void checkin(std::unique_ptr<mariadb::Connection> c);

  conf::MysqlDsn dsn_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<mariadb::Connection>> idle_;
};

}  // namespace kgate::auth
