#include "gateway/admin/health_handler.h"

#include "gateway/admin/respond.h"

namespace kgate::admin {

awaitable<void> HealthHandler::serve(ServerStream& stream) {
  const auto& req = stream.request();
  std::string_view path = req.path;
  path = path.substr(0, path.find('?'));
  if (req.method != "GET" && req.method != "HEAD") {
    co_await respond(stream, 405, "text/plain", "method not allowed\n");
  } else if (path == "/metrics") {
    co_await respond(stream, 200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render());
  } else if (path == "/healthz") {
    co_await respond(stream, 200, "text/plain", "ok\n");
  } else if (path == "/ready") {
    bool ready = ready_.load();
    std::string body = ready ? "ready\n" : "not ready\n";
    co_await respond(stream, ready ? 200 : 503, "text/plain", std::move(body));
  } else {
    co_await respond(stream, 404, "text/plain", "not found: try /metrics, /healthz or /ready\n");
  }
}

awaitable<void> HealthHandler::reject(ServerStream& stream, int status, std::string_view cause) {
  co_await respond(stream, status, "text/plain", std::string(cause) + "\n");
}

}  // namespace kgate::admin
