#include "auth/rate_limit.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace kgate::auth {
namespace {

// The bucket an address draws from: an IPv4 address itself (also when IPv4-mapped), the /64 of
// an IPv6 one; anything else as given.
std::string bucketOf(const std::string& address) {
  in6_addr a6{};
  if (inet_pton(AF_INET6, address.c_str(), &a6) != 1) return address;
  if (IN6_IS_ADDR_V4MAPPED(&a6)) {
    char v4[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a6.s6_addr[12], v4, sizeof v4) ? std::string(v4) : address;
  }
  std::memset(&a6.s6_addr[8], 0, 8);
  char v6[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, &a6, v6, sizeof v6) ? std::string(v6) + "/64" : address;
}

}  // namespace

bool AddressRateLimit::allow(const std::string& address, int64_t nowMs) {
  const std::string key = bucketOf(address);
  auto it = buckets_.find(key);
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
    it = buckets_.emplace(key, Bucket{burst_, nowMs}).first;
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
