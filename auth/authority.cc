// Authority: construction and the admin operations (domain add, domain token, domain list).
// Registration (POST /register) is in authority_register.cc.
//
// Reply JSON: times are Unix seconds, 0 when unset (never expires, not used, not registered),
// except certNotAfter, an RFC 3339 UTC string ("" without a certificate) shown as is.
#include "auth/authority.h"

#include <algorithm>
#include <boost/json.hpp>
#include <ctime>

#include "auth/reply.h"
#include "conf/domain_id.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;

std::string rfc3339(int64_t seconds) {
  if (seconds == 0) return "";
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string notFoundMessage(const std::string& id) {
  return "domain " + id + " not found; add it on the master with kgate domain add " + id;
}

// A store failure as an answer: an unreachable database is 503 (retry), a vanished domain 404.
Reply storeFailure(const StoreError& e, const std::string& domain) {
  switch (e.kind) {
    case StoreErrorKind::Unavailable:
      return error(503, "authority store unavailable: " + e.message, "store_unavailable");
    case StoreErrorKind::NotFound:
      return error(404, notFoundMessage(domain), "domain_not_found");
    case StoreErrorKind::Conflict:
      return error(409, "authority store conflict: " + e.message, "store_conflict");
    default:
      return error(500, "authority store error: " + e.message, "store_error");
  }
}

DeployToken makeToken(const std::string& domain, int64_t now, int64_t ttlSeconds) {
  DeployToken t;
  t.token = newDeployToken();
  t.domain = domain;
  t.state = TokenState::Unused;
  t.createdAt = now;
  t.expiresAt = ttlSeconds > 0 ? now + ttlSeconds : 0;
  return t;
}

Reply tokenReply(const DeployToken& t) {
  return okJson({{"domain", t.domain}, {"token", t.token}, {"expiresAt", t.expiresAt}});
}

}  // namespace

Authority::Authority(std::shared_ptr<Store> store, AuthorityKeys keys, Clock clock)
    : store_(std::move(store)), keys_(std::move(keys)), clock_(std::move(clock)) {
  if (!clock_) {
    clock_ = [] {
      return int64_t(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
    };
  }
  auto caCert = certs::certFromPem(keys_.caCertPem);
  auto caKey = certs::privateKeyFromPem(keys_.caKeyPem);
  auto masterKey = certs::privateKeyFromPem(keys_.masterKeyPem);
  // All or nothing: a half-usable authority would fail later, per request, in confusing ways.
  if (caCert && caKey && masterKey && certs::certMatchesKey(**caCert, **caKey)) {
    caCert_ = std::move(*caCert);
    caKey_ = std::move(*caKey);
    masterKey_ = std::move(*masterKey);
  }
}

Reply Authority::addDomain(const std::string& id, int64_t tokenTtlSeconds) {
  if (!store_ || !caCert_) return error(500, "authority keys are invalid", "authority_invalid");
  if (auto valid = conf::validateDomainId(id); !valid) {
    return error(400, valid.error(), "invalid_domain_id");
  }
  if (id == keys_.masterDomainID) {
    return error(400, "domain " + id + " is this master's own domain; lites need their own ID",
                 "reserved_domain_id");
  }
  if (tokenTtlSeconds < 0) {
    return error(400, "deploy token lifetime must not be negative", "invalid_token_ttl");
  }
  const int64_t now = clock_();
  DomainRecord record;
  record.id = id;
  record.role = "lite";
  record.createdAt = now;
  record.tokenTtlSeconds = tokenTtlSeconds;
  DeployToken first = makeToken(id, now, tokenTtlSeconds);
  auto added = store_->addDomain(record, first);
  if (!added.ok()) {
    if (added.error.kind == StoreErrorKind::Conflict) {
      return error(409, "domain " + id + " already exists", "domain_exists");
    }
    return storeFailure(added.error, id);
  }
  // As Kuscia does: every domain gets a route to the master, its way to the control plane.
  // Best effort: the domain is committed and its token must reach the admin; an existing route
  // is fine, and after any other failure `route create <id> <master>` adds it by hand.
  RouteRecord toMaster;
  toMaster.name = id + "-" + keys_.masterDomainID;
  toMaster.source = id;
  toMaster.destination = keys_.masterDomainID;
  toMaster.authentication = "Token";
  toMaster.rollingPeriodSeconds = 86400;
  toMaster.createdAt = now;
  (void)store_->addRoute(toMaster);
  return okJson({{"domain", id}, {"token", first.token}});
}

Reply Authority::currentToken(const std::string& id) {
  if (!store_ || !caCert_) return error(500, "authority keys are invalid", "authority_invalid");
  // Only well-formed IDs reach the store and the messages (which echo the ID).
  if (!conf::isDnsLabel(id)) {
    return error(400, conf::validateDomainId(id).error(), "invalid_domain_id");
  }
  const std::string masterMessage = "domain " + id + " is the master; it has no deploy tokens";
  if (id == keys_.masterDomainID) return error(400, masterMessage, "reserved_domain_id");
  auto domain = store_->getDomain(id);
  if (!domain.ok()) return storeFailure(domain.error, id);
  if (domain.value->role == "master") return error(400, masterMessage, "reserved_domain_id");
  const int64_t now = clock_();
  auto tokens = store_->listTokens(id, now);
  if (!tokens.ok()) return storeFailure(tokens.error, id);
  // Newest first: the store lists oldest first. Expiry is re-checked in case a store lags.
  for (auto it = tokens.value->rbegin(); it != tokens.value->rend(); ++it) {
    if (it->state == TokenState::Unused && (it->expiresAt == 0 || it->expiresAt > now)) {
      return tokenReply(*it);
    }
  }
  auto added = store_->addToken(makeToken(id, now, domain.value->tokenTtlSeconds));
  if (!added.ok()) return storeFailure(added.error, id);
  return tokenReply(*added.value);
}

Reply Authority::listDomains(bool showTokens) {
  if (!store_ || !caCert_) return error(500, "authority keys are invalid", "authority_invalid");
  auto domains = store_->listDomains();
  if (!domains.ok()) return storeFailure(domains.error, "");
  std::vector<DomainRecord>& records = *domains.value;
  std::sort(records.begin(), records.end(),
            [](const DomainRecord& a, const DomainRecord& b) { return a.id < b.id; });
  const int64_t now = clock_();

  json::array out;
  for (const DomainRecord& d : records) {
    std::string fingerprint, notAfter;
    if (!d.certPem.empty()) {
      if (auto cert = certs::certFromPem(d.certPem); cert) {
        fingerprint = certs::certFingerprint(**cert);
        notAfter = rfc3339(std::chrono::duration_cast<std::chrono::seconds>(
                               certs::certNotAfter(**cert).time_since_epoch())
                               .count());
      }
    }
    auto tokens = store_->listTokens(d.id, now);
    if (!tokens.ok()) return storeFailure(tokens.error, d.id);
    json::array tokenList;
    for (const DeployToken& t : *tokens.value) {
      json::object entry{{"state", toString(t.state)},
                         {"createdAt", t.createdAt},
                         {"usedAt", t.usedAt},
                         {"expiresAt", t.expiresAt}};
      if (showTokens) entry["token"] = t.token;
      tokenList.push_back(std::move(entry));
    }
    out.push_back(json::object{{"domain", d.id},
                               {"role", d.role},
                               {"registered", !d.certPem.empty()},
                               {"registeredAt", d.registeredAt},
                               {"certFingerprint", fingerprint},
                               {"certNotAfter", notAfter},
                               {"tokens", std::move(tokenList)}});
  }
  return okJson({{"domains", std::move(out)}});
}

}  // namespace kgate::auth
