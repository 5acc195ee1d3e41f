#include "gateway/deadline.h"

#include <algorithm>
#include <utility>

namespace kgate {

Deadline::Deadline(Sweeper& sweeper, std::function<void()> onExpire)
    : sweeper_(sweeper), onExpire_(std::move(onExpire)) {}

Deadline::~Deadline() {
  if (slot_ != Sweeper::kUnfiled) sweeper_.unfile(this);
}

void Deadline::arm(Clock::duration d) { armAt(Clock::now() + d); }

void Deadline::armAt(Clock::time_point t) {
  due_ = t;
  expired_ = false;
  // Later than its slot (the usual re-arm of a countdown): the slot's sweep files it again.
  if (slot_ == Sweeper::kUnfiled || t < slotTime_) sweeper_.file(this);
}

void Deadline::disarm() { due_ = Clock::time_point::max(); }  // dropped when its slot is swept

Sweeper::Sweeper(const net::any_io_executor& ex, Clock::duration tick, size_t slots)
    : timer_(ex),
      tick_(std::max(tick, Clock::duration(std::chrono::milliseconds(1)))),
      slots_(std::max(slots, size_t{1}), nullptr) {}

void Sweeper::start() {
  net::co_spawn(timer_.get_executor(), loop(), net::detached);
}

void Sweeper::stop() {
  stopped_ = true;
  timer_.cancel();
}

awaitable<void> Sweeper::loop() {
  while (!stopped_) {
    timer_.expires_after(tick_);
    co_await timer_.async_wait(kUseTuple);
    if (stopped_) break;
    sweep();
  }
}

void Sweeper::sweep() {
  now_ = Clock::now();
  // Every tick whose time has come: a late sweep catches up, tick by tick.
  while (epoch_ + nextTick_ * tick_ <= now_) {
    uint64_t tick = nextTick_++;  // advanced first: nothing is filed again under this tick
    sweeping_ = std::exchange(slots_[tick % slots_.size()], nullptr);
    for (Deadline* d = sweeping_; d != nullptr; d = d->next_) d->slot_ = kSweeping;
    // Always the first of the list: a callback may destroy any deadline, this one included.
    while (Deadline* d = sweeping_) {
      unfile(d);
      ++examined_;
      if (d->due_ == Clock::time_point::max()) continue;  // disarmed since it was filed
      if (d->due_ > now_) {
        file(d);  // re-armed later since it was filed
        continue;
      }
      d->due_ = Clock::time_point::max();
      d->expired_ = true;
      if (d->onExpire_) d->onExpire_();
    }
  }
}

void Sweeper::file(Deadline* d) {
  if (d->slot_ != kUnfiled) unfile(d);
  uint64_t tick = nextTick_;
  if (d->due_ > epoch_ + tick * tick_) {
    // The first tick at or after the due time.
    tick = static_cast<uint64_t>((d->due_ - epoch_ + tick_ - Clock::duration(1)) / tick_);
  }
  d->slot_ = static_cast<int>(tick % slots_.size());
  d->slotTime_ = epoch_ + tick * tick_;
  Deadline*& head = slots_[static_cast<size_t>(d->slot_)];
  d->prev_ = nullptr;
  d->next_ = head;
  if (head) head->prev_ = d;
  head = d;
}

void Sweeper::unfile(Deadline* d) {
  Deadline*& head = d->slot_ == kSweeping ? sweeping_ : slots_[static_cast<size_t>(d->slot_)];
  if (d->prev_) d->prev_->next_ = d->next_;
  else head = d->next_;
  if (d->next_) d->next_->prev_ = d->prev_;
  d->prev_ = d->next_ = nullptr;
  d->slot_ = kUnfiled;
}

}  // namespace kgate
