#include "gateway/proxy.h"

#include <boost/json.hpp>
#include <ctime>

#include "gateway/causes.h"
#include "gateway/control/control_plane.h"
#include "gateway/event.h"
#include "gateway/filters/error_message_filter.h"
#include "gateway/filters/gress_filter.h"
#include "gateway/filters/router_filter.h"
#include "gateway/filters/token_auth_filter.h"
#include "gateway/log.h"
#include "gateway/spawn.h"

namespace kgate {
namespace {

// The route list with the probes waiting for that domain added.
std::string withProbes(const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& probes) {
  if (probes.empty()) return body;
  boost::system::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return body;
  boost::json::array list;
  for (const auto& [id, route] : probes) list.push_back(boost::json::object{{"id", id}, {"route", route}});
  doc.as_object()["probes"] = std::move(list);
  return boost::json::serialize(doc);
}

// Registration, handshake and control requests: a CSR, a JWT, a little JSON. Far less than this.
constexpr size_t kMaxControlBody = 64 * 1024;

// Status recorded (never sent) when the client went away before it could get an answer,
// as nginx does.
constexpr int kClientClosed = 499;

std::string jsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out.push_back(c);
  }
  return out;
}

// gRPC clients read the outcome from grpc-status, not the HTTP status.
int grpcStatusFor(int httpStatus) {
  switch (httpStatus) {
    case 401: return 16;             // UNAUTHENTICATED
    case 404: return 14;             // UNAVAILABLE, as Kuscia answers for an unknown service
    case 408: case 504: return 4;    // DEADLINE_EXCEEDED
    case 413: case 431: return 8;    // RESOURCE_EXHAUSTED
    case 502: case 503: return 14;   // UNAVAILABLE
    default: return 13;              // INTERNAL
  }
}

const std::string& httpDate() {
  thread_local time_t cachedAt = 0;
  thread_local std::string cached;
  time_t now = time(nullptr);
  if (now != cachedAt) {
    struct tm tm;
    gmtime_r(&now, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached = buf;
    cachedAt = now;
  }
  return cached;
}

struct OpenFailure {
  std::string_view cause;
  std::string_view kind;  // metric label
};

OpenFailure openFailure(Error e) {
  switch (e) {
    case Error::Resolve: return {cause::kResolveFailure, "resolve"};
    case Error::ConnectFailed: return {cause::kConnectFailure, "connect"};
    case Error::ConnectTimeout: return {cause::kConnectTimeout, "connect_timeout"};
    case Error::TlsFailed: return {cause::kTlsFailure, "tls"};
    default: return {cause::kUpstreamReset, "reset"};
  }
}

// Request-body pump state, shared by the two halves of a proxied exchange.
struct Pump {
  explicit Pump(const net::any_io_executor& ex) : finished(ex) {}
  bool done = false;
  bool sawLast = false;          // the whole request body was read from the client
  bool downstreamFailed = false; // the client reset or closed mid-body
  bool malformed = false;        // the client's body framing broke (a bad chunk size): 400
  bool tooLarge = false;         // over limits.maxBodyBytes
  Event finished;
};

awaitable<void> pumpRequest(ServerStream& ds, ClientStream& us, Pump& pump, Deadline& idle,
                            Clock::duration idleTimeout, uint64_t maxBody) {
  uint64_t total = 0;
  for (;;) {
    http::BodyChunk chunk;
    if (Error e = co_await ds.readBody(chunk); e != Error::Ok) {
      (e == Error::Protocol ? pump.malformed : pump.downstreamFailed) = true;
      us.abort();
      break;
    }
    idle.arm(idleTimeout);
    total += chunk.data.size();
    if (maxBody && total > maxBody) {
      pump.tooLarge = true;
      us.abort();
      break;
    }
    if (chunk.last) pump.sawLast = true;
    if (co_await us.writeBody(chunk.data, chunk.last) != Error::Ok) break;  // response side reports
    idle.arm(idleTimeout);
    if (chunk.last) break;
  }
  pump.done = true;
  pump.finished.notify();
}

}  // namespace

Proxy::Proxy(WorkerContext& worker, ListenerKind kind) : worker_(worker), kind_(kind) {
  filters_.push_back(std::make_unique<filters::GressFilter>(kind));
  if (kind == ListenerKind::External) filters_.push_back(std::make_unique<filters::TokenAuthFilter>());
  filters_.push_back(std::make_unique<filters::RouterFilter>());
  filters_.push_back(std::make_unique<filters::ErrorMessageFilter>());
}

awaitable<void> Proxy::serve(ServerStream& stream) {
  std::shared_ptr<const Snapshot> snap = worker_.snapshot;  // this stream keeps its snapshot
  StreamContext ctx(*snap, stream);
  for (auto& f : filters_)
    if (f->onRequest(ctx) == FilterStatus::Stop) break;
  if (ctx.local) {
    if (ctx.status == 401) worker_.stats.onAuthFailure(ctx.cause);
    co_await sendError(ctx);
  } else if (ctx.target == StreamContext::Target::Handshake) {
    co_await serveHandshake(ctx);
  } else if (ctx.target == StreamContext::Target::Control) {
    co_await serveControl(ctx);
  } else if (ctx.target == StreamContext::Target::Probe) {
    // `kgate route probe` ends here: the request reached this node and passed its auth.
    ctx.status = 200;
    ctx.cause = cause::kLocal;
    boost::json::object o{{"domain", ctx.snap.self()},
                          {"source", ctx.source},
                          {"originSource", std::string(ctx.req.headers.get("kuscia-origin-source"))}};
    co_await sendLocal(ctx, "application/json", boost::json::serialize(o) + "\n");
  } else {
    co_await forward(ctx);
  }
  finish(ctx);
}

awaitable<void> Proxy::reject(ServerStream& stream, int status, std::string_view cause) {
  std::shared_ptr<const Snapshot> snap = worker_.snapshot;
  StreamContext ctx(*snap, stream);
  std::string host(http::stripPort(ctx.req.authority));
  http::toLower(host);
  ctx.originalHost = ctx.host = host;
  ctx.reply(status, cause);
  co_await sendError(ctx);
  finish(ctx);
}

awaitable<void> Proxy::sendError(StreamContext& ctx) {
  std::string body;
  const conf::Config& c = *ctx.snap.config;
  if (ctx.status == 401) {
    body = "{\"domain\":\"" + jsonEscape(c.domainID) + "\",\"instance\":\"" +
           jsonEscape(c.instance) + "\",\"kuscia\":\"v" + std::string(kVersion) +
           "\",\"reason\":\"unauthorized.\"}\n";
  } else if (ctx.status == 404) {
    // Empty, as Kuscia's: the reason is in kuscia-error-message.
  } else if (ctx.cause == cause::kStreamIdleTimeout) {
    body = "stream timeout\n";
  } else if (ctx.status == 502 || ctx.status == 503) {
    body = "upstream connect error or disconnect/reset before headers. reset reason: " +
           std::string(ctx.cause) + "\n";
  } else {
    body = (ctx.message.empty() ? std::string(http::reasonPhrase(ctx.status)) : ctx.message) + "\n";
  }
  co_await sendLocal(ctx, "text/plain", std::move(body));
}

awaitable<void> Proxy::sendLocal(StreamContext& ctx, std::string contentType, std::string body) {
  ctx.local = true;
  if (ctx.ds.headWritten()) {
    ctx.ds.abort();  // too late for a status: cut the response short instead
    co_return;
  }
  http::ResponseHead head;
  head.status = ctx.status;
  head.headers.add("content-type", contentType);
  head.headers.add("date", httpDate());
  if (ctx.status >= 400 && ctx.req.headers.get("content-type").starts_with("application/grpc")) {
    head.headers.add("grpc-status", std::to_string(grpcStatusFor(ctx.status)));
    head.headers.add("grpc-message", ctx.message.empty() ? std::string(http::reasonPhrase(ctx.status))
                                                         : ctx.message);
  }
  head.contentLength = body.size();
  for (auto it = filters_.rbegin(); it != filters_.rend(); ++it) (*it)->onResponse(ctx, head);
  bool noBody = body.empty() || ctx.req.method == "HEAD";
  if (co_await ctx.ds.writeHead(head, noBody) != Error::Ok) co_return;
  if (!noBody) co_await ctx.ds.writeBody(body, true);
}

awaitable<void> Proxy::serveRegister(StreamContext& ctx) {
  if (!worker_.authority) {
    ctx.reply(404, cause::kRouteNotFound, "registration is served by the master, not by " +
                                              ctx.snap.self());
    co_await sendError(ctx);
    co_return;
  }
  if (ctx.req.method != "POST") {
    ctx.reply(405, cause::kBadRequest, "use POST /register");
    co_await sendError(ctx);
    co_return;
  }
  std::string body;
  if (!co_await readSmallBody(ctx, body)) co_return;
  std::string jwt(ctx.req.headers.get("jwt-token"));
  std::string peerIp = ctx.ds.connection().peerIp;
  auth::Authority* authority = worker_.authority;
  // The authority and its store belong to the control thread: run there, resume here.
  auth::Reply reply = co_await net::co_spawn(
      worker_.control,
      [&]() -> awaitable<auth::Reply> { co_return authority->registerLite(body, jwt, peerIp); },
      net::use_awaitable);
  if (reply.status == 200) {
    ctx.status = 200;
    ctx.cause = cause::kLocal;
    co_await sendLocal(ctx, "application/json", std::move(reply.body));
    co_return;
  }
  if (!reply.detail.empty())
    KGATE_LOG(Warn, "register from " << peerIp << ": " << reply.message << ": " << reply.detail);
  ctx.reply(reply.status, cause::intern(reply.cause, cause::kBadRequest), reply.message);
  // The reason in a one-line body too, as Kuscia's register errors are text.
  co_await sendLocal(ctx, "text/plain", reply.message + "\n");
}

awaitable<void> Proxy::serveHandshake(StreamContext& ctx) {
  std::string_view path = ctx.req.path;
  path = path.substr(0, path.find('?'));
  if (path == "/register") {
    co_await serveRegister(ctx);
    co_return;
  }
  if (path != "/handshake") {
    ctx.reply(404, cause::kRouteNotFound, "404 page not found");
    co_await sendError(ctx);
    co_return;
  }
  ControlPlane* control = worker_.controlPlane;
  if (ctx.req.method == "GET") {
    // Heartbeat: Kuscia's state codes, answered by the control plane that holds the tokens.
    const auto& h = ctx.req.headers;
    std::string source(h.get("kuscia-origin-source"));
    if (source.empty()) source = std::string(h.get("kuscia-source"));
    std::string revision(h.get("kuscia-token-revision"));
    std::string token(h.get("kuscia-token"));
    std::string answer = co_await net::co_spawn(
        worker_.control,
        [&]() -> awaitable<std::string> {
          co_return control->handleHeartbeat(source, revision, token);
        },
        net::use_awaitable);
    ctx.status = 200;
    ctx.cause = cause::kLocal;
    co_await sendLocal(ctx, "application/json", std::move(answer));
    co_return;
  }
  // Any other method is the RSA-GEN token exchange, as in Kuscia.
  std::string body;
  if (!co_await readSmallBody(ctx, body)) co_return;
  std::string peerIp = ctx.ds.connection().peerIp;
  std::string signature(ctx.req.headers.get("kgate-handshake-signature"));
  auto answer = co_await net::co_spawn(
      worker_.control,
      [&]() -> awaitable<ControlPlane::HttpAnswer> {
        co_return co_await control->handleHandshake(std::move(body), std::move(signature),
                                                    std::move(peerIp));
      },
      net::use_awaitable);
  ctx.status = answer.status;
  ctx.cause = answer.status == 200 ? cause::kLocal : cause::kBadRequest;
  if (answer.status != 200) {
    auto why = answer.status == 429 ? cause::kHandshakeRateLimited : cause::kBadRequest;
    ctx.reply(answer.status, why, answer.body.substr(0, answer.body.find('\n')));
  }
  co_await sendLocal(ctx, answer.contentType, std::move(answer.body));
}

awaitable<bool> Proxy::readSmallBody(StreamContext& ctx, std::string& body) {
  for (;;) {
    http::BodyChunk chunk;
    if (co_await ctx.ds.readBody(chunk) != Error::Ok) co_return false;  // the client went away
    if (body.size() + chunk.data.size() > kMaxControlBody) {
      ctx.reply(413, cause::kRequestTooLarge, "request body over 64 KiB");
      co_await sendError(ctx);
      co_return false;
    }
    body.append(chunk.data);
    if (chunk.last) co_return true;
  }
}

awaitable<void> Proxy::serveControl(StreamContext& ctx) {
  std::string_view path = ctx.req.path;
  path = path.substr(0, path.find('?'));
  auth::Authority* authority = worker_.authority;
  std::string source = ctx.source;  // authenticated by its route token
  auth::Reply reply;
  ControlPlane* control = worker_.controlPlane;
  if (path == "/api/v1/lite/routes" && ctx.req.method == "GET") {
    reply = co_await net::co_spawn(
        worker_.control,
        [&]() -> awaitable<auth::Reply> {
          auth::Reply r = authority->routesFor(source);
          if (r.status == 200) r.body = withProbes(r.body, control->pendingProbes(source));
          co_return r;
        },
        net::use_awaitable);
  } else if (path == "/api/v1/lite/probe" && ctx.req.method == "POST") {
    std::string body;
    if (!co_await readSmallBody(ctx, body)) co_return;
    reply = co_await net::co_spawn(
        worker_.control,
        [&]() -> awaitable<auth::Reply> {
          boost::system::error_code ec;
          auto doc = boost::json::parse(body, ec);
          const boost::json::object* o = ec ? nullptr : doc.if_object();
          const boost::json::value* id = o ? o->if_contains("id") : nullptr;
          const boost::json::value* steps = o ? o->if_contains("steps") : nullptr;
          if (!id || !id->is_string() || !steps || !steps->is_array())
            co_return auth::Reply{400, "", "expected {\"id\", \"steps\": [...]}", "", ""};
          if (!control->completeProbe(source, std::string(id->as_string()),
                                      boost::json::serialize(*steps)))
            co_return auth::Reply{404, "", "no such probe for " + source, "", ""};
          co_return auth::Reply{200, "{}\n", "", "", ""};
        },
        net::use_awaitable);
  } else if (path == "/api/v1/lite/report" && ctx.req.method == "POST") {
    std::string body;
    if (!co_await readSmallBody(ctx, body)) co_return;
    reply = co_await net::co_spawn(
        worker_.control,
        [&]() -> awaitable<auth::Reply> { co_return authority->acceptReport(source, body); },
        net::use_awaitable);
  } else {
    ctx.reply(404, cause::kRouteNotFound, "no such control endpoint: " + std::string(path));
    co_await sendError(ctx);
    co_return;
  }
  if (reply.status == 200) {
    ctx.status = 200;
    ctx.cause = cause::kLocal;
    co_await sendLocal(ctx, "application/json", std::move(reply.body));
    co_return;
  }
  ctx.reply(reply.status, cause::intern(reply.cause, cause::kBadRequest), reply.message);
  co_await sendError(ctx);
}

awaitable<void> Proxy::forward(StreamContext& ctx) {
  const routes::Upstream& up =
      ctx.target == StreamContext::Target::Service ? ctx.service->upstream : ctx.route->upstream;
  const conf::Limits& limits = ctx.snap.config->limits;
  Clock::duration idleTimeout = limits.streamIdleTimeout;
  if (ctx.route && ctx.route->streamIdleTimeout) idleTimeout = *ctx.route->streamIdleTimeout;
  if (limits.maxBodyBytes && ctx.req.contentLength && *ctx.req.contentLength > limits.maxBodyBytes) {
    ctx.reply(413, cause::kRequestTooLarge);
    co_await sendError(ctx);
    co_return;
  }

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<ClientStream> us;
    std::string detail;
    if (accessLog().enabled()) ctx.upstreamStart = Clock::now();  // for its upstream time only
    auto reuse = attempt > 0 ? UpstreamPool::Reuse::Fresh : UpstreamPool::Reuse::Pooled;
    Error e = co_await worker_.pool.open(up, ctx.snap.tlsFor(up), limits, reuse, us, detail);
    if (e != Error::Ok) {
      auto f = openFailure(e);
      worker_.stats.onUpstreamFailure(ctx.peer, f.kind);
      KGATE_LOG(Warn, "upstream " << up.endpoint.url() << " for " << ctx.host << ": " << detail);
      ctx.reply(503, f.cause);
      co_await sendError(ctx);
      co_return;
    }
    ctx.upstreamProtocol = us->protocol();

    // Torn down from outside (drain deadline, client reset): stop the upstream leg as well.
    ctx.ds.setCanceller([&] {
      us->abort();
      ctx.ds.abort();
    });
    struct ClearCanceller {
      ServerStream& ds;
      ~ClearCanceller() { ds.setCanceller(nullptr); }
    } clearCanceller{ctx.ds};

    // The idle deadline's callback reaches what it needs through one pointer: a std::function
    // holds a callable that small without allocating, and this one is made per request.
    struct Leg {
      std::unique_ptr<ClientStream>& us;
      ServerStream& ds;
      bool timedOut = false;
    } leg{us, ctx.ds};
    bool& timedOut = leg.timedOut;
    Deadline idle(worker_.sweeper, [&leg] {
      leg.timedOut = true;
      leg.us->abort();
      if (leg.ds.headWritten()) leg.ds.abort();
    });
    idle.arm(idleTimeout);

    bool hasBody = ctx.req.hasBody;
    Pump pump(worker_.executor);
    // Stops the request body when nothing more of it is needed and it is still on its way.
    auto stopPump = [&] {
      if (!pump.done && !pump.sawLast) {
        us->abort();
        ctx.ds.abort();
      }
    };

    Error head = co_await us->writeHead(ctx.req, !hasBody);
    if (head == Error::Ok && hasBody) {
      spawn(worker_.executor, pumpRequest(ctx.ds, *us, pump, idle, idleTimeout, limits.maxBodyBytes),
            "request body");
    } else {
      pump.done = true;
    }

    http::ResponseHead resp;
    if (head == Error::Ok) head = co_await us->readHead(resp);
    if (head != Error::Ok) {
      us->abort();
      bool retry = attempt == 0 && us->reused() && !hasBody && !timedOut &&
                   (head == Error::PeerClosed);
      if (retry) {
        while (!pump.done) co_await pump.finished.wait();
        continue;  // a pooled connection the upstream had closed: once more on a fresh one
      }
      if (pump.downstreamFailed) {
        ctx.status = kClientClosed;
        ctx.cause = cause::kDownstreamReset;
      } else if (pump.malformed) {
        // RFC 9112 section 7.1: the client's framing cannot be trusted; the HTTP/1.1 codec
        // closes the connection after this answer, as the body was not read to its end.
        ctx.reply(400, cause::kBadRequest);
        co_await sendError(ctx);
      } else if (pump.tooLarge) {
        ctx.reply(413, cause::kRequestTooLarge);
        co_await sendError(ctx);
      } else if (timedOut) {
        ctx.reply(pump.sawLast || !hasBody ? 504 : 408, cause::kStreamIdleTimeout);
        co_await sendError(ctx);
      } else {
        worker_.stats.onUpstreamFailure(ctx.peer, "reset");
        ctx.reply(head == Error::Protocol ? 502 : 503,
                  head == Error::Protocol ? cause::kUpstreamProtocol : cause::kUpstreamReset);
        co_await sendError(ctx);
      }
      stopPump();
      while (!pump.done) co_await pump.finished.wait();
      co_return;
    }

    ctx.upstreamHeaders = Clock::now();
    idle.armAt(ctx.upstreamHeaders + idleTimeout);  // one clock read for both
    ctx.status = resp.status;
    ctx.cause = cause::kViaUpstream;
    for (auto it = filters_.rbegin(); it != filters_.rend(); ++it) (*it)->onResponse(ctx, resp);
    bool end = !resp.hasBody;
    if (co_await ctx.ds.writeHead(resp, end) != Error::Ok) {
      ctx.cause = cause::kDownstreamReset;
      us->abort();
      ctx.ds.abort();
      end = true;
    }
    while (!end) {
      http::BodyChunk chunk;
      if (co_await us->readBody(chunk) != Error::Ok) {
        ctx.cause = timedOut ? cause::kStreamIdleTimeout : cause::kUpstreamResetAfterResponse;
        if (!timedOut) worker_.stats.onUpstreamFailure(ctx.peer, "reset");
        ctx.ds.abort();
        break;
      }
      idle.arm(idleTimeout);
      Error w;
      if (chunk.trailers) {
        w = chunk.data.empty() ? Error::Ok : co_await ctx.ds.writeBody(chunk.data, false);
        if (w == Error::Ok) w = co_await ctx.ds.writeTrailers(*chunk.trailers);
      } else {
        w = co_await ctx.ds.writeBody(chunk.data, chunk.last);
      }
      if (w != Error::Ok) {
        ctx.cause = timedOut ? cause::kStreamIdleTimeout : cause::kDownstreamReset;
        us->abort();
        ctx.ds.abort();
        break;
      }
      end = chunk.last;
      // After the last write only the request body's pump may still run, and it re-arms the
      // deadline before each of its writes upstream (pumpRequest).
      if (!end) idle.arm(idleTimeout);
    }
    stopPump();
    while (!pump.done) co_await pump.finished.wait();
    co_return;
  }
}

void Proxy::finish(StreamContext& ctx) {
  auto now = Clock::now();
  double seconds = std::chrono::duration<double>(now - ctx.start).count();
  int status = ctx.status ? ctx.status : kClientClosed;
  if (ctx.cause.empty()) ctx.cause = cause::kDownstreamReset;
  worker_.stats.onRequest(kind_, ctx.peer, status, ctx.cause, seconds);
  worker_.stats.onBytes(kind_, ctx.ds.bodyBytesRead(), ctx.ds.bodyBytesWritten());
  AccessLogBuffer& log = accessLog();
  if (!log.enabled()) return;
  AccessRecord r;
  r.peerIp = ctx.ds.connection().peerIp;
  r.source = ctx.source;
  r.host = ctx.host;
  r.method = ctx.req.method;
  r.path = ctx.originalPath.empty() ? ctx.req.path : ctx.originalPath;
  r.protocol = ctx.req.version == 20 ? "HTTP/2" : ctx.req.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  r.traceId = ctx.traceId;
  r.spanId = ctx.spanId;
  r.status = status;
  r.cause = ctx.cause;
  r.requestBytes = ctx.ds.bodyBytesRead();
  r.responseBytes = ctx.ds.bodyBytesWritten();
  r.durationMs = seconds * 1000;
  // upstreamStart is read only when the log is on: without it there is no upstream time.
  if (ctx.upstreamHeaders != Clock::time_point{} && ctx.upstreamStart != Clock::time_point{})
    r.upstreamMs = std::chrono::duration<double, std::milli>(ctx.upstreamHeaders - ctx.upstreamStart).count();
  r.upstreamProtocol = ctx.upstreamProtocol;
  log.add(r);
}

}  // namespace kgate
