// Text from a request, made safe to put in a one-line message or log line: control bytes and
// bytes outside ASCII become '?', and it is cut at `max` bytes.
#pragma once

#include <string>
#include <string_view>

namespace kgate::auth {

inline std::string safeText(std::string_view s, size_t max = 64) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) out += (c < 0x20 || c >= 0x7f) ? '?' : char(c);
  if (s.size() > max) out += "...";
  return out;
}

// The same in double quotes.
inline std::string quotedSafeText(std::string_view s, size_t max = 64) {
  return "\"" + safeText(s, max) + "\"";
}

}  // namespace kgate::auth
