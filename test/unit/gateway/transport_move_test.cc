// Transport::detach and attach: a connection moved to another io_context (another worker's)
// after its handshake loses no byte either way, whether it waited in the socket, in the
// transport's own buffers or came after the move; one that is never taken is closed.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "gateway/deadline.h"
#include "gateway/transport.h"
#include "transport_pair.h"

namespace kgate {
namespace {

using namespace std::chrono_literals;

using Mode = testing::TransportMode;

std::string movedPattern(size_t n, char first) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + i % 23);
  return s;
}

class TransportMove : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    auto [server, client] = testing::connectedSockets(io_);
    if (GetParam() == Mode::Plain) {
      server_.emplace(std::move(server));
      client_.emplace(std::move(client));
      return;
    }
    auto contexts = testing::makeTestContexts("transport-move-test");
    ASSERT_TRUE(contexts.server && contexts.client);
    serverCtx_ = contexts.server;
    clientCtx_ = contexts.client;
    server_.emplace(std::move(server), serverCtx_->native_handle(), Transport::Role::Server);
    client_.emplace(std::move(client), clientCtx_->native_handle(), Transport::Role::Client);
    if (GetParam() == Mode::OwnRecords) server_->ownRecordsAfterHandshake();
    run(io_, [&]() -> awaitable<void> { EXPECT_FALSE(co_await server_->handshake()); },
        [&]() -> awaitable<void> { EXPECT_FALSE(co_await client_->handshake()); });
    ASSERT_EQ(server_->ownsRecords(), GetParam() == Mode::OwnRecords);
  }

  // Runs the coroutines on `io` to their end (bounded); fails the test if one does not finish.
  static void run(net::io_context& io, std::function<awaitable<void>()> a,
                  std::function<awaitable<void>()> b = {}) {
    int left = b ? 2 : 1;
    for (auto& part : {a, b})
      if (part)
        net::co_spawn(io, [&left, part]() -> awaitable<void> {
          co_await part();
          --left;
        }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    for (auto end = Clock::now() + 20s; left > 0 && Clock::now() < end;) io.run_one_for(20ms);
    io.restart();
    EXPECT_EQ(left, 0);
  }

  static awaitable<std::string> read(Transport& t, size_t want, size_t piece = 64 * 1024) {
    std::string got, buf(piece, '\0');
    while (got.size() < want) {
      auto [ec, n] = co_await t.readSome(buf.data(), std::min(buf.size(), want - got.size()));
      if (ec) {
        ADD_FAILURE() << "read: " << ec.message() << " after " << got.size() << " bytes";
        break;
      }
      got.append(buf.data(), n);
    }
    co_return got;
  }

  net::io_context io_, other_;
  certs::SslContextPtr serverCtx_, clientCtx_;
  std::optional<Transport> server_, client_;
};

TEST_P(TransportMove, NothingIsLostEitherWay) {
  const std::string before = movedPattern(5000, 'a'), after = movedPattern(3000, 'A');
  std::string head;
  run(io_, [&]() -> awaitable<void> { EXPECT_FALSE(co_await client_->writeAll(before)); });
  // A partial read: the rest of the record waits in the transport (TLS) or in the socket.
  run(io_, [&]() -> awaitable<void> { head = co_await read(*server_, 10); });
  ASSERT_TRUE(server_->detach());
  EXPECT_FALSE(server_->detach()) << "once only";
  // Taken over on another thread, as Worker::adopt does, and served there.
  std::string rest;
  net::post(other_, [&] {
    ASSERT_FALSE(server_->attach(other_.get_executor()));
    EXPECT_TRUE(server_->executor() == net::any_io_executor(other_.get_executor()));
    // lingeringClose reads synchronously: Asio must know the socket does not block.
    EXPECT_TRUE(server_->socket().non_blocking());
    net::co_spawn(other_, [&]() -> awaitable<void> {
      rest = co_await read(*server_, before.size() + after.size() - head.size());
      EXPECT_FALSE(co_await server_->writeAll("answer"));
    }, net::detached);
  });
  std::thread worker([&] { other_.run_for(20s); });  // returns once the coroutine is done
  std::string answer;
  run(io_, [&]() -> awaitable<void> {
    EXPECT_FALSE(co_await client_->writeAll(after));
    answer = co_await read(*client_, 6);
  });
  worker.join();
  EXPECT_TRUE(head + rest == before + after);
  EXPECT_EQ(answer, "answer");
}

// The transport's deadlines belong to the sweeper of the worker it leaves, which must not
// touch them once the other worker owns the transport.
TEST_P(TransportMove, NoDeadlineOfItStaysWithTheOldSweeper) {
  if (GetParam() == Mode::Plain) GTEST_SKIP() << "plain TCP frees no buffers while idle";
  Sweeper sweeper(io_.get_executor(), 1ms, 64);
  sweeper.start();
  server_->keepBuffersWhileBusy(sweeper, 50ms);
  server_->setSendTimeout(sweeper, 10s);
  net::steady_timer later(io_);
  // A wait for input arms the buffer release (filed with the sweeper); the input ends it.
  run(io_, [&]() -> awaitable<void> { EXPECT_FALSE(co_await server_->waitReadable()); },
      [&]() -> awaitable<void> {
        later.expires_after(5ms);
        co_await later.async_wait(kUseTuple);
        EXPECT_FALSE(co_await client_->writeAll("x"));
      });
  ASSERT_TRUE(server_->detach());
  uint64_t examined = sweeper.examined();
  for (auto end = Clock::now() + 120ms; Clock::now() < end;) io_.run_one_for(5ms);
  EXPECT_EQ(sweeper.examined(), examined) << "a deadline of the moved transport is still filed";
  sweeper.stop();
  io_.restart();
  io_.run_for(10ms);  // lets the sweep loop end
}

TEST_P(TransportMove, OneNeverTakenIsClosed) {
  ASSERT_TRUE(server_->detach());
  server_.reset();
  error_code ec;
  run(io_, [&]() -> awaitable<void> {
    char byte;
    auto [e, n] = co_await client_->readSome(&byte, 1);
    ec = e;
  });
  EXPECT_TRUE(ec);
}

// A hand-over still queued when the workers stop is freed after the worker it left may be gone:
// the detached transport must name nothing of that worker's io_context by then.
TEST_P(TransportMove, ADetachedOneBelongsToNoWorkerUntilTaken) {
  ASSERT_TRUE(server_->detach());
  EXPECT_FALSE(server_->executor() == net::any_io_executor(io_.get_executor()));
  EXPECT_FALSE(server_->executor() == net::any_io_executor(other_.get_executor()));
  ASSERT_FALSE(server_->attach(other_.get_executor()));
  EXPECT_TRUE(server_->executor() == net::any_io_executor(other_.get_executor()));
}

TEST_P(TransportMove, AClosedOneDoesNotMove) {
  server_->close();
  EXPECT_FALSE(server_->detach());
}

INSTANTIATE_TEST_SUITE_P(Modes, TransportMove, testing::transportModes(),
                         testing::transportModeName);

}  // namespace
}  // namespace kgate
