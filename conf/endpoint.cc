#include "conf/endpoint.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "conf/ascii.h"

namespace kgate::conf {
namespace {

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isdigit(c) != 0;
  });
}

// The input as we may print it: user info replaced, since "user:password@" is a secret.
std::string printable(std::string_view url) {
  std::string s(url);
  auto schemeEnd = s.find("://");
  size_t authStart = schemeEnd == std::string::npos ? 0 : schemeEnd + 3;
  size_t authEnd = s.find_first_of("/?#", authStart);
  if (authEnd == std::string::npos) authEnd = s.size();
  auto at = s.rfind('@', authEnd == 0 ? 0 : authEnd - 1);
  if (at != std::string::npos && at >= authStart && at < authEnd) {
    s.replace(authStart, at - authStart, "***");
  }
  return s;
}

Failure badUrl(std::string_view url, std::string_view what) {
  return fail("\"" + printable(url) + "\": " + std::string(what));
}

}  // namespace

bool isIpLiteral(std::string_view text) {
  if (text.empty() || text.size() > 45) return false;
  std::string s(text);
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool isDnsName(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty() || text.size() > 253) return false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    std::string_view label = text.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (unsigned char c : label) {
      if (!std::isalnum(c) && c != '-' && c != '_') return false;
    }
    // An all-digit last label is a mistyped IPv4 address, not a name (TLDs are never numeric).
    if (dot == text.size() && isDigits(label)) return false;
    start = dot + 1;
  }
  return true;
}

Result<Endpoint> parseEndpoint(std::string_view url) {
  if (url.empty()) return fail("URL is empty; expected http[s]://host[:port][/path]");
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) return badUrl(url, "contains a space or control character");
  }
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    return badUrl(url, "not a URL; expected http[s]://host[:port][/path]");
  }
  Endpoint ep;
  ep.scheme = asciiLower(url.substr(0, sep));
  if (ep.scheme != "http" && ep.scheme != "https") {
    return badUrl(url, "scheme must be http or https");
  }
  if (url.find('#') != std::string_view::npos) {
    return badUrl(url, "a fragment (#...) is not allowed");
  }
  if (url.find('?') != std::string_view::npos) {
    return badUrl(url, "a query string (?...) is not allowed");
  }
  std::string_view rest = url.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return badUrl(url, "user info (user:password@) is not allowed");
  }
  if (authority.empty()) return badUrl(url, "host is missing");

  std::string_view host;
  std::string_view portText;
  bool hasPort = false;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return badUrl(url, "IPv6 address is missing its ']'");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return badUrl(url, "unexpected text after the IPv6 address");
      hasPort = true;
      portText = after.substr(1);
    }
    if (host.find(':') == std::string_view::npos || !isIpLiteral(host)) {
      return badUrl(url, "invalid IPv6 address in brackets");
    }
    ep.host = asciiLower(host);
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      hasPort = true;
      portText = authority.substr(colon + 1);
      if (portText.find(':') != std::string_view::npos) {
        return badUrl(url, "IPv6 addresses must be written in brackets, e.g. http://[::1]:8080");
      }
    }
    if (host.empty()) return badUrl(url, "host is missing");
    if (!isIpLiteral(host) && !isDnsName(host)) {
      return badUrl(url, "host \"" + std::string(host) +
                             "\" is not a valid host name or IP address");
    }
    ep.host = asciiLower(host);
  }

  if (hasPort) {
    if (portText.empty()) return badUrl(url, "port is empty");
    if (!isDigits(portText)) return badUrl(url, "port must be a number");
    if (portText.size() > 5 || std::stoul(std::string(portText)) > 65535 ||
        std::stoul(std::string(portText)) == 0) {
      return badUrl(url, "port must be between 1 and 65535");
    }
    ep.port = static_cast<uint16_t>(std::stoul(std::string(portText)));
  } else {
    ep.port = ep.tls() ? 443 : 80;
  }

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  ep.pathPrefix = std::string(path);
  return ep;
}

}  // namespace kgate::conf
