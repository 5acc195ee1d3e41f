// Accepting and classifying downstream connections: TLS handshake where the listener has TLS,
// then HTTP/2 when ALPN chose h2 or the client starts with the HTTP/2 preface (prior knowledge),
// HTTP/1.1 otherwise. The handshake and the first bytes must arrive within headerTimeout; until
// the first bytes come, a connection waits on a reactor callback, not in a coroutine.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <functional>

#include "conf/config.h"
#include "gateway/connection.h"
#include "gateway/metrics.h"

namespace kgate {

struct ListenerSpec {
  ListenerKind kind = ListenerKind::External;
  SSL_CTX* tls = nullptr;  // null: plain TCP
  bool http2 = true;       // accept HTTP/2 (ALPN h2 or prior knowledge)
  StreamHandler* handler = nullptr;
};

class ConnectionBalancer;

struct AcceptEnv {
  Sweeper& sweeper;
  ConnectionRegistry& registry;
  WorkerStats* stats = nullptr;                 // null on the control thread
  std::function<conf::Limits()> limits;         // current limits, read per connection
  std::atomic<uint32_t>* nodeConnections = nullptr;  // shared by every worker
  // Workers only: this worker's index and open connections, and the balancer that counts each
  // connection it accepts and may hand it to another worker (balancer.h). Null on the control
  // thread.
  unsigned worker = 0;
  std::atomic<uint32_t>* load = nullptr;
  ConnectionBalancer* balancer = nullptr;
};

awaitable<void> acceptLoop(tcp::acceptor& acceptor, ListenerSpec spec, AcceptEnv& env);
// Serves one accepted connection to its end; `env.load` already counts it (the balancer did).
awaitable<void> serveConnection(tcp::socket socket, tcp::endpoint peer, ListenerSpec spec,
                                AcceptEnv& env);

}  // namespace kgate
