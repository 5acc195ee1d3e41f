// The admin API (-k), HTTPS only: the TLS layer already required a client certificate signed by
// the node's CA; here every request must also carry the admin token (header "Token", compared
// in constant time). Anything else is 401 with a JSON error and changes nothing.
// Endpoints (JSON in and out; errors are {"error":{"code":N,"message":"..."}} with that HTTP
// status):
//   GET  /api/v1/status                        node identity and readiness
//   POST /api/v1/domains  {"domain":"alice","tokenTtlSeconds":0}
//                                              master: admit a domain -> {"domain","token"}
//   GET  /api/v1/domains[?showTokens=true]     master: domains, registration, deploy tokens
//   GET  /api/v1/domains/<id>/token            master: the unused deploy token (a new one when
//                                              none is valid) -> {"domain","token","expiresAt"}
//   POST /api/v1/routes {"source","destination","endpoint","authentication",
//                        "rollingPeriodSeconds","transit"}   master: create a route
//   GET  /api/v1/routes                        master: routes with READY and REASON
//   DELETE /api/v1/routes/<name>               master: remove a route everywhere
//   POST /api/v1/routes/<name>/rehandshake     master: both ends negotiate a new token
//   POST /api/v1/routes/<name>/probe           master: the source checks the route -> {"id"}
//   GET  /api/v1/probes/<id>                   {"id","route","source","state","steps":[
//                                              {"step","result":"PASS|FAIL|SKIP","detail"}]}
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "auth/authority.h"
#include "gateway/connection.h"
#include "gateway/snapshot.h"

namespace kgate {
class ControlPlane;
}

namespace kgate::admin {

class ApiHandler final : public StreamHandler {
 public:
  // snapshot: returns the node's current snapshot (control thread).
  // authority: null on nodes that are not a master.
  ApiHandler(std::string adminToken, std::function<std::shared_ptr<const Snapshot>()> snapshot,
             const std::atomic<bool>& ready, auth::Authority* authority,
             ControlPlane* controlPlane);
  awaitable<void> serve(ServerStream& stream) override;
  awaitable<void> reject(ServerStream& stream, int status, std::string_view cause) override;

 private:
  // Handles /api/v1/domains*; false when the path is not one of them.
  awaitable<bool> serveDomains(ServerStream& stream, std::string_view path);
  awaitable<bool> serveRoutes(ServerStream& stream, std::string_view path);

  std::array<unsigned char, 32> tokenDigest_;
  std::function<std::shared_ptr<const Snapshot>()> snapshot_;
  const std::atomic<bool>& ready_;
  auth::Authority* authority_;
  ControlPlane* controlPlane_;
};

// {"error":{"code":N,"message":"..."}}
std::string jsonError(int code, std::string_view message);

}  // namespace kgate::admin
