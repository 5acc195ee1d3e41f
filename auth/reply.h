// How the authority's files build their answers (authority*.cc only).
#pragma once

#include <boost/json.hpp>
#include <string>

#include "auth/authority.h"

namespace kgate::auth {

inline Reply okJson(const boost::json::object& body) {
  return Reply{200, boost::json::serialize(body), "", "", ""};
}

inline Reply error(int status, std::string message, std::string cause) {
  return Reply{status, "", std::move(message), std::move(cause), ""};
}

}  // namespace kgate::auth
