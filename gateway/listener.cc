#include "gateway/listener.h"

#include "gateway/balancer.h"
#include "gateway/h1/server_connection.h"
#include "gateway/h2/server_session.h"
#include "gateway/log.h"
#include "gateway/spawn.h"

namespace kgate {
namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Counts a connection for the node-wide limit and the open-connections gauge while it lives,
// and uncounts it from the worker's load (counted when the balancer placed it).
class ConnectionSlot {
 public:
  ConnectionSlot(AcceptEnv& env, ListenerKind kind) : env_(env), kind_(kind) {
    if (env_.nodeConnections) env_.nodeConnections->fetch_add(1, std::memory_order_relaxed);
    if (env_.stats) env_.stats->connectionOpened(kind_);
  }
  ~ConnectionSlot() {
    if (env_.nodeConnections) env_.nodeConnections->fetch_sub(1, std::memory_order_relaxed);
    if (env_.stats) env_.stats->connectionClosed(kind_);
    if (env_.load) env_.load->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  AcceptEnv& env_;
  ListenerKind kind_;
};

// Reads until the buffer either holds the HTTP/2 preface or cannot be it.
awaitable<bool> sniffHttp2(Transport& t, ReadBuffer& buf) {
  for (;;) {
    std::string_view have = buf.data();
    size_t n = std::min(have.size(), kPreface.size());
    if (have.substr(0, n) != kPreface.substr(0, n)) co_return false;
    if (n == kPreface.size()) co_return true;
    auto space = buf.prepare(4096, 64 * 1024);
    auto [ec, got] = co_await t.readSome(space.data(), space.size());
    if (ec) co_return false;
    buf.commit(got);
  }
}

}  // namespace

// The socket's TCP_NODELAY and TCP_NOTSENT_LOWAT come from the listener (bindAcceptor), and
// the peer's address from accept: no syscall here for either.
awaitable<void> serveConnection(tcp::socket socket, tcp::endpoint peer, ListenerSpec spec,
                                AcceptEnv& env) {
  ConnectionSlot slot(env, spec.kind);
  std::unique_ptr<Transport> transport =
      spec.tls ? std::make_unique<Transport>(std::move(socket), spec.tls, Transport::Role::Server)
               : std::make_unique<Transport>(std::move(socket), false);
  // Built in place, not from copies: this frame lives as long as the connection.
  ConnectionEnv cenv{env.sweeper, env.registry, *spec.handler, env.limits(), {}, env.stats};
  const conf::Limits& limits = cenv.limits;
  cenv.info.listener = spec.kind;
  cenv.info.tls = spec.tls != nullptr;
  cenv.info.peerIp = peer.address().to_string();
  const ConnectionInfo& info = cenv.info;
  // A client that stops reading what it is sent is dropped, whatever it is being sent.
  transport->setSendTimeout(env.sweeper, limits.sendTimeout, [stats = env.stats, kind = spec.kind] {
    if (stats) stats->onDownstreamTimeout(kind, "send");
  });
  ReadBuffer buf;
  bool h2 = false;
  {
    // A client that will not finish its TLS handshake or send a first byte is dropped.
    Deadline deadline(env.sweeper, [&] {
      cenv.countTimeout("header");
      transport->close();
    });
    deadline.arm(limits.headerTimeout);
    if (spec.tls) {
      std::string why;
      if (auto ec = co_await transport->handshake(&why)) {
        KGATE_LOG(Debug, toString(spec.kind) << " listener: TLS handshake with " << info.peerIp
                                             << " failed: " << why);
        co_return;
      }
    }
    cenv.info.clientCertVerified = transport->peerCertificateVerified();
    cenv.info.clientName = transport->verifiedPeerName();
    std::string alpn = transport->alpn();
    if (alpn == "h2") {
      h2 = spec.http2;
    } else if (spec.http2 && alpn.empty()) {
      if (co_await transport->waitReadable(true)) co_return;
      cenv.firstByteAt = Clock::now();  // the request head's time starts here (headerTimeout)
      h2 = co_await sniffHttp2(*transport, buf);
      if (!transport->isOpen()) co_return;
    }
  }
  if (h2) {
    auto session = std::make_shared<h2::ServerSession>(std::move(transport), std::move(cenv));
    co_await session->serve(std::move(buf));
  } else {
    // On the heap, not in this frame: a coroutine frame keeps room for every local of every
    // branch for the connection's whole life, and ~700 bytes per connection still in its TLS
    // handshake or due its first byte (or speaking HTTP/2) would be spent for nothing.
    auto conn = std::make_unique<h1::ServerConnection>(std::move(transport), std::move(buf),
                                                       std::move(cenv));
    co_await conn->run();
  }
}

awaitable<void> acceptLoop(tcp::acceptor& acceptor, ListenerSpec spec, AcceptEnv& env) {
  auto ex = acceptor.get_executor();
  net::steady_timer backoff(ex);
  tcp::endpoint peer;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(peer, kUseTuple);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) break;
      // Out of descriptors or memory: pause instead of spinning; connections wait in the backlog.
      KGATE_LOG(Warn, toString(spec.kind) << " listener: accept failed: " << ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(kUseTuple);
      continue;
    }
    if (env.nodeConnections &&
        env.nodeConnections->load(std::memory_order_relaxed) >= env.limits().maxConnections) {
      error_code ignored;
      socket.close(ignored);  // over limits.maxConnections: refuse at once
      continue;
    }
    if (env.balancer && env.balancer->place(env.worker, spec.kind, socket, peer))
      continue;  // another worker's now
    spawn(ex, serveConnection(std::move(socket), peer, spec, env), "connection");
  }
}

}  // namespace kgate
