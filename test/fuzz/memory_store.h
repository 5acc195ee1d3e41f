// The smallest Store that keeps the interface's contract for what the admin target does
// (domains, tokens, routes): the authority's logic runs without SQLite or a file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth/store.h"

namespace kgate::fuzz {

class MemoryStore final : public auth::Store {
 public:
  template <class T>
  using R = auth::StoreResult<T>;
  using Kind = auth::StoreErrorKind;

  R<auth::DomainRecord> addDomain(const auth::DomainRecord& d,
                                  const auth::DeployToken& first) override {
    if (!domains_.emplace(d.id, d).second) return R<auth::DomainRecord>::failure(Kind::Conflict, "exists");
    tokens_.push_back(first);
    return {d, {}};
  }
  R<auth::DomainRecord> getDomain(const std::string& id) override {
    auto it = domains_.find(id);
    if (it == domains_.end()) return R<auth::DomainRecord>::failure(Kind::NotFound, "no domain");
    return {it->second, {}};
  }
  R<std::vector<auth::DomainRecord>> listDomains() override {
    std::vector<auth::DomainRecord> out;
    for (const auto& [id, d] : domains_) out.push_back(d);
    return {out, {}};
  }
  R<std::vector<auth::DeployToken>> listTokens(const std::string& domain, int64_t now) override {
    if (!domains_.count(domain)) return R<std::vector<auth::DeployToken>>::failure(Kind::NotFound, "no domain");
    std::vector<auth::DeployToken> out;
    for (auth::DeployToken t : tokens_) {
      if (t.domain != domain) continue;
      if (t.state == auth::TokenState::Unused && t.expiresAt != 0 && t.expiresAt <= now)
        t.state = auth::TokenState::Expired;
      out.push_back(t);
    }
    return {out, {}};
  }
  R<auth::DeployToken> addToken(const auth::DeployToken& t) override {
    if (!domains_.count(t.domain)) return R<auth::DeployToken>::failure(Kind::NotFound, "no domain");
    tokens_.push_back(t);
    return {t, {}};
  }
  R<auth::ConsumeOutcome> consumeDeployToken(const std::string&, const std::string&,
                                             const std::string&, const auth::DeployToken&,
                                             int64_t) override {
    return {auth::ConsumeOutcome::UnknownToken, {}};  // the target does not register lites
  }
  R<bool> setCertificate(const std::string& domain, const std::string& certPem,
                         int64_t now) override {
    auto it = domains_.find(domain);
    if (it == domains_.end()) return R<bool>::failure(Kind::NotFound, "no domain");
    it->second.certPem = certPem;
    it->second.registeredAt = now;
    return {true, {}};
  }

  R<auth::RouteRecord> addRoute(const auth::RouteRecord& r) override {
    if (!routes_.emplace(r.name, r).second) return R<auth::RouteRecord>::failure(Kind::Conflict, "exists");
    return {r, {}};
  }
  R<auth::RouteRecord> getRoute(const std::string& name) override {
    auto it = routes_.find(name);
    if (it == routes_.end()) return R<auth::RouteRecord>::failure(Kind::NotFound, "no route");
    return {it->second, {}};
  }
  R<std::vector<auth::RouteRecord>> listRoutes() override {
    std::vector<auth::RouteRecord> out;
    for (const auto& [name, r] : routes_) out.push_back(r);
    return {out, {}};
  }
  R<bool> deleteRoute(const std::string& name) override {
    if (routes_.erase(name) == 0) return R<bool>::failure(Kind::NotFound, "no route");
    reports_.erase({name, "source"});
    reports_.erase({name, "destination"});
    tokenStates_.erase(name);
    return {true, {}};
  }
  R<auth::RouteRecord> bumpRouteGeneration(const std::string& name) override {
    auto it = routes_.find(name);
    if (it == routes_.end()) return R<auth::RouteRecord>::failure(Kind::NotFound, "no route");
    ++it->second.generation;
    return {it->second, {}};
  }
  R<auth::CaRecord> getCa() override {
    if (!ca_) return R<auth::CaRecord>::failure(Kind::NotFound, "no CA");
    return {*ca_, {}};
  }
  R<auth::CaRecord> putCaIfAbsent(const auth::CaRecord& ca) override {
    if (!ca_) ca_ = ca;
    return {*ca_, {}};
  }
  R<bool> putReports(const std::vector<auth::ReportRecord>& rs) override {
    for (const auth::ReportRecord& r : rs) reports_[{r.route, r.side}] = r;
    return {true, {}};
  }
  R<bool> putTokenState(const auth::TokenStateRecord& t) override {
    auto it = tokenStates_.find(t.route);
    if (it != tokenStates_.end() && it->second.updatedAt > t.updatedAt) return {false, {}};
    tokenStates_[t.route] = t;
    return {true, {}};
  }
  R<std::vector<auth::TokenStateRecord>> listTokenStates() override {
    std::vector<auth::TokenStateRecord> out;
    for (const auto& [route, t] : tokenStates_) out.push_back(t);
    return {out, {}};
  }
  R<std::vector<auth::ReportRecord>> listReports(int64_t since) override {
    std::vector<auth::ReportRecord> out;
    for (const auto& [key, r] : reports_)
      if (r.receivedAt >= since) out.push_back(r);
    return {out, {}};
  }

 private:
  std::map<std::string, auth::DomainRecord> domains_;
  std::vector<auth::DeployToken> tokens_;
  std::map<std::string, auth::RouteRecord> routes_;
  std::optional<auth::CaRecord> ca_;
  std::map<std::pair<std::string, std::string>, auth::ReportRecord> reports_;
  std::map<std::string, auth::TokenStateRecord> tokenStates_;
};

}  // namespace kgate::fuzz
