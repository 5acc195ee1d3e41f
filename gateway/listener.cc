#include "gateway/listener.h"

#include <optional>

#include "gateway/balancer.h"
#include "gateway/h1/server_connection.h"
#include "gateway/h2/frames.h"
#include "gateway/h2/server_session.h"
#include "gateway/log.h"
#include "gateway/spawn.h"

namespace kgate {
namespace {

constexpr std::string_view kPreface = h2::frames::kClientPreface;
// A TLS connection's record buffers are freed once it has waited this long for input: two or
// three sweeps (Transport::keepBuffersWhileBusy), short enough that a client trickling its head
// a line a second (slowloris) does not keep them.
constexpr auto kBufferRelease = std::chrono::milliseconds(100);

// Counts a connection for the node-wide limit and the open-connections gauge while it lives on
// a worker, and uncounts it from the worker's load (counted by the accept loop, or by the
// balancer for one handed over). Moves with the connection from its opening to the coroutine
// that serves it; a hand-over takes its node-wide count along (takeNodeCount).
class ConnectionSlot {
 public:
  ConnectionSlot(AcceptEnv& env, ListenerKind kind, NodeConnectionCount counted)
      : env_(&env), kind_(kind), node_(std::move(counted)) {
    if (env_->stats) env_->stats->connectionOpened(kind_);
  }
  ConnectionSlot(ConnectionSlot&& o) noexcept
      : env_(std::exchange(o.env_, nullptr)), kind_(o.kind_), node_(std::move(o.node_)) {}
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (!env_) return;
    if (env_->stats) env_->stats->connectionClosed(kind_);
    if (env_->load) env_->load->fetch_sub(1, std::memory_order_relaxed);
  }
  NodeConnectionCount takeNodeCount() { return std::move(node_); }

 private:
  AcceptEnv* env_;
  ListenerKind kind_;
  NodeConnectionCount node_;
};

// A connection from accept (or hand-over) until its first bytes. Clients often connect well before
// they send (pools and browsers open ahead of need), so a connection that has sent nothing waits
// for its bytes with a reactor callback, not a suspended coroutine: it holds this object and its
// TLS state, not the ~3 KiB of coroutine frames it used to. It is in the worker's registry, so a
// drain or a stop closes it at once (nothing of it is in flight) instead of waiting for it.
class Opening final : public Drainable {
 public:
  // due: when the handshake and the first bytes are due; none: headerTimeout from now.
  Opening(ConnectionSlot&& counted, std::unique_ptr<Transport> t, const ListenerSpec& spec,
          AcceptEnv& env, ConnectionInfo info, std::optional<Clock::time_point> due = {})
      : spec(spec),
        slot(std::move(counted)),
        transport(std::move(t)),
        cenv{env.sweeper, env.registry, *spec.handler, env.limits(), std::move(info), env.stats},
        headerDue(due ? *due : Clock::now() + cenv.limits.headerTimeout),
        // A client that will not finish its TLS handshake or send a first byte is dropped.
        deadline(env.sweeper, [this] {
          cenv.countTimeout("header");
          transport->close();
        }) {
    // A client that stops reading what it is sent is dropped, whatever it is being sent.
    transport->setSendTimeout(env.sweeper, cenv.limits.sendTimeout,
                              [stats = env.stats, kind = spec.kind] {
                                if (stats) stats->onDownstreamTimeout(kind, "send");
                              });
    transport->keepBuffersWhileBusy(env.sweeper, kBufferRelease);
    deadline.armAt(headerDue);
    cenv.registry.add(this);  // while draining, add() drains (closes) it at once
  }
  ~Opening() { leaveRegistry(); }
  void drain() override { transport->close(); }
  void terminate() override { transport->close(); }
  // Its bytes came: the connection's codec takes over (and registers itself).
  void leaveRegistry() {
    if (registered_) cenv.registry.remove(this);
    registered_ = false;
  }

  const ListenerSpec spec;
  ConnectionSlot slot;
  std::unique_ptr<Transport> transport;
  ConnectionEnv cenv;
  const Clock::time_point headerDue;
  Deadline deadline;  // at headerDue

 private:
  bool registered_ = true;
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

// The connection has sent its first bytes (or closed): HTTP/2 or HTTP/1.1 serves it to its end.
awaitable<void> serveOpened(std::unique_ptr<Opening> c) {
  c->cenv.firstByteAt = Clock::now();  // the request head's time starts here (headerTimeout)
  ReadBuffer buf;
  bool h2 = false;
  if (std::string alpn = c->transport->alpn(); alpn == "h2") {
    h2 = c->spec.http2;
  } else if (c->spec.http2 && alpn.empty()) {
    h2 = co_await sniffHttp2(*c->transport, buf);
    if (!c->transport->isOpen()) co_return;
  }
  c->deadline.disarm();
  c->leaveRegistry();  // until the codec registers itself, a drain closes the connection
  // What the connection's codec does not take is dropped before it runs: this frame and the
  // codec's objects are all the connection holds from here on.
  ConnectionSlot slot = std::move(c->slot);
  if (h2) {
    auto session = std::make_shared<h2::ServerSession>(std::move(c->transport), std::move(c->cenv));
    c.reset();
    co_await session->serve(std::move(buf));
  } else {
    auto conn = std::make_unique<h1::ServerConnection>(std::move(c->transport), std::move(buf),
                                                       std::move(c->cenv));
    c.reset();
    co_await conn->run();
  }
}

// Starts the coroutine that serves the connection from its first bytes on.
void spawnServing(std::unique_ptr<Opening> c) {
  auto ex = c->transport->executor();
  try {
    spawn(ex, serveOpened(std::move(c)), "connection");
  } catch (const std::exception& e) {  // out of memory: this connection goes, not the worker
    KGATE_LOG(Error, "connection: cannot start serving: " << e.what());
  }
}

// Starts serving when the first bytes arrive; until then only the callback holds the connection.
// A close (its deadline, a drain, a stop) completes the wait with an error and frees it.
void awaitFirstBytes(std::unique_ptr<Opening> c) {
  c->transport->releaseBuffers();  // the handshake's: nothing is read or written until then
  tcp::socket& socket = c->transport->socket();
  socket.async_wait(tcp::socket::wait_read, [c = std::move(c)](error_code ec) mutable {
    if (ec || !c->transport->isOpen()) return;
    spawnServing(std::move(c));
  });
}

// Past its handshake, the connection moves to another worker: what ties it to this one (its
// load and gauge counts, registry entry, deadlines and reactor registration) stays behind with
// the Opening; its place in the node-wide count goes with it.
void handOver(std::unique_ptr<Opening> c, unsigned target, ConnectionBalancer& balancer) {
  if (!c->transport->detach()) return;  // closed meanwhile: nothing to move
  Handover h{c->spec.kind, std::move(c->transport), std::move(c->cenv.info), c->headerDue,
             c->slot.takeNodeCount()};
  c.reset();
  balancer.handOver(target, std::move(h));
}

ConnectionInfo newConnectionInfo(const ListenerSpec& spec, const tcp::endpoint& peer) {
  ConnectionInfo info;
  info.listener = spec.kind;
  info.tls = spec.tls != nullptr;
  info.peerIp = peer.address().to_string();
  return info;
}

}  // namespace

// The socket's TCP_NODELAY and TCP_NOTSENT_LOWAT come from the listener (bindAcceptor), and
// the peer's address from accept: no syscall here for either.
awaitable<void> serveConnection(tcp::socket socket, tcp::endpoint peer, ListenerSpec spec,
                                AcceptEnv& env, NodeConnectionCount counted) {
  ConnectionSlot slot(
      env, spec.kind,
      std::move(counted));  // first: whatever fails after it uncounts the connection
  std::unique_ptr<Transport> transport;
  if (spec.tls) {
    transport = std::make_unique<Transport>(std::move(socket), spec.tls, Transport::Role::Server);
    transport->ownRecordsAfterHandshake();
  } else {
    transport = std::make_unique<Transport>(std::move(socket), false);
  }
  auto c = std::make_unique<Opening>(std::move(slot), std::move(transport), spec, env,
                                     newConnectionInfo(spec, peer));
  if (spec.tls) {
    std::string why;
    if (auto ec = co_await c->transport->handshake(&why)) {
      KGATE_LOG(Debug, toString(spec.kind) << " listener: TLS handshake with "
                                           << c->cenv.info.peerIp << " failed: " << why);
      co_return;
    }
    c->cenv.info.clientCertVerified = c->transport->peerCertificateVerified();
    c->cenv.info.clientName = c->transport->verifiedPeerName();
  }
  // Balanced after the handshake, not at accept: a client that connects, handshakes and leaves
  // (the handshake benchmark's) has usually gone by then, and is not moved for nothing.
  if (env.balancer) {
    if (auto target = env.balancer->pick(env.worker)) {
      handOver(std::move(c), *target, *env.balancer);
      co_return;
    }
  }
  // A client's first bytes usually travel with its TLS Finished: then they are served from here.
  if (!c->transport->lookForInput()) {
    awaitFirstBytes(std::move(c));
    co_return;
  }
  co_await serveOpened(std::move(c));
}

void serveHandover(Handover h, ListenerSpec spec, AcceptEnv& env) {
  try {
    ConnectionSlot slot(env, spec.kind, std::move(h.counted));
    auto c = std::make_unique<Opening>(std::move(slot), std::move(h.transport), spec, env,
                                       std::move(h.info), h.headerDue);
    if (c->transport->lookForInput()) {
      spawnServing(std::move(c));
    } else {
      awaitFirstBytes(std::move(c));
    }
  } catch (const std::exception& e) {  // out of memory: this connection goes, not the worker
    KGATE_LOG(Error, "connection: cannot take over: " << e.what());
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
    auto counted = NodeConnectionCount::claim(env.nodeConnections, env.limits().maxConnections);
    if (!counted) {
      error_code ignored;
      socket.close(ignored);  // over limits.maxConnections: refuse at once
      continue;
    }
    // Counted before it can run (spawn may start it here), uncounted by its slot.
    if (env.load) env.load->fetch_add(1, std::memory_order_relaxed);
    try {  // the coroutine's frame is allocated here too
      spawn(ex, serveConnection(std::move(socket), peer, spec, env, std::move(*counted)),
            "connection");
    } catch (const std::exception& e) {  // out of memory: this connection goes, not the listener
      if (env.load) env.load->fetch_sub(1, std::memory_order_relaxed);
      KGATE_LOG(Error, toString(spec.kind) << " listener: cannot serve a connection: " << e.what());
    }
  }
}

}  // namespace kgate
