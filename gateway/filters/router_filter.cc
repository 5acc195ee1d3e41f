#include "gateway/filters/router_filter.h"

#include "gateway/causes.h"

namespace kgate::filters {
namespace {

std::string notFound(std::string_view host) {
  return "Service \"" + std::string(host) + "\" not found.";
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
  if (ctx.listener == ListenerKind::External) {
    // A peer's request relayed on is signed as this node. Another gateway's handshakes and a
    // master's control service act for whoever signed, so a peer must not reach them as us
    // (probes only echo, and transit probes need the relay); and a relay goes one hop, to the
    // destination itself (a route through yet another domain could loop back).
    if (parsed->service == "kuscia-handshake" || parsed->service == "kgate-control") {
      ctx.reply(403, cause::kRelayRefused, "Service \"" + ctx.host + "\" is not relayed.");
      return FilterStatus::Stop;
    }
    if (ctx.route->nextHop != ctx.route->destination) {
      ctx.reply(403, cause::kRelayRefused,
                "Service \"" + ctx.host + "\" is reached through " + ctx.route->nextHop +
                    "; a relay goes one hop.");
      return FilterStatus::Stop;
    }
  }
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
  // A transit hop keeps the original requester; a peer that did not say who it was is it.
  if (ctx.listener == ListenerKind::External) h.setIfAbsent("kuscia-origin-source", ctx.source);
  if (!ctx.route->pathPrefix.empty()) {
    ctx.originalPath = ctx.req.path;
    ctx.req.path = ctx.route->pathPrefix + ctx.req.path;
  }
  return FilterStatus::Continue;
}

}  // namespace kgate::filters
