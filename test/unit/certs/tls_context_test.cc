// Real handshakes over loopback TCP between contexts made by makeServerContext/makeClientContext.
#include "certs/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

#include "tls_test_util.h"

namespace kgate::certs {
namespace {

using namespace testing;  // the shared TLS test helpers (tls_test_util.h)

TEST(TlsContext, AlpnPicksServerPreference) {
  auto s = server();
  Outcome both = handshake(*s, *client({.alpn = {"http/1.1", "h2"}}));
  ASSERT_TRUE(both.ok()) << both.serverError.message() << " / " << both.clientError.message();
  EXPECT_EQ(both.serverAlpn, "h2");
  EXPECT_EQ(both.clientAlpn, "h2");
  EXPECT_EQ(both.version, "TLSv1.3");

  Outcome http1 = handshake(*s, *client({.alpn = {"http/1.1"}}));
  ASSERT_TRUE(http1.ok());
  EXPECT_EQ(http1.clientAlpn, "http/1.1");
}

TEST(TlsContext, NoAlpnWhenClientOffersNoneOrNoOverlap) {
  auto s = server();
  Outcome none = handshake(*s, *client());
  ASSERT_TRUE(none.ok()) << none.serverError.message() << " / " << none.clientError.message();
  EXPECT_EQ(none.serverAlpn, "");
  EXPECT_EQ(none.clientAlpn, "");

  Outcome other = handshake(*s, *client({.alpn = {"spdy/3"}}));
  ASSERT_TRUE(other.ok()) << other.serverError.message();
  EXPECT_EQ(other.clientAlpn, "");
}

TEST(TlsContext, Tls12UsesForwardSecretAead) {
  auto s = server();
  auto c = client();
  SSL_CTX_set_max_proto_version(c->native_handle(), TLS1_2_VERSION);
  Outcome out = handshake(*s, *c);
  ASSERT_TRUE(out.ok()) << out.serverError.message() << " / " << out.clientError.message();
  EXPECT_EQ(out.version, "TLSv1.2");

  // A TLS 1.2 client offering only non-forward-secret or CBC suites gets nothing.
  SSL_CTX_set_cipher_list(c->native_handle(), "AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA");
  Outcome weak = handshake(*s, *c);
  EXPECT_FALSE(weak.ok());
  EXPECT_EQ(weak.serverReason(), SSL_R_NO_SHARED_CIPHER) << weak.serverError.message();
}

TEST(TlsContext, Tls11ClientRefused) {
  // A client that only speaks TLS 1.1 (and has lowered its own security level to allow it).
  asio::ssl::context old(asio::ssl::context::tls_client);
  SSL_CTX_set_security_level(old.native_handle(), 0);
  SSL_CTX_set_min_proto_version(old.native_handle(), TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(old.native_handle(), TLS1_1_VERSION);
  SSL_CTX_set_cipher_list(old.native_handle(), "ECDHE-RSA-AES128-SHA:@SECLEVEL=0");
  auto s = server();
  Outcome out = handshake(*s, old);
  EXPECT_FALSE(out.ok());
  EXPECT_TRUE(out.clientError);
  EXPECT_EQ(out.serverReason(), SSL_R_UNSUPPORTED_PROTOCOL) << out.serverError.message();
}

TEST(TlsContext, ClientCertificateRequired) {
  ServerTlsOptions opts = serverOptions();
  opts.requireClientCert = true;
  opts.clientCaPem = pki().caPem;
  auto s = server(opts);

  Outcome without = handshake(*s, *client());
  EXPECT_FALSE(without.ok());
  EXPECT_EQ(without.serverReason(), SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
      << without.serverError.message();
  EXPECT_TRUE(without.clientError) << "client must notice the rejection";

  Outcome foreign = handshake(
      *s, *client({.certChainPem = pki().foreignClientPem, .keyPem = pki().foreignClientKeyPem}));
  EXPECT_FALSE(foreign.ok());
  EXPECT_TRUE(foreign.serverError);

  Outcome with =
      handshake(*s, *client({.certChainPem = pki().clientPem, .keyPem = pki().clientKeyPem}));
  EXPECT_TRUE(with.ok()) << with.serverError.message() << " / " << with.clientError.message();
}

TEST(TlsContext, VerifyPeerAgainstCa) {
  auto s = server();
  Outcome wrong = handshake(*s, *client({.verifyPeer = true, .caPem = pki().otherCaPem}));
  EXPECT_FALSE(wrong.ok());
  EXPECT_TRUE(wrong.clientError);
  EXPECT_EQ(ERR_GET_REASON(static_cast<unsigned long>(wrong.clientError.value())),
            SSL_R_CERTIFICATE_VERIFY_FAILED)
      << wrong.clientError.message();

  auto good = client({.verifyPeer = true, .caPem = pki().caPem});
  Outcome right = handshake(*s, *good);
  EXPECT_TRUE(right.ok()) << right.clientError.message();

  auto name = [](const char* host) {
    return [host](SSL* ssl) { ASSERT_TRUE(setClientPeerName(ssl, host, true)); };
  };
  EXPECT_TRUE(handshake(*s, *good, name("127.0.0.1")).ok());
  EXPECT_TRUE(handshake(*s, *good, name("localhost")).ok());
  Outcome mismatch = handshake(*s, *good, name("other.example"));
  EXPECT_FALSE(mismatch.ok());
  EXPECT_TRUE(mismatch.clientError);
}

TEST(TlsContext, SessionsResume) {
  auto s = server();
  auto c = client();
  Outcome first = handshake(*s, *c, {}, true);
  ASSERT_TRUE(first.ok());
  ASSERT_NE(first.session, nullptr);
  EXPECT_FALSE(first.resumed);
  SSL_SESSION* session = first.session;
  Outcome second = handshake(*s, *c, [session](SSL* ssl) { SSL_set_session(ssl, session); });
  SSL_SESSION_free(session);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second.resumed);
}

TEST(TlsContext, OneTls13TicketPerFullHandshakeAndItResumes) {
  auto s = server();
  auto c = client();
  // Count the tickets the client is given (each is a new session for its cache).
  SSL_CTX_set_session_cache_mode(c->native_handle(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  static int tickets;
  tickets = 0;
  SSL_CTX_sess_set_new_cb(c->native_handle(), [](SSL*, SSL_SESSION*) {
    ++tickets;
    return 0;  // not kept: the test takes its own copy below
  });
  Outcome first = handshake(*s, *c, {}, true);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.version, "TLSv1.3");
  EXPECT_EQ(tickets, 1) << "the tickets arrive before the server's first data";
  ASSERT_NE(first.session, nullptr);
  SSL_SESSION* session = first.session;
  Outcome second = handshake(*s, *c, [session](SSL* ssl) { SSL_set_session(ssl, session); });
  SSL_SESSION_free(session);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second.resumed);
}

TEST(TlsContext, AlpnPreferencesLiveAsLongAsTheSslCtx) {
  auto s = server();
  // Streams hold the SSL_CTX; the asio wrapper may go first, the ALPN list must not.
  SSL_CTX_up_ref(s->native_handle());
  asio::ssl::context alias(s->native_handle());
  s.reset();
  Outcome out = handshake(alias, *client({.alpn = {"h2"}}));
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.clientAlpn, "h2");
}

TEST(TlsContext, BadOptionsAreErrors) {
  ServerTlsOptions opts = serverOptions();
  opts.keyPem = privateKeyToPem(testKey(1));
  auto mismatch = makeServerContext(opts);
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().find("does not match"), std::string::npos) << mismatch.error();

  opts = serverOptions();
  opts.certChainPem = "garbage";
  EXPECT_FALSE(makeServerContext(opts));
  opts = serverOptions();
  opts.alpn = {""};
  EXPECT_FALSE(makeServerContext(opts));
  opts = serverOptions();
  opts.requireClientCert = true;
  EXPECT_FALSE(makeServerContext(opts));
  EXPECT_FALSE(makeServerContext({}));

  EXPECT_FALSE(makeClientContext({.certChainPem = pki().clientPem}));
  EXPECT_FALSE(makeClientContext({.verifyPeer = true, .caPem = "garbage"}));
  EXPECT_FALSE(makeClientContext({.alpn = {std::string(256, 'x')}}));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// A TLS 1.2 client that would renegotiate (OpenSSL clients do unless told not to) asks for it
// over a memory BIO pair: the server refuses, and the client's renegotiation fails.
TEST(TlsContext, ClientRenegotiationIsRefused) {
  auto s = server();
  auto c = client();
  SSL_CTX_set_max_proto_version(c->native_handle(), TLS1_2_VERSION);
  SSL_CTX_clear_options(c->native_handle(), SSL_OP_NO_RENEGOTIATION);
  std::unique_ptr<SSL, decltype(&SSL_free)> cs(SSL_new(c->native_handle()), SSL_free),
      ss(SSL_new(s->native_handle()), SSL_free);
  BIO *toServer = nullptr, *toClient = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&toServer, 0, &toClient, 0), 1);
  SSL_set_bio(cs.get(), toServer, toServer);
  SSL_set_bio(ss.get(), toClient, toClient);
  SSL_set_connect_state(cs.get());
  SSL_set_accept_state(ss.get());
  for (int i = 0; i < 10 && !(SSL_is_init_finished(cs.get()) && SSL_is_init_finished(ss.get()));
       ++i) {
    SSL_do_handshake(cs.get());
    SSL_do_handshake(ss.get());
  }
  ASSERT_TRUE(SSL_is_init_finished(cs.get()) && SSL_is_init_finished(ss.get()));
  ASSERT_STREQ(SSL_get_version(cs.get()), "TLSv1.2");

  ASSERT_EQ(SSL_renegotiate(cs.get()), 1);
  EXPECT_LE(SSL_do_handshake(cs.get()), 0);  // the ClientHello goes out; no answer yet
  char byte = 0;
  EXPECT_LE(SSL_read(ss.get(), &byte, 1), 0);  // the server reads it and answers with an alert
  EXPECT_FALSE(SSL_in_init(ss.get())) << "the server started a second handshake";
  ERR_clear_error();
  EXPECT_LE(SSL_do_handshake(cs.get()), 0);
  EXPECT_EQ(ERR_GET_REASON(ERR_peek_error()), SSL_R_NO_RENEGOTIATION);
  ERR_clear_error();
}

TEST(TlsContext, ContextSettings) {
  auto s = server();
  auto c = client();
  for (SSL_CTX* ctx : {s->native_handle(), c->native_handle()}) {
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION, 0u);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION, 0u);
    EXPECT_NE(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS, 0u);
  }
  EXPECT_NE(SSL_CTX_get_options(s->native_handle()) & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);
  // With it OpenSSL 3.0 takes a close even inside a record for close_notify: a response that
  // ends with its connection could be cut short unseen.
  for (SSL_CTX* ctx : {s->native_handle(), c->native_handle()})
    EXPECT_EQ(SSL_CTX_get_options(ctx) & SSL_OP_IGNORE_UNEXPECTED_EOF, 0u);
  EXPECT_EQ(SSL_CTX_get_options(s->native_handle()) & SSL_OP_NO_TICKET, 0u);
  EXPECT_NE(SSL_CTX_get_session_cache_mode(s->native_handle()) & SSL_SESS_CACHE_SERVER, 0);
  // A session lives as long as the ticket keys' period: no ticket outlives the key opening it.
  EXPECT_EQ(SSL_CTX_get_timeout(s->native_handle()), TicketKeys::kDefaultPeriod.count());
}

TEST(TlsContext, EverySuiteIsForwardSecretAead) {
  auto s = server();
  STACK_OF(SSL_CIPHER)* suites = SSL_CTX_get_ciphers(s->native_handle());
  ASSERT_NE(suites, nullptr);
  int tls13 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(suites); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(suites, i);
    SCOPED_TRACE(SSL_CIPHER_get_name(c));
    EXPECT_EQ(SSL_CIPHER_is_aead(c), 1);
    int kx = SSL_CIPHER_get_kx_nid(c);
    // TLS 1.3 suites name no key exchange: it is always (EC)DHE there, and our groups are EC.
    EXPECT_TRUE(kx == NID_kx_ecdhe || kx == NID_kx_any) << kx;
    if (kx == NID_kx_any) ++tls13;
  }
  EXPECT_EQ(tls13, 3);
}

TEST(TlsContext, OnlyX25519AndNistCurvesAreAgreed) {
  auto s = server();
  for (const char* group : {"X25519", "P-256", "P-384"}) {
    auto c = client();
    ASSERT_EQ(SSL_CTX_set1_groups_list(c->native_handle(), group), 1);
    Outcome out = handshake(*s, *c);
    EXPECT_TRUE(out.ok()) << group << ": " << out.serverError.message();
  }
  for (const char* group : {"X448", "P-521", "ffdhe2048"}) {
    auto c = client();
    ASSERT_EQ(SSL_CTX_set1_groups_list(c->native_handle(), group), 1);
    Outcome out = handshake(*s, *c);
    EXPECT_FALSE(out.ok()) << group;
    EXPECT_TRUE(out.serverError) << group;
  }
}

}  // namespace
}  // namespace kgate::certs
