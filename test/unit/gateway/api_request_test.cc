// The admin API's POST bodies, decoded apart from the handler.
#include <gtest/gtest.h>

#include "gateway/admin/api_request.h"

namespace kgate::admin {
namespace {

TEST(ApiRequest, AddDomainTakesIdAndOptionalTtl) {
  auto r = parseAddDomain(R"({"domain":"alice","tokenTtlSeconds":3600})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->domain, "alice");
  EXPECT_EQ(r->tokenTtlSeconds, 3600);
  r = parseAddDomain(R"({"domain":"bob"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tokenTtlSeconds, 0);
}

TEST(ApiRequest, AddDomainRefusesWhatIsNotTheDocumentedShape) {
  for (const char* body : {"", "[]", "{", R"({"tokenTtlSeconds":1})", R"({"domain":7})",
                           R"({"domain":"a","tokenTtlSeconds":"60"})",
                           R"({"domain":"a","tokenTtlSeconds":1.5})"})
    EXPECT_FALSE(parseAddDomain(body)) << body;
}

TEST(ApiRequest, AddRouteFillsTheDefaults) {
  auto r = parseAddRoute(R"({"source":"alice","destination":"bob","endpoint":"http://b:1"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source, "alice");
  EXPECT_EQ(r->destination, "bob");
  EXPECT_EQ(r->endpoint, "http://b:1");
  EXPECT_EQ(r->authentication, "Token");
  EXPECT_EQ(r->rollingPeriodSeconds, 86400);
  EXPECT_EQ(r->transit, "");
  r = parseAddRoute(R"({"authentication":"","rollingPeriodSeconds":0,"transit":"carol"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->authentication, "Token");
  EXPECT_EQ(r->rollingPeriodSeconds, 0);
  EXPECT_EQ(r->transit, "carol");
}

TEST(ApiRequest, AddRouteRefusesMistypedFields) {
  for (const char* body : {"null", R"("x")", R"({"source":1})", R"({"transit":null})",
                           R"({"rollingPeriodSeconds":"1"})"})
    EXPECT_FALSE(parseAddRoute(body)) << body;
}

}  // namespace
}  // namespace kgate::admin
