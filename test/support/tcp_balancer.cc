#include "support/tcp_balancer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "support/harness.h"

namespace kgate::test {
namespace {

sockaddr_in addressOf(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1)
    throw std::runtime_error("TcpBalancer: not an IPv4 address: " + ip);
  return a;
}

// Bounds a blocking send or connect: a peer that stops reading cannot hold a relay thread, and
// with it the destructor, forever.
void boundBlocking(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Writes all of it; false when the peer is gone (or stopped reading for the bound above).
bool sendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

TcpBalancer::TcpBalancer(const std::string& ip, std::vector<Backend> backends)
    : ip_(ip), port_(freePort(ip)), backends_(std::move(backends)),
      perBackend_(backends_.size(), 0) {
  if (backends_.empty()) throw std::runtime_error("TcpBalancer: no backends");
  sockaddr_in a = addressOf(ip_, port_);  // (and every backend's, before anything is open)
  for (const Backend& b : backends_) (void)addressOf(b.ip, b.port);
  if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("TcpBalancer: pipe failed");
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener_, 64) != 0) {
    std::string why = std::strerror(errno);
    if (listener_ >= 0) ::close(listener_);
    ::close(wake_[0]);
    ::close(wake_[1]);
    throw std::runtime_error("TcpBalancer: cannot listen on " + ip_ + ":" +
                             std::to_string(port_) + ": " + why);
  }
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TcpBalancer::~TcpBalancer() {
  stopping_ = true;
  char byte = 0;
  (void)!::write(wake_[1], &byte, 1);  // the read end stays readable: it wakes every poll
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::vector<int> TcpBalancer::connectionsPerBackend() const {
  std::lock_guard lock(mu_);
  return perBackend_;
}

void TcpBalancer::acceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 || stopping_) continue;
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    size_t i;
    {
      std::lock_guard lock(mu_);
      i = next_++ % backends_.size();
    }
    int backend = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (backend >= 0) boundBlocking(backend);
    sockaddr_in a = addressOf(backends_[i].ip, backends_[i].port);
    if (backend < 0 || ::connect(backend, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (backend >= 0) ::close(backend);
      ::close(client);  // as a balancer with a dead backend would: the client sees a reset
      continue;
    }
    boundBlocking(client);
    std::lock_guard lock(mu_);
    ++perBackend_[i];
    threads_.emplace_back([this, client, backend] { relay(client, backend); });
  }
}

void TcpBalancer::relay(int client, int backend) {
  const int ends[2] = {client, backend};
  bool open[2] = {true, true};  // whether each end still sends
  char buf[16384];
  while (!stopping_ && (open[0] || open[1])) {
    pollfd fds[3] = {{open[0] ? ends[0] : -1, POLLIN, 0},
                     {open[1] ? ends[1] : -1, POLLIN, 0},
                     {wake_[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    bool failed = false;
    for (int i = 0; i < 2 && !failed; ++i) {
      if (!open[i] || fds[i].revents == 0) continue;
      ssize_t n = ::recv(ends[i], buf, sizeof buf, 0);
      if (n > 0) {
        failed = !sendAll(ends[1 - i], buf, static_cast<size_t>(n));
      } else if (n == 0) {
        open[i] = false;
        ::shutdown(ends[1 - i], SHUT_WR);  // pass the half-close on
      } else if (errno != EINTR && errno != EAGAIN) {
        failed = true;
      }
    }
    if (failed) break;
  }
  ::close(client);
  ::close(backend);
}

}  // namespace kgate::test
