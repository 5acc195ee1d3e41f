// The watch for frames on streams the client ended (ended_streams.h): it must follow the frame
// headers of the client's byte stream however the reads cut it, and stop exactly at the first
// DATA or HEADERS frame on a remembered stream.
#include "gateway/h2/ended_streams.h"

#include <gtest/gtest.h>

#include <string>

#include "support/h2_raw_client.h"

namespace kgate::h2 {
namespace {

namespace wire = kgate::test::h2;  // frames as bytes

// Feeds `bytes` in pieces of `piece` bytes; returns the offset where the watch stopped (within a
// frame header split between pieces: the first of its bytes in the piece it stopped in), or the
// size when it did not.
size_t stopsAt(EndedStreams& e, const std::string& bytes, size_t piece) {
  for (size_t at = 0; at < bytes.size(); at += piece) {
    std::string_view part = std::string_view(bytes).substr(at, piece);
    auto stop = e.scan(part);
    if (stop.violation) return at + stop.clean;
    EXPECT_EQ(stop.clean, part.size()) << "a stop that is no violation, at " << at + stop.clean;
  }
  return bytes.size();
}

TEST(EndedStreams, StopsAtDataOrHeadersOnAnEndedStreamHoweverTheBytesArrive) {
  // Stream 1 opens and ends; then HEADERS 3, a DATA on 3 whose payload looks like a frame header
  // for 1, WINDOW_UPDATE and RST_STREAM on 1 (allowed after its end), then DATA on 1.
  std::string opening = std::string(wire::kPreface) + wire::frame(wire::kSettings, 0, 0, "") +
                        wire::frame(wire::kHeaders, 0, 1, "hdrs");
  std::string before = wire::frame(wire::kHeaders, 0, 3, "hdrs") +
                       wire::frame(wire::kData, 0, 3, wire::frame(wire::kData, 0, 1, "xx")) +
                       wire::frame(wire::kWindowUpdate, 0, 1, "wind") +
                       wire::frame(wire::kRstStream, 0, 1, "rst!");
  for (uint8_t type : {wire::kData, wire::kHeaders}) {
    std::string bytes =
        before + wire::frame(type, 0, 1, "late") + wire::frame(wire::kData, 0, 5, "more");
    for (size_t piece = 1; piece <= bytes.size(); ++piece) {
      EndedStreams e;
      ASSERT_EQ(stopsAt(e, opening, 3), opening.size());
      e.add(1);
      size_t stop = stopsAt(e, bytes, piece);
      // At the late frame's header: its first byte, or where the piece holding the rest began.
      EXPECT_GE(stop, before.size()) << "pieces of " << piece;
      EXPECT_LT(stop, before.size() + 9) << "pieces of " << piece;
      EXPECT_TRUE(stop == before.size() || stop % piece == 0) << "pieces of " << piece;
    }
  }
}

TEST(EndedStreams, PassesEverythingWhenNoFrameIsOnAnEndedStream) {
  std::string bytes = std::string(wire::kPreface) + wire::frame(wire::kSettings, 0, 0, "") +
                      wire::frame(wire::kHeaders, 0, 1, "h") +
                      wire::frame(wire::kData, 0, 1, "body") +
                      wire::frame(wire::kHeaders, 0, 3, std::string(70000, 'x'));
  for (size_t piece : {size_t{1}, size_t{5}, size_t{9}, size_t{4096}, bytes.size()}) {
    EndedStreams e;
    e.add(7);
    EXPECT_EQ(stopsAt(e, bytes, piece), bytes.size()) << "pieces of " << piece;
  }
}

// A stream a frame of the same read closes (the client's END_STREAM after kgate's, or its
// RST_STREAM) is only known closed once nghttp2 has read that frame: the scan stops before a
// later DATA or HEADERS on it without calling it a violation, and a scan of the rest after the
// close decides.
TEST(EndedStreams, StopsToLetACloseInTheSameReadBeKnown) {
  std::string opening = std::string(wire::kPreface) + wire::frame(wire::kSettings, 0, 0, "");
  std::string closing = wire::frame(wire::kHeaders, wire::kEndStream, 1, "hdrs") +
                        wire::frame(wire::kRstStream, 0, 1, "rst!") +
                        wire::frame(wire::kHeaders, 0, 3, "hdrs");
  std::string late =
      wire::frame(wire::kData, 0, 1, "late") + wire::frame(wire::kData, 0, 3, "body");
  EndedStreams e;
  ASSERT_EQ(stopsAt(e, opening, opening.size()), opening.size());
  std::string bytes = closing + late;
  auto first = e.scan(bytes);
  EXPECT_FALSE(first.violation);
  EXPECT_EQ(first.clean, closing.size());
  e.add(1);  // what nghttp2's close callback does on reading the RST_STREAM
  auto second = e.scan(std::string_view(bytes).substr(first.clean));
  EXPECT_TRUE(second.violation);
  EXPECT_EQ(second.clean, 0u);

  // Stream 3 was not ended: DATA on it passes, and nothing stops without a closing frame.
  EndedStreams open;
  ASSERT_EQ(stopsAt(open,
                    opening + wire::frame(wire::kHeaders, 0, 3, "h") +
                        wire::frame(wire::kData, 0, 3, "b") + wire::frame(wire::kData, 0, 3, "c"),
                    7),
            opening.size() + 3 * 9 + 3);
}

TEST(EndedStreams, ManyClosesInOneReadAreLookedAtInTurns) {
  std::string opening = std::string(wire::kPreface) + wire::frame(wire::kSettings, 0, 0, "");
  std::string bytes;
  for (int32_t id = 1; id <= 19; id += 2)
    bytes += wire::frame(wire::kHeaders, wire::kEndStream, id, "h");
  EndedStreams e;
  ASSERT_EQ(stopsAt(e, opening, opening.size()), opening.size());
  size_t at = 0, scans = 0;
  while (at < bytes.size()) {
    auto stop = e.scan(std::string_view(bytes).substr(at));
    ASSERT_FALSE(stop.violation);
    ASSERT_GT(stop.clean, 0u);
    at += stop.clean;
    ++scans;
  }
  EXPECT_EQ(scans, 2u);  // eight closes are followed in one scan; the ninth starts another
}

TEST(EndedStreams, RemembersTheLastSixteen) {
  EndedStreams e;
  EXPECT_FALSE(e.contains(1));
  for (int32_t id = 1; id <= 2 * 20; id += 2) e.add(id);
  for (int32_t id = 1; id <= 2 * 20; id += 2) EXPECT_EQ(e.contains(id), id > 2 * 4) << id;
  EXPECT_FALSE(e.contains(41));
  EXPECT_FALSE(e.contains(0));
}

}  // namespace
}  // namespace kgate::h2
