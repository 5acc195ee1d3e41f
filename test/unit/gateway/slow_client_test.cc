// Slow clients against the downstream codecs, over real loopback sockets: a client that stops
// reading is dropped after sendTimeout, a request head that trickles in is cut headerTimeout
// after its first byte (HTTP/1.1 head, HTTP/2 header block), and a connection that never starts
// its first request does not get the keep-alive idleTimeout; and a client still sending a body
// the answer came before is not reset when the handler gives the rest up.
#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/event.h"
#include "gateway/h1/server_connection.h"
#include "gateway/h2/server_session.h"
#include "gateway/metrics.h"

namespace kgate {
namespace {

using namespace std::chrono_literals;

// Answers every request with an empty 200, every refused head with its status.
class EmptyAnswers final : public StreamHandler {
 public:
  awaitable<void> serve(ServerStream& stream) override {
    http::ResponseHead head;
    co_await stream.writeHead(head, true);
  }
  awaitable<void> reject(ServerStream& stream, int status, std::string_view) override {
    http::ResponseHead head;
    head.status = status;
    co_await stream.writeHead(head, true);
  }
};

class SlowClient : public ::testing::Test {
 protected:
  void SetUp() override {
    sweeper_.start();
    tcp::acceptor acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    client_.emplace(io_);
    client_->connect(acceptor.local_endpoint());
    server_ = std::make_unique<Transport>(acceptor.accept());
    limits_.headerTimeout = 1s;
    limits_.idleTimeout = 120s;  // far beyond every wait below: it must not be what ends them
  }

  // An HTTP/2 session serves the connection; the client sends its preface, an empty SETTINGS
  // and `frames`, then reads until the session closes the connection (at most 15 s).
  struct Http2Run {
    bool closed = false;
    bool served = false;
    std::string answer;
  };
  Http2Run serveHttp2(const std::string& frames) {
    std::string in = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    in += std::string("\0\0\0\x04\0\0\0\0\0", 9);
    in += frames;
    auto session = std::make_shared<h2::ServerSession>(std::move(server_), env());
    Http2Run run;
    net::co_spawn(io_, [&]() -> awaitable<void> {
      co_await session->serve(ReadBuffer{});
      run.served = true;
    }, net::detached);
    net::co_spawn(io_, [&]() -> awaitable<void> {
      co_await net::async_write(*client_, net::buffer(in), kUseTuple);
      co_await readUntilClosed(run.answer, run.closed);
    }, net::detached);
    runUntil([&] { return run.closed && run.served; }, 15s);
    return run;
  }

  ConnectionEnv env(Clock::time_point firstByteAt = {}) {
    return ConnectionEnv{sweeper_, registry_, handler_, limits_, ConnectionInfo{}, &stats_,
                         firstByteAt};
  }

  uint64_t timeouts(std::string_view kind) {
    uint64_t n = 0;
    stats_.forEachDownstreamTimeout([&](const auto& c) {
      if (c.labels.at(1) == kind) n += c.value.load();
    });
    return n;
  }

  // Everything the server sends until it closes (or the test's bound passes).
  awaitable<void> readUntilClosed(std::string& out, bool& closed) {
    char buf[4096];
    for (;;) {
      auto [ec, n] = co_await client_->async_read_some(net::buffer(buf), kUseTuple);
      out.append(buf, n);
      if (ec) break;
    }
    closed = true;
  }

  // Serves the server end with conn and reads the client end until the server closes it;
  // served_, closed_ and answer_ say how far each got.
  void serveAndRead(h1::ServerConnection& conn) {
    net::co_spawn(io_, [&]() -> awaitable<void> { co_await conn.run(); served_ = true; },
                  net::detached);
    net::co_spawn(io_, readUntilClosed(answer_, closed_), net::detached);
  }
  bool served_ = false, closed_ = false;
  std::string answer_;

  // Runs the loop until done() or the bound passes, then closes the client and lets every
  // coroutine wind down.
  void runUntil(const std::function<bool()>& done, Clock::duration bound) {
    auto end = Clock::now() + bound;
    while (!done() && Clock::now() < end) io_.run_for(20ms);
    error_code ignored;
    client_->close(ignored);
    sweeper_.stop();
    io_.run_for(2s);  // returns as soon as nothing is left to run
  }

  net::io_context io_;
  Sweeper sweeper_{io_.get_executor()};
  ConnectionRegistry registry_;
  EmptyAnswers handler_;
  WorkerStats stats_;
  conf::Limits limits_;
  std::optional<tcp::socket> client_;
  std::unique_ptr<Transport> server_;
};

TEST_F(SlowClient, AWriteToAClientThatStoppedReadingFailsAfterTheSendTimeout) {
  int small = 4096;  // the kernel absorbs little on the client's side
  client_->set_option(net::socket_base::receive_buffer_size(small));
  int expired = 0;
  server_->setSendTimeout(sweeper_, 300ms, [&] { ++expired; });
  std::string big(32 << 20, 'x');  // far more than both socket buffers hold
  std::optional<error_code> result;
  net::co_spawn(io_, [&]() -> awaitable<void> { result = co_await server_->writeAll(big); },
                net::detached);
  runUntil([&] { return result.has_value(); }, 15s);  // the client never reads
  ASSERT_TRUE(result.has_value()) << "the write is still waiting for a client that never reads";
  EXPECT_TRUE(*result);
  EXPECT_TRUE(server_->sendTimedOut());
  EXPECT_EQ(expired, 1);
  EXPECT_FALSE(server_->isOpen());
  EXPECT_LT(server_->bytesWritten(), big.size());
}

TEST_F(SlowClient, AFinishedWriteLeavesNoCountdownBehind) {
  server_->setSendTimeout(sweeper_, 200ms);
  std::optional<error_code> result;
  net::co_spawn(io_, [&]() -> awaitable<void> { result = co_await server_->writeAll("hello"); },
                net::detached);
  // Nothing reads the 5 bytes, and nothing else is written: the connection is merely quiet,
  // which is the idle timeouts' business, not the send timeout's.
  runUntil([] { return false; }, 1s);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
  EXPECT_FALSE(server_->sendTimedOut());
  EXPECT_TRUE(server_->isOpen());
}

TEST_F(SlowClient, AHeadTrickledInIsCutHeaderTimeoutAfterItsFirstByte) {
  // As the listener does for a plain connection: it saw the first bytes and hands them over.
  ReadBuffer first;
  std::string_view line = "GET / HTTP/1.1\r\nHost: x\r\n";
  auto space = first.prepare(line.size(), line.size());
  std::copy(line.begin(), line.end(), space.data());
  first.commit(line.size());
  h1::ServerConnection conn(std::move(server_), std::move(first), env(Clock::now()));
  serveAndRead(conn);
  // One more header line every 100 ms: each byte is progress, none of it may extend the head's
  // time. The client would go on for 15 s.
  net::co_spawn(io_, [&]() -> awaitable<void> {
    net::steady_timer tick(io_);
    for (int i = 0; i < 150 && !closed_; ++i) {
      std::string field = "X-" + std::to_string(i) + ": y\r\n";
      auto [ec, n] = co_await net::async_write(*client_, net::buffer(field), kUseTuple);
      if (ec) break;
      tick.expires_after(100ms);
      co_await tick.async_wait(kUseTuple);
    }
  }, net::detached);
  runUntil([&] { return closed_ && served_; }, 20s);
  EXPECT_TRUE(closed_);
  EXPECT_TRUE(served_);
  EXPECT_EQ(answer_.substr(0, 12), "HTTP/1.1 408") << answer_;
  EXPECT_EQ(timeouts("header"), 1u);
}

TEST_F(SlowClient, AConnectionThatNeverSendsItsFirstRequestIsClosedAfterHeaderTimeout) {
  // As after a TLS handshake that chose http/1.1: nothing read yet.
  h1::ServerConnection conn(std::move(server_), ReadBuffer{}, env());
  serveAndRead(conn);
  runUntil([&] { return closed_ && served_; }, 15s);  // idleTimeout would keep it 120 s
  EXPECT_TRUE(closed_);
  EXPECT_TRUE(served_);
  EXPECT_EQ(answer_, "");  // no request, no answer
  EXPECT_EQ(timeouts("header"), 1u);
}

TEST_F(SlowClient, AnHttp2HeaderBlockThatNeverEndsIsCut) {
  // HEADERS on stream 1, END_STREAM without END_HEADERS: CONTINUATION frames must follow,
  // and this client never sends them. The block: :method GET, :scheme http, :path / (HPACK
  // static table entries 2, 6 and 4).
  auto run = serveHttp2(std::string("\0\0\x03\x01\x01\0\0\0\x01\x82\x86\x84", 12));
  EXPECT_TRUE(run.closed);  // idleTimeout would keep it 120 s
  EXPECT_TRUE(run.served);
  EXPECT_EQ(timeouts("header"), 1u);
}

// A request answered at once (a 404 from the router, with no body) closes its stream inside the
// handler's first call: the session must still see it closed, so that the connection, idle
// again, is closed after idleTimeout rather than kept for good.
TEST_F(SlowClient, AnHttp2ConnectionWhoseRequestsWereAnsweredAtOnceIdlesOut) {
  limits_.idleTimeout = 1s;
  // HEADERS on stream 1, END_STREAM and END_HEADERS: :method GET, :scheme http, :path / (static
  // entries 2, 6, 4) and :authority "a" (a literal with the static name 1).
  auto run = serveHttp2(std::string("\0\0\x06\x01\x05\0\0\0\x01\x82\x86\x84\x01\x01" "a", 15));
  EXPECT_TRUE(run.closed);
  EXPECT_TRUE(run.served);
  EXPECT_EQ(timeouts("idle"), 1u);
  // The answer: HEADERS with END_STREAM and END_HEADERS on stream 1.
  EXPECT_NE(run.answer.find(std::string("\x01\x05\0\0\0\x01", 6)), std::string::npos)
      << "no answer to stream 1";
}

// Requests answered at once close their streams at once, so the concurrency limit does not
// bound what their answers queue; a client that sends many and reads none must not grow the
// session's output without end: the session stops reading until its writer catches up.
TEST_F(SlowClient, AnHttp2ClientThatReadsNoAnswersIsNotReadFromWithoutBound) {
  limits_.maxConcurrentStreams = 1u << 20;  // a whole read's worth of requests open at once
  // The client closes with answers unread: the session's next write may meet EPIPE, which
  // kgate itself ignores (gateway/cli) and this test binary must too.
  ::signal(SIGPIPE, SIG_IGN);
  // Small socket buffers both ways, so that the kernel cannot take in what the session leaves
  // unread: a new connection, its buffers set before it is made.
  tcp::acceptor acceptor(io_);
  acceptor.open(tcp::v4());
  acceptor.set_option(net::socket_base::receive_buffer_size(4096));
  acceptor.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  acceptor.listen();
  client_.emplace(io_);
  client_->open(tcp::v4());
  client_->set_option(net::socket_base::send_buffer_size(4096));
  client_->set_option(net::socket_base::receive_buffer_size(4096));
  client_->connect(acceptor.local_endpoint());
  server_ = std::make_unique<Transport>(acceptor.accept());
  server_->socket().set_option(net::socket_base::send_buffer_size(4096));
  std::string in = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  in += std::string("\0\0\0\x04\0\0\0\0\0", 9);
  constexpr uint32_t kRequests = 200000;  // 3 MB of requests, 2.6 MB of answers
  for (uint32_t i = 0; i < kRequests; ++i) {
    uint32_t id = 2 * i + 1;
    in += std::string("\0\0\x06\x01\x05", 5);  // HEADERS, END_STREAM | END_HEADERS
    for (int shift = 24; shift >= 0; shift -= 8) in.push_back(static_cast<char>(id >> shift));
    in += std::string("\x82\x86\x84\x01\x01" "a", 6);  // GET http / with :authority a
  }
  auto session = std::make_shared<h2::ServerSession>(std::move(server_), env());
  net::co_spawn(io_, [session]() -> awaitable<void> { co_await session->serve(ReadBuffer{}); },
                net::detached);
  bool sent = false;
  net::co_spawn(io_, [&]() -> awaitable<void> {
    auto [ec, n] = co_await net::async_write(*client_, net::buffer(in), kUseTuple);
    sent = !ec;
  }, net::detached);
  size_t largest = 0;
  bool paused = false;
  // Watched for 3 s: with the bound the client's write never completes.
  runUntil([&] {  // then closes the client, which ends the session
    largest = std::max(largest, session->writeBufferCapacity());
    paused = session->inputPaused();
    return sent;
  }, 3s);
  EXPECT_TRUE(paused);
  EXPECT_FALSE(sent) << "the session read every request with no answer read";
  EXPECT_LT(largest, 512u * 1024) << "queued output grew to " << largest << " bytes";
}

// Answers before reading the body (as the proxy relays an upstream's early 413), waits for the
// test's go, then gives the rest of the body up as the proxy does once the answer is out.
class AnswersEarlyThenGivesUp final : public StreamHandler {
 public:
  explicit AnswersEarlyThenGivesUp(Event& go) : go_(go) {}
  awaitable<void> serve(ServerStream& stream) override {
    http::ResponseHead head;
    head.status = 413;
    co_await stream.writeHead(head, true);
    co_await go_.wait();
    stream.abort();
  }
  awaitable<void> reject(ServerStream&, int, std::string_view) override { co_return; }

 private:
  Event& go_;
};

// The client learns of the refusal while it still sends: with what it sent since unread,
// closing would reset the connection, and a reset can destroy the answer before the client
// reads it (curl then reports no answer at all). The connection drops the rest and closes once
// the client has finished.
TEST_F(SlowClient, AClientStillSendingABodyRefusedAfterTheAnswerIsNotReset) {
  Event go(io_.get_executor());
  AnswersEarlyThenGivesUp early(go);
  h1::ServerConnection conn(std::move(server_), ReadBuffer{},
                            ConnectionEnv{sweeper_, registry_, early, limits_, ConnectionInfo{},
                                          &stats_, {}});
  net::co_spawn(io_, [&]() -> awaitable<void> { co_await conn.run(); served_ = true; },
                net::detached);
  std::optional<error_code> end;  // what ended the client: a reset, or the close it awaits
  net::co_spawn(io_, [&]() -> awaitable<void> {
    std::string head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
    co_await net::async_write(*client_, net::buffer(head + std::string(1000, 'x')), kUseTuple);
    char buf[4096];
    while (answer_.find("\r\n\r\n") == std::string::npos) {
      auto [ec, n] = co_await client_->async_read_some(net::buffer(buf), kUseTuple);
      answer_.append(buf, n);
      if (ec) co_return;
    }
    // More of the body, unread by anyone when the handler gives up.
    auto [ec, n] = co_await net::async_write(*client_, net::buffer(std::string(16000, 'x')),
                                             kUseTuple);
    EXPECT_FALSE(ec) << ec.message();
    go.notify();
    // The reset, if any, fails this write, or else the read after it.
    std::tie(ec, n) = co_await net::async_write(*client_, net::buffer(std::string(32000, 'x')),
                                                kUseTuple);
    if (ec) {
      end = ec;
      co_return;
    }
    error_code ignored;
    client_->shutdown(tcp::socket::shutdown_send, ignored);
    for (;;) {
      auto [e, got] = co_await client_->async_read_some(net::buffer(buf), kUseTuple);
      answer_.append(buf, got);
      if (e) {
        end = e;
        break;
      }
    }
  }, net::detached);
  runUntil([&] { return end.has_value() && served_; }, 15s);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(*end, net::error::eof) << end->message();
  EXPECT_TRUE(served_);
  EXPECT_EQ(answer_.substr(0, 12), "HTTP/1.1 413") << answer_;
  EXPECT_NE(answer_.find("connection: close"), std::string::npos) << answer_;
}

}  // namespace
}  // namespace kgate
