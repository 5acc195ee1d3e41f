// Shared by the TLS tests: a test PKI, contexts made by makeServerContext/makeClientContext, and
// one real handshake over loopback TCP between two contexts.
#pragma once

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <string>

#include "certs/ca.h"
#include "certs/tls_context.h"
#include "test_util.h"

namespace kgate::certs::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

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
inline Outcome handshake(asio::ssl::context& server, asio::ssl::context& client,
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

inline const Pki& pki() {
  static const Pki p = [] {
    Pki p;
    auto ca = createCaCert(testKey(0), "Test CA");
    auto other = createCaCert(testKey(1), "Test CA");
    auto server = issueCert(**ca, testKey(0), testKey(2),
                            {.commonName = "server", .sans = {"127.0.0.1", "localhost"}});
    CertSpec clientSpec{.commonName = "client", .sans = {}, .serverAuth = false,
                        .clientAuth = true};
    auto client = issueCert(**ca, testKey(0), testKey(3), clientSpec);
    auto foreign = issueCert(**other, testKey(1), testKey(4), clientSpec);
    EXPECT_TRUE(ca && other && server && client && foreign);
    p.caPem = certToPem(**ca);
    p.otherCaPem = certToPem(**other);
    p.serverPem = certToPem(**server);
    p.serverKeyPem = privateKeyToPem(testKey(2));
    p.clientPem = certToPem(**client);
    p.clientKeyPem = privateKeyToPem(testKey(3));
    p.foreignClientPem = certToPem(**foreign);
    p.foreignClientKeyPem = privateKeyToPem(testKey(4));
    return p;
  }();
  return p;
}

inline ServerTlsOptions serverOptions() {
  return {.certChainPem = pki().serverPem + pki().caPem,
          .keyPem = pki().serverKeyPem,
          .alpn = {"h2", "http/1.1"}};
}

inline SslContextPtr server(const ServerTlsOptions& options = serverOptions()) {
  auto ctx = makeServerContext(options);
  EXPECT_TRUE(ctx) << ctx.error();
  return ctx ? *ctx : nullptr;
}

inline SslContextPtr client(const ClientTlsOptions& options = {}) {
  auto ctx = makeClientContext(options);
  EXPECT_TRUE(ctx) << ctx.error();
  return ctx ? *ctx : nullptr;
}

}  // namespace kgate::certs::testing
