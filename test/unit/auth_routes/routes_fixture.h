// An Authority over the in-memory store with a settable clock, and shorthands for the route
// calls and their replies. The master's domain is "root" (testing::testKeys()).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "fakes.h"

namespace kgate::auth::testing {

namespace json = boost::json;

class RoutesTest : public ::testing::Test {
 protected:
  static constexpr const char* kUrl = "http://10.0.0.2:1080";
  static constexpr const char* kTlsUrl = "https://10.0.0.2:1080";

  int64_t now = 1'700'000'000;  // 2023-11-14T22:13:20Z
  std::shared_ptr<FakeStore> store = std::make_shared<FakeStore>();
  Authority authority{store, testKeys(), [this] { return now; }};

  // The 200 reply's JSON object (a test failure otherwise).
  json::object ok(const Reply& r) {
    EXPECT_EQ(r.status, 200) << r.message;
    EXPECT_TRUE(r.message.empty()) << r.message;
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.body;
    return v.is_object() ? v.as_object() : json::object{};
  }
  void expectError(const Reply& r, int status, const std::string& message) {
    EXPECT_EQ(r.status, status) << r.message;
    EXPECT_EQ(r.message, message);
    EXPECT_TRUE(r.body.empty()) << r.body;
    EXPECT_FALSE(r.cause.empty());
  }

  void addDomain(const std::string& id) { ok(authority.addDomain(id, 0)); }
  int64_t routesVersion() {
    auto v = authority.routesVersion();
    EXPECT_TRUE(v.ok()) << v.error.message;
    return v.ok() ? *v.value : -1;
  }
  // What a successful POST /register leaves in the store.
  void registerDomain(const std::string& id, const EVP_PKEY& key) {
    ASSERT_TRUE(store->domains.count(id)) << id;
    store->domains[id].certPem = certFor(id, key);
    store->domains[id].registeredAt = now;
  }
  Reply add(const std::string& src, const std::string& dst, const std::string& url = kUrl,
            const std::string& authentication = "Token", int64_t period = 86400,
            const std::string& transit = "") {
    return authority.addRoute(src, dst, url, authentication, period, transit);
  }

  // The entry of listRoutes() (or any {"routes":[...]} reply) with that name.
  static json::object entry(const json::object& reply, const std::string& name) {
    for (const json::value& v : reply.at("routes").as_array()) {
      if (v.as_object().at("name") == name.c_str()) return v.as_object();
    }
    ADD_FAILURE() << "no route " << name << " in " << json::serialize(reply);
    return {};
  }
  json::object listed(const std::string& name) { return entry(ok(authority.listRoutes()), name); }

  // Reports as an end's gateway sends them.
  Reply send(const std::string& from, json::object e) {
    return authority.acceptReport(from, json::serialize(json::object{{"routes", json::array{e}}}));
  }
  Reply reportSource(const std::string& from, const std::string& route, int64_t revision,
                     int64_t heartbeatOkAt, int64_t unreachableSince = 0, int heartbeatState = 0,
                     const std::string& error = "") {
    json::object e{{"name", route},
                   {"side", "source"},
                   {"revision", revision},
                   {"heartbeatOkAt", heartbeatOkAt},
                   {"unreachableSince", unreachableSince},
                   {"heartbeatState", heartbeatState},
                   {"error", error}};
    return send(from, std::move(e));
  }
  Reply reportDestination(const std::string& from, const std::string& route, json::array revisions,
                          int64_t lastHeartbeatAt) {
    json::object e{{"name", route},
                   {"side", "destination"},
                   {"revisions", std::move(revisions)},
                   {"lastHeartbeatAt", lastHeartbeatAt}};
    return send(from, std::move(e));
  }
};

}  // namespace kgate::auth::testing
