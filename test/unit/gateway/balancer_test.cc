// Where the balancer moves a connection: nowhere unless another worker holds at least two fewer
// (the worker deciding counts the connection itself), then to the one that holds fewest, counted
// there before it arrives (balancer.h).
#include "gateway/balancer.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <optional>
#include <vector>

namespace kgate {
namespace {

class Balancer : public ::testing::Test {
 protected:
  Balancer() {
    for (unsigned i = 0; i < loads_.size(); ++i)
      balancer_.add(&loads_[i], [this, i](Handover h) {
        adopted_.push_back(i);
        kinds_.push_back(h.kind);
        loadOnArrival_.push_back(loads_[i]);
      });
  }
  void set(uint32_t a, uint32_t b, uint32_t c) { loads_[0] = a, loads_[1] = b, loads_[2] = c; }

  std::array<std::atomic<uint32_t>, 3> loads_{};
  ConnectionBalancer balancer_;
  std::vector<unsigned> adopted_;
  std::vector<ListenerKind> kinds_;
  std::vector<uint32_t> loadOnArrival_;  // the adopter's load as the hand-over reached it
};

TEST_F(Balancer, OneFewerElsewhereIsNoReasonToMove) {
  set(1, 0, 0);
  EXPECT_EQ(balancer_.pick(0), std::nullopt);
  set(3, 2, 3);
  EXPECT_EQ(balancer_.pick(0), std::nullopt);
  EXPECT_EQ(balancer_.pick(2), std::nullopt);
  set(2, 2, 2);
  EXPECT_EQ(balancer_.pick(1), std::nullopt);
}

TEST_F(Balancer, TwoFewerElsewhereTakesIt) {
  set(2, 0, 2);
  EXPECT_EQ(balancer_.pick(0), 1u);
  EXPECT_EQ(balancer_.pick(2), 1u);
  EXPECT_EQ(balancer_.pick(1), std::nullopt);
}

TEST_F(Balancer, TheLeastLoadedOfSeveralTakesIt) {
  set(5, 3, 2);
  EXPECT_EQ(balancer_.pick(0), 2u);
  set(5, 2, 2);
  EXPECT_EQ(balancer_.pick(0), 1u) << "the first of the least loaded";
  EXPECT_EQ(balancer_.pick(1), std::nullopt);
}

TEST_F(Balancer, AHandOverIsCountedWhereItGoesBeforeItArrives) {
  set(4, 0, 1);
  Handover h;
  h.kind = ListenerKind::Internal;
  balancer_.handOver(1, std::move(h));
  EXPECT_EQ(loadOnArrival_, std::vector<uint32_t>{1});
  EXPECT_EQ(loads_[1], 1u);
  EXPECT_EQ(loads_[0], 4u) << "uncounted where it was by its slot, not by the balancer";
  ASSERT_EQ(adopted_, std::vector<unsigned>{1});
  EXPECT_EQ(kinds_[0], ListenerKind::Internal);
  // A burst: the next move sees the last one where it went.
  loads_[0] = 3;
  EXPECT_EQ(balancer_.pick(0), 1u) << "the first of two that hold one";
  balancer_.handOver(1, Handover{});
  EXPECT_EQ(balancer_.pick(0), 2u);
}

// maxConnections counts a connection on its way to another worker: the hand-over carries its
// place in the node-wide count until the worker that takes it counts it, or drops it.
TEST_F(Balancer, AConnectionInTransitStillCountsOnTheNode) {
  std::atomic<uint32_t> node{0};
  std::vector<uint32_t> nodeOnArrival;
  ConnectionBalancer b;
  std::optional<Handover> kept;
  b.add(&loads_[0], [&](Handover h) {
    nodeOnArrival.push_back(node);
    if (!kept) kept.emplace(std::move(h));  // taken: its count lives on with it
  });
  auto counted = [&] {
    return Handover{
        ListenerKind::External, nullptr, {}, {}, *NodeConnectionCount::claim(&node, UINT32_MAX)};
  };
  Handover first = counted(), second = counted();
  EXPECT_EQ(node, 2u);
  b.handOver(0, std::move(first));
  b.handOver(0, std::move(second));  // dropped where it arrived: uncounted
  EXPECT_EQ(nodeOnArrival, (std::vector<uint32_t>{2, 2}));
  EXPECT_EQ(node, 1u);
  kept.reset();
  EXPECT_EQ(node, 0u);
}

// limits.maxConnections: taking a place and checking the limit are one step, so workers
// accepting at the same moment cannot all slip under it.
TEST(NodeConnectionCount, ClaimsAPlaceOnlyUnderTheLimit) {
  std::atomic<uint32_t> node{1};
  {
    auto place = NodeConnectionCount::claim(&node, 2);
    ASSERT_TRUE(place.has_value());
    EXPECT_EQ(node.load(), 2u);
    EXPECT_FALSE(NodeConnectionCount::claim(&node, 2).has_value());
    EXPECT_EQ(node.load(), 2u);  // a refused claim leaves no trace
  }
  EXPECT_EQ(node.load(), 1u);  // the place is given back with the connection
  EXPECT_TRUE(NodeConnectionCount::claim(nullptr, 0).has_value());  // uncounted listeners
}

}  // namespace
}  // namespace kgate
