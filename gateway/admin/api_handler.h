// The admin API (-k), HTTPS only: the TLS layer already required a client certificate signed by
// the node's CA; here every request must also carry the admin token (header "Token", compared
// in constant time). Anything else is 401 with a JSON error and changes nothing.
// Endpoints (JSON): GET /api/v1/status. Domains, deploy tokens and routes arrive with the
// token authority.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "gateway/connection.h"
#include "gateway/snapshot.h"

namespace kgate::admin {

class ApiHandler final : public StreamHandler {
 public:
  // snapshot: returns the node's current snapshot (control thread).
  ApiHandler(std::string adminToken, std::function<std::shared_ptr<const Snapshot>()> snapshot,
             const std::atomic<bool>& ready);
  awaitable<void> serve(ServerStream& stream) override;
  awaitable<void> reject(ServerStream& stream, int status, std::string_view cause) override;

 private:
  std::array<unsigned char, 32> tokenDigest_;
  std::function<std::shared_ptr<const Snapshot>()> snapshot_;
  const std::atomic<bool>& ready_;
};

// {"error":{"code":N,"message":"..."}}
std::string jsonError(int code, std::string_view message);

}  // namespace kgate::admin
