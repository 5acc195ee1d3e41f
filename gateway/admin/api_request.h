// The JSON bodies of the admin API's POST requests, decoded and type-checked apart from the
// handler's coroutines: plain functions that unit tests and the fuzz target call directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kgate::admin {

// POST /api/v1/domains {"domain":"alice","tokenTtlSeconds":0}
struct AddDomainRequest {
  std::string domain;
  int64_t tokenTtlSeconds = 0;
};
// nullopt when the body is not a JSON object, "domain" is not a string, or tokenTtlSeconds is
// present and not an integer.
std::optional<AddDomainRequest> parseAddDomain(std::string_view body);

// POST /api/v1/routes {"source","destination","endpoint","authentication",
// "rollingPeriodSeconds","transit"}: missing strings read as "", a missing or empty
// authentication as "Token", a missing period as 86400.
struct AddRouteRequest {
  std::string source, destination, endpoint, authentication, transit;
  int64_t rollingPeriodSeconds = 86400;
};
// nullopt when the body is not a JSON object or a field present has the wrong type.
std::optional<AddRouteRequest> parseAddRoute(std::string_view body);

}  // namespace kgate::admin
