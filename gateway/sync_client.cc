#include "gateway/sync_client.h"

#include "certs/tls_context.h"
#include "conf/endpoint.h"
#include "gateway/upstream_pool.h"
#include "routes/route_table.h"

namespace kgate {
namespace {

awaitable<Result<SyncResponse>> exchange(UpstreamPool& pool, const SyncRequest& req,
                                         const routes::Upstream& up, SSL_CTX* tls,
                                         const std::string& path, Sweeper& sweeper,
                                         bool& retryable, bool fresh) {
  conf::Limits limits;
  limits.connectTimeout = std::chrono::duration_cast<conf::Seconds>(req.timeout);
  if (limits.connectTimeout.count() == 0) limits.connectTimeout = conf::Seconds(1);
  std::unique_ptr<ClientStream> stream;
  std::string detail;
  Error e = co_await pool.open(up, tls, limits,
                               fresh ? UpstreamPool::Reuse::Fresh : UpstreamPool::Reuse::Pooled,
                               stream, detail);
  if (e != Error::Ok) {
    retryable = e != Error::TlsFailed;
    co_return fail(detail.empty() ? std::string(toString(e)) : detail);
  }
  retryable = true;  // from here on, failures are the peer going away or timing out

  bool timedOut = false;
  Deadline deadline(sweeper, [&] {
    timedOut = true;
    stream->abort();
  });
  deadline.arm(req.timeout);
  auto failed = [&](std::string_view what, Error err) {
    return fail(std::string(what) + " " + req.url + ": " +
                (timedOut ? std::string("timed out") : std::string(toString(err))));
  };

  http::RequestHead head;
  head.method = req.method;
  head.path = path;
  head.scheme = up.endpoint.scheme;
  for (const auto& [name, value] : req.headers) {
    std::string n = name;
    http::toLower(n);
    if (n == "host") continue;  // became the upstream's Host in prepare()
    head.headers.add(n, value);
  }
  bool hasBody = !req.body.empty() || req.method == "POST" || req.method == "PUT";
  if (hasBody) head.contentLength = req.body.size();
  head.hasBody = hasBody;
  if ((e = co_await stream->writeHead(head, !hasBody)) != Error::Ok) co_return failed("send", e);
  if (hasBody && (e = co_await stream->writeBody(req.body, true)) != Error::Ok)
    co_return failed("send", e);
  http::ResponseHead resp;
  if ((e = co_await stream->readHead(resp)) != Error::Ok) co_return failed("read", e);
  SyncResponse out;
  out.status = resp.status;
  for (const auto& f : resp.headers) out.headers[f.name] = f.value;
  while (resp.hasBody) {
    http::BodyChunk chunk;
    if ((e = co_await stream->readBody(chunk)) != Error::Ok) co_return failed("read", e);
    if (out.body.size() + chunk.data.size() > req.maxBody)
      co_return fail("response from " + req.url + " is larger than " +
                     std::to_string(req.maxBody) + " bytes");
    out.body.append(chunk.data);
    if (chunk.last) break;
  }
  co_return out;
}

// What both forms need before the exchange: the upstream, the path and a TLS context.
struct Prepared {
  routes::Upstream upstream;
  std::string path;
  certs::SslContextPtr tls;
};

Result<Prepared> prepare(const SyncRequest& req) {
  auto endpoint = conf::parseEndpoint(req.url.substr(0, req.url.find('?')));
  if (!endpoint) return fail(endpoint.error());
  Prepared p;
  p.path = endpoint->pathPrefix.empty() ? "/" : endpoint->pathPrefix;
  if (auto q = req.url.find('?'); q != std::string::npos) p.path += req.url.substr(q);
  endpoint->pathPrefix.clear();
  p.upstream = routes::makeUpstream(*endpoint, conf::UpstreamProtocol::Http1, req.verifyPeer, "",
                                    req.serverName);
  // A Host the caller gives replaces the one from the URL (one Host header, never two).
  for (const auto& [name, value] : req.headers) {
    std::string n = name;
    http::toLower(n);
    if (n == "host") {
      p.upstream.hostHeader = value;
      p.upstream.poolKey += "|host=" + value;
    }
  }
  if (endpoint->tls()) {
    certs::ClientTlsOptions o;
    o.verifyPeer = req.verifyPeer;
    o.caPem = req.caPem;
    o.certChainPem = req.clientCertPem;
    o.keyPem = req.clientKeyPem;
    o.alpn = {"http/1.1"};
    auto made = certs::makeClientContext(o);
    if (!made) return fail("TLS setup for " + req.url + ": " + made.error());
    p.tls = *made;
    // Connections made with client certificates must not be shared with ones made without.
    p.upstream.poolKey += "|" + std::to_string(reinterpret_cast<uintptr_t>(p.tls.get()));
  }
  return p;
}

}  // namespace

awaitable<Result<SyncResponse>> httpRequestAsync(UpstreamPool& pool, Sweeper& sweeper,
                                                 const SyncRequest& req, bool* retryable) {
  if (retryable) *retryable = false;
  auto prepared = prepare(req);
  if (!prepared) co_return fail(prepared.error());
  bool retry = false;
  auto result = co_await exchange(pool, req, prepared->upstream,
                                  prepared->tls ? prepared->tls->native_handle() : nullptr,
                                  prepared->path, sweeper, retry, false);
  if (retryable && !result) *retryable = retry;
  co_return result;
}

Result<SyncResponse> httpRequest(const SyncRequest& req, bool* retryable) {
  bool retry = false;
  if (retryable) *retryable = false;
  auto prepared = prepare(req);
  if (!prepared) return fail(prepared.error());
  net::io_context io{1};
  Sweeper sweeper(io.get_executor(), std::chrono::milliseconds(20));
  sweeper.start();
  Result<SyncResponse> result = fail("request to " + req.url + " did not complete");
  {
    UpstreamPool pool(io.get_executor(), sweeper);
    net::co_spawn(
        io,
        [&]() -> awaitable<void> {
          result = co_await exchange(pool, req, prepared->upstream,
                                     prepared->tls ? prepared->tls->native_handle() : nullptr,
                                     prepared->path, sweeper, retry, true);
          pool.closeAll(true);
          sweeper.stop();
        },
        net::detached);
    io.run();
  }
  if (retryable && !result) *retryable = retry;
  return result;
}

std::string firstLineOf(const std::string& body, size_t max) {
  std::string line = body.substr(0, body.find('\n'));
  // resize + append rather than substr + "...": GCC 12 warns wrongly (-Warray-bounds) on that.
  if (line.size() > max) {
    line.resize(max);
    line.append("...");
  }
  return line;
}

}  // namespace kgate
