// Real handshakes over loopback TCP between contexts made by makeServerContext/makeClientContext.
#include "certs/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <functional>

#include "certs/ca.h"
#include "test_util.h"

namespace kgate::certs {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using testing::cachedKey;

struct Outcome {
  error_code serverError, clientError;
  std::string serverAlpn, clientAlpn, received, version;
  bool resumed = false;
  SSL_SESSION* session = nullptr;  // the client's session afterwards, when asked for (owned)

  bool ok() const { return !serverError && !clientError && received == "ok"; }
  int serverReason() const {
    return serverError.category() == asio::error::get_ssl_category()
               ? ERR_GET_REASON(static_cast<unsigned long>(serverError.value()))
               : 0;
  }
};

// One connection: the server handshakes and writes "ok", the client handshakes and reads it (in
// TLS 1.3 a rejected client certificate only shows on the client's first read).
Outcome handshake(asio::ssl::context& server, asio::ssl::context& client,
                  const std::function<void(SSL*)>& prepareClient = {}, bool keepSession = false) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::ssl::stream<tcp::socket> s(io, server), c(io, client);
  if (prepareClient) prepareClient(c.native_handle());
  Outcome out;
  char buf[2];

  acceptor.async_accept(s.next_layer(), [&](error_code ec) {
    if (ec) return void(out.serverError = ec);
    s.async_handshake(asio::ssl::stream_base::server, [&](error_code ec) {
      if (ec) {
        out.serverError = ec;
        return void(s.next_layer().close());
      }
      out.serverAlpn = selectedAlpn(s.native_handle());
      asio::async_write(s, asio::buffer("ok", 2), [&](error_code ec, size_t) {
        if (ec) out.serverError = ec;
      });
    });
  });
  c.next_layer().async_connect(acceptor.local_endpoint(), [&](error_code ec) {
    if (ec) return void(out.clientError = ec);
    c.async_handshake(asio::ssl::stream_base::client, [&](error_code ec) {
      if (ec) {
        out.clientError = ec;
        return void(c.next_layer().close());
      }
      out.clientAlpn = selectedAlpn(c.native_handle());
      out.version = SSL_get_version(c.native_handle());
      out.resumed = SSL_session_reused(c.native_handle()) == 1;
      asio::async_read(c, asio::buffer(buf), [&](error_code ec, size_t n) {
        if (ec) out.clientError = ec;
        out.received.assign(buf, n);
        // A copy: freeing an SSL without a close_notify marks its own session unresumable.
        if (keepSession) out.session = SSL_SESSION_dup(SSL_get0_session(c.native_handle()));
      });
    });
  });
  io.run_for(std::chrono::seconds(20));
  return out;
}

struct Pki {
  std::string caPem, serverPem, serverKeyPem, clientPem, clientKeyPem;
  std::string otherCaPem, foreignClientPem, foreignClientKeyPem;
};

const Pki& pki() {
  static const Pki p = [] {
    Pki p;
    auto ca = createCaCert(cachedKey(0), "Test CA");
    auto other = createCaCert(cachedKey(1), "Test CA");
    auto server = issueCert(**ca, cachedKey(0), cachedKey(2),
                            {.commonName = "server", .sans = {"127.0.0.1", "localhost"}});
    CertSpec clientSpec{.commonName = "client", .sans = {}, .serverAuth = false,
                        .clientAuth = true};
    auto client = issueCert(**ca, cachedKey(0), cachedKey(3), clientSpec);
    auto foreign = issueCert(**other, cachedKey(1), cachedKey(4), clientSpec);
    EXPECT_TRUE(ca && other && server && client && foreign);
    p.caPem = certToPem(**ca);
    p.otherCaPem = certToPem(**other);
    p.serverPem = certToPem(**server);
    p.serverKeyPem = privateKeyToPem(cachedKey(2));
    p.clientPem = certToPem(**client);
    p.clientKeyPem = privateKeyToPem(cachedKey(3));
    p.foreignClientPem = certToPem(**foreign);
    p.foreignClientKeyPem = privateKeyToPem(cachedKey(4));
    return p;
  }();
  return p;
}

ServerTlsOptions serverOptions() {
  return {.certChainPem = pki().serverPem + pki().caPem,
          .keyPem = pki().serverKeyPem,
          .alpn = {"h2", "http/1.1"}};
}

SslContextPtr server(const ServerTlsOptions& options = serverOptions()) {
  auto ctx = makeServerContext(options);
  EXPECT_TRUE(ctx) << ctx.error();
  return ctx ? *ctx : nullptr;
}

SslContextPtr client(const ClientTlsOptions& options = {}) {
  auto ctx = makeClientContext(options);
  EXPECT_TRUE(ctx) << ctx.error();
  return ctx ? *ctx : nullptr;
}

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
  opts.keyPem = privateKeyToPem(cachedKey(1));
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

TEST(TlsContext, ContextSettings) {
  auto s = server();
  auto c = client();
  for (SSL_CTX* ctx : {s->native_handle(), c->native_handle()}) {
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION, 0u);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION, 0u);
    EXPECT_NE(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS, 0u);
  }
  EXPECT_NE(SSL_CTX_get_options(s->native_handle()) & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);
  EXPECT_EQ(SSL_CTX_get_options(s->native_handle()) & SSL_OP_NO_TICKET, 0u);
  EXPECT_NE(SSL_CTX_get_session_cache_mode(s->native_handle()) & SSL_SESS_CACHE_SERVER, 0);
}

}  // namespace
}  // namespace kgate::certs
