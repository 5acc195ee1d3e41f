// Where the balancer puts a new connection: with the worker that accepted it unless another
// holds fewer, then with the one that holds fewest (balancer.h).
#include "gateway/balancer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <vector>

namespace kgate {
namespace {

class Balancer : public ::testing::Test {
 protected:
  Balancer() {
    for (unsigned i = 0; i < loads_.size(); ++i)
      balancer_.add(&loads_[i], [this, i](ListenerKind, int fd, const tcp::endpoint&) {
        adopted_.push_back(i);
        ::close(fd);
      });
  }
  // Worker `self` accepts a connection; returns the worker it goes to.
  unsigned accept(unsigned self) {
    tcp::socket socket(io_);
    socket.open(tcp::v4());
    size_t before = adopted_.size();
    bool moved = balancer_.place(self, ListenerKind::External, socket, {});
    EXPECT_EQ(moved, adopted_.size() == before + 1);
    EXPECT_EQ(moved, !socket.is_open());  // handed over: released to the adopter
    return moved ? adopted_.back() : self;
  }

  net::io_context io_;
  std::array<std::atomic<uint32_t>, 3> loads_{};
  ConnectionBalancer balancer_;
  std::vector<unsigned> adopted_;
};

TEST_F(Balancer, ATieStaysWithTheWorkerThatAccepted) {
  EXPECT_EQ(accept(1), 1u);
  EXPECT_EQ(loads_[1], 1u);
  EXPECT_EQ(accept(0), 0u);
  EXPECT_EQ(accept(2), 2u);
  EXPECT_EQ(adopted_.size(), 0u);
}

TEST_F(Balancer, OneConnectionMoreIsEvenedOutAndCountedWhereItGoes) {
  loads_[0] = 1;
  EXPECT_EQ(accept(0), 1u);
  EXPECT_EQ(loads_[0], 1u);
  EXPECT_EQ(loads_[1], 1u);
  // Counted before the other worker takes it, so the next accept sees it there.
  EXPECT_EQ(accept(0), 2u);
  EXPECT_EQ(accept(0), 0u);
  EXPECT_EQ(loads_[0], 2u);
}

TEST_F(Balancer, TheLeastLoadedOfSeveralTakesIt) {
  loads_[0] = 5;
  loads_[1] = 3;
  loads_[2] = 2;
  EXPECT_EQ(accept(0), 2u);
  EXPECT_EQ(accept(0), 1u) << "the first of the least loaded";
  EXPECT_EQ(accept(1), 2u);
  EXPECT_EQ(accept(2), 2u) << "as few as any other";
  EXPECT_EQ(loads_[0], 5u);
  EXPECT_EQ(loads_[1], 4u);
  EXPECT_EQ(loads_[2], 5u);
}

}  // namespace
}  // namespace kgate
