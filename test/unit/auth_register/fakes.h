// Shared by the registration tests: an in-memory Store that keeps the interface's contract
// (including every consume outcome), cached RSA keys, a test CA, and request builders that can
// also produce the malformed requests the authority must refuse.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/authority.h"
#include "auth/jwt.h"
#include "auth/register_wire.h"
#include "auth/store.h"
#include "certs/ca.h"
#include "certs/csr.h"
#include "certs/keys.h"

namespace kgate::auth::testing {

class FakeStore : public Store {
 public:
  std::map<std::string, DomainRecord> domains;
  std::vector<DeployToken> tokens;  // insertion order = oldest first
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

  // Routes are not part of registration; the route tests have their own fake.
  StoreResult<RouteRecord> addRoute(const RouteRecord& r) override { return {r, {}}; }
  StoreResult<RouteRecord> getRoute(const std::string&) override {
    return StoreResult<RouteRecord>::failure(StoreErrorKind::NotFound, "none");
  }
  StoreResult<std::vector<RouteRecord>> listRoutes() override { return {std::vector<RouteRecord>{}, {}}; }
  StoreResult<bool> deleteRoute(const std::string&) override {
    return StoreResult<bool>::failure(StoreErrorKind::NotFound, "none");
  }
  StoreResult<RouteRecord> bumpRouteGeneration(const std::string&) override {
    return StoreResult<RouteRecord>::failure(StoreErrorKind::NotFound, "none");
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

// A register request assembled piece by piece, so tests can make each piece wrong on its own.
struct Crafted {
  std::string cn = "alice";            // the CSR's CN
  std::string domainId = "alice";      // the body's domain_id
  std::string token;                   // the 1.2.3.4 extension ("" = none)
  int64_t requestTime = 123456789;     // a stock Kuscia lite sends the nanosecond-of-second
  const EVP_PKEY* csrKey = nullptr;    // defaults to aliceKey()
  const EVP_PKEY* jwtKey = nullptr;    // defaults to csrKey
  int64_t iat = 0;
  int64_t expDelta = 300;

  RegisterRequest build(int64_t now) const {
    const EVP_PKEY& key = csrKey ? *csrKey : aliceKey();
    auto csr = certs::buildCsr(key, cn, token);
    EXPECT_TRUE(csr) << csr.error();
    std::string csrB64 = certs::base64Encode(certs::csrToPem(**csr));
    boost::json::object body{{"domain_id", domainId}, {"csr", csrB64},
                             {"request_time", requestTime}};
    boost::json::array hash;
    for (unsigned char c : registerRequestHash(domainId, csrB64, requestTime)) {
      hash.push_back(int64_t(c));
    }
    int64_t issued = iat ? iat : now;
    boost::json::object claims{{"req_hash", hash}, {"iss", domainId}, {"sub", domainId},
                               {"iat", issued}, {"exp", issued + expDelta}};
    return {boost::json::serialize(body), signJwtRs256(jwtKey ? *jwtKey : key, claims)};
  }
};

// A JSON string's text, for comparing with std::string.
inline std::string str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "<not a string: " + serialize(v) + ">";
}

// The body with one field replaced (or removed when value is null).
inline std::string withField(const std::string& body, const char* name,
                             const boost::json::value& value) {
  boost::json::object o = boost::json::parse(body).as_object();
  if (value.is_null()) {
    o.erase(name);
  } else {
    o[name] = value;
  }
  return boost::json::serialize(o);
}

}  // namespace kgate::auth::testing
