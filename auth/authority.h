// The token authority of a master node: domains, their one-time deploy tokens, and lite
// registration (POST /register), over a Store. Transport-free: the gateway hands it bodies and
// headers and sends back what it returns. Not thread-safe: the node calls it from its control
// thread only.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "auth/rate_limit.h"
#include "auth/store.h"
#include "certs/keys.h"

namespace kgate::auth {

// 32 characters from Kuscia's alphabet (no 0, 1, o, O), drawn from a CSPRNG.
std::string newDeployToken();
inline constexpr std::string_view kDeployTokenAlphabet =
    "23456789abcdefghijklmnpqrstuvwxyzABCDEFGHIJKLMNPQRSTUVWXYZ";

struct AuthorityKeys {
  std::string caCertPem;       // signs lites' certificates
  std::string caKeyPem;
  std::string masterKeyPem;    // the master's domain key; its public half goes to lites
  std::string masterDomainID;
};

// An answer for the HTTP layer. status 200 carries JSON; otherwise `message` is one line for
// the body and kuscia-error-message, and `cause` a stable snake_case reason.
struct Reply {
  int status = 200;
  std::string body;          // JSON for 200
  std::string message;
  std::string cause;
  std::string detail;  // for the node's log only, never sent: what a store error said
};

class Authority {
 public:
  using Clock = std::function<int64_t()>;  // Unix seconds; injectable for tests

  Authority(std::shared_ptr<Store> store, AuthorityKeys keys, Clock clock = {});

  // Admin operations (the API handler maps Reply statuses to HTTP).
  Reply addDomain(const std::string& id, int64_t tokenTtlSeconds);
  Reply currentToken(const std::string& id);   // the unused token; a new one if none is valid
  Reply listDomains(bool showTokens);

  // POST /register from a lite: body is the JSON request, jwt the `jwt-token` header.
  Reply registerLite(const std::string& body, const std::string& jwt, const std::string& peerIp);

  // Routes (see auth/README.md for the JSON). addDomain also creates the route
  // <domain>-<master> (Token, 86400 s), as Kuscia does.
  Reply addRoute(const std::string& source, const std::string& destination,
                 const std::string& url, const std::string& authentication,
                 int64_t rollingPeriodSeconds, const std::string& transit);
  Reply listRoutes();  // with READY, REASON and a hint per route, from the ends' reports
  Reply deleteRoute(const std::string& name);
  Reply rehandshake(const std::string& name);

  // The control service a registered domain talks to (through its route to the master).
  // routesFor: the routes the domain is an end of, with the other end's public key, and the
  // transit routes it relays.
  Reply routesFor(const std::string& domain);
  // A domain's report on its routes (JSON, see README); kept in the store, newest wins, so
  // every master sharing the store sees it.
  Reply acceptReport(const std::string& domain, const std::string& body);
  // The master's own view as the destination of <lite>-<master> routes (no HTTP involved).
  void reportSelf(const std::string& body);
  // The master's tokens as the destination of its routes, shared through the store with the
  // other masters of the domain (see Store::putTokenState).
  StoreResult<bool> shareTokenState(const TokenStateRecord& state);
  StoreResult<std::vector<TokenStateRecord>> sharedTokenStates();
  // Moves whenever what routesFor() or sharedTokenStates() return may have changed, through
  // this master or another sharing the store (Store::changeCount).
  StoreResult<int64_t> routesVersion();

 private:
  std::shared_ptr<Store> store_;
  AuthorityKeys keys_;
  Clock clock_;
  certs::Certificate caCert_;
  certs::PrivateKey caKey_;
  certs::PrivateKey masterKey_;
  AddressRateLimit registrations_{10, 6000};  // a burst of 10, then one per 6 s
};

}  // namespace kgate::auth
