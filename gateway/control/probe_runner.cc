// Running a probe on the source of a route: each step of the path a request takes, with what it
// found, so an operator sees where a route breaks (reach, TLS, token, a real request).
#include <boost/json.hpp>

#include "conf/endpoint.h"
#include "gateway/control/control_plane.h"
#include "gateway/sync_client.h"
#include "gateway/transport.h"

namespace kgate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string heartbeatMeaning(int state) {
  switch (state) {
    case 0: return "token ready";
    case 1: return "no source domain in the request";
    case 2: return "no token revision in the request";
    case 3: return "token not ready";
    case 4: return "the destination does not hold this token revision";
    case 5: return "the destination has no route from this source";
    default: return "internal error";
  }
}

}  // namespace

awaitable<std::string> ControlPlane::runProbe(std::string name) {
  json::array steps;
  auto step = [&](const char* what, const char* result, std::string detail) {
    steps.push_back(json::object{{"step", what}, {"result", result}, {"detail", std::move(detail)}});
  };
  auto it = routes_.find(name);
  if (it == routes_.end() || !isSource(it->second)) {
    step("route", "FAIL", config_->domainID + " does not know route " + name + " yet");
    co_return json::serialize(steps);
  }
  LearnedRoute route = it->second;
  LearnedRoute hop = route;
  if (!route.transit.empty()) {
    auto h = routes_.find(config_->domainID + "-" + route.transit);
    if (h == routes_.end()) {
      step("route", "FAIL", "no route to the transit domain " + route.transit);
      co_return json::serialize(steps);
    }
    hop = h->second;
    step("route", "PASS", "through " + route.transit);
  }
  std::string url = peerUrl(hop);
  auto endpoint = conf::parseEndpoint(url);
  if (!endpoint) {
    step("reach", "FAIL", endpoint.error());
    co_return json::serialize(steps);
  }

  // Reach: a TCP connection to the next hop.
  std::string where = endpoint->host + ":" + std::to_string(endpoint->port);
  tcp::socket socket(env_.executor);
  Transport* tls = nullptr;  // once the socket belongs to a TLS transport
  bool timedOut = false;
  Deadline deadline(env_.sweeper, [&] {
    timedOut = true;
    error_code ignored;
    if (tls) tls->close();
    else socket.close(ignored);
  });
  deadline.arm(5s);
  tcp::resolver resolver(env_.executor);
  auto [rec, results] = co_await resolver.async_resolve(endpoint->host, std::to_string(endpoint->port), kUseTuple);
  error_code cec = rec;
  if (!rec) {
    for (const auto& r : results) {
      auto [e] = co_await socket.async_connect(r.endpoint(), kUseTuple);
      cec = e;
      if (!e) break;
    }
  }
  if (cec) {
    step("reach", "FAIL", where + ": " + (timedOut ? std::string("timed out") : cec.message()));
    co_return json::serialize(steps);
  }
  step("reach", "PASS", "connected to " + where);

  // TLS: the handshake and who answered it; on an MTLS route, verified as the data path does.
  if (endpoint->tls()) {
    bool mtls = hop.authentication == "MTLS" && env_.lite;
    certs::SslContextPtr ctx = probeTls_;
    if (mtls || !ctx) {
      certs::ClientTlsOptions o;
      o.alpn = {"h2", "http/1.1"};
      if (mtls) {
        o.verifyPeer = true;
        o.caPem = env_.lite->masterCaPem;
        o.certChainPem = env_.lite->certPem;
        o.keyPem = env_.domainKeyPem;
      }
      auto made = certs::makeClientContext(o);
      if (!made) {
        step("tls", "FAIL", made.error());
        co_return json::serialize(steps);
      }
      ctx = *made;
      if (!mtls) probeTls_ = ctx;
    }
    Transport t(std::move(socket), ctx->native_handle(), Transport::Role::Client);
    tls = &t;
    t.setPeerName(mtls ? hop.destination : endpoint->host, mtls);
    std::string why;
    auto ec = co_await t.handshake(&why);
    tls = nullptr;
    if (ec) {
      step("tls", "FAIL", where + ": " + (timedOut ? std::string("timed out") : why));
      co_return json::serialize(steps);
    }
    step("tls", "PASS", t.peerCertificateSummary());
    t.close(true);
  } else {
    step("tls", "SKIP", "plain HTTP");
  }
  deadline.disarm();

  // Token: does the next hop accept the revision we send?
  if (needsTokens(hop)) {
    auto t = sourceTokens_[hop.name].sending();
    if (!t) {
      step("token", "FAIL", "no token negotiated with " + hop.peer + " yet: " + health_[hop.name].error);
      co_return json::serialize(steps);
    }
    SyncRequest req;
    req.url = peerUrl(hop) + "/handshake";
    req.headers = {{"Kuscia-Host", "kuscia-handshake." + hop.peer + ".svc"},
                   {"Kuscia-Source", config_->domainID},
                   {"Kuscia-Token-Revision", std::to_string(t->revision)}};
    req.timeout = 5s;
    auto resp = co_await httpRequestAsync(pool_, env_.sweeper, req);
    json::value state;
    boost::system::error_code ec;
    if (resp) state = json::parse(resp->body, ec);
    const json::value* s = resp && !ec && state.is_object() ? state.as_object().if_contains("state") : nullptr;
    if (!s || !s->is_int64()) {
      step("token", "FAIL", resp ? "heartbeat answered HTTP " + std::to_string(resp->status) : resp.error());
      co_return json::serialize(steps);
    }
    int code = static_cast<int>(s->as_int64());
    step("token", code == 0 ? "PASS" : "FAIL",
         hop.peer + " " + (code == 0 ? "accepts" : "refuses") + " revision " +
             std::to_string(t->revision) + " (" + heartbeatMeaning(code) + ")");
    if (code != 0) co_return json::serialize(steps);
  } else {
    step("token", "SKIP", "route authenticates with " + hop.authentication);
  }

  // Request: a real one, through this node's internal listener, answered by the destination
  // only after it authenticated us.
  std::string self = config_->listenAddress == "0.0.0.0" || config_->listenAddress == "::"
                         ? "127.0.0.1"
                         : config_->listenAddress;
  SyncRequest req;
  req.url = "http://" + self + ":" + std::to_string(config_->ports.internal) + "/";
  req.headers = {{"Host", "kgate-probe." + route.destination + ".svc"}};
  req.timeout = 10s;
  auto start = std::chrono::steady_clock::now();
  auto resp = co_await httpRequestAsync(pool_, env_.sweeper, req);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  if (!resp) {
    step("request", "FAIL", resp.error());
  } else if (resp->status != 200) {
    step("request", "FAIL", "HTTP " + std::to_string(resp->status) + ": " +
                                resp->header("kuscia-error-message"));
  } else {
    step("request", "PASS", "GET kgate-probe." + route.destination + ".svc through " +
                                config_->domainID + " answered by " + route.destination + " in " +
                                std::to_string(ms) + " ms");
  }
  co_return json::serialize(steps);
}

}  // namespace kgate
