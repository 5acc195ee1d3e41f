// The authority's durable state, behind an interface: SQLite (sqlite_store.h) by default,
// MySQL / MariaDB (mariadb_store.h) for production masters. Every method is one transaction: it either commits whole or changes nothing,
// and returns only after the commit is durable. Failures are values (Result) with a one-line
// message; a Conflict/NotFound kind lets callers map them to HTTP statuses.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "conf/result.h"

namespace kgate::auth {

enum class TokenState { Unused, Used, Expired };  // Expired is derived at read time
std::string_view toString(TokenState s);

struct DeployToken {
  std::string token;
  std::string domain;
  TokenState state = TokenState::Unused;
  int64_t createdAt = 0;  // Unix seconds
  int64_t usedAt = 0;     // 0 while unused
  int64_t expiresAt = 0;  // 0 = never
};

struct DomainRecord {
  std::string id;
  std::string role;             // "lite" (registered by deploy token) or "master" (this node)
  std::string certPem;          // the certificate issued at registration; "" until registered
  int64_t createdAt = 0;
  int64_t registeredAt = 0;     // 0 until registered
  int64_t tokenTtlSeconds = 0;  // lifetime given to this domain's new deploy tokens; 0 = never
};

// A route (Kuscia's ClusterDomainRoute) as the master keeps it.
struct RouteRecord {
  std::string name;              // "<source>-<destination>"
  std::string source, destination;
  std::string endpoint;          // the destination's URL; "" for transit routes and routes to the
                                 // master (a lite reaches the master at its masterEndpoint)
  std::string authentication = "Token";  // Token | MTLS | None
  int64_t rollingPeriodSeconds = 86400;  // 0 = never rotate
  std::string transit;           // "" or the domain requests go through
  int64_t createdAt = 0;
  int64_t generation = 1;        // bumped by `route rehandshake`: both ends negotiate anew
};

// The master's CA, kept with the rest of its state: masters sharing one database sign with one
// CA, so every lite trusts every master.
struct CaRecord {
  std::string certPem, keyPem;
  int64_t createdAt = 0;
};

// One end's latest report on one route (soft state: it ages out). Kept in the store so that
// every master sharing it judges READY from what any of them received.
struct ReportRecord {
  std::string route;
  std::string side;  // "source" | "destination"
  std::string json;  // the normalised entry (auth/route_status.h)
  int64_t receivedAt = 0;
};

// A master's side of one route's tokens (auth/route_tokens.h, as JSON): those it accepts as the
// destination, or the one it sends as the source. Shared so that the masters of one domain
// accept and send the same tokens whichever of them negotiated.
struct TokenStateRecord {
  std::string route;
  std::string json;
  int64_t revision = 0;   // the newest revision in it, for people reading the table
  int64_t updatedAt = 0;  // Unix ns of the handshake that made it: the latest one wins
};

// Why a store call failed, so the API can answer 404/409/503 instead of a generic 500.
enum class StoreErrorKind { None, NotFound, Conflict, Unavailable, Corrupt };

struct StoreError {
  StoreErrorKind kind = StoreErrorKind::None;
  std::string message;
};

template <class T>
struct StoreResult {
  std::optional<T> value;  // set when ok()
  StoreError error;
  bool ok() const { return error.kind == StoreErrorKind::None; }
  static StoreResult failure(StoreErrorKind kind, std::string message) {
    return StoreResult{std::nullopt, StoreError{kind, std::move(message)}};
  }
};

// What consumeDeployToken decided (in the same transaction that applied it).
enum class ConsumeOutcome {
  Consumed,       // token was unused and valid: now used, cert stored, newToken inserted unused
  UnknownToken,   // no such token for that domain
  AlreadyUsed,    // the token was used before
  Expired,        // the token's expiry passed
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates the domain and its first unused deploy token together. Conflict if it exists.
  virtual StoreResult<DomainRecord> addDomain(const DomainRecord& domain,
                                              const DeployToken& firstToken) = 0;
  // NotFound when there is no such domain.
  virtual StoreResult<DomainRecord> getDomain(const std::string& id) = 0;
  virtual StoreResult<std::vector<DomainRecord>> listDomains() = 0;
  // All deploy tokens of a domain, oldest first, with Expired derived from `now`.
  virtual StoreResult<std::vector<DeployToken>> listTokens(const std::string& domain,
                                                           int64_t now) = 0;
  // Adds an unused token to an existing domain (NotFound if the domain does not exist).
  virtual StoreResult<DeployToken> addToken(const DeployToken& token) = 0;
  // Atomically: if `token` is an unused, unexpired token of `domain`, mark it used (usedAt =
  // now), store certPem as the domain's certificate (registeredAt = now) and insert newToken as
  // unused. Otherwise change nothing and say why. Two concurrent calls with the same token: at
  // most one gets Consumed.
  virtual StoreResult<ConsumeOutcome> consumeDeployToken(const std::string& domain,
                                                         const std::string& token,
                                                         const std::string& certPem,
                                                         const DeployToken& newToken,
                                                         int64_t now) = 0;
  // Replaces the domain's certificate (re-registration with the same key).
  virtual StoreResult<bool> setCertificate(const std::string& domain, const std::string& certPem,
                                           int64_t now) = 0;

  // Routes. addRoute: Conflict if the name exists (the Authority checks that the ends exist).
  virtual StoreResult<RouteRecord> addRoute(const RouteRecord& route) = 0;
  virtual StoreResult<RouteRecord> getRoute(const std::string& name) = 0;  // NotFound
  virtual StoreResult<std::vector<RouteRecord>> listRoutes() = 0;           // by name
  // NotFound; the route's reports and token states go with it.
  virtual StoreResult<bool> deleteRoute(const std::string& name) = 0;
  virtual StoreResult<RouteRecord> bumpRouteGeneration(const std::string& name) = 0;

  // The CA. getCa: NotFound until a master stored one. putCaIfAbsent stores `ca` unless a CA is
  // stored already and returns the stored one either way: of masters racing on a new database,
  // all get the winner's.
  virtual StoreResult<CaRecord> getCa() = 0;
  virtual StoreResult<CaRecord> putCaIfAbsent(const CaRecord& ca) = 0;

  // Route reports: putReports replaces each (route, side) given, all in one transaction;
  // listReports returns those received at or after `since`, by route and side.
  virtual StoreResult<bool> putReports(const std::vector<ReportRecord>& reports) = 0;
  virtual StoreResult<std::vector<ReportRecord>> listReports(int64_t since) = 0;

  // A master's side of each route's tokens. putTokenState keeps the stored state when it was
  // updated later (true when `state` was stored); listTokenStates returns all, by route.
  virtual StoreResult<bool> putTokenState(const TokenStateRecord& state) = 0;
  virtual StoreResult<std::vector<TokenStateRecord>> listTokenStates() = 0;

  // A count that every write changing what the ends of routes are told moves, in the same
  // transaction: a route added, deleted or re-handshaken, a domain's certificate stored, a
  // token state stored. Masters poll it (one row) and re-read routes and token states only when
  // it moved, whichever master sharing the store wrote.
  virtual StoreResult<int64_t> changeCount() = 0;
};

}  // namespace kgate::auth
