#include "gateway/control/control_plane.h"

#include <boost/json.hpp>

#include "certs/files.h"
#include "conf/domain_id.h"
#include "conf/endpoint.h"
#include "gateway/control/unix_time.h"
#include "gateway/log.h"
#include "gateway/spawn.h"

namespace kgate {
namespace {

namespace json = boost::json;

std::string str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t num(const json::object& o, const char* key, int64_t fallback = 0) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : fallback;
}

json::object routeToJson(const LearnedRoute& r) {
  return json::object{{"name", r.name},
                      {"source", r.source},
                      {"destination", r.destination},
                      {"peer", r.peer},
                      {"endpoint", r.endpoint},
                      {"authentication", r.authentication},
                      {"rollingPeriodSeconds", r.rollingPeriodSeconds},
                      {"transit", r.transit},
                      {"generation", r.generation},
                      {"peerPublicKey", r.peerPublicKeyPem}};
}

LearnedRoute routeFromJson(const json::object& o) {
  LearnedRoute r;
  r.name = str(o, "name");
  r.source = str(o, "source");
  r.destination = str(o, "destination");
  r.peer = str(o, "peer");
  r.endpoint = str(o, "endpoint");
  r.authentication = str(o, "authentication");
  if (r.authentication.empty()) r.authentication = "Token";
  r.rollingPeriodSeconds = num(o, "rollingPeriodSeconds", 86400);
  r.transit = str(o, "transit");
  r.generation = num(o, "generation", 1);
  r.peerPublicKeyPem = str(o, "peerPublicKey");
  return r;
}

}  // namespace

ControlPlane::ControlPlane(Env env, std::shared_ptr<const conf::Config> config)
    : env_(std::move(env)), config_(std::move(config)), pool_(env_.executor, env_.sweeper) {
  // The key was validated at start-up (node.cc); a failure here cannot happen.
  if (auto key = certs::privateKeyFromPem(env_.domainKeyPem)) {
    domainKey_ = std::move(key).value();
    domainPublicKeyPem_ = certs::publicKeyToPem(*domainKey_, true);
  }
}

ControlPlane::~ControlPlane() { stop(); }

Result<std::shared_ptr<const Snapshot>> ControlPlane::load() {
  if (certs::fileExists(env_.stateFile)) {
    auto text = certs::readFile(env_.stateFile);
    if (!text) return fail(text.error());
    boost::system::error_code ec;
    auto doc = json::parse(*text, ec);
    if (ec || !doc.is_object())
      return fail(env_.stateFile + " is not valid JSON; move it away to start without the "
                  "negotiated route tokens (they will be negotiated again)");
    const auto& o = doc.as_object();
    if (auto* rs = o.if_contains("routes"); rs && rs->is_array())
      for (const auto& v : rs->as_array())
        if (v.is_object()) {
          LearnedRoute r = routeFromJson(v.as_object());
          routes_[r.name] = r;
        }
    auto each = [&](const char* key, auto& target) -> Result<void> {
      auto* section = o.if_contains(key);
      if (!section || !section->is_object()) return {};
      for (const auto& [name, v] : section->as_object()) {
        using T = typename std::decay_t<decltype(target)>::mapped_type;
        auto parsed = T::fromJson(json::serialize(v));
        if (!parsed) return fail(env_.stateFile + ": " + std::string(name) + ": " + parsed.error());
        target.emplace(std::string(name), std::move(parsed).value());
      }
      return {};
    };
    if (auto r = each("source", sourceTokens_); !r) return fail(r.error());
    for (auto& [name, t] : sourceTokens_) t.settle(nowSeconds());  // stopped mid-rotation
    if (auto r = each("destination", destTokens_); !r) return fail(r.error());
    if (auto* g = o.if_contains("generations"); g && g->is_object())
      for (const auto& [name, v] : g->as_object())
        if (v.is_int64()) generations_[std::string(name)] = v.as_int64();
  }
  if (env_.lite) {
    // The route to the master is known from registration, before the master is asked anything.
    LearnedRoute m;
    m.source = config_->domainID;
    m.destination = m.peer = env_.lite->masterDomainID;
    m.name = m.source + "-" + m.destination;
    m.peerPublicKeyPem = env_.lite->masterPublicKeyPem;
    auto it = routes_.find(m.name);
    if (it == routes_.end()) routes_[m.name] = m;
    else it->second.peerPublicKeyPem = m.peerPublicKeyPem;
  }
  auto snap = build();
  if (snap) snapshot_ = *snap;
  return snap;
}

void ControlPlane::start() {
  for (const auto& [name, r] : routes_)
    if (isSource(r) && r.transit.empty() && running_.insert(name).second)
      spawn(env_.executor, sourceLoop(name), "route " + name);
  if (env_.lite) spawn(env_.executor, liteLoop(), "master polling");
  if (env_.authority) spawn(env_.executor, masterLoop(), "route table");
  spawn(env_.executor, housekeeping(), "route token housekeeping");
}

void ControlPlane::stop() {
  stopped_ = true;
  pool_.closeAll(true);
}

awaitable<void> ControlPlane::sleep(Clock::duration d) {
  net::steady_timer t(env_.executor);
  t.expires_after(d);
  co_await t.async_wait(kUseTuple);
}

Result<std::shared_ptr<const Snapshot>> ControlPlane::build() {
  auto c = std::make_shared<conf::Config>(*config_);
  std::set<std::string> fixed;  // destinations the config routes statically: the config wins
  for (const auto& r : c->routes) fixed.insert(r.destination);
  std::vector<conf::Route> direct, transit;
  for (const auto& [name, r] : routes_) {
    if (!isSource(r) || fixed.count(r.destination)) continue;
    conf::Route cr;
    cr.destination = r.destination;
    if (!r.transit.empty()) {
      cr.transit = r.transit;
      transit.push_back(cr);
      continue;
    }
    std::string url = r.endpoint.empty() ? config_->masterEndpoint : r.endpoint;
    auto endpoint = conf::parseEndpoint(url);
    if (!endpoint) {
      KGATE_LOG(Warn, "route " << name << ": " << endpoint.error());
      continue;
    }
    cr.endpoint = *endpoint;
    cr.protocol = endpoint->tls() ? conf::UpstreamProtocol::Auto : conf::UpstreamProtocol::Http1;
    cr.tokenRequired = r.authentication == "Token";
    if (r.authentication == "MTLS" && env_.lite) {
      // Present our certificate from the master; accept only the destination's, by name.
      cr.clientCertPem = env_.lite->certPem;
      cr.clientKeyPem = env_.domainKeyPem;
      cr.caPem = env_.lite->masterCaPem;
      cr.verifyPeer = true;
      cr.sni = r.destination;
    }
    if (cr.tokenRequired) {
      auto it = sourceTokens_.find(name);
      if (it != sourceTokens_.end())
        if (auto sent = it->second.sending()) cr.token = std::move(sent->token);
    }
    direct.push_back(cr);
  }
  std::set<std::string> reachable = fixed;
  for (auto& r : direct) {
    reachable.insert(r.destination);
    c->routes.push_back(std::move(r));
  }
  for (auto& r : transit)
    if (reachable.count(r.transit)) c->routes.push_back(std::move(r));
  // Transit routes this node relays or ends: what its external listener lets peers do (the
  // route table keeps them as sets, so one also in the config is harmless).
  for (const auto& [name, r] : routes_)
    if (!r.transit.empty() && !isSource(r))
      c->transitRoutes.push_back({r.source, r.destination, r.transit});
  std::vector<std::pair<std::string, const auth::DestinationTokens*>> negotiated;
  for (const auto& [name, r] : routes_) {
    if (r.destination != config_->domainID || !r.transit.empty() || c->tokens.count(r.source))
      continue;
    if (r.authentication == "None") {
      c->tokens[r.source] = {"noop"};
      continue;
    }
    if (r.authentication == "MTLS") {
      c->tokens[r.source] = {"mtls"};
      continue;
    }
    auto it = destTokens_.find(name);
    if (it == destTokens_.end() || it->second.accepted().empty()) continue;
    negotiated.emplace_back(r.source, &it->second);
  }
  auto tokens = auth::TokenSet::fromConfig(*c);
  std::map<std::string, auth::TokenSet::UseMark> marks;  // only for tokens still accepted
  for (const auto& [source, held] : negotiated) {
    std::vector<std::string> list;
    std::vector<int> revisions;
    std::vector<auth::TokenSet::UseMark> used;
    for (const auto& h : held->held()) {
      const auth::NegotiatedToken& t = h.token;
      auto& mark = useMarks_[t.token];
      if (!mark) mark = std::make_shared<std::atomic<bool>>(false);
      marks[t.token] = mark;
      list.push_back(t.token);
      revisions.push_back(static_cast<int>(t.revision));
      used.push_back(mark);
    }
    tokens->set(source, list, std::move(revisions), std::move(used));
  }
  useMarks_ = std::move(marks);
  return buildSnapshot(c, std::move(tokens));
}

bool ControlPlane::collectUse(const std::string& name) {
  auto held = destTokens_.find(name);
  if (held == destTokens_.end()) return false;
  std::vector<std::string> used;  // noted after the walk: noting may trim the tokens
  for (const auto& h : held->second.held()) {
    if (h.usedAt != 0) continue;
    auto mark = useMarks_.find(h.token.token);
    if (mark != useMarks_.end() && mark->second->load(std::memory_order_relaxed))
      used.push_back(h.token.token);
  }
  bool changed = false;
  for (const auto& token : used) changed = held->second.noteUsed(token, nowSeconds()) || changed;
  return changed;
}

awaitable<void> ControlPlane::republish() {
  auto snap = build();
  if (!snap) {
    KGATE_LOG(Error, "cannot apply the routes learned from the master: " << snap.error());
    co_return;
  }
  snapshot_ = *snap;
  co_await env_.publish(snapshot_);
}

void ControlPlane::shareTokens(const std::string& name) {
  if (!env_.authority) return;
  auto route = routes_.find(name);
  if (route == routes_.end()) return;
  auth::TokenStateRecord state{name, "", 0, nowNanos()};
  if (route->second.destination == config_->domainID) {
    auto t = destTokens_.find(name);
    if (t == destTokens_.end()) return;
    state.json = t->second.toJson();
    state.revision = t->second.newestRevision();
  } else {
    auto t = sourceTokens_.find(name);
    if (t == sourceTokens_.end() || !t->second.current()) return;
    state.json = t->second.toJson();
    state.revision = t->second.current()->revision;
  }
  sharedAt_[name] = state.updatedAt;
  // Best effort: the store may be down; this master still holds the token, and its next
  // handshake shares again.
  if (auto r = env_.authority->shareTokenState(state); !r.ok())
    KGATE_LOG(Warn, "route " << name << ": cannot share its tokens: " << r.error.message);
}

std::optional<bool> ControlPlane::adoptSharedTokens() {
  auto states = env_.authority->sharedTokenStates();
  if (!states.ok()) return std::nullopt;  // the store is down: keep what we hold
  bool changed = false;
  for (const auth::TokenStateRecord& s : *states.value) {
    auto route = routes_.find(s.route);
    if (route == routes_.end() || !route->second.transit.empty()) continue;
    if (s.updatedAt <= sharedAt_[s.route]) continue;  // ours, or one we took already
    sharedAt_[s.route] = s.updatedAt;
    // The row holds the master's side of the route: the tokens it accepts when it is the
    // destination, the one it sends when it is the source.
    std::string why;
    if (route->second.destination == config_->domainID) {
      if (auto mine = destTokens_.find(s.route); mine != destTokens_.end() &&
                                                 mine->second.toJson() == s.json)
        continue;  // what we hold already (after a restart: our own)
      // Merged, not taken whole: each master may have seen a different token in use.
      auto theirs = auth::DestinationTokens::fromJson(s.json);
      if (!theirs) why = theirs.error();
      else
        destTokens_[s.route].merge(*theirs);
    } else if (route->second.source == config_->domainID) {
      if (auto mine = sourceTokens_.find(s.route); mine != sourceTokens_.end() &&
                                                   mine->second.toJson() == s.json)
        continue;
      auto theirs = auth::SourceTokens::fromJson(s.json);
      if (!theirs) why = theirs.error();
      else {
        theirs->settle(nowSeconds());  // shared mid-rotation, maybe long ago
        sourceTokens_[s.route] = std::move(*theirs);
      }
    } else {
      continue;
    }
    if (!why.empty()) {
      KGATE_LOG(Warn, "route " << s.route << ": the stored tokens are unreadable: " << why);
      continue;
    }
    KGATE_LOG(Info, "route " << s.route << ": took the token state of another master (revision "
                             << s.revision << ")");
    changed = true;
  }
  return changed;
}

void ControlPlane::persist() {
  json::array routes;
  for (const auto& [name, r] : routes_) routes.push_back(routeToJson(r));
  json::object source, destination, generations;
  auto asJson = [](const std::string& text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    return ec ? json::value() : v;
  };
  for (const auto& [name, t] : sourceTokens_) source[name] = asJson(t.toJson());
  for (const auto& [name, t] : destTokens_) destination[name] = asJson(t.toJson());
  for (const auto& [name, g] : generations_) generations[name] = g;
  json::object doc{{"routes", std::move(routes)},
                   {"source", std::move(source)},
                   {"destination", std::move(destination)},
                   {"generations", std::move(generations)}};
  if (auto w = certs::writeFileAtomic(env_.stateFile, json::serialize(doc) + "\n", 0600); !w)
    KGATE_LOG(Error, "cannot save route tokens: " << w.error());
}

void ControlPlane::setRoutes(std::map<std::string, LearnedRoute> next) {
  if (env_.lite) {
    // The master's list includes the route to it; keep ours if it is missing or stale.
    std::string m = config_->domainID + "-" + env_.lite->masterDomainID;
    auto mine = routes_.find(m);
    if (mine != routes_.end()) {
      auto it = next.find(m);
      if (it == next.end()) next[m] = mine->second;
      else if (it->second.peerPublicKeyPem.empty())
        it->second.peerPublicKeyPem = mine->second.peerPublicKeyPem;
    }
  }
  if (next == routes_) return;
  for (const auto& [name, r] : routes_) {
    if (next.count(name)) continue;
    KGATE_LOG(Info, "route " << name << " removed by the master");
    sourceTokens_.erase(name);
    destTokens_.erase(name);
    generations_.erase(name);
    sharedAt_.erase(name);
    health_.erase(name);
  }
  for (const auto& [name, r] : next)
    if (!routes_.count(name)) KGATE_LOG(Info, "route " << name << " learned from the master");
  routes_ = std::move(next);
  for (const auto& [name, r] : routes_)
    if (isSource(r) && r.transit.empty() && running_.insert(name).second)
      spawn(env_.executor, sourceLoop(name), "route " + name);
  persist();
  spawn(env_.executor, republish(), "publish routes");
}

awaitable<Result<void>> ControlPlane::setConfig(std::shared_ptr<const conf::Config> config) {
  auto old = config_;
  config_ = std::move(config);
  auto snap = build();
  if (!snap) {
    config_ = old;
    co_return fail(snap.error());
  }
  snapshot_ = *snap;
  co_await env_.publish(snapshot_);
  co_return Result<void>{};
}

std::string ControlPlane::reportJson(bool timestamps) const {
  auto at = [&](int64_t t) -> int64_t { return timestamps ? t : t != 0; };
  json::array out;
  for (const auto& [name, r] : routes_) {
    if (!r.transit.empty()) continue;
    if (isSource(r)) {
      auto h = health_.find(name);
      SourceHealth health = h == health_.end() ? SourceHealth{} : h->second;
      auto t = sourceTokens_.find(name);
      int64_t revision = t != sourceTokens_.end() && t->second.current()
                             ? t->second.current()->revision
                             : 0;
      out.push_back(json::object{{"name", name},
                                 {"side", "source"},
                                 {"revision", revision},
                                 {"heartbeatOkAt", at(health.heartbeatOkAt)},
                                 {"unreachableSince", at(health.unreachableSince)},
                                 {"heartbeatState", health.heartbeatState},
                                 {"heartbeatInterval", config_->heartbeatInterval.count()},
                                 // Whether there is one: its text may differ every time.
                                 {"error", timestamps ? json::value(health.error)
                                                      : json::value(!health.error.empty())}});
    } else if (r.destination == config_->domainID) {
      json::array revisions;
      int64_t last = 0;
      if (auto t = destTokens_.find(name); t != destTokens_.end()) {
        for (const auto& tok : t->second.accepted()) revisions.push_back(tok.revision);
        last = t->second.lastHeartbeatAt();
      }
      out.push_back(json::object{{"name", name},
                                 {"side", "destination"},
                                 {"revisions", std::move(revisions)},
                                 {"lastHeartbeatAt", at(last)}});
    }
  }
  return json::serialize(json::object{{"routes", std::move(out)}});
}

awaitable<ControlPlane::HttpAnswer> ControlPlane::handleHandshake(std::string body,
                                                                  std::string signature,
                                                                  std::string peerIp) {
  // Anyone may post here, and each answer costs an RSA decryption and encryption.
  auto nowMs = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  if (!handshakes_.allow(peerIp, nowMs.count())) {
    co_return HttpAnswer{429, "text/plain",
                         "too many handshakes from " + peerIp + "; retry later\n"};
  }
  auto request = auth::decodeHandshakeRequest(body);
  if (!request) co_return HttpAnswer{400, "text/plain", request.error() + "\n"};
  // Names no route, and would reach the log and the reply as it came (an unauthenticated body).
  if (!conf::isDnsLabel(request->domainId))
    co_return HttpAnswer{400, "text/plain", "handshake domain_id is not a domain id\n"};
  const std::string& self = config_->domainID;
  std::string name = request->domainId + "-" + self;
  auth::DestinationRoute route;
  auto it = routes_.find(name);
  if (it != routes_.end() && it->second.destination == self && it->second.transit.empty()) {
    route.exists = true;
    route.sourcePublicKeyPem = it->second.peerPublicKeyPem;
    route.rollingPeriodSeconds = it->second.rollingPeriodSeconds;
    collectUse(name);  // so a token the source has just started using counts as in use
    if (auto t = destTokens_.find(name); t != destTokens_.end()) {
      route.issuedRevision = t->second.issuedRevision();
      route.newestSettled = t->second.newestSettled();
    }
  }
  // Signed handshakes (kgate sources): a bad signature, or none from a source that signs, or a
  // replay of a signed one, is refused before any RSA decryption.
  const bool isSigned = !signature.empty();
  std::string signer;
  std::string refusal;
  if (route.exists && !route.sourcePublicKeyPem.empty()) {
    signer = auth::pubhash(route.sourcePublicKeyPem) + " generation " +
             std::to_string(it->second.generation);
    if (isSigned) {
      auto key = certs::publicKeyFromPem(route.sourcePublicKeyPem);
      if (!key || !auth::handshakeSignedBy(**key, self, body, signature))
        refusal = "handshake signature does not verify with the public key of source domain [" +
                  request->domainId + "]";
    }
    if (auto t = destTokens_.find(name); refusal.empty() && t != destTokens_.end())
      refusal = t->second.signingRefusal(request->domainId, signer, isSigned, request->requestTime);
  }
  if (!refusal.empty()) {
    KGATE_LOG(Warn, "route " << name << ": refused handshake from " << peerIp << ": " << refusal);
    auth::HandshakeReply reply;
    reply.code = 500;
    reply.message = refusal;
    co_return HttpAnswer{200, "application/json", auth::encodeHandshakeReply(reply)};
  }
  auto decision = auth::answerHandshake(*request, self, route, *domainKey_, nowNanos());
  if (decision.token) {
    auto& held = destTokens_[name];
    held.install(*decision.token, nowSeconds());
    if (isSigned) held.noteSigned(signer, request->requestTime);
    persist();
    shareTokens(name);
    // The source starts sending this token as soon as it reads the reply: every worker must
    // accept it first.
    co_await republish();
    KGATE_LOG(Info, "route " << name << ": accepted token revision " << decision.token->revision);
  } else {
    KGATE_LOG(Warn, "route " << name << ": refused handshake: " << decision.reply.message);
  }
  co_return HttpAnswer{200, "application/json", auth::encodeHandshakeReply(decision.reply)};
}

std::string ControlPlane::handleHeartbeat(std::string_view source, std::string_view revision,
                                          std::string_view token) {
  const std::string& self = config_->domainID;
  auto answer = [&](auth::HeartbeatState s) {
    return json::serialize(json::object{{"namespace", self}, {"state", static_cast<int>(s)}}) +
           "\n";
  };
  using S = auth::HeartbeatState;
  if (source.empty()) return answer(S::DomainIDInputInvalid);
  std::string name = std::string(source) + "-" + self;
  auto it = routes_.find(name);
  if (it == routes_.end() || it->second.destination != self) {
    // Static tokens from the config: revisions 1..n, as listed.
    auto stat = config_->tokens.find(std::string(source));
    if (stat == config_->tokens.end()) return answer(S::NoAuthentication);
    if (revision.empty()) return answer(S::TokenRevisionInputInvalid);
    for (size_t i = 0; i < stat->second.size(); ++i)
      if (std::to_string(i + 1) == revision) return answer(S::TokenReady);
    return answer(S::TokenNotFound);
  }
  if (!needsTokens(it->second))
    return answer(revision.empty() ? S::TokenRevisionInputInvalid : S::TokenReady);
  auto& held = destTokens_[name];
  size_t usedBefore = held.usedCount();
  S state = held.onHeartbeat(revision, nowSeconds(), token);
  if (held.usedCount() != usedBefore) {
    persist();
    shareTokens(name);  // what is in use protects it on every master
  }
  return answer(state);
}

Result<std::string> ControlPlane::startProbe(const std::string& routeName) {
  if (!env_.authority) return fail("probes are run from the master");
  auto list = env_.authority->listRoutes();
  boost::system::error_code ec;
  auto doc = json::parse(list.body, ec);
  const json::array* routes = nullptr;
  if (!ec && doc.is_object())
    if (auto* r = doc.as_object().if_contains("routes"); r && r->is_array()) routes = &r->as_array();
  if (routes)
    for (const auto& v : *routes)
      if (v.is_object() && str(v.as_object(), "name") == routeName)
        return probes_.start(routeName, str(v.as_object(), "source"), nowSeconds());
  return fail("route " + routeName + " not found");
}

std::optional<std::string> ControlPlane::probeStatus(const std::string& id) {
  return probes_.status(id, nowSeconds());
}

std::vector<std::pair<std::string, std::string>> ControlPlane::pendingProbes(
    const std::string& source) {
  return probes_.pendingFor(source, nowSeconds());
}

bool ControlPlane::completeProbe(const std::string& source, const std::string& id,
                                 const std::string& steps) {
  return probes_.complete(source, id, steps);
}

awaitable<void> ControlPlane::housekeeping() {
  while (!stopped_) {
    co_await sleep(std::chrono::seconds(5));
    bool changed = false;
    int64_t now = nowSeconds();
    bool used = false;
    for (auto& [name, t] : destTokens_) {
      bool use = collectUse(name), retired = t.expire(now);
      // What is in use protects it on every master; what retired must not come back from
      // another master's older row.
      if (use || retired) shareTokens(name);
      used = used || use;
      changed = changed || retired;
    }
    if (changed || used) persist();
    if (changed) co_await republish();
  }
}

}  // namespace kgate
