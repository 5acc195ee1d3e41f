// Ticket keys on a test clock: rotation, the grace period of the previous key, and contexts (one
// per worker, should workers ever stop sharing one) resuming each other's tickets.
#include "certs/session_tickets.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "tls_test_util.h"

namespace kgate::certs {
namespace {

using namespace testing;  // the shared TLS test helpers (tls_test_util.h)
using std::chrono::hours;
using std::chrono::seconds;

struct TestClock {
  std::chrono::steady_clock::time_point now{};  // starts at the origin
  void at(seconds sinceOrigin) { now = std::chrono::steady_clock::time_point{} + sinceOrigin; }
  TicketKeys::Clock fn() {
    return [this] { return now; };
  }
};

TEST(TicketKeys, CurrentKeyRotatesAndThePreviousOpensForOnePeriod) {
  TestClock clock;
  TicketKeys keys(hours(1), clock.fn());
  auto k0 = keys.sealing();
  ASSERT_TRUE(k0);
  clock.now += seconds(3599);
  EXPECT_EQ(keys.sealing()->name, k0->name) << "rotated before its period ended";

  clock.now += seconds(1);
  auto k1 = keys.sealing();
  ASSERT_TRUE(k1);
  EXPECT_NE(k1->name, k0->name);
  EXPECT_NE(k1->aes, k0->aes);
  EXPECT_NE(k1->hmac, k0->hmac);
  bool renew = false;
  auto opened = keys.opening(k0->name.data(), &renew);
  ASSERT_TRUE(opened) << "the previous key must still open tickets";
  EXPECT_EQ(opened->aes, k0->aes);
  EXPECT_TRUE(renew) << "a ticket under the previous key is reissued under the current one";
  ASSERT_TRUE(keys.opening(k1->name.data(), &renew));
  EXPECT_FALSE(renew);

  clock.now += hours(1);
  EXPECT_FALSE(keys.opening(k0->name.data(), &renew)) << "two periods old";
  EXPECT_TRUE(keys.opening(k1->name.data(), &renew));
  EXPECT_TRUE(renew);
}

TEST(TicketKeys, AnIdleGapOfTwoPeriodsRetiresBothKeys) {
  TestClock clock;
  TicketKeys keys(hours(1), clock.fn());
  auto k0 = keys.sealing();
  ASSERT_TRUE(k0);
  clock.at(hours(2) + seconds(1));  // no handshake in between: the rotation happens late
  bool renew = false;
  EXPECT_FALSE(keys.opening(k0->name.data(), &renew));
  auto k2 = keys.sealing();
  ASSERT_TRUE(k2);
  EXPECT_NE(k2->name, k0->name);
  // Periods stay on the first key's schedule: the new key rotates at origin + 3 h.
  clock.at(hours(3) - seconds(1));
  EXPECT_EQ(keys.sealing()->name, k2->name);
  clock.at(hours(3));
  EXPECT_NE(keys.sealing()->name, k2->name);
}

// A full handshake on `server` that keeps the client's session (ticket) for later.
SSL_SESSION* fullHandshake(asio::ssl::context& server, asio::ssl::context& client) {
  Outcome out = handshake(server, client, {}, true);
  EXPECT_TRUE(out.ok()) << out.serverError.message() << " / " << out.clientError.message();
  EXPECT_FALSE(out.resumed);
  return out.session;
}

// A handshake offering `session`; the new session (a fresh ticket) when `next` is given.
bool resumes(asio::ssl::context& server, asio::ssl::context& client, SSL_SESSION* session,
             SSL_SESSION** next = nullptr) {
  Outcome out = handshake(server, client, [session](SSL* ssl) { SSL_set_session(ssl, session); },
                          next != nullptr);
  EXPECT_TRUE(out.ok()) << "a refused ticket must mean a full handshake, not a failure: "
                        << out.serverError.message() << " / " << out.clientError.message();
  if (next) *next = out.session;
  else SSL_SESSION_free(out.session);
  return out.resumed;
}

class TicketRotation : public ::testing::TestWithParam<int> {
 protected:
  SslContextPtr tlsClient() {
    auto c = client();
    SSL_CTX_set_max_proto_version(c->native_handle(), GetParam());
    return c;
  }
};

TEST_P(TicketRotation, TicketSurvivesOneRotationNotTwo) {
  TestClock clock;
  auto keys = std::make_shared<TicketKeys>(hours(1), clock.fn());
  ServerTlsOptions options = serverOptions();
  options.ticketKeys = keys;
  auto s = server(options);
  auto c = tlsClient();

  SSL_SESSION* issued = fullHandshake(*s, *c);
  ASSERT_NE(issued, nullptr);
  clock.now += hours(1) + seconds(1);  // one rotation: the ticket's key is now the previous one
  SSL_SESSION* renewed = nullptr;
  EXPECT_TRUE(resumes(*s, *c, issued, &renewed));
  ASSERT_NE(renewed, nullptr);

  clock.now += hours(1);  // a second rotation: the first key is gone
  EXPECT_FALSE(resumes(*s, *c, issued));
  EXPECT_TRUE(resumes(*s, *c, renewed)) << "the ticket reissued under the newer key still works";
  SSL_SESSION_free(issued);
  SSL_SESSION_free(renewed);
}

TEST_P(TicketRotation, TicketTwoPeriodsOldMeansAFullHandshake) {
  TestClock clock;
  ServerTlsOptions options = serverOptions();
  options.ticketKeys = std::make_shared<TicketKeys>(hours(1), clock.fn());
  auto s = server(options);
  auto c = tlsClient();
  SSL_SESSION* issued = fullHandshake(*s, *c);
  ASSERT_NE(issued, nullptr);
  EXPECT_TRUE(resumes(*s, *c, issued)) << "resumption works at all";
  clock.now += hours(2);
  EXPECT_FALSE(resumes(*s, *c, issued));
  SSL_SESSION_free(issued);
}

TEST_P(TicketRotation, ContextsSharingKeysResumeEachOthersTickets) {
  auto shared = std::make_shared<TicketKeys>();
  ServerTlsOptions options = serverOptions();
  options.ticketKeys = shared;
  auto worker1 = server(options), worker2 = server(options);
  auto other = server();  // keys of its own
  auto c = tlsClient();

  SSL_SESSION* issued = fullHandshake(*worker1, *c);
  ASSERT_NE(issued, nullptr);
  // Contexts do not share session caches: only the ticket can carry the session across.
  EXPECT_TRUE(resumes(*worker2, *c, issued));
  EXPECT_FALSE(resumes(*other, *c, issued));
  SSL_SESSION_free(issued);
}

INSTANTIATE_TEST_SUITE_P(Versions, TicketRotation,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const auto& info) {
                           return std::string(info.param == TLS1_2_VERSION ? "Tls12" : "Tls13");
                         });

}  // namespace
}  // namespace kgate::certs
