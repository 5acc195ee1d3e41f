#include "gateway/deadline.h"

namespace kgate {

Deadline::Deadline(Sweeper& sweeper, std::function<void()> onExpire)
    : sweeper_(sweeper), onExpire_(std::move(onExpire)) {
  sweeper_.link(this);
}

Deadline::~Deadline() { sweeper_.unlink(this); }

void Deadline::arm(Clock::duration d) { armAt(Clock::now() + d); }

void Deadline::armAt(Clock::time_point t) {
  due_ = t;
  expired_ = false;
}

void Deadline::disarm() { due_ = Clock::time_point::max(); }

Sweeper::Sweeper(const net::any_io_executor& ex, Clock::duration tick) : timer_(ex), tick_(tick) {}

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
  for (Deadline* d = head_; d != nullptr; d = cursor_) {
    cursor_ = d->next_;
    if (d->due_ <= now_) {
      d->due_ = Clock::time_point::max();
      d->expired_ = true;
      if (d->onExpire_) d->onExpire_();
    }
  }
  cursor_ = nullptr;
}

void Sweeper::link(Deadline* d) {
  d->next_ = head_;
  if (head_) head_->prev_ = d;
  head_ = d;
}

void Sweeper::unlink(Deadline* d) {
  if (cursor_ == d) cursor_ = d->next_;
  if (d->prev_) d->prev_->next_ = d->next_;
  else if (head_ == d) head_ = d->next_;
  if (d->next_) d->next_->prev_ = d->prev_;
  d->prev_ = d->next_ = nullptr;
}

}  // namespace kgate
