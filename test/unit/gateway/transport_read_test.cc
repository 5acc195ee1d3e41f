// Transport::readSome: nothing sent may be missed, whether it came before the read, after a read
// that found nothing, or in a burst larger than one read; plain TCP and TLS alike; the peer's
// close is seen even when it came with the last bytes; cancel and close end a pending read.
#include <gtest/gtest.h>

#include <boost/asio/write.hpp>

#include <array>
#include <functional>
#include <optional>
#include <vector>
#include <sys/socket.h>
#include <thread>

#include "certs/ca.h"
#include "certs/keys.h"
#include "certs/tls_context.h"
#include "gateway/deadline.h"
#include "gateway/transport.h"
#include "support/test_keys.h"

namespace kgate {
namespace {

using namespace std::chrono_literals;

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

class TransportRead : public ::testing::TestWithParam<bool> {
 protected:
  bool tls() const { return GetParam(); }

  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io_);
    client.connect(acceptor.local_endpoint());
    tcp::socket server = acceptor.accept();
    if (!tls()) {
      reader_.emplace(std::move(server));
      writer_.emplace(std::move(client));
      return;
    }
    const EVP_PKEY& key = test::testKey(0);
    auto cert = certs::createCaCert(key, "transport-read-test");
    ASSERT_TRUE(cert.ok()) << cert.error();
    auto serverCtx = certs::makeServerContext(
        {.certChainPem = certs::certToPem(**cert), .keyPem = certs::privateKeyToPem(key)});
    auto clientCtx = certs::makeClientContext({});
    ASSERT_TRUE(serverCtx.ok() && clientCtx.ok());
    serverCtx_ = *serverCtx;
    clientCtx_ = *clientCtx;
    reader_.emplace(std::move(server), serverCtx_->native_handle(), Transport::Role::Server);
    writer_.emplace(std::move(client), clientCtx_->native_handle(), Transport::Role::Client);
    int done = 0;
    for (Transport* t : {&*reader_, &*writer_})
      net::co_spawn(io_, [&, t]() -> awaitable<void> {
        EXPECT_FALSE(co_await t->handshake());
        ++done;
      }, net::detached);
    io_.run_for(10s);
    io_.restart();
    ASSERT_EQ(done, 2);
  }

  // Runs the coroutines to their end (bounded); fails the test if one does not finish.
  void run(std::vector<std::function<awaitable<void>()>> parts) {
    size_t finished = 0;
    for (auto& p : parts)
      net::co_spawn(io_, [&, p]() -> awaitable<void> {
        co_await p();
        ++finished;
      }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    // Until they are done, not until the context runs out of work: a test's sweeper never does.
    for (auto end = Clock::now() + 20s; finished < parts.size() && !io_.stopped() &&
                                        Clock::now() < end;)
      io_.run_one_for(20ms);
    io_.poll();
    io_.restart();
    EXPECT_EQ(finished, parts.size());
  }

  // Reads until `want` bytes came (or an error); returns what was read.
  awaitable<std::string> readAll(size_t want, size_t piece = 16 * 1024) {
    std::string got;
    std::string buf(piece, '\0');
    while (got.size() < want) {
      auto [ec, n] = co_await reader_->readSome(buf.data(), buf.size());
      if (ec) {
        ADD_FAILURE() << "read: " << ec.message() << " after " << got.size() << " bytes";
        break;
      }
      got.append(buf.data(), n);
    }
    co_return got;
  }

  // readAll(n) run to its end from outside a coroutine.
  std::string readNow(size_t n) {
    std::string got;
    run({[&]() -> awaitable<void> { got = co_await readAll(n); }});
    return got;
  }

  // Starts a read with nothing to read, then `interrupt`s it: the reader runs first and can only
  // suspend (no bytes are coming), so the interruption finds the read pending.
  error_code readEndedBy(std::function<void()> interrupt) {
    error_code ec;
    run({[&]() -> awaitable<void> {
           char buf[64];
           auto [e, n] = co_await reader_->readSome(buf, sizeof buf);
           ec = e;
         },
         [&]() -> awaitable<void> {
           interrupt();
           co_return;
         }});
    return ec;
  }


  // Small socket buffers and nobody reading yet: runs `writes` until they have to wait for the
  // reader; `written` turns true when they are all done. The reader's buffer holds a whole TLS
  // record: a smaller one closes the window before a record is complete, and only the sender's
  // window probes would move the rest.
  void startWritesBeforeTheReader(std::function<awaitable<void>()> writes, bool& written) {
    writer_->socket().set_option(net::socket_base::send_buffer_size(16 * 1024));
    reader_->socket().set_option(net::socket_base::receive_buffer_size(64 * 1024));
    net::co_spawn(io_, [writes = std::move(writes), &written]() -> awaitable<void> {
      co_await writes();
      written = true;
    }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    while (io_.poll() > 0) {
    }
    io_.restart();
  }

  net::io_context io_;
  Sweeper sweeper_{io_.get_executor()};  // before the transports: their deadlines use it
  certs::SslContextPtr serverCtx_, clientCtx_;
  std::optional<Transport> reader_, writer_;
};

TEST_P(TransportRead, BytesSentBeforeTheReadAreRead) {
  run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll("hello")); }});
  run({[&]() -> awaitable<void> { EXPECT_EQ(co_await readAll(5), "hello"); }});
}

TEST_P(TransportRead, BytesArrivingAfterADrainedReadAreRead) {
  // Each message is read whole before the next one is sent: the reader finds the socket empty
  // and must still get the next one, whether epoll reports it while the read waits or before.
  run({[&]() -> awaitable<void> {
         for (int i = 0; i < 20; ++i) {
           std::string msg = "msg-" + std::to_string(10 + i);
           EXPECT_FALSE(co_await writer_->writeAll(msg));
           EXPECT_EQ(co_await readAll(msg.size()), msg);
         }
       }});
  // And with the read already waiting when the bytes come.
  run({[&]() -> awaitable<void> { EXPECT_EQ(co_await readAll(5), "later"); },
       [&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll("later")); }});
}

TEST_P(TransportRead, ABurstLargerThanOneReadArrivesWholeAndInOrder) {
  const std::string data = pattern(3 << 20);
  std::string got;
  run({[&]() -> awaitable<void> { got = co_await readAll(data.size(), 5000); },
       [&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll(data)); }});
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

// Small socket buffers and a reader that starts late: the large write fills the socket and must
// wait, then resume where it stopped; the small write after it must arrive after it.
TEST_P(TransportRead, AWriterBlockedByALateReaderResumesInOrder) {
  const std::string data = pattern(2 << 20);
  bool written = false;
  startWritesBeforeTheReader([&]() -> awaitable<void> {
    EXPECT_FALSE(co_await writer_->writeAll(data));
    EXPECT_FALSE(co_await writer_->writeAll("tail"));
  }, written);
  ASSERT_FALSE(written) << "the socket buffers took 2 MiB; the test no longer makes the writer wait";
  std::string got;
  run({[&]() -> awaitable<void> { got = co_await readAll(data.size() + 4, 7000); }});
  EXPECT_TRUE(written);
  ASSERT_EQ(got.size(), data.size() + 4);
  EXPECT_TRUE(got.compare(0, data.size(), data) == 0);
  EXPECT_EQ(got.substr(data.size()), "tail");
}

// Writes of several pieces while the socket is full: small ones go out as one record made
// again after each wait, large ones as records of each piece; every byte arrives, in order.
TEST_P(TransportRead, PiecesOfWritesThatWaitArriveInOrder) {
  const std::string big = pattern(1 << 20);
  std::string sent = big;
  std::vector<std::array<std::string, 3>> writes;
  for (int i = 0; i < 40; ++i) {
    std::string body = pattern(i % 2 ? 3000 + i : 40000 + i).substr(i);
    writes.push_back({"head-" + std::to_string(i) + ":", std::move(body), "\r\n"});
    for (const auto& p : writes.back()) sent += p;
  }
  bool written = false;
  startWritesBeforeTheReader([&]() -> awaitable<void> {
    EXPECT_FALSE(co_await writer_->writeAll(big));
    for (const auto& w : writes) EXPECT_FALSE(co_await writer_->writeAll(w[0], w[1], w[2]));
  }, written);
  ASSERT_FALSE(written) << "the socket buffers took it all; the test no longer makes writes wait";
  std::string got;
  run({[&]() -> awaitable<void> { got = co_await readAll(sent.size(), 5000); }});
  EXPECT_TRUE(written);
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
}

// A reader that never reads, with the socket already full: the writer gives up after the send
// timeout instead of waiting for ever.
TEST_P(TransportRead, AWriteNobodyReadsFailsAfterTheSendTimeout) {
  // Raw bytes, even under TLS: the reader never decrypts anything.
  const std::string filler(64 << 10, 'f');
  while (::send(writer_->socket().native_handle(), filler.data(), filler.size(), MSG_DONTWAIT) > 0) {
  }
  Sweeper sweeper(io_.get_executor());
  sweeper.start();
  int expired = 0;
  writer_->setSendTimeout(sweeper, 300ms, [&] { ++expired; });
  const std::string piece(20 << 10, 'x');
  std::optional<error_code> result;
  net::co_spawn(io_, [&]() -> awaitable<void> { result = co_await writer_->writeAll(piece); },
                net::detached);
  for (auto end = Clock::now() + 15s; !result && Clock::now() < end;) io_.run_for(20ms);
  sweeper.stop();
  io_.run_for(1s);  // lets the sweep loop end
  ASSERT_TRUE(result.has_value()) << "the write still waits for a reader that never reads";
  EXPECT_TRUE(*result);
  EXPECT_TRUE(writer_->sendTimedOut());
  EXPECT_EQ(expired, 1);
  EXPECT_FALSE(writer_->isOpen());
}

// A server keeps OpenSSL's record buffers while busy and frees them after an idle wait; they come
// back for the next exchange, both ways. Freeing is refused while a record that a look for input
// read and decrypted still waits to be consumed: nothing is lost.
TEST_P(TransportRead, BuffersFreedWhileIdleComeBackAndNeverLoseInput) {
  if (!tls()) GTEST_SKIP() << "TLS buffers only";
  sweeper_.start();
  reader_->keepBuffersWhileBusy(sweeper_, 50ms);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string ask = pattern(100 + round), answer = pattern(30000 + round);
    run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll(ask)); },
         [&]() -> awaitable<void> {
           EXPECT_EQ(co_await readAll(ask.size()), ask);
           EXPECT_FALSE(co_await reader_->writeAll(answer));
         }});
    std::string got(answer.size(), '\0');
    size_t have = 0;
    run({[&]() -> awaitable<void> {
      while (have < got.size()) {
        auto [ec, n] = co_await writer_->readSome(got.data() + have, got.size() - have);
        if (ec) break;
        have += n;
      }
    }});
    EXPECT_TRUE(got == answer);
    // Idle: the wait for the next request frees the buffers once it has lasted 50 ms.
    uint64_t before = reader_->buffersReleased();
    bool woke = false;
    net::co_spawn(io_, [&]() -> awaitable<void> {
      EXPECT_FALSE(co_await reader_->waitReadable());
      woke = true;
    }, net::detached);
    for (auto end = Clock::now() + 10s; reader_->buffersReleased() == before && Clock::now() < end;)
      io_.run_one_for(20ms);
    EXPECT_GT(reader_->buffersReleased(), before);
    run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll("x")); }});
    for (auto end = Clock::now() + 10s; !woke && Clock::now() < end;) io_.run_one_for(20ms);
    io_.restart();
    ASSERT_TRUE(woke);
    EXPECT_EQ(readNow(1), "x");
  }
  // A record already read and decrypted by the look stays where it is.
  run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll("kept")); }});
  for (auto end = Clock::now() + 10s; !reader_->lookForInput() && Clock::now() < end;)
    io_.run_one_for(10ms);
  uint64_t before = reader_->buffersReleased();
  reader_->releaseBuffers();
  EXPECT_EQ(reader_->buffersReleased(), before);
  EXPECT_EQ(readNow(4), "kept");
  sweeper_.stop();
  io_.run_for(200ms);  // lets the sweep loop end
}

TEST_P(TransportRead, ManySmallWritesArriveWhole) {
  std::string sent;
  std::string got;
  run({[&]() -> awaitable<void> { got = co_await readAll(200 * 37, 64 * 1024); },
       [&]() -> awaitable<void> {
         for (int i = 0; i < 200; ++i) {
           std::string piece = pattern(37 + i).substr(i, 37);
           sent += piece;
           EXPECT_FALSE(co_await writer_->writeAll(piece));
         }
       }});
  EXPECT_TRUE(got == sent);
}

TEST_P(TransportRead, CancelEndsAPendingRead) {
  EXPECT_EQ(readEndedBy([&] { reader_->cancel(); }), net::error::operation_aborted);
  // Once cleared, the transport reads again.
  reader_->clearCancel();
  run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll("again")); },
       [&]() -> awaitable<void> { EXPECT_EQ(co_await readAll(5), "again"); }});
}

TEST_P(TransportRead, CloseEndsAPendingRead) {
  EXPECT_EQ(readEndedBy([&] { reader_->close(); }), net::error::operation_aborted);
}

// The last bytes and the FIN arrive together, in one epoll report: the read after the bytes must
// still see the end (under TLS too: a bare close, no close_notify).
TEST_P(TransportRead, ACloseRightAfterTheLastBytesIsEof) {
  error_code ec;
  run({[&]() -> awaitable<void> {
         EXPECT_EQ(co_await readAll(3), "bye");
         char buf[64];
         auto [e, n] = co_await reader_->readSome(buf, sizeof buf);
         ec = e;
       },
       [&]() -> awaitable<void> {
         EXPECT_FALSE(co_await writer_->writeAll("bye"));
         writer_->close();
       }});
  // Under TLS the client never read the server's session ticket, so its close is a reset.
  if (tls()) EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
  else EXPECT_EQ(ec, net::error::eof);
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, TransportRead, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

}  // namespace
}  // namespace kgate
