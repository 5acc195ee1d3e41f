#include "gateway/admin/api_handler.h"

#include <openssl/crypto.h>

#include <boost/json.hpp>

#include "auth/token_set.h"
#include "gateway/admin/api_request.h"
#include "gateway/admin/respond.h"
#include "gateway/control/control_plane.h"

namespace kgate::admin {

std::string jsonError(int code, std::string_view message) {
  boost::json::object err{{"code", code}, {"message", message}};
  return boost::json::serialize(boost::json::object{{"error", std::move(err)}}) + "\n";
}

ApiHandler::ApiHandler(std::string adminToken,
                       std::function<std::shared_ptr<const Snapshot>()> snapshot,
                       const std::atomic<bool>& ready, auth::Authority* authority,
                       ControlPlane* controlPlane)
    : tokenDigest_(auth::digestOf(adminToken)),
      snapshot_(std::move(snapshot)),
      ready_(ready),
      authority_(authority),
      controlPlane_(controlPlane) {}

namespace {

awaitable<void> sendReply(ServerStream& stream, const auth::Reply& r) {
  if (r.status == 200) co_await respond(stream, 200, "application/json", r.body);
  else co_await respond(stream, r.status, "application/json", jsonError(r.status, r.message));
}

std::string queryValue(std::string_view target, std::string_view key) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

awaitable<bool> ApiHandler::serveDomains(ServerStream& stream, std::string_view path) {
  const auto& req = stream.request();
  if (!path.starts_with("/api/v1/domains")) co_return false;
  if (!authority_) {
    co_await respond(stream, 404, "application/json",
                     jsonError(404, "this node is not a master: domains live on the master"));
    co_return true;
  }
  if (path == "/api/v1/domains" && req.method == "GET") {
    std::string show = queryValue(req.path, "showTokens");
    co_await sendReply(stream, authority_->listDomains(show == "true" || show == "1"));
    co_return true;
  }
  if (path == "/api/v1/domains" && req.method == "POST") {
    std::string body;
    if (!co_await readAll(stream, 64 * 1024, body)) {
      co_await respond(stream, 413, "application/json", jsonError(413, "request body too large"));
      co_return true;
    }
    auto request = parseAddDomain(body);
    if (!request) {
      co_await respond(stream, 400, "application/json",
                       jsonError(400, "expected {\"domain\": \"<id>\", \"tokenTtlSeconds\": <int>}"));
      co_return true;
    }
    auth::Reply reply = authority_->addDomain(request->domain, request->tokenTtlSeconds);
    co_await sendReply(stream, reply);
    co_return true;
  }
  constexpr std::string_view kPrefix = "/api/v1/domains/";
  if (path.starts_with(kPrefix) && path.ends_with("/token") && req.method == "GET") {
    std::string id(path.substr(kPrefix.size(), path.size() - kPrefix.size() - 6));
    co_await sendReply(stream, authority_->currentToken(id));
    co_return true;
  }
  co_return false;
}

awaitable<void> ApiHandler::serve(ServerStream& stream) {
  const auto& req = stream.request();
  if (!stream.connection().clientCertVerified) {
    co_await respond(stream, 401, "application/json",
                     jsonError(401,
                               "the node's admin client certificate is required (the node "
                               "writes it to <dataDir>/certs/admin-client.crt)"));
    co_return;
  }
  auto presented = auth::digestOf(req.headers.get("token"));
  if (!req.headers.has("token") ||
      CRYPTO_memcmp(presented.data(), tokenDigest_.data(), presented.size()) != 0) {
    co_await respond(stream, 401, "application/json",
                     jsonError(401, "missing or wrong admin token (header Token; the node writes "
                                    "it to <dataDir>/certs/token)"));
    co_return;
  }
  std::string_view path = req.path;
  path = path.substr(0, path.find('?'));
  if (path == "/api/v1/status" && (req.method == "GET" || req.method == "HEAD")) {
    auto snap = snapshot_();
    const conf::Config& c = *snap->config;
    boost::json::object status{{"domainID", c.domainID},
                               {"mode", c.roleName()},
                               {"instance", c.instance},
                               {"version", std::string(kVersion)},
                               {"ready", ready_.load()},
                               {"routes", snap->routes->routes().size()},
                               {"services", c.services.size()}};
    co_await respond(stream, 200, "application/json", boost::json::serialize(status) + "\n");
    co_return;
  }
  if (path.starts_with("/api/v1/probes/") && req.method == "GET" && authority_) {
    auto status = controlPlane_->probeStatus(std::string(path.substr(15)));
    if (status) co_await respond(stream, 200, "application/json", *status);
    else co_await respond(stream, 404, "application/json", jsonError(404, "no such probe"));
    co_return;
  }
  if (co_await serveDomains(stream, path)) co_return;
  if (co_await serveRoutes(stream, path)) co_return;
  co_await respond(stream, 404, "application/json",
                   jsonError(404, "no such endpoint: " + std::string(req.method) + " " +
                                      std::string(path)));
}

awaitable<bool> ApiHandler::serveRoutes(ServerStream& stream, std::string_view path) {
  const auto& req = stream.request();
  constexpr std::string_view kBase = "/api/v1/routes";
  if (!path.starts_with(kBase)) co_return false;
  if (!authority_) {
    co_await respond(stream, 404, "application/json",
                     jsonError(404, "this node is not a master: routes live on the master"));
    co_return true;
  }
  if (path == kBase && req.method == "GET") {
    co_await sendReply(stream, authority_->listRoutes());
    co_return true;
  }
  if (path == kBase && req.method == "POST") {
    std::string body;
    if (!co_await readAll(stream, 64 * 1024, body)) {
      co_await respond(stream, 413, "application/json", jsonError(413, "request body too large"));
      co_return true;
    }
    auto r = parseAddRoute(body);
    if (!r) {
      co_await respond(stream, 400, "application/json",
                       jsonError(400, "expected {\"source\", \"destination\", \"endpoint\", "
                                      "\"authentication\", \"rollingPeriodSeconds\", \"transit\"}"));
      co_return true;
    }
    auth::Reply reply = authority_->addRoute(r->source, r->destination, r->endpoint,
                                             r->authentication, r->rollingPeriodSeconds, r->transit);
    co_await sendReply(stream, reply);
    co_return true;
  }
  std::string_view rest = path.substr(kBase.size());
  if (rest.starts_with("/")) rest.remove_prefix(1);
  if (!rest.empty() && rest.find('/') == std::string_view::npos && req.method == "DELETE") {
    co_await sendReply(stream, authority_->deleteRoute(std::string(rest)));
    co_return true;
  }
  if (rest.ends_with("/probe") && req.method == "POST") {
    auto id = controlPlane_->startProbe(std::string(rest.substr(0, rest.size() - 6)));
    int status = id ? 200 : 404;
    std::string body = id ? boost::json::serialize(boost::json::object{{"id", *id}}) + "\n"
                          : jsonError(404, id.error());
    co_await respond(stream, status, "application/json", std::move(body));
    co_return true;
  }
  if (rest.ends_with("/rehandshake") && req.method == "POST") {
    co_await sendReply(stream, authority_->rehandshake(std::string(rest.substr(0, rest.size() - 12))));
    co_return true;
  }
  co_return false;
}

awaitable<void> ApiHandler::reject(ServerStream& stream, int status, std::string_view cause) {
  co_await respond(stream, status, "application/json", jsonError(status, cause));
}

}  // namespace kgate::admin
