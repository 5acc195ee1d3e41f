// A TCP load balancer on loopback for tests: each new connection goes to the next of its
// backends in turn, bytes pass through untouched (TLS included) and a half-close is passed on.
// For deployments with several masters behind one address. Threads, no event loop: the tests
// that use it hold a handful of connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kgate::test {

class TcpBalancer {
 public:
  struct Backend {
    std::string ip;
    uint16_t port;
  };
  // Listens on ip at a free port; throws std::runtime_error when it cannot.
  TcpBalancer(const std::string& ip, std::vector<Backend> backends);
  ~TcpBalancer();  // closes every connection and joins every thread
  TcpBalancer(const TcpBalancer&) = delete;
  TcpBalancer& operator=(const TcpBalancer&) = delete;

  const std::string& ip() const { return ip_; }
  uint16_t port() const { return port_; }
  // Connections relayed so far to each backend.
  std::vector<int> connectionsPerBackend() const;

 private:
  void acceptLoop();
  void relay(int client, int backend);

  std::string ip_;
  uint16_t port_ = 0;
  std::vector<Backend> backends_;
  int listener_ = -1;
  int wake_[2] = {-1, -1};  // written on shutdown: every poll() also waits on its read end
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<int> perBackend_;
  size_t next_ = 0;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace kgate::test
