// Upstream URLs (routes, services, the master endpoint) and the host-name checks they share.
#pragma once

#include <string_view>

#include "conf/config.h"
#include "conf/result.h"

namespace kgate::conf {

// Parses http[s]://host[:port][/path-prefix]. The scheme and a DNS host are lower-cased, IPv6
// literals lose their brackets, the port defaults to 80/443 and a trailing '/' of the path is
// dropped ("/" becomes ""). Query, fragment and user info are refused. Errors quote the input
// (with any user info masked, since it may hold a password).
Result<Endpoint> parseEndpoint(std::string_view url);

// An IPv4 or IPv6 literal, without brackets.
bool isIpLiteral(std::string_view text);

// A DNS host name: dot-separated labels of letters, digits, '-' and '_' (1-63 chars each, not
// starting or ending with '-'), at most 253 characters, an optional trailing dot.
bool isDnsName(std::string_view text);

}  // namespace kgate::conf
