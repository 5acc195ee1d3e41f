// A one-thread wake-up signal for coroutines of the same worker: wait() suspends until notify()
// (or until cancel). A waiter that arrives after notify() returns at once; each wait consumes
// the notification. Built on a timer that never expires by itself, which is how Asio lets one
// coroutine wake another without a channel's allocation.
#pragma once

#include <optional>

#include "gateway/asio.h"

namespace kgate {

class Event {
 public:
  explicit Event(const net::any_io_executor& ex) : ex_(ex) {}

  awaitable<void> wait() {
    if (!pending_) {
      // The timer is made at the first wait: an HTTP/2 stream has two events and most streams
      // never wait on them, while making a timer looks its service up under a mutex.
      if (!timer_) timer_.emplace(ex_, net::steady_timer::time_point::max());
      waiting_ = true;
      co_await timer_->async_wait(kUseTuple);
      waiting_ = false;
      timer_->expires_at(net::steady_timer::time_point::max());
    }
    pending_ = false;
  }

  void notify() {
    pending_ = true;
    if (waiting_) timer_->cancel();
  }

 private:
  net::any_io_executor ex_;
  std::optional<net::steady_timer> timer_;
  bool pending_ = false;
  bool waiting_ = false;
};

}  // namespace kgate
