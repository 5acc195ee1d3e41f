// Everything a request needs to know about the node's configuration, frozen: the config, the
// route table, the accepted tokens and the upstream TLS contexts. Built whole (and validated)
// on start and on every reload, then posted to the workers; a stream keeps the snapshot it
// started with, so a reload never changes a request half-way.
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "auth/token_set.h"
#include "certs/tls_context.h"
#include "conf/config.h"
#include "conf/result.h"
#include "routes/route_table.h"

namespace kgate {

inline constexpr std::string_view kVersion = "0.1.0";

struct Snapshot {
  std::shared_ptr<const conf::Config> config;
  std::shared_ptr<const routes::RouteTable> routes;
  std::shared_ptr<const auth::TokenSet> tokens;
  std::map<std::string, certs::SslContextPtr> upstreamTls;  // by upstreamTlsKey()
  // The same contexts by the addresses of the Upstreams inside `routes` (kept alive with it): the
  // key is a string built, and hashed over PEM for client certificates, per lookup: too dear for
  // every request.
  std::unordered_map<const routes::Upstream*, SSL_CTX*> tlsByUpstream;

  const std::string& self() const { return config->domainID; }
  SSL_CTX* tlsFor(const routes::Upstream& u) const;
};

std::string upstreamTlsKey(const routes::Upstream& u);
// tokens: the accepted tokens, when more than the config's (the control plane's negotiated ones).
Result<std::shared_ptr<const Snapshot>> buildSnapshot(
    std::shared_ptr<const conf::Config> config,
    std::shared_ptr<const auth::TokenSet> tokens = nullptr);

}  // namespace kgate
