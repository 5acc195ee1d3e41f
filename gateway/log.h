// Process log (not the access log): one line per event on stderr, with time and level.
// Lines are built whole and written with one write(2), so threads never interleave inside a line.
// Never pass a token, key or CSR to it; log tokenTag() of a secret if it must be identified.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace kgate::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLevel(Level level);
bool enabled(Level level);
void write(Level level, std::string_view message);

// A short, non-reversible tag for a secret (first 8 hex chars of its SHA-256), for correlation.
std::string tokenTag(std::string_view secret);

}  // namespace kgate::log

#define KGATE_LOG(level, expr)                                        \
  do {                                                                \
    if (::kgate::log::enabled(::kgate::log::Level::level)) {          \
      std::ostringstream kgate_log_os_;                               \
      kgate_log_os_ << expr;                                          \
      ::kgate::log::write(::kgate::log::Level::level, kgate_log_os_.str()); \
    }                                                                 \
  } while (0)
