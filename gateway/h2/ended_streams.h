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

  // Follows the frames of the client's byte stream (its 24-byte preface first). Returns how many
  // bytes of `data` come before a DATA or HEADERS frame on an ended stream (the caller hands
  // only those to nghttp2, then ends the session), or data.size() when there is none. The bytes
  // counted are taken as read: call it once for each piece handed on.
  size_t scan(std::string_view data);

 private:
  std::array<int32_t, kRemembered> ids_{};
  size_t next_ = 0;
  int32_t highest_ = 0;           // no id above it is remembered: most frames are told at once
  uint32_t skip_ = 24;            // bytes before the next frame header (the preface, a payload)
  std::array<uint8_t, 9> head_{};  // a frame header split between reads
  size_t headLen_ = 0;
};

}  // namespace kgate::h2
