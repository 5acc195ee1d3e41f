// TLS contexts for listeners and upstreams: TLS 1.2 and 1.3 only, forward-secret AEAD suites
// only (ECDHE with AES-GCM or ChaCha20-Poly1305), groups X25519, P-256 and P-384, no compression,
// no renegotiation, ALPN; servers pick the suite, and resume sessions with rotating ticket keys
// (session_tickets.h).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "certs/session_tickets.h"
#include "conf/result.h"

namespace kgate::certs {

using SslContextPtr = std::shared_ptr<boost::asio::ssl::context>;

struct ServerTlsOptions {
  std::string certChainPem{};          // leaf first
  std::string keyPem{};
  std::vector<std::string> alpn{};     // server preference order, e.g. {"h2", "http/1.1"}
  bool requireClientCert = false;      // the handshake fails without a valid client certificate
  // Ask for a client certificate but let the handshake finish whatever the client sends; the
  // verification result is kept (SSL_get_verify_result) for the application to judge, so it
  // can answer "no certificate" in its own protocol instead of a bare TLS alert.
  bool requestClientCert = false;
  std::string clientCaPem{};           // trust anchors for client certificates
  // clientCaPem holds the very client certificates to accept, not CAs: each verifies as itself
  // (X509_V_FLAG_PARTIAL_CHAIN), and nothing their CA issued does.
  bool pinnedClientCerts = false;
  // Session-ticket keys; contexts that must resume each other's tickets share one. Empty: the
  // context gets keys of its own, rotated every TicketKeys::kDefaultPeriod.
  std::shared_ptr<TicketKeys> ticketKeys{};
};

struct ClientTlsOptions {
  bool verifyPeer = false;
  std::string caPem{};                 // trust anchors when verifyPeer (empty: system store)
  std::string certChainPem{}, keyPem{};  // optional client certificate (mTLS)
  std::vector<std::string> alpn{};     // offered, e.g. {"h2", "http/1.1"}
};

Result<SslContextPtr> makeServerContext(const ServerTlsOptions& options);
Result<SslContextPtr> makeClientContext(const ClientTlsOptions& options);

// Per connection, before the client handshake: SNI for a host name (never for an IP literal) and,
// when checkName (i.e. the context verifies peers), the name or IP the peer certificate must carry.
// The context alone checks only the chain, not whom it was issued to.
Result<void> setClientPeerName(SSL* ssl, const std::string& host, bool checkName);

// The ALPN protocol the handshake selected on this SSL ("" if none).
std::string selectedAlpn(const SSL* ssl);

}  // namespace kgate::certs
