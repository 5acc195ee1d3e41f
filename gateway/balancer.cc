#include "gateway/balancer.h"

namespace kgate {

void ConnectionBalancer::add(std::atomic<uint32_t>* load, Adopt adopt) {
  members_.push_back(Member{load, std::move(adopt)});
}

std::optional<unsigned> ConnectionBalancer::pick(unsigned self) const {
  unsigned target = self;
  uint32_t own = members_[self].load->load(std::memory_order_relaxed);
  uint32_t least = own;
  for (unsigned i = 0; i < members_.size(); ++i) {
    uint32_t n = members_[i].load->load(std::memory_order_relaxed);
    if (n < least) target = i, least = n;
  }
  if (least + 2 > own) return std::nullopt;
  return target;
}

void ConnectionBalancer::handOver(unsigned target, Handover h) {
  Member& m = members_[target];
  m.load->fetch_add(1, std::memory_order_relaxed);
  try {
    m.adopt(std::move(h));
  } catch (...) {  // never posted (out of memory): the connection is closed, not counted
    m.load->fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
}

}  // namespace kgate
