// What every downstream connection shares: the handler that serves its requests, the worker's
// deadline sweeper and connection registry (for drain), and the limits it was accepted under.
#pragma once

#include <cstddef>
#include <unordered_set>

#include "conf/config.h"
#include "gateway/deadline.h"
#include "gateway/stream.h"

namespace kgate {

// Serves one request. Implementations: the proxy (external, internal listeners) and the admin
// handlers (metrics, API). It must answer or abort the stream before returning.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  virtual awaitable<void> serve(ServerStream& stream) = 0;
  // The codec refused the request before it was whole (bad syntax, oversized or slow head):
  // answer with this status and cause. The request head holds whatever was parsed.
  virtual awaitable<void> reject(ServerStream& stream, int status, std::string_view cause) = 0;
};

// A live downstream connection, as the worker's registry sees it.
class Drainable {
 public:
  // Finish in-flight requests, accept no new ones, then close (HTTP/2: GOAWAY).
  virtual void drain() = 0;
  // Close now, whatever is in flight (drain deadline passed).
  virtual void terminate() = 0;

 protected:
  ~Drainable() = default;
};

class ConnectionRegistry {
 public:
  void add(Drainable* c);
  void remove(Drainable* c);
  void drainAll();      // also makes later add()s drain at once
  void terminateAll();
  bool draining() const { return draining_; }
  size_t size() const { return live_.size(); }

 private:
  std::unordered_set<Drainable*> live_;
  bool draining_ = false;
};

class WorkerStats;

struct ConnectionEnv {
  Sweeper& sweeper;
  ConnectionRegistry& registry;
  StreamHandler& handler;
  conf::Limits limits;
  ConnectionInfo info;
  WorkerStats* stats = nullptr;      // null on the control thread's listeners
  Clock::time_point firstByteAt{};   // when the listener saw the first byte (zero: it did not)

  // A connection closed by a timeout, for kgate_downstream_timeouts_total.
  void countTimeout(std::string_view kind) const;
};

}  // namespace kgate
