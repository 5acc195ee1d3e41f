#include "gateway/snapshot.h"

#include "certs/files.h"

namespace kgate {
namespace {

std::vector<std::string> alpnFor(conf::UpstreamProtocol p) {
  switch (p) {
    case conf::UpstreamProtocol::Http1: return {"http/1.1"};
    case conf::UpstreamProtocol::Http2: return {"h2"};
    case conf::UpstreamProtocol::Auto: return {"h2", "http/1.1"};
  }
  return {"http/1.1"};
}

Result<void> addTls(Snapshot& snap, const routes::Upstream& u) {
  if (!u.endpoint.tls()) return {};
  std::string key = upstreamTlsKey(u);
  if (auto it = snap.upstreamTls.find(key); it != snap.upstreamTls.end()) {
    snap.tlsByUpstream[&u] = it->second->native_handle();
    return {};
  }
  certs::ClientTlsOptions opts;
  opts.verifyPeer = u.verifyPeer;
  opts.alpn = alpnFor(u.protocol);
  opts.certChainPem = u.clientCertPem;
  opts.keyPem = u.clientKeyPem;
  if (!u.caPem.empty()) {
    opts.caPem = u.caPem;
  } else if (u.verifyPeer && !u.caFile.empty()) {
    auto ca = certs::readFile(u.caFile);
    if (!ca) return fail("caFile " + u.caFile + ": " + ca.error());
    opts.caPem = *ca;
  }
  auto ctx = certs::makeClientContext(opts);
  if (!ctx) return fail("TLS context for " + u.endpoint.url() + ": " + ctx.error());
  snap.upstreamTls[key] = *ctx;
  snap.tlsByUpstream[&u] = (*ctx)->native_handle();
  return {};
}

}  // namespace

std::string upstreamTlsKey(const routes::Upstream& u) {
  std::string key = conf::toString(u.protocol) + "|" + (u.verifyPeer ? "verify|" + u.caFile : "noverify");
  if (!u.clientCertPem.empty() || !u.caPem.empty())
    key += "|" + std::to_string(std::hash<std::string>{}(u.clientCertPem + u.caPem));
  return key;
}

SSL_CTX* Snapshot::tlsFor(const routes::Upstream& u) const {
  if (!u.endpoint.tls()) return nullptr;
  if (auto known = tlsByUpstream.find(&u); known != tlsByUpstream.end()) return known->second;
  auto it = upstreamTls.find(upstreamTlsKey(u));
  return it == upstreamTls.end() ? nullptr : it->second->native_handle();
}

Result<std::shared_ptr<const Snapshot>> buildSnapshot(
    std::shared_ptr<const conf::Config> config, std::shared_ptr<const auth::TokenSet> tokens) {
  auto snap = std::make_shared<Snapshot>();
  snap->config = config;
  auto table = routes::RouteTable::build(*config);
  if (!table) return fail(table.error());
  snap->routes = *table;
  snap->tokens = tokens ? std::move(tokens) : auth::TokenSet::fromConfig(*config);
  for (const auto& s : config->services) {
    if (auto r = addTls(*snap, snap->routes->service(s.name)->upstream); !r) return fail(r.error());
  }
  for (const auto& [dest, route] : snap->routes->routes()) {
    if (auto r = addTls(*snap, route.upstream); !r) return fail(r.error());
  }
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace kgate
