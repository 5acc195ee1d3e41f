// An in-memory Store that keeps the interface's contract (auth/store.h), for tests and fuzz
// targets that run the authority without a database. Its state is public so tests can arrange
// and inspect it, and calls can be made to fail on demand. Header-only and free of GoogleTest:
// the clang fuzz build uses it too.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/store.h"

namespace kgate::test {

class MemoryStore final : public auth::Store {
 public:
  template <class T>
  using R = auth::StoreResult<T>;
  using Kind = auth::StoreErrorKind;

  std::map<std::string, auth::DomainRecord> domains;
  std::vector<auth::DeployToken> tokens;  // insertion order = oldest first
  std::map<std::string, auth::RouteRecord> routes;
  std::optional<auth::CaRecord> ca;
  std::map<std::pair<std::string, std::string>, auth::ReportRecord> reports;  // (route, side)
  std::map<std::string, auth::TokenStateRecord> tokenStates;
  int64_t changes = 0;

  Kind failWith = Kind::None;        // when set, every domain, token and route call fails so
  Kind failRoutesWith = Kind::None;  // when set, the route calls fail so
  int consumeCalls = 0;

  std::vector<auth::DeployToken> tokensOf(const std::string& domain) const {
    std::vector<auth::DeployToken> out;
    for (const auto& t : tokens)
      if (t.domain == domain) out.push_back(t);
    return out;
  }

  R<auth::DomainRecord> addDomain(const auth::DomainRecord& d,
                                  const auth::DeployToken& first) override {
    if (failWith != Kind::None) return failure<auth::DomainRecord>(failWith);
    if (domains.count(d.id)) return R<auth::DomainRecord>::failure(Kind::Conflict, "exists");
    domains[d.id] = d;
    tokens.push_back(first);
    return {d, {}};
  }
  R<auth::DomainRecord> getDomain(const std::string& id) override {
    if (failWith != Kind::None) return failure<auth::DomainRecord>(failWith);
    auto it = domains.find(id);
    if (it == domains.end()) return R<auth::DomainRecord>::failure(Kind::NotFound, "no domain " + id);
    return {it->second, {}};
  }
  R<std::vector<auth::DomainRecord>> listDomains() override {
    if (failWith != Kind::None) return failure<std::vector<auth::DomainRecord>>(failWith);
    std::vector<auth::DomainRecord> out;
    // Reverse order on purpose: the interface promises none, so the authority must sort.
    for (auto it = domains.rbegin(); it != domains.rend(); ++it) out.push_back(it->second);
    return {out, {}};
  }
  R<std::vector<auth::DeployToken>> listTokens(const std::string& domain, int64_t now) override {
    if (failWith != Kind::None) return failure<std::vector<auth::DeployToken>>(failWith);
    std::vector<auth::DeployToken> out;
    for (auth::DeployToken t : tokensOf(domain)) {
      if (expired(t, now)) t.state = auth::TokenState::Expired;
      out.push_back(t);
    }
    return {out, {}};
  }
  R<auth::DeployToken> addToken(const auth::DeployToken& t) override {
    if (failWith != Kind::None) return failure<auth::DeployToken>(failWith);
    if (!domains.count(t.domain)) return R<auth::DeployToken>::failure(Kind::NotFound, "no domain");
    tokens.push_back(t);
    return {t, {}};
  }
  R<auth::ConsumeOutcome> consumeDeployToken(const std::string& domain, const std::string& token,
                                             const std::string& certPem,
                                             const auth::DeployToken& newToken,
                                             int64_t now) override {
    ++consumeCalls;
    if (failWith != Kind::None) return failure<auth::ConsumeOutcome>(failWith);
    auto d = domains.find(domain);
    if (d == domains.end()) return R<auth::ConsumeOutcome>::failure(Kind::NotFound, "no domain");
    for (auth::DeployToken& t : tokens) {
      if (t.domain != domain || t.token != token) continue;
      if (t.state == auth::TokenState::Used) return {auth::ConsumeOutcome::AlreadyUsed, {}};
      if (expired(t, now)) return {auth::ConsumeOutcome::Expired, {}};
      t.state = auth::TokenState::Used;
      t.usedAt = now;
      d->second.certPem = certPem;
      d->second.registeredAt = now;
      tokens.push_back(newToken);
      ++changes;
      return {auth::ConsumeOutcome::Consumed, {}};
    }
    return {auth::ConsumeOutcome::UnknownToken, {}};
  }
  R<bool> setCertificate(const std::string& domain, const std::string& certPem,
                         int64_t now) override {
    if (failWith != Kind::None) return failure<bool>(failWith);
    auto d = domains.find(domain);
    if (d == domains.end()) return R<bool>::failure(Kind::NotFound, "no domain " + domain);
    d->second.certPem = certPem;
    d->second.registeredAt = now;
    ++changes;
    return {true, {}};
  }

  R<auth::RouteRecord> addRoute(const auth::RouteRecord& r) override {
    if (auto e = routeFailure<auth::RouteRecord>()) return *e;
    if (routes.count(r.name))
      return R<auth::RouteRecord>::failure(Kind::Conflict, "route " + r.name + " already exists");
    routes[r.name] = r;
    ++changes;
    return {r, {}};
  }
  R<auth::RouteRecord> getRoute(const std::string& name) override {
    if (auto e = routeFailure<auth::RouteRecord>()) return *e;
    auto it = routes.find(name);
    if (it == routes.end()) return R<auth::RouteRecord>::failure(Kind::NotFound, "no route " + name);
    return {it->second, {}};
  }
  R<std::vector<auth::RouteRecord>> listRoutes() override {
    if (auto e = routeFailure<std::vector<auth::RouteRecord>>()) return *e;
    std::vector<auth::RouteRecord> out;
    for (const auto& [name, r] : routes) out.push_back(r);
    return {out, {}};
  }
  R<bool> deleteRoute(const std::string& name) override {
    if (auto e = routeFailure<bool>()) return *e;
    if (routes.erase(name) == 0) return R<bool>::failure(Kind::NotFound, "no route " + name);
    reports.erase({name, "source"});
    reports.erase({name, "destination"});
    tokenStates.erase(name);
    ++changes;
    return {true, {}};
  }
  R<auth::RouteRecord> bumpRouteGeneration(const std::string& name) override {
    if (auto e = routeFailure<auth::RouteRecord>()) return *e;
    auto it = routes.find(name);
    if (it == routes.end()) return R<auth::RouteRecord>::failure(Kind::NotFound, "no route " + name);
    ++it->second.generation;
    ++changes;
    return {it->second, {}};
  }

  R<auth::CaRecord> getCa() override {
    if (!ca) return R<auth::CaRecord>::failure(Kind::NotFound, "no CA");
    return {*ca, {}};
  }
  R<auth::CaRecord> putCaIfAbsent(const auth::CaRecord& c) override {
    if (!ca) ca = c;
    return {*ca, {}};
  }

  R<bool> putReports(const std::vector<auth::ReportRecord>& rs) override {
    for (const auth::ReportRecord& r : rs) reports[{r.route, r.side}] = r;
    return {true, {}};
  }
  R<std::vector<auth::ReportRecord>> listReports(int64_t since) override {
    std::vector<auth::ReportRecord> out;
    for (const auto& [key, r] : reports)
      if (r.receivedAt >= since) out.push_back(r);
    return {out, {}};
  }

  R<bool> putTokenState(const auth::TokenStateRecord& t) override {
    auto it = tokenStates.find(t.route);
    if (it != tokenStates.end() && it->second.updatedAt > t.updatedAt) return {false, {}};
    tokenStates[t.route] = t;
    ++changes;
    return {true, {}};
  }
  R<std::vector<auth::TokenStateRecord>> listTokenStates() override {
    std::vector<auth::TokenStateRecord> out;
    for (const auto& [route, t] : tokenStates) out.push_back(t);
    return {out, {}};
  }

  R<int64_t> changeCount() override {
    if (failWith != Kind::None) return failure<int64_t>(failWith);
    return {changes, {}};
  }

 private:
  static bool expired(const auth::DeployToken& t, int64_t now) {
    return t.state == auth::TokenState::Unused && t.expiresAt != 0 && t.expiresAt <= now;
  }
  template <class T>
  static R<T> failure(Kind kind) {
    return R<T>::failure(kind, "database is locked");
  }
  template <class T>
  std::optional<R<T>> routeFailure() const {
    Kind kind = failWith != Kind::None ? failWith : failRoutesWith;
    if (kind == Kind::None) return std::nullopt;
    return failure<T>(kind);
  }
};

}  // namespace kgate::test
