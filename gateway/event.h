// A one-thread wake-up signal for coroutines of the same worker: wait() suspends until notify()
// (or until cancel). A waiter that arrives after notify() returns at once; each wait consumes
// the notification. Built on a timer that never expires by itself, which is how Asio lets one
// coroutine wake another without a channel's allocation.
#pragma once

#include "gateway/asio.h"

namespace kgate {

class Event {
 public:
  explicit Event(const net::any_io_executor& ex) : timer_(ex) {
    timer_.expires_at(net::steady_timer::time_point::max());
  }

  awaitable<void> wait() {
    if (!pending_) {
      waiting_ = true;
      co_await timer_.async_wait(kUseTuple);
      waiting_ = false;
      timer_.expires_at(net::steady_timer::time_point::max());
    }
    pending_ = false;
  }

  void notify() {
    pending_ = true;
    if (waiting_) timer_.cancel();
  }

 private:
  net::steady_timer timer_;
  bool pending_ = false;
  bool waiting_ = false;
};

}  // namespace kgate
