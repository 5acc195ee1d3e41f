#include "gateway/filters/router_filter.h"

#include "gateway/causes.h"

namespace kgate::filters {
namespace {

std::string notFound(std::string_view host) {
  return "Service \"" + std::string(host) + "\" not found.";
}

// Whether the peer proved its name: a source of a route without authentication (Kuscia's
// "noop") is whoever says so, and gets no right to speak for others.
bool sourceProven(const StreamContext& ctx) {
  const auth::TokenSet::Entry* e = ctx.snap.tokens->find(ctx.source);
  return e && !e->acceptAny;
}

// A peer's Kuscia-Origin-Source names someone else only when the peer relays for them: a
// transit route origin -> self through that peer. Anything else would let any peer speak to
// local services in another domain's name.
bool originRefused(StreamContext& ctx, const routes::RouteTable& table) {
  if (ctx.listener != ListenerKind::External) return false;
  auto& h = ctx.req.headers;
  std::string_view origin = h.get("kuscia-origin-source");
  if (origin.empty()) {
    h.remove("kuscia-origin-source");  // present but empty: a service would fall back on it
    return false;
  }
  if (origin == ctx.source) return false;
  const std::string named = "Kuscia-Origin-Source \"" + std::string(origin) + "\"";
  if (!sourceProven(ctx)) {
    ctx.reply(403, cause::kOriginRefused,
              named + " is not believed from " + ctx.source +
                  ", which is accepted without authentication");
    return true;
  }
  if (table.acceptsOrigin(origin, ctx.source)) return false;
  ctx.reply(403, cause::kOriginRefused,
            named + " is not relayed by " + ctx.source + ": no transit route " +
                std::string(origin) + "-" + table.self() + " through " + ctx.source);
  return true;
}

// On the external listener, a peer's request for another domain is relayed signed as this
// node, so only for what the master (or the config) made this node the transit of.
bool relayRefused(StreamContext& ctx, const routes::RouteTable& table, std::string_view service) {
  if (ctx.listener != ListenerKind::External) return false;
  const routes::PeerRoute& route = *ctx.route;
  std::string why;
  // Another gateway's handshakes and a master's control service act for whoever signed, so a
  // peer must not reach them as us (probes only echo, and transit probes need the relay).
  if (service == "kuscia-handshake" || service == "kgate-control") {
    why = "Service \"" + ctx.host + "\" is not relayed.";
  } else if (route.nextHop != route.destination) {
    // One hop, to the destination itself: routes through yet another domain could loop.
    why = "Service \"" + ctx.host + "\" is reached through " + route.nextHop +
          "; a relay goes one hop.";
  } else if (!sourceProven(ctx)) {
    why = ctx.source + " is accepted without authentication, and " + table.self() +
          " relays only for peers that prove who they are";
  } else if (!table.relays(ctx.source, route.destination)) {
    why = table.self() + " relays nothing from " + ctx.source + " to " + route.destination +
          ": no transit route " + ctx.source + "-" + route.destination + " through " + table.self();
  } else if (std::string_view origin = ctx.req.headers.get("kuscia-origin-source");
             !origin.empty() && origin != ctx.source) {
    why = "a relay carries its sender's own requests; Kuscia-Origin-Source \"" +
          std::string(origin) + "\" is not " + ctx.source;
  }
  if (why.empty()) return false;
  ctx.reply(403, cause::kRelayRefused, why);
  return true;
}

}  // namespace

FilterStatus RouterFilter::onRequest(StreamContext& ctx) {
  if (ctx.target == StreamContext::Target::Handshake) return FilterStatus::Continue;
  const auto& table = *ctx.snap.routes;
  auto parsed = routes::parseServiceHost(ctx.host);
  if (!parsed) {
    ctx.reply(404, cause::kRouteNotFound, notFound(ctx.host));
    return FilterStatus::Stop;
  }
  bool selfOrMaster = parsed->domain.empty() || parsed->domain == table.self() ||
                      (parsed->domain == "master" && ctx.snap.config->mode == conf::Mode::Master);
  if (selfOrMaster) {
    if (parsed->service == "kuscia-handshake") {
      ctx.target = StreamContext::Target::Handshake;
      return FilterStatus::Continue;
    }
    if (originRefused(ctx, table)) return FilterStatus::Stop;
    // The master's control service: authenticated lites fetch routes and report state.
    if (parsed->service == "kgate-control" && ctx.snap.config->mode == conf::Mode::Master &&
        ctx.listener == ListenerKind::External) {
      ctx.target = StreamContext::Target::Control;
      return FilterStatus::Continue;
    }
    // kgate-probe.<self>.svc: answered by kgate itself, after auth (kgate route probe).
    if (parsed->service == "kgate-probe") {
      ctx.target = StreamContext::Target::Probe;
      return FilterStatus::Continue;
    }
    ctx.service = table.service(parsed->service);
    if (!ctx.service) {
      ctx.reply(404, cause::kServiceNotFound, notFound(ctx.host));
      return FilterStatus::Stop;
    }
    ctx.target = StreamContext::Target::Service;
    return FilterStatus::Continue;
  }
  ctx.route = table.route(parsed->domain);
  if (!ctx.route) {
    ctx.reply(404, cause::kRouteNotFound, notFound(ctx.host));
    return FilterStatus::Stop;
  }
  if (relayRefused(ctx, table, parsed->service)) return FilterStatus::Stop;
  if (ctx.route->tokenRequired && ctx.route->token.empty()) {
    ctx.reply(503, cause::kRouteNotReady,
              "route " + table.self() + "-" + ctx.route->nextHop +
                  " has no token yet (handshake with " + ctx.route->nextHop + " pending)");
    return FilterStatus::Stop;
  }
  ctx.target = StreamContext::Target::Peer;
  if (ctx.listener == ListenerKind::Internal) ctx.peer = ctx.route->destination;
  auto& h = ctx.req.headers;
  h.set("kuscia-source", table.self());
  if (ctx.route->tokenRequired) h.set("kuscia-token", ctx.route->token);
  else h.remove("kuscia-token");
  h.set("kuscia-host", ctx.host);
  h.set("x-interconn-protocol", "kuscia");
  // A relay carries its sender's own requests (relayRefused saw to it): the origin is the sender.
  if (ctx.listener == ListenerKind::External) h.set("kuscia-origin-source", ctx.source);
  if (!ctx.route->pathPrefix.empty()) {
    ctx.originalPath = ctx.req.path;
    ctx.req.path = ctx.route->pathPrefix + ctx.req.path;
  }
  return FilterStatus::Continue;
}

}  // namespace kgate::filters
