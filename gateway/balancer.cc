#include "gateway/balancer.h"

namespace kgate {

void ConnectionBalancer::add(std::atomic<uint32_t>* load, Adopt adopt) {
  members_.push_back(Member{load, std::move(adopt)});
}

bool ConnectionBalancer::place(unsigned self, ListenerKind kind, tcp::socket& socket,
                               const tcp::endpoint& peer) {
  unsigned target = self;
  uint32_t least = members_[self].load->load(std::memory_order_relaxed);
  for (unsigned i = 0; i < members_.size(); ++i) {
    uint32_t n = members_[i].load->load(std::memory_order_relaxed);
    if (n < least) target = i, least = n;
  }
  if (target != self) {
    error_code ec;
    // Released, the descriptor leaves this worker's epoll set; the target registers it in its own.
    int fd = socket.release(ec);
    if (!ec && fd >= 0) {
      // Counted before it arrives, so a burst of accepts does not pick the same worker each time.
      members_[target].load->fetch_add(1, std::memory_order_relaxed);
      members_[target].adopt(kind, fd, peer);
      return true;
    }
  }
  members_[self].load->fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace kgate
