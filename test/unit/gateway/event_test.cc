#include "gateway/event.h"

#include <gtest/gtest.h>

namespace kgate {
namespace {

using namespace std::chrono_literals;

// io.poll() runs every handler that is ready and returns without waiting: a coroutine that is
// still suspended afterwards is really blocked, with no timing involved.
class EventTest : public ::testing::Test {
 protected:
  void poll() {
    io_.restart();
    io_.poll();
  }
  // Takes the coroutine lambda itself, not a call of it: co_spawn keeps the lambda (and so its
  // captures) alive for as long as the coroutine runs. A called temporary would dangle.
  template <class F>
  void spawn(F f) {
    net::co_spawn(io_, std::move(f), [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  }
  net::io_context io_;
  Event event_{io_.get_executor()};
};

TEST_F(EventTest, NotifyBeforeWaitReturnsAtOnce) {
  bool done = false;
  event_.notify();
  spawn([&]() -> awaitable<void> {
    co_await event_.wait();
    done = true;
  });
  poll();
  EXPECT_TRUE(done);
}

TEST_F(EventTest, WaitThenNotifyWakes) {
  bool done = false;
  spawn([&]() -> awaitable<void> {
    co_await event_.wait();
    done = true;
  });
  poll();
  EXPECT_FALSE(done);
  event_.notify();
  poll();
  EXPECT_TRUE(done);
}

TEST_F(EventTest, NotifyFromAnotherCoroutineWakes) {
  bool done = false;
  spawn([&]() -> awaitable<void> {
    co_await event_.wait();
    done = true;
  });
  spawn([&]() -> awaitable<void> {
    event_.notify();
    co_return;
  });
  io_.run_for(10s);  // returns as soon as both coroutines have finished
  EXPECT_TRUE(done);
}

TEST_F(EventTest, EachWaitConsumesOneNotification) {
  int woken = 0;
  event_.notify();
  event_.notify();  // notifications do not accumulate
  spawn([&]() -> awaitable<void> {
    co_await event_.wait();
    ++woken;
    co_await event_.wait();
    ++woken;
  });
  poll();
  EXPECT_EQ(woken, 1);
  event_.notify();
  poll();
  EXPECT_EQ(woken, 2);
}

TEST_F(EventTest, ReusableAcrossManyRounds) {
  int woken = 0;
  spawn([&]() -> awaitable<void> {
    for (int i = 0; i < 5; ++i) {
      co_await event_.wait();
      ++woken;
    }
  });
  for (int i = 1; i <= 5; ++i) {
    poll();
    EXPECT_EQ(woken, i - 1);
    event_.notify();
    poll();
    EXPECT_EQ(woken, i);
  }
}

}  // namespace
}  // namespace kgate
