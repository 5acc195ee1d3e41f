// Bytes read from a connection and not yet consumed by a parser. Parsed body pieces are views
// into it, valid until the next fill(); release() frees the memory of an idle connection.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace kgate {

class ReadBuffer {
 public:
  std::string_view data() const { return {buf_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  // Free space to read into: at least want bytes (compacting or growing), unless that would
  // make the buffer hold more than maxTotal; empty span when full.
  std::span<char> prepare(size_t want, size_t maxTotal) {
    if (cap_ - end_ >= want) return {buf_.get() + end_, cap_ - end_};
    size_t used = size();
    if (begin_ > 0 && cap_ - used >= want) {
      std::memmove(buf_.get(), buf_.get() + begin_, used);
      begin_ = 0;
      end_ = used;
      return {buf_.get() + end_, cap_ - end_};
    }
    size_t newCap = std::max(cap_ * 2, used + want);
    if (newCap > maxTotal) newCap = std::max(maxTotal, used);
    if (newCap <= used) return {};
    std::unique_ptr<char[]> bigger(new char[newCap]);  // not zeroed: it is about to be filled
    if (used) std::memcpy(bigger.get(), buf_.get() + begin_, used);
    buf_ = std::move(bigger);
    cap_ = newCap;
    begin_ = 0;
    end_ = used;
    return {buf_.get() + end_, cap_ - end_};
  }
  void commit(size_t n) { end_ += n; }

  // Frees the memory when nothing is buffered, unless it is at most keepUpTo bytes.
  void release(size_t keepUpTo = 0) {
    if (empty() && cap_ > keepUpTo) {
      buf_.reset();
      cap_ = begin_ = end_ = 0;
    }
  }

 private:
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0, begin_ = 0, end_ = 0;
};

}  // namespace kgate
