// kgate's own HTTP/2 server connection (gateway/h2/server_connection.h) fed the client frames
// of the test support's builder, one rule of RFC 9113 at a time: what it tells its listener and
// what it answers the client.
#include "gateway/h2/server_connection.h"

#include <gtest/gtest.h>

#include <memory>

#include "gateway/h2/flood_limits.h"
#include "server_connection_recorder.h"
#include "support/h2_raw_client.h"
#include "support/hpack_oracle.h"

namespace kgate::h2 {
namespace {

namespace raw = kgate::test::h2;
using testing::OutFrame;
using testing::Recorder;
using testing::splitFrames;
using frames::ErrorCode;
using frames::Type;

std::string be32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
  return s;
}

uint32_t codeOf(const OutFrame& f) {  // RST_STREAM's or GOAWAY's error code
  return f.type() == Type::GoAway ? frames::goAwayCode(f.payload)
                                  : frames::rstStreamCode(f.payload);
}

std::string get(const std::string& path = "/") { return raw::requestBlock("GET", "a.test", path); }

class ServerConnectionTest : public ::testing::Test {
 protected:
  void start(ServerSettings settings = {}) {
    conn = std::make_unique<ServerConnection>(rec, settings);
    greeting = take();
    feed(std::string(raw::kPreface) + raw::settingsFrame());
    auto ack = take();
    ASSERT_EQ(ack.size(), 1u);
    EXPECT_EQ(ack[0].type(), Type::Settings);
    EXPECT_EQ(ack[0].h.flags, frames::kAck);
  }
  void SetUp() override { start(); }

  std::vector<OutFrame> take() {
    std::string batch;
    conn->take(batch);
    return splitFrames(batch);
  }
  void feed(const std::string& bytes) { EXPECT_EQ(conn->receive(bytes), bytes.size()); }
  void request(uint32_t id, const std::string& block, bool endStream = true) {
    feed(raw::frame(raw::kHeaders, raw::kEndHeaders | (endStream ? raw::kEndStream : 0), id,
                    block));
  }
  // The one frame queued, of that type, and its code.
  uint32_t answer(Type type, uint32_t stream) {
    auto out = take();
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) return 0xffffffff;
    EXPECT_EQ(out[0].type(), type);
    EXPECT_EQ(out[0].h.stream, stream);
    return codeOf(out[0]);
  }
  uint32_t goAway() {
    EXPECT_TRUE(conn->failure());
    auto out = take();
    for (const auto& f : out)
      if (f.type() == Type::GoAway) return codeOf(f);
    ADD_FAILURE() << "no GOAWAY";
    return 0xffffffff;
  }

  Recorder rec;
  std::unique_ptr<ServerConnection> conn;
  std::vector<OutFrame> greeting;
};

TEST_F(ServerConnectionTest, AnnouncesItsSettingsAndConnectionWindow) {
  ASSERT_EQ(greeting.size(), 2u);
  EXPECT_EQ(greeting[0].type(), Type::Settings);
  frames::Settings s;
  ASSERT_FALSE(frames::parseSettings(greeting[0].payload, s));
  EXPECT_EQ(s.maxConcurrentStreams, 256u);
  EXPECT_EQ(s.initialWindowSize, 1u << 20);
  EXPECT_EQ(s.maxHeaderListSize, 64u * 1024);
  EXPECT_EQ(greeting[1].type(), Type::WindowUpdate);
  EXPECT_EQ(frames::windowIncrement(greeting[1].payload), (4u << 20) - 65535);
  EXPECT_FALSE(conn->settingsAcknowledged());
  feed(raw::frame(raw::kSettings, raw::kAck, 0, ""));
  EXPECT_TRUE(conn->settingsAcknowledged());
}

TEST_F(ServerConnectionTest, PrefaceMayComeInPiecesButNotWrong) {
  Recorder r;
  ServerConnection c(r, {});
  std::string preface(raw::kPreface);
  EXPECT_EQ(c.receive(preface.substr(0, 10)), 0u);
  EXPECT_FALSE(c.failure());
  EXPECT_EQ(c.receive(preface + raw::settingsFrame()), preface.size() + 9);

  ServerConnection bad(r, {});
  EXPECT_EQ(bad.receive("GET / HTTP/1.1\r\n"), 16u);
  EXPECT_EQ(bad.failure().code, ErrorCode::Protocol);
}

TEST_F(ServerConnectionTest, FirstFrameMustBeSettings) {
  Recorder r;
  ServerConnection c(r, {});
  std::string bytes = std::string(raw::kPreface) + raw::frame(raw::kPing, 0, 0, "12345678");
  c.receive(bytes);
  EXPECT_EQ(c.failure().code, ErrorCode::Protocol);
}

TEST_F(ServerConnectionTest, PartialFramesWaitForTheRest) {
  std::string bytes = raw::frame(raw::kHeaders, raw::kEndHeaders | raw::kEndStream, 1, get());
  EXPECT_EQ(conn->receive(std::string_view(bytes).substr(0, 5)), 0u);
  EXPECT_TRUE(conn->inHeaderBlock());
  EXPECT_EQ(conn->receive(std::string_view(bytes).substr(0, 12)), 0u);
  EXPECT_TRUE(conn->inHeaderBlock());
  EXPECT_EQ(conn->receive(bytes + "xx"), bytes.size());
  EXPECT_FALSE(conn->inHeaderBlock());
  ASSERT_EQ(rec.order.size(), 1u);
}

TEST_F(ServerConnectionTest, RequestHeadReachesTheListener) {
  request(1, raw::requestBlock("POST", "a.test", "/x?y", {{"content-length", "4"}, {"x-a", "b"}}),
          false);
  ASSERT_EQ(rec.order, std::vector<uint32_t>{1});
  const auto& r = rec.streams[1];
  EXPECT_EQ(r.head.method, "POST");
  EXPECT_EQ(r.head.authority, "a.test");
  EXPECT_EQ(r.head.path, "/x?y");
  EXPECT_EQ(r.head.headers.get("x-a"), "b");
  EXPECT_FALSE(r.headEnded);
  EXPECT_EQ(conn->openStreams(), 1u);
  feed(raw::frame(raw::kData, 0, 1, "ab") + raw::frame(raw::kData, raw::kEndStream, 1, "cd"));
  EXPECT_EQ(rec.streams[1].body, "abcd");
  EXPECT_TRUE(rec.streams[1].ended);
  EXPECT_FALSE(rec.streams[1].closed);
}

TEST_F(ServerConnectionTest, ResponseClosesTheStreamOnceBothSidesEnded) {
  request(1, get());
  http::Headers fields;
  fields.add("content-type", "text/plain");
  ASSERT_TRUE(conn->sendResponse(1, 200, fields, "5", false));
  EXPECT_EQ(conn->sendable(1), 16384u);
  ASSERT_TRUE(conn->sendData(1, "hello", true));
  ASSERT_EQ(rec.streams[1].closed, ErrorCode::NoError);
  EXPECT_EQ(conn->openStreams(), 0u);
  EXPECT_FALSE(conn->sendData(1, "", true));

  auto out = take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type(), Type::Headers);
  EXPECT_EQ(out[0].h.flags, frames::kEndHeaders);
  test::HeaderFields got;
  nghttp2_hd_inflater* inflater;
  nghttp2_hd_inflate_new(&inflater);
  ASSERT_TRUE(test::nghttp2Inflate(inflater, out[0].payload, got));
  nghttp2_hd_inflate_del(inflater);
  EXPECT_EQ(got, (test::HeaderFields{{":status", "200"}, {"content-type", "text/plain"},
                                     {"content-length", "5"}}));
  EXPECT_EQ(out[1].type(), Type::Data);
  EXPECT_EQ(out[1].h.flags, frames::kEndStream);
  EXPECT_EQ(out[1].payload, "hello");
}

// RFC 9113 section 6.5.3: a SETTINGS frame's entries apply in order, so 0 then 4096 empties
// the client's table on the way; the next response block says so before anything else.
TEST_F(ServerConnectionTest, TheClientsHeaderTableSizeReachesTheEncoder) {
  http::Headers fields;
  fields.add("server", "kgate");
  request(1, get());
  ASSERT_TRUE(conn->sendResponse(1, 200, fields, "", true));
  auto first = take();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].payload.substr(0, 3), std::string("\x3f\xe1\x07", 3));  // 1024
  feed(raw::settingsFrame({{frames::kHeaderTableSize, 0}, {frames::kHeaderTableSize, 4096}}));
  take();  // the ACK
  request(3, get());
  ASSERT_TRUE(conn->sendResponse(3, 200, fields, "", true));
  auto second = take();
  ASSERT_EQ(second.size(), 1u);
  // 0, then 1024 again; server, evicted by the 0, is a literal once more.
  EXPECT_EQ(second[0].payload.substr(0, 4), std::string("\x20\x3f\xe1\x07", 4));
  EXPECT_EQ(second[0].payload.size(), first[0].payload.size() + 1);
}

// The last DATA frame closes the stream, and closing returns the unread request bytes to the
// connection's window: that WINDOW_UPDATE goes after the frame, never inside it.
TEST_F(ServerConnectionTest, FramesQueuedByACloseFollowTheLastData) {
  ServerSettings small;
  small.connectionWindow = 65535;
  start(small);
  request(1, raw::requestBlock("POST", "a.test", "/"), false);
  std::string chunk(16384, 'u');
  feed(raw::frame(raw::kData, 0, 1, chunk) + raw::frame(raw::kData, 0, 1, chunk));
  feed(raw::frame(raw::kData, raw::kEndStream, 1, std::string(7232, 'u')));  // none of it read
  ASSERT_TRUE(conn->sendResponse(1, 200, {}, "", false));
  ASSERT_TRUE(conn->sendData(1, "hello", true));
  EXPECT_EQ(rec.streams[1].closed, ErrorCode::NoError);
  auto out = take();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].type(), Type::Data);
  EXPECT_EQ(out[1].payload, "hello");
  EXPECT_EQ(out[2].type(), Type::WindowUpdate);
  EXPECT_EQ(frames::windowIncrement(out[2].payload), 40000u);
}

TEST_F(ServerConnectionTest, HeaderBlockAcrossContinuations) {
  std::string block = get("/long") + raw::hpackLiteral("x-long", std::string(40000, 'v'));
  ServerSettings big;
  big.maxHeaderBytes = 100000;
  start(big);
  feed(raw::frame(raw::kHeaders, raw::kEndStream, 1, block.substr(0, 16000)));
  EXPECT_TRUE(conn->inHeaderBlock());
  feed(raw::frame(raw::kContinuation, 0, 1, block.substr(16000, 16000)));
  EXPECT_TRUE(rec.order.empty());
  feed(raw::frame(raw::kContinuation, raw::kEndHeaders, 1, block.substr(32000)));
  EXPECT_FALSE(conn->inHeaderBlock());
  ASSERT_EQ(rec.order.size(), 1u);
  EXPECT_EQ(rec.streams[1].head.path, "/long");
  EXPECT_EQ(rec.streams[1].head.headers.get("x-long").size(), 40000u);
  EXPECT_TRUE(rec.streams[1].headEnded);
}

TEST_F(ServerConnectionTest, NothingMayInterruptAHeaderBlock) {
  feed(raw::frame(raw::kHeaders, 0, 1, get()));
  feed(raw::frame(raw::kPing, 0, 0, "12345678"));
  EXPECT_EQ(goAway(), raw::kProtocolError);
}

TEST_F(ServerConnectionTest, ContinuationOfAnotherStreamOrNoneIsRefused) {
  feed(raw::frame(raw::kContinuation, raw::kEndHeaders, 1, get()));
  EXPECT_EQ(goAway(), raw::kProtocolError);
  start();
  feed(raw::frame(raw::kHeaders, 0, 1, get()));
  feed(raw::frame(raw::kContinuation, raw::kEndHeaders, 3, ""));
  EXPECT_EQ(goAway(), raw::kProtocolError);
}

TEST_F(ServerConnectionTest, EndlessContinuationsAreAFlood) {
  feed(raw::frame(raw::kHeaders, 0, 1, get()));
  for (size_t i = 0; i < maxContinuations(64 * 1024) && !conn->failure(); ++i)
    feed(raw::frame(raw::kContinuation, 0, 1, ""));
  EXPECT_FALSE(conn->failure());
  feed(raw::frame(raw::kContinuation, 0, 1, ""));
  EXPECT_EQ(goAway(), raw::kEnhanceYourCalm);
}

TEST_F(ServerConnectionTest, StreamIdentifiersAClientMayNotUse) {
  request(2, get());
  EXPECT_EQ(goAway(), raw::kProtocolError);
  start();
  feed(raw::frame(raw::kData, 0, 1, "x"));  // idle
  EXPECT_EQ(goAway(), raw::kProtocolError);
  start();
  feed(raw::windowUpdateFrame(5, 1));
  EXPECT_EQ(goAway(), raw::kProtocolError);
  start();
  feed(raw::rstStreamFrame(7, raw::kCancel));
  EXPECT_EQ(goAway(), raw::kProtocolError);
  start();
  feed(raw::frame(raw::kPriority, 0, 9, be32(9) + "\x10"));
  EXPECT_EQ(goAway(), raw::kProtocolError);
}

TEST_F(ServerConnectionTest, PriorityOnAnIdleStreamIsIgnored) {
  feed(raw::frame(raw::kPriority, 0, 9, be32(3) + "\x10"));
  EXPECT_FALSE(conn->failure());
  request(1, get());  // lower ids stay usable: PRIORITY opens nothing
  EXPECT_EQ(rec.order.size(), 1u);
}

TEST_F(ServerConnectionTest, MalformedRequestIsResetAndHpackStaysInStep) {
  // The bad request puts a field in the dynamic table; the next one refers to it.
  std::string bad = raw::hpackInteger(2, 7, 0x80) /* :method GET */ +
                    raw::hpackIndexedLiteral("x-kept", "v") +
                    raw::hpackLiteral(":path", "/");  // a pseudo-header after a regular field
  request(1, bad);
  EXPECT_EQ(answer(Type::RstStream, 1), raw::kProtocolError);
  EXPECT_TRUE(rec.order.empty());
  request(3, get() + raw::hpackIndexed(62));
  ASSERT_EQ(rec.order, std::vector<uint32_t>{3});
  EXPECT_EQ(rec.streams[3].head.headers.get("x-kept"), "v");
  // DATA the client sent before it saw the reset is dropped.
  feed(raw::frame(raw::kData, raw::kEndStream, 1, "late"));
  EXPECT_FALSE(conn->failure());
}

TEST_F(ServerConnectionTest, BadHpackIsACompressionError) {
  request(1, raw::hpackIndexed(70));
  EXPECT_EQ(goAway(), raw::kCompressionError);
}

TEST_F(ServerConnectionTest, TooLargeHeadStillReachesTheListener) {
  ServerSettings small;
  small.maxHeaderBytes = 200;
  start(small);
  request(1, get() + raw::hpackLiteral("x-big", std::string(300, 'b')));
  ASSERT_EQ(rec.order.size(), 1u);
  EXPECT_TRUE(rec.streams[1].tooLarge);
}

TEST_F(ServerConnectionTest, ContentLengthMustMatchTheBody) {
  auto post = [](const std::string& length) {
    return raw::requestBlock("POST", "a.test", "/", {{"content-length", length}});
  };
  request(1, post("3"), false);
  feed(raw::frame(raw::kData, 0, 1, "abcd"));  // longer
  EXPECT_EQ(answer(Type::RstStream, 1), raw::kProtocolError);
  EXPECT_EQ(rec.streams[1].closed, ErrorCode::Protocol);
  request(3, post("3"), false);
  feed(raw::frame(raw::kData, raw::kEndStream, 3, "ab"));  // shorter
  EXPECT_EQ(answer(Type::RstStream, 3), raw::kProtocolError);
  request(5, post("3"));  // none at all
  EXPECT_EQ(answer(Type::RstStream, 5), raw::kProtocolError);
  EXPECT_EQ(rec.streams.count(5), 0u);
  request(7, post("2"), false);
  feed(raw::frame(raw::kData, 0, 7, "ab"));
  feed(raw::frame(raw::kHeaders, raw::kEndHeaders | raw::kEndStream, 7,
                  raw::hpackLiteral("x-trailer", "t")));
  EXPECT_TRUE(take().empty());
  EXPECT_TRUE(rec.streams[7].ended);
  EXPECT_EQ(rec.streams[7].trailers.get("x-trailer"), "t");
}

TEST_F(ServerConnectionTest, TrailersMustEndTheStream) {
  request(1, get(), false);
  feed(raw::frame(raw::kHeaders, raw::kEndHeaders, 1, raw::hpackLiteral("x-t", "t")));
  EXPECT_EQ(answer(Type::RstStream, 1), raw::kProtocolError);
  request(3, get(), false);
  feed(raw::frame(raw::kHeaders, raw::kEndHeaders | raw::kEndStream, 3,
                  raw::hpackLiteral(":path", "/")));
  EXPECT_EQ(answer(Type::RstStream, 3), raw::kProtocolError);
}

TEST_F(ServerConnectionTest, FramesAfterTheClientEndedAStream) {
  request(1, get());  // half-closed (remote): our response is still due
  feed(raw::frame(raw::kData, 0, 1, "x"));
  EXPECT_EQ(answer(Type::RstStream, 1), raw::kStreamClosed);
  EXPECT_EQ(rec.streams[1].closed, ErrorCode::StreamClosed);
  // Closed after both ended: a connection error, remembered for the last kRemembered streams.
  for (uint32_t id = 3; id < 3 + 2 * ServerConnection::kRemembered; id += 2) {
    request(id, get());
    ASSERT_TRUE(conn->sendResponse(id, 204, {}, "", true));
  }
  take();
  feed(raw::windowUpdateFrame(3, 10));  // allowed after the end (section 5.1)
  feed(raw::rstStreamFrame(5, raw::kCancel));
  feed(raw::frame(raw::kData, 0, 3, "x"));
  EXPECT_EQ(goAway(), raw::kStreamClosed);
}

TEST_F(ServerConnectionTest, FramesOnStreamsWeResetAreDropped) {
  request(1, raw::requestBlock("POST", "a.test", "/"), false);
  conn->reset(1, ErrorCode::Cancel);
  EXPECT_EQ(answer(Type::RstStream, 1), raw::kCancel);
  EXPECT_EQ(rec.streams[1].closed, ErrorCode::Cancel);
  feed(raw::frame(raw::kData, raw::kEndStream, 1, "late"));
  feed(raw::frame(raw::kHeaders, raw::kEndHeaders | raw::kEndStream, 1, raw::hpackLiteral("x", "y")));
  feed(raw::windowUpdateFrame(1, 1));
  EXPECT_FALSE(conn->failure());
  EXPECT_TRUE(take().empty());
}

TEST_F(ServerConnectionTest, ClientResetClosesTheStream) {
  request(1, get(), false);
  feed(raw::rstStreamFrame(1, raw::kCancel));
  EXPECT_EQ(rec.streams[1].closed, ErrorCode::Cancel);
  EXPECT_EQ(conn->openStreams(), 0u);
  EXPECT_FALSE(conn->sendResponse(1, 200, {}, "", true));
}

TEST_F(ServerConnectionTest, FramesAfterTheClientResetAStreamAreStreamClosed) {
  request(1, raw::requestBlock("POST", "a.test", "/"), false);
  request(3, raw::requestBlock("POST", "a.test", "/"), false);
  feed(raw::rstStreamFrame(1, raw::kCancel) + raw::rstStreamFrame(3, raw::kCancel));
  EXPECT_TRUE(take().empty());
  // RFC 9113 section 5.1: any frame but PRIORITY after the client's own RST_STREAM.
  feed(raw::frame(raw::kData, 0, 1, "late"));
  EXPECT_EQ(answer(Type::RstStream, 1), raw::kStreamClosed);
  // Answered once per stream: more frames on it are dropped, as on a stream kgate reset.
  feed(raw::frame(raw::kData, 0, 1, ""));
  EXPECT_TRUE(take().empty());
  // A header block on one is still decoded (HPACK stays in step) before the answer.
  feed(raw::frame(raw::kHeaders, raw::kEndHeaders | raw::kEndStream, 3,
                  raw::hpackIndexedLiteral("x-kept", "v")));
  EXPECT_EQ(answer(Type::RstStream, 3), raw::kStreamClosed);
  request(5, get() + raw::hpackIndexed(62));
  ASSERT_EQ(rec.order, (std::vector<uint32_t>{1, 3, 5}));
  EXPECT_EQ(rec.streams[5].head.headers.get("x-kept"), "v");
  EXPECT_FALSE(conn->failure());
  // A stream the client ended before resetting it stays an ended one: a connection error.
  request(7, get());
  feed(raw::rstStreamFrame(7, raw::kCancel));
  feed(raw::frame(raw::kData, 0, 7, "x"));
  EXPECT_EQ(goAway(), raw::kStreamClosed);
}

TEST_F(ServerConnectionTest, RapidResetIsAFlood) {
  uint32_t id = 1;
  for (uint32_t i = 0; i < kResetBurst; ++i, id += 2) {
    request(id, get(), false);
    feed(raw::rstStreamFrame(id, raw::kCancel));
  }
  EXPECT_FALSE(conn->failure());
  request(id, get(), false);
  feed(raw::rstStreamFrame(id, raw::kCancel));
  EXPECT_EQ(goAway(), raw::kEnhanceYourCalm);
}

TEST_F(ServerConnectionTest, ConcurrentStreamsBeyondTheLimitAreRefused) {
  ServerSettings two;
  two.maxConcurrentStreams = 2;
  start(two);
  request(1, get());
  request(3, get());
  request(5, get());
  EXPECT_EQ(answer(Type::RstStream, 5), raw::kRefusedStream);
  EXPECT_EQ(rec.order.size(), 2u);
  ASSERT_TRUE(conn->sendResponse(1, 204, {}, "", true));
  take();
  request(7, get());
  EXPECT_EQ(rec.order.size(), 3u);
}

TEST_F(ServerConnectionTest, PingIsAnswered) {
  feed(raw::frame(raw::kPing, 0, 0, "pingpong"));
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), Type::Ping);
  EXPECT_EQ(out[0].h.flags, frames::kAck);
  EXPECT_EQ(out[0].payload, "pingpong");
  feed(raw::frame(raw::kPing, raw::kAck, 0, "pingpong"));  // an answer needs none
  EXPECT_TRUE(take().empty());
}

TEST_F(ServerConnectionTest, AnswersPilingUpUntakenAreAFlood) {
  std::string ping = raw::frame(raw::kPing, 0, 0, "12345678");
  for (size_t i = 0; i < kMaxQueuedAcks; ++i) feed(ping);
  EXPECT_FALSE(conn->failure());
  take();  // the owner wrote them: they count no more
  for (size_t i = 0; i < kMaxQueuedAcks; ++i) feed(raw::settingsFrame());
  EXPECT_FALSE(conn->failure());
  feed(ping);
  EXPECT_EQ(goAway(), raw::kEnhanceYourCalm);
}

TEST_F(ServerConnectionTest, SettingsAreChecked) {
  std::vector<std::pair<uint16_t, uint32_t>> many(kMaxSettingsEntries + 1, {0x4, 65535});
  feed(raw::settingsFrame(many));
  EXPECT_EQ(goAway(), raw::kEnhanceYourCalm);
  start();
  feed(raw::settingsFrame({{frames::kMaxFrameSize, 100}}));
  EXPECT_EQ(goAway(), raw::kProtocolError);
  start();
  feed(raw::settingsFrame({{frames::kNoRfc7540Priorities, 1}}));
  feed(raw::settingsFrame({{frames::kNoRfc7540Priorities, 0}}));
  EXPECT_EQ(goAway(), raw::kProtocolError);
  start();
  feed(raw::frame(raw::kSettings, 0, 0, "12345"));
  EXPECT_EQ(goAway(), raw::kFrameSizeError);
}

TEST_F(ServerConnectionTest, FramesOverTheFrameSizeAreRefusedBeforeTheyArrive) {
  std::string head = raw::frame(raw::kData, 0, 1, "").substr(0, 9);
  head[0] = 1;  // 65536 bytes announced
  EXPECT_EQ(conn->receive(head), head.size());
  EXPECT_EQ(goAway(), raw::kFrameSizeError);
}

TEST_F(ServerConnectionTest, SendWindowsFollowTheClient) {
  request(1, get());
  ASSERT_TRUE(conn->sendResponse(1, 200, {}, "", false));
  EXPECT_EQ(conn->sendable(1), 16384u);  // the frame size bounds it
  feed(raw::settingsFrame({{frames::kMaxFrameSize, 100000}}));
  EXPECT_EQ(conn->sendable(1), 65535u);
  feed(raw::settingsFrame({{frames::kInitialWindowSize, 10}}));
  EXPECT_EQ(conn->sendable(1), 10u);
  EXPECT_FALSE(conn->sendData(1, std::string(11, 'x'), false));
  ASSERT_TRUE(conn->sendData(1, std::string(10, 'x'), false));
  EXPECT_EQ(conn->sendable(1), 0u);
  int opened = rec.windowOpened;
  feed(raw::windowUpdateFrame(1, 70000));
  EXPECT_GT(rec.windowOpened, opened);
  EXPECT_EQ(conn->sendable(1), 65535u - 10);  // now the connection's window bounds it
  feed(raw::windowUpdateFrame(0, 100));
  EXPECT_EQ(conn->sendable(1), 65535u - 10 + 100);
  ASSERT_TRUE(conn->sendData(1, "", true));  // an empty end needs no window
  EXPECT_EQ(rec.streams[1].closed, ErrorCode::NoError);
}

TEST_F(ServerConnectionTest, WindowOverflowIsAFlowControlError) {
  request(1, get());
  ASSERT_TRUE(conn->sendResponse(1, 200, {}, "", false));
  take();
  feed(raw::windowUpdateFrame(1, frames::kMaxWindow));
  EXPECT_EQ(answer(Type::RstStream, 1), raw::kFlowControlError);
  feed(raw::windowUpdateFrame(0, frames::kMaxWindow));
  EXPECT_EQ(goAway(), raw::kFlowControlError);
}

TEST_F(ServerConnectionTest, WindowUpdateOfZero) {
  request(1, get(), false);
  feed(raw::windowUpdateFrame(1, 0));
  EXPECT_EQ(answer(Type::RstStream, 1), raw::kProtocolError);
  feed(raw::windowUpdateFrame(0, 0));
  EXPECT_EQ(goAway(), raw::kProtocolError);
}

TEST_F(ServerConnectionTest, ReceiveWindowsReopenAsTheReaderTakesTheBody) {
  ServerSettings small;
  small.streamWindow = 65535;
  small.connectionWindow = 65535 * 2;
  start(small);
  feed(raw::frame(raw::kSettings, raw::kAck, 0, ""));
  request(1, raw::requestBlock("POST", "a.test", "/"), false);
  std::string chunk(16384, 'd');
  for (int i = 0; i < 3; ++i) feed(raw::frame(raw::kData, 0, 1, chunk));
  feed(raw::frame(raw::kData, 0, 1, std::string(16383, 'd')));  // the window is spent
  EXPECT_TRUE(take().empty());
  conn->consume(1, 30000);  // under half a window: nothing announced yet
  EXPECT_TRUE(take().empty());
  conn->consume(1, 10000);
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), Type::WindowUpdate);
  EXPECT_EQ(out[0].h.stream, 1u);
  EXPECT_EQ(frames::windowIncrement(out[0].payload), 40000u);
  feed(raw::frame(raw::kData, 0, 1, std::string(40000 - 16384 * 2, 'd')));
  feed(raw::frame(raw::kData, 0, 1, chunk) + raw::frame(raw::kData, 0, 1, chunk));
  EXPECT_FALSE(conn->failure());
  feed(raw::frame(raw::kData, 0, 1, "x"));  // one byte past the stream's window
  out = take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type(), Type::RstStream);
  EXPECT_EQ(codeOf(out[0]), raw::kFlowControlError);
  // The reset stream's unread bytes go back to the connection.
  EXPECT_EQ(out[1].type(), Type::WindowUpdate);
  EXPECT_EQ(out[1].h.stream, 0u);
  EXPECT_EQ(frames::windowIncrement(out[1].payload), 65535u + 40000 + 1);
}

TEST_F(ServerConnectionTest, ConnectionWindowBoundsAllStreams) {
  ServerSettings small;
  small.connectionWindow = 65535;
  start(small);
  request(1, raw::requestBlock("POST", "a.test", "/"), false);
  request(3, raw::requestBlock("POST", "a.test", "/"), false);
  std::string chunk(16384, 'd');
  feed(raw::frame(raw::kData, 0, 1, chunk) + raw::frame(raw::kData, 0, 1, chunk));
  feed(raw::frame(raw::kData, 0, 3, chunk) + raw::frame(raw::kData, 0, 3, std::string(16383, 'd')));
  EXPECT_FALSE(conn->failure());
  // A closed stream's unread bytes go back to the connection's window.
  conn->reset(1, ErrorCode::Cancel);
  auto out = take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].type(), Type::WindowUpdate);
  EXPECT_EQ(out[1].h.stream, 0u);
  EXPECT_EQ(frames::windowIncrement(out[1].payload), 32768u);
  feed(raw::frame(raw::kData, 0, 3, chunk) + raw::frame(raw::kData, 0, 3, chunk));
  feed(raw::frame(raw::kData, 0, 3, "x"));
  EXPECT_EQ(goAway(), raw::kFlowControlError);
}

TEST_F(ServerConnectionTest, PaddingIsReturnedAtOnce) {
  ServerSettings small;
  small.connectionWindow = 65535;
  start(small);
  request(1, raw::requestBlock("POST", "a.test", "/"), false);
  std::string padded = std::string("\xff") + "ab" + std::string(255, '\0');
  for (int i = 0; i < 130; ++i) feed(raw::frame(raw::kData, frames::kPadded, 1, padded));
  EXPECT_FALSE(conn->failure());
  EXPECT_EQ(rec.streams[1].body.size(), 260u);
}

TEST_F(ServerConnectionTest, GracefulGoAwayFinishesOpenStreams) {
  request(1, get());
  conn->goAway();
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), Type::GoAway);
  EXPECT_EQ(frames::goAwayLastStream(out[0].payload), 1u);
  EXPECT_EQ(codeOf(out[0]), raw::kNoError);
  request(3, get() + raw::hpackIndexedLiteral("x-t", "v"));  // ignored, HPACK kept
  EXPECT_EQ(rec.order.size(), 1u);
  EXPECT_FALSE(conn->finished());
  ASSERT_TRUE(conn->sendResponse(1, 204, {}, "", true));
  EXPECT_TRUE(conn->finished());
  EXPECT_FALSE(conn->failure());
}

// A GOAWAY for an error after a graceful one names no stream the first one left out (6.8).
TEST_F(ServerConnectionTest, ALaterGoAwayKeepsTheFirstOnesLastStream) {
  request(1, get());
  conn->goAway();
  request(3, get());  // ignored
  request(4, get());  // a connection error
  auto out = take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(frames::goAwayLastStream(out[0].payload), 1u);
  EXPECT_EQ(frames::goAwayLastStream(out[1].payload), 1u);
  EXPECT_EQ(codeOf(out[1]), raw::kProtocolError);
}

TEST_F(ServerConnectionTest, CompletedHeaderBlocksAreCounted) {
  EXPECT_EQ(conn->headerBlocks(), 0u);
  request(1, get());
  feed(raw::frame(raw::kHeaders, raw::kEndStream, 3, get()));
  EXPECT_EQ(conn->headerBlocks(), 1u);
  feed(raw::frame(raw::kContinuation, raw::kEndHeaders, 3, ""));
  EXPECT_EQ(conn->headerBlocks(), 2u);
}

TEST_F(ServerConnectionTest, ClientGoAwayEndsTheConnectionOnceIdle) {
  request(1, get());
  feed(raw::frame(raw::kGoaway, 0, 0, be32(0) + be32(0)));
  EXPECT_TRUE(conn->goAwayReceived());
  EXPECT_FALSE(conn->finished());
  ASSERT_TRUE(conn->sendResponse(1, 204, {}, "", true));
  EXPECT_TRUE(conn->finished());
}

TEST_F(ServerConnectionTest, UnknownFramesAreIgnored) {
  feed(raw::frame(0x42, 0xff, 0, "extension") + raw::frame(0x42, 0, 99, "x"));
  EXPECT_FALSE(conn->failure());
  EXPECT_TRUE(take().empty());
}

TEST_F(ServerConnectionTest, SelfDependencyIsRefused) {
  feed(raw::frame(raw::kHeaders, raw::kEndHeaders | raw::kEndStream | frames::kPriority, 1,
                  be32(1) + "\x10" + get()));
  EXPECT_EQ(goAway(), raw::kProtocolError);
}

TEST_F(ServerConnectionTest, InputAfterAFailureIsDropped) {
  request(2, get());
  ASSERT_TRUE(conn->failure());
  take();
  EXPECT_EQ(conn->receive("anything at all"), 15u);
  EXPECT_TRUE(take().empty());
}

TEST_F(ServerConnectionTest, TrailersOfTheResponse) {
  request(1, get());
  http::Headers t;
  t.add("grpc-status", "0");
  EXPECT_FALSE(conn->sendTrailers(1, t));  // no head yet
  ASSERT_TRUE(conn->sendResponse(1, 200, {}, "", false));
  ASSERT_TRUE(conn->sendTrailers(1, t));
  EXPECT_EQ(rec.streams[1].closed, ErrorCode::NoError);
  auto out = take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].type(), Type::Headers);
  EXPECT_EQ(out[1].h.flags, frames::kEndHeaders | frames::kEndStream);
}

}  // namespace
}  // namespace kgate::h2
