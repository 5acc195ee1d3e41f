// Serves requests on the external and internal listeners: runs the filter chain, answers
// locally (auth failures, unknown routes, handshake status) or forwards to the chosen upstream,
// streaming both bodies with backpressure, then writes the access log and metrics.
#pragma once

#include <memory>
#include <vector>

#include "gateway/connection.h"
#include "gateway/filter.h"
#include "gateway/worker_context.h"

namespace kgate {

class Proxy final : public StreamHandler {
 public:
  Proxy(WorkerContext& worker, ListenerKind kind);

  awaitable<void> serve(ServerStream& stream) override;
  awaitable<void> reject(ServerStream& stream, int status, std::string_view cause) override;

 private:
  awaitable<void> forward(StreamContext& ctx);
  awaitable<void> sendLocal(StreamContext& ctx, std::string contentType, std::string body);
  awaitable<void> sendError(StreamContext& ctx);
  awaitable<void> serveHandshake(StreamContext& ctx);
  awaitable<void> serveRegister(StreamContext& ctx);
  awaitable<void> serveControl(StreamContext& ctx);
  // Reads a request body of at most 64 KiB; false (after answering 413, or when the client went
  // away) otherwise.
  awaitable<bool> readSmallBody(StreamContext& ctx, std::string& body);
  void finish(StreamContext& ctx);
  AccessLogBuffer& accessLog() {
    return kind_ == ListenerKind::External ? worker_.externalLog : worker_.internalLog;
  }

  WorkerContext& worker_;
  ListenerKind kind_;
  std::vector<std::unique_ptr<Filter>> filters_;
};

}  // namespace kgate
