// readHead/readBody over a connected pair of TCP sockets on 127.0.0.1.
#include <gtest/gtest.h>

#include <boost/asio/write.hpp>

#include <functional>
#include <optional>

#include "gateway/h1/parser.h"

namespace kgate::h1 {
namespace {

using namespace std::chrono_literals;

class ParserIo : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    peer_.emplace(io_);
    peer_->connect(acceptor.local_endpoint());
    transport_.emplace(acceptor.accept());
  }

  // Writes text from the peer side and waits until the transport has read all of it, so each
  // piece is a separate read.
  awaitable<void> send(std::string_view text) {
    net::write(*peer_, net::buffer(text.data(), text.size()));
    written_ += text.size();
    net::steady_timer t(io_);
    auto deadline = Clock::now() + 5s;
    while (!readerDone_ && transport_->bytesRead() < written_ && Clock::now() < deadline) {
      t.expires_after(1ms);
      co_await t.async_wait(kUseTuple);
    }
  }

  void closePeerWrite() { peer_->shutdown(tcp::socket::shutdown_send); }

  // Runs the reader and the writer together; fails the test if they do not both finish.
  void run(std::function<awaitable<void>()> reader, std::function<awaitable<void>()> writer) {
    bool writerDone = false;
    net::co_spawn(io_, [&]() -> awaitable<void> { co_await reader(); readerDone_ = true; },
                  [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    net::co_spawn(io_, [&]() -> awaitable<void> { co_await writer(); writerDone = true; },
                  [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    io_.run_for(10s);
    EXPECT_TRUE(readerDone_);
    EXPECT_TRUE(writerDone);
  }

  using Clock = std::chrono::steady_clock;
  net::io_context io_;
  std::optional<tcp::socket> peer_;
  std::optional<Transport> transport_;
  ReadBuffer buf_;
  size_t written_ = 0;
  bool readerDone_ = false;
};

// Reads the whole body; returns the error that ended it.
template <bool R>
awaitable<Error> readAll(Transport& t, ReadBuffer& buf, Parser<R>& p, std::string& body,
                         const http::Headers** trailers = nullptr) {
  for (int guard = 0; guard < 1000; ++guard) {
    http::BodyChunk chunk;
    Error e = co_await readBody(t, buf, p, chunk);
    if (e != Error::Ok) co_return e;
    body.append(chunk.data);
    if (chunk.last) {
      if (trailers) *trailers = chunk.trailers;
      co_return Error::Ok;
    }
  }
  co_return Error::Protocol;
}

TEST_F(ParserIo, HeadSplitAcrossSeveralWrites) {
  RequestParser p(8192, 100);
  Error e = Error::Aborted;
  run(
      [&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 8192 + 4096); },
      [&]() -> awaitable<void> {
        co_await send("GET /x");
        co_await send("yz HTTP/1.1\r\nHo");
        co_await send("st: svc.bob.svc:8080\r");
        co_await send("\nKuscia-Source: evil\r\n");
        co_await send("\r\n");
      });
  EXPECT_EQ(e, Error::Ok);
  EXPECT_TRUE(p.headerDone());
  EXPECT_EQ(p.method, "GET");
  EXPECT_EQ(p.target, "/xyz");
  EXPECT_EQ(p.host, "svc.bob.svc:8080");
  EXPECT_EQ(p.headers.get("kuscia-source"), "evil");
}

TEST_F(ParserIo, HeadAndBodyInOneWriteLeavesTheBodyInTheBuffer) {
  RequestParser p(8192, 100);
  Error he = Error::Aborted, be = Error::Aborted;
  std::string body;
  run(
      [&]() -> awaitable<void> {
        he = co_await readHead(*transport_, buf_, p, 8192 + 4096);
        be = co_await readAll(*transport_, buf_, p, body);
      },
      [&]() -> awaitable<void> {
        co_await send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world");
      });
  EXPECT_EQ(he, Error::Ok);
  EXPECT_EQ(be, Error::Ok);
  EXPECT_EQ(body, "hello world");
}

TEST_F(ParserIo, ChunkedBodySplitMidChunkHeader) {
  RequestParser p(8192, 100);
  Error he = Error::Aborted, be = Error::Aborted;
  std::string body;
  const http::Headers* trailers = nullptr;
  run(
      [&]() -> awaitable<void> {
        he = co_await readHead(*transport_, buf_, p, 8192 + 4096);
        be = co_await readAll(*transport_, buf_, p, body, &trailers);
      },
      [&]() -> awaitable<void> {
        co_await send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
        co_await send("lo\r\n1");
        co_await send("0\r");
        co_await send("\n0123456789abcdef\r\n0\r\n");
        co_await send("X-Sum: 21\r\n\r\n");
      });
  EXPECT_EQ(he, Error::Ok);
  EXPECT_EQ(be, Error::Ok);
  EXPECT_EQ(body, "hello0123456789abcdef");
  ASSERT_NE(trailers, nullptr);
  EXPECT_EQ(trailers->get("x-sum"), "21");
}

TEST_F(ParserIo, ResponseBodyDelimitedByEof) {
  ResponseParser p(8192, 100);
  Error he = Error::Aborted, be = Error::Aborted;
  std::string body;
  run(
      [&]() -> awaitable<void> {
        he = co_await readHead(*transport_, buf_, p, 8192 + 4096);
        be = co_await readAll(*transport_, buf_, p, body);
      },
      [&]() -> awaitable<void> {
        co_await send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ");
        co_await send("second");
        closePeerWrite();
        co_return;
      });
  EXPECT_EQ(he, Error::Ok);
  EXPECT_EQ(be, Error::Ok);
  EXPECT_EQ(body, "first second");
  EXPECT_TRUE(p.done());
}

TEST_F(ParserIo, TruncatedLengthBodyIsPeerClosed) {
  ResponseParser p(8192, 100);
  Error he = Error::Aborted, be = Error::Aborted;
  std::string body;
  run(
      [&]() -> awaitable<void> {
        he = co_await readHead(*transport_, buf_, p, 8192 + 4096);
        be = co_await readAll(*transport_, buf_, p, body);
      },
      [&]() -> awaitable<void> {
        co_await send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
        closePeerWrite();
        co_return;
      });
  EXPECT_EQ(he, Error::Ok);
  EXPECT_EQ(be, Error::PeerClosed);
  EXPECT_EQ(body, "short");
}

TEST_F(ParserIo, OversizedHeadIsHeadersTooLarge) {
  RequestParser p(1024, 100);
  Error e = Error::Ok;
  run(
      [&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 1024 + 4096); },
      [&]() -> awaitable<void> {
        co_await send("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(3000, 'v') + "\r\n\r\n");
      });
  EXPECT_EQ(e, Error::HeadersTooLarge);
}

TEST_F(ParserIo, OversizedHeadInManySmallFieldsIsHeadersTooLarge) {
  RequestParser p(1024, 1000);
  Error e = Error::Ok;
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 100; ++i) head += "X-F" + std::to_string(i) + ": value\r\n";
  head += "\r\n";
  run([&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 1024 + 4096); },
      [&]() -> awaitable<void> { co_await send(head); });
  EXPECT_EQ(e, Error::HeadersTooLarge);
}

TEST_F(ParserIo, HeadLargerThanTheBufferIsHeadersTooLarge) {
  RequestParser p(64 * 1024, 100);  // the parser allows it, the buffer does not
  Error e = Error::Ok;
  run([&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 512); },
      [&]() -> awaitable<void> {
        net::write(*peer_, net::buffer("GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'v') + "\r\n\r\n"));
        co_return;
      });
  EXPECT_EQ(e, Error::HeadersTooLarge);
}

TEST_F(ParserIo, TooManyHeadersIsHeadersTooLarge) {
  RequestParser p(8192, 5);
  Error e = Error::Ok;
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 10; ++i) head += "X-F" + std::to_string(i) + ": v\r\n";
  run([&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 8192 + 4096); },
      [&]() -> awaitable<void> { co_await send(head + "\r\n"); });
  EXPECT_EQ(e, Error::HeadersTooLarge);
  EXPECT_TRUE(p.tooManyHeaders);
}

TEST_F(ParserIo, CloseBeforeAnyByteIsPeerClosed) {
  RequestParser p(8192, 100);
  Error e = Error::Ok;
  run([&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 8192); },
      [&]() -> awaitable<void> {
        closePeerWrite();
        co_return;
      });
  EXPECT_EQ(e, Error::PeerClosed);
}

TEST_F(ParserIo, CloseInTheMiddleOfAHeadIsProtocol) {
  RequestParser p(8192, 100);
  Error e = Error::Ok;
  run([&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 8192); },
      [&]() -> awaitable<void> {
        co_await send("GET / HTTP/1.1\r\nHost: h\r\n");
        closePeerWrite();
      });
  EXPECT_EQ(e, Error::Protocol);
}

TEST_F(ParserIo, MalformedHeadIsProtocol) {
  RequestParser p(8192, 100);
  Error e = Error::Ok;
  run([&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 8192); },
      [&]() -> awaitable<void> { co_await send("GET / HTTP/1.1\r\nBad Header\r\n\r\n"); });
  EXPECT_EQ(e, Error::Protocol);
}

// RFC 9112 section 2.3: a later 1.x reads as 1.1, even with the line split before its version.
TEST_F(ParserIo, LaterMinorVersionIsReadAsHttp11) {
  RequestParser p(8192, 100);
  Error e = Error::Aborted;
  run([&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 8192); },
      [&]() -> awaitable<void> {
        co_await send("GET /v HTTP/1.");
        co_await send("7\r\nHost: h\r\n\r\n");
      });
  EXPECT_EQ(e, Error::Ok);
  EXPECT_EQ(p.version, 11);
  EXPECT_EQ(p.target, "/v");
}

// RFC 9110 section 15.6.6: another major version is not supported (505), while what is not a
// version at all stays malformed (400).
TEST_F(ParserIo, OtherMajorVersionIsNotSupported) {
  RequestParser p(8192, 100);
  Error e = Error::Ok;
  run([&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 8192); },
      [&]() -> awaitable<void> { co_await send("GET / HTTP/2.0\r\nHost: h\r\n\r\n"); });
  EXPECT_EQ(e, Error::VersionNotSupported);
}

TEST_F(ParserIo, MalformedVersionIsProtocol) {
  RequestParser p(8192, 100);
  Error e = Error::Ok;
  run([&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 8192); },
      [&]() -> awaitable<void> { co_await send("GET / HTTP/2\r\nHost: h\r\n\r\n"); });
  EXPECT_EQ(e, Error::Protocol);
}

TEST_F(ParserIo, BadChunkSizeIsProtocol) {
  RequestParser p(8192, 100);
  Error he = Error::Aborted, be = Error::Ok;
  std::string body;
  run(
      [&]() -> awaitable<void> {
        he = co_await readHead(*transport_, buf_, p, 8192);
        be = co_await readAll(*transport_, buf_, p, body);
      },
      [&]() -> awaitable<void> {
        co_await send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n");
      });
  EXPECT_EQ(he, Error::Ok);
  EXPECT_EQ(be, Error::Protocol);
}

// parser_test.cc HeaderBytesLimitHoldsWhenTheHeadArrivesInPieces through readHead: each
// segment ends with the first byte of the next field.
TEST_F(ParserIo, HeadOverTheLimitInSegmentsIsHeadersTooLarge) {
  RequestParser p(256, 1000);
  Error e = Error::Ok;
  run(
      [&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 256 + 4096); },
      [&]() -> awaitable<void> {
        co_await send("GET / HTTP/1.1\r\nHost: h\r\nX");
        for (int i = 0; i < 40 && !readerDone_; ++i)  // 40 x ~70 bytes against a 256-byte limit
          co_await send("-Field-" + std::to_string(i) + ": " + std::string(56, 'v') + "\r\nX");
        if (!readerDone_) co_await send("-End: 1\r\n\r\n");
      });
  EXPECT_EQ(e, Error::HeadersTooLarge) << p.headers.size() << " fields accepted";
}

TEST_F(ParserIo, HeadOverTheLimitInWholeFieldSegmentsIsHeadersTooLarge) {
  RequestParser p(256, 1000);
  Error e = Error::Ok;
  run(
      [&]() -> awaitable<void> { e = co_await readHead(*transport_, buf_, p, 256 + 4096); },
      [&]() -> awaitable<void> {
        co_await send("GET / HTTP/1.1\r\nHost: h\r\n");
        for (int i = 0; i < 40 && !readerDone_; ++i)
          co_await send("X-Field-" + std::to_string(i) + ": " + std::string(56, 'v') + "\r\n");
        if (!readerDone_) co_await send("\r\n");
      });
  EXPECT_EQ(e, Error::HeadersTooLarge);
}

}  // namespace
}  // namespace kgate::h1
