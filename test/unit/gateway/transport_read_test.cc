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

#include "gateway/deadline.h"
#include "gateway/transport.h"
#include "transport_pair.h"

namespace kgate {
namespace {

using namespace std::chrono_literals;

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

using Mode = testing::TransportMode;

class TransportRead : public ::testing::TestWithParam<Mode> {
 protected:
  bool tls() const { return GetParam() != Mode::Plain; }
  bool own() const { return GetParam() == Mode::OwnRecords; }

  void SetUp() override {
    auto [server, client] = testing::connectedSockets(io_);
    if (!tls()) {
      reader_.emplace(std::move(server));
      writer_.emplace(std::move(client));
      return;
    }
    auto contexts = testing::makeTestContexts("transport-read-test");
    ASSERT_TRUE(contexts.server && contexts.client);
    serverCtx_ = contexts.server;
    clientCtx_ = contexts.client;
    // The client's traffic secret, for tests that seal records the way a client would.
    SSL_CTX_set_keylog_callback(clientCtx_->native_handle(), [](const SSL*, const char* line) {
      std::string_view text(line), label = "CLIENT_TRAFFIC_SECRET_0 ";
      if (text.substr(0, label.size()) == label) clientSecretHex = text.substr(text.rfind(' ') + 1);
    });
    reader_.emplace(std::move(server), serverCtx_->native_handle(), Transport::Role::Server);
    writer_.emplace(std::move(client), clientCtx_->native_handle(), Transport::Role::Client);
    if (own()) reader_->ownRecordsAfterHandshake();
    ASSERT_TRUE(handshake(*reader_, *writer_));
    ASSERT_EQ(reader_->ownsRecords(), own());
  }

  // A new connection in place of the one the test ended.
  void reconnect() {
    reader_.reset();
    writer_.reset();
    SetUp();
  }

  bool handshake(Transport& a, Transport& b) {
    int done = 0;
    for (Transport* t : {&a, &b})
      net::co_spawn(io_, [&, t]() -> awaitable<void> {
        EXPECT_FALSE(co_await t->handshake());
        ++done;
      }, net::detached);
    io_.run_for(10s);
    io_.restart();
    return done == 2;
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
    return readAllFrom(*reader_, want, piece);
  }
  static awaitable<std::string> readAllFrom(Transport& t, size_t want, size_t piece = 16 * 1024) {
    std::string got;
    std::string buf(piece, '\0');
    while (got.size() < want) {
      auto [ec, n] = co_await t.readSome(buf.data(), buf.size());
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

  // One small answer the client reads: it has then taken the session ticket too, so that its
  // close is no reset.
  void helloToTheClient() {
    std::string first;
    run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await reader_->writeAll("hello")); },
         [&]() -> awaitable<void> { first = co_await readAllFrom(*writer_, 5); }});
    EXPECT_EQ(first, "hello");
  }
  // Bytes from the client's socket as they are, past its TLS.
  void sendRaw(std::string_view bytes) {
    ASSERT_EQ(::send(writer_->socket().native_handle(), bytes.data(), bytes.size(), 0),
              static_cast<ssize_t>(bytes.size()));
  }
  // A well-formed application-data header and 40 bytes nobody sealed.
  void sendForgedRecord() {
    std::string forged("\x17\x03\x03\x00\x28", 5);
    forged.append(40, 'j');
    sendRaw(forged);
  }
  // A key sealing records as the client's next ones; the client must not have sent any yet.
  std::unique_ptr<certs::TrafficKey> clientKey() {
    std::array<uint8_t, 48> secret{};
    size_t size = 0;
    if (OPENSSL_hexstr2buf_ex(secret.data(), secret.size(), &size, clientSecretHex.c_str(),
                              '\0') != 1)
      return nullptr;
    SSL* client = writer_->nativeHandle();
    return certs::TrafficKey::make(SSL_CIPHER_get_id(SSL_get_current_cipher(client)),
                                   std::span(secret.data(), size), 0);
  }
  // Sends one record sealed with `key`, raw, from the client's socket.
  void sendRecord(certs::TrafficKey& key, uint8_t type, std::string_view content) {
    std::string record(content.size() + certs::kRecordOverhead, '\0');
    ASSERT_TRUE(key.seal(static_cast<certs::RecordType>(type), std::span(&content, 1),
                         reinterpret_cast<uint8_t*>(record.data())));
    sendRaw(record);
  }
  // What one read at the server gives: its error, or the bytes.
  std::pair<error_code, std::string> serverRead() {
    std::pair<error_code, std::string> result;
    run({[&]() -> awaitable<void> {
      char buf[256];
      auto [ec, n] = co_await reader_->readSome(buf, sizeof buf);
      result = {ec, std::string(buf, n)};
    }});
    return result;
  }

  // The alert the server sent last, as the client reads it (0: none came before the close).
  int alertAtClient() {
    int alert = 0;
    SSL* client = writer_->nativeHandle();
    SSL_set_msg_callback(client,
                         [](int sent, int, int type, const void* buf, size_t len, SSL*, void* arg) {
                           if (!sent && type == SSL3_RT_ALERT && len == 2)
                             *static_cast<int*>(arg) = static_cast<const uint8_t*>(buf)[1];
                         });
    SSL_set_msg_callback_arg(client, &alert);
    run({[&]() -> awaitable<void> {
      char buf[64];
      for (int i = 0; i < 4 && !(co_await writer_->readSome(buf, sizeof buf)).first; ++i) {
      }
    }});
    SSL_set_msg_callback(client, nullptr);
    return alert;
  }

  // The next read at the server fails (not an end, no data).
  void expectServerReadFails() {
    auto [ec, got] = serverRead();
    EXPECT_TRUE(ec && ec != net::error::eof) << ec.message();
    EXPECT_EQ(got, "");
  }

  static inline std::string clientSecretHex;
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

// writeGather, as the HTTP/2 session uses it (frame headers between payloads it does not copy):
// more pieces than one writev or one record takes, tiny and empty ones among large ones, while
// the socket is full so the write waits halfway; every byte arrives, in order.
TEST_P(TransportRead, AGatheredWriteOfManyPiecesArrivesInOrder) {
  std::vector<std::string> storage;
  std::string sent;
  for (int i = 0; i < 300; ++i) {
    size_t size = i % 3 == 0 ? 9 : i % 3 == 1 ? (i * 131) % 20000 : (i % 5 == 0 ? 0 : 1 + i % 7);
    storage.push_back(pattern(size + i).substr(i));
    sent += storage.back();
  }
  std::vector<std::string_view> pieces(storage.begin(), storage.end());
  const std::string big = pattern(1 << 20);
  bool written = false;
  startWritesBeforeTheReader([&]() -> awaitable<void> {
    EXPECT_FALSE(co_await writer_->writeAll(big));
    EXPECT_FALSE(co_await writer_->writeGather(pieces));
  }, written);
  ASSERT_FALSE(written) << "the socket buffers took it all; the test no longer makes writes wait";
  std::string got;
  run({[&]() -> awaitable<void> { got = co_await readAll(big.size() + sent.size(), 5000); }});
  EXPECT_TRUE(written);
  ASSERT_EQ(got.size(), big.size() + sent.size());
  EXPECT_TRUE(got.compare(0, big.size(), big) == 0);
  EXPECT_TRUE(got.compare(big.size(), sent.size(), sent) == 0);
  for (auto p : pieces) EXPECT_TRUE(p.empty()) << "the pieces are consumed";
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
  // A record already read and decrypted by OpenSSL's look stays where it is (kgate's own look
  // leaves the bytes in the socket).
  run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll("kept")); }});
  for (auto end = Clock::now() + 10s; !reader_->lookForInput() && Clock::now() < end;)
    io_.run_one_for(10ms);
  uint64_t before = reader_->buffersReleased();
  reader_->releaseBuffers();
  if (!own()) {
    EXPECT_EQ(reader_->buffersReleased(), before);
  }
  EXPECT_EQ(readNow(4), "kept");
  // Nor is a record partly taken.
  run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll("halves")); }});
  std::string first, second;
  run({[&]() -> awaitable<void> { first = co_await readAll(3, 3); }});
  before = reader_->buffersReleased();
  reader_->releaseBuffers();
  EXPECT_EQ(reader_->buffersReleased(), before);
  run({[&]() -> awaitable<void> { second = co_await readAll(3, 3); }});
  EXPECT_EQ(first + second, "halves");
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

// A cancel that comes after a read took its bytes, before the reader resumed (the read's
// first try found them, and its completion is queued behind the cancel): the bytes are not
// lost, whether that read returns them or the next one after clearCancel does.
TEST_P(TransportRead, ACancelAfterAReadTookItsBytesLosesNone) {
  run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll("hello")); }});
  std::string got;
  error_code first;
  run({[&]() -> awaitable<void> {
         char buf[64];
         auto [e, n] = co_await reader_->readSome(buf, sizeof buf);
         first = e;
         got.append(buf, n);
       },
       [&]() -> awaitable<void> {
         reader_->cancel();
         co_return;
       }});
  reader_->clearCancel();
  if (got.size() < 5) {
    EXPECT_EQ(first, net::error::operation_aborted) << first.message();
    got += readNow(5 - got.size());
  }
  EXPECT_EQ(got, "hello");
}

// waitReadable takes the first bytes off the socket when kgate reads it itself (a small read,
// not an epoll_ctl): whatever it took comes first, then the rest, in order, for messages smaller
// and larger than what it takes (1 KiB), and for one whose record is exactly that size (1002
// bytes and a record's 22 of overhead): nothing more comes, and the record must still be read.
TEST_P(TransportRead, WhatAWaitForInputTookIsReadFirstAndInOrder) {
  for (size_t size : {10, 1000, 1002, 1024, 1025, 5000, 70000}) {
    std::string message = pattern(size);
    error_code waited = net::error::timed_out;
    std::string got;
    run({[&]() -> awaitable<void> {
           waited = co_await reader_->waitReadable();
           EXPECT_TRUE(reader_->hasBufferedInput() || GetParam() == Mode::Tls);
           got = co_await readAll(size, 700);
         },
         [&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll(message)); }});
    EXPECT_FALSE(waited) << size << ": " << waited.message();
    EXPECT_EQ(got, message) << size;
  }
}

// A close seen by a wait for input is for the read after it to report: the wait says "readable".
TEST_P(TransportRead, AWaitForInputLeavesTheCloseToTheNextRead) {
  if (tls()) helloToTheClient();  // else the client's close resets the connection
  error_code waited = net::error::timed_out, read = net::error::timed_out;
  run({[&]() -> awaitable<void> {
         waited = co_await reader_->waitReadable();
         char buf[64];
         auto [e, n] = co_await reader_->readSome(buf, sizeof buf);
         read = e;
       },
       [&]() -> awaitable<void> {
         writer_->close(true);
         co_return;
       }});
  EXPECT_FALSE(waited) << waited.message();
  EXPECT_EQ(read, net::error::eof) << read.message();
}

// A reset seen by a wait for input is the next read's error (not an end, no data).
TEST_P(TransportRead, AResetSeenByAWaitForInputIsTheNextReadsError) {
  error_code waited = net::error::timed_out, read;
  run({[&]() -> awaitable<void> {
         waited = co_await reader_->waitReadable();
         char buf[64];
         auto [e, n] = co_await reader_->readSome(buf, sizeof buf);
         read = e;
         EXPECT_EQ(n, 0u);
       },
       [&]() -> awaitable<void> {
         writer_->socket().set_option(net::socket_base::linger(true, 0));  // close() resets
         writer_->close();
         co_return;
       }});
  EXPECT_FALSE(waited) << waited.message();
  EXPECT_TRUE(read && read != net::error::eof) << read.message();
}

// A wait for input ended by cancel() loses nothing that comes afterwards.
TEST_P(TransportRead, ACancelledWaitForInputLosesNothing) {
  error_code waited;
  run({[&]() -> awaitable<void> { waited = co_await reader_->waitReadable(); },
       [&]() -> awaitable<void> {
         reader_->cancel();
         co_return;
       }});
  EXPECT_EQ(waited, net::error::operation_aborted);
  reader_->clearCancel();
  run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await writer_->writeAll("after")); },
       [&]() -> awaitable<void> {
         EXPECT_FALSE(co_await reader_->waitReadable());
         EXPECT_EQ(co_await readAll(5), "after");
       }});
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

// The server's writes, of every size around a record's and in pieces, arrive whole and in order.
TEST_P(TransportRead, ServerWritesOfEverySizeArriveWhole) {
  std::string sent;
  std::vector<std::array<std::string, 3>> writes;
  for (size_t size : {1, 100, 16383, 16384, 16385, 65535, 65536, 65537, 300000, 3 << 20}) {
    std::string body = pattern(size + 7).substr(7);
    writes.push_back({"h" + std::to_string(size), std::move(body), size % 2 ? "" : "\r\n"});
    for (const auto& p : writes.back()) sent += p;
  }
  std::string got;
  run({[&]() -> awaitable<void> {
         for (const auto& w : writes) EXPECT_FALSE(co_await reader_->writeAll(w[0], w[1], w[2]));
       },
       [&]() -> awaitable<void> { got = co_await readAllFrom(*writer_, sent.size(), 10000); }});
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
}

// Counts the KeyUpdate messages an OpenSSL connection receives.
void countKeyUpdates(int writeP, int, int type, const void* buf, size_t len, SSL*, void* arg) {
  if (!writeP && type == SSL3_RT_HANDSHAKE && len > 0 &&
      *static_cast<const unsigned char*>(buf) == SSL3_MT_KEY_UPDATE)
    ++*static_cast<int*>(arg);
}

// Counts the records an OpenSSL connection receives.
void countRecords(int writeP, int, int type, const void*, size_t, SSL*, void* arg) {
  if (!writeP && type == SSL3_RT_HEADER) ++*static_cast<int*>(arg);
}

// A gathered write of HTTP/2-shaped pieces (9-byte frame headers between payloads, large and
// small) fills its records: the headers travel inside them, not as records of their own.
TEST_P(TransportRead, AGatheredWriteFillsItsRecords) {
  if (!tls()) GTEST_SKIP() << "TLS only";
  helloToTheClient();
  std::vector<std::string> storage;
  std::string sent;
  for (int i = 0; i < 304; ++i) {
    storage.push_back(pattern(9));
    storage.push_back(pattern(i < 4 ? 16384 : 100));
  }
  for (const auto& s : storage) sent += s;
  std::vector<std::string_view> pieces(storage.begin(), storage.end());
  SSL* client = writer_->nativeHandle();
  int records = 0;
  SSL_set_msg_callback(client, countRecords);
  SSL_set_msg_callback_arg(client, &records);
  std::string got;
  run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await reader_->writeGather(pieces)); },
       [&]() -> awaitable<void> { got = co_await readAllFrom(*writer_, sent.size(), 5000); }});
  SSL_set_msg_callback(client, nullptr);
  EXPECT_TRUE(got == sent);
  size_t full = (sent.size() + certs::kMaxRecordPlaintext - 1) / certs::kMaxRecordPlaintext;
  EXPECT_LE(static_cast<size_t>(records), full + 1) << sent.size() << " bytes";
}

// The client updates its keys (RFC 8446 section 4.6.3): the server reads on under the new ones,
// and when asked to, updates its own before it answers; rounds on, the generations add up.
TEST_P(TransportRead, KeyUpdatesFromTheClientAreFollowed) {
  if (!tls()) GTEST_SKIP() << "TLS only";
  SSL* client = writer_->nativeHandle();
  int updatesFromServer = 0;
  SSL_set_msg_callback(client, countKeyUpdates);
  SSL_set_msg_callback_arg(client, &updatesFromServer);
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    bool requested = round % 3 != 1;
    ASSERT_EQ(SSL_key_update(client, requested ? SSL_KEY_UPDATE_REQUESTED
                                               : SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    int before = updatesFromServer;
    const std::string ask = "ask-" + std::to_string(round), answer = pattern(20000 + round);
    std::string got;
    run({[&]() -> awaitable<void> {
           EXPECT_FALSE(co_await writer_->writeAll(ask));
           got = co_await readAllFrom(*writer_, answer.size());
         },
         [&]() -> awaitable<void> {
           EXPECT_EQ(co_await readAll(ask.size()), ask);
           EXPECT_FALSE(co_await reader_->writeAll(answer));
         }});
    EXPECT_TRUE(got == answer);
    EXPECT_EQ(updatesFromServer - before, requested ? 1 : 0);
  }
  SSL_set_msg_callback(client, nullptr);
}

// close_notify ends the input both ways, after everything sent before it.
TEST_P(TransportRead, CloseNotifyEndsTheInputAfterTheLastBytes) {
  if (!tls()) GTEST_SKIP() << "TLS only";
  helloToTheClient();
  error_code atServer, atClient;
  std::string last;
  run({[&]() -> awaitable<void> {
         EXPECT_FALSE(co_await reader_->writeAll(pattern(40000)));
         reader_->close(true);
       },
       [&]() -> awaitable<void> {
         last = co_await readAllFrom(*writer_, 40000);
         char buf[16];
         atClient = (co_await writer_->readSome(buf, sizeof buf)).first;
       }});
  EXPECT_TRUE(last == pattern(40000));
  EXPECT_EQ(atClient, net::error::eof) << atClient.message();
  (void)atServer;
}

TEST_P(TransportRead, CloseNotifyFromTheClientIsEof) {
  if (!tls()) GTEST_SKIP() << "TLS only";
  helloToTheClient();
  error_code ec, again;
  run({[&]() -> awaitable<void> {
         EXPECT_FALSE(co_await writer_->writeAll("bye"));
         writer_->close(true);
       },
       [&]() -> awaitable<void> {
         EXPECT_EQ(co_await readAll(3), "bye");
         char buf[16];
         ec = (co_await reader_->readSome(buf, sizeof buf)).first;
         again = (co_await reader_->readSome(buf, sizeof buf)).first;
       }});
  EXPECT_EQ(ec, net::error::eof) << ec.message();
  EXPECT_EQ(again, net::error::eof) << again.message();
}

// Bytes that look like a record but were not sealed with the client's key: an error, every time,
// never data or a close.
TEST_P(TransportRead, ARecordThatDoesNotAuthenticateIsAnError) {
  if (!tls()) GTEST_SKIP() << "TLS only";
  helloToTheClient();
  sendForgedRecord();
  error_code ec, again;
  run({[&]() -> awaitable<void> {
    char buf[64];
    ec = (co_await reader_->readSome(buf, sizeof buf)).first;
    again = (co_await reader_->readSome(buf, sizeof buf)).first;
  }});
  EXPECT_TRUE(ec && ec != net::error::eof) << ec.message();
  EXPECT_TRUE(again) << "data after a forged record";
  if (own()) {
    EXPECT_NE(again, net::error::eof);
  }
  // The server said why: the client reads a bad_record_mac alert, no clean end.
  EXPECT_EQ(alertAtClient(), SSL3_AD_BAD_RECORD_MAC);
}

// A forged record read while a large answer is being written: the write stops after the record
// it is in, and the client learns why (an alert, not a clean end).
// (OpenSSL's path fails the write too, but its alert cannot follow a half-written record: there
// the client only learns from the close that follows.)
TEST_P(TransportRead, AFailedReadStopsTheWriteUnderWayWithAnAlert) {
  if (!own()) GTEST_SKIP() << "about owned records";
  helloToTheClient();
  reader_->socket().set_option(net::socket_base::send_buffer_size(16 * 1024));
  writer_->socket().set_option(net::socket_base::receive_buffer_size(16 * 1024));
  sendForgedRecord();
  const std::string big = pattern(4 << 20);
  error_code wrote, readAtServer, readAtClient;
  size_t gotAtClient = 0;
  run({[&]() -> awaitable<void> { wrote = co_await reader_->writeAll(big); },
       [&]() -> awaitable<void> {
         char buf[64];
         readAtServer = (co_await reader_->readSome(buf, sizeof buf)).first;
       },
       [&]() -> awaitable<void> {
         std::string buf(64 * 1024, '\0');
         for (;;) {
           auto [ec, n] = co_await writer_->readSome(buf.data(), buf.size());
           gotAtClient += n;
           if (ec) {
             readAtClient = ec;
             break;
           }
         }
       }});
  EXPECT_TRUE(readAtServer && readAtServer != net::error::eof) << readAtServer.message();
  EXPECT_TRUE(wrote) << "the whole answer went out after the read failed";
  EXPECT_LT(gotAtClient, big.size());
  EXPECT_TRUE(readAtClient && readAtClient != net::error::eof) << readAtClient.message();
}

// The connection closing in the middle of a record is an error, not an end.
TEST_P(TransportRead, ACloseInsideARecordIsAnError) {
  if (!tls()) GTEST_SKIP() << "TLS only";
  helloToTheClient();
  std::string half("\x17\x03\x03\x00\x40", 5);  // a header, then 20 of its 64 bytes
  half.append(20, 'h');
  sendRaw(half);
  ::shutdown(writer_->socket().native_handle(), SHUT_WR);
  error_code ec, wrote;
  run({[&]() -> awaitable<void> {
    char buf[64];
    ec = (co_await reader_->readSome(buf, sizeof buf)).first;
    wrote = co_await reader_->writeAll("after the error");  // fatal: nothing more is sent
  }});
  EXPECT_TRUE(ec && ec != net::error::eof) << ec.message();
  EXPECT_TRUE(wrote);
}

// A TLS 1.2 client: OpenSSL keeps the connection, and it works as before.
TEST_P(TransportRead, ATls12ConnectionStaysWithOpenSsl) {
  if (!own()) GTEST_SKIP() << "about owned records";
  tcp::acceptor acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  tcp::socket clientSocket(io_);
  clientSocket.connect(acceptor.local_endpoint());
  SSL_CTX* tls12 = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(tls12, nullptr);
  SSL_CTX_set_max_proto_version(tls12, TLS1_2_VERSION);
  Transport server(acceptor.accept(), serverCtx_->native_handle(), Transport::Role::Server);
  Transport client(std::move(clientSocket), tls12, Transport::Role::Client);
  SSL_CTX_free(tls12);  // the connection holds its own reference
  server.ownRecordsAfterHandshake();
  ASSERT_TRUE(handshake(server, client));
  EXPECT_FALSE(server.ownsRecords());
  std::string atServer, atClient;
  run({[&]() -> awaitable<void> {
         EXPECT_FALSE(co_await client.writeAll("ping"));
         atClient = co_await readAllFrom(client, 30000);
       },
       [&]() -> awaitable<void> {
         atServer = co_await readAllFrom(server, 4);
         EXPECT_FALSE(co_await server.writeAll(pattern(30000)));
       }});
  EXPECT_EQ(atServer, "ping");
  EXPECT_TRUE(atClient == pattern(30000));
}


// A client that presents a certificate: what it said is still answered once OpenSSL's
// connection is gone.
TEST_P(TransportRead, WhatAClientCertificateSaidOutlivesOpenSslsConnection) {
  if (!own()) GTEST_SKIP() << "about owned records";
  const EVP_PKEY& serverKey = test::testKey(0);
  const EVP_PKEY& clientKey = test::testKey(1);
  auto serverCert = certs::createCaCert(serverKey, "server");
  ASSERT_TRUE(serverCert.ok());
  auto clientCert = certs::issueCert(**serverCert, serverKey, clientKey,
                                     {.commonName = "client-with-cert", .serverAuth = false,
                                      .clientAuth = true});
  ASSERT_TRUE(clientCert.ok()) << clientCert.error();
  auto serverCtx = certs::makeServerContext({.certChainPem = certs::certToPem(**serverCert),
                                             .keyPem = certs::privateKeyToPem(serverKey),
                                             .requestClientCert = true,
                                             .clientCaPem = certs::certToPem(**serverCert)});
  auto clientCtx = certs::makeClientContext({.certChainPem = certs::certToPem(**clientCert),
                                             .keyPem = certs::privateKeyToPem(clientKey)});
  ASSERT_TRUE(serverCtx.ok()) << serverCtx.error();
  ASSERT_TRUE(clientCtx.ok()) << clientCtx.error();
  tcp::acceptor acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  tcp::socket clientSocket(io_);
  clientSocket.connect(acceptor.local_endpoint());
  Transport server(acceptor.accept(), (*serverCtx)->native_handle(), Transport::Role::Server);
  Transport client(std::move(clientSocket), (*clientCtx)->native_handle(),
                   Transport::Role::Client);
  server.ownRecordsAfterHandshake();
  ASSERT_TRUE(handshake(server, client));
  EXPECT_TRUE(server.ownsRecords());
  EXPECT_TRUE(server.peerCertificateVerified());
  EXPECT_EQ(server.verifiedPeerName(), "client-with-cert");
  EXPECT_EQ(server.peerCertificateSummary(), "CN=client-with-cert, issued by CN=server, TLSv1.3");
  std::string atServer;
  run({[&]() -> awaitable<void> { EXPECT_FALSE(co_await client.writeAll("ping")); },
       [&]() -> awaitable<void> { atServer = co_await readAllFrom(server, 4); }});
  EXPECT_EQ(atServer, "ping");
}

// Records a client may send, sealed here with the client's own key: empty application data,
// padding, a KeyUpdate split over two records; and what it must not: any other handshake
// message, an alert cut short, an empty handshake record.
TEST_P(TransportRead, EveryLegalRecordShapeIsReadAndNoIllegalOne) {
  if (!own()) GTEST_SKIP() << "about owned records";
  auto key = clientKey();
  ASSERT_TRUE(key);
  sendRecord(*key, 23, "");
  sendRecord(*key, 0, std::string("abc\x17", 4) + std::string(50, '\0'));  // "abc", padded
  EXPECT_EQ(serverRead(), std::pair(error_code{}, std::string("abc")));
  sendRecord(*key, 22, std::string("\x18\x00\x00", 3));  // KeyUpdate, update_not_requested ...
  sendRecord(*key, 22, std::string("\x01\x00", 2));      // ... in two pieces
  ASSERT_TRUE(key->update());
  sendRecord(*key, 23, "under the new key");
  EXPECT_EQ(serverRead(), std::pair(error_code{}, std::string("under the new key")));
  sendRecord(*key, 22, std::string("\x04\x00\x00\x01\x00", 5));  // a NewSessionTicket
  expectServerReadFails();
}

// Records without data (empty ones, KeyUpdates) cost a decryption each and the reader never
// waits between them: 32 in a row are fine, the 33rd is taken for a flood.
TEST_P(TransportRead, ALongRunOfRecordsWithoutDataIsAnError) {
  if (!own()) GTEST_SKIP() << "about owned records";
  auto key = clientKey();
  ASSERT_TRUE(key);
  for (int i = 0; i < 31; ++i) sendRecord(*key, 23, "");
  sendRecord(*key, 22, std::string("\x18\x00\x00\x01\x00", 5));
  ASSERT_TRUE(key->update());
  sendRecord(*key, 23, "ok");
  EXPECT_EQ(serverRead(), std::pair(error_code{}, std::string("ok")));
  for (int i = 0; i < 33; ++i) sendRecord(*key, 23, "");
  sendRecord(*key, 23, "too late");
  expectServerReadFails();
}

TEST_P(TransportRead, AnAlertCutShortIsAnError) {
  if (!own()) GTEST_SKIP() << "about owned records";
  auto key = clientKey();
  ASSERT_TRUE(key);
  sendRecord(*key, 21, std::string("\x01", 1));
  expectServerReadFails();
}

TEST_P(TransportRead, AnEmptyHandshakeRecordIsAnError) {
  if (!own()) GTEST_SKIP() << "about owned records";
  auto key = clientKey();
  ASSERT_TRUE(key);
  sendRecord(*key, 22, "");
  expectServerReadFails();
}

TEST_P(TransportRead, UserCanceledThenCloseNotifyIsEof) {
  if (!own()) GTEST_SKIP() << "about owned records";
  auto key = clientKey();
  ASSERT_TRUE(key);
  sendRecord(*key, 23, "last");
  sendRecord(*key, 21, std::string("\x01\x5a", 2));  // user_canceled, a warning
  sendRecord(*key, 21, std::string("\x01\x00", 2));  // close_notify
  sendRecord(*key, 23, "ignored");
  EXPECT_EQ(serverRead(), std::pair(error_code{}, std::string("last")));
  EXPECT_EQ(serverRead().first, net::error::eof);
  EXPECT_EQ(serverRead().first, net::error::eof);
}

// KeyUpdate is the one handshake message after the handshake, and only in its one shape
// (RFC 8446 section 4.6.3): a request value other than 0 or 1, a body of another length, or
// bytes after it in its record, where the new key must begin, end the connection.
TEST_P(TransportRead, AKeyUpdateOfAnyOtherShapeIsAnError) {
  if (!own()) GTEST_SKIP() << "about owned records";
  const std::pair<std::string_view, int> cases[] = {
      {std::string_view("\x18\x00\x00\x01\x02", 5), SSL3_AD_ILLEGAL_PARAMETER},
      {std::string_view("\x18\x00\x00\x02\x00\x00", 6), TLS1_AD_DECODE_ERROR},
      {std::string_view("\x18\x00\x00\x01\x00\x18", 6), SSL3_AD_UNEXPECTED_MESSAGE}};
  for (auto [message, alert] : cases) {
    SCOPED_TRACE("a KeyUpdate of " + std::to_string(message.size()) + " bytes ending in " +
                 std::to_string(static_cast<int>(message.back())));
    ASSERT_NO_FATAL_FAILURE(reconnect());
    auto key = clientKey();
    ASSERT_TRUE(key);
    sendRecord(*key, 22, message);
    expectServerReadFails();
    EXPECT_EQ(alertAtClient(), alert);
  }
}

// After the handshake ChangeCipherSpec is an unexpected record (RFC 8446 section 5).
TEST_P(TransportRead, AChangeCipherSpecAfterTheHandshakeIsAnError) {
  if (!own()) GTEST_SKIP() << "about owned records";
  sendRaw(std::string("\x14\x03\x03\x00\x01\x01", 6));
  expectServerReadFails();
  EXPECT_EQ(alertAtClient(), SSL3_AD_UNEXPECTED_MESSAGE);
}

// With kgate's own records, a client that closes without close_notify between records has
// closed; one that closes in the middle of a KeyUpdate split over two records has cut a message
// short. (OpenSSL's take both for an error: ACloseInsideARecordIsAnError.)
TEST_P(TransportRead, ABareCloseIsAnEndBetweenRecordsAndAnErrorWithinAMessage) {
  if (!own()) GTEST_SKIP() << "about owned records";
  helloToTheClient();  // the client read its session ticket: its close is a FIN, not a reset
  ASSERT_EQ(::shutdown(writer_->socket().native_handle(), SHUT_WR), 0);
  EXPECT_EQ(serverRead().first, net::error::eof);
  ASSERT_NO_FATAL_FAILURE(reconnect());
  auto key = clientKey();
  ASSERT_TRUE(key);
  sendRecord(*key, 22, std::string("\x18\x00\x00", 3));
  ASSERT_EQ(::shutdown(writer_->socket().native_handle(), SHUT_WR), 0);
  expectServerReadFails();
  EXPECT_EQ(alertAtClient(), TLS1_AD_DECODE_ERROR);
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, TransportRead, testing::transportModes(),
                         testing::transportModeName);

}  // namespace
}  // namespace kgate
