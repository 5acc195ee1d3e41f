// What the transport tests start from: the two ends of a loopback TCP connection and, for TLS, a
// server and a client context (a self-signed certificate from a test key; the client checks
// nothing).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "certs/ca.h"
#include "certs/keys.h"
#include "certs/tls_context.h"
#include "gateway/asio.h"
#include "support/test_keys.h"

namespace kgate::testing {

// Plain TCP; TLS kept by OpenSSL on both ends (as TLS 1.2 and declined takeovers are); TLS 1.3
// whose records the server protects itself after OpenSSL's handshake (ownRecordsAfterHandshake).
enum class TransportMode { Plain, Tls, OwnRecords };
inline auto transportModes() {
  return ::testing::Values(TransportMode::Plain, TransportMode::Tls, TransportMode::OwnRecords);
}
inline std::string transportModeName(const ::testing::TestParamInfo<TransportMode>& info) {
  switch (info.param) {
    case TransportMode::Plain: return "Plain";
    case TransportMode::Tls: return "Tls";
    case TransportMode::OwnRecords: return "OwnRecords";
  }
  return "";
}

// The server's end first.
inline std::pair<tcp::socket, tcp::socket> connectedSockets(net::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  return {acceptor.accept(), std::move(client)};
}

struct TestContexts {
  certs::SslContextPtr server, client;
};

// Fails the test, and returns null contexts, if they cannot be made.
inline TestContexts makeTestContexts(const char* certName) {
  const EVP_PKEY& key = test::testKey(0);
  auto cert = certs::createCaCert(key, certName);
  EXPECT_TRUE(cert.ok()) << cert.error();
  if (!cert.ok()) return {};
  auto server = certs::makeServerContext(
      {.certChainPem = certs::certToPem(**cert), .keyPem = certs::privateKeyToPem(key)});
  auto client = certs::makeClientContext({});
  EXPECT_TRUE(server.ok() && client.ok());
  if (!server.ok() || !client.ok()) return {};
  return {*server, *client};
}

}  // namespace kgate::testing
