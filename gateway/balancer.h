// Evens out downstream connections across workers. Each worker accepts on its own SO_REUSEPORT
// socket, and the kernel picks the socket by a hash of the connection's addresses. With many
// short connections that averages out; with a few long-lived ones (a gateway's HTTP/2 sessions
// with its peers, a client's keep-alive pool) it often does not, and one worker can carry most
// of the traffic while another idles. So a worker that accepts a connection while it serves
// more than another worker hands it, before its first byte is read, to the least loaded one.
// From there the connection stays on that worker for life, like any other.
//
// A hand-over is not free: it wakes the other worker. With clients that connect, handshake and
// leave one after another (the handshake benchmark), the accepting worker is usually still
// finishing the last connection's handshake, so it holds one more and a quarter of the
// connections move: 5-7% more CPU per handshake than without the balancer (two A/B runs).
// Keeping a connection where it landed when its worker's one extra connection is still in its
// handshake took that back, but then two long-lived sessions that connect at once (a peer's
// workers reconnecting after a restart) shared one worker for life, which is what the balancer
// is there to prevent. So a difference of one moves the connection, handshake or not.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "gateway/asio.h"
#include "gateway/stream.h"

namespace kgate {

class ConnectionBalancer {
 public:
  // Takes over an accepted socket on the member's own thread (called from another thread).
  using Adopt = std::function<void(ListenerKind, int fd, const tcp::endpoint& peer)>;

  // Before the workers start. `load` counts the member's open downstream connections: a
  // connection is counted here when it is placed and uncounted by the worker when it closes.
  void add(std::atomic<uint32_t>* load, Adopt adopt);
  size_t size() const { return members_.size(); }

  // On worker `self`'s thread, for a connection it just accepted: counts it on the worker with
  // the fewest connections (`self` on a tie) and, if that is another worker, hands the socket
  // over. Returns false when the connection stays with `self`.
  bool place(unsigned self, ListenerKind kind, tcp::socket& socket, const tcp::endpoint& peer);

 private:
  struct Member {
    std::atomic<uint32_t>* load;
    Adopt adopt;
  };
  std::vector<Member> members_;
};

}  // namespace kgate
