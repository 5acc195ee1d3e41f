// An HTTP/1.1 exchange with an upstream sends exactly the body its Content-Length announced. A
// body that runs over or stops short is not sent on (its bytes would be read upstream as the next
// request, or the next request's as its rest), and the connection is closed, never pooled.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "gateway/h1/client_connection.h"
#include "transport_pair.h"

namespace kgate::h1 {
namespace {

class ClientExchangeTest : public ::testing::Test {
 protected:
  ClientExchangeTest() {
    auto [upstream, ours] = testing::connectedSockets(io_);
    upstream_.emplace(std::move(upstream));
    auto conn =
        std::make_unique<ClientConnection>(std::make_unique<Transport>(std::move(ours)), "pool");
    exchange_ = std::make_unique<ClientExchange>(
        std::move(conn), "svc", [this](std::unique_ptr<ClientConnection>) { ++pooled_; }, 8192,
        100);
  }

  Error run(awaitable<Error> step) {
    Error result = Error::Aborted;
    net::co_spawn(
        io_, [&]() -> awaitable<void> { result = co_await std::move(step); }, net::detached);
    io_.run();
    io_.restart();
    return result;
  }
  // What the upstream received until the connection closed or `atLeast` bytes came.
  std::string received(size_t atLeast = SIZE_MAX) {
    std::string got;
    char buf[4096];
    error_code ec;
    while (got.size() < atLeast) {
      size_t n = upstream_->read_some(net::buffer(buf), ec);
      if (ec) break;
      got.append(buf, n);
    }
    return got;
  }
  static http::RequestHead post(uint64_t length) {
    http::RequestHead head;
    head.method = "POST";
    head.path = "/sink";
    head.contentLength = length;
    head.hasBody = length > 0;
    return head;
  }

  net::io_context io_;
  std::optional<tcp::socket> upstream_;
  std::unique_ptr<ClientExchange> exchange_;
  int pooled_ = 0;
};

TEST_F(ClientExchangeTest, ABodyThatRunsOverIsNotSent) {
  EXPECT_EQ(run(exchange_->writeHead(post(5), false)), Error::Ok);
  EXPECT_EQ(run(exchange_->writeBody("12345POST /next HTTP/1.1\r\n\r\n", true)), Error::Protocol);
  EXPECT_EQ(received(), "") << "not even the head: it leaves with the first body bytes";
  exchange_.reset();
  EXPECT_EQ(pooled_, 0);
}

TEST_F(ClientExchangeTest, ABodyThatStopsShortEndsTheConnection) {
  EXPECT_EQ(run(exchange_->writeHead(post(5), false)), Error::Ok);
  EXPECT_EQ(run(exchange_->writeBody("12", false)), Error::Ok);
  EXPECT_EQ(run(exchange_->writeBody("3", true)), Error::Protocol);
  std::string got = received();
  EXPECT_TRUE(got.ends_with("\r\n\r\n12")) << got;
  exchange_.reset();
  EXPECT_EQ(pooled_, 0);
}

TEST_F(ClientExchangeTest, AHeadThatPromisesABodyItDoesNotHaveIsNotSent) {
  EXPECT_EQ(run(exchange_->writeHead(post(5), true)), Error::Protocol);
  EXPECT_EQ(received(), "");
}

TEST_F(ClientExchangeTest, TheAnnouncedBodyInPiecesIsSent) {
  EXPECT_EQ(run(exchange_->writeHead(post(5), false)), Error::Ok);
  EXPECT_EQ(run(exchange_->writeBody("12", false)), Error::Ok);
  EXPECT_EQ(run(exchange_->writeBody("345", false)), Error::Ok);
  EXPECT_EQ(run(exchange_->writeBody("", true)), Error::Ok);
  std::string got;
  for (std::string more = received(1); !more.empty() && !got.ends_with("12345");) {
    got += more;
    if (!got.ends_with("12345")) more = received(1);
  }
  EXPECT_TRUE(got.starts_with("POST /sink HTTP/1.1\r\n")) << got;
  EXPECT_NE(got.find("content-length: 5\r\n"), std::string::npos) << got;
}

}  // namespace
}  // namespace kgate::h1
