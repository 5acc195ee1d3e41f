// The listening sockets' options that accepted connections rely on inheriting: the listener no
// longer sets them per connection (two setsockopt calls fewer per accept).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "gateway/worker.h"

namespace kgate {
namespace {

int tcpOption(int fd, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  EXPECT_EQ(::getsockopt(fd, IPPROTO_TCP, name, &value, &len), 0);
  return value;
}

TEST(ListenerSocket, AcceptedConnectionsInheritNoDelayAndTheUnsentLimit) {
  net::io_context io;
  tcp::acceptor acceptor(io);
  ASSERT_TRUE(bindAcceptor(acceptor, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0), true));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket accepted = acceptor.accept();
  EXPECT_EQ(tcpOption(accepted.native_handle(), TCP_NODELAY), 1);
  EXPECT_EQ(tcpOption(accepted.native_handle(), TCP_NOTSENT_LOWAT), kUnsentLimit);
}

}  // namespace
}  // namespace kgate
