#include "routes/route_table.h"

#include <arpa/inet.h>

namespace kgate::routes {
namespace {

bool isIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Upstream makeUpstream(const conf::Endpoint& endpoint, conf::UpstreamProtocol protocol,
                      bool verifyPeer, const std::string& caFile, const std::string& sni) {
  Upstream u;
  u.endpoint = endpoint;
  u.protocol = protocol;
  u.hostHeader = endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]"
                                                               : endpoint.host;
  u.sni = !sni.empty() ? sni : (isIpLiteral(endpoint.host) ? std::string() : endpoint.host);
  u.verifyPeer = verifyPeer;
  u.caFile = caFile;
  u.poolKey = endpoint.scheme + "://" + endpoint.host + ":" + std::to_string(endpoint.port) + "|" +
              conf::toString(protocol) + "|" + u.sni + "|" + (verifyPeer ? "verify:" + caFile : "");
  return u;
}

Result<std::shared_ptr<const RouteTable>> RouteTable::build(const conf::Config& config) {
  auto table = std::make_shared<RouteTable>();
  table->self_ = config.domainID;
  for (const auto& s : config.services) {
    table->services_[s.name] =
        Service{s.name, makeUpstream(s.endpoint, s.protocol, false, "", "")};
  }
  // Direct routes first; transit routes borrow the upstream and token of their next hop.
  for (const auto& r : config.routes) {
    if (!r.transit.empty()) continue;
    PeerRoute p;
    p.destination = r.destination;
    p.nextHop = r.destination;
    p.upstream = makeUpstream(r.endpoint, r.protocol, r.verifyPeer, r.caFile, r.sni);
    if (!r.clientCertPem.empty() || !r.caPem.empty()) {
      p.upstream.caPem = r.caPem;
      p.upstream.clientCertPem = r.clientCertPem;
      p.upstream.clientKeyPem = r.clientKeyPem;
      // Connections that present a certificate are not shared with ones that do not.
      p.upstream.poolKey += "|mtls:" + std::to_string(std::hash<std::string>{}(r.clientCertPem + r.caPem));
    }
    p.token = r.token;
    p.tokenRequired = r.tokenRequired;
    p.pathPrefix = r.endpoint.pathPrefix;
    p.streamIdleTimeout = r.streamIdleTimeout;
    table->routes_[r.destination] = std::move(p);
  }
  for (const auto& r : config.routes) {
    if (r.transit.empty()) continue;
    auto hop = table->routes_.find(r.transit);
    if (hop == table->routes_.end() || hop->second.nextHop != r.transit)
      return fail("route to " + r.destination + ": transit domain " + r.transit +
                  " has no direct route");
    PeerRoute p = hop->second;
    p.destination = r.destination;
    if (r.streamIdleTimeout) p.streamIdleTimeout = r.streamIdleTimeout;
    table->routes_[r.destination] = std::move(p);
  }
  for (const auto& t : config.transitRoutes) {
    if (t.transit == table->self_) table->relays_[t.source].insert(t.destination);
    if (t.destination == table->self_) table->origins_[t.transit].insert(t.source);
  }
  return std::shared_ptr<const RouteTable>(std::move(table));
}

namespace {

bool holds(const auto& pairs, std::string_view key, std::string_view value) {
  auto it = pairs.find(key);
  return it != pairs.end() && it->second.contains(value);
}

}  // namespace

bool RouteTable::relays(std::string_view source, std::string_view destination) const {
  return holds(relays_, source, destination);
}

bool RouteTable::acceptsOrigin(std::string_view origin, std::string_view via) const {
  return holds(origins_, via, origin);
}

const Service* RouteTable::service(std::string_view name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : &it->second;
}

const PeerRoute* RouteTable::route(std::string_view destination) const {
  auto it = routes_.find(destination);
  return it == routes_.end() ? nullptr : &it->second;
}

std::optional<ServiceHost> parseServiceHost(std::string_view host) {
  if (host.empty()) return std::nullopt;
  size_t firstDot = host.find('.');
  if (firstDot == std::string_view::npos) return ServiceHost{host, {}};
  if (!host.ends_with(".svc") || host.size() - 4 <= firstDot) return std::nullopt;
  std::string_view rest = host.substr(firstDot + 1, host.size() - firstDot - 1 - 4);
  if (rest.empty() || rest.find('.') != std::string_view::npos || firstDot == 0)
    return std::nullopt;
  return ServiceHost{host.substr(0, firstDot), rest};
}

}  // namespace kgate::routes
