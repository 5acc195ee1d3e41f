// Loader sections: static routes, with the checks that span several routes (uniqueness, transit),
// and the transit routes this node relays or ends.
#include <algorithm>
#include <map>

#include "conf/domain_id.h"
#include "conf/endpoint.h"
#include "conf/loader_internal.h"

namespace kgate::conf::detail {
namespace {

// What the file said about one route, beyond the Route itself: which keys were set and where.
struct RouteInput {
  Route route;
  std::string path;  // "routes[i]"
  YAML::Node node;
  YAML::Node destinationNode, transitNode;
  std::map<std::string, YAML::Node> set;   // key -> value node, for keys with a value
  std::map<std::string, YAML::Node> keys;  // key -> key node, for every key present

  // Where to point a message about `key`: its value, else its key, else the route itself.
  YAML::Node at(const std::string& key) const {
    if (auto it = set.find(key); it != set.end()) return it->second;
    if (auto it = keys.find(key); it != keys.end()) return it->second;
    return node;
  }
  bool destinationOk = false;
  bool transitOk = false;
};

void readOne(Ctx& ctx, const std::string& self, RouteInput& in) {
  Route& r = in.route;
  walkMap(ctx, in.node, in.path,
          {"destination", "endpoint", "token", "transit", "protocol", "verifyPeer", "caFile",
           "sni", "streamIdleTimeout"},
          [&](const std::string& key, const YAML::Node& k, const YAML::Node& v,
              const std::string& p) {
            // emplace/reset, never Node::operator=, which writes into a bound node's document.
            in.keys.emplace(key, k);
            if (!isAbsent(v)) in.set.emplace(key, v);
            if (key == "destination") {
              in.destinationNode.reset(v);
              if (readString(ctx, v, p, r.destination)) {
                if (auto ok = validateDomainId(r.destination); !ok) {
                  ctx.errors.add(v, p, ok.error());
                } else if (!self.empty() && r.destination == self) {
                  ctx.errors.add(v, p, "\"" + r.destination +
                                           "\" is this node's own domain; a route leads to "
                                           "another domain");
                } else {
                  in.destinationOk = true;
                }
              }
            } else if (key == "endpoint") {
              std::string url;
              if (readString(ctx, v, p, url) && !url.empty()) {
                if (auto ep = parseEndpoint(url)) {
                  r.endpoint = std::move(*ep);
                } else {
                  ctx.errors.add(v, p, ep.error());
                }
              }
            } else if (key == "token") {
              readString(ctx, v, p, r.token);  // presence and content: checkOne
            } else if (key == "transit") {
              in.transitNode.reset(v);
              if (readString(ctx, v, p, r.transit) && !r.transit.empty()) {
                if (auto ok = validateDomainId(r.transit); !ok) {
                  ctx.errors.add(v, p, ok.error());
                } else {
                  in.transitOk = true;
                }
              }
            } else if (key == "protocol") {
              readUpstreamProtocol(ctx, v, p, r.protocol);
            } else if (key == "verifyPeer") {
              readBool(ctx, v, p, r.verifyPeer);
            } else if (key == "caFile") {
              if (readString(ctx, v, p, r.caFile)) r.caFile = resolvePath(ctx, r.caFile);
            } else if (key == "sni") {
              if (readString(ctx, v, p, r.sni) && !r.sni.empty() && !isDnsName(r.sni)) {
                ctx.errors.add(v, p, quote(r.sni) + " is not a DNS name");
              }
            } else if (key == "streamIdleTimeout") {
              Seconds s{};
              if (readSeconds(ctx, v, p, false, s)) r.streamIdleTimeout = s;
            }
          });
}

// Checks that need only this route: required keys and keys that contradict each other.
void checkOne(Ctx& ctx, RouteInput& in) {
  const Route& r = in.route;
  const std::string& p = in.path;
  if (!in.destinationNode.IsDefined() || isAbsent(in.destinationNode)) {
    ctx.errors.add(in.at("destination"), keyPath(p, "destination"),
                   "is required (the peer's domain ID)");
  }
  const bool tokenGiven = in.set.count("token") > 0;
  const bool isTransit = in.set.count("transit") && !r.transit.empty();
  if (isTransit) {
    // The hop to the transit domain authenticates with that route's token.
  } else if (!tokenGiven || (in.at("token").IsScalar() && r.token.empty())) {
    ctx.errors.add(in.at("token"), keyPath(p, "token"),
                   "is required (the token this node sends as Kuscia-Token; the peer lists it "
                   "under tokens)");
  } else if (in.at("token").IsScalar()) {
    if (auto why = checkToken(r.token)) {
      ctx.errors.add(in.at("token"), keyPath(p, "token"), "token " + *why);
    }
  }
  // A non-string endpoint was reported by readOne; do not call it missing as well.
  const bool hasEndpoint = in.set.count("endpoint") &&
                           (!in.at("endpoint").IsScalar() || !in.at("endpoint").Scalar().empty());
  if (in.set.count("transit") && !r.transit.empty()) {
    // The hop to the transit domain uses that route's endpoint and TLS settings.
    for (const std::string key : {"endpoint", "token", "protocol", "verifyPeer", "caFile", "sni"}) {
      if (!in.set.count(key)) continue;
      const bool isEndpoint = key == "endpoint";
      if (isEndpoint && !hasEndpoint) continue;
      ctx.errors.add(in.at(key), keyPath(p, key),
                     std::string(isEndpoint ? "set either endpoint or transit, not both"
                                            : "has no effect on a transit route") +
                         "; the route to \"" + r.transit + "\" decides how to reach it");
    }
    return;
  }
  if (!hasEndpoint) {
    ctx.errors.add(in.at("endpoint"), keyPath(p, "endpoint"),
                   "is required (the peer's external URL, e.g. http://10.0.0.2:38080), unless "
                   "transit names a domain to go through");
    return;
  }
  if (r.endpoint.host.empty()) return;  // the URL itself was invalid, already reported
  if (r.verifyPeer && !r.endpoint.tls()) {
    ctx.errors.add(in.at("verifyPeer"), keyPath(p, "verifyPeer"),
                   "needs an https:// endpoint; " + r.endpoint.url() + " is plain HTTP");
  }
  if (!r.caFile.empty() && !r.verifyPeer) {
    ctx.errors.add(in.at("caFile"), keyPath(p, "caFile"),
                   "is only used with verifyPeer: true; set verifyPeer or remove caFile");
  }
  if (!r.sni.empty() && !r.endpoint.tls()) {
    ctx.errors.add(in.at("sni"), keyPath(p, "sni"),
                   "needs an https:// endpoint; " + r.endpoint.url() + " is plain HTTP");
  }
}

}  // namespace

void readRoutes(Ctx& ctx, const YAML::Node& node, const std::string& self,
                std::vector<Route>& out) {
  if (isAbsent(node)) return;
  if (!node.IsSequence()) {
    ctx.errors.add(node, "routes",
                   "expected a list of routes (lines starting with '- destination: ...'), found " +
                       describe(node));
    return;
  }
  std::vector<RouteInput> inputs(node.size());
  for (size_t i = 0; i < node.size(); ++i) {
    inputs[i].path = indexPath("routes", i);
    inputs[i].node.reset(node[i]);
    readOne(ctx, self, inputs[i]);
    if (node[i].IsMap()) checkOne(ctx, inputs[i]);
  }

  std::map<std::string, size_t> byDestination;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const RouteInput& in = inputs[i];
    if (!in.destinationOk) continue;
    auto [it, inserted] = byDestination.emplace(in.route.destination, i);
    if (!inserted) {
      const RouteInput& first = inputs[it->second];
      int line = lineOf(first.destinationNode.Mark());
      ctx.errors.add(in.destinationNode, keyPath(in.path, "destination"),
                     "a route to \"" + in.route.destination + "\" is already defined at " +
                         first.path + (line > 0 ? " (line " + std::to_string(line) + ")" : ""));
    }
  }

  for (const RouteInput& in : inputs) {
    if (!in.transitOk) continue;
    const std::string p = keyPath(in.path, "transit");
    const std::string& t = in.route.transit;
    if (t == in.route.destination) {
      ctx.errors.add(in.transitNode, p, "a route cannot go through its own destination \"" + t +
                                            "\"; use endpoint instead");
    } else if (!self.empty() && t == self) {
      ctx.errors.add(in.transitNode, p, "\"" + t + "\" is this node itself; name a third domain");
    } else if (auto it = byDestination.find(t); it == byDestination.end()) {
      ctx.errors.add(in.transitNode, p,
                     "no route to \"" + t + "\" is defined; add a route with destination: " + t +
                         " and its endpoint");
    } else if (!inputs[it->second].route.transit.empty()) {
      // One hop only: chains could loop (a via b, b via a) and double every failure mode.
      ctx.errors.add(in.transitNode, p,
                     "the route to \"" + t + "\" itself goes through \"" +
                         inputs[it->second].route.transit +
                         "\"; transit must name a route that has an endpoint");
    }
  }

  for (RouteInput& in : inputs) out.push_back(std::move(in.route));
}

namespace {

// What keeps a masterless node from playing its part in transit route t ("" when nothing).
std::string unsupportedTransit(const Config& cfg, const TransitRoute& t) {
  const bool relay = cfg.domainID == t.transit;
  if (relay) {
    auto direct = std::find_if(cfg.routes.begin(), cfg.routes.end(),
                               [&](const Route& r) { return r.destination == t.destination; });
    if (direct == cfg.routes.end())
      return "this node relays to " + t.destination +
             " but has no route to it; add one under routes with its endpoint";
    if (!direct->transit.empty())
      return "the route to " + t.destination + " goes through " + direct->transit +
             "; a relay goes one hop, so it needs a route with an endpoint";
  }
  // The relay must know its sender; the destination must know its relay.
  const std::string& peer = relay ? t.source : t.transit;
  auto tokens = cfg.tokens.find(peer);
  if (tokens == cfg.tokens.end())
    return "no tokens are listed for " + peer +
           ", so nothing it sends is accepted; add them under tokens";
  if (std::find(tokens->second.begin(), tokens->second.end(), "noop") != tokens->second.end())
    return "tokens." + peer + " accepts anyone (noop); the hops of a transit route need a token";
  return "";
}

}  // namespace

void readTransitRoutes(Ctx& ctx, const YAML::Node& node, const Config& cfg,
                       std::vector<TransitRoute>& out) {
  if (isAbsent(node)) return;
  if (!node.IsSequence()) {
    ctx.errors.add(node, "transitRoutes",
                   "expected a list of {source, destination, transit}, found " + describe(node));
    return;
  }
  const std::string& self = cfg.domainID;
  std::map<std::pair<std::string, std::string>, std::string> seen;  // (source, destination)
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = indexPath("transitRoutes", i);
    TransitRoute t;
    std::map<std::string, YAML::Node> values;
    bool ok = walkMap(
        ctx, node[i], path, {"source", "destination", "transit"},
        [&](const std::string& key, const YAML::Node&, const YAML::Node& v, const std::string& p) {
          values.emplace(key, v);
          std::string& field = key == "source"        ? t.source
                               : key == "destination" ? t.destination
                                                      : t.transit;
          if (!readString(ctx, v, p, field)) return;
          if (auto valid = validateDomainId(field); !valid) {
            ctx.errors.add(v, p, valid.error());
            field.clear();
          }
        });
    if (!ok) continue;
    bool complete = true;
    for (const char* key : {"source", "destination", "transit"}) {
      auto it = values.find(key);
      if (it == values.end() || isAbsent(it->second)) {
        ctx.errors.add(node[i], keyPath(path, key), "is required");
        complete = false;
      }
    }
    if (!complete || t.source.empty() || t.destination.empty() || t.transit.empty()) continue;
    if (t.source == t.destination || t.transit == t.source || t.transit == t.destination) {
      ctx.errors.add(node[i], path, "source, destination and transit must be three domains");
      continue;
    }
    if (!self.empty() && self == t.source) {
      ctx.errors.add(node[i], path,
                     "this node is the source; its side is a route: - destination: " +
                         t.destination + ", transit: " + t.transit + " (under routes)");
      continue;
    }
    if (!self.empty() && self != t.transit && self != t.destination) {
      ctx.errors.add(node[i], path,
                     "this node (" + self + ") is neither the transit nor the destination");
      continue;
    }
    if (!seen.emplace(std::pair(t.source, t.destination), path).second) {
      ctx.errors.add(node[i], path,
                     "a transit route " + t.source + " -> " + t.destination +
                         " is already listed at " + seen[{t.source, t.destination}]);
      continue;
    }
    // Without a master, the relay's onward route and the tokens that prove who sent a request
    // can only come from this file.
    if (cfg.mode == Mode::Autonomy) {
      if (auto why = unsupportedTransit(cfg, t); !why.empty()) {
        ctx.errors.add(node[i], path, why);
        continue;
      }
    }
    out.push_back(std::move(t));
  }
}

}  // namespace kgate::conf::detail
