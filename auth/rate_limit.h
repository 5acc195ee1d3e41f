// Per-address token buckets for the endpoints anyone may call (POST /register, POST /handshake):
// each address may make a burst of attempts, then one per refill interval. Memory is bounded
// however many addresses call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace kgate::auth {

class AddressRateLimit {
 public:
  AddressRateLimit(double burst, int64_t refillMs, size_t maxAddresses = 4096)
      : burst_(burst), refillMs_(refillMs), maxAddresses_(maxAddresses) {}

  // Takes one attempt from the address's bucket; false when it is empty. IPv6 addresses share
  // a bucket per /64 (one host usually holds a whole /64); nowMs from a steady clock.
  bool allow(const std::string& address, int64_t nowMs);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updatedMs = 0;
  };
  double burst_;
  int64_t refillMs_;
  size_t maxAddresses_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace kgate::auth
