#include <gtest/gtest.h>

#include "routes/route_table.h"

namespace kgate::routes {
namespace {

struct Valid {
  const char* host;
  const char* service;
  const char* domain;
};

TEST(ParseServiceHost, AcceptsServiceDotDomainDotSvcAndSingleLabels) {
  const Valid cases[] = {
      {"echo.bob.svc", "echo", "bob"},
      {"svc.alice.svc", "svc", "alice"},
      {"kuscia-handshake.alice.svc", "kuscia-handshake", "alice"},
      {"kuscia-handshake.master.svc", "kuscia-handshake", "master"},
      {"a.b.svc", "a", "b"},
      {"echo", "echo", ""},
      {"svc", "svc", ""},
      {"x", "x", ""},
  };
  for (const auto& c : cases) {
    auto p = parseServiceHost(c.host);
    ASSERT_TRUE(p.has_value()) << c.host;
    EXPECT_EQ(p->service, c.service) << c.host;
    EXPECT_EQ(p->domain, c.domain) << c.host;
  }
}

TEST(ParseServiceHost, ResultViewsPointIntoTheInput) {
  std::string host = "echo.bob.svc";
  auto p = parseServiceHost(host);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->service.data(), host.data());
  EXPECT_EQ(p->domain.data(), host.data() + 5);
}

TEST(ParseServiceHost, RefusesEverythingElse) {
  const char* cases[] = {
      "",
      "a.b.c.svc",        // too many labels
      ".bob.svc",         // empty service
      "echo..svc",        // empty domain
      "echo.bob",         // no .svc suffix
      "echo.bob.svc.",    // trailing dot
      "echo.bob.svcx",
      "echo.bob.svc.cluster.local",
      "bob.example.com",
      "10.0.0.5",
      "..svc",
      ".svc",
  };
  for (const char* h : cases) {
    EXPECT_FALSE(parseServiceHost(h).has_value()) << '"' << h << '"';
  }
}

// BUG: "<svc>.svc" (two labels, the second being the literal "svc") is neither
// "<svc>.<domain>.svc" nor a single label, yet it parses as {svc, domain "svc"}: the length of
// the domain part is computed as host.size() - firstDot - 1 - 4, which underflows when the first
// dot is the dot of the ".svc" suffix, and substr() then takes the rest of the string ("svc").
// routes/route_table.cc parseServiceHost (the `rest = host.substr(...)` line).
TEST(ParseServiceHost, TwoLabelsEndingInSvcAreRefused) {
  EXPECT_FALSE(parseServiceHost("echo.svc").has_value());
  EXPECT_FALSE(parseServiceHost("svc.svc").has_value());
  EXPECT_FALSE(parseServiceHost("kuscia-handshake.svc").has_value());
}

}  // namespace
}  // namespace kgate::routes
