#include "gateway/h2/stream_state.h"

#include <algorithm>

namespace kgate::h2 {
namespace {

// Inbound body blocks, recycled per thread. Growing a fresh buffer for every stream cost an
// upload about a fifth of kgate's CPU: reallocation copies, and page faults because the allocator
// hands big blocks back to the kernel between streams. Up to 16 blocks (256-512 KiB each) kept
// per worker make the steady state allocation-free.
constexpr size_t kPooledBlocks = 16;

struct BodyBlockPool {
  std::vector<std::string> free;

  // An empty block with room for at least `want` bytes (a whole block for bulk data).
  std::string take(size_t want) {
    if (!free.empty()) {
      std::string s = std::move(free.back());
      free.pop_back();
      return s;
    }
    std::string s;
    s.reserve(want >= kBodyBlock / 4 ? kBodyBlock : want);
    return s;
  }
  void give(std::string& s) {
    if (s.capacity() >= kBodyBlock && s.capacity() <= 2 * kBodyBlock &&
        free.size() < kPooledBlocks) {
      s.clear();
      free.push_back(std::move(s));
    }
    s = std::string();
  }
};

BodyBlockPool& bodyBlocks() {
  thread_local BodyBlockPool pool;
  return pool;
}

}  // namespace

StreamState::~StreamState() {
  dropBody(*this);
  bodyBlocks().give(handed);
}

void bufferBody(StreamState& s, std::string_view data) {
  while (!data.empty()) {
    if (s.inBlocks.empty() || s.inBlocks.back().size() >= kBodyBlock)
      s.inBlocks.push_back(bodyBlocks().take(data.size()));
    std::string& block = s.inBlocks.back();
    size_t n = std::min(data.size(), kBodyBlock - block.size());
    block.append(data.substr(0, n));
    data.remove_prefix(n);
  }
}

bool takeBody(StreamState& s, http::BodyChunk& out) {
  if (!s.inBlocks.empty()) {
    s.handed = std::move(s.inBlocks[s.inFront++]);
    if (s.inFront == s.inBlocks.size()) s.inBlocks.clear(), s.inFront = 0;
    bool last = s.inEnd && s.inBlocks.empty();
    out = http::BodyChunk{s.handed, last, last && !s.inTrailers.empty() ? &s.inTrailers : nullptr};
    s.bodyBytesRead += s.handed.size();
    return true;
  }
  if (s.inEnd) {
    out = http::BodyChunk{{}, true, s.inTrailers.empty() ? nullptr : &s.inTrailers};
    return true;
  }
  return false;
}

size_t releaseHanded(StreamState& s) {
  size_t n = s.handed.size();
  bodyBlocks().give(s.handed);
  return n;
}

void dropBody(StreamState& s) {
  for (auto& b : s.inBlocks) bodyBlocks().give(b);
  s.inBlocks.clear();
  s.inFront = 0;
}

awaitable<Error> awaitPieceTaken(StreamState& s, size_t size, bool endStream, const bool& dead) {
  while ((!s.outData.empty() || (endStream && !s.outFinished)) && !s.closed && !dead)
    co_await s.outEvent.wait();
  // Closed or not, bytes of this piece may be in the batch being written: they must stay.
  while (s.outHeld) co_await s.outEvent.wait();
  s.outBorrowed = false;
  if (!s.outData.empty() || (endStream && !s.outFinished)) {
    s.outData = {};
    co_return Error::PeerClosed;
  }
  pieceTaken(s, size, endStream);
  co_return Error::Ok;
}

void Splices::add(size_t at, std::string_view payload, const std::shared_ptr<StreamState>& writer) {
  splices_.push_back({at, payload});
  bytes_ += payload.size();
  if (!writer->outHeld) held_.push_back(writer);
  writer->outHeld = true;
}

std::vector<std::string_view>& Splices::pieces(std::string_view copied) {
  pieces_.clear();
  size_t from = 0;
  for (const Splice& s : splices_) {
    pieces_.push_back(copied.substr(from, s.at - from));
    pieces_.push_back(s.bytes);
    from = s.at;
  }
  pieces_.push_back(copied.substr(from));
  return pieces_;
}

void Splices::release() {
  for (auto& s : held_) {
    s->outHeld = false;
    s->outEvent.notify();
  }
  held_.clear();
  splices_.clear();
  bytes_ = 0;
}

}  // namespace kgate::h2
