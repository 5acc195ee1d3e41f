// Coarse per-worker deadlines. Every connection and stream owns Deadline objects; arming one is
// a store of a time point (no timer syscall, no allocation), and one Sweeper per worker checks
// them all every tick. Timeouts here are seconds long, so a 50 ms tick costs nothing in accuracy
// and saves a timer operation per read and write on the hot path.
//
// Rule for callbacks: they run inside the sweep and must only cancel or close I/O and set flags;
// the owners react (and may destroy themselves) in their own coroutines afterwards.
#pragma once

#include <chrono>
#include <functional>

#include "gateway/asio.h"

namespace kgate {

using Clock = std::chrono::steady_clock;
class Sweeper;

class Deadline {
 public:
  Deadline(Sweeper& sweeper, std::function<void()> onExpire);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(Clock::duration d);    // (re)starts the countdown
  void armAt(Clock::time_point t);
  void disarm();
  bool armed() const { return due_ != Clock::time_point::max(); }
  bool expired() const { return expired_; }  // fired since the last arm

 private:
  friend class Sweeper;
  Sweeper& sweeper_;
  std::function<void()> onExpire_;
  Clock::time_point due_ = Clock::time_point::max();
  bool expired_ = false;
  Deadline* prev_ = nullptr;  // intrusive list of all deadlines of the worker
  Deadline* next_ = nullptr;
};

class Sweeper {
 public:
  explicit Sweeper(const net::any_io_executor& ex,
                   Clock::duration tick = std::chrono::milliseconds(50));
  void start();  // spawns the sweep loop on the executor
  void stop();
  Clock::time_point now() const { return now_; }  // time of the last tick

 private:
  friend class Deadline;
  awaitable<void> loop();
  void sweep();
  void link(Deadline* d);
  void unlink(Deadline* d);

  net::steady_timer timer_;
  Clock::duration tick_;
  Clock::time_point now_ = Clock::now();
  Deadline* head_ = nullptr;
  Deadline* cursor_ = nullptr;  // next node of an ongoing sweep; fixed up when it is unlinked
  bool stopped_ = false;
};

}  // namespace kgate
