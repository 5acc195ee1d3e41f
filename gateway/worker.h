// A worker: one thread running one io_context, with its own SO_REUSEPORT acceptors for the
// external and internal listeners, its connections (each stays on this worker for life), its
// upstream pools, statistics and access-log buffers. Other threads talk to it only by posting.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gateway/balancer.h"
#include "gateway/listener.h"
#include "gateway/proxy.h"
#include "gateway/worker_context.h"

namespace kgate {

class Worker {
 public:
  Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot,
         std::shared_ptr<AccessLogFile> externalLog, std::shared_ptr<AccessLogFile> internalLog,
         std::atomic<uint32_t>& nodeConnections);
  ~Worker();

  // Before start(), from the starting thread: bind a listening socket (SO_REUSEPORT).
  Result<void> listen(ListenerKind kind, const tcp::endpoint& endpoint, SSL_CTX* tls);

  // Before start(): shares the node's balancer (balancer.h), which this worker joins.
  void joinBalancer(ConnectionBalancer& balancer);
  // Before start(): the control thread's objects (authority: master only, else null).
  void setControl(ControlPlane* controlPlane, auth::Authority* authority,
                  net::any_io_executor control) {
    ctx_.controlPlane = controlPlane;
    ctx_.authority = authority;
    ctx_.control = std::move(control);
  }

  // cpu: the CPU this worker's thread runs on, or -1 for wherever the scheduler puts it.
  void start(int cpu = -1);
  // Any thread; `applied` runs on this worker once new streams use the snapshot.
  void updateSnapshot(std::shared_ptr<const Snapshot> snapshot,
                      std::function<void()> applied = {});
  void drain();                                                   // any thread
  void terminate();                                               // any thread
  // Closes everything; the thread ends once every coroutine has wound down (finished()).
  void stop();                                                    // any thread
  bool finished() const { return finished_.load(); }
  void forceStop() { io_.stop(); }  // last resort when a worker does not finish
  void join();

  size_t connections() const { return connections_.load(std::memory_order_relaxed); }
  const WorkerStats& stats() const { return stats_; }

 private:
  struct Slot {
    tcp::acceptor acceptor;
    ListenerSpec spec;
  };
  void flushLogs();
  // On this worker's thread: serve a connection another worker accepted and handed over.
  void adopt(Handover h);

  unsigned index_;
  net::io_context io_{1};
  Sweeper sweeper_;
  UpstreamPool pool_;
  WorkerStats stats_;
  AccessLogBuffer externalLog_;
  AccessLogBuffer internalLog_;
  WorkerContext ctx_;
  Proxy externalProxy_;
  Proxy internalProxy_;
  ConnectionRegistry registry_;
  AcceptEnv env_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Deadline housekeeping_;
  std::atomic<size_t> connections_{0};
  std::atomic<uint32_t> load_{0};  // open downstream connections, exact (the balancer's measure)
  bool accepting_ = true;          // this worker's thread only: false once draining or stopping
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

// Unsent bytes the kernel may queue for a downstream client (TCP_NOTSENT_LOWAT, set on the
// listener and inherited by accepted sockets). Without a cap the send buffer autotunes to
// megabytes that a client reading slowly (or not at all) pins in kernel memory; with it, writes
// wait once this much is queued, which is where sendTimeout takes over. In-flight (sent,
// unacknowledged) data is not limited. At 128 KiB a 1 MiB HTTP/2 download blocked its writer
// about every other response (a wait for writability and the kernel's wake-up) and cost ~6% more
// CPU per response than at 512 KiB (1142-1198 against 1087-1090 us, interleaved runs).
constexpr int kUnsentLimit = 512 * 1024;

// Binds a listening socket. reusePort lets every worker bind the same address and port; the
// kernel then spreads new connections across them. Sets TCP_NODELAY and the unsent-bytes limit
// (TCP_NOTSENT_LOWAT) on it, which every accepted connection inherits.
Result<void> bindAcceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, bool reusePort);

}  // namespace kgate
