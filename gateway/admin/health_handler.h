// The metrics listener (-x): /metrics (Prometheus text), /healthz (the process is up) and
// /ready (200 while the node accepts traffic; 503 while starting or draining, so a load
// balancer stops sending before the listeners close).
#pragma once

#include <atomic>

#include "gateway/connection.h"
#include "gateway/metrics.h"

namespace kgate::admin {

class HealthHandler final : public StreamHandler {
 public:
  HealthHandler(const Metrics& metrics, const std::atomic<bool>& ready)
      : metrics_(metrics), ready_(ready) {}
  awaitable<void> serve(ServerStream& stream) override;
  awaitable<void> reject(ServerStream& stream, int status, std::string_view cause) override;

 private:
  const Metrics& metrics_;
  const std::atomic<bool>& ready_;
};

}  // namespace kgate::admin
