// Evens out downstream connections across workers. Each worker accepts on its own SO_REUSEPORT
// socket, and the kernel picks the socket by a hash of the connection's addresses. With many
// short connections that averages out; with a few long-lived ones (a gateway's HTTP/2 sessions
// with its peers, a client's keep-alive pool) it often does not, and one worker can carry most
// of the traffic while another idles. So a worker that serves two connections more than another
// (a new one counted) hands that one, once it is past its TLS handshake and before its first
// byte is read, to the least loaded worker. From there the connection stays on that worker for
// life, like any other.
//
// Why after the handshake, not at accept: a hand-over wakes the other worker, and with clients
// that connect, handshake and leave one after another (the handshake benchmark), the accepting
// worker was usually still finishing the last connection's handshake when the next arrived.
// Balanced at accept, a quarter of those connections moved, for 5-7% more CPU per handshake
// than with no balancer; by the end of the new handshake the last connection has gone. Long-lived
// sessions that arrive together (a peer's workers reconnecting after a restart) are still spread.
// The handshakes themselves stay where the kernel put them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "gateway/listener.h"

namespace kgate {

class ConnectionBalancer {
 public:
  // Takes over a connection on the member's own thread (called from another thread).
  using Adopt = std::function<void(Handover)>;

  // Before the workers start. `load` counts the member's open downstream connections: counted
  // when accepted or handed over, uncounted by the worker when it closes or leaves.
  void add(std::atomic<uint32_t>* load, Adopt adopt);
  size_t size() const { return members_.size(); }

  // On worker `self`'s thread, for a connection it serves and `self`'s load counts: the least
  // loaded worker, if it holds at least two fewer. With one fewer, a move would only swap which
  // of the two is ahead.
  std::optional<unsigned> pick(unsigned self) const;
  // Counts the connection on `target` at once, so that moves in a burst do not all pick the
  // same worker, then has `target` take it over on its own thread.
  void handOver(unsigned target, Handover h);

 private:
  struct Member {
    std::atomic<uint32_t>* load;
    Adopt adopt;
  };
  std::vector<Member> members_;
};

}  // namespace kgate
