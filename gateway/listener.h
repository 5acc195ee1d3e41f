// Accepting and classifying downstream connections: TLS handshake where the listener has TLS,
// then HTTP/2 when ALPN chose h2 or the client starts with the HTTP/2 preface (prior knowledge),
// HTTP/1.1 otherwise. The handshake and the first bytes must arrive within headerTimeout; until
// the first bytes come, a connection waits on a reactor callback, not in a coroutine. Between
// the handshake and the first bytes the balancer may move it to another worker (Handover).
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <optional>
#include <utility>

#include "conf/config.h"
#include "gateway/connection.h"
#include "gateway/metrics.h"
#include "gateway/transport.h"

namespace kgate {

struct ListenerSpec {
  ListenerKind kind = ListenerKind::External;
  SSL_CTX* tls = nullptr;  // null: plain TCP
  bool http2 = true;       // accept HTTP/2 (ALPN h2 or prior knowledge)
  StreamHandler* handler = nullptr;
};

class ConnectionBalancer;

// One connection's place in the node-wide count (limits.maxConnections), from when it starts
// being served (serveConnection) to its close. A hand-over carries it, so a connection on its way
// to another worker still counts.
class NodeConnectionCount {
 public:
  NodeConnectionCount() = default;
  // A place if fewer than `max` are taken (always when count is null): taking and checking are
  // one step, so workers accepting at once cannot overshoot the limit together.
  static std::optional<NodeConnectionCount> claim(std::atomic<uint32_t>* count, uint32_t max) {
    if (count && count->fetch_add(1, std::memory_order_relaxed) >= max) {
      count->fetch_sub(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    return NodeConnectionCount(count);
  }
  NodeConnectionCount(NodeConnectionCount&& o) noexcept
      : count_(std::exchange(o.count_, nullptr)) {}
  NodeConnectionCount& operator=(NodeConnectionCount&&) = delete;
  ~NodeConnectionCount() {
    if (count_) count_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  explicit NodeConnectionCount(std::atomic<uint32_t>* count) : count_(count) {}
  std::atomic<uint32_t>* count_ = nullptr;
};

struct AcceptEnv {
  Sweeper& sweeper;
  ConnectionRegistry& registry;
  WorkerStats* stats = nullptr;                 // null on the control thread
  std::function<conf::Limits()> limits;         // current limits, read per connection
  std::atomic<uint32_t>* nodeConnections = nullptr;  // shared by every worker
  // Workers only: this worker's index, its open downstream connections (the balancer's
  // measure: counted by the accept loop or, for one handed over, by the balancer), and the
  // balancer that may move a connection to another worker (balancer.h). Null on the control
  // thread.
  unsigned worker = 0;
  std::atomic<uint32_t>* load = nullptr;
  ConnectionBalancer* balancer = nullptr;
};

// A connection on its way to a less loaded worker (ConnectionBalancer): past its TLS handshake
// (plain TCP: just accepted), nothing read from it yet but what its transport holds.
struct Handover {
  ListenerKind kind = ListenerKind::External;
  std::unique_ptr<Transport> transport;  // detached (Transport::detach), closed if never taken
  ConnectionInfo info;
  Clock::time_point headerDue;  // for its first bytes, as set where it was accepted
  NodeConnectionCount counted;  // taken over by the connection's slot on the new worker
};

awaitable<void> acceptLoop(tcp::acceptor& acceptor, ListenerSpec spec, AcceptEnv& env);
// Serves one accepted connection to its end, or hands it over to another worker after its
// handshake; `env.load` and `counted` already count it.
awaitable<void> serveConnection(tcp::socket socket, tcp::endpoint peer, ListenerSpec spec,
                                AcceptEnv& env, NodeConnectionCount counted);
// On the worker that takes over a connection, once its transport is attached there: serves it
// to its end. `env.load` already counts it (the balancer did).
void serveHandover(Handover h, ListenerSpec spec, AcceptEnv& env);

}  // namespace kgate
