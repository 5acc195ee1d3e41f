// The upstream TLS contexts a snapshot hands out: one per distinct TLS setting, found by the
// route table's own Upstream objects or, for any other Upstream, by its settings.
#include <gtest/gtest.h>

#include "fake_stream.h"

namespace kgate {
namespace {

TEST(Snapshot, TlsContextsAreFoundByUpstreamAndBySettings) {
  conf::Config c = testing::vectorConfig();
  c.services.push_back({"secure", *conf::parseEndpoint("https://10.0.0.6:8443"),
                        conf::UpstreamProtocol::Http1});
  conf::Route erin;
  erin.destination = "erin";
  erin.endpoint = *conf::parseEndpoint("https://erin.example.com:1443");
  erin.token = "TAE";
  c.routes.push_back(erin);
  auto snap = testing::snapshotOf(c);
  ASSERT_NE(snap, nullptr);

  // Plain upstreams take no context.
  EXPECT_EQ(snap->tlsFor(snap->routes->service("svc")->upstream), nullptr);
  EXPECT_EQ(snap->tlsFor(snap->routes->route("bob")->upstream), nullptr);

  // The service and the route share their settings, so they share one context.
  const routes::Upstream& secure = snap->routes->service("secure")->upstream;
  SSL_CTX* ctx = snap->tlsFor(secure);
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(snap->tlsFor(snap->routes->route("erin")->upstream), ctx);
  EXPECT_EQ(snap->upstreamTls.size(), 1u);

  // An Upstream the table does not hold is matched by its settings.
  routes::Upstream copy = secure;
  EXPECT_EQ(snap->tlsFor(copy), ctx);
  copy.verifyPeer = true;
  EXPECT_EQ(snap->tlsFor(copy), nullptr);  // no context was made for these settings
}

}  // namespace
}  // namespace kgate
