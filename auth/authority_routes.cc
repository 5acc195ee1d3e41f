// Authority: routes (Kuscia's ClusterDomainRoute) on the master, and the control service their
// ends use: route create/list/delete/rehandshake, routesFor (what a domain must know about its
// routes) and acceptReport (what the ends say about them), from which listRoutes derives READY
// (route_status.cc). The JSON is documented in auth/README.md, "Routes".
//
// Reports are trusted only from the end they describe, are kept in memory only (after a master
// restart routes show not ready until the ends report again, within seconds), and count as
// absent once older than 60 s.
#include <openssl/x509.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <optional>

#include "auth/authority.h"
#include "auth/reply.h"
#include "auth/route_status.h"
#include "auth/safe_text.h"
#include "conf/ascii.h"
#include "conf/domain_id.h"
#include "conf/endpoint.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;

Reply routeStoreFailure(const StoreError& e) {
  switch (e.kind) {
    case StoreErrorKind::Unavailable:
      return error(503, "authority store unavailable: " + e.message, "store_unavailable");
    case StoreErrorKind::Conflict:
      return error(409, "authority store conflict: " + e.message, "store_conflict");
    default:
      return error(500, "authority store error: " + e.message, "store_error");
  }
}

Reply routeNotFound(const std::string& name) {
  return error(404, "route " + safeText(name, 128) + " not found", "route_not_found");
}

// "Token", "MTLS" or "None" in any case ("" means the default, Token); nullopt otherwise.
std::optional<std::string> canonicalAuthentication(std::string_view s) {
  std::string lower = conf::asciiLower(s);
  if (lower.empty() || lower == "token") return "Token";
  if (lower == "mtls") return "MTLS";
  if (lower == "none") return "None";
  return std::nullopt;
}

// The host a listing shows: the URL's; "master" for a route to the master's own endpoint (the
// lite's masterEndpoint); "-" for a transit route.
std::string hostOf(const RouteRecord& r, const std::string& master) {
  if (!r.transit.empty()) return "-";
  if (r.endpoint.empty()) return r.destination == master ? "master" : "-";
  auto ep = conf::parseEndpoint(r.endpoint);
  return ep ? ep->host : "-";
}

json::object routeJson(const RouteRecord& r, const std::string& master) {
  return json::object{{"name", r.name},
                      {"source", r.source},
                      {"destination", r.destination},
                      {"endpoint", r.endpoint},
                      {"host", hostOf(r, master)},
                      {"authentication", r.authentication},
                      {"rollingPeriodSeconds", r.rollingPeriodSeconds},
                      {"transit", r.transit},
                      {"generation", r.generation},
                      {"createdAt", r.createdAt}};
}

// PEM "RSA PUBLIC KEY" of a registered certificate; "" for none (or an unreadable one).
std::string certPublicKeyPem(const std::string& certPem) {
  if (certPem.empty()) return "";
  auto cert = certs::certFromPem(certPem);
  const EVP_PKEY* key = cert ? X509_get0_pubkey(cert->get()) : nullptr;
  return key != nullptr ? certs::publicKeyToPem(*key, true) : "";
}

// A 400 unless `id` can name a route end; the master's own ID always can.
std::optional<Reply> invalidEnd(const std::string& what, const std::string& id,
                                const std::string& master) {
  if (!id.empty() && id == master) return std::nullopt;
  if (auto valid = conf::validateDomainId(id); !valid) {
    return error(400, what + ": " + valid.error(), "invalid_domain_id");
  }
  return std::nullopt;
}

// A 404 (or the store's failure) unless `id` is a domain of the store or this master.
std::optional<Reply> unknownEnd(Store& store, const std::string& id, const std::string& master) {
  if (id == master) return std::nullopt;
  auto d = store.getDomain(id);
  if (d.ok()) return std::nullopt;
  if (d.error.kind == StoreErrorKind::NotFound) {
    return error(404, "domain " + id + " not found", "domain_not_found");
  }
  return routeStoreFailure(d.error);
}

// A 400 unless the direct route from -> to exists, as a hop of transit route `name`.
std::optional<Reply> missingHop(Store& store, const std::string& name, const std::string& from,
                                const std::string& to, const std::string& transit) {
  const std::string hop = from + "-" + to;
  auto r = store.getRoute(hop);
  if (!r.ok() && r.error.kind != StoreErrorKind::NotFound) return routeStoreFailure(r.error);
  // Names can collide ("a-b"+"c" and "a"+"b-c"), so the ends must match too.
  if (!r.ok() || r.value->source != from || r.value->destination != to) {
    return error(
        400,
        "transit route " + name + " via " + transit + " needs route " + hop + "; create it first",
        "transit_hop_missing");
  }
  // One level only: it keeps READY and the lites' forwarding free of chains and loops.
  if (!r.value->transit.empty()) {
    return error(400, "route " + hop + " is itself a transit route; the hops must be direct",
                 "transit_hop_not_direct");
  }
  // The transit must know who asks it to relay, and the destination who relays.
  if (r.value->authentication == "None") {
    return error(400,
                 "route " + hop +
                     " has no authentication; the hops of a transit route need "
                     "Token or MTLS",
                 "transit_hop_unauthenticated");
  }
  return std::nullopt;
}

// Whether transit route t travels over route r.
bool carries(const RouteRecord& r, const RouteRecord& t) {
  if (t.transit.empty()) return false;
  return (t.source == r.source && t.transit == r.destination) ||
         (t.transit == r.source && t.destination == r.destination);
}

}  // namespace

Reply Authority::addRoute(const std::string& source, const std::string& destination,
                          const std::string& url, const std::string& authentication,
                          int64_t rollingPeriodSeconds, const std::string& transit) {
  if (!store_ || !caCert_) return error(500, "authority keys are invalid", "authority_invalid");
  const std::string& master = keys_.masterDomainID;
  // Cheap checks first; the store is asked only about well-formed IDs.
  if (auto bad = invalidEnd("route source", source, master)) return *bad;
  if (auto bad = invalidEnd("route destination", destination, master)) return *bad;
  const std::string name = source + "-" + destination;
  if (source == destination) {
    return error(400, "route source and destination are both " + source, "route_same_ends");
  }
  auto auth = canonicalAuthentication(authentication);
  if (!auth) {
    return error(400,
                 "authentication \"" + safeText(authentication) +
                     "\" is not supported; use Token, MTLS or None",
                 "invalid_authentication");
  }
  if (rollingPeriodSeconds < 0) {
    return error(400, "rolling update period must not be negative", "invalid_rolling_period");
  }
  std::string endpoint;
  if (!transit.empty()) {
    if (auto bad = invalidEnd("transit domain", transit, master)) return *bad;
    if (!url.empty()) {
      return error(400, "transit route " + name + " takes no URL: it goes through " + transit,
                   "transit_with_url");
    }
    if (transit == source || transit == destination) {
      return error(400, "transit domain " + transit + " must differ from both ends of " + name,
                   "invalid_transit");
    }
  } else if (!url.empty()) {
    auto ep = conf::parseEndpoint(url);
    if (!ep) return error(400, "route URL " + safeText(ep.error(), 300), "invalid_route_url");
    if (*auth == "MTLS" && !ep->tls()) {
      return error(400, "MTLS route " + name + " needs an https:// URL (the certificates are "
                        "exchanged in the TLS handshake)", "invalid_route_url");
    }
    endpoint = ep->url();              // canonical: scheme and host lower-cased, port explicit
  } else if (destination != master) {  // a route to the master uses the lite's masterEndpoint
    return error(400, "route " + name + " needs the URL of " + destination + "'s gateway",
                 "route_url_missing");
  }

  for (const std::string* end : {&source, &destination, &transit}) {
    if (end->empty()) continue;
    if (auto unknown = unknownEnd(*store_, *end, master)) return *unknown;
  }
  if (!transit.empty()) {
    if (auto bad = missingHop(*store_, name, source, transit, transit)) return *bad;
    if (auto bad = missingHop(*store_, name, transit, destination, transit)) return *bad;
  }

  RouteRecord route{name,     source, destination, endpoint, *auth, rollingPeriodSeconds, transit,
                    clock_(), 1};
  auto added = store_->addRoute(route);
  if (!added.ok()) {
    if (added.error.kind != StoreErrorKind::Conflict) return routeStoreFailure(added.error);
    auto existing = store_->getRoute(name);
    std::string other;
    if (existing.ok() &&
        (existing.value->source != source || existing.value->destination != destination)) {
      other = " (from " + existing.value->source + " to " + existing.value->destination + ")";
    }
    return error(409, "route " + name + " already exists" + other, "route_exists");
  }
  return okJson({{"route", routeJson(*added.value, master)}});
}

Reply Authority::listRoutes() {
  if (!store_ || !caCert_) return error(500, "authority keys are invalid", "authority_invalid");
  auto all = store_->listRoutes();
  if (!all.ok()) return routeStoreFailure(all.error);
  auto domains = store_->listDomains();
  if (!domains.ok()) return routeStoreFailure(domains.error);

  routes::World world;
  world.now = clock_();
  world.master = keys_.masterDomainID;
  for (const DomainRecord& d : *domains.value) {
    if (!d.certPem.empty()) world.registered.insert(d.id);
  }
  for (const RouteRecord& r : *all.value) world.routes[r.name] = r;
  // Older reports count as absent.
  auto reports = store_->listReports(world.now - routes::kReportFreshSeconds);
  if (!reports.ok()) return routeStoreFailure(reports.error);
  for (const ReportRecord& report : *reports.value) {
    if (report.side == "source") {
      auto s = routes::sourceFromJson(report.json);
      s.reportedAt = report.receivedAt;
      world.sources[report.route] = std::move(s);
    } else {
      auto d = routes::destinationFromJson(report.json);
      d.reportedAt = report.receivedAt;
      world.destinations[report.route] = std::move(d);
    }
  }

  json::array out;
  for (const auto& [name, r] : world.routes) {  // by name
    routes::Readiness status = routes::evaluate(world, r);
    json::object o = routeJson(r, world.master);
    o["ready"] = status.ready;
    o["reason"] = status.reason;
    o["message"] = status.message;
    auto s = world.sources.find(name);
    auto d = world.destinations.find(name);
    o["sourceRevision"] = s != world.sources.end() ? s->second.revision : 0;
    json::array revisions;
    if (d != world.destinations.end()) {
      for (int64_t revision : d->second.revisions) revisions.push_back(revision);
    }
    o["destinationRevisions"] = std::move(revisions);
    // The latest heartbeat either end saw: the source's success or the destination's answer.
    int64_t heartbeat = s != world.sources.end() ? s->second.heartbeatOkAt : 0;
    if (d != world.destinations.end()) heartbeat = std::max(heartbeat, d->second.lastHeartbeatAt);
    o["lastHeartbeatAt"] = heartbeat;
    out.push_back(std::move(o));
  }
  return okJson({{"routes", std::move(out)}});
}

Reply Authority::deleteRoute(const std::string& name) {
  if (!store_ || !caCert_) return error(500, "authority keys are invalid", "authority_invalid");
  auto route = store_->getRoute(name);
  if (!route.ok()) {
    if (route.error.kind == StoreErrorKind::NotFound) return routeNotFound(name);
    return routeStoreFailure(route.error);
  }
  auto all = store_->listRoutes();
  if (!all.ok()) return routeStoreFailure(all.error);
  for (const RouteRecord& t : *all.value) {
    if (carries(*route.value, t)) {
      return error(
          400,
          "route " + name + " carries transit route " + t.name + "; delete " + t.name + " first",
          "route_in_use");
    }
  }
  auto deleted = store_->deleteRoute(name);
  if (!deleted.ok()) {
    if (deleted.error.kind == StoreErrorKind::NotFound) return routeNotFound(name);
    return routeStoreFailure(deleted.error);
  }
  return okJson({{"deleted", name}});
}

Reply Authority::rehandshake(const std::string& name) {
  if (!store_ || !caCert_) return error(500, "authority keys are invalid", "authority_invalid");
  auto bumped = store_->bumpRouteGeneration(name);
  if (!bumped.ok()) {
    if (bumped.error.kind == StoreErrorKind::NotFound) return routeNotFound(name);
    return routeStoreFailure(bumped.error);
  }
  return okJson({{"route", routeJson(*bumped.value, keys_.masterDomainID)}});
}

Reply Authority::routesFor(const std::string& domain) {
  if (!store_ || !caCert_ || !masterKey_) {
    return error(500, "authority keys are invalid", "authority_invalid");
  }
  const std::string& master = keys_.masterDomainID;
  if (domain != master) {
    if (!conf::isDnsLabel(domain)) {
      return error(400, conf::validateDomainId(domain).error(), "invalid_domain_id");
    }
    if (auto unknown = unknownEnd(*store_, domain, master)) return *unknown;
  }
  // Read first: the routes below are at least as new as the version they are sent with.
  auto version = store_->changeCount();
  if (!version.ok()) return routeStoreFailure(version.error);
  auto all = store_->listRoutes();
  if (!all.ok()) return routeStoreFailure(all.error);
  auto domains = store_->listDomains();
  if (!domains.ok()) return routeStoreFailure(domains.error);

  std::map<std::string, std::string> keys{{master, certs::publicKeyToPem(*masterKey_, true)}};
  for (const DomainRecord& d : *domains.value) {
    if (d.id != master) keys[d.id] = certPublicKeyPem(d.certPem);
  }
  std::map<std::string, const RouteRecord*> byName;
  for (const RouteRecord& r : *all.value) byName[r.name] = &r;

  json::array out;
  for (const auto& [name, r] : byName) {
    const bool relayed = r->transit == domain;
    if (!relayed && r->source != domain && r->destination != domain) continue;
    json::object o = routeJson(*r, master);
    if (relayed) {
      // The transit relays it: it needs the ends' names, nothing to negotiate.
      o["peer"] = "";
      o["peerPublicKey"] = "";
      out.push_back(std::move(o));
      continue;
    }
    const std::string& peer = r->source == domain ? r->destination : r->source;
    o["peer"] = peer;
    auto key = keys.find(peer);
    o["peerPublicKey"] = key != keys.end() ? key->second : "";
    if (!r->transit.empty() && r->source == domain) {
      // Where the first hop goes ("" = the transit domain is the master: its masterEndpoint).
      auto hop = byName.find(r->source + "-" + r->transit);
      o["transitEndpoint"] = hop != byName.end() ? hop->second->endpoint : "";
    }
    out.push_back(std::move(o));
  }
  return okJson({{"master", master}, {"version", *version.value}, {"routes", std::move(out)}});
}

Reply Authority::acceptReport(const std::string& domain, const std::string& body) {
  if (!store_ || !caCert_) return error(500, "authority keys are invalid", "authority_invalid");
  // Parse everything before keeping anything: a malformed report changes nothing.
  auto entries = routes::parseReport(body);
  if (!entries) return error(400, entries.error(), "invalid_route_report");
  auto all = store_->listRoutes();
  if (!all.ok()) return routeStoreFailure(all.error);
  std::map<std::string, const RouteRecord*> byName;
  for (const RouteRecord& r : *all.value) byName[r.name] = &r;

  const int64_t now = clock_();
  std::vector<ReportRecord> kept;
  for (const routes::ReportEntry& e : *entries) {
    auto it = byName.find(e.name);
    if (it == byName.end() || domain.empty()) continue;
    // An end speaks only for itself: alice's word on bob's side of alice-bob is never taken.
    const bool own = (e.side == "source" && it->second->source == domain) ||
                     (e.side == "destination" && it->second->destination == domain);
    if (!own) continue;
    kept.push_back(ReportRecord{e.name, e.side, e.json, now});
  }
  if (!kept.empty())
    if (auto stored = store_->putReports(kept); !stored.ok()) return routeStoreFailure(stored.error);
  return okJson({{"accepted", static_cast<int64_t>(kept.size())}});
}

void Authority::reportSelf(const std::string& body) { acceptReport(keys_.masterDomainID, body); }

StoreResult<bool> Authority::shareTokenState(const TokenStateRecord& state) {
  return store_->putTokenState(state);
}

StoreResult<std::vector<TokenStateRecord>> Authority::sharedTokenStates() {
  return store_->listTokenStates();
}

StoreResult<int64_t> Authority::routesVersion() {
  if (!store_) return StoreResult<int64_t>::failure(StoreErrorKind::Unavailable, "no store");
  return store_->changeCount();
}

}  // namespace kgate::auth
