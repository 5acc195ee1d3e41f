#include "gateway/admin/api_handler.h"

#include <openssl/crypto.h>

#include <boost/json.hpp>

#include "auth/token_set.h"
#include "gateway/admin/respond.h"

namespace kgate::admin {

std::string jsonError(int code, std::string_view message) {
  boost::json::object err{{"code", code}, {"message", message}};
  return boost::json::serialize(boost::json::object{{"error", std::move(err)}}) + "\n";
}

ApiHandler::ApiHandler(std::string adminToken,
                       std::function<std::shared_ptr<const Snapshot>()> snapshot,
                       const std::atomic<bool>& ready)
    : tokenDigest_(auth::digestOf(adminToken)), snapshot_(std::move(snapshot)), ready_(ready) {}

awaitable<void> ApiHandler::serve(ServerStream& stream) {
  const auto& req = stream.request();
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
  co_await respond(stream, 404, "application/json",
                   jsonError(404, "no such endpoint: " + std::string(req.method) + " " +
                                      std::string(path)));
}

awaitable<void> ApiHandler::reject(ServerStream& stream, int status, std::string_view cause) {
  co_await respond(stream, status, "application/json", jsonError(status, cause));
}

}  // namespace kgate::admin
