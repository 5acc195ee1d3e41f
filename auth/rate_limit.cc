#include "auth/rate_limit.h"

#include <algorithm>

namespace kgate::auth {

bool AddressRateLimit::allow(const std::string& address, int64_t nowMs) {
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    if (buckets_.size() >= maxAddresses_) {
      // A bucket that has refilled completely is the same as no bucket: forget those first.
      std::erase_if(buckets_, [&](const auto& kv) {
        return kv.second.tokens + double(nowMs - kv.second.updatedMs) / refillMs_ >= burst_;
      });
      if (buckets_.size() >= maxAddresses_) {
        buckets_.erase(std::min_element(
            buckets_.begin(), buckets_.end(),
            [](const auto& a, const auto& b) { return a.second.updatedMs < b.second.updatedMs; }));
      }
    }
    it = buckets_.emplace(address, Bucket{burst_, nowMs}).first;
  }
  Bucket& b = it->second;
  if (nowMs > b.updatedMs) {
    b.tokens = std::min(burst_, b.tokens + double(nowMs - b.updatedMs) / refillMs_);
    b.updatedMs = nowMs;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace kgate::auth
