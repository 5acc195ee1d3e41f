// Shared by the route tests. A copy of test/unit/auth_register/fakes.h (its in-memory Store,
// cached RSA keys and test CA) extended with routes, a switch that fails only the route calls,
// and certificates for registered domains. The registration request builders are left out.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/authority.h"
#include "auth/store.h"
#include "certs/ca.h"
#include "certs/keys.h"

namespace kgate::auth::testing {

class FakeStore : public Store {
 public:
  std::map<std::string, DomainRecord> domains;
  std::vector<DeployToken> tokens;                 // insertion order = oldest first
  StoreErrorKind failWith = StoreErrorKind::None;  // when set, every call fails this way
  int consumeCalls = 0;

  StoreResult<DomainRecord> addDomain(const DomainRecord& d, const DeployToken& first) override {
    if (failWith != StoreErrorKind::None) return failure<DomainRecord>();
    if (domains.count(d.id)) {
      return StoreResult<DomainRecord>::failure(StoreErrorKind::Conflict, "exists");
    }
    domains[d.id] = d;
    tokens.push_back(first);
    return {d, {}};
  }
  StoreResult<DomainRecord> getDomain(const std::string& id) override {
    if (failWith != StoreErrorKind::None) return failure<DomainRecord>();
    auto it = domains.find(id);
    if (it == domains.end()) {
      return StoreResult<DomainRecord>::failure(StoreErrorKind::NotFound, "no domain " + id);
    }
    return {it->second, {}};
  }
  StoreResult<std::vector<DomainRecord>> listDomains() override {
    if (failWith != StoreErrorKind::None) return failure<std::vector<DomainRecord>>();
    std::vector<DomainRecord> out;
    // Reverse order on purpose: the authority must sort.
    for (auto it = domains.rbegin(); it != domains.rend(); ++it) out.push_back(it->second);
    return {out, {}};
  }
  StoreResult<std::vector<DeployToken>> listTokens(const std::string& domain,
                                                   int64_t now) override {
    if (failWith != StoreErrorKind::None) return failure<std::vector<DeployToken>>();
    std::vector<DeployToken> out;
    for (DeployToken t : tokens) {
      if (t.domain != domain) continue;
      if (expired(t, now)) t.state = TokenState::Expired;
      out.push_back(t);
    }
    return {out, {}};
  }
  StoreResult<DeployToken> addToken(const DeployToken& t) override {
    if (failWith != StoreErrorKind::None) return failure<DeployToken>();
    if (!domains.count(t.domain)) {
      return StoreResult<DeployToken>::failure(StoreErrorKind::NotFound, "no domain");
    }
    tokens.push_back(t);
    return {t, {}};
  }
  StoreResult<ConsumeOutcome> consumeDeployToken(const std::string& domain,
                                                 const std::string& token,
                                                 const std::string& certPem,
                                                 const DeployToken& newToken,
                                                 int64_t now) override {
    ++consumeCalls;
    if (failWith != StoreErrorKind::None) return failure<ConsumeOutcome>();
    auto d = domains.find(domain);
    if (d == domains.end()) {
      return StoreResult<ConsumeOutcome>::failure(StoreErrorKind::NotFound, "no domain");
    }
    for (DeployToken& t : tokens) {
      if (t.domain != domain || t.token != token) continue;
      if (t.state == TokenState::Used) return {ConsumeOutcome::AlreadyUsed, {}};
      if (expired(t, now)) return {ConsumeOutcome::Expired, {}};
      t.state = TokenState::Used;
      t.usedAt = now;
      d->second.certPem = certPem;
      d->second.registeredAt = now;
      tokens.push_back(newToken);
      return {ConsumeOutcome::Consumed, {}};
    }
    return {ConsumeOutcome::UnknownToken, {}};
  }
  StoreResult<bool> setCertificate(const std::string& domain, const std::string& certPem,
                                   int64_t now) override {
    if (failWith != StoreErrorKind::None) return failure<bool>();
    auto d = domains.find(domain);
    if (d == domains.end()) return StoreResult<bool>::failure(StoreErrorKind::NotFound, "none");
    d->second.certPem = certPem;
    d->second.registeredAt = now;
    return {true, {}};
  }

  // Routes, keyed (and so listed) by name.
  std::map<std::string, RouteRecord> routes;
  StoreErrorKind failRoutesWith = StoreErrorKind::None;  // fails the route calls only

  StoreResult<RouteRecord> addRoute(const RouteRecord& r) override {
    if (auto e = routeFailure<RouteRecord>()) return *e;
    if (routes.count(r.name)) {
      return StoreResult<RouteRecord>::failure(StoreErrorKind::Conflict,
                                               "route " + r.name + " already exists");
    }
    routes[r.name] = r;
    return {r, {}};
  }
  StoreResult<RouteRecord> getRoute(const std::string& name) override {
    if (auto e = routeFailure<RouteRecord>()) return *e;
    auto it = routes.find(name);
    if (it == routes.end()) {
      return StoreResult<RouteRecord>::failure(StoreErrorKind::NotFound, "no route " + name);
    }
    return {it->second, {}};
  }
  StoreResult<std::vector<RouteRecord>> listRoutes() override {
    if (auto e = routeFailure<std::vector<RouteRecord>>()) return *e;
    std::vector<RouteRecord> out;
    for (const auto& [name, r] : routes) out.push_back(r);
    return {out, {}};
  }
  StoreResult<bool> deleteRoute(const std::string& name) override {
    if (auto e = routeFailure<bool>()) return *e;
    if (routes.erase(name) == 0) return StoreResult<bool>::failure(StoreErrorKind::NotFound, "no");
    reports.erase({name, "source"});
    reports.erase({name, "destination"});
    tokenStates.erase(name);
    return {true, {}};
  }
  StoreResult<RouteRecord> bumpRouteGeneration(const std::string& name) override {
    if (auto e = routeFailure<RouteRecord>()) return *e;
    auto it = routes.find(name);
    if (it == routes.end()) {
      return StoreResult<RouteRecord>::failure(StoreErrorKind::NotFound, "no route " + name);
    }
    ++it->second.generation;
    return {it->second, {}};
  }
  StoreResult<CaRecord> getCa() override {
    if (!ca) return StoreResult<CaRecord>::failure(StoreErrorKind::NotFound, "no CA");
    return {*ca, {}};
  }
  StoreResult<CaRecord> putCaIfAbsent(const CaRecord& c) override {
    if (!ca) ca = c;
    return {*ca, {}};
  }
  std::optional<CaRecord> ca;
  StoreResult<bool> putReports(const std::vector<ReportRecord>& rs) override {
    for (const ReportRecord& r : rs) reports[{r.route, r.side}] = r;
    return {true, {}};
  }
  StoreResult<std::vector<ReportRecord>> listReports(int64_t since) override {
    std::vector<ReportRecord> out;
    for (const auto& [key, r] : reports)
      if (r.receivedAt >= since) out.push_back(r);
    return {out, {}};
  }
  std::map<std::pair<std::string, std::string>, ReportRecord> reports;
  StoreResult<bool> putTokenState(const TokenStateRecord& t) override {
    auto it = tokenStates.find(t.route);
    if (it != tokenStates.end() && it->second.updatedAt > t.updatedAt) return {false, {}};
    tokenStates[t.route] = t;
    return {true, {}};
  }
  StoreResult<std::vector<TokenStateRecord>> listTokenStates() override {
    std::vector<TokenStateRecord> out;
    for (const auto& [route, t] : tokenStates) out.push_back(t);
    return {out, {}};
  }
  std::map<std::string, TokenStateRecord> tokenStates;

  std::vector<DeployToken> tokensOf(const std::string& domain) const {
    std::vector<DeployToken> out;
    for (const auto& t : tokens) {
      if (t.domain == domain) out.push_back(t);
    }
    return out;
  }

 private:
  template <class T>
  std::optional<StoreResult<T>> routeFailure() {
    StoreErrorKind kind = failWith != StoreErrorKind::None ? failWith : failRoutesWith;
    if (kind == StoreErrorKind::None) return std::nullopt;
    return StoreResult<T>::failure(kind, "database is locked");
  }
  static bool expired(const DeployToken& t, int64_t now) {
    return t.state == TokenState::Unused && t.expiresAt != 0 && t.expiresAt <= now;
  }
  template <class T>
  StoreResult<T> failure() {
    return StoreResult<T>::failure(failWith, "database is locked");
  }
};

// The n-th cached RSA-2048 key (n < 8): key generation dominates the run time otherwise.
inline const EVP_PKEY& cachedKey(int n) {
  static certs::PrivateKey keys[8];
  if (!keys[n]) {
    auto k = certs::generateRsaKey(2048);
    if (!k) ADD_FAILURE() << k.error();
    keys[n] = std::move(*k);
  }
  return *keys[n];
}

// Key roles of the tests.
inline const EVP_PKEY& caKey() { return cachedKey(0); }
inline const EVP_PKEY& masterKey() { return cachedKey(1); }
inline const EVP_PKEY& aliceKey() { return cachedKey(2); }
inline const EVP_PKEY& otherKey() { return cachedKey(3); }
inline const EVP_PKEY& bobKey() { return cachedKey(4); }

inline const std::string& caCertPem() {
  static std::string pem = [] {
    auto ca = certs::createCaCert(caKey(), "Kuscia");
    if (!ca) ADD_FAILURE() << ca.error();
    return ca ? certs::certToPem(**ca) : std::string();
  }();
  return pem;
}

inline AuthorityKeys testKeys() {
  return AuthorityKeys{caCertPem(), certs::privateKeyToPem(caKey()),
                       certs::privateKeyToPem(masterKey()), "root"};
}

// A certificate for `key` signed by the test CA, as registration stores it.
inline std::string certFor(const std::string& domain, const EVP_PKEY& key) {
  certs::CertSpec spec;
  spec.commonName = domain;
  spec.clientAuth = true;
  auto cert = certs::issueCert(**certs::certFromPem(caCertPem()), caKey(), key, spec);
  if (!cert) ADD_FAILURE() << cert.error();
  return cert ? certs::certToPem(**cert) : std::string();
}

// A JSON string's text, for comparing with std::string.
inline std::string str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "<not a string: " + serialize(v) + ">";
}

}  // namespace kgate::auth::testing
