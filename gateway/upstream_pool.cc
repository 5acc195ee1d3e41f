#include "gateway/upstream_pool.h"

#include <boost/asio/ip/address.hpp>

#include "gateway/h1/client_connection.h"
#include "gateway/h2/client_session.h"
#include "gateway/spawn.h"
#include "gateway/transport.h"

namespace kgate {
namespace {

// Idle HTTP/1.1 connections kept per upstream and worker; beyond this a finished one is closed.
// It must cover the worker's peak concurrency to that upstream: a lower cap closes and reopens
// connections under steady load (at 128, a 640-stream h2 load spent a third of its CPU on
// connect and close). Idle ones still go after upstreamIdleTimeout.
constexpr size_t kMaxIdlePerUpstream = 1024;
constexpr auto kReapEvery = std::chrono::seconds(1);

}  // namespace

UpstreamPool::UpstreamPool(net::any_io_executor ex, Sweeper& sweeper)
    : ex_(std::move(ex)), sweeper_(sweeper), reaper_(sweeper, [this] { reap(); }) {
  reaper_.arm(kReapEvery);
}

UpstreamPool::~UpstreamPool() { closeAll(true); }

void UpstreamPool::reap() {
  auto now = sweeper_.now();  // this runs in the sweep, which has just read the clock
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto& e = it->second;
    std::erase_if(e.idle, [&](Idle& i) {
      if (now - i.since < idleTimeout_) return false;
      i.conn->transport().close(true);
      return true;
    });
    std::erase_if(e.sessions, [](auto& s) { return !s->alive(); });
    it = (e.idle.empty() && e.sessions.empty()) ? entries_.erase(it) : std::next(it);
  }
  if (!closed_) reaper_.arm(kReapEvery);
}

void UpstreamPool::closeAll(bool now) {
  closed_ = true;
  reaper_.disarm();
  for (auto& [key, e] : entries_) {
    for (auto& i : e.idle) i.conn->transport().close(true);
    for (auto& s : e.sessions) {
      if (now) s->kill();
      else s->goAway();
    }
  }
  entries_.clear();
}

size_t UpstreamPool::idleConnections() const {
  size_t n = 0;
  for (const auto& [key, e] : entries_) n += e.idle.size();
  return n;
}

std::unique_ptr<ClientStream> UpstreamPool::exchange(std::unique_ptr<h1::ClientConnection> conn,
                                                     const routes::Upstream& u,
                                                     const conf::Limits& limits) {
  // Only `this`: the connection knows its pool entry, and a capture this small needs no
  // allocation for the std::function.
  auto release = [this](std::unique_ptr<h1::ClientConnection> c) {
    auto& idle = entries_[c->poolKey()].idle;
    if (closed_ || idle.size() >= kMaxIdlePerUpstream) {
      c->transport().close(true);
      return;
    }
    // A pooled connection keeps at most a head-sized read buffer (a body's can reach 128 KiB):
    // freeing and allocating that much for every exchange went through jemalloc's slow path,
    // ~1.6k instructions each, when hundreds of connections cycle through the pool.
    c->buffer().release(h1::kHeadReadSize);
    if (c->headBuffer().capacity() > h1::kHeadReadSize) std::string().swap(c->headBuffer());
    idle.push_back(Idle{std::move(c), sweeper_.now()});
  };
  return std::make_unique<h1::ClientExchange>(std::move(conn), u.hostHeader, std::move(release),
                                              limits.maxHeaderBytes, limits.maxHeaderCount);
}

awaitable<Error> UpstreamPool::open(const routes::Upstream& u, SSL_CTX* tls,
                                    const conf::Limits& limits, Reuse reuse,
                                    std::unique_ptr<ClientStream>& out, std::string& detail) {
  idleTimeout_ = limits.upstreamIdleTimeout;
  if (closed_) co_return Error::Aborted;
  if (reuse != Reuse::Fresh) {
    auto it = entries_.find(u.poolKey);
    if (it != entries_.end()) {
      auto& e = it->second;
      std::erase_if(e.sessions, [](auto& s) { return !s->alive(); });
      for (auto& s : e.sessions) {
        if (s->canOpen()) {
          out = s->openStream();
          co_return Error::Ok;
        }
      }
      // Most recently returned first: the one least likely to have been closed by the peer.
      while (!e.idle.empty()) {
        auto conn = std::move(e.idle.back().conn);
        e.idle.pop_back();
        if (conn->reusable()) {
          out = exchange(std::move(conn), u, limits);
          co_return Error::Ok;
        }
        conn->transport().close();
      }
    }
  }
  std::unique_ptr<Transport> transport;
  Error e = co_await connect(u, tls, limits, transport, detail);
  if (e != Error::Ok) co_return e;
  if (closed_) co_return Error::Aborted;
  bool h2 = transport->isTls() ? transport->alpn() == "h2"
                               : u.protocol == conf::UpstreamProtocol::Http2;
  if (h2) {
    h2::SessionOptions opts{100, limits.streamWindowBytes, limits.maxHeaderBytes,
                            limits.maxHeaderCount, limits.upstreamIdleTimeout};
    auto session = std::make_shared<h2::ClientSession>(std::move(transport), sweeper_, opts,
                                                       u.hostHeader, u.endpoint.scheme);
    spawn(ex_, session->run(ReadBuffer{}), "upstream http2 session");
    entries_[u.poolKey].sessions.push_back(session);
    out = session->openStream();
    co_return Error::Ok;
  }
  out = exchange(std::make_unique<h1::ClientConnection>(std::move(transport), u.poolKey), u,
                 limits);
  co_return Error::Ok;
}

awaitable<Error> UpstreamPool::connect(const routes::Upstream& u, SSL_CTX* tls,
                                       const conf::Limits& limits,
                                       std::unique_ptr<Transport>& out, std::string& detail) {
  bool timedOut = false;
  tcp::resolver resolver(ex_);
  tcp::socket socket(ex_);
  Transport* pending = nullptr;
  Deadline deadline(sweeper_, [&] {
    timedOut = true;
    resolver.cancel();
    error_code ignored;
    socket.close(ignored);
    if (pending) pending->close();
  });
  deadline.arm(limits.connectTimeout);

  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  auto addr = net::ip::make_address(u.endpoint.host, ec);
  if (!ec) {
    endpoints.emplace_back(addr, u.endpoint.port);
  } else {
    auto [rec, results] = co_await resolver.async_resolve(
        u.endpoint.host, std::to_string(u.endpoint.port), kUseTuple);
    if (rec || results.empty()) {
      detail = "resolve " + u.endpoint.host + ": " + (timedOut ? "timed out" : rec.message());
      co_return timedOut ? Error::ConnectTimeout : Error::Resolve;
    }
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }

  error_code cec = net::error::host_unreachable;
  for (const auto& ep : endpoints) {
    if (timedOut) break;
    error_code ignored;
    if (socket.is_open()) socket.close(ignored);
    auto [connEc] = co_await socket.async_connect(ep, kUseTuple);
    cec = connEc;
    if (!cec) break;
  }
  if (cec || timedOut) {
    detail = "connect " + u.endpoint.host + ":" + std::to_string(u.endpoint.port) + ": " +
             (timedOut ? "timed out" : cec.message());
    co_return timedOut ? Error::ConnectTimeout : Error::ConnectFailed;
  }
  error_code ignored;
  socket.set_option(net::socket_base::keep_alive(true), ignored);

  std::unique_ptr<Transport> t;
  if (u.endpoint.tls()) {
    if (!tls) {
      detail = "no TLS context for " + u.endpoint.url();
      co_return Error::TlsFailed;
    }
    t = std::make_unique<Transport>(std::move(socket), tls, Transport::Role::Client);
    if (!t->setPeerName(u.sni.empty() ? u.endpoint.host : u.sni, u.verifyPeer)) {
      detail = "cannot set the TLS peer name for " + u.endpoint.url();
      co_return Error::TlsFailed;
    }
    pending = t.get();
    std::string why;
    if (auto hec = co_await t->handshake(&why)) {
      detail = "TLS handshake with " + u.endpoint.host + ":" + std::to_string(u.endpoint.port) +
               ": " + (timedOut ? std::string("timed out") : why);
      co_return timedOut ? Error::ConnectTimeout : Error::TlsFailed;
    }
  } else {
    t = std::make_unique<Transport>(std::move(socket));
  }
  deadline.disarm();
  out = std::move(t);
  co_return Error::Ok;
}

}  // namespace kgate
