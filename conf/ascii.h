// ASCII case folding for the names kgate compares without case (units, schemes, hosts, SANs,
// modes, authentication kinds): never the process locale's, which std::tolower would follow.
#pragma once

#include <string>
#include <string_view>

namespace kgate::conf {

inline std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace kgate::conf
