// Upstream connections of one worker, per upstream (routes::Upstream::poolKey): idle HTTP/1.1
// keep-alive connections and shared HTTP/2 sessions. Never shared across workers, so nothing
// here locks. Opening a stream reuses what it can and connects otherwise (resolve, TCP, TLS, ALPN).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "gateway/deadline.h"
#include "gateway/error.h"
#include "gateway/stream.h"
#include "routes/route_table.h"

namespace kgate {

namespace h1 { class ClientConnection; }
namespace h2 { class ClientSession; }
class Transport;

class UpstreamPool {
 public:
  UpstreamPool(net::any_io_executor ex, Sweeper& sweeper);
  ~UpstreamPool();

  // How open() may use pooled HTTP/1.1 connections.
  enum class Reuse {
    Fresh,   // not at all: a new connection (the one retry after a pooled one was stale)
    Pooled,  // one from the pool, each first checked to be silent (ClientConnection::reusable)
  };

  // Opens a stream to u. On failure, detail says why (for the log).
  awaitable<Error> open(const routes::Upstream& u, SSL_CTX* tls, const conf::Limits& limits,
                        Reuse reuse, std::unique_ptr<ClientStream>& out, std::string& detail);

  // Closes idle connections; HTTP/2 sessions get a GOAWAY (now=false) or are closed (now=true).
  // Connections in use close when their exchange ends.
  void closeAll(bool now = false);
  size_t idleConnections() const;

 private:
  struct Idle {
    std::unique_ptr<h1::ClientConnection> conn;
    // The sweeper's time (its last tick: ~50 ms old at most on a worker, older on the control
    // thread, whose pool probes every connection anyway), as every idle time here is: they
    // are compared with a second and more, and reading the clock cost two reads per request.
    Clock::time_point since;
  };
  struct Entry {
    std::vector<Idle> idle;
    std::vector<std::shared_ptr<h2::ClientSession>> sessions;
  };

  awaitable<Error> connect(const routes::Upstream& u, SSL_CTX* tls, const conf::Limits& limits,
                           std::unique_ptr<Transport>& out, std::string& detail);
  std::unique_ptr<ClientStream> exchange(std::unique_ptr<h1::ClientConnection> conn,
                                         const routes::Upstream& u, const conf::Limits& limits);
  void reap();

  net::any_io_executor ex_;
  Sweeper& sweeper_;
  std::unordered_map<std::string, Entry> entries_;
  Deadline reaper_;
  Clock::duration idleTimeout_ = std::chrono::seconds(60);
  bool closed_ = false;
};

}  // namespace kgate
