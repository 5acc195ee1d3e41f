// Where requests go: local services (reached by peers as <svc>.<self>.svc) and outbound routes
// to peer domains (reached by local apps as <svc>.<peer>.svc). Built once per config snapshot
// and read-only afterwards, so workers share it without locks.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "conf/result.h"

namespace kgate::routes {

// An upstream as the connection pools see it.
struct Upstream {
  conf::Endpoint endpoint;
  conf::UpstreamProtocol protocol = conf::UpstreamProtocol::Http1;
  std::string hostHeader;  // Host sent upstream: the endpoint host, as Kuscia does
  std::string sni;         // TLS server name ("" for IP literals)
  bool verifyPeer = false;
  std::string caFile;
  std::string caPem;                       // trust anchors as text (wins over caFile)
  std::string clientCertPem, clientKeyPem;  // presented to the peer (MTLS routes)
  std::string poolKey;     // equal keys may share connections
};

struct Service {
  std::string name;
  Upstream upstream;
};

// How to reach a destination domain. For a transit route, nextHop is the transit domain and
// upstream/token are those of the route self -> nextHop.
struct PeerRoute {
  std::string destination;
  std::string nextHop;
  Upstream upstream;
  std::string token;       // newest token of self -> nextHop, sent as Kuscia-Token
  bool tokenRequired = true;  // a route that needs a token but has none is not ready yet
  std::string pathPrefix;  // prepended to request paths ("" or "/prefix")
  std::optional<conf::Seconds> streamIdleTimeout;
};

class RouteTable {
 public:
  static Result<std::shared_ptr<const RouteTable>> build(const conf::Config& config);

  const Service* service(std::string_view name) const;
  const PeerRoute* route(std::string_view destination) const;
  // As the transit of a route source -> destination: a peer's request may be relayed on.
  bool relays(std::string_view source, std::string_view destination) const;
  // As the destination of a route origin -> self through `via`: a request from peer `via` may
  // say it comes from `origin`.
  bool acceptsOrigin(std::string_view origin, std::string_view via) const;
  const std::string& self() const { return self_; }
  const std::map<std::string, PeerRoute, std::less<>>& routes() const { return routes_; }

 private:
  std::string self_;
  std::map<std::string, Service, std::less<>> services_;
  std::map<std::string, PeerRoute, std::less<>> routes_;
  using Pairs = std::map<std::string, std::set<std::string, std::less<>>, std::less<>>;
  Pairs relays_;   // source -> destinations
  Pairs origins_;  // transit -> origins
};

// "<svc>.<domain>.svc" -> {svc, domain}; "<svc>" (a single label) -> {svc, ""}; else nullopt.
struct ServiceHost {
  std::string_view service;
  std::string_view domain;
};
std::optional<ServiceHost> parseServiceHost(std::string_view host);

Upstream makeUpstream(const conf::Endpoint& endpoint, conf::UpstreamProtocol protocol,
                      bool verifyPeer, const std::string& caFile, const std::string& sni);

}  // namespace kgate::routes
