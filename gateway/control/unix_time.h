// Wall-clock time as the control plane's wire and state files carry it: Unix seconds or
// nanoseconds (handshake times, token expiries, reports).
#pragma once

#include <chrono>
#include <cstdint>

namespace kgate {

inline int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kgate
