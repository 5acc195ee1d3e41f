#include "certs/tls_context.h"

#include <openssl/ssl.h>

#include <cstring>
#include <exception>

#include "certs/keys.h"
#include "certs/ossl_util.h"
#include "certs/tls13_records.h"

namespace kgate::certs {

using detail::opensslError;

namespace {

constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3 suites are all AEAD and forward secret; the list fixes their order.
constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
// OpenSSL's default adds X448, P-521 and finite-field groups: slower, and nothing needs them.
constexpr char kGroups[] = "X25519:P-256:P-384";
constexpr unsigned char kSessionIdContext[] = "kgate";

// The server's ALPN preference list, owned by the SSL_CTX (freed with it through ex_data) so the
// select callback can never outlive it, even when SSL objects keep the SSL_CTX alive.
struct AlpnPrefs {
  std::vector<std::string> protos;
};

void freeAlpnPrefs(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<AlpnPrefs*>(ptr);
}

int alpnPrefsIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeAlpnPrefs);
  return index;
}

// First server preference the client offered; no agreement means no ALPN, not a failed handshake.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void* arg) {
  const auto* prefs = static_cast<const AlpnPrefs*>(arg);
  for (const std::string& want : prefs->protos) {
    for (unsigned i = 0; i < inlen;) {
      unsigned len = in[i];
      if (len == 0 || i + 1 + len > inlen) return SSL_TLSEXT_ERR_NOACK;
      if (len == want.size() && std::memcmp(in + i + 1, want.data(), len) == 0) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

Result<std::string> alpnWire(const std::vector<std::string>& protos) {
  std::string wire;
  for (const std::string& p : protos) {
    if (p.empty() || p.size() > 255) return fail("invalid ALPN protocol name \"" + p + "\"");
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

Result<SslContextPtr> newContext(boost::asio::ssl::context::method method) {
  try {
    return std::make_shared<boost::asio::ssl::context>(method);
  } catch (const std::exception& e) {
    ERR_clear_error();
    return fail(std::string("cannot create TLS context: ") + e.what());
  }
}

Result<void> applyCommon(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return fail(opensslError("cannot set TLS versions"));
  }
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return fail(opensslError("cannot set TLS 1.2 cipher list"));
  }
  if (SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1) {
    return fail(opensslError("cannot set TLS 1.3 cipher suites"));
  }
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return fail(opensslError("cannot set TLS groups"));
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Idle keep-alive connections dominate; their read/write buffers are pure overhead.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  return {};
}

Result<void> useChainAndKey(SSL_CTX* ctx, const std::string& chainPem, const std::string& keyPem,
                            const char* role) {
  auto chain = certChainFromPem(chainPem);
  if (!chain) return fail(std::string(role) + " certificate: " + chain.error());
  auto key = privateKeyFromPem(keyPem);
  if (!key) return fail(std::string(role) + " key: " + key.error());
  if (!certMatchesKey(*chain->front(), **key)) {
    return fail(std::string(role) + " key does not match its certificate");
  }
  if (SSL_CTX_use_certificate(ctx, chain->front().get()) != 1) {
    return fail(opensslError(std::string("cannot use ") + role + " certificate"));
  }
  SSL_CTX_clear_chain_certs(ctx);
  for (size_t i = 1; i < chain->size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, (*chain)[i].get()) != 1) {
      return fail(opensslError(std::string("cannot add ") + role + " chain certificate"));
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key->get()) != 1) {
    return fail(opensslError(std::string("cannot use ") + role + " key"));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail(opensslError(std::string(role) + " key does not match its certificate"));
  }
  return {};
}

Result<void> addTrustAnchors(SSL_CTX* ctx, const std::string& pem, bool advertise,
                             const char* what) {
  auto certs = certChainFromPem(pem);
  if (!certs) return fail(std::string(what) + ": " + certs.error());
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const Certificate& c : *certs) {
    if (X509_STORE_add_cert(store, c.get()) != 1) {
      return fail(opensslError(std::string("cannot add ") + what));
    }
    // The CA names in CertificateRequest let clients with several certificates pick the right one.
    if (advertise && SSL_CTX_add_client_CA(ctx, c.get()) != 1) {
      return fail(opensslError(std::string("cannot advertise ") + what));
    }
  }
  return {};
}

Result<void> setServerAlpn(SSL_CTX* ctx, const std::vector<std::string>& protos) {
  if (protos.empty()) return {};
  if (auto wire = alpnWire(protos); !wire) return fail(wire.error());
  auto prefs = std::make_unique<AlpnPrefs>(AlpnPrefs{protos});
  int index = alpnPrefsIndex();
  if (index < 0 || SSL_CTX_set_ex_data(ctx, index, prefs.get()) != 1) {
    return fail(opensslError("cannot attach ALPN preferences"));
  }
  SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, prefs.release());
  return {};
}

}  // namespace

Result<SslContextPtr> makeServerContext(const ServerTlsOptions& options) {
  if (options.certChainPem.empty() || options.keyPem.empty()) {
    return fail("server TLS: certificate and key are required");
  }
  bool wantClientCert = options.requireClientCert || options.requestClientCert;
  if (wantClientCert && options.clientCaPem.empty()) {
    return fail("server TLS: client certificates required but no client CA given");
  }
  auto context = newContext(boost::asio::ssl::context::tls_server);
  if (!context) return context;
  SSL_CTX* ctx = (*context)->native_handle();

  Result<void> r = applyCommon(ctx);
  if (r) r = useChainAndKey(ctx, options.certChainPem, options.keyPem, "server");
  if (r) r = setServerAlpn(ctx, options.alpn);
  if (r && wantClientCert) {
    r = addTrustAnchors(ctx, options.clientCaPem, !options.pinnedClientCerts, "client CA");
  }
  if (r && options.pinnedClientCerts &&
      X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_PARTIAL_CHAIN) != 1) {
    r = fail(opensslError("cannot pin client certificates"));
  }
  if (!r) return fail(r.error());

  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  // TLS 1.3: one ticket per full handshake, not OpenSSL's two. Each costs ~170k instructions
  // (serialise, seal, HMAC) and a write of its own; the second only serves a client opening two
  // resumed connections at once, and every resumption brings a fresh ticket anyway. Peer
  // gateways do not resume at all.
  if (SSL_CTX_set_num_tickets(ctx, 1) != 1) {
    return fail(opensslError("cannot set the number of session tickets"));
  }
  enableRecordTakeover(ctx);
  auto keys = options.ticketKeys ? options.ticketKeys : std::make_shared<TicketKeys>();
  if (auto t = useTicketKeys(ctx, std::move(keys)); !t) return fail(t.error());
  // Session ids too, for TLS 1.2 clients without tickets; cached as long as a ticket lives.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  // Required for resumption once client certificates are verified; harmless otherwise.
  if (SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1) != 1) {
    return fail(opensslError("cannot set session id context"));
  }
  if (options.requireClientCert) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else if (options.requestClientCert) {
    // Accept any chain here; the result stays in SSL_get_verify_result for the application.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return context;
}

Result<SslContextPtr> makeClientContext(const ClientTlsOptions& options) {
  if (options.certChainPem.empty() != options.keyPem.empty()) {
    return fail("client TLS: a client certificate needs both certificate and key");
  }
  auto alpn = alpnWire(options.alpn);
  if (!alpn) return fail("client TLS: " + alpn.error());
  auto context = newContext(boost::asio::ssl::context::tls_client);
  if (!context) return context;
  SSL_CTX* ctx = (*context)->native_handle();

  Result<void> r = applyCommon(ctx);
  if (r && !options.certChainPem.empty()) {
    r = useChainAndKey(ctx, options.certChainPem, options.keyPem, "client");
  }
  if (r && options.verifyPeer) {
    if (!options.caPem.empty()) {
      r = addTrustAnchors(ctx, options.caPem, false, "peer CA");
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      r = fail(opensslError("cannot load the system trust store"));
    }
  }
  if (!r) return fail(r.error());

  SSL_CTX_set_verify(ctx, options.verifyPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  // SSL_CTX_set_alpn_protos copies the list and, unusually, returns 0 on success.
  if (!alpn->empty() &&
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn->data()),
                              static_cast<unsigned>(alpn->size())) != 0) {
    return fail(opensslError("cannot set ALPN protocols"));
  }
  return context;
}

Result<void> setClientPeerName(SSL* ssl, const std::string& host, bool checkName) {
  if (host.empty()) return {};
  const bool isIp = !detail::canonicalIp(host).empty();
  // RFC 6066: SNI carries host names only, never IP literals.
  if (!isIp && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return fail(opensslError("cannot set TLS server name " + host));
  }
  if (!checkName) return {};
  int ok = isIp ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
                : SSL_set1_host(ssl, host.c_str());
  if (ok != 1) return fail(opensslError("cannot set expected peer name " + host));
  return {};
}

std::string selectedAlpn(const SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace kgate::certs
