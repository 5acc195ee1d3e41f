// The streams a client ended (END_STREAM) that have closed since, and a watch over the client's
// bytes for DATA or HEADERS on one of them: RFC 9113 section 5.1 makes such a frame a connection
// error STREAM_CLOSED.
//
// nghttp2 would tell these frames from the rest only by keeping every closed stream (as many as
// SETTINGS_MAX_CONCURRENT_STREAMS per connection) in its priority tree; kgate has it keep none
// (nghttp2_option_set_no_closed_streams): the kept streams held up to ~64 KiB per busy
// connection and made HTTP/2 streams ~8% dearer (cache misses on cold stream memory). Without
// them nghttp2 drops a frame for a closed stream silently, so the session looks at the frame
// headers itself and stops at the first such frame. Only the last kRemembered ended streams are
// known (the RFC lets an endpoint bound how long it tells closed streams apart); frames for a
// stream kgate reset before the client ended it are left to nghttp2, which ignores them, as the
// RFC requires.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kgate::h2 {

class EndedStreams {
 public:
  static constexpr size_t kRemembered = 16;

  void add(int32_t id);
  bool contains(int32_t id) const;

  struct Stop {
    size_t clean;    // bytes of the data nghttp2 may take now (all of them: nothing to stop at)
    bool violation;  // clean ends at DATA or HEADERS on an ended stream: end the session
  };
  // Follows the frames of the client's byte stream (its 24-byte preface first) and stops before
  // DATA or HEADERS on a remembered stream. It also stops, without a violation, before DATA or
  // HEADERS on a stream that a frame earlier in the same data may have closed (END_STREAM,
  // RST_STREAM): the caller hands nghttp2 what comes before, so that the close is known, then
  // scans the rest again. The bytes counted clean are taken as read: hand them all on.
  Stop scan(std::string_view data);

 private:
  static constexpr size_t kClosers = 8;  // streams a frame of one scan may close, looked at
  std::array<int32_t, kRemembered> ids_{};
  size_t next_ = 0;
  int32_t highest_ = 0;           // no id above it is remembered: most frames are told at once
  uint32_t skip_ = 24;            // bytes before the next frame header (the preface, a payload)
  std::array<uint8_t, 9> head_{};  // a frame header split between reads
  size_t headLen_ = 0;
};

}  // namespace kgate::h2
