#include "conf/domain_id.h"

#include <array>
#include <string>

namespace kgate::conf {
namespace {

constexpr std::array<std::string_view, 6> kReserved = {
    "master", "default", "kube-system", "kube-public", "kube-node-lease", "cross-domain"};

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Printable form of arbitrary input: control characters would garble the one-line message.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 80)) {
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 80) out += "...";
  return out + "\"";
}

}  // namespace

bool isDnsLabel(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!isLowerAlnum(name.front()) || !isLowerAlnum(name.back())) return false;
  for (char c : name) {
    if (!isLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

Result<void> validateDomainId(std::string_view id) {
  if (id.empty()) return fail("domain ID is empty");
  if (!isDnsLabel(id)) {
    return fail("domain ID " + quoted(id) +
                " is invalid: use lower-case letters, digits and '-', start and end with a "
                "letter or digit, at most 63 characters (RFC 1123 label)");
  }
  for (auto r : kReserved) {
    if (id == r) return fail("domain ID " + quoted(id) + " is reserved");
  }
  return {};
}

}  // namespace kgate::conf
