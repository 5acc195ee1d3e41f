// JSON bodies the master takes from outside: the admin API's POST /api/v1/domains and
// POST /api/v1/routes (gateway/admin/api_request.cc), carried on into the authority's checks
// (domain IDs, endpoint URLs, transit rules), and a lite's route report
// (POST /api/v1/lite/report: auth/route_status.cc), whose contents then drive READY in
// listRoutes. Each input is tried as all three, against a master "root" that knows alice and
// bob and the route alice-bob. Every 200 reply must be valid JSON.
#include <boost/json.hpp>
#include <cstdlib>

#include "auth/authority.h"
#include "certs/ca.h"
#include "gateway/admin/api_request.h"
#include "test/fuzz/fuzz_keys.h"
#include "test/support/memory_store.h"

using namespace kgate;

namespace {

const auth::AuthorityKeys& keys() {
  static const auth::AuthorityKeys k = [] {
    auto ca = certs::createCaCert(fuzz::bobKey(), "Kuscia");
    if (!ca) std::abort();
    return auth::AuthorityKeys{certs::certToPem(**ca), fuzz::kBobKeyPem, fuzz::kAliceKeyPem, "root"};
  }();
  return k;
}

void check(const auth::Reply& r) {
  boost::system::error_code ec;
  if (r.status == 200 && (boost::json::parse(r.body, ec), ec)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auth::Authority authority(std::make_shared<test::MemoryStore>(), keys(),
                            [] { return fuzz::kSeedTime; });
  authority.addDomain("alice", 0);
  authority.addDomain("bob", 0);
  authority.addRoute("alice", "bob", "https://bob.example:8443", "Token", 86400, "");

  if (auto d = admin::parseAddDomain(body)) check(authority.addDomain(d->domain, d->tokenTtlSeconds));
  if (auto r = admin::parseAddRoute(body))
    check(authority.addRoute(r->source, r->destination, r->endpoint, r->authentication,
                             r->rollingPeriodSeconds, r->transit));
  check(authority.acceptReport("alice", body));
  check(authority.acceptReport("bob", body));
  check(authority.listRoutes());
  check(authority.listDomains(true));
  check(authority.routesFor("alice"));
  return 0;
}
