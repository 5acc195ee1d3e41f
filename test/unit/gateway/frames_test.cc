// HTTP/2 frames (gateway/h2/frames.h): frames built by the test support's own builder
// (test/support/h2_raw_client.h) checked against RFC 9113 section 6's rules, and the frames a
// server writes read back.
#include "gateway/h2/frames.h"

#include <gtest/gtest.h>

#include <string>

#include "support/h2_raw_client.h"

namespace kgate::h2::frames {
namespace {

namespace raw = kgate::test::h2;

std::string be32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
  return s;
}

// checkClientFrame on whole frame bytes.
Violation check(const std::string& bytes, uint32_t maxFrameSize = kDefaultMaxFrameSize) {
  Header h = parseHeader(bytes.data());
  return checkClientFrame(h, std::string_view(bytes).substr(kHeaderSize), maxFrameSize);
}

TEST(H2Frames, HeaderReadsWhatTheBuilderWrites) {
  std::string bytes = raw::frame(raw::kHeaders, raw::kEndHeaders, 7, "abc");
  Header h = parseHeader(bytes.data());
  EXPECT_EQ(h.length, 3u);
  EXPECT_EQ(h.type, static_cast<uint8_t>(Type::Headers));
  EXPECT_EQ(h.flags, kEndHeaders);
  EXPECT_EQ(h.stream, 7u);
  std::string ours;
  appendHeader(ours, 3, Type::Headers, kEndHeaders, 7);
  EXPECT_EQ(ours, bytes.substr(0, kHeaderSize));
  // The reserved bit is not part of the stream identifier (section 4.1).
  ours[5] = static_cast<char>(ours[5] | 0x80);
  EXPECT_EQ(parseHeader(ours.data()).stream, 7u);
}

TEST(H2Frames, SoundClientFramesPass) {
  const std::string frames[] = {
      raw::frame(raw::kData, raw::kEndStream, 1, "body"),
      raw::frame(raw::kData, kPadded, 1, std::string("\x02") + "ab" + std::string(2, '\0')),
      raw::frame(raw::kData, kPadded, 1, std::string("\x03") + std::string(3, '\0')),  // all pad
      raw::frame(raw::kHeaders, raw::kEndHeaders, 1, "block"),
      raw::frame(raw::kHeaders, kPriority, 3, be32(1) + "\x10" + "block"),
      raw::frame(raw::kPriority, 0, 5, be32(3) + "\x10"),
      raw::rstStreamFrame(1, raw::kCancel),
      raw::settingsFrame({{kMaxConcurrentStreams, 100}}),
      raw::frame(raw::kSettings, raw::kAck, 0, ""),
      raw::frame(raw::kPing, 0, 0, "12345678"),
      raw::frame(raw::kGoaway, 0, 0, be32(0) + be32(0) + "debug"),
      raw::windowUpdateFrame(0, 1),
      raw::windowUpdateFrame(1, 65535),
      raw::frame(raw::kContinuation, raw::kEndHeaders, 1, "more"),
      raw::frame(0x42, 0xff, 9, "an extension's frame"),
      raw::frame(raw::kData, 0, 1, std::string(kDefaultMaxFrameSize, 'x')),
  };
  for (const auto& f : frames) EXPECT_FALSE(check(f)) << "frame type " << int(f[3]);
}

TEST(H2Frames, BrokenClientFramesAreRefused) {
  struct Case {
    const char* what;
    std::string bytes;
    ErrorCode code;
    bool streamOnly = false;
  };
  const Case cases[] = {
      {"over SETTINGS_MAX_FRAME_SIZE",
       raw::frame(raw::kData, 0, 1, std::string(kDefaultMaxFrameSize + 1, 'x')),
       ErrorCode::FrameSize},
      {"DATA on stream 0", raw::frame(raw::kData, 0, 0, "x"), ErrorCode::Protocol},
      {"DATA padded, no pad length", raw::frame(raw::kData, kPadded, 1, ""), ErrorCode::FrameSize},
      {"DATA padding past its end", raw::frame(raw::kData, kPadded, 1, "\x04" "abc"),
       ErrorCode::Protocol},
      {"HEADERS on stream 0", raw::frame(raw::kHeaders, raw::kEndHeaders, 0, "x"),
       ErrorCode::Protocol},
      {"HEADERS too short for its priority", raw::frame(raw::kHeaders, kPriority, 1, "abcd"),
       ErrorCode::FrameSize},
      {"HEADERS padding over the block",
       raw::frame(raw::kHeaders, kPadded | kPriority, 1, "\x02" + be32(0) + "\x10" + "a"),
       ErrorCode::Protocol},
      {"PRIORITY on stream 0", raw::frame(raw::kPriority, 0, 0, be32(1) + "\x10"),
       ErrorCode::Protocol},
      {"PRIORITY of 4 bytes", raw::frame(raw::kPriority, 0, 1, be32(1)), ErrorCode::FrameSize},
      {"RST_STREAM on stream 0", raw::rstStreamFrame(0, raw::kCancel), ErrorCode::Protocol},
      {"RST_STREAM of 3 bytes", raw::frame(raw::kRstStream, 0, 1, "abc"), ErrorCode::FrameSize},
      {"SETTINGS on a stream", raw::frame(raw::kSettings, 0, 1, ""), ErrorCode::Protocol},
      {"SETTINGS ACK with a payload", raw::frame(raw::kSettings, raw::kAck, 0, "abcdef"),
       ErrorCode::FrameSize},
      {"SETTINGS of 7 bytes", raw::frame(raw::kSettings, 0, 0, "abcdefg"), ErrorCode::FrameSize},
      {"PUSH_PROMISE from a client", raw::frame(raw::kPushPromise, raw::kEndHeaders, 1,
                                                be32(2) + "x"),
       ErrorCode::Protocol},
      {"PING on a stream", raw::frame(raw::kPing, 0, 1, "12345678"), ErrorCode::Protocol},
      {"PING of 7 bytes", raw::frame(raw::kPing, 0, 0, "1234567"), ErrorCode::FrameSize},
      {"GOAWAY on a stream", raw::frame(raw::kGoaway, 0, 1, be32(0) + be32(0)),
       ErrorCode::Protocol},
      {"GOAWAY of 7 bytes", raw::frame(raw::kGoaway, 0, 0, "1234567"), ErrorCode::FrameSize},
      {"WINDOW_UPDATE of 5 bytes", raw::frame(raw::kWindowUpdate, 0, 0, "12345"),
       ErrorCode::FrameSize},
      {"WINDOW_UPDATE of 0 on the connection", raw::windowUpdateFrame(0, 0), ErrorCode::Protocol},
      {"WINDOW_UPDATE of 0 on a stream", raw::windowUpdateFrame(3, 0), ErrorCode::Protocol, true},
      {"WINDOW_UPDATE of 0 behind the reserved bit",
       raw::frame(raw::kWindowUpdate, 0, 0, be32(0x80000000)), ErrorCode::Protocol},
      {"HEADERS padded, no pad length", raw::frame(raw::kHeaders, kPadded | raw::kEndHeaders, 1,
                                                   ""),
       ErrorCode::FrameSize},
      {"CONTINUATION on stream 0", raw::frame(raw::kContinuation, raw::kEndHeaders, 0, "x"),
       ErrorCode::Protocol},
  };
  for (const auto& c : cases) {
    Violation v = check(c.bytes);
    EXPECT_EQ(v.code, c.code) << c.what;
    EXPECT_EQ(v.streamOnly, c.streamOnly) << c.what;
  }
  // A larger SETTINGS_MAX_FRAME_SIZE lets the large frame through.
  EXPECT_FALSE(check(raw::frame(raw::kData, 0, 1, std::string(kDefaultMaxFrameSize + 1, 'x')),
                     kDefaultMaxFrameSize * 2));
}

TEST(H2Frames, ContentLeavesOutPaddingAndPriority) {
  auto contentOf = [](const std::string& bytes) {
    Header h = parseHeader(bytes.data());
    return std::string(content(h, std::string_view(bytes).substr(kHeaderSize)));
  };
  EXPECT_EQ(contentOf(raw::frame(raw::kData, 0, 1, "body")), "body");
  EXPECT_EQ(contentOf(raw::frame(raw::kData, kPadded, 1, "\x03" "body" + std::string(3, '\0'))),
            "body");
  EXPECT_EQ(contentOf(raw::frame(raw::kData, kPadded, 1, std::string(1, '\0'))), "");
  std::string prioritised = raw::frame(raw::kHeaders, kPadded | kPriority | raw::kEndHeaders, 5,
                                       "\x02" + be32(0x80000003) + "\x10" + "block" + "pp");
  EXPECT_EQ(contentOf(prioritised), "block");
  Header h = parseHeader(prioritised.data());
  EXPECT_EQ(priorityDependency(h, std::string_view(prioritised).substr(kHeaderSize)), 3u);
  std::string priority = raw::frame(raw::kPriority, 0, 5, be32(5) + "\x10");
  EXPECT_EQ(priorityDependency(parseHeader(priority.data()),
                               std::string_view(priority).substr(kHeaderSize)),
            5u);  // on itself: the codec's stream error to give
}

TEST(H2Frames, SettingsAreReadAndBoundsHeld) {
  Settings s;
  std::string payload = raw::settingsFrame({{kHeaderTableSize, 0},
                                            {kMaxConcurrentStreams, 100},
                                            {kInitialWindowSize, kMaxWindow},
                                            {kMaxFrameSize, kLargestMaxFrameSize},
                                            {kMaxHeaderListSize, 8192},
                                            {0x42, 7},  // unknown: ignored
                                            {kEnablePush, 0},
                                            {kNoRfc7540Priorities, 1}})
                            .substr(kHeaderSize);
  ASSERT_FALSE(parseSettings(payload, s));
  EXPECT_EQ(s.headerTableSize, 0u);
  EXPECT_EQ(s.maxConcurrentStreams, 100u);
  EXPECT_EQ(s.initialWindowSize, kMaxWindow);
  EXPECT_EQ(s.maxFrameSize, kLargestMaxFrameSize);
  EXPECT_EQ(s.maxHeaderListSize, 8192u);
  EXPECT_EQ(s.enablePush, 0u);
  EXPECT_EQ(s.noRfc7540Priorities, 1u);

  auto refused = [](uint16_t id, uint32_t value) {
    Settings ignored;
    return parseSettings(raw::settingsFrame({{id, value}}).substr(kHeaderSize), ignored).code;
  };
  EXPECT_EQ(refused(kEnablePush, 2), ErrorCode::Protocol);
  EXPECT_EQ(refused(kInitialWindowSize, kMaxWindow + 1), ErrorCode::FlowControl);
  EXPECT_EQ(refused(kMaxFrameSize, kDefaultMaxFrameSize - 1), ErrorCode::Protocol);
  EXPECT_EQ(refused(kMaxFrameSize, kLargestMaxFrameSize + 1), ErrorCode::Protocol);
  EXPECT_EQ(refused(kNoRfc7540Priorities, 2), ErrorCode::Protocol);
  EXPECT_EQ(refused(kMaxFrameSize, kDefaultMaxFrameSize), ErrorCode::NoError);
}

TEST(H2Frames, ServerFramesAreWhatTheRfcSays) {
  std::string out;
  appendSettings(out, {{kMaxConcurrentStreams, 256}, {kEnablePush, 0}});
  EXPECT_EQ(out, raw::settingsFrame({{kMaxConcurrentStreams, 256}, {kEnablePush, 0}}));
  out.clear();
  appendSettingsAck(out);
  EXPECT_EQ(out, raw::frame(raw::kSettings, raw::kAck, 0, ""));
  out.clear();
  appendPingAck(out, "12345678");
  EXPECT_EQ(out, raw::frame(raw::kPing, raw::kAck, 0, "12345678"));
  out.clear();
  appendWindowUpdate(out, 3, 1000);
  EXPECT_EQ(out, raw::windowUpdateFrame(3, 1000));
  out.clear();
  appendRstStream(out, 3, ErrorCode::RefusedStream);
  EXPECT_EQ(out, raw::rstStreamFrame(3, raw::kRefusedStream));
  out.clear();
  appendGoAway(out, 7, ErrorCode::EnhanceYourCalm, "flood");
  std::string_view payload = std::string_view(out).substr(kHeaderSize);
  EXPECT_EQ(parseHeader(out.data()).type, static_cast<uint8_t>(Type::GoAway));
  EXPECT_EQ(goAwayLastStream(payload), 7u);
  EXPECT_EQ(goAwayCode(payload), static_cast<uint32_t>(ErrorCode::EnhanceYourCalm));
  EXPECT_EQ(payload.substr(8), "flood");
  EXPECT_FALSE(check(out));
  out.clear();
  appendDataHeader(out, 5, 1000, true);
  Header h = parseHeader(out.data());
  EXPECT_EQ(h.length, 1000u);
  EXPECT_EQ(h.flags, kEndStream);
  EXPECT_EQ(rstStreamCode(raw::rstStreamFrame(1, raw::kCancel).substr(kHeaderSize)),
            static_cast<uint32_t>(ErrorCode::Cancel));
}

TEST(H2Frames, LargeHeaderBlocksContinue) {
  std::string block(40000, 'h');
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>('a' + i % 26);
  std::string out;
  appendHeaders(out, 9, block, true, kDefaultMaxFrameSize);
  std::string joined;
  std::vector<Header> heads;
  for (size_t at = 0; at < out.size();) {
    Header h = parseHeader(out.data() + at);
    heads.push_back(h);
    joined.append(out, at + kHeaderSize, h.length);
    at += kHeaderSize + h.length;
  }
  EXPECT_EQ(joined, block);
  ASSERT_EQ(heads.size(), 3u);
  EXPECT_EQ(heads[0].type, static_cast<uint8_t>(Type::Headers));
  EXPECT_EQ(heads[0].flags, kEndStream);
  EXPECT_EQ(heads[0].length, kDefaultMaxFrameSize);
  EXPECT_EQ(heads[1].type, static_cast<uint8_t>(Type::Continuation));
  EXPECT_EQ(heads[1].flags, 0);
  EXPECT_EQ(heads[2].type, static_cast<uint8_t>(Type::Continuation));
  EXPECT_EQ(heads[2].flags, kEndHeaders);
  EXPECT_EQ(heads[2].length, 40000 - 2 * kDefaultMaxFrameSize);
  for (const auto& h : heads) EXPECT_EQ(h.stream, 9u);

  out.clear();
  appendHeaders(out, 1, "", false, kDefaultMaxFrameSize);  // an empty block still has a frame
  EXPECT_EQ(out, raw::frame(raw::kHeaders, raw::kEndHeaders, 1, ""));

  // Exactly two frames' worth, the stream going on: no empty CONTINUATION, no END_STREAM.
  std::string two(2 * kDefaultMaxFrameSize, 'h');
  out.clear();
  appendHeaders(out, 3, two, false, kDefaultMaxFrameSize);
  ASSERT_EQ(out.size(), 2 * (kHeaderSize + kDefaultMaxFrameSize));
  Header first = parseHeader(out.data());
  Header second = parseHeader(out.data() + kHeaderSize + kDefaultMaxFrameSize);
  EXPECT_EQ(first.flags, 0);
  EXPECT_EQ(second.type, static_cast<uint8_t>(Type::Continuation));
  EXPECT_EQ(second.flags, kEndHeaders);
}

}  // namespace
}  // namespace kgate::h2::frames
