// The active side of ControlPlane: per-route source loops (handshake, heartbeat), the lite's
// polling of and reporting to the master, and the master's view of its own routes.
#include <boost/json.hpp>

#include "gateway/control/control_plane.h"
#include "gateway/control/unix_time.h"
#include "gateway/log.h"
#include "gateway/spawn.h"
#include "gateway/sync_client.h"

namespace kgate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr auto kPollEvery = 2s;
constexpr int64_t kReportEverySeconds = 5;

// The master's routes JSON (Authority::routesFor) as LearnedRoutes; nullopt when it is not
// that JSON (never read as "no routes", which would drop them all).
std::optional<std::map<std::string, LearnedRoute>> parseRoutes(const std::string& body) {
  std::map<std::string, LearnedRoute> out;
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const auto& o = doc.as_object();
  auto* routes = o.if_contains("routes");
  if (!routes || !routes->is_array()) return std::nullopt;
  for (const auto& v : routes->as_array()) {
    if (!v.is_object()) continue;
    const auto& r = v.as_object();
    auto s = [&](const char* k) {
      auto* x = r.if_contains(k);
      return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    auto n = [&](const char* k, int64_t d) {
      auto* x = r.if_contains(k);
      return x && x->is_int64() ? x->as_int64() : d;
    };
    LearnedRoute l;
    l.name = s("name");
    l.source = s("source");
    l.destination = s("destination");
    l.peer = s("peer");
    l.endpoint = s("endpoint");
    l.authentication = s("authentication");
    l.rollingPeriodSeconds = n("rollingPeriodSeconds", 86400);
    l.transit = s("transit");
    l.generation = n("generation", 1);
    l.peerPublicKeyPem = s("peerPublicKey");
    if (!l.name.empty()) out[l.name] = l;
  }
  return out;
}

// Probes the master hands out with the route list: (id, route).
std::vector<std::pair<std::string, std::string>> parseProbes(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> out;
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return out;
  auto* probes = doc.as_object().if_contains("probes");
  if (!probes || !probes->is_array()) return out;
  for (const auto& v : probes->as_array()) {
    if (!v.is_object()) continue;
    auto* id = v.as_object().if_contains("id");
    auto* route = v.as_object().if_contains("route");
    if (id && id->is_string() && route && route->is_string())
      out.emplace_back(std::string(id->as_string()), std::string(route->as_string()));
  }
  return out;
}

}  // namespace

awaitable<void> ControlPlane::probeForMaster(std::string id, std::string route) {
  std::string steps = co_await runProbe(route);
  const std::string master = env_.lite->masterDomainID;
  const std::string masterRoute = config_->domainID + "-" + master;
  auto token = sourceTokens_[masterRoute].sending();
  if (token && !stopped_) {
    SyncRequest req;
    req.method = "POST";
    req.url = peerUrl(routes_[masterRoute]) + "/api/v1/lite/probe";
    req.headers = {{"Kuscia-Host", "kgate-control." + master + ".svc"},
                   {"Kuscia-Source", config_->domainID},
                   {"Kuscia-Token", token->token},
                   {"Content-Type", "application/json"}};
    req.body = json::serialize(json::object{{"id", id}, {"steps", json::parse(steps)}});
    req.timeout = 10s;
    (void)co_await httpRequestAsync(pool_, env_.sweeper, req);
  }
  probesRunning_.erase(id);
}

void ControlPlane::presentMtls(const LearnedRoute& route, SyncRequest& req) const {
  // The heartbeat of an MTLS route takes the data path's TLS: our certificate from the master,
  // the peer verified against the master's CA by its domain name. A wrong certificate on either
  // side then shows in READY, not only in failed requests.
  if (route.authentication != "MTLS" || !env_.lite) return;
  req.verifyPeer = true;
  req.caPem = env_.lite->masterCaPem;
  req.clientCertPem = env_.lite->certPem;
  req.clientKeyPem = env_.domainKeyPem;
  req.serverName = route.destination;
}

std::string ControlPlane::peerUrl(const LearnedRoute& route) const {
  std::string url = route.endpoint.empty() ? config_->masterEndpoint : route.endpoint;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

awaitable<void> ControlPlane::sourceLoop(std::string name) {
  while (!stopped_) {
    auto it = routes_.find(name);
    if (it == routes_.end()) break;  // the master removed it
    LearnedRoute route = it->second;
    int64_t now = nowSeconds();
    if (needsTokens(route)) {
      auto& t = sourceTokens_[name];
      // A new generation (a rehandshake, or the route changed) negotiates now; the old token
      // is sent until the new one arrives, so calls do not fail in between.
      bool stale =
          t.current() && generations_.count(name) && generations_[name] != route.generation;
      if (route.peerPublicKeyPem.empty()) {
        health_[name].error = route.peer + " has not registered with the master yet";
      } else if ((stale || t.handshakeDue(now, route.rollingPeriodSeconds)) && now >= t.retryAt()) {
        if (stale && t.retryAt() == 0)
          KGATE_LOG(Info, "route " << name << ": rehandshake requested");
        co_await handshake(route);
      }
    }
    if (stopped_ || !routes_.count(name)) break;
    if (needsTokens(route) && sourceTokens_[name].settle(nowSeconds())) {
      persist();
      shareTokens(name);  // a master taking the shared state later must not send the old one
      co_await republish();
      if (stopped_ || !routes_.count(name)) break;
    }
    SourceHealth& h = health_[name];
    // A new token is shown to the destination at once: until then a handshake made by someone
    // else may still replace it there (auth/route_tokens.h).
    const auto& held = sourceTokens_[name];
    bool justNegotiated = needsTokens(route) && held.current() &&
                          (h.heartbeatState != 0 || held.installedAt() >= h.lastHeartbeat) &&
                          now - h.lastHeartbeat >= 1;
    if (now - h.lastHeartbeat >= config_->heartbeatInterval.count() || justNegotiated)
      co_await heartbeat(route);
    co_await sleep(1s);
  }
  running_.erase(name);
}

awaitable<void> ControlPlane::handshake(const LearnedRoute& route) {
  const std::string name = route.name;
  auto fail = [&](const std::string& why) {
    sourceTokens_[name].onHandshakeFailure(nowSeconds());
    persist();  // with the request_time sent: the destination may have taken it
    health_[name].error = why;
    KGATE_LOG(Warn, "route " << name << ": handshake with " << route.peer << " failed: " << why);
  };
  auto peerKey = certs::publicKeyFromPem(route.peerPublicKeyPem);
  if (!peerKey) {
    fail("the master gave an unusable public key for " + route.peer + ": " + peerKey.error());
    co_return;
  }
  auto& tokens = sourceTokens_[name];
  auto started = auth::startHandshake(config_->domainID, domainPublicKeyPem_, **peerKey,
                                      tokens.nextRevision(), tokens.nextRequestTime(nowNanos()));
  if (!started) {
    fail(started.error());
    co_return;
  }
  SyncRequest req;
  req.method = "POST";
  req.url = peerUrl(route) + "/handshake";
  req.headers = {{"Kuscia-Host", "kuscia-handshake." + route.peer + ".svc"},
                 {"Kuscia-Source", config_->domainID},
                 {"Content-Type", "application/json"}};
  req.body = auth::encodeHandshakeRequest(started->request);
  auto signature = auth::signHandshake(*domainKey_, route.peer, req.body);
  if (!signature) {
    fail(signature.error());
    co_return;
  }
  req.headers.emplace_back(std::string(auth::kSignatureHeader), std::move(*signature));
  req.timeout = 10s;
  auto resp = co_await httpRequestAsync(pool_, env_.sweeper, req);
  if (stopped_) co_return;
  if (!resp) {
    fail(resp.error());
    co_return;
  }
  if (resp->status != 200) {
    fail("HTTP " + std::to_string(resp->status) + ": " + firstLineOf(resp->body, 200));
    co_return;
  }
  auto reply = auth::decodeHandshakeReply(resp->body);
  if (!reply) {
    fail(reply.error());
    co_return;
  }
  auto token = auth::finishHandshake(*started, *reply, *domainKey_);
  if (!token) {
    fail(token.error());
    co_return;
  }
  if (!routes_.count(name)) co_return;  // removed while we waited
  // On schedule, the token it replaces is still good everywhere: requests carry it until every
  // master of the destination can know the new one. A new generation starts over at once.
  auto generation = generations_.find(name);
  bool rotation = generation != generations_.end() && generation->second == route.generation;
  sourceTokens_[name].install(*token, nowSeconds(), rotation);
  generations_[name] = route.generation;
  health_[name].error.clear();
  persist();
  shareTokens(name);
  co_await republish();
  KGATE_LOG(Info, "route " << name << ": token revision " << token->revision << " negotiated with "
                           << route.peer);
}

awaitable<void> ControlPlane::heartbeat(const LearnedRoute& route) {
  const std::string name = route.name;
  health_[name].lastHeartbeat = nowSeconds();
  SyncRequest req;
  req.url = peerUrl(route) + "/handshake";
  req.headers = {{"Kuscia-Host", "kuscia-handshake." + route.peer + ".svc"},
                 {"Kuscia-Source", config_->domainID}};
  auto current = sourceTokens_[name].current();
  if (current) {
    req.headers.emplace_back("Kuscia-Token-Revision", std::to_string(current->revision));
    // Shows the destination we hold this revision's bytes, so no handshake can displace them
    // (auth/route_tokens.h); Kuscia destinations ignore it.
    req.headers.emplace_back("Kuscia-Token", current->token);
  }
  req.timeout = 5s;
  presentMtls(route, req);
  auto resp = co_await httpRequestAsync(pool_, env_.sweeper, req);
  if (stopped_ || !routes_.count(name)) co_return;
  SourceHealth& h = health_[name];
  int64_t now = nowSeconds();
  if (!resp) {
    if (!h.unreachableSince) h.unreachableSince = now;
    h.error = resp.error();
    co_return;
  }
  h.unreachableSince = 0;
  boost::system::error_code ec;
  auto doc = json::parse(resp->body, ec);
  const json::value* state = !ec && doc.is_object() ? doc.as_object().if_contains("state") : nullptr;
  if (resp->status != 200 || !state || !state->is_int64()) {
    h.error = "heartbeat answered HTTP " + std::to_string(resp->status) + ": " +
              firstLineOf(resp->body, 200);
    co_return;
  }
  h.heartbeatState = static_cast<int>(state->as_int64());
  auto s = static_cast<auth::HeartbeatState>(h.heartbeatState);
  bool ok = needsTokens(route) ? s == auth::HeartbeatState::TokenReady
                               : (s == auth::HeartbeatState::TokenReady ||
                                  s == auth::HeartbeatState::TokenRevisionInputInvalid);
  if (ok) {
    h.heartbeatOkAt = now;
    h.error.clear();
  } else {
    h.error = route.peer + " answered heartbeat state " + std::to_string(h.heartbeatState);
  }
  if (needsTokens(route)) {
    auto& tokens = sourceTokens_[name];
    bool had = tokens.current().has_value();
    tokens.onHeartbeat(s, now);
    if (had && !tokens.current()) {
      KGATE_LOG(Warn, "route " << name << ": " << route.peer << " no longer accepts our token "
                               << "(state " << h.heartbeatState << "); negotiating a new one");
      persist();
      co_await republish();
    }
  }
}

bool ControlPlane::reportDue(int64_t now) {
  std::string state = reportJson(false);
  if (now - lastReportAt_ < kReportEverySeconds && state == lastReportState_) return false;
  lastReportAt_ = now;
  lastReportState_ = std::move(state);
  return true;
}

awaitable<void> ControlPlane::liteLoop() {
  const std::string self = config_->domainID;
  const std::string master = env_.lite->masterDomainID;
  const std::string masterRoute = self + "-" + master;
  while (!stopped_) {
    auto tokens = sourceTokens_[masterRoute].sending();
    if (tokens) {
      SyncRequest req;
      req.url = peerUrl(routes_[masterRoute]) + "/api/v1/lite/routes";
      req.headers = {{"Kuscia-Host", "kgate-control." + master + ".svc"},
                     {"Kuscia-Source", self},
                     {"Kuscia-Token", tokens->token}};
      req.timeout = 10s;
      auto resp = co_await httpRequestAsync(pool_, env_.sweeper, req);
      if (stopped_) break;
      if (resp && resp->status == 200) {
        if (auto routes = parseRoutes(resp->body)) setRoutes(std::move(*routes));
        else KGATE_LOG(Warn, "the master's route list is not valid JSON; keeping ours");
        for (auto& [id, route] : parseProbes(resp->body))
          if (probesRunning_.insert(id).second)
            spawn(env_.executor, probeForMaster(id, route), "probe " + route);
      } else if (resp && resp->status == 401) {
        KGATE_LOG(Warn, "the master refused our route token; negotiating a new one");
        sourceTokens_[masterRoute].clear();
        persist();
      } else if (!resp) {
        KGATE_LOG(Debug, "polling the master: " << resp.error());
      }
      if (sourceTokens_[masterRoute].current() && reportDue(nowSeconds())) {
        SyncRequest report = req;
        report.method = "POST";
        report.url = peerUrl(routes_[masterRoute]) + "/api/v1/lite/report";
        report.headers.emplace_back("Content-Type", "application/json");
        report.body = reportJson();
        auto answer = co_await httpRequestAsync(pool_, env_.sweeper, report);
        if (!answer || answer->status / 100 != 2) reportFailed();
      }
    }
    co_await sleep(kPollEvery);
  }
}

awaitable<void> ControlPlane::masterLoop() {
  while (!stopped_) {
    auth::Authority& a = *env_.authority;
    int64_t now = nowSeconds();
    // The version moves with every change to routes and shared tokens, by any master sharing
    // the store; one cheap read a second, the rest only when it moved. It is taken as seen only
    // once both reads succeeded, so a store outage in between is caught up afterwards.
    auto version = a.routesVersion();
    if (version.ok() && *version.value != masterVersion_) {
      bool read = false;
      auto reply = a.routesFor(config_->domainID);
      if (reply.status == 200) {
        if (auto routes = parseRoutes(reply.body)) setRoutes(std::move(*routes));
        // A lite may have negotiated with another master of this domain: its token must work
        // here before the lite's next request.
        if (std::optional<bool> adopted = adoptSharedTokens()) {
          read = true;
          if (*adopted) {
            persist();
            co_await republish();
          }
        }
      }
      if (read) masterVersion_ = *version.value;
    }
    if (reportDue(now)) a.reportSelf(reportJson());
    // Probes of routes the master itself is the source of run here.
    for (auto& [id, route] : probes_.pendingFor(config_->domainID, now))
      if (probesRunning_.insert(id).second) {
        std::string steps = co_await runProbe(route);
        probes_.complete(config_->domainID, id, steps);
        probesRunning_.erase(id);
      }
    co_await sleep(1s);
  }
}

}  // namespace kgate
