// Text that must hold one JSON object (a request or reply body, a state file), parsed with the
// error a message can show: "<what> is not JSON: ..." or "<what> is not a JSON object".
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "conf/result.h"

namespace kgate::auth {

inline Result<boost::json::object> parseJsonObject(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return fail(std::string(what) + " is not JSON: " + ec.message());
  if (!v.is_object()) return fail(std::string(what) + " is not a JSON object");
  return std::move(v.get_object());
}

}  // namespace kgate::auth
