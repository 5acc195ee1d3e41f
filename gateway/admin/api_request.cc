#include "gateway/admin/api_request.h"

#include <boost/json.hpp>
#include <utility>

namespace kgate::admin {
namespace {

const boost::json::object* parseObject(std::string_view body, boost::json::value& doc) {
  boost::system::error_code ec;
  doc = boost::json::parse(body, ec);
  return ec ? nullptr : doc.if_object();
}

}  // namespace

std::optional<AddDomainRequest> parseAddDomain(std::string_view body) {
  boost::json::value doc;
  const boost::json::object* o = parseObject(body, doc);
  const boost::json::value* id = o ? o->if_contains("domain") : nullptr;
  const boost::json::value* ttl = o ? o->if_contains("tokenTtlSeconds") : nullptr;
  if (!id || !id->is_string() || (ttl && !ttl->is_int64())) return std::nullopt;
  return AddDomainRequest{std::string(id->as_string()), ttl ? ttl->as_int64() : 0};
}

std::optional<AddRouteRequest> parseAddRoute(std::string_view body) {
  boost::json::value doc;
  const boost::json::object* o = parseObject(body, doc);
  if (!o) return std::nullopt;
  AddRouteRequest r;
  const std::pair<const char*, std::string*> fields[] = {
      {"source", &r.source},       {"destination", &r.destination},
      {"endpoint", &r.endpoint},   {"authentication", &r.authentication},
      {"transit", &r.transit}};
  for (const auto& [key, out] : fields) {
    const boost::json::value* v = o->if_contains(key);
    if (!v) continue;
    if (!v->is_string()) return std::nullopt;
    *out = std::string(v->as_string());
  }
  if (r.authentication.empty()) r.authentication = "Token";
  if (const boost::json::value* period = o->if_contains("rollingPeriodSeconds")) {
    if (!period->is_int64()) return std::nullopt;
    r.rollingPeriodSeconds = period->as_int64();
  }
  return r;
}

}  // namespace kgate::admin
