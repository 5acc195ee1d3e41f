#include "gateway/h2/ended_streams.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

#include "gateway/h2/frames.h"

namespace kgate::h2 {

void EndedStreams::add(int32_t id) {
  ids_[next_] = id;
  next_ = (next_ + 1) % ids_.size();
  highest_ = std::max(highest_, id);
}

bool EndedStreams::contains(int32_t id) const {
  if (id <= 0 || id > highest_) return false;
  return std::find(ids_.begin(), ids_.end(), id) != ids_.end();
}

EndedStreams::Stop EndedStreams::scan(std::string_view data) {
  std::array<int32_t, kClosers> closers;  // streams frames of this scan may have closed
  size_t closerCount = 0;
  size_t i = 0;
  while (i < data.size()) {
    if (skip_ > 0) {
      size_t n = std::min<size_t>(skip_, data.size() - i);
      skip_ -= static_cast<uint32_t>(n);
      i += n;
      continue;
    }
    size_t n = std::min(head_.size() - headLen_, data.size() - i);
    std::memcpy(head_.data() + headLen_, data.data() + i, n);
    if (headLen_ + n < head_.size()) {  // the rest of the header comes with the next read
      headLen_ += n;
      return {data.size(), false};
    }
    const frames::Header h = frames::parseHeader(reinterpret_cast<const char*>(head_.data()));
    uint32_t length = h.length;
    uint8_t type = h.type;
    bool endStream = (h.flags & frames::kEndStream) != 0;
    int32_t id = static_cast<int32_t>(h.stream);
    bool dataOrHeaders = type == NGHTTP2_DATA || type == NGHTTP2_HEADERS;
    if (dataOrHeaders && contains(id)) return {i, true};
    bool closes = (dataOrHeaders && endStream) || type == NGHTTP2_RST_STREAM;
    if (dataOrHeaders || closes) {
      bool closedHere = std::find(closers.begin(), closers.begin() + closerCount, id) !=
                        closers.begin() + closerCount;
      // Whether it did close is known once nghttp2 has read up to here.
      if ((dataOrHeaders && closedHere) || (closes && !closedHere && closerCount == kClosers))
        return {i, false};
      if (closes && !closedHere) closers[closerCount++] = id;
    }
    i += n;
    headLen_ = 0;
    skip_ = length;
  }
  return {data.size(), false};
}

}  // namespace kgate::h2
