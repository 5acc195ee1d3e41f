#include "gateway/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

#include "gateway/log.h"
#include "gateway/spawn.h"

namespace kgate {

Result<void> bindAcceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, bool reusePort) {
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec && reusePort) {
    int one = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      ec = error_code(errno, boost::system::system_category());
  }
  // Accepted sockets inherit these from the listener: two setsockopt calls fewer per connection.
  // TCP_NODELAY: responses and TLS records go out as written.
  if (!ec) acceptor.set_option(tcp::no_delay(true), ec);
  if (!ec && ::setsockopt(acceptor.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &kUnsentLimit,
                          sizeof kUnsentLimit) != 0)
    ec = error_code(errno, boost::system::system_category());
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(4096, ec);
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
    return fail(ec.message());
  }
  return {};
}

Worker::Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot,
               std::shared_ptr<AccessLogFile> externalLog,
               std::shared_ptr<AccessLogFile> internalLog, std::atomic<uint32_t>& nodeConnections)
    : index_(index),
      sweeper_(io_.get_executor()),
      pool_(io_.get_executor(), sweeper_),
      externalLog_(std::move(externalLog)),
      internalLog_(std::move(internalLog)),
      ctx_{io_.get_executor(), sweeper_, pool_, stats_, externalLog_, internalLog_,
           std::move(snapshot)},
      externalProxy_(ctx_, ListenerKind::External),
      internalProxy_(ctx_, ListenerKind::Internal),
      env_{sweeper_, registry_, &stats_, [this] { return ctx_.snapshot->config->limits; },
           &nodeConnections, index, &load_},
      housekeeping_(sweeper_, [this] {
        flushLogs();
        connections_.store(registry_.size(), std::memory_order_relaxed);
        housekeeping_.arm(std::chrono::milliseconds(200));
      }) {}

Worker::~Worker() {
  if (thread_.joinable()) {
    stop();
    join();
  }
}

Result<void> Worker::listen(ListenerKind kind, const tcp::endpoint& endpoint, SSL_CTX* tls) {
  auto slot = std::make_unique<Slot>(Slot{tcp::acceptor(io_), ListenerSpec{}});
  if (auto r = bindAcceptor(slot->acceptor, endpoint, true); !r) return r;
  slot->spec.kind = kind;
  slot->spec.tls = tls;
  slot->spec.http2 = true;
  slot->spec.handler = kind == ListenerKind::External ? &externalProxy_ : &internalProxy_;
  slots_.push_back(std::move(slot));
  return {};
}

void Worker::joinBalancer(ConnectionBalancer& balancer) {
  Transport::prepareMoves();
  env_.balancer = &balancer;
  balancer.add(&load_, [this](Handover h) {
    net::post(io_, [this, h = std::move(h)]() mutable { adopt(std::move(h)); });
  });
}

void Worker::adopt(Handover h) {
  Slot* slot = nullptr;
  for (auto& s : slots_)
    if (s->spec.kind == h.kind) slot = s.get();
  // Handed over as this worker began to drain (or its socket cannot join this reactor): closed,
  // as a drain closes a connection that has sent nothing yet (the transport closes it).
  bool attached = false;
  if (accepting_ && slot) {
    try {
      attached = !h.transport->attach(io_.get_executor());
    } catch (const std::exception& e) {  // out of memory: this connection goes, not the worker
      KGATE_LOG(Error, "connection: cannot take over: " << e.what());
    }
  }
  if (!attached) {
    load_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  stats_.connectionTakenOver();
  serveHandover(std::move(h), slot->spec, env_);
}

void Worker::start(int cpu) {
  sweeper_.start();
  housekeeping_.arm(std::chrono::milliseconds(200));
  for (auto& slot : slots_) spawn(io_.get_executor(), acceptLoop(slot->acceptor, slot->spec, env_),
                                  "accept loop");
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      KGATE_LOG(Error, "worker " << index_ << " stopped: " << e.what());
    }
    flushLogs();
    finished_ = true;
  });
  // Named and pinned from here rather than by the thread itself, so both hold once start()
  // returns, before the node says it is ready. Names are for `top -H` and `perf`: "kgate-w0",
  // "kgate-w1", ... (15 characters at most).
  pthread_t handle = thread_.native_handle();
  pthread_setname_np(handle, ("kgate-w" + std::to_string(index_)).substr(0, 15).c_str());
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (int e = pthread_setaffinity_np(handle, sizeof set, &set); e != 0)
      KGATE_LOG(Warn, "worker " << index_ << ": cannot pin to CPU " << cpu << ": "
                                << std::strerror(e) << "; it runs unpinned");
  }
}

void Worker::updateSnapshot(std::shared_ptr<const Snapshot> snapshot,
                            std::function<void()> applied) {
  net::post(io_, [this, s = std::move(snapshot), applied = std::move(applied)]() mutable {
    ctx_.snapshot = std::move(s);
    if (applied) applied();
  });
}

void Worker::drain() {
  net::post(io_, [this] {
    accepting_ = false;
    for (auto& slot : slots_) {
      error_code ignored;
      slot->acceptor.close(ignored);
    }
    registry_.drainAll();
    pool_.closeAll();
    connections_.store(registry_.size(), std::memory_order_relaxed);
  });
}

void Worker::terminate() {
  net::post(io_, [this] { registry_.terminateAll(); });
}

void Worker::stop() {
  // Every socket is closed, so every pending operation completes at once and every coroutine
  // returns; io_context::run() then runs out of work. Destroying suspended frames instead would
  // run their destructors after the members they point to.
  net::post(io_, [this] {
    accepting_ = false;
    for (auto& slot : slots_) {
      error_code ignored;
      slot->acceptor.close(ignored);
    }
    registry_.terminateAll();
    pool_.closeAll(true);
    housekeeping_.disarm();
    sweeper_.stop();
    flushLogs();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::flushLogs() {
  externalLog_.flush();
  internalLog_.flush();
}

}  // namespace kgate
