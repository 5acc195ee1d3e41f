#include "gateway/deadline.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>

namespace kgate {
namespace {

using namespace std::chrono_literals;

class DeadlineTest : public ::testing::Test {
 protected:
  DeadlineTest() : sweeper_(io_.get_executor(), 5ms) { sweeper_.start(); }
  ~DeadlineTest() override {
    sweeper_.stop();
    io_.restart();
    io_.run_for(5s);  // lets the sweep loop see the stop and end
  }

  // Runs the worker until pred() holds or a generous bound passes; returns pred().
  bool runUntil(const std::function<bool()>& pred) {
    auto bound = Clock::now() + 10s;
    while (!pred() && Clock::now() < bound) io_.run_for(5ms);
    return pred();
  }

  net::io_context io_;
  Sweeper sweeper_;
};

TEST_F(DeadlineTest, FiresAfterItsTime) {
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  EXPECT_FALSE(d.armed());
  d.arm(20ms);
  EXPECT_TRUE(d.armed());
  EXPECT_FALSE(d.expired());
  ASSERT_TRUE(runUntil([&] { return fired > 0; }));
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(d.expired());
  EXPECT_FALSE(d.armed());
}

TEST_F(DeadlineTest, FiresOnlyOnce) {
  int fired = 0, witness = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  Deadline w(sweeper_, [&] { ++witness; });
  d.arm(1ms);
  ASSERT_TRUE(runUntil([&] { return fired > 0; }));
  w.arm(30ms);  // several ticks later
  ASSERT_TRUE(runUntil([&] { return witness > 0; }));
  EXPECT_EQ(fired, 1);
}

TEST_F(DeadlineTest, NotBeforeItsTime) {
  int fired = 0, witness = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  Deadline w(sweeper_, [&] { ++witness; });
  d.arm(1h);
  w.arm(20ms);
  ASSERT_TRUE(runUntil([&] { return witness > 0; }));
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(d.armed());
}

TEST_F(DeadlineTest, ArmAtInThePastFiresOnTheNextTick) {
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  d.armAt(Clock::now() - 1s);
  ASSERT_TRUE(runUntil([&] { return fired > 0; }));
  EXPECT_TRUE(d.expired());
}

TEST_F(DeadlineTest, ReArmingWorks) {
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  d.arm(5ms);
  ASSERT_TRUE(runUntil([&] { return fired == 1; }));
  EXPECT_TRUE(d.expired());
  d.arm(5ms);
  EXPECT_FALSE(d.expired());  // arm clears the flag
  EXPECT_TRUE(d.armed());
  ASSERT_TRUE(runUntil([&] { return fired == 2; }));
  EXPECT_TRUE(d.expired());
}

TEST_F(DeadlineTest, ReArmingLaterPostponesIt) {
  int fired = 0, witness = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  Deadline w(sweeper_, [&] { ++witness; });
  d.arm(10ms);
  d.arm(1h);  // a stream that saw bytes pushes its idle deadline away
  w.arm(40ms);
  ASSERT_TRUE(runUntil([&] { return witness > 0; }));
  EXPECT_EQ(fired, 0);
}

TEST_F(DeadlineTest, DisarmPreventsFiring) {
  int fired = 0, witness = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  Deadline w(sweeper_, [&] { ++witness; });
  d.arm(5ms);
  d.disarm();
  EXPECT_FALSE(d.armed());
  w.arm(30ms);  // due after d would have been: once w fired, d had its chance
  ASSERT_TRUE(runUntil([&] { return witness > 0; }));
  EXPECT_EQ(fired, 0);
  EXPECT_FALSE(d.expired());
}

TEST_F(DeadlineTest, DestroyedDeadlineNeverFires) {
  int fired = 0, witness = 0;
  Deadline w(sweeper_, [&] { ++witness; });
  {
    Deadline d(sweeper_, [&] { ++fired; });
    d.arm(1ms);
  }
  w.arm(30ms);
  ASSERT_TRUE(runUntil([&] { return witness > 0; }));
  EXPECT_EQ(fired, 0);
}

TEST_F(DeadlineTest, DestroyingTheNextDeadlineDuringACallbackIsSafe) {
  // Deadlines are filed at the head of their tick's list: arming order c, b, a gives sweep order
  // a, b, c, so while a's callback runs, b is next.
  int firedA = 0, firedB = 0, firedC = 0;
  Deadline c(sweeper_, [&] { ++firedC; });
  auto b = std::make_unique<Deadline>(sweeper_, [&] { ++firedB; });
  Deadline a(sweeper_, [&] {
    ++firedA;
    b.reset();
  });
  auto due = Clock::now() + 5ms;
  c.armAt(due);
  b->armAt(due);
  a.armAt(due);
  ASSERT_TRUE(runUntil([&] { return firedA > 0 && firedC > 0; }));
  EXPECT_EQ(firedA, 1);
  EXPECT_EQ(firedB, 0);
  EXPECT_EQ(firedC, 1);
  EXPECT_EQ(b, nullptr);
}

TEST_F(DeadlineTest, DestroyingAnEarlierDeadlineDuringACallbackIsSafe) {
  // Sweep order a, b: b's callback destroys a, which the sweep has already passed.
  int firedA = 0, firedB = 0, firedC = 0;
  Deadline c(sweeper_, [&] { ++firedC; });
  std::unique_ptr<Deadline> a;
  Deadline b(sweeper_, [&] {
    ++firedB;
    a.reset();
  });
  a = std::make_unique<Deadline>(sweeper_, [&] { ++firedA; });
  auto due = Clock::now() + 5ms;
  c.armAt(due);
  b.armAt(due);
  a->armAt(due);  // sweep order a, b, c
  ASSERT_TRUE(runUntil([&] { return firedB > 0 && firedC > 0; }));
  EXPECT_EQ(firedA, 1);
  EXPECT_EQ(firedC, 1);
  // The list is still sound: a new deadline fires.
  int firedD = 0;
  Deadline d(sweeper_, [&] { ++firedD; });
  d.arm(1ms);
  ASSERT_TRUE(runUntil([&] { return firedD > 0; }));
}

TEST_F(DeadlineTest, ManyDeadlinesAllFire) {
  int fired = 0;
  std::vector<std::unique_ptr<Deadline>> all;
  for (int i = 0; i < 100; ++i) {
    all.push_back(std::make_unique<Deadline>(sweeper_, [&] { ++fired; }));
    all.back()->arm(std::chrono::milliseconds(i % 10));
  }
  ASSERT_TRUE(runUntil([&] { return fired == 100; }));
  // Destroy every other one and re-arm the rest.
  for (size_t i = 0; i < all.size(); i += 2) all[i].reset();
  for (auto& d : all)
    if (d) d->arm(1ms);
  ASSERT_TRUE(runUntil([&] { return fired == 150; }));
}

TEST_F(DeadlineTest, StopEndsTheSweepLoop) {
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  sweeper_.stop();
  io_.restart();
  io_.run_for(10s);       // returns early once the loop has ended: no work left
  EXPECT_TRUE(io_.stopped());
  d.arm(0ms);
  io_.restart();
  io_.poll();
  EXPECT_EQ(fired, 0);    // nobody sweeps any more
}

TEST_F(DeadlineTest, NowAdvancesWithTicks) {
  auto before = sweeper_.now();
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  d.arm(1ms);
  ASSERT_TRUE(runUntil([&] { return fired > 0; }));
  EXPECT_GT(sweeper_.now(), before);
}

TEST_F(DeadlineTest, ReArmingEarlierFiresAtTheEarlierTime) {
  // Filed under a tick 10 s away, then armed for 5 ms: it must not wait for its old tick.
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  d.arm(10s);
  d.arm(5ms);
  ASSERT_TRUE(runUntil([&] { return fired > 0; }));
  EXPECT_EQ(fired, 1);
}

TEST_F(DeadlineTest, ReArmedLaterFromACallbackInTheSameSweepWaits) {
  int firedA = 0, firedB = 0;
  Deadline b(sweeper_, [&] { ++firedB; });
  Deadline a(sweeper_, [&] {
    ++firedA;
    b.arm(30ms);  // b is due in this very sweep, still ahead in its list
  });
  auto due = Clock::now() + 5ms;
  b.armAt(due);
  a.armAt(due);  // sweep order a, b
  ASSERT_TRUE(runUntil([&] { return firedA > 0; }));
  EXPECT_EQ(firedB, 0);  // the sweep saw b's new time and filed it again
  ASSERT_TRUE(runUntil([&] { return firedB > 0; }));
  EXPECT_EQ(firedA, 1);
  EXPECT_EQ(firedB, 1);
}

// Deadlines further away than one turn of the wheel (8 ticks here) wait in their slot for as
// many turns as they need; the ticks in between do not look at them.
TEST(Sweeper, DeadlinesBeyondOneTurnFireOnTimeAndAreNotLookedAtEveryTick) {
  net::io_context io;
  Sweeper sweeper(io.get_executor(), 5ms, 8);
  sweeper.start();
  int fired = 0;
  std::vector<std::unique_ptr<Deadline>> far;
  for (int i = 0; i < 100; ++i) {
    far.push_back(std::make_unique<Deadline>(sweeper, [&] { ++fired; }));
    far.back()->arm(200ms);  // five turns of the wheel
  }
  Deadline near(sweeper, [] {});
  auto start = Clock::now();
  near.arm(100ms);
  while (near.armed() && Clock::now() < start + 10s) io.run_for(5ms);
  EXPECT_EQ(fired, 0);
  // 100 far deadlines over ~20 ticks: a walk of every deadline per tick would be ~2,000 looks;
  // the wheel looks at each once per turn it passes (and at `near` once).
  EXPECT_LT(sweeper.examined(), 100u * 4 + 10) << sweeper.examined();
  while (fired < 100 && Clock::now() < start + 10s) io.run_for(5ms);
  EXPECT_EQ(fired, 100);
  EXPECT_GE(Clock::now() - start, 200ms);
  sweeper.stop();
  io.restart();
  io.run_for(1s);
}

}  // namespace
}  // namespace kgate
