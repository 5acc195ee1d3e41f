// Coarse per-worker deadlines. Every connection and stream owns Deadline objects; arming one is
// a store of a time point (no timer syscall, no allocation), and one Sweeper per worker fires
// them on a 50 ms tick. Timeouts here are seconds long, so the tick costs nothing in accuracy
// and saves a timer operation per read and write on the hot path.
//
// The sweeper keeps deadlines on a timing wheel, one slot per tick, so a tick looks only at the
// deadlines filed under it: walking every deadline of every idle connection each tick cost ~5%
// of a core with 9,000 idle connections. A deadline is filed under the tick of its due time when
// first armed and stays there when re-armed later (a store, no list work); the sweep of that
// slot files it again under its new time, or drops it if it was disarmed. Only arming a deadline
// earlier than its slot moves it at once.
//
// Rule for callbacks: they run inside the sweep and must only cancel or close I/O, set flags, or
// free memory nobody holds a view into at that moment (an idle TLS connection's record buffers);
// the owners react (and may destroy themselves) in their own coroutines afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

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
  // Where the sweeper has it: a wheel slot (or the list being swept), and the tick's time.
  int slot_ = -1;  // Sweeper::kUnfiled, a slot index, or Sweeper::kSweeping
  Clock::time_point slotTime_{};
  Deadline* prev_ = nullptr;
  Deadline* next_ = nullptr;
};

class Sweeper {
 public:
  // slots * tick is one turn of the wheel: deadlines further away are looked at once per turn.
  explicit Sweeper(const net::any_io_executor& ex,
                   Clock::duration tick = std::chrono::milliseconds(50), size_t slots = 4096);
  void start();  // spawns the sweep loop on the executor
  void stop();
  Clock::time_point now() const { return now_; }  // time of the last tick
  uint64_t examined() const { return examined_; }  // deadlines looked at by sweeps so far

 private:
  friend class Deadline;
  static constexpr int kUnfiled = -1;
  static constexpr int kSweeping = -2;

  awaitable<void> loop();
  void sweep();
  // Files d under the tick of its due time (the next tick if that has passed).
  void file(Deadline* d);
  void unfile(Deadline* d);

  net::steady_timer timer_;
  Clock::duration tick_;
  Clock::time_point now_ = Clock::now();
  Clock::time_point epoch_ = now_;  // tick k is due at epoch_ + k * tick_
  uint64_t nextTick_ = 1;           // the first tick not swept yet
  std::vector<Deadline*> slots_;  // 4096 by default: 204.8 s of 50 ms ticks
  Deadline* sweeping_ = nullptr;  // the slot being swept, taken out of the wheel
  uint64_t examined_ = 0;
  bool stopped_ = false;
};

}  // namespace kgate
